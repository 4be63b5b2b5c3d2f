// Python bindings of the streaming indicators (tradecore._core.indicators). Thin: conversion
// and exposure only; behaviour and validation live in cpp/include/tradecore/indicators.hpp.
//
// Two things here are not plain pybind11:
//  1. `update` and the scalar outputs (`value`, `initialized`, ...) are CPython method and
//     getset descriptors (METH_O / METH_FASTCALL, PyDescr_NewMethod / PyDescr_NewGetSet) set on
//     the pybind11 type. pybind11's generic dispatcher costs ~3-6x an empty Python call per
//     `update`; a METH_O descriptor is as cheap as CPython allows (the interpreter calls the C
//     function directly, after checking `self`'s type). Arguments are positional-only there.
//  2. `run(...)` releases the GIL around the native loop.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "fast_access.hpp"
#include "register.hpp"
#include "tradecore/indicators.hpp"

namespace py = pybind11;
using namespace tradecore::indicators;

namespace tradecore::bindings {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- fast descriptors ------------------------------------------------------------------

template <class A>
bool from_python(PyObject* o, A& out) {
  if constexpr (std::is_same_v<A, double>) {
    if (PyFloat_CheckExact(o)) [[likely]] {
      out = PyFloat_AS_DOUBLE(o);
      return true;
    }
    out = PyFloat_AsDouble(o);  // ints, numpy scalars, anything with __float__ / __index__
    return !(out == -1.0 && PyErr_Occurred());
  } else {
    static_assert(std::is_same_v<A, std::int64_t>);
    // ts_event: an int (ns UTC); numpy.int64 and numpy.datetime64 are accepted via __index__/int.
    out = PyLong_AsLongLong(o);
    return !(out == -1 && PyErr_Occurred());
  }
}

template <auto Method>
struct FastUpdate;

template <class T, class... A, void (T::*Method)(A...)>
struct FastUpdate<Method> {
  static constexpr Py_ssize_t kArity = sizeof...(A);

  static PyObject* call(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != kArity) [[unlikely]] {
      PyErr_Format(PyExc_TypeError, "update() takes %zd positional arguments (%zd given)", kArity, nargs);
      return nullptr;
    }
    T* p = self_pointer<T>(self);
    if (p == nullptr) [[unlikely]]
      return nullptr;
    std::tuple<A...> values;
    if (!convert(args, values, std::index_sequence_for<A...>{})) [[unlikely]]
      return nullptr;
    try {
      std::apply([p](A... v) { (p->*Method)(v...); }, values);
    } catch (...) {
      py::detail::try_translate_exceptions();  // DataError -> tradecore.errors.DataError
      return nullptr;
    }
    Py_RETURN_NONE;
  }
  template <std::size_t... I>
  static bool convert(PyObject* const* args, std::tuple<A...>& values, std::index_sequence<I...>) {
    return (from_python(args[I], std::get<I>(values)) && ...);
  }
  static PyObject* one(PyObject* self, PyObject* arg) { return call(self, &arg, 1); }
  static PyObject* fast(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    return call(self, args, nargs);
  }
};

/// Set `update` on the class as a METH_O (one argument) or METH_FASTCALL descriptor.
template <auto Method, class Class>
void add_fast_update(Class& cls, const char* doc) {
  using F = FastUpdate<Method>;
  static PyMethodDef def{};  // must outlive the type: one per bound method
  def.ml_name = "update";
  def.ml_doc = doc;
  if constexpr (F::kArity == 1) {
    def.ml_meth = reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&F::one));
    def.ml_flags = METH_O;
  } else {
    def.ml_meth = reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&F::fast));
    def.ml_flags = METH_FASTCALL;
  }
  PyObject* descr = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &def);
  if (descr == nullptr) throw py::error_already_set();
  cls.attr("update") = py::reinterpret_steal<py::object>(descr);
}

template <class R>
PyObject* to_python(R v) {
  if constexpr (std::is_same_v<R, bool>) {
    return PyBool_FromLong(v);
  } else if constexpr (std::is_same_v<R, double>) {
    return PyFloat_FromDouble(v);
  } else {
    return PyLong_FromLongLong(static_cast<long long>(v));
  }
}

template <auto Getter>
struct FastGet;

