#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "arrays.hpp"
#include "fast_access.hpp"
#include "register.hpp"
#include "tradecore/strategies/ema_cross.hpp"
#include "tradecore/symbol_engine.hpp"

namespace py = pybind11;

namespace tradecore::bindings {

namespace {

/// Python strategies: the handlers call the Python methods of the same name with one event
/// object (reused between calls: copy what you keep). Transitions and intents go to the output
/// of the event being handled.
class PyStrategy : public Strategy, public py::trampoline_self_life_support {
 public:
  using Strategy::Strategy;

  void on_bar(const Bar& bar, StrategyOutput& out) override { call("on_bar", bar_, bar, out); }
  void on_quote(const Quote& quote, StrategyOutput& out) override { call("on_quote", quote_, quote, out); }
  void on_trade(const Trade& trade, StrategyOutput& out) override { call("on_trade", trade_, trade, out); }
  void on_fill(const Fill& fill, StrategyOutput& out) override {
    apply_fill(fill);
    call("on_fill", fill_, fill, out);
  }
  void on_order_update(const OrderUpdate& update, StrategyOutput& out) override {
    call("on_order_update", update_, update, out);
  }
  void on_clock(std::int64_t now, StrategyOutput& out) override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Strategy*>(this), "on_clock");
    if (!f) return;
    Current scope(current_, &out);
    f(now);
  }
  void warm_up(const Bar& bar) override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Strategy*>(this), "warm_up");
    if (f) f(bar);
  }
  bool ready() const override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Strategy*>(this), "ready");
    return f ? f().cast<bool>() : true;
  }
  AdoptResult on_adopt(const Adoption& position, StrategyOutput& out) override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Strategy*>(this), "on_adopt");
    if (!f) return Strategy::on_adopt(position, out);
    Current scope(current_, &out);
    return f(position).cast<AdoptResult>();
  }
  bool wants_quotes() const override { return flag("wants_quotes"); }
  bool wants_trades() const override { return flag("wants_trades"); }
  void reset() override {
    Strategy::reset();
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Strategy*>(this), "reset");
    if (f) f();
  }

  StrategyOutput* current() const { return current_; }

 private:
  struct Current {
    StrategyOutput*& slot;
    StrategyOutput* saved;
    Current(StrategyOutput*& s, StrategyOutput* out) : slot(s), saved(s) { slot = out; }
    ~Current() { slot = saved; }
  };
  struct Cached {
    py::object method;   // the bound Python method, looked up once
    py::object event;    // one event object reused across calls
    void* storage = nullptr;
    bool looked_up = false;
  };

  template <class T>
  void call(const char* name, Cached& cache, const T& event, StrategyOutput& out) {
    // The GIL is held: an engine with a Python strategy never releases it (see run below).
    if (!cache.looked_up) {
      py::function f = py::get_override(static_cast<const Strategy*>(this), name);
      cache.looked_up = true;
      if (f) {
        cache.method = f;
        cache.event = py::cast(T{}, py::return_value_policy::move);
        cache.storage = py::cast<T*>(cache.event);
      }
    }
    if (!cache.method) return;
    *static_cast<T*>(cache.storage) = event;
    Current scope(current_, &out);
    PyObject* result = PyObject_CallOneArg(cache.method.ptr(), cache.event.ptr());
    if (result == nullptr) throw py::error_already_set();
    Py_DECREF(result);
  }
  bool flag(const char* name) const {
    py::gil_scoped_acquire gil;
    py::object self = py::cast(static_cast<const Strategy*>(this));
    return py::hasattr(self, name) && py::bool_(self.attr(name));
  }

  StrategyOutput* current_ = nullptr;
  Cached bar_, quote_, trade_, fill_, update_;
};

/// The engine and the arrays it reads from: they must live as long as it uses them.
struct EngineBox {
  explicit EngineBox(const EngineConfig& c) : engine(c) {}
  SymbolEngine engine;
  py::object trades, quotes, bars, statuses, clock;
  bool python_strategies = false;

  /// Release the loaded arrays but the one in ``kept``.
  void release_except(const py::object& kept) {
    for (py::object* slot : {&trades, &quotes, &bars, &statuses, &clock})
      if (slot != &kept) *slot = py::none();
  }
};

