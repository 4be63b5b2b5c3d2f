#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "register.hpp"
#include "tradecore/orders.hpp"
#include "tradecore/schema.hpp"
#include "tradecore/strategy.hpp"

namespace py = pybind11;
using namespace tradecore;

namespace tradecore::bindings {

void register_schema(py::module_& m) {
  // Runtime registration: must run before any other binding uses these dtypes.
  PYBIND11_NUMPY_DTYPE(Trade, ts_event, price, size, trade_id, conditions, instrument_id, exchange, flags);
  PYBIND11_NUMPY_DTYPE(Status, ts_event, instrument_id, state, status_code, reason_code);
  PYBIND11_NUMPY_DTYPE(Luld, ts_event, limit_up, limit_down, instrument_id, indicator);
  PYBIND11_NUMPY_DTYPE(Quote, ts_event, bid_price, ask_price, bid_size, ask_size, conditions,
                       instrument_id, bid_exchange, ask_exchange, flags);
  PYBIND11_NUMPY_DTYPE(Bar, ts_event, ts_end, open, high, low, close, volume, vwap, trade_count,
                       instrument_id, session, flags);
  PYBIND11_NUMPY_DTYPE(Order, order_id, ts_submit, quantity, limit_price, stop_price, instrument_id,
                       side, type, time_in_force);
  PYBIND11_NUMPY_DTYPE(Fill, ts_event, order_id, price, quantity, commission, leaves_quantity,
                       instrument_id, side, liquidity);
  PYBIND11_NUMPY_DTYPE(OrderUpdate, ts_event, order_id, filled_quantity, leaves_quantity,
                       instrument_id, status, reason);
  PYBIND11_NUMPY_DTYPE(TradeIntent, ts_event, quantity, limit_price, stop_price, reference_price,
                       instrument_id, transition, strategy_id, rule, side, order_type, sizing);
  PYBIND11_NUMPY_DTYPE(TransitionRecord, ts_event, values, instrument_id, strategy_id, rule,
                       value_names, from_state, to_state, value_count);
  PYBIND11_NUMPY_DTYPE(QuoteBar, ts_event, ts_end, bid_open, bid_high, bid_low, bid_close, ask_open,
                       ask_high, ask_low, ask_close, bid_size, ask_size, spread_twa, quote_count,
                       instrument_id, session, flags);

  // The dtypes as the C++ compiler laid the structs out; tradecore.schema checks its own
  // definitions against these at import.
  py::dict dtypes;
  dtypes["Trade"] = py::dtype::of<Trade>();
  dtypes["Quote"] = py::dtype::of<Quote>();
  dtypes["Bar"] = py::dtype::of<Bar>();
  dtypes["QuoteBar"] = py::dtype::of<QuoteBar>();
  dtypes["Status"] = py::dtype::of<Status>();
  dtypes["Luld"] = py::dtype::of<Luld>();
  dtypes["Order"] = py::dtype::of<Order>();
  dtypes["Fill"] = py::dtype::of<Fill>();
  dtypes["OrderUpdate"] = py::dtype::of<OrderUpdate>();
  dtypes["TradeIntent"] = py::dtype::of<TradeIntent>();
  dtypes["TransitionRecord"] = py::dtype::of<TransitionRecord>();
  m.attr("native_dtypes") = dtypes;

  py::enum_<Session>(m, "Session", "Trading session of US equities (America/New_York).")
      .value("NONE", Session::None)
      .value("PREMARKET", Session::Premarket)
      .value("REGULAR", Session::Regular)
      .value("AFTER_HOURS", Session::AfterHours)
      .value("OVERNIGHT", Session::Overnight);
  py::enum_<TradingState>(m, "TradingState", "Trading status of an instrument.")
      .value("UNKNOWN", TradingState::Unknown)
      .value("TRADING", TradingState::Trading)
      .value("HALTED", TradingState::Halted)
      .value("QUOTE_ONLY", TradingState::QuoteOnly)
      .value("PAUSED", TradingState::Paused);
  py::enum_<TradeFlag>(m, "TradeFlag", py::arithmetic(), "Bits of Trade.flags.")
      .value("SUSPICIOUS", kTradeSuspicious);
  py::enum_<BarFlag>(m, "BarFlag", py::arithmetic(), "Bits of Bar.flags.")
      .value("FLAT", kBarFlat)
      .value("AMENDED", kBarAmended)
      .value("PARTIAL", kBarPartial);
}

}  // namespace tradecore::bindings
