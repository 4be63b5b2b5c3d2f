#pragma once
/// premarket_momentum: long-only momentum for low-float gappers. Arms when the stock is gapping
/// up on heavy volume, enters on a break of the premarket high (or a reclaim of VWAP) while the
/// spread is tight, and gets out on a stop, a target, a trailing stop, a loss of VWAP or a time
/// stop. After a losing trade it sits out a cooldown.
///
/// States: FLAT -> ARMED -> PENDING_ENTRY -> LONG -> PENDING_EXIT -> FLAT or COOLDOWN -> FLAT.
/// Rules (checked in this order on each event; at most one fires per event):
///   arm                  FLAT -> ARMED            bar: gap_pct >= min_gap_percent, rvol >=
///                                                 min_relative_volume, time_of_day < entry_until
///   disarm               ARMED -> FLAT            bar: gap_pct < min_gap_percent or time_of_day >=
///                                                 entry_until
///   break_premarket_high ARMED -> PENDING_ENTRY   bar (entry_mode PremarketHighBreak): close >
///                                                 premarket_high (of earlier bars), spread <=
///                                                 max_spread; buy intent with stop_price
///   reclaim_vwap         ARMED -> PENDING_ENTRY   bar (entry_mode VwapReclaim): prev_close <=
///                                                 prev_vwap and close > vwap, spread ok; buy intent
///   entry_filled         PENDING_ENTRY -> LONG    fill: the entry order is complete (or an order
///                                                 update closes it after a partial fill)
///   entry_canceled       PENDING_ENTRY -> FLAT    order update: canceled/rejected, nothing filled
///   stop_hit             LONG -> PENDING_EXIT     bar: low <= stop
///   target_hit           LONG -> PENDING_EXIT     bar: high >= target (target_percent > 0)
///   trailing_stop_hit    LONG -> PENDING_EXIT     bar: close <= highest high since entry x
///                                                 (1 - trailing_stop_percent / 100)
///   vwap_lost            LONG -> PENDING_EXIT     bar: close < vwap (exit_on_vwap_loss)
///   time_stop            LONG -> PENDING_EXIT     bar or clock: minutes_in_trade >=
///                                                 max_minutes_in_trade, or time_of_day >= flat_by
///   exit_filled          PENDING_EXIT -> FLAT     fill: flat again, pnl >= 0
///   exit_filled_at_loss  PENDING_EXIT -> COOLDOWN fill: flat again, pnl < 0
///   exit_canceled        PENDING_EXIT -> LONG     order update: canceled/rejected, shares held
///   cooldown_over        COOLDOWN -> FLAT         bar or clock: cooldown_minutes since the exit
///   adopted              FLAT -> LONG             resume: a restored long (at most `quantity`
///                                                 shares with Shares sizing) with the stop of
///                                                 the intent that opened it; the target from
///                                                 its average price, the trail from the highest
///                                                 high since the entry, time stops from the entry
///   adopted_exit_pending FLAT -> PENDING_EXIT     resume: the same with an exit order working
///   adopted_entry_pending FLAT -> PENDING_ENTRY   resume: the entry order is still working (the
///                                                 shares it filled so far held, maybe none), with
///                                                 the stop of its intent: its fills and final
///                                                 update then fire entry_filled / entry_canceled
///                                                 as they would have without the crash
///   exit_incomplete      PENDING_EXIT -> LONG     fill: the exit order is done, shares still held
/// Exit intents are market sells with Sizing::ClosePosition.
///
/// Units: prices and spread in dollars; gap, stop, target and trailing percentages in percent
/// (20 = 20 %); relative volume as a ratio (3 = three times normal); times of day in minutes
/// after New York midnight (570 = 09:30).
///
/// Decisions:
/// - gap_pct = 100 x (close / prior_close - 1), against the prior close the caller supplies
///   (the scanner's enrichment).
/// - Relative volume is computed here, cumulative since New York midnight against the same
///   time of day over the previous `relative_volume_sessions` sessions
///   (indicators::RelativeVolume, 1-minute buckets), so it moves with the day instead of being a
///   stale scanner number. It needs that many prior sessions of bars through warm_up() before
///   ready(); min_relative_volume = 0 turns the filter off (and ready() no longer waits). With
///   no volume at this time of day in the history the ratio is unknown and arm does not fire.
/// - Premarket high = highest high of the bars opening in 04:00-09:30 New York time today
///   (reset per New York date). A break means a close above the high of the earlier bars.
/// - VWAP is anchored at New York midnight (premarket included, as gapper traders read it) and
///   built from each bar's vwap and volume.
/// - The spread is ask - bid of the latest quote (wants_quotes() when max_spread > 0). Until a
///   two-sided quote arrives the spread is unknown and no entry fires. A non-finite quote
///   throws DataError and the previous quote is kept.
/// - The stop is set at the signal: the lowest low of the last `pullback_bars` bars (the
///   pullback low, signal bar included) or close x (1 - stop_percent / 100). The target and the
///   trailing stop are measured from the average entry fill price.
#include <cstdint>