template <class T, class R, R (T::*Getter)() const>
struct FastGet<Getter> {
  static PyObject* get(PyObject* self, void*) {
    T* p = self_pointer<T>(self);
    if (p == nullptr) [[unlikely]]
      return nullptr;
    return to_python((p->*Getter)());
  }
};

/// Read-only property `name` as a CPython getset descriptor.
template <auto Getter, class Class>
void add_fast_getter(Class& cls, const char* name, const char* doc) {
  static PyGetSetDef def{};  // one per (getter, instantiation); must outlive the type
  def.name = name;
  def.get = &FastGet<Getter>::get;
  def.doc = doc;
  PyObject* descr = PyDescr_NewGetSet(reinterpret_cast<PyTypeObject*>(cls.ptr()), &def);
  if (descr == nullptr) throw py::error_already_set();
  cls.attr(name) = py::reinterpret_steal<py::object>(descr);
}

// ---- batch -----------------------------------------------------------------------------

// float64 C-contiguous arrays are used in place; anything else (ints, float32, strided) is
// converted once into a temporary float64 copy (forcecast).
using Values = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Stamps = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

template <class Array>
py::ssize_t length_of(const Array& a, const char* name, py::ssize_t expected = -1) {
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
  if (expected >= 0 && a.shape(0) != expected)
    throw py::value_error(std::string(name) + " has length " + std::to_string(a.shape(0)) + ", expected " +
                          std::to_string(expected));
  return a.shape(0);
}

/// Run `update(i)` for each row with the GIL released and collect NOut outputs per row (NaN
/// until initialized). Releasing the GIL is safe: the inputs are owned by the array_t
/// arguments (kept alive for the call, and NumPy refuses to resize referenced arrays), the
/// outputs are fresh arrays nobody else can see yet, and the loop touches no Python object.
/// As for any Python object, sharing one indicator between threads that call it concurrently
/// is the caller's bug.
/// Whether run() works on a copy of the indicator (see run_rows). Not for RelativeVolume, whose
/// state is sessions x buckets doubles (115 kB for the defaults, MBs with 1-second buckets).
template <class T>
constexpr bool kBatchOnCopy = !std::is_same_v<T, RelativeVolume>;

template <std::size_t NOut, class T, class Update, class Outputs>
py::object run_rows(T& self, py::ssize_t n, Update update, Outputs outputs) {
  std::array<py::array_t<double>, NOut> out;
  std::array<double*, NOut> dst{};
  for (std::size_t k = 0; k < NOut; ++k) {
    out[k] = py::array_t<double>(n);
    dst[k] = out[k].mutable_data();
  }
  const auto row = [&](T& ind, std::size_t i) {
    update(ind, i);
    if (ind.initialized()) [[likely]] {
      const std::array<double, NOut> v = outputs(ind);
      for (std::size_t k = 0; k < NOut; ++k) dst[k][i] = v[k];
    } else {
      for (std::size_t k = 0; k < NOut; ++k) dst[k][i] = kNaN;
    }
  };
  {
    py::gil_scoped_release nogil;
    if constexpr (kBatchOnCopy<T>) {
      // Run on a copy that dies inside the try: if a row throws, the compiler need not have
      // kept the copy's state in memory, so it stays in registers across rows (measured: SMA
      // 5.8 -> 1.1 ns/row, EMA 3.2 -> 1.5). On a DataError the rows before the bad one are
      // replayed on `self` with the same update code (deterministic, so the state is exactly
      // what one pass would have left), and the error is re-raised with its row.
      std::size_t i = 0;
      try {
        T copy = self;
        for (; i < static_cast<std::size_t>(n); ++i) row(copy, i);
        self = std::move(copy);
      } catch (const DataError& e) {
        for (std::size_t j = 0; j < i; ++j) row(self, j);
        throw DataError(e.what(), static_cast<std::int64_t>(i));
      }
    } else {
      run_batch(static_cast<std::size_t>(n), [&](std::size_t i) { row(self, i); });
    }
  }
  if constexpr (NOut == 1) {
    return std::move(out[0]);
  } else {
    py::tuple t(NOut);
    for (std::size_t k = 0; k < NOut; ++k) t[k] = std::move(out[k]);
    return std::move(t);
  }
}

// ---- per-signature helpers ---------------------------------------------------------------

