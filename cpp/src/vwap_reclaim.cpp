#include "tradecore/strategies/vwap_reclaim.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace tradecore::strategies {

namespace {
using S = VwapReclaim;

std::vector<RuleInfo> rule_table() {
  return {{"trend_up", S::kFlat, S::kTrend, Trigger::Bar},
          {"pullback_started", S::kTrend, S::kPullback, Trigger::Bar},
          {"reclaim", S::kPullback, S::kPendingEntry, Trigger::Bar},
          {"pullback_failed", S::kPullback, S::kFlat, Trigger::Bar},
          {"entry_filled", S::kPendingEntry, S::kLong, Trigger::Fill},
          {"entry_canceled", S::kPendingEntry, S::kFlat, Trigger::OrderUpdate},
          {"stop_hit", S::kLong, S::kPendingExit, Trigger::Bar},
          {"target_hit", S::kLong, S::kPendingExit, Trigger::Bar},
          {"vwap_lost", S::kLong, S::kPendingExit, Trigger::Bar},
          {"exit_filled", S::kPendingExit, S::kFlat, Trigger::Fill},
          {"exit_canceled", S::kPendingExit, S::kLong, Trigger::OrderUpdate},
          {"adopted", S::kFlat, S::kLong, Trigger::Resume},
          {"adopted_exit_pending", S::kFlat, S::kPendingExit, Trigger::Resume},
          {"exit_incomplete", S::kPendingExit, S::kLong, Trigger::Fill}};
}

std::vector<std::string> value_table() {
  return {"close",  "high",           "low",         "vwap",     "upper_band", "lower_band",
          "bars_above", "bars_in_pullback", "volume", "average_volume", "pullback_low", "stop",
          "target", "position",       "fill_price",  "entry_price", "filled_quantity"};
}

VwapReclaimParams validated(const VwapReclaimParams& p) {
  auto fail = [](const std::string& m) { throw ConfigError("vwap_reclaim: " + m); };
  if (p.trend_bars < 1) fail("trend_bars must be >= 1");
  if (p.max_pullback_bars < 1) fail("max_pullback_bars must be >= 1");
  if (p.volume_period < 1) fail("volume_period must be >= 1");
  if (!(p.volume_factor >= 0) || !std::isfinite(p.volume_factor)) fail("volume_factor must be >= 0");
  if (!(p.stop_offset >= 0) || !std::isfinite(p.stop_offset)) fail("stop_offset must be >= 0 dollars");
  if (!(p.target_r > 0) || !std::isfinite(p.target_r)) fail("target_r must be positive");
  if (p.sizing == Sizing::ClosePosition) fail("sizing ClosePosition is for exits");
  if (!(p.quantity > 0) || !std::isfinite(p.quantity)) fail("quantity must be positive");
  return p;
}
}  // namespace

VwapReclaim::VwapReclaim(const VwapReclaimParams& params)
    : Strategy("vwap_reclaim", {"FLAT", "TREND", "PULLBACK", "PENDING_ENTRY", "LONG", "PENDING_EXIT"}, rule_table(),
               value_table()),
      params_(validated(params)),
      vwap_(params.anchor, params.band_multiplier),
      volume_(params.volume_period) {}

void VwapReclaim::reset() {
  Strategy::reset();
  vwap_.reset();
  volume_.reset();
  bars_above_ = bars_in_pullback_ = 0;
  pullback_low_ = stop_ = entry_cost_ = entry_shares_ = 0.0;
}

void VwapReclaim::update_indicators(const Bar& bar) {
  // Validate everything first so a bad bar leaves every indicator as it was.
  require_finite("high", bar.high, bar.ts_end);
  require_finite("low", bar.low, bar.ts_end);
  require_finite("close", bar.close, bar.ts_end);
  require_finite("vwap", bar.vwap, bar.ts_end);
  require_finite("volume", bar.volume, bar.ts_end);
  vwap_.update(bar.ts_event, bar.volume > 0 ? bar.vwap : bar.close, bar.volume);
  volume_.update(bar.volume);
  bars_above_ = vwap_.initialized() && bar.close > vwap_.value() ? bars_above_ + 1 : 0;
}

void VwapReclaim::warm_up(const Bar& bar) { update_indicators(bar); }

