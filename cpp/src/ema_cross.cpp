#include "tradecore/strategies/ema_cross.hpp"

#include <string>

namespace tradecore::strategies {

namespace {
std::vector<RuleInfo> ema_cross_rules() {
  using S = EmaCross;
  return {{"cross_above", S::kFlat, S::kPendingEntry, Trigger::Bar},
          {"entry_filled", S::kPendingEntry, S::kLong, Trigger::Fill},
          {"entry_canceled", S::kPendingEntry, S::kFlat, Trigger::OrderUpdate},
          {"cross_below", S::kLong, S::kPendingExit, Trigger::Bar},
          {"exit_filled", S::kPendingExit, S::kFlat, Trigger::Fill},
          {"exit_canceled", S::kPendingExit, S::kLong, Trigger::OrderUpdate},
          {"adopted", S::kFlat, S::kLong, Trigger::Resume},
          {"adopted_exit_pending", S::kFlat, S::kPendingExit, Trigger::Resume},
          {"exit_incomplete", S::kPendingExit, S::kLong, Trigger::Fill}};
}

}  // namespace

EmaCross::EmaCross(const EmaCrossParams& params)
    : Strategy("ema_cross", {"FLAT", "PENDING_ENTRY", "LONG", "PENDING_EXIT"}, ema_cross_rules(),
               {"close", "fast", "slow", "fast_prev", "slow_prev", "position", "fill_price", "entry_price"}),
      params_(params), fast_(params.fast), slow_(params.slow) {
  if (params.fast >= params.slow) throw ConfigError("ema_cross: fast period must be shorter than slow");
  if (!(params.quantity > 0)) throw ConfigError("ema_cross: quantity must be positive");
}

void EmaCross::reset() {
  Strategy::reset();
  fast_.reset();
  slow_.reset();
  has_prev_ = false;
}

void EmaCross::update_indicators(double close) {
  if (ready()) {
    fast_prev_ = fast_.value();
    slow_prev_ = slow_.value();
    has_prev_ = true;
  }
  fast_.update(close);
  slow_.update(close);
}

void EmaCross::warm_up(const Bar& bar) { update_indicators(bar.close); }

void EmaCross::on_bar(const Bar& bar, StrategyOutput& out) {
  update_indicators(bar.close);
  if (!ready() || !has_prev_) return;
  const double fast = fast_.value(), slow = slow_.value();
  Snapshot seen;
  seen.add(kClose, bar.close);
  seen.add(kFast, fast);
  seen.add(kSlow, slow);
  seen.add(kFastPrev, fast_prev_);
  seen.add(kSlowPrev, slow_prev_);
  TradeIntent intent{};
  intent.ts_event = bar.ts_end;
  intent.reference_price = bar.close;
  intent.order_type = OrderType::Market;
  if (state_ == kFlat && fast_prev_ <= slow_prev_ && fast > slow) {
    fire(kCrossAbove, bar.ts_end, seen, out);
    intent.side = Side::Buy;
    intent.quantity = params_.quantity;
    intent.sizing = Sizing::Shares;
    emit(intent, out);
  } else if (state_ == kLong && fast_prev_ >= slow_prev_ && fast < slow) {
    seen.add(kPosition, position());
    fire(kCrossBelow, bar.ts_end, seen, out);
    intent.side = Side::Sell;
    intent.quantity = position();
    intent.sizing = Sizing::ClosePosition;
    emit(intent, out);
  }
}

void EmaCross::on_fill(const Fill& fill, StrategyOutput& out) {
  apply_fill(fill);
  Snapshot seen;
  seen.add(kPosition, position());
  seen.add(kFillPrice, fill.price);
  if (state_ == kPendingEntry && fill.leaves_quantity == 0.0) {
    fire(kEntryFilled, fill.ts_event, seen, out);
  } else if (state_ == kPendingExit && position() <= 0.0) {
    fire(kExitFilled, fill.ts_event, seen, out);
  } else if (state_ == kPendingExit && exit_order_done(fill)) {  // shares left: LONG, the exit rules follow them
    fire(kExitIncomplete, fill.ts_event, seen, out);
  }
}

AdoptResult EmaCross::on_adopt(const Adoption& position, StrategyOutput& out) {
  // The exit is the reverse cross of the EMAs (warm-up rebuilt them): no level to restore.
  if (std::string why = long_only_refusal(position, params_.quantity); !why.empty()) return {false, why};
  Snapshot seen;
  seen.add(kPosition, position.quantity), seen.add(kEntryPrice, position.average_price);
  fire(position.exit_pending ? kAdoptedExitPending : kAdopted, position.now, seen, out);
  return {true, "ema_cross manages " + plain_number(position.quantity) + " shares at " +
                    plain_number(position.average_price) + " (" + states()[state_] + ")"};
}

void EmaCross::on_order_update(const OrderUpdate& update, StrategyOutput& out) {
  if (!closed_without_fill(update)) return;
  Snapshot seen;
  seen.add(kPosition, position());
  if (state_ == kPendingEntry) {
    // Whatever filled before the cancel is held: LONG if anything, FLAT otherwise.
    fire(position() > 0 ? kEntryFilled : kEntryCanceled, update.ts_event, seen, out);
  } else if (state_ == kPendingExit) {
    fire(position() > 0 ? kExitCanceled : kExitFilled, update.ts_event, seen, out);
  }
}

}  // namespace tradecore::strategies
