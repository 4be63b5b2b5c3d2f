#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <span>
#include <vector>

#include "arrays.hpp"
#include "register.hpp"
#include "tradecore/bar_aggregator.hpp"

namespace py = pybind11;

namespace tradecore::bindings {

namespace {

using TradeArray = py::array_t<Trade, py::array::c_style>;
using QuoteArray = py::array_t<Quote, py::array::c_style>;
using BarArray = py::array_t<Bar, py::array::c_style>;

}  // namespace

void register_bars(py::module_& m) {
  py::enum_<BarKind>(m, "BarKind")
      .value("TIME", BarKind::Time)
      .value("TICK", BarKind::Tick)
      .value("VOLUME", BarKind::Volume)
      .value("VALUE", BarKind::Value)
      .value("RANGE", BarKind::Range);
  py::enum_<LatePolicy>(m, "LatePolicy")
      .value("DROP", LatePolicy::Drop)
      .value("AMEND", LatePolicy::Amend)
      .value("RAISE", LatePolicy::Raise);
  py::enum_<EmptyPolicy>(m, "EmptyPolicy").value("SKIP", EmptyPolicy::Skip).value("FLAT", EmptyPolicy::Flat);
  py::enum_<BadDataPolicy>(m, "BadDataPolicy")
      .value("RAISE", BadDataPolicy::Raise)
      .value("SKIP", BadDataPolicy::Skip);
  py::enum_<Calendar>(m, "Calendar").value("US_EQUITY", Calendar::UsEquity).value("UTC", Calendar::Utc);

  py::class_<AggregatorConfig>(m, "AggregatorConfig")
      .def(py::init<>())
      .def_readwrite("kind", &AggregatorConfig::kind)
      .def_readwrite("period_ns", &AggregatorConfig::period_ns)
      .def_readwrite("size", &AggregatorConfig::size)
      .def_readwrite("calendar", &AggregatorConfig::calendar)
      .def_readwrite("sessions", &AggregatorConfig::sessions)
      .def_readwrite("split_at_sessions", &AggregatorConfig::split_at_sessions)
      .def_readwrite("late", &AggregatorConfig::late)
      .def_readwrite("empty", &AggregatorConfig::empty)
      .def_readwrite("bad", &AggregatorConfig::bad)
      .def_readwrite("exclude_price_conditions", &AggregatorConfig::exclude_price_conditions)
      .def_readwrite("exclude_volume_conditions", &AggregatorConfig::exclude_volume_conditions)
      .def_readwrite("drop_suspicious", &AggregatorConfig::drop_suspicious)
      .def_readwrite("instrument_id", &AggregatorConfig::instrument_id);

  py::class_<BarAggregator>(m, "BarAggregator")
      .def(py::init<const AggregatorConfig&>(), py::arg("config"))
      .def(
          "update_batch",
          [](BarAggregator& self, const TradeArray& trades) {
            auto span = as_span(trades);
            {
              // Safe without the GIL: `trades` keeps the buffer alive for the call, and the
              // loop touches only C++ state.
              py::gil_scoped_release release;
              self.update(span);
            }
            return to_array(self.drain());
          },
          py::arg("trades").noconvert(),
          "Apply a TRADE array; return the bars it closed.")
      .def(
          "update",
          [](BarAggregator& self, std::int64_t ts_event, double price, double size,
             std::uint32_t conditions, std::uint8_t flags, std::uint8_t exchange) {
            const Trade t{ts_event, price, size, 0, conditions, self.config().instrument_id, exchange, flags};
            self.update(std::span<const Trade>(&t, 1));
            return to_array(self.drain());
          },
          py::arg("ts_event"), py::arg("price"), py::arg("size"), py::arg("conditions") = 0,
          py::arg("flags") = 0, py::arg("exchange") = 0, "Apply one trade; return the bars it closed.")
      .def(
          "update_bars",
          [](BarAggregator& self, const BarArray& bars) {
            auto span = as_span(bars);
            {
              py::gil_scoped_release release;  // as in update_batch
              self.update_bars(span);
            }
            return to_array(self.drain());
          },
          py::arg("bars").noconvert(), "Apply lower-period BAR rows; return the bars they closed.")
      .def(
          "on_clock",
          [](BarAggregator& self, std::int64_t now) {
            self.on_clock(now);
            return to_array(self.drain());
          },
          py::arg("now"), "Advance the clock to `now` (ns UTC); return the bars that closed.")
      .def(
          "flush",
          [](BarAggregator& self, bool partial) {
            self.flush(partial);
            return to_array(self.drain());
          },
          py::arg("partial") = false, "Close the open bar now; return it (empty if none).")
      .def("drain", [](BarAggregator& self) { return to_array(self.drain()); },
           "Return bars closed before a DataError interrupted a call.")
      .def("reset", &BarAggregator::reset)
      .def_property_readonly("has_open_bar", &BarAggregator::has_open_bar)
      .def_property_readonly("open_bar",
                             [](const BarAggregator& self) -> py::object {
                               if (!self.has_open_bar()) return py::none();
                               return to_array(std::vector<Bar>{self.open_bar()});
                             })
      .def_property_readonly("stats", [](const BarAggregator& self) { return stats_dict(self.stats()); })
      .def_property_readonly("config", &BarAggregator::config);

  py::class_<QuoteBarAggregator>(m, "QuoteBarAggregator")
      .def(py::init<const AggregatorConfig&>(), py::arg("config"))
      .def(
          "update_batch",
          [](QuoteBarAggregator& self, const QuoteArray& quotes) {
            auto span = as_span(quotes);
            {
              py::gil_scoped_release release;  // as in BarAggregator.update_batch
              self.update(span);
            }
            return to_array(self.drain());
          },
          py::arg("quotes").noconvert(), "Apply a QUOTE array; return the quote bars it closed.")
      .def(
          "on_clock",
          [](QuoteBarAggregator& self, std::int64_t now) {
            self.on_clock(now);
            return to_array(self.drain());
          },
          py::arg("now"))
      .def(
          "flush",
          [](QuoteBarAggregator& self, bool partial) {
            self.flush(partial);
            return to_array(self.drain());
          },
          py::arg("partial") = false)
      .def("drain", [](QuoteBarAggregator& self) { return to_array(self.drain()); })
      .def("reset", &QuoteBarAggregator::reset)
      .def_property_readonly("has_open_bar", &QuoteBarAggregator::has_open_bar)
      .def_property_readonly("stats",
                             [](const QuoteBarAggregator& self) { return stats_dict(self.stats()); });
}

}  // namespace tradecore::bindings
