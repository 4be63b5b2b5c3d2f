#pragma once
// Zero-copy conversions between C++ event vectors/spans and NumPy structured arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <span>
#include <vector>

namespace tradecore::bindings {

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

}  // namespace tradecore::bindings
