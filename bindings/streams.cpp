#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string_view>

#include "arrays.hpp"
#include "register.hpp"
#include "tradecore/alpaca_wire.hpp"

namespace py = pybind11;
using namespace tradecore;

namespace tradecore::bindings {

namespace {

py::tuple quote_row(const Quote& q) {
  // The tuple the Python decoder stores as a symbol's last quote (same order as the dtype).
  return py::make_tuple(q.ts_event, q.bid_price, q.ask_price, q.bid_size, q.ask_size,
                        q.conditions, q.instrument_id, q.bid_exchange, q.ask_exchange, q.flags);
}

template <class Event>
py::tuple grouped(std::vector<Event>&& events, const std::vector<alpaca::Group>& groups) {
  py::list cuts;
  py::list ids;
  cuts.append(0);
  for (const auto& g : groups) {
    cuts.append(g.end);
    ids.append(g.instrument_id);
  }
  return py::make_tuple(to_array(std::move(events)), cuts, ids);
}

py::object decode(const alpaca::CleanFrameDecoder& self, const py::object& frame, bool json) {
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

  py::list trade_keys;
  for (const Trade& trade : out.trades) {
    trade_keys.append(py::make_tuple(trade.trade_id, trade.exchange, trade.ts_event));
  }
  py::list first_quotes;
  py::list last_quotes;
  for (const auto& g : out.quote_groups) {
    first_quotes.append(quote_row(out.quotes[g.start]));
    last_quotes.append(quote_row(out.quotes[g.end - 1]));
  }
  py::list bars;
  for (const auto& bar : out.bars) {
    bars.append(py::make_tuple(std::string(1, bar.kind), bar.instrument_id, bar.ts, bar.open,
                               bar.high, bar.low, bar.close, bar.volume, bar.trade_count,
                               bar.vwap));
  }
  return py::make_tuple(out.messages, grouped(std::move(out.trades), out.trade_groups),
                        trade_keys, grouped(std::move(out.quotes), out.quote_groups),
                        first_quotes, last_quotes, bars);
}

}  // namespace

void register_streams(py::module_& m) {
  py::class_<alpaca::CleanFrameDecoder>(
      m, "CleanFrameDecoder",
      "Decodes clean Alpaca stock-stream frames; answers None for anything else.\n\n"
      "Used by tradecore.streams.alpaca.AlpacaDecoder, which owns every rule for bad input.")
      .def(py::init<>())
      .def("add_symbol", &alpaca::CleanFrameDecoder::add_symbol, py::arg("symbol"),
           py::arg("instrument_id"), "Accept messages of this exact symbol as this instrument.")
      .def("set_condition_bits", &alpaca::CleanFrameDecoder::set_condition_bits,
           py::arg("trade"), py::arg("quote"), py::arg("other"),
           "Condition code -> bit for trades and quotes; unlisted codes set other.")
      .def("decode", &decode, py::arg("frame"), py::arg("json"),
           "Return None, or (messages, (trades, cuts, instrument_ids), trade_keys,\n"
           "(quotes, cuts, instrument_ids), first_quote_rows, last_quote_rows, bars).\n\n"
           "Trades and quotes come sorted by instrument (stable); cuts bound each instrument's\n"
           "run. trade_keys are (trade_id, exchange, ts_event) per sorted trade. Quote rows are\n"
           "tuples in dtype order, the first and last of each run. bars are (kind, instrument_id,\n"
           "ts, open, high, low, close, volume, trade_count, vwap) in arrival order.");
}

}  // namespace tradecore::bindings
