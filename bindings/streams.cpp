#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>

#include "arrays.hpp"
#include "register.hpp"
#include "tradecore/alpaca_wire.hpp"
#include "tradecore/feed_checks.hpp"

namespace py = pybind11;
using namespace tradecore;

namespace tradecore::bindings {

namespace {

py::tuple quote_row(const Quote& q) {
  // A quote as the Python decoders' row tuple (the dtype's field order).
  return py::make_tuple(q.ts_event, q.bid_price, q.ask_price, q.bid_size, q.ask_size,
                        q.conditions, q.instrument_id, q.bid_exchange, q.ask_exchange, q.flags);
}

Quote quote_of(const py::tuple& row) {
  if (row.size() != 10) throw py::value_error("a quote row has 10 fields");
  Quote q{};
  q.ts_event = row[0].cast<std::int64_t>();
  q.bid_price = row[1].cast<double>();
  q.ask_price = row[2].cast<double>();
  q.bid_size = row[3].cast<double>();
  q.ask_size = row[4].cast<double>();
  q.conditions = row[5].cast<std::uint32_t>();
  q.instrument_id = row[6].cast<std::uint32_t>();
  q.bid_exchange = row[7].cast<std::uint8_t>();
  q.ask_exchange = row[8].cast<std::uint8_t>();
  q.flags = row[9].cast<std::uint8_t>();
  return q;
}

py::object state_of(const FeedChecks& self, std::string_view symbol) {
  const SymbolChecks* state = self.find(symbol);
  if (state == nullptr) return py::none();
  py::list keys;
  for (const TradeKey& k : state->recent.keys()) keys.append(py::make_tuple(k.trade_id, k.exchange, k.ts));
  return py::make_tuple(keys, state->has_trade ? py::object(py::int_(state->last_trade_ts)) : py::none(),
                        state->has_quote ? py::object(quote_row(state->last_quote)) : py::none());
}

/// The decoder, and each accepted symbol as a Python str: a frame's groups name their symbols
/// without a Python call per group.
struct NamedDecoder : alpaca::CleanFrameDecoder {
  std::unordered_map<std::uint32_t, py::str> names;
};

template <class Event>
py::tuple grouped(const NamedDecoder& self, std::vector<Event>&& events,
                  const std::vector<alpaca::Group>& groups) {
  std::vector<std::int64_t> cuts{0};
  py::list symbols(groups.size());
  for (std::size_t k = 0; k < groups.size(); ++k) {
    cuts.push_back(groups[k].end);
    symbols[k] = self.names.at(groups[k].instrument_id);
  }
  return py::make_tuple(to_array(std::move(events)), to_array(std::move(cuts)), symbols);
}

py::object decode(const NamedDecoder& self, const py::object& frame, bool json,
                  FeedChecks& checks) {
  std::string_view text;
  PyObject* object = frame.ptr();
  if (PyUnicode_Check(object)) {
    Py_ssize_t size;
    const char* data = PyUnicode_AsUTF8AndSize(object, &size);
    if (data == nullptr) {  // lone surrogates: not clean
      PyErr_Clear();
      return py::none();
    }
    text = std::string_view(data, static_cast<std::size_t>(size));
  } else if (PyBytes_Check(object)) {
    text = std::string_view(PyBytes_AS_STRING(object),
                            static_cast<std::size_t>(PyBytes_GET_SIZE(object)));
  } else {
    return py::none();
  }
  // The GIL stays held: frames take microseconds, and add_symbol may run on another thread.
  alpaca::CleanFrame out;
  if (!(json ? self.decode_json(text, out) : self.decode_msgpack(text, out))) return py::none();
  if (!checks.stage(out)) return py::none();

  py::list bars;
  for (const auto& bar : out.bars) {
    bars.append(py::make_tuple(std::string(1, bar.kind), bar.instrument_id, bar.ts, bar.open,
                               bar.high, bar.low, bar.close, bar.volume, bar.trade_count,
                               bar.vwap));
  }
  return py::make_tuple(out.messages, grouped(self, std::move(out.trades), out.trade_groups),
                        grouped(self, std::move(out.quotes), out.quote_groups), bars);
}

}  // namespace

void register_streams(py::module_& m) {
  py::enum_<FeedChecks::TradeCheck>(m, "TradeCheck")
      .value("NEW", FeedChecks::TradeCheck::New)
      .value("DUPLICATE", FeedChecks::TradeCheck::Duplicate)
      .value("OUT_OF_ORDER", FeedChecks::TradeCheck::OutOfOrder);
  py::class_<FeedChecks>(
      m, "FeedChecks",
      "Per-symbol duplicate and ordering state of a vendor decoder: the last dedup_window trade\n"
      "keys, the newest trade time and the last quote of each symbol.\n\n"
      "The rules and their reports are tradecore.streams.vendor's; clean frames are checked and\n"
      "remembered natively against the same state (CleanFrameDecoder.decode, commit).")
      .def(py::init<std::size_t>(), py::arg("dedup_window"))
      .def(
          "check_trade",
          [](FeedChecks& self, std::string_view symbol, std::uint64_t trade_id, std::uint8_t exchange,
             std::int64_t ts) { return self.check_trade(symbol, {trade_id, exchange, ts}); },
          py::arg("symbol"), py::arg("trade_id"), py::arg("exchange"), py::arg("ts"),
          "DUPLICATE (a trade seen before: nothing changes), else remember it: NEW, or\n"
          "OUT_OF_ORDER when older than the symbol's newest (which then stays).")
      .def(
          "last_trade_ts",
          [](const FeedChecks& self, std::string_view symbol) -> py::object {
            const SymbolChecks* state = self.find(symbol);
            if (state == nullptr || !state->has_trade) return py::none();
            return py::int_(state->last_trade_ts);
          },
          py::arg("symbol"), "The symbol's newest trade time (ns), or None.")
      .def(
          "newest_ts",
          [](const FeedChecks& self, std::string_view symbol) -> py::object {
            const SymbolChecks* state = self.find(symbol);
            if (state == nullptr || !(state->has_trade || state->has_quote)) return py::none();
            if (!state->has_quote) return py::int_(state->last_trade_ts);
            if (!state->has_trade) return py::int_(state->last_quote.ts_event);
            return py::int_(std::max(state->last_trade_ts, state->last_quote.ts_event));
          },
          py::arg("symbol"), "The later of the symbol's newest trade time and its last quote's (ns), or None.")
      .def(
          "check_quote",
          [](FeedChecks& self, std::string_view symbol, const py::tuple& row) {
            return self.check_quote(symbol, quote_of(row));
          },
          py::arg("symbol"), py::arg("row"),
          "False if the quote row (dtype field order) repeats the symbol's last quote; else it\n"
          "becomes the last quote.")
      .def("reset", &FeedChecks::reset, py::arg("symbol"), "Forget the symbol's state.")
      .def("bind", &FeedChecks::bind, py::arg("symbol"), py::arg("instrument_id"),
           "Let clean frames name the symbol's state by its instrument id.")
      .def("commit", &FeedChecks::commit,
           "Remember the clean frame decode() staged last (once; it raises if none is staged).")
      .def("state", &state_of, py::arg("symbol"),
           "(remembered trade keys oldest first, newest trade time or None, last quote row or\n"
           "None), or None if the symbol has no state.");

  py::class_<NamedDecoder>(
      m, "CleanFrameDecoder",
      "Decodes clean Alpaca stock-stream frames; answers None for anything else.\n\n"
      "Used by tradecore.streams.alpaca.AlpacaDecoder, which owns every rule for bad input.")
      .def(py::init<>())
      .def(
          "add_symbol",
          [](NamedDecoder& self, const std::string& symbol, std::uint32_t instrument_id) {
            self.names[instrument_id] = py::str(symbol);
            self.add_symbol(symbol, instrument_id);
          },
          py::arg("symbol"), py::arg("instrument_id"), "Accept messages of this exact symbol as this instrument.")
      .def("set_condition_bits", &NamedDecoder::set_condition_bits,
           py::arg("trade"), py::arg("quote"), py::arg("other"),
           "Condition code -> bit for trades and quotes; unlisted codes set other.")
      .def("decode", &decode, py::arg("frame"), py::arg("json"), py::arg("checks"),
           "Return None, or (messages, (trades, cuts, symbols), (quotes, cuts, symbols), bars).\n\n"
           "None also when a trade or quote breaks a rule of ``checks`` (FeedChecks: a\n"
           "duplicate, a trade older than its symbol's newest); else the frame's trades and\n"
           "quotes are staged there, remembered by checks.commit(). Trades and quotes come\n"
           "sorted by instrument (stable); cuts (int64 arrays) bound each run. bars are (kind,\n"
           "instrument_id, ts, open, high, low, close, volume, trade_count, vwap) in arrival order.");
}

}  // namespace tradecore::bindings
