#include "tradecore/symbol_engine.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "tradecore/error.hpp"

namespace tradecore {

namespace {
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

bool terminal(OrderStatus s) {
  return s == OrderStatus::Filled || s == OrderStatus::Canceled || s == OrderStatus::Rejected;
}
}  // namespace

SymbolEngine::SymbolEngine(const EngineConfig& config)
    : config_(config), aggregator_([&] {
        AggregatorConfig c = config.bars;
        c.instrument_id = config.instrument_id;
        return c;
      }()) {
  if (config.simulate_fills) simulator_ = std::make_unique<FillSimulator>(config.fill_model);
}

std::uint16_t SymbolEngine::add_strategy(std::shared_ptr<Strategy> strategy) {
  if (!strategy) throw ConfigError("add_strategy: no strategy");
  if (strategies_.size() >= 65535) throw ConfigError("add_strategy: too many strategies");
  const auto id = static_cast<std::uint16_t>(strategies_.size());
  strategy->attach(id, config_.instrument_id);
  any_wants_quotes_ |= strategy->wants_quotes();
  any_wants_trades_ |= strategy->wants_trades();
  strategies_.push_back(std::move(strategy));
  return id;
}

template <class F>
void SymbolEngine::guarded(const char* what, std::int64_t ts, F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    fault_ = std::string("bad data in ") + what + " at ts_event=" + std::to_string(ts) + ": " + e.what();
    throw DataError(fault_, e.row());
  } catch (const std::exception& e) {
    fault_ = std::string("strategy failed on ") + what + " at ts_event=" + std::to_string(ts) + ": " + e.what();
    throw StrategyError(fault_);
  }
}

void SymbolEngine::warm_up(std::span<const Bar> bars) {
  for (const Bar& b : bars)
    guarded("warm-up bar", b.ts_event, [&] {
      for (auto& s : strategies_) s->warm_up(b);
    });
}

bool SymbolEngine::ready() const {
  return std::all_of(strategies_.begin(), strategies_.end(), [](const auto& s) { return s->ready(); });
}

void SymbolEngine::load(std::span<const Trade> trades, std::span<const Quote> quotes,
                        std::span<const Bar> bars, std::span<const Status> statuses,
                        std::span<const std::int64_t> clock) {
  trades_ = trades, quotes_ = quotes, bars_ = bars, statuses_ = statuses, clock_ = clock;
  ti_ = qi_ = bi_ = si_ = ci_ = 0;
}

bool SymbolEngine::exhausted() const noexcept {
  return ti_ >= trades_.size() && qi_ >= quotes_.size() && bi_ >= bars_.size() &&
         si_ >= statuses_.size() && ci_ >= clock_.size();
}

EngineOutput SymbolEngine::take_output() {
  transitions_drained_ += output_.transitions.size();
  seen_intents_ = seen_fills_ = seen_transitions_ = seen_bars_ = 0;
  return std::exchange(output_, EngineOutput{});
}

void SymbolEngine::mark_seen() {
  seen_intents_ = output_.intents.size();
  seen_fills_ = output_.fills.size();
  seen_transitions_ = output_.transitions.size();
  seen_bars_ = output_.bars.size();
}

void SymbolEngine::collect() {
  if (strategy_out_.transitions.empty() && strategy_out_.intents.empty()) return;
  const std::uint64_t base = transitions_drained_ + output_.transitions.size();
  for (TradeIntent i : strategy_out_.intents) {
    if (i.transition != kNoTransition) i.transition = static_cast<std::uint32_t>(base + i.transition);
    output_.intents.push_back(i);
  }
  output_.transitions.insert(output_.transitions.end(), strategy_out_.transitions.begin(),
                             strategy_out_.transitions.end());
  strategy_out_.clear();
}

StopReason SymbolEngine::stop_reason() const {
  if (output_.intents.size() > seen_intents_) return StopReason::Intent;
  if (output_.fills.size() > seen_fills_) return StopReason::Fill;
  if (config_.stop_on_transition && output_.transitions.size() > seen_transitions_) return StopReason::Transition;
  if (config_.stop_on_bar && output_.bars.size() > seen_bars_) return StopReason::Bar;
  return StopReason::Exhausted;
}