void VwapReclaim::on_bar(const Bar& bar, StrategyOutput& out) {
  update_indicators(bar);
  if (!vwap_.initialized() || !ready()) return;
  const std::int64_t ts = bar.ts_end;
  const double vwap = vwap_.value();
  Snapshot seen;
  switch (state_) {
    case kFlat:
      if (bars_above_ >= params_.trend_bars) {
        seen.add(kClose, bar.close), seen.add(kVwap, vwap), seen.add(kBarsAbove, bars_above_);
        fire(kTrendUp, ts, seen, out);
      }
      break;
    case kTrend: {
      const double level = params_.pullback_to == PullbackTo::Vwap ? vwap : vwap_.lower();
      if (bar.low <= level) {
        seen.add(kLow, bar.low), seen.add(kVwap, vwap), seen.add(kLowerBand, vwap_.lower());
        seen.add(kClose, bar.close);
        fire(kPullbackStarted, ts, seen, out);
        pullback_low_ = bar.low;
        bars_in_pullback_ = 0;
      }
      break;
    }
    case kPullback: {
      pullback_low_ = std::min(pullback_low_, bar.low);
      ++bars_in_pullback_;
      const double average = volume_.value();
      const bool volume_ok = !params_.volume_confirmation || bar.volume >= params_.volume_factor * average;
      if (bar.close > vwap && volume_ok) {
        const double stop = pullback_low_ - params_.stop_offset;
        seen.add(kClose, bar.close), seen.add(kVwap, vwap), seen.add(kVolume, bar.volume);
        seen.add(kAverageVolume, average), seen.add(kPullbackLow, pullback_low_), seen.add(kStop, stop);
        fire(kReclaim, ts, seen, out);
        stop_ = stop;
        entry_cost_ = entry_shares_ = 0.0;
        TradeIntent intent{};
        intent.ts_event = ts;
        intent.side = Side::Buy;
        intent.quantity = params_.quantity;
        intent.sizing = params_.sizing;
        intent.stop_price = stop;
        intent.reference_price = bar.close;
        intent.order_type = OrderType::Market;
        emit(intent, out);
      } else if (bars_in_pullback_ >= params_.max_pullback_bars) {
        seen.add(kBarsInPullback, bars_in_pullback_), seen.add(kClose, bar.close), seen.add(kVwap, vwap);
        fire(kPullbackFailed, ts, seen, out);
      }
      break;
    }
    case kLong: {
      const double target = params_.target_mode == TargetMode::UpperBand
                                ? vwap_.upper()
                                : entry_price() + params_.target_r * (entry_price() - stop_);
      if (bar.low <= stop_) {
        seen.add(kLow, bar.low), seen.add(kStop, stop_), seen.add(kClose, bar.close), seen.add(kPosition, position());
        exit(kStopHit, bar, seen, out);
      } else if (entry_shares_ > 0 && bar.high >= target) {
        seen.add(kHigh, bar.high), seen.add(kTarget, target), seen.add(kUpperBand, vwap_.upper());
        seen.add(kClose, bar.close), seen.add(kPosition, position());
        exit(kTargetHit, bar, seen, out);
      } else if (params_.exit_on_vwap_loss && bar.close < vwap) {
        seen.add(kClose, bar.close), seen.add(kVwap, vwap), seen.add(kPosition, position());
        exit(kVwapLost, bar, seen, out);
      }
      break;
    }
    default:
      break;
  }
}

void VwapReclaim::exit(Rule rule, const Bar& bar, const Snapshot& seen, StrategyOutput& out) {
  fire(rule, bar.ts_end, seen, out);
  TradeIntent intent{};
  intent.ts_event = bar.ts_end;
  intent.side = Side::Sell;
  intent.quantity = position();
  intent.sizing = Sizing::ClosePosition;
  intent.order_type = OrderType::Market;
  intent.reference_price = bar.close;
  emit(intent, out);
}

void VwapReclaim::on_fill(const Fill& fill, StrategyOutput& out) {
  // Check before apply_fill: a NaN fill must not reach the position.
  require_finite("fill price", fill.price, fill.ts_event);
  require_finite("fill quantity", fill.quantity, fill.ts_event);
  apply_fill(fill);
  if (fill.side == Side::Buy) {
    entry_cost_ += fill.price * fill.quantity;
    entry_shares_ += fill.quantity;
  }
  Snapshot seen;
  seen.add(kPosition, position());
  seen.add(kFillPrice, fill.price);
  if (state_ == kPendingEntry && fill.leaves_quantity == 0.0) {
    seen.add(kEntryPrice, entry_price()), seen.add(kStop, stop_);
    fire(kEntryFilled, fill.ts_event, seen, out);
  } else if (state_ == kPendingExit && position() <= 0.0) {
    fire(kExitFilled, fill.ts_event, seen, out);
  } else if (state_ == kPendingExit && exit_order_done(fill)) {  // shares left: LONG, the exit rules follow them
    fire(kExitIncomplete, fill.ts_event, seen, out);
  }
}

AdoptResult VwapReclaim::on_adopt(const Adoption& position, StrategyOutput& out) {
  const double entry_shares = params_.sizing == Sizing::Shares ? params_.quantity : 0.0;
  if (std::string why = long_only_refusal(position, entry_shares); !why.empty()) return {false, why};
  // The stop sat under a pullback low of bars that are gone: only the opening intent knows it.
  if (!(position.stop_price > 0))
    return {false, "vwap_reclaim: no stop is known for the position (no opening intent in the journal)"};
  stop_ = position.stop_price;
  entry_cost_ = position.average_price * position.quantity;
  entry_shares_ = position.quantity;
  Snapshot seen;
  seen.add(kPosition, position.quantity), seen.add(kEntryPrice, entry_price()), seen.add(kStop, stop_);
  fire(position.exit_pending ? kAdoptedExitPending : kAdopted, position.now, seen, out);
  return {true, "vwap_reclaim manages " + plain_number(position.quantity) + " shares at " +
                    plain_number(entry_price()) + " (" + states()[state_] + "): stop " + plain_number(stop_)};
}

void VwapReclaim::on_order_update(const OrderUpdate& update, StrategyOutput& out) {
  if (!closed_without_fill(update)) return;
  Snapshot seen;
  seen.add(kPosition, position());
  seen.add(kFilledQuantity, update.filled_quantity);
  if (state_ == kPendingEntry) {
    // The engine may route the update before its last fill: the order's filled quantity decides.
    const bool holding = update.filled_quantity > 0 || position() > 0;
    fire(holding ? kEntryFilled : kEntryCanceled, update.ts_event, seen, out);
  } else if (state_ == kPendingExit) {
    fire(position() > 0 ? kExitCanceled : kExitFilled, update.ts_event, seen, out);
  }
}

}  // namespace tradecore::strategies
