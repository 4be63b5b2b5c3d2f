#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "tradecore native core (C++). Import the typed API from tradecore, not from here.";
  m.attr("__version__") = TRADECORE_VERSION;
  using namespace tradecore::bindings;
  register_errors(m);
  register_schema(m);
  auto calendar = m.def_submodule("calendar", "US-equity sessions in New York time");
  register_calendar(calendar);
  auto bars = m.def_submodule("bars", "Bar aggregation");
  register_bars(bars);
  auto indicators = m.def_submodule("indicators", "Streaming indicators");
  register_indicators(indicators);
  auto engine = m.def_submodule("engine", "Strategies, the per-symbol engine and the fill simulator");
  register_engine(engine);
  register_momentum_strategies(engine);
  auto streams = m.def_submodule("streams", "Market data stream decoding");
  register_streams(streams);
  register_ws(streams, m.attr("Error"));
  auto book = m.def_submodule("book", "The execution layer's book of per-symbol market values");
  register_book(book);
}