template <class T>
std::span<const T> optional_span(py::object& keep, const py::object& given) {
  if (given.is_none()) {
    keep = py::none();
    return {};
  }
  if (py::isinstance<py::array>(given)) {  // the common case, without a conversion attempt
    const auto plain = py::reinterpret_borrow<py::array>(given);
    if (is_event_array<T>(plain)) {
      keep = given;
      return {static_cast<const T*>(plain.data()), static_cast<std::size_t>(plain.shape(0))};
    }
  }
  auto array = py::array_t<T, py::array::c_style>::ensure(given);
  if (!array || array.dtype().not_equal(py::dtype::of<T>()))
    throw py::type_error("expected a C-contiguous array of the event's tradecore.schema dtype");
  keep = array;
  return as_span(array);
}

py::dict drain(EngineBox& box) {
  EngineOutput out = box.engine.take_output();
  py::dict d;
  d["transitions"] = to_array(std::move(out.transitions));
  d["intents"] = to_array(std::move(out.intents));
  d["fills"] = to_array(std::move(out.fills));
  d["updates"] = to_array(std::move(out.updates));
  d["bars"] = to_array(std::move(out.bars));
  return d;
}


bool has_output(const SymbolEngine& engine) {
  const EngineOutput& o = engine.output();
  return !(o.transitions.empty() && o.intents.empty() && o.fills.empty() && o.updates.empty() && o.bars.empty());
}

/// Whether the engine's output holds nothing but closed bars.
bool only_bars(const SymbolEngine& engine) {
  const EngineOutput& o = engine.output();
  return !o.bars.empty() && o.transitions.empty() && o.intents.empty() && o.fills.empty() && o.updates.empty();
}

/// The live hot path: one frame's events of one kind, grouped by symbol, through the symbols'
/// engines in group order without returning to Python, up to the first group the caller must
/// handle. See `run_groups` below.
template <class T>
py::tuple run_groups_of(const py::list& engines, const py::array& events, const Column<std::int64_t>& cuts,
                        std::size_t start, Column<std::int64_t>& at, bool keep_bars,
                        const std::optional<Column<std::int64_t>>& ids, py::object EngineBox::*slot) {
  std::int64_t* where = at.mutable_data();
  where[0] = -1;  // no group yet: a failure before the loop is the frame's, not a symbol's
  if (!is_event_array<T>(events))
    throw py::type_error("run_groups: events must be a C-contiguous array of the kind's dtype");
  const auto listed = static_cast<Py_ssize_t>(py::len(engines));
  const auto groups = ids ? static_cast<std::size_t>(ids->size()) : static_cast<std::size_t>(listed);
  if (cuts.ndim() != 1 || static_cast<std::size_t>(cuts.shape(0)) != groups + 1)
    throw py::value_error(ids ? "run_groups: cuts must hold one more entry than ids"
                              : "run_groups: cuts must hold one more entry than engines");
  if (ids && ids->ndim() != 1) throw py::value_error("run_groups: ids must be one-dimensional");
  const std::int64_t* id = ids ? ids->data() : nullptr;
  const T* data = static_cast<const T*>(events.data());
  const std::int64_t* cut = cuts.data();
  const auto size = static_cast<std::int64_t>(events.shape(0));
  for (std::size_t i = start; i < groups; ++i) {
    // engines[i], or with ids the engine at the group's id (none there: the caller's group).
    const Py_ssize_t index = id ? static_cast<Py_ssize_t>(id[i]) : static_cast<Py_ssize_t>(i);
    PyObject* item = index >= 0 && index < listed ? PyList_GET_ITEM(engines.ptr(), index) : Py_None;
    if (item == Py_None) return py::make_tuple(i, py::none(), 0);  // the caller's group
    where[0] = static_cast<std::int64_t>(i);  // which group raised, if one does
    if (cut[i] < 0 || cut[i] > cut[i + 1] || cut[i + 1] > size)
      throw py::value_error("run_groups: cuts out of order or out of range");
    auto& box = py::cast<EngineBox&>(py::handle(item));
    box.*slot = events;  // the engine may stop inside the group: keep its events alive
    box.release_except(box.*slot);
    const std::uint64_t loaded_at = box.engine.events_processed();
    std::span<const T> span(data + cut[i], static_cast<std::size_t>(cut[i + 1] - cut[i]));
    if constexpr (std::is_same_v<T, Trade>) box.engine.load(span, {}, {}, {}, {});
    else if constexpr (std::is_same_v<T, Quote>) box.engine.load({}, span, {}, {}, {});
    else if constexpr (std::is_same_v<T, Bar>) box.engine.load({}, {}, span, {}, {});
    else box.engine.load({}, {}, {}, span, {});
    const StopReason reason = box.engine.run();
    if (reason == StopReason::Exhausted && !keep_bars && only_bars(box.engine)) {
      box.engine.mark_drained();  // every symbol closes a bar each interval: unread, they stay here
      continue;
    }
    if (reason != StopReason::Exhausted || has_output(box.engine)) return py::make_tuple(i, reason, loaded_at);
  }
  return py::make_tuple(groups, StopReason::Exhausted, 0);
}

}  // namespace