#include "tradecore/indicators.hpp"
#include "tradecore/strategy.hpp"

namespace tradecore::strategies {

enum class EntryMode : std::uint8_t {
  PremarketHighBreak = 0,  ///< close above the premarket high
  VwapReclaim = 1,         ///< close back above VWAP after a close at or below it
};

enum class StopMode : std::uint8_t {
  PullbackLow = 0,   ///< lowest low of the last pullback_bars bars
  FixedPercent = 1,  ///< stop_percent below the signal close
};

enum class EntryOrder : std::uint8_t {
  Market = 0,
  MarketableLimit = 1,  ///< limit at ask (close if no quote) + limit_offset
};

struct PremarketMomentumParams {
  double prior_close = 0.0;            ///< dollars; the gap reference (required, > 0)
  double min_gap_percent = 20.0;       ///< percent (20 = 20 %)
  double min_relative_volume = 3.0;    ///< ratio; 0 disables the filter
  int relative_volume_sessions = 10;   ///< prior sessions averaged for relative volume
  double max_spread = 0.05;            ///< dollars (ask - bid); 0 disables the filter and quotes
  EntryMode entry_mode = EntryMode::PremarketHighBreak;
  StopMode stop_mode = StopMode::PullbackLow;
  int pullback_bars = 5;               ///< bars searched for the pullback low
  double stop_percent = 5.0;           ///< percent below the signal close (StopMode::FixedPercent)
  double target_percent = 10.0;        ///< percent above the entry price; 0 = no target
  double trailing_stop_percent = 0.0;  ///< percent below the highest high since entry; 0 = off
  bool exit_on_vwap_loss = true;       ///< exit on a close below VWAP
  int max_minutes_in_trade = 30;       ///< minutes; 0 = no limit
  int entry_until_minutes = 630;       ///< no new entries from this time of day (10:30)
  int flat_by_minutes = 945;           ///< flat by this time of day (15:45)
  int cooldown_minutes = 15;           ///< minutes after a losing exit before re-arming
  Sizing sizing = Sizing::Shares;      ///< Shares or RiskPerTrade (also Notional, PercentEquity)
  double quantity = 100.0;             ///< shares, or dollars at risk for RiskPerTrade, ...
  EntryOrder entry_order = EntryOrder::Market;
  double limit_offset = 0.02;          ///< dollars above the ask for MarketableLimit
};

class PremarketMomentum final : public Strategy {
 public:
  enum State : std::uint8_t { kFlat, kArmed, kPendingEntry, kLong, kPendingExit, kCooldown };
  enum Rule : std::uint16_t {
    kArm,
    kDisarm,
    kBreakPremarketHigh,
    kReclaimVwap,
    kEntryFilled,
    kEntryCanceled,
    kStopHit,
    kTargetHit,
    kTrailingStopHit,
    kVwapLost,
    kTimeStop,
    kExitFilled,
    kExitFilledAtLoss,
    kExitCanceled,
    kCooldownOver,
    kAdopted,
    kAdoptedExitPending,
    kAdoptedEntryPending,
    kExitIncomplete,
  };
  enum Value : std::uint16_t {
    kClose,
    kHigh,
    kLow,
    kPremarketHigh,
    kVwap,
    kPrevClose,
    kPrevVwap,
    kGapPercent,
    kRelativeVolume,
    kSpread,
    kStop,
    kTarget,
    kTrailStop,
    kHighest,
    kMinutesInTrade,
    kTimeOfDay,
    kPosition,
    kFillPrice,
    kEntryPrice,
    kPnl,
    kFilledQuantity,
    kMinutesSinceExit,
  };