constexpr const char* kRunDoc1 =
    "Feed each element through update() and return the value after each one (NaN until "
    "initialized). State carries over; call reset() first for a fresh run. A bad element raises "
    "DataError with .row; rows before it stay applied.";

template <class T, class Class>
void common(Class& cls) {
  cls.def("reset", &T::reset, "Forget everything, as freshly constructed.");
  add_fast_getter<&T::initialized>(cls, "initialized", "True once the outputs are defined.");
  add_fast_getter<&T::count>(cls, "count", "Number of updates accepted since construction or reset().");
}

/// Indicators of one value (price) with one output.
template <class T, class Class>
void single_input(Class& cls) {
  add_fast_update<&T::update>(cls, "update(self, value, /)\n--\n\nFeed one value.");
  add_fast_getter<&T::value>(cls, "value", "Current value (unspecified until initialized).");
  common<T>(cls);
  cls.def(
      "run",
      [](T& self, const Values& values) {
        const py::ssize_t n = length_of(values, "values");
        const double* x = values.data();
        return run_rows<1>(self, n, [&](auto& ind, std::size_t i) { ind.update(x[i]); },
                           [](const T& s) { return std::array<double, 1>{s.value()}; });
      },
      py::arg("values"), kRunDoc1);
}

/// Bar indicators taking (high, low, close).
template <class T, std::size_t NOut, class Class, class Outputs>
void bar_input(Class& cls, Outputs outputs) {
  add_fast_update<&T::update>(cls, "update(self, high, low, close, /)\n--\n\nFeed one bar.");
  common<T>(cls);
  cls.def(
      "run",
      [outputs](T& self, const Values& high, const Values& low, const Values& close) {
        const py::ssize_t n = length_of(high, "high");
        length_of(low, "low", n);
        length_of(close, "close", n);
        const double *h = high.data(), *l = low.data(), *c = close.data();
        return run_rows<NOut>(self, n, [&](auto& ind, std::size_t i) { ind.update(h[i], l[i], c[i]); }, outputs);
      },
      py::arg("high"), py::arg("low"), py::arg("close"), kRunDoc1);
}

template <class T>
std::string period_repr(const char* name, const T& x) {
  return std::string(name) + "(period=" + std::to_string(x.period()) + ", count=" + std::to_string(x.count()) +
         ")";
}

}  // namespace

