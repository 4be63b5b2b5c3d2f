// The session calendar (cpp/include/tradecore/calendar.hpp), so Python classifies sessions with
// the same rules as the bar aggregator and the strategies instead of a second copy.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "register.hpp"
#include "tradecore/calendar.hpp"

namespace py = pybind11;

namespace tradecore::bindings {

void register_calendar(py::module_& m) {
  m.def("session_of", &calendar::session_of, py::arg("ts_event"),
        "Session of a UTC instant (ns since the epoch) in New York time, early closes included.");
  m.def(
      "sessions",
      [](const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& ts) {
        if (ts.ndim() != 1) throw py::value_error("expected a 1-D array of ns timestamps");
        const auto n = ts.shape(0);
        py::array_t<std::uint8_t> out(n);
        const std::int64_t* src = ts.data();
        std::uint8_t* dst = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          for (py::ssize_t i = 0; i < n; ++i)
            dst[i] = static_cast<std::uint8_t>(calendar::session_of(src[i]));
        }
        return out;
      },
      py::arg("ts_event"), "Session (tradecore.schema.Session values) of each UTC ns timestamp.");
  m.def("is_early_close", &calendar::is_early_close, py::arg("local_day"),
        "Whether the NYSE closes at 13:00 on this New York date (days since 1970-01-01).");
}

}  // namespace tradecore::bindings