void SymbolEngine::dispatch_bars(std::size_t first) {
  for (std::size_t i = first; i < output_.bars.size(); ++i) {
    const Bar bar = output_.bars[i];  // a copy: strategies may not hold references into the buffer
    for (auto& s : strategies_) s->on_bar(bar, strategy_out_);
  }
}

void SymbolEngine::route_fills(std::size_t first_fill, std::size_t first_update) {
  // Fills first: the simulator reports each execution before the status it leads to (a fill,
  // then PartiallyFilled/Filled; an IOC's fill, then the cancel of its remainder).
  for (std::size_t i = first_fill; i < output_.fills.size(); ++i) {
    const Fill f = output_.fills[i];
    auto owner = order_owner_.find(f.order_id);
    if (owner != order_owner_.end()) strategies_[owner->second]->on_fill(f, strategy_out_);
  }
  for (std::size_t i = first_update; i < output_.updates.size(); ++i) {
    const OrderUpdate u = output_.updates[i];
    auto owner = order_owner_.find(u.order_id);
    if (owner == order_owner_.end()) continue;
    strategies_[owner->second]->on_order_update(u, strategy_out_);
  }
  for (std::size_t i = first_update; i < output_.updates.size(); ++i)
    if (terminal(output_.updates[i].status)) order_owner_.erase(output_.updates[i].order_id);
}

template <class F>
void SymbolEngine::simulate(F&& feed) {
  const std::size_t f0 = output_.fills.size(), u0 = output_.updates.size();
  feed(*simulator_);
  if (output_.fills.size() != f0 || output_.updates.size() != u0) route_fills(f0, u0);
}

void SymbolEngine::process_trade(const Trade& t) {
  if (t.price > 0.0) last_price_ = t.price;
  if (config_.aggregate_trades) {
    const std::size_t b0 = output_.bars.size();
    aggregator_.update(t, output_.bars);
    if (output_.bars.size() != b0) dispatch_bars(b0);
  }
  if (simulator_) {
    simulate([&](FillSimulator& sim) {
      if (config_.last_price_as_book && !seen_quote_ && t.price > 0.0) {
        const Quote book{t.ts_event, t.price, t.price, t.size, t.size, 0, config_.instrument_id, 0, 0, 0};
        sim.on_quote(book, output_.fills, output_.updates);
      }
      sim.on_trade(t, output_.fills, output_.updates);
    });
  }
  if (any_wants_trades_)
    for (auto& s : strategies_)
      if (s->wants_trades()) s->on_trade(t, strategy_out_);
}

void SymbolEngine::process_quote(const Quote& q) {
  seen_quote_ = true;
  if (simulator_) simulate([&](FillSimulator& sim) { sim.on_quote(q, output_.fills, output_.updates); });
  if (any_wants_quotes_)
    for (auto& s : strategies_)
      if (s->wants_quotes()) s->on_quote(q, strategy_out_);
}

void SymbolEngine::process_bar(const Bar& b) {
  if (simulator_ && config_.last_price_as_book && !seen_quote_) {
    const Quote book{b.ts_end, b.close, b.close, b.volume, b.volume, 0, config_.instrument_id, 0, 0, 0};
    simulate([&](FillSimulator& sim) { sim.on_quote(book, output_.fills, output_.updates); });
  }
  for (auto& s : strategies_) s->on_bar(b, strategy_out_);
}

void SymbolEngine::process_status(const Status& st) {
  if (simulator_) simulate([&](FillSimulator& sim) { sim.on_status(st, output_.fills, output_.updates); });
}

void SymbolEngine::process_clock(std::int64_t now) {
  if (config_.aggregate_trades) {
    const std::size_t b0 = output_.bars.size();
    aggregator_.on_clock(now, output_.bars);
    if (output_.bars.size() != b0) dispatch_bars(b0);
  }
  if (simulator_) simulate([&](FillSimulator& sim) { sim.on_clock(now, output_.fills, output_.updates); });
  for (auto& s : strategies_) s->on_clock(now, strategy_out_);
}

