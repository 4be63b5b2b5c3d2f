#include "tradecore/strategies/premarket_momentum.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "tradecore/calendar.hpp"

namespace tradecore::strategies {

namespace {
using S = PremarketMomentum;

std::vector<RuleInfo> rule_table() {
  return {{"arm", S::kFlat, S::kArmed, Trigger::Bar},
          {"disarm", S::kArmed, S::kFlat, Trigger::Bar},
          {"break_premarket_high", S::kArmed, S::kPendingEntry, Trigger::Bar},
          {"reclaim_vwap", S::kArmed, S::kPendingEntry, Trigger::Bar},
          {"entry_filled", S::kPendingEntry, S::kLong, Trigger::Fill},
          {"entry_canceled", S::kPendingEntry, S::kFlat, Trigger::OrderUpdate},
          {"stop_hit", S::kLong, S::kPendingExit, Trigger::Bar},
          {"target_hit", S::kLong, S::kPendingExit, Trigger::Bar},
          {"trailing_stop_hit", S::kLong, S::kPendingExit, Trigger::Bar},
          {"vwap_lost", S::kLong, S::kPendingExit, Trigger::Bar},
          {"time_stop", S::kLong, S::kPendingExit, Trigger::Clock},
          {"exit_filled", S::kPendingExit, S::kFlat, Trigger::Fill},
          {"exit_filled_at_loss", S::kPendingExit, S::kCooldown, Trigger::Fill},
          {"exit_canceled", S::kPendingExit, S::kLong, Trigger::OrderUpdate},
          {"cooldown_over", S::kCooldown, S::kFlat, Trigger::Clock},
          {"adopted", S::kFlat, S::kLong, Trigger::Resume},
          {"adopted_exit_pending", S::kFlat, S::kPendingExit, Trigger::Resume},
          {"adopted_entry_pending", S::kFlat, S::kPendingEntry, Trigger::Resume},
          {"exit_incomplete", S::kPendingExit, S::kLong, Trigger::Fill}};
}

std::vector<std::string> value_table() {
  return {"close",    "high",       "low",          "premarket_high", "vwap",       "prev_close",
          "prev_vwap", "gap_pct",   "rvol",         "spread",         "stop",       "target",
          "trail_stop", "highest",  "minutes_in_trade", "time_of_day", "position", "fill_price",
          "entry_price", "pnl",     "filled_quantity", "minutes_since_exit"};
}

double minutes(std::int64_t ns) { return static_cast<double>(ns) / static_cast<double>(calendar::kMinute); }

PremarketMomentumParams validated(const PremarketMomentumParams& p) {
  auto fail = [](const std::string& m) { throw ConfigError("premarket_momentum: " + m); };
  if (!(p.prior_close > 0) || !std::isfinite(p.prior_close)) fail("prior_close must be a positive price");
  if (!std::isfinite(p.min_gap_percent)) fail("min_gap_percent must be finite");
  if (!(p.min_relative_volume >= 0) || !std::isfinite(p.min_relative_volume))
    fail("min_relative_volume must be >= 0");
  if (p.relative_volume_sessions < 1) fail("relative_volume_sessions must be >= 1");
  if (!(p.max_spread >= 0) || !std::isfinite(p.max_spread)) fail("max_spread must be >= 0 dollars");
  if (p.pullback_bars < 1) fail("pullback_bars must be >= 1");
  if (p.stop_mode == StopMode::FixedPercent && !(p.stop_percent > 0 && p.stop_percent < 100))
    fail("stop_percent must be in (0, 100)");
  if (!(p.target_percent >= 0) || !std::isfinite(p.target_percent)) fail("target_percent must be >= 0");
  if (!(p.trailing_stop_percent >= 0 && p.trailing_stop_percent < 100))
    fail("trailing_stop_percent must be in [0, 100)");
  if (p.max_minutes_in_trade < 0) fail("max_minutes_in_trade must be >= 0");
  if (p.entry_until_minutes < 0 || p.entry_until_minutes > 1440) fail("entry_until_minutes must be in [0, 1440]");
  if (p.flat_by_minutes < 0 || p.flat_by_minutes > 1440) fail("flat_by_minutes must be in [0, 1440]");
  if (p.cooldown_minutes < 0) fail("cooldown_minutes must be >= 0");
  if (p.sizing == Sizing::ClosePosition) fail("sizing ClosePosition is for exits");
  if (!(p.quantity > 0) || !std::isfinite(p.quantity)) fail("quantity must be positive");
  if (!(p.limit_offset >= 0) || !std::isfinite(p.limit_offset)) fail("limit_offset must be >= 0 dollars");
  return p;
}
}  // namespace

PremarketMomentum::PremarketMomentum(const PremarketMomentumParams& params)
    : Strategy("premarket_momentum", {"FLAT", "ARMED", "PENDING_ENTRY", "LONG", "PENDING_EXIT", "COOLDOWN"},
               rule_table(), value_table()),
      params_(validated(params)),
      vwap_(indicators::VWAPAnchor::Day, 2.0),
      rvol_(params.relative_volume_sessions, calendar::kMinute, /*cumulative=*/true),
      pullback_low_(params.pullback_bars) {}

void PremarketMomentum::reset() {
  Strategy::reset();
  vwap_.reset();
  rvol_.reset();
  pullback_low_.reset();
  day_ = INT64_MIN;
  premarket_high_ = prev_close_ = prev_vwap_ = 0.0;
  has_premarket_high_ = has_prev_ = has_quote_ = false;
  bid_ = ask_ = 0.0;
  stop_ = target_ = highest_ = 0.0;
  entry_cost_ = entry_shares_ = exit_value_ = exit_shares_ = 0.0;
  entry_ts_ = exit_ts_ = 0;
  last_close_ = 0.0;
}

double PremarketMomentum::relative_volume() const {
  if (!rvol_.initialized() || !(rvol_.average() > 0)) return 0.0;
  return rvol_.value();
}

void PremarketMomentum::update_indicators(const Bar& bar) {
  // Validate everything first so a bad bar leaves every indicator as it was.
  require_finite("high", bar.high, bar.ts_end);
  require_finite("low", bar.low, bar.ts_end);
  require_finite("close", bar.close, bar.ts_end);
  require_finite("vwap", bar.vwap, bar.ts_end);
  require_finite("volume", bar.volume, bar.ts_end);
  const std::int64_t day = calendar::local_day(bar.ts_event);
  if (day != day_) {
    day_ = day;
    has_premarket_high_ = false;
  }
  has_prev_ = vwap_.initialized() && last_close_ > 0;
  prev_close_ = last_close_;
  prev_vwap_ = vwap_.value();
  vwap_.update(bar.ts_event, bar.volume > 0 ? bar.vwap : bar.close, bar.volume);
  rvol_.update(bar.ts_event, bar.volume);
  pullback_low_.update(bar.low);
  last_close_ = bar.close;
}

void PremarketMomentum::fold_premarket_high(const Bar& bar) {
  if (calendar::session_of(bar.ts_event) != Session::Premarket) return;
  premarket_high_ = has_premarket_high_ ? std::max(premarket_high_, bar.high) : bar.high;
  has_premarket_high_ = true;
}

void PremarketMomentum::warm_up(const Bar& bar) {
  update_indicators(bar);
  fold_premarket_high(bar);
}

void PremarketMomentum::on_quote(const Quote& quote, StrategyOutput&) {
  require_finite("bid_price", quote.bid_price, quote.ts_event);
  require_finite("ask_price", quote.ask_price, quote.ts_event);
  // One-sided or crossed books tell us nothing about the spread; keep the last good one.
  if (quote.bid_price <= 0 || quote.ask_price <= 0 || quote.ask_price < quote.bid_price) return;
  bid_ = quote.bid_price;
  ask_ = quote.ask_price;
  has_quote_ = true;
}

void PremarketMomentum::on_bar(const Bar& bar, StrategyOutput& out) {
  update_indicators(bar);
  // The premarket high a close has to break is that of the earlier bars: fold this bar in last.
  const double high_before = premarket_high_;
  const bool had_high = has_premarket_high_;
  fold_premarket_high(bar);

  const std::int64_t ts = bar.ts_end;
  const double gap = 100.0 * (bar.close / params_.prior_close - 1.0);
  const double rvol = relative_volume();
  const double tod = minutes(calendar::time_of_day(ts));
  const bool rvol_ok = params_.min_relative_volume <= 0 || (rvol > 0 && rvol >= params_.min_relative_volume);
  Snapshot seen;

  switch (state_) {
    case kFlat:
      if (gap >= params_.min_gap_percent && rvol_ok && tod < params_.entry_until_minutes) {
        seen.add(kClose, bar.close), seen.add(kGapPercent, gap), seen.add(kRelativeVolume, rvol);
        seen.add(kTimeOfDay, tod);
        fire(kArm, ts, seen, out);
      }
      break;
    case kArmed: {
      if (gap < params_.min_gap_percent || tod >= params_.entry_until_minutes) {
        seen.add(kClose, bar.close), seen.add(kGapPercent, gap), seen.add(kRelativeVolume, rvol);
        seen.add(kTimeOfDay, tod);
        fire(kDisarm, ts, seen, out);
        break;
      }
      if (!spread_ok()) break;
      const double stop = params_.stop_mode == StopMode::PullbackLow
                              ? pullback_low_.value()
                              : bar.close * (1.0 - params_.stop_percent / 100.0);
      if (!(stop < bar.close)) break;  // no room for a stop: no defined risk, no trade
      if (params_.entry_mode == EntryMode::PremarketHighBreak) {
        if (!had_high || !(bar.close > high_before)) break;
        seen.add(kClose, bar.close), seen.add(kPremarketHigh, high_before), seen.add(kSpread, recorded_spread());
        seen.add(kGapPercent, gap), seen.add(kRelativeVolume, rvol), seen.add(kStop, stop);
        enter(bar, kBreakPremarketHigh, stop, seen, out);
      } else {
        if (!has_prev_ || !(prev_close_ <= prev_vwap_) || !(bar.close > vwap_.value())) break;
        seen.add(kClose, bar.close), seen.add(kVwap, vwap_.value()), seen.add(kPrevClose, prev_close_);
        seen.add(kPrevVwap, prev_vwap_), seen.add(kSpread, recorded_spread()), seen.add(kStop, stop);
        enter(bar, kReclaimVwap, stop, seen, out);
      }
      break;
    }
    case kLong: {
      if (entry_shares_ > 0 && params_.target_percent > 0) target_ = target_of_entry();
      highest_ = std::max(highest_, bar.high);
      const double trail = highest_ * (1.0 - params_.trailing_stop_percent / 100.0);
      if (bar.low <= stop_) {
        seen.add(kLow, bar.low), seen.add(kStop, stop_), seen.add(kClose, bar.close), seen.add(kPosition, position());
        exit(kStopHit, ts, bar.close, seen, out);
      } else if (params_.target_percent > 0 && target_ > 0 && bar.high >= target_) {
        seen.add(kHigh, bar.high), seen.add(kTarget, target_), seen.add(kClose, bar.close);
        seen.add(kPosition, position());
        exit(kTargetHit, ts, bar.close, seen, out);
      } else if (params_.trailing_stop_percent > 0 && bar.close <= trail) {
        seen.add(kClose, bar.close), seen.add(kHighest, highest_), seen.add(kTrailStop, trail);
        seen.add(kPosition, position());
        exit(kTrailingStopHit, ts, bar.close, seen, out);
      } else if (params_.exit_on_vwap_loss && bar.close < vwap_.value()) {
        seen.add(kClose, bar.close), seen.add(kVwap, vwap_.value()), seen.add(kPosition, position());
        exit(kVwapLost, ts, bar.close, seen, out);
      } else {
        check_clock(ts, bar.close, out);
      }
      break;
    }
    case kCooldown:
      check_clock(ts, bar.close, out);
      break;
    default:
      break;
  }
}

void PremarketMomentum::enter(const Bar& bar, Rule rule, double stop, const Snapshot& seen, StrategyOutput& out) {
  fire(rule, bar.ts_end, seen, out);
  stop_ = stop;
  target_ = 0.0;
  highest_ = 0.0;
  entry_cost_ = entry_shares_ = exit_value_ = exit_shares_ = 0.0;
  TradeIntent intent{};
  intent.ts_event = bar.ts_end;
  intent.side = Side::Buy;
  intent.quantity = params_.quantity;
  intent.sizing = params_.sizing;
  intent.stop_price = stop;
  intent.reference_price = bar.close;
  if (params_.entry_order == EntryOrder::MarketableLimit) {
    intent.order_type = OrderType::Limit;
    intent.limit_price = (has_quote_ ? ask_ : bar.close) + params_.limit_offset;
  } else {
    intent.order_type = OrderType::Market;
  }
  emit(intent, out);
}

void PremarketMomentum::exit(Rule rule, std::int64_t ts, double reference, const Snapshot& seen,
                             StrategyOutput& out) {
  fire(rule, ts, seen, out);
  TradeIntent intent{};
  intent.ts_event = ts;
  intent.side = Side::Sell;
  intent.quantity = position();
  intent.sizing = Sizing::ClosePosition;
  intent.order_type = OrderType::Market;
  intent.reference_price = reference;
  emit(intent, out);
}

void PremarketMomentum::check_clock(std::int64_t ts, double close, StrategyOutput& out) {
  Snapshot seen;
  if (state_ == kLong) {
    const double in_trade = minutes(ts - entry_ts_);
    const double tod = minutes(calendar::time_of_day(ts));
    const bool too_long = params_.max_minutes_in_trade > 0 && in_trade >= params_.max_minutes_in_trade;
    if (too_long || tod >= params_.flat_by_minutes) {
      seen.add(kMinutesInTrade, in_trade), seen.add(kTimeOfDay, tod), seen.add(kClose, close);
      seen.add(kPosition, position());
      exit(kTimeStop, ts, close, seen, out);
    }
  } else if (state_ == kCooldown) {
    const double since = minutes(ts - exit_ts_);
    if (since >= params_.cooldown_minutes) {
      seen.add(kMinutesSinceExit, since);
      fire(kCooldownOver, ts, seen, out);
    }
  }
}

void PremarketMomentum::on_clock(std::int64_t now, StrategyOutput& out) { check_clock(now, last_close_, out); }

void PremarketMomentum::on_fill(const Fill& fill, StrategyOutput& out) {
  // Check before apply_fill: a NaN fill must not reach the position.
  require_finite("fill price", fill.price, fill.ts_event);
  require_finite("fill quantity", fill.quantity, fill.ts_event);
  apply_fill(fill);
  if (fill.side == Side::Buy) {
    entry_cost_ += fill.price * fill.quantity;
    entry_shares_ += fill.quantity;
  } else {
    exit_value_ += fill.price * fill.quantity;
    exit_shares_ += fill.quantity;
  }
  Snapshot seen;
  if (state_ == kPendingEntry && fill.leaves_quantity == 0.0) {
    if (params_.target_percent > 0) target_ = target_of_entry();
    seen.add(kPosition, position()), seen.add(kFillPrice, fill.price), seen.add(kEntryPrice, entry_price());
    seen.add(kStop, stop_), seen.add(kTarget, target_);
    fire(kEntryFilled, fill.ts_event, seen, out);
    entry_ts_ = fill.ts_event;
    highest_ = entry_price();
  } else if (state_ == kPendingExit && position() <= 0.0) {
    const double pnl = exit_value_ - entry_price() * exit_shares_;
    seen.add(kPosition, position()), seen.add(kFillPrice, fill.price), seen.add(kEntryPrice, entry_price());
    seen.add(kPnl, pnl);
    fire(pnl < 0 ? kExitFilledAtLoss : kExitFilled, fill.ts_event, seen, out);
    exit_ts_ = fill.ts_event;
  } else if (state_ == kPendingExit && exit_order_done(fill)) {  // shares left: LONG, the exit rules follow them
    seen.add(kPosition, position()), seen.add(kFillPrice, fill.price), seen.add(kEntryPrice, entry_price());
    fire(kExitIncomplete, fill.ts_event, seen, out);
  }
}

AdoptResult PremarketMomentum::on_adopt(const Adoption& position, StrategyOutput& out) {
  const double entry_shares = params_.sizing == Sizing::Shares ? params_.quantity : 0.0;
  if (std::string why = long_only_refusal(position, entry_shares); !why.empty()) return {false, why};
  // The stop was decided at the signal, from bars that are gone: only the opening intent knows it.
  if (!(position.stop_price > 0))
    return {false, "premarket_momentum: no stop is known for the position (no opening intent in the journal)"};
  stop_ = position.stop_price;
  entry_cost_ = position.average_price * position.quantity;
  entry_shares_ = position.quantity;
  exit_value_ = exit_shares_ = 0.0;
  if (position.entry_pending) {  // as enter() left it: the order's fills complete the entry
    target_ = highest_ = 0.0;
    Snapshot seen;
    seen.add(kPosition, position.quantity), seen.add(kStop, stop_);
    fire(kAdoptedEntryPending, position.now, seen, out);
    return {true, "premarket_momentum waits on its entry order still working (" + plain_number(position.quantity) +
                      " shares filled so far): stop " + plain_number(stop_)};
  }
  entry_ts_ = position.entry_ts;
  target_ = target_of_entry();
  highest_ = std::max(entry_price(), position.highest);
  const double in_trade = minutes(position.now - entry_ts_);
  Snapshot seen;
  seen.add(kPosition, position.quantity), seen.add(kEntryPrice, entry_price()), seen.add(kStop, stop_);
  seen.add(kTarget, target_), seen.add(kHighest, highest_), seen.add(kMinutesInTrade, in_trade);
  fire(position.exit_pending ? kAdoptedExitPending : kAdopted, position.now, seen, out);
  return {true, "premarket_momentum manages " + plain_number(position.quantity) + " shares at " +
                    plain_number(entry_price()) + " (" + states()[state_] + "): stop " + plain_number(stop_) +
                    ", target " + plain_number(target_) + ", highest " + plain_number(highest_) + ", " +
                    plain_number(std::floor(in_trade)) + " minutes in the trade"};
}

void PremarketMomentum::on_order_update(const OrderUpdate& update, StrategyOutput& out) {
  if (!closed_without_fill(update)) return;
  Snapshot seen;
  seen.add(kPosition, position());
  seen.add(kFilledQuantity, update.filled_quantity);
  if (state_ == kPendingEntry) {
    // Whatever filled before the cancel is held. The engine may route the update before its
    // last fill, so the order's own filled quantity decides, not the position.
    const bool holding = update.filled_quantity > 0 || position() > 0;
    fire(holding ? kEntryFilled : kEntryCanceled, update.ts_event, seen, out);
    if (holding) {
      entry_ts_ = update.ts_event;
      highest_ = entry_price();
    }
  } else if (state_ == kPendingExit) {
    if (position() > 0) {
      fire(kExitCanceled, update.ts_event, seen, out);
    } else {
      const double pnl = exit_value_ - entry_price() * exit_shares_;
      seen.add(kPnl, pnl);
      fire(pnl < 0 ? kExitFilledAtLoss : kExitFilled, update.ts_event, seen, out);
      exit_ts_ = update.ts_event;
    }
  }
}

}  // namespace tradecore::strategies
