#pragma once
// Conversions shared by the binding files: zero-copy event arrays, counters.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <span>
#include <vector>

#include "tradecore/bar_aggregator.hpp"

namespace tradecore::bindings {

/// A 1-D array of numbers read or written through its data pointer: C-contiguous, so indexing the
/// pointer is indexing the array (an argument that is not gets a contiguous copy). An argument the
/// call writes into must be declared `.noconvert()`: a converted copy would take the writes and the
/// caller would never see them, so the wrong array is refused instead.
template <class T>
using Column = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>;

/// Hand a vector's buffer to NumPy without copying: the array owns it through a capsule.
template <class T>
pybind11::array_t<T> to_array(std::vector<T>&& v) {
  auto* owned = new std::vector<T>(std::move(v));
  pybind11::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return pybind11::array_t<T>({static_cast<pybind11::ssize_t>(owned->size())}, {sizeof(T)},
                              owned->data(), free_when_done);
}

/// View a 1-D C-contiguous structured array as a span, without copying.
template <class T>
std::span<const T> as_span(const pybind11::array_t<T, pybind11::array::c_style>& a) {
  if (a.ndim() != 1) throw pybind11::value_error("expected a 1-D array of events");
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}

/// Whether `a` has T's dtype. Comparing structured dtypes field by field costs microseconds,
/// more than a live event's whole engine run: the last dtype object that matched is remembered
/// (arrays made by tradecore.schema share one), so the comparison runs once, not per call.
template <class T>
bool has_dtype_of(const pybind11::array& a) {
  static PyObject* matched = nullptr;  // a strong reference: the address cannot be reused
  const pybind11::dtype dtype = a.dtype();
  if (dtype.ptr() == matched) return true;
  if (!dtype.equal(pybind11::dtype::of<T>())) return false;
  Py_XDECREF(matched);
  matched = dtype.inc_ref().ptr();
  return true;
}

/// Whether `a` is a 1-D C-contiguous array of T's dtype (a frame's or batch's events), viewable
/// as T[] without a copy.
template <class T>
bool is_event_array(const pybind11::array& a) {
  return a.ndim() == 1 && (a.flags() & pybind11::array::c_style) && has_dtype_of<T>(a);
}

/// An aggregator's counters as a dict.
inline pybind11::dict stats_dict(const AggregatorStats& s) {
  pybind11::dict d;
  d["accepted"] = s.accepted;
  d["late_dropped"] = s.late_dropped;
  d["late_amended"] = s.late_amended;
  d["bad_skipped"] = s.bad_skipped;
  d["outside_session"] = s.outside_session;
  d["suspicious_dropped"] = s.suspicious_dropped;
  d["price_excluded"] = s.price_excluded;
  d["volume_excluded"] = s.volume_excluded;
  d["bars_emitted"] = s.bars_emitted;
  d["flat_bars"] = s.flat_bars;
  return d;
}

}  // namespace tradecore::bindings