StopReason SymbolEngine::run() {
  if (faulted()) throw Error("engine stopped after a fault: " + fault_);
  mark_seen();  // what the caller was handed by earlier stops (and its own orders' fills) is seen
  while (true) {
    const std::int64_t ts = si_ < statuses_.size() ? statuses_[si_].ts_event : kNever;
    const std::int64_t tq = qi_ < quotes_.size() ? quotes_[qi_].ts_event : kNever;
    const std::int64_t tt = ti_ < trades_.size() ? trades_[ti_].ts_event : kNever;
    const std::int64_t tb = bi_ < bars_.size() ? bars_[bi_].ts_end : kNever;
    const std::int64_t tc = ci_ < clock_.size() ? clock_[ci_] : kNever;
    const std::int64_t t = std::min({ts, tq, tt, tb, tc});
    if (t == kNever) return StopReason::Exhausted;
    now_ = std::max(now_, t);
    ++processed_;  // counted even if it faults: it is consumed either way
    // Ties: status, quote, trade, bar, clock (the book and halts before prints, prints before
    // the bars they complete).
    if (ts == t) {
      const Status& s = statuses_[si_++];
      guarded("status", t, [&] { process_status(s); });
    } else if (tq == t) {
      const Quote& q = quotes_[qi_++];
      guarded("quote", t, [&] { process_quote(q); });
    } else if (tt == t) {
      const Trade& tr = trades_[ti_++];
      guarded("trade", t, [&] { process_trade(tr); });
    } else if (tb == t) {
      const Bar& b = bars_[bi_++];
      guarded("bar", t, [&] { process_bar(b); });
    } else {
      ++ci_;
      guarded("clock", t, [&] { process_clock(t); });
    }
    collect();
    if (StopReason r = stop_reason(); r != StopReason::Exhausted) return r;
  }
}

StopReason SymbolEngine::on_clock(std::int64_t now) {
  if (faulted()) throw Error("engine stopped after a fault: " + fault_);
  mark_seen();
  now_ = std::max(now_, now);
  guarded("clock", now, [&] { process_clock(now); });
  collect();
  return stop_reason();
}

void SymbolEngine::submit(const Order& order, std::uint16_t strategy_id) {
  if (!simulator_) throw ConfigError("submit: this engine has no fill simulator (simulate_fills=false)");
  if (strategy_id >= strategies_.size()) throw ConfigError("submit: unknown strategy id");
  order_owner_[order.order_id] = strategy_id;
  const std::size_t f0 = output_.fills.size(), u0 = output_.updates.size();
  simulator_->submit(order, output_.updates);
  simulator_->on_clock(std::max(now_, order.ts_submit), output_.fills, output_.updates);
  guarded("order", order.ts_submit, [&] { route_fills(f0, u0); });
  collect();
}

void SymbolEngine::cancel(std::uint64_t order_id, std::int64_t ts) {
  if (!simulator_) throw ConfigError("cancel: this engine has no fill simulator");
  const std::size_t u0 = output_.updates.size();
  simulator_->cancel(order_id, ts, output_.updates);
  guarded("cancel", ts, [&] { route_fills(output_.fills.size(), u0); });
  collect();
}

AdoptResult SymbolEngine::adopt(std::uint16_t strategy_id, const Adoption& position) {
  if (faulted()) throw Error("engine stopped after a fault: " + fault_);
  if (strategy_id >= strategies_.size()) throw ConfigError("adopt: unknown strategy id");
  mark_seen();
  // Not guarded: bad numbers are refused before anything changes, so the engine runs on.
  AdoptResult result = strategies_[strategy_id]->adopt(position, strategy_out_);
  collect();
  return result;
}

void SymbolEngine::assign_order(std::uint64_t order_id, std::uint16_t strategy_id) {
  if (strategy_id >= strategies_.size()) throw ConfigError("assign_order: unknown strategy id");
  order_owner_[order_id] = strategy_id;
}

StopReason SymbolEngine::on_external_fill(const Fill& fill) {
  if (faulted()) throw Error("engine stopped after a fault: " + fault_);
  mark_seen();
  now_ = std::max(now_, fill.ts_event);
  output_.fills.push_back(fill);
  seen_fills_ = output_.fills.size();  // the caller knows about its own fill
  guarded("fill", fill.ts_event, [&] { route_fills(output_.fills.size() - 1, output_.updates.size()); });
  collect();
  return stop_reason();
}

StopReason SymbolEngine::on_external_update(const OrderUpdate& update) {
  if (faulted()) throw Error("engine stopped after a fault: " + fault_);
  mark_seen();
  output_.updates.push_back(update);
  guarded("order update", update.ts_event, [&] { route_fills(output_.fills.size(), output_.updates.size() - 1); });
  collect();
  return stop_reason();
}

}  // namespace tradecore