  explicit PremarketMomentum(const PremarketMomentumParams& params);
  void on_bar(const Bar& bar, StrategyOutput& out) override;
  void on_quote(const Quote& quote, StrategyOutput& out) override;
  void on_fill(const Fill& fill, StrategyOutput& out) override;
  void on_order_update(const OrderUpdate& update, StrategyOutput& out) override;
  void on_clock(std::int64_t now, StrategyOutput& out) override;
  void warm_up(const Bar& bar) override;
  bool ready() const override { return params_.min_relative_volume <= 0 || rvol_.initialized(); }
  bool wants_quotes() const override { return params_.max_spread > 0; }
  void reset() override;
  const PremarketMomentumParams& params() const noexcept { return params_; }

  /// Highest high of today's premarket bars so far (0 before the first).
  double premarket_high() const noexcept { return has_premarket_high_ ? premarket_high_ : 0.0; }
  double vwap() const { return vwap_.value(); }
  /// Relative volume now, or 0 while unknown (no history at this time of day).
  double relative_volume() const;
  /// ask - bid of the latest two-sided quote, or -1 before one.
  double spread() const noexcept { return has_quote_ ? ask_ - bid_ : -1.0; }
  double stop() const noexcept { return stop_; }
  double target() const noexcept { return target_; }
  double entry_price() const noexcept { return entry_shares_ > 0 ? entry_cost_ / entry_shares_ : 0.0; }
  /// The profit target for the shares held (0 = no target).
  double target_of_entry() const noexcept {
    return params_.target_percent > 0 ? entry_price() * (1.0 + params_.target_percent / 100.0) : 0.0;
  }

 private:
  void update_indicators(const Bar& bar);
  bool spread_ok() const { return params_.max_spread <= 0 || (has_quote_ && ask_ - bid_ <= params_.max_spread); }
  double recorded_spread() const { return has_quote_ ? ask_ - bid_ : 0.0; }
  void fold_premarket_high(const Bar& bar);
  void enter(const Bar& bar, Rule rule, double stop, const Snapshot& seen, StrategyOutput& out);
  void exit(Rule rule, std::int64_t ts, double reference, const Snapshot& seen, StrategyOutput& out);
  /// time_stop (LONG) and cooldown_over (COOLDOWN): the rules that only need the time.
  void check_clock(std::int64_t ts, double close, StrategyOutput& out);
  AdoptResult on_adopt(const Adoption& position, StrategyOutput& out) override;
  bool adopts_working_entry() const override { return true; }

  PremarketMomentumParams params_;
  indicators::VWAP vwap_;
  indicators::RelativeVolume rvol_;
  indicators::Lowest pullback_low_;
  std::int64_t day_ = INT64_MIN;
  double premarket_high_ = 0.0;
  bool has_premarket_high_ = false;
  double prev_close_ = 0.0, prev_vwap_ = 0.0;
  bool has_prev_ = false;
  double bid_ = 0.0, ask_ = 0.0;
  bool has_quote_ = false;
  double stop_ = 0.0, target_ = 0.0, highest_ = 0.0;
  double entry_cost_ = 0.0, entry_shares_ = 0.0, exit_value_ = 0.0, exit_shares_ = 0.0;
  std::int64_t entry_ts_ = 0, exit_ts_ = 0;
  double last_close_ = 0.0;
};

}  // namespace tradecore::strategies