void register_indicators(py::module_& m) {
  m.doc() =
      "Streaming indicators with O(1) updates. Use tradecore.indicators, which documents the "
      "API; this module is its native implementation.";

  {
    py::class_<EMA> cls(m, "EMA", "Exponential moving average seeded with the SMA of the first `period` values.");
    cls.def(py::init<int>(), py::arg("period"));
    single_input<EMA>(cls);
    add_fast_getter<&EMA::period>(cls, "period", "Look-back period.");
    add_fast_getter<&EMA::alpha>(cls, "alpha", "Smoothing factor 2 / (period + 1).");
    cls.def("__repr__", [](const EMA& x) { return period_repr("EMA", x); });
  }
  {
    py::class_<SMA> cls(m, "SMA", "Simple moving average.");
    cls.def(py::init<int>(), py::arg("period"));
    single_input<SMA>(cls);
    add_fast_getter<&SMA::period>(cls, "period", "Look-back period.");
    cls.def("__repr__", [](const SMA& x) { return period_repr("SMA", x); });
  }
  {
    py::class_<WMA> cls(m, "WMA", "Linearly weighted moving average.");
    cls.def(py::init<int>(), py::arg("period"));
    single_input<WMA>(cls);
    add_fast_getter<&WMA::period>(cls, "period", "Look-back period.");
    cls.def("__repr__", [](const WMA& x) { return period_repr("WMA", x); });
  }
  {
    py::class_<RSI> cls(m, "RSI", "Relative strength index (Wilder).");
    cls.def(py::init<int>(), py::arg("period") = 14);
    single_input<RSI>(cls);
    add_fast_getter<&RSI::period>(cls, "period", "Look-back period.");
    add_fast_getter<&RSI::average_gain>(cls, "average_gain", "Wilder-smoothed average gain.");
    add_fast_getter<&RSI::average_loss>(cls, "average_loss", "Wilder-smoothed average loss.");
    cls.def("__repr__", [](const RSI& x) { return period_repr("RSI", x); });
  }
  {
    py::class_<RateOfChange> cls(m, "RateOfChange", "Rate of change in percent.");
    cls.def(py::init<int>(), py::arg("period") = 10);
    single_input<RateOfChange>(cls);
    add_fast_getter<&RateOfChange::period>(cls, "period", "Look-back period.");
    cls.def("__repr__", [](const RateOfChange& x) { return period_repr("RateOfChange", x); });
  }
  {
    py::class_<StandardDeviation> cls(m, "StandardDeviation", "Rolling population standard deviation.");
    cls.def(py::init<int>(), py::arg("period"));
    single_input<StandardDeviation>(cls);
    add_fast_getter<&StandardDeviation::period>(cls, "period", "Look-back period.");
    add_fast_getter<&StandardDeviation::mean>(cls, "mean", "Rolling mean.");
    cls.def("__repr__", [](const StandardDeviation& x) { return period_repr("StandardDeviation", x); });
  }
  {
    py::class_<Highest> cls(m, "Highest", "Highest value over the last `period` updates.");
    cls.def(py::init<int>(), py::arg("period") = 14);
    single_input<Highest>(cls);
    add_fast_getter<&Highest::period>(cls, "period", "Look-back period.");
    add_fast_getter<&Highest::bars_since>(cls, "bars_since", "Updates since the highest value (0 = last).");
    cls.def("__repr__", [](const Highest& x) { return period_repr("Highest", x); });
  }
  {
    py::class_<Lowest> cls(m, "Lowest", "Lowest value over the last `period` updates.");
    cls.def(py::init<int>(), py::arg("period") = 14);
    single_input<Lowest>(cls);
    add_fast_getter<&Lowest::period>(cls, "period", "Look-back period.");
    add_fast_getter<&Lowest::bars_since>(cls, "bars_since", "Updates since the lowest value (0 = last).");
    cls.def("__repr__", [](const Lowest& x) { return period_repr("Lowest", x); });
  }
  {
    py::class_<BollingerBands> cls(m, "BollingerBands", "SMA +- num_std population standard deviations.");
    cls.def(py::init<int, double>(), py::arg("period") = 20, py::arg("num_std") = 2.0);
    add_fast_update<&BollingerBands::update>(cls, "update(self, value, /)\n--\n\nFeed one value.");
    common<BollingerBands>(cls);
    add_fast_getter<&BollingerBands::middle>(cls, "middle", "Middle band (SMA).");
    add_fast_getter<&BollingerBands::upper>(cls, "upper", "Upper band.");
    add_fast_getter<&BollingerBands::lower>(cls, "lower", "Lower band.");
    add_fast_getter<&BollingerBands::standard_deviation>(cls, "standard_deviation",
                                                         "Population standard deviation.");
    add_fast_getter<&BollingerBands::period>(cls, "period", "Look-back period.");
    add_fast_getter<&BollingerBands::num_std>(cls, "num_std", "Band width in standard deviations.");
    cls.def(
        "run",
        [](BollingerBands& self, const Values& values) {
          const py::ssize_t n = length_of(values, "values");
          const double* x = values.data();
          return run_rows<3>(self, n, [&](auto& ind, std::size_t i) { ind.update(x[i]); }, [](const BollingerBands& s) {
            return std::array<double, 3>{s.upper(), s.middle(), s.lower()};
          });
        },
        py::arg("values"), "As update() per element; returns (upper, middle, lower) arrays.");
    cls.def("__repr__", [](const BollingerBands& x) { return period_repr("BollingerBands", x); });
  }
  {
    py::class_<MACD> cls(m, "MACD", "Moving average convergence/divergence.");
    cls.def(py::init<int, int, int>(), py::arg("fast") = 12, py::arg("slow") = 26, py::arg("signal") = 9);
    add_fast_update<&MACD::update>(cls, "update(self, value, /)\n--\n\nFeed one value.");
    common<MACD>(cls);
    add_fast_getter<&MACD::line>(cls, "line", "EMA(fast) - EMA(slow).");
    add_fast_getter<&MACD::signal>(cls, "signal", "EMA(signal) of the line.");
    add_fast_getter<&MACD::histogram>(cls, "histogram", "line - signal.");
    cls.def(
        "run",
        [](MACD& self, const Values& values) {
          const py::ssize_t n = length_of(values, "values");
          const double* x = values.data();
          return run_rows<3>(self, n, [&](auto& ind, std::size_t i) { ind.update(x[i]); }, [](const MACD& s) {
            return std::array<double, 3>{s.line(), s.signal(), s.histogram()};
          });
        },
        py::arg("values"), "As update() per element; returns (line, signal, histogram) arrays.");
    cls.def("__repr__", [](const MACD& x) { return "MACD(count=" + std::to_string(x.count()) + ")"; });
  }
  {
    py::class_<ATR> cls(m, "ATR", "Average true range (Wilder).");
    cls.def(py::init<int>(), py::arg("period") = 14);
    add_fast_getter<&ATR::value>(cls, "value", "Current value (unspecified until initialized).");
    add_fast_getter<&ATR::period>(cls, "period", "Look-back period.");
    bar_input<ATR, 1>(cls, [](const ATR& s) { return std::array<double, 1>{s.value()}; });
    cls.def("__repr__", [](const ATR& x) { return period_repr("ATR", x); });
  }
  {
    py::class_<ADX> cls(m, "ADX", "Average directional index with +DI and -DI (Wilder, TA-Lib seeding).");
    cls.def(py::init<int>(), py::arg("period") = 14);
    add_fast_getter<&ADX::value>(cls, "value", "ADX (unspecified until initialized).");
    add_fast_getter<&ADX::plus_di>(cls, "plus_di", "+DI.");
    add_fast_getter<&ADX::minus_di>(cls, "minus_di", "-DI.");
    add_fast_getter<&ADX::period>(cls, "period", "Look-back period.");
    bar_input<ADX, 3>(cls, [](const ADX& s) { return std::array<double, 3>{s.value(), s.plus_di(), s.minus_di()}; });
    cls.def("__repr__", [](const ADX& x) { return period_repr("ADX", x); });
  }
  {
    py::class_<Stochastic> cls(m, "Stochastic", "Slow stochastic oscillator (%K, %D).");
    cls.def(py::init<int, int, int>(), py::arg("fast_k_period") = 5, py::arg("slow_k_period") = 3,
            py::arg("slow_d_period") = 3);
    add_fast_getter<&Stochastic::slow_k>(cls, "slow_k", "Slow %K.");
    add_fast_getter<&Stochastic::slow_d>(cls, "slow_d", "Slow %D.");
    bar_input<Stochastic, 2>(cls, [](const Stochastic& s) { return std::array<double, 2>{s.slow_k(), s.slow_d()}; });
    cls.def("__repr__", [](const Stochastic& x) { return "Stochastic(count=" + std::to_string(x.count()) + ")"; });
  }
  {
    py::class_<OBV> cls(m, "OBV", "On-balance volume.");
    cls.def(py::init<>());
    add_fast_update<&OBV::update>(cls, "update(self, close, volume, /)\n--\n\nFeed one bar.");
    add_fast_getter<&OBV::value>(cls, "value", "Current value.");
    common<OBV>(cls);
    cls.def(
        "run",
        [](OBV& self, const Values& close, const Values& volume) {
          const py::ssize_t n = length_of(close, "close");
          length_of(volume, "volume", n);
          const double *c = close.data(), *v = volume.data();
          return run_rows<1>(self, n, [&](auto& ind, std::size_t i) { ind.update(c[i], v[i]); },
                             [](const OBV& s) { return std::array<double, 1>{s.value()}; });
        },
        py::arg("close"), py::arg("volume"), kRunDoc1);
    cls.def("__repr__", [](const OBV& x) { return "OBV(count=" + std::to_string(x.count()) + ")"; });
  }
  {
    py::enum_<VWAPAnchor>(m, "VWAPAnchor", "Where VWAP restarts.")
        .value("DAY", VWAPAnchor::Day)
        .value("REGULAR", VWAPAnchor::Regular);
    py::class_<VWAP> cls(m, "VWAP", "Session-anchored VWAP with standard-deviation bands.");
    cls.def(py::init([](const std::string& anchor, double band_multiplier) {
              return VWAP(parse_vwap_anchor(anchor), band_multiplier);
            }),
            py::arg("anchor") = "day", py::arg("band_multiplier") = 2.0);
    add_fast_update<&VWAP::update>(cls, "update(self, ts_event, price, volume, /)\n--\n\nFeed one trade or bar.");
    common<VWAP>(cls);
    add_fast_getter<&VWAP::value>(cls, "value", "VWAP since the anchor.");
    add_fast_getter<&VWAP::upper>(cls, "upper", "VWAP + band_multiplier x standard deviation.");
    add_fast_getter<&VWAP::lower>(cls, "lower", "VWAP - band_multiplier x standard deviation.");
    add_fast_getter<&VWAP::standard_deviation>(cls, "standard_deviation",
                                               "Volume-weighted standard deviation of price.");
    add_fast_getter<&VWAP::volume>(cls, "volume", "Volume since the anchor.");
    add_fast_getter<&VWAP::band_multiplier>(cls, "band_multiplier", "Band width in standard deviations.");
    cls.def_property_readonly("anchor", [](const VWAP& x) { return x.anchor() == VWAPAnchor::Day ? "day" : "regular"; });
    cls.def(
        "run",
        [](VWAP& self, const Stamps& ts_event, const Values& price, const Values& volume) {
          const py::ssize_t n = length_of(ts_event, "ts_event");
          length_of(price, "price", n);
          length_of(volume, "volume", n);
          const std::int64_t* t = ts_event.data();
          const double *p = price.data(), *v = volume.data();
          return run_rows<3>(self, n, [&](auto& ind, std::size_t i) { ind.update(t[i], p[i], v[i]); }, [](const VWAP& s) {
            return std::array<double, 3>{s.value(), s.upper(), s.lower()};
          });
        },
        py::arg("ts_event"), py::arg("price"), py::arg("volume"),
        "As update() per row; returns (value, upper, lower) arrays.");
    cls.def("__repr__", [](const VWAP& x) {
      return std::string("VWAP(anchor='") + (x.anchor() == VWAPAnchor::Day ? "day" : "regular") +
             "', count=" + std::to_string(x.count()) + ")";
    });
  }
  {
    py::class_<RelativeVolume> cls(m, "RelativeVolume", "Volume against the same time of day in prior sessions.");
    cls.def(py::init<int, std::int64_t, bool>(), py::arg("sessions") = 10,
            py::arg("bucket_ns") = tradecore::calendar::kMinute, py::arg("cumulative") = false);
    add_fast_update<&RelativeVolume::update>(cls, "update(self, ts_event, volume, /)\n--\n\nFeed one trade or bar.");
    common<RelativeVolume>(cls);
    add_fast_getter<&RelativeVolume::value>(cls, "value", "current / average.");
    add_fast_getter<&RelativeVolume::average>(cls, "average", "Mean over the prior sessions for this bucket.");
    add_fast_getter<&RelativeVolume::current>(cls, "current", "Today's volume (bucket or cumulative).");
    add_fast_getter<&RelativeVolume::sessions_completed>(cls, "sessions_completed", "Sessions finished so far.");
    add_fast_getter<&RelativeVolume::sessions>(cls, "sessions", "Prior sessions averaged.");
    add_fast_getter<&RelativeVolume::bucket_ns>(cls, "bucket_ns", "Bucket size, ns.");
    add_fast_getter<&RelativeVolume::cumulative>(cls, "cumulative", "Cumulative mode.");
    cls.def(
        "run",
        [](RelativeVolume& self, const Stamps& ts_event, const Values& volume) {
          const py::ssize_t n = length_of(ts_event, "ts_event");
          length_of(volume, "volume", n);
          const std::int64_t* t = ts_event.data();
          const double* v = volume.data();
          return run_rows<1>(self, n, [&](auto& ind, std::size_t i) { ind.update(t[i], v[i]); },
                             [](const RelativeVolume& s) { return std::array<double, 1>{s.value()}; });
        },
        py::arg("ts_event"), py::arg("volume"), kRunDoc1);
    cls.def("__repr__", [](const RelativeVolume& x) {
      return "RelativeVolume(sessions=" + std::to_string(x.sessions()) + ", count=" + std::to_string(x.count()) + ")";
    });
  }
}

}  // namespace tradecore::bindings