void register_engine(py::module_& m) {
  py::enum_<Side>(m, "Side").value("BUY", Side::Buy).value("SELL", Side::Sell);
  py::enum_<OrderType>(m, "OrderType")
      .value("MARKET", OrderType::Market)
      .value("LIMIT", OrderType::Limit)
      .value("STOP", OrderType::Stop)
      .value("STOP_LIMIT", OrderType::StopLimit);
  py::enum_<TimeInForce>(m, "TimeInForce")
      .value("DAY", TimeInForce::Day)
      .value("GTC", TimeInForce::Gtc)
      .value("IOC", TimeInForce::Ioc);
  py::enum_<OrderStatus>(m, "OrderStatus")
      .value("SUBMITTED", OrderStatus::Submitted)
      .value("LIVE", OrderStatus::Live)
      .value("PARTIALLY_FILLED", OrderStatus::PartiallyFilled)
      .value("FILLED", OrderStatus::Filled)
      .value("CANCELED", OrderStatus::Canceled)
      .value("REJECTED", OrderStatus::Rejected)
      .value("TRIGGERED", OrderStatus::Triggered);
  py::enum_<Sizing>(m, "Sizing")
      .value("SHARES", Sizing::Shares)
      .value("NOTIONAL", Sizing::Notional)
      .value("PERCENT_EQUITY", Sizing::PercentEquity)
      .value("RISK_PER_TRADE", Sizing::RiskPerTrade)
      .value("CLOSE_POSITION", Sizing::ClosePosition);
  py::enum_<Trigger>(m, "Trigger")
      .value("BAR", Trigger::Bar)
      .value("QUOTE", Trigger::Quote)
      .value("TRADE", Trigger::Trade)
      .value("FILL", Trigger::Fill)
      .value("ORDER_UPDATE", Trigger::OrderUpdate)
      .value("CLOCK", Trigger::Clock)
      .value("RESUME", Trigger::Resume);
  py::enum_<StopReason>(m, "StopReason")
      .value("EXHAUSTED", StopReason::Exhausted)
      .value("INTENT", StopReason::Intent)
      .value("FILL", StopReason::Fill)
      .value("TRANSITION", StopReason::Transition)
      .value("BAR", StopReason::Bar);
  py::enum_<OrderReason>(m, "OrderReason", "Why an order update happened (OrderUpdate.reason).")
      .value("NONE", kReasonNone)
      .value("USER_CANCEL", kReasonUserCancel)
      .value("IOC_REMAINDER", kReasonIocRemainder)
      .value("INVALID_ORDER", kReasonInvalidOrder)
      .value("UNKNOWN_ORDER", kReasonUnknownOrder)
      .value("DUPLICATE_ID", kReasonDuplicateId)
      .value("REFUSED", kReasonRefused);

  // Event objects handed to Python strategies: read-only fields as CPython descriptors, since a
  // Python strategy reads a few of them on every event.
  py::class_<Bar> bar(m, "Bar");
  add_fast_field<&Bar::ts_event>(bar, "ts_event");
  add_fast_field<&Bar::ts_end>(bar, "ts_end");
  add_fast_field<&Bar::open>(bar, "open");
  add_fast_field<&Bar::high>(bar, "high");
  add_fast_field<&Bar::low>(bar, "low");
  add_fast_field<&Bar::close>(bar, "close");
  add_fast_field<&Bar::volume>(bar, "volume");
  add_fast_field<&Bar::vwap>(bar, "vwap");
  add_fast_field<&Bar::trade_count>(bar, "trade_count");
  add_fast_field<&Bar::session>(bar, "session");
  py::class_<Quote> quote(m, "Quote");
  add_fast_field<&Quote::ts_event>(quote, "ts_event");
  add_fast_field<&Quote::bid_price>(quote, "bid_price");
  add_fast_field<&Quote::ask_price>(quote, "ask_price");
  add_fast_field<&Quote::bid_size>(quote, "bid_size");
  add_fast_field<&Quote::ask_size>(quote, "ask_size");
  py::class_<Trade> trade(m, "Trade");
  add_fast_field<&Trade::ts_event>(trade, "ts_event");
  add_fast_field<&Trade::price>(trade, "price");
  add_fast_field<&Trade::size>(trade, "size");
  add_fast_field<&Trade::conditions>(trade, "conditions");
  py::class_<Fill> fill(m, "Fill");
  add_fast_field<&Fill::ts_event>(fill, "ts_event");
  add_fast_field<&Fill::order_id>(fill, "order_id");
  add_fast_field<&Fill::price>(fill, "price");
  add_fast_field<&Fill::quantity>(fill, "quantity");
  add_fast_field<&Fill::commission>(fill, "commission");
  add_fast_field<&Fill::leaves_quantity>(fill, "leaves_quantity");
  add_fast_field<&Fill::side>(fill, "side");
  py::class_<OrderUpdate> update(m, "OrderUpdate");
  add_fast_field<&OrderUpdate::ts_event>(update, "ts_event");
  add_fast_field<&OrderUpdate::order_id>(update, "order_id");
  add_fast_field<&OrderUpdate::filled_quantity>(update, "filled_quantity");
  add_fast_field<&OrderUpdate::leaves_quantity>(update, "leaves_quantity");
  add_fast_field<&OrderUpdate::status>(update, "status");
  add_fast_field<&OrderUpdate::reason>(update, "reason");

  py::class_<RuleInfo>(m, "RuleInfo")
      .def(py::init([](std::string name, std::uint8_t from, std::uint8_t to, Trigger trigger) {
             return RuleInfo{std::move(name), from, to, trigger};
           }),
           py::arg("name"), py::arg("from_state"), py::arg("to_state"), py::arg("trigger"))
      .def_readonly("name", &RuleInfo::name)
      .def_readonly("from_state", &RuleInfo::from)
      .def_readonly("to_state", &RuleInfo::to)
      .def_readonly("trigger", &RuleInfo::trigger);

  py::class_<Adoption>(m, "Adoption", "A position restored by a resume, offered to a strategy's on_adopt.")
      .def_readonly("quantity", &Adoption::quantity)
      .def_readonly("average_price", &Adoption::average_price)
      .def_readonly("entry_ts", &Adoption::entry_ts)
      .def_readonly("now", &Adoption::now)
      .def_readonly("stop_price", &Adoption::stop_price)
      .def_readonly("highest", &Adoption::highest)
      .def_readonly("exit_pending", &Adoption::exit_pending)
      .def_readonly("entry_pending", &Adoption::entry_pending);
  py::class_<AdoptResult>(m, "AdoptResult", "Whether a strategy took a restored position over, and why.")
      .def(py::init([](bool adopted, std::string reason) { return AdoptResult{adopted, std::move(reason)}; }),
           py::arg("adopted"), py::arg("reason"))
      .def_readonly("adopted", &AdoptResult::adopted)
      .def_readonly("reason", &AdoptResult::reason);

  py::class_<Strategy, PyStrategy, py::smart_holder>(m, "Strategy")
      .def(py::init<std::string, std::vector<std::string>, std::vector<RuleInfo>, std::vector<std::string>>(),
           py::arg("name"), py::arg("states"), py::arg("rules"), py::arg("value_names"))
      .def_property_readonly("name", &Strategy::name)
      .def_property_readonly("state_names", &Strategy::states)
      .def_property_readonly("rules", &Strategy::rules)
      .def_property_readonly("value_names", &Strategy::value_names)
      .def_property_readonly("state", &Strategy::state)
      .def_property_readonly("strategy_id", &Strategy::strategy_id)
      .def_property_readonly("instrument_id", &Strategy::instrument_id)
      .def_property_readonly("position", &Strategy::position)
      .def_property_readonly("is_ready", &Strategy::ready)
      .def("rule_id", &Strategy::rule_id)
      .def("value_id", &Strategy::value_id)
      .def(
          "_fire",
          [](Strategy& self, std::uint16_t rule, std::int64_t ts, const std::vector<std::uint16_t>& names,
             const std::vector<double>& values) {
            auto* py_self = dynamic_cast<PyStrategy*>(&self);
            if (py_self == nullptr || py_self->current() == nullptr)
              throw ConfigError("a transition can only fire inside an event handler");
            Snapshot seen;
            for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) seen.add(names[i], values[i]);
            return self.fire(rule, ts, seen, *py_self->current());
          })
      .def(
          "_emit",
          [](Strategy& self, std::int64_t ts, Side side, double quantity, Sizing sizing, OrderType type,
             double limit_price, double stop_price, double reference_price) {
            auto* py_self = dynamic_cast<PyStrategy*>(&self);
            if (py_self == nullptr || py_self->current() == nullptr)
              throw ConfigError("an intent can only be emitted inside an event handler");
            TradeIntent intent{};
            intent.ts_event = ts;
            intent.side = side;
            intent.quantity = quantity;
            intent.sizing = sizing;
            intent.order_type = type;
            intent.limit_price = limit_price;
            intent.stop_price = stop_price;
            intent.reference_price = reference_price;
            self.emit(intent, *py_self->current());
          });

  py::class_<strategies::EmaCrossParams>(m, "EmaCrossParams")
      .def(py::init([](int fast, int slow, double quantity) {
             return strategies::EmaCrossParams{fast, slow, quantity};
           }),
           py::kw_only(), py::arg("fast") = 10, py::arg("slow") = 30, py::arg("quantity") = 100.0)
      .def_readwrite("fast", &strategies::EmaCrossParams::fast)
      .def_readwrite("slow", &strategies::EmaCrossParams::slow)
      .def_readwrite("quantity", &strategies::EmaCrossParams::quantity);
  py::class_<strategies::EmaCross, Strategy, py::smart_holder>(m, "EmaCross")
      .def(py::init<const strategies::EmaCrossParams&>(), py::arg("params") = strategies::EmaCrossParams{})
      .def_property_readonly("fast", &strategies::EmaCross::fast)
      .def_property_readonly("slow", &strategies::EmaCross::slow);

  py::class_<FillModel>(m, "FillModel")
      .def(py::init<>())
      .def_readwrite("submit_latency_ns", &FillModel::submit_latency_ns)
      .def_readwrite("cancel_latency_ns", &FillModel::cancel_latency_ns)
      .def_readwrite("slippage", &FillModel::slippage)
      .def_readwrite("limit_needs_trade_through", &FillModel::limit_needs_trade_through)
      .def_readwrite("partial_fills", &FillModel::partial_fills)
      .def_readwrite("commission_per_share", &FillModel::commission_per_share)
      .def_readwrite("commission_minimum", &FillModel::commission_minimum);

  // The fill simulator on its own, for the paper broker and the simulator's trading endpoints.
  using Fills = std::pair<std::vector<Fill>, std::vector<OrderUpdate>>;
  auto result = [](Fills&& f) { return py::make_tuple(to_array(std::move(f.first)), to_array(std::move(f.second))); };
  py::class_<FillSimulator>(m, "FillSimulator")
      .def(py::init<const FillModel&>(), py::arg("model") = FillModel{})
      .def(
          "submit",
          [result](FillSimulator& self, std::uint64_t order_id, std::int64_t ts, int side, int type, double quantity,
                   double limit_price, double stop_price, int time_in_force, std::uint32_t instrument_id) {
            Fills f;
            self.submit(Order{order_id, ts, quantity, limit_price, stop_price, instrument_id, static_cast<Side>(side),
                              static_cast<OrderType>(type), static_cast<TimeInForce>(time_in_force)},
                        f.second);
            self.on_clock(ts, f.first, f.second);  // marketable now: fill against the current book
            return result(std::move(f));
          },
          py::kw_only(), py::arg("order_id"), py::arg("ts"), py::arg("side"), py::arg("type"), py::arg("quantity"),
          py::arg("limit_price") = 0.0, py::arg("stop_price") = 0.0, py::arg("time_in_force") = 0,
          py::arg("instrument_id") = 0, "Submit an order; return (fills, updates) as arrays.")
      .def(
          "cancel",
          [result](FillSimulator& self, std::uint64_t order_id, std::int64_t ts) {
            Fills f;
            self.cancel(order_id, ts, f.second);
            self.on_clock(ts, f.first, f.second);
            return result(std::move(f));
          },
          py::arg("order_id"), py::arg("ts"))
      .def(
          "on_quotes",
          [result](FillSimulator& self, const py::array_t<Quote, py::array::c_style>& quotes) {
            Fills f;
            for (const Quote& q : as_span(quotes)) self.on_quote(q, f.first, f.second);
            return result(std::move(f));
          },
          py::arg("quotes").noconvert(), "Feed QUOTE rows; return (fills, updates).")
      .def(
          "on_trades",
          [result](FillSimulator& self, const py::array_t<Trade, py::array::c_style>& trades) {
            Fills f;
            for (const Trade& t : as_span(trades)) self.on_trade(t, f.first, f.second);
            return result(std::move(f));
          },
          py::arg("trades").noconvert(), "Feed TRADE rows; return (fills, updates).")
      .def(
          "on_statuses",
          [result](FillSimulator& self, const py::array_t<Status, py::array::c_style>& statuses) {
            Fills f;
            for (const Status& st : as_span(statuses)) self.on_status(st, f.first, f.second);
            return result(std::move(f));
          },
          py::arg("statuses").noconvert(), "Feed STATUS rows; return (fills, updates).")
      .def(
          "on_clock",
          [result](FillSimulator& self, std::int64_t now) {
            Fills f;
            self.on_clock(now, f.first, f.second);
            return result(std::move(f));
          },
          py::arg("now"))
      .def_property_readonly("halted", &FillSimulator::halted)
      .def_property_readonly("open_orders", &FillSimulator::open_orders)
      .def("reset", &FillSimulator::reset);

  py::class_<EngineConfig>(m, "EngineConfig")
      .def(py::init<>())
      .def_readwrite("instrument_id", &EngineConfig::instrument_id)
      .def_readwrite("aggregate_trades", &EngineConfig::aggregate_trades)
      .def_readwrite("bars", &EngineConfig::bars)
      .def_readwrite("simulate_fills", &EngineConfig::simulate_fills)
      .def_readwrite("fill_model", &EngineConfig::fill_model)
      .def_readwrite("last_price_as_book", &EngineConfig::last_price_as_book)
      .def_readwrite("stop_on_transition", &EngineConfig::stop_on_transition)
      .def_readwrite("stop_on_bar", &EngineConfig::stop_on_bar);

  py::class_<EngineBox>(m, "SymbolEngine")
      .def(py::init<const EngineConfig&>(), py::arg("config"))
      .def(
          "add_strategy",
          [](EngineBox& self, std::shared_ptr<Strategy> strategy) {
            self.python_strategies |= dynamic_cast<PyStrategy*>(strategy.get()) != nullptr;
            return self.engine.add_strategy(std::move(strategy));
          },
          py::arg("strategy"))
      .def_property_readonly("strategies", [](const EngineBox& self) { return self.engine.strategies(); })
      .def(
          "warm_up",
          [](EngineBox& self, const py::array_t<Bar, py::array::c_style>& bars) { self.engine.warm_up(as_span(bars)); },
          py::arg("bars").noconvert())
      .def_property_readonly("ready", [](const EngineBox& self) { return self.engine.ready(); })
      .def(
          "load",
          [](EngineBox& self, py::object trades, py::object quotes, py::object bars, py::object statuses,
             py::object clock) {
            auto t = optional_span<Trade>(self.trades, trades);
            auto q = optional_span<Quote>(self.quotes, quotes);
            auto b = optional_span<Bar>(self.bars, bars);
            auto s = optional_span<Status>(self.statuses, statuses);
            auto c = optional_span<std::int64_t>(self.clock, clock);
            self.engine.load(t, q, b, s, c);
          },
          py::kw_only(), py::arg("trades") = py::none(), py::arg("quotes") = py::none(),
          py::arg("bars") = py::none(), py::arg("statuses") = py::none(), py::arg("clock") = py::none())
      // One kind of event per call: what a live batch is (no keyword parsing, no None checks).
      .def(
          "load_trades",
          [](EngineBox& self, const py::object& trades) {
            auto t = optional_span<Trade>(self.trades, trades);
            self.release_except(self.trades);
            self.engine.load(t, {}, {}, {}, {});
          },
          py::arg("trades").noconvert())
      .def(
          "load_quotes",
          [](EngineBox& self, const py::object& quotes) {
            auto q = optional_span<Quote>(self.quotes, quotes);
            self.release_except(self.quotes);
            self.engine.load({}, q, {}, {}, {});
          },
          py::arg("quotes").noconvert())
      .def(
          "load_bars",
          [](EngineBox& self, const py::object& bars) {
            auto b = optional_span<Bar>(self.bars, bars);
            self.release_except(self.bars);
            self.engine.load({}, {}, b, {}, {});
          },
          py::arg("bars").noconvert())
      .def(
          "load_statuses",
          [](EngineBox& self, const py::object& statuses) {
            auto s = optional_span<Status>(self.statuses, statuses);
            self.release_except(self.statuses);
            self.engine.load({}, {}, {}, s, {});
          },
          py::arg("statuses").noconvert())
      .def(
          "run",
          [](EngineBox& self) {
            if (self.python_strategies) return self.engine.run();
            // Native strategies only: the loop touches no Python object, and the loaded arrays
            // are kept alive by this box.
            py::gil_scoped_release release;
            return self.engine.run();
          },
          "Process loaded events until an intent, a fill (or an observed transition/bar) needs the "
          "caller, or the events run out.")
      .def_property_readonly("exhausted", [](const EngineBox& self) { return self.engine.exhausted(); })
      .def("drain", &drain, "Take the output produced since the last drain, as arrays.")
      .def_property_readonly(
          "has_output",
          [](const EngineBox& self) { return has_output(self.engine); },
          "Whether drain() has anything to return (cheaper than draining nothing).")
      .def(
          "new_intents",
          [](const EngineBox& self) {
            auto span = self.engine.new_intents();
            return to_array(std::vector<TradeIntent>(span.begin(), span.end()));
          },
          "The intents that stopped the last run() (a copy; they also stay in the output).")
      .def(
          "submit",
          [](EngineBox& self, std::uint64_t order_id, std::int64_t ts, int side, int type, double quantity,
             double limit_price, double stop_price, int time_in_force, std::uint16_t strategy_id) {
            // Enums arrive as ints (tradecore.schema's IntEnums or the raw intent fields).
            const Order order{order_id, ts, quantity, limit_price, stop_price, self.engine.config().instrument_id,
                              static_cast<Side>(side), static_cast<OrderType>(type),
                              static_cast<TimeInForce>(time_in_force)};
            self.engine.submit(order, strategy_id);
          },
          py::kw_only(), py::arg("order_id"), py::arg("ts"), py::arg("side"), py::arg("type"), py::arg("quantity"),
          py::arg("limit_price") = 0.0, py::arg("stop_price") = 0.0, py::arg("time_in_force") = 0,
          py::arg("strategy_id"))
      .def(
          "cancel", [](EngineBox& self, std::uint64_t order_id, std::int64_t ts) { self.engine.cancel(order_id, ts); },
          py::arg("order_id"), py::arg("ts"))
      .def(
          "on_clock", [](EngineBox& self, std::int64_t now) { return self.engine.on_clock(now); }, py::arg("now"))
      .def(
          "on_external_fill",
          [](EngineBox& self, std::int64_t ts, std::uint64_t order_id, int side, double price, double quantity,
             double leaves, double commission) {
            return self.engine.on_external_fill(Fill{ts, order_id, price, quantity, commission, leaves,
                                                     self.engine.config().instrument_id, static_cast<Side>(side), 0});
          },
          py::kw_only(), py::arg("ts"), py::arg("order_id"), py::arg("side"), py::arg("price"), py::arg("quantity"),
          py::arg("leaves_quantity"), py::arg("commission") = 0.0)
      .def(
          "on_external_update",
          [](EngineBox& self, std::int64_t ts, std::uint64_t order_id, int status, double filled, double leaves,
             int reason) {
            return self.engine.on_external_update(OrderUpdate{ts, order_id, filled, leaves,
                                                              self.engine.config().instrument_id,
                                                              static_cast<OrderStatus>(status),
                                                              static_cast<std::uint8_t>(reason)});
          },
          py::kw_only(), py::arg("ts"), py::arg("order_id"), py::arg("status"), py::arg("filled_quantity"),
          py::arg("leaves_quantity"), py::arg("reason") = 0)
      .def(
          "adopt",
          [](EngineBox& self, std::uint16_t strategy_id, double quantity, double average_price, std::int64_t entry_ts,
             std::int64_t now, double stop_price, double highest, bool exit_pending, bool entry_pending) {
            return self.engine.adopt(strategy_id, Adoption{quantity, average_price, entry_ts, now, stop_price, highest,
                                                           exit_pending, entry_pending});
          },
          py::kw_only(), py::arg("strategy_id"), py::arg("quantity"), py::arg("average_price"), py::arg("entry_ts"),
          py::arg("now"), py::arg("stop_price") = 0.0, py::arg("highest") = 0.0, py::arg("exit_pending") = false,
          py::arg("entry_pending") = false,
          "Offer a position restored by a resume to a strategy; its Resume transition is in the output.")
      .def("assign_order", [](EngineBox& self, std::uint64_t order_id, std::uint16_t strategy_id) {
             self.engine.assign_order(order_id, strategy_id);
           }, py::arg("order_id"), py::arg("strategy_id"),
           "Let fills of an externally placed order reach the strategy that asked for it.")
      .def_property_readonly("now", [](const EngineBox& self) { return self.engine.now(); })
      .def_property_readonly("last_price", [](const EngineBox& self) { return self.engine.last_price(); },
                             "The last trade price the engine saw (0 = none yet).")
      .def_property_readonly(
          "book",
          [](const EngineBox& self) -> py::object {
            const FillSimulator* sim = self.engine.fill_simulator();
            if (sim == nullptr) return py::none();
            return py::make_tuple(sim->bid(), sim->ask(), self.engine.last_price());
          },
          "(bid, ask, last trade) as the engine sees them now (0 = not seen); None without a venue.")
      .def_property_readonly("events_processed", [](const EngineBox& self) { return self.engine.events_processed(); })
      .def_property_readonly("faulted", [](const EngineBox& self) { return self.engine.faulted(); })
      .def_property_readonly("fault", [](const EngineBox& self) { return self.engine.fault(); })
      .def_property_readonly("aggregator_stats",
                             [](const EngineBox& self) { return stats_dict(self.engine.aggregator().stats()); });

  m.def(
      "run_groups",
      [](const py::list& engines, int kind, const py::array& events, const Column<std::int64_t>& cuts,
         std::size_t start, Column<std::int64_t> at, bool keep_bars, const std::optional<Column<std::int64_t>>& ids) {
        if (at.ndim() != 1 || at.shape(0) < 1) throw py::value_error("run_groups: `at` must hold one int64");
        switch (kind) {
          case 0: return run_groups_of<Trade>(engines, events, cuts, start, at, keep_bars, ids, &EngineBox::trades);
          case 1: return run_groups_of<Quote>(engines, events, cuts, start, at, keep_bars, ids, &EngineBox::quotes);
          case 2: return run_groups_of<Bar>(engines, events, cuts, start, at, keep_bars, ids, &EngineBox::bars);
          case 3:
            return run_groups_of<Status>(engines, events, cuts, start, at, keep_bars, ids, &EngineBox::statuses);
          default: throw py::value_error("run_groups: kind must be 0 (trades), 1 (quotes), 2 (bars) or 3 (statuses)");
        }
      },
      py::arg("engines"), py::arg("kind"), py::arg("events"), py::arg("cuts"), py::arg("start"),
      py::arg("at").noconvert(),  // written into: the caller's own array, never a converted copy
      py::arg("keep_bars") = true, py::arg("ids") = py::none(),
      "Run groups ``start``.. of a frame through their engines in order: engines[i] (a SymbolEngine, or None for "
      "a group the caller handles) gets events[cuts[i]:cuts[i+1]]. Stops at the first group whose engine stopped "
      "or has output, or that is None, and returns (i, stop reason or None, the engine's events_processed before "
      "the group); (number of groups, EXHAUSTED, 0) when every group ran. While a group runs, at[0] is its index "
      "(the group that raised, if one does; -1 when the frame's arrays were refused before any group ran). Kinds: "
      "0 trades, 1 quotes, 2 bars, 3 statuses. ``keep_bars=False``: an engine whose output is only closed bars "
      "drops them and goes on (for a caller that reads no bars). ``ids`` (int64, one per group): group i's engine "
      "is engines[ids[i]] instead, None when that is outside the list (a table of engines by instrument id).");
}

}  // namespace tradecore::bindings
