#pragma once
/// vwap_reclaim: a long pullback strategy around session VWAP and its bands. Once price has
/// held above VWAP (the trend), wait for a pullback to VWAP (or to the lower band), then buy
/// when a bar closes back above VWAP, with the stop under the pullback low.
///
/// States: FLAT -> TREND -> PULLBACK -> PENDING_ENTRY -> LONG -> PENDING_EXIT -> FLAT.
/// Rules (at most one fires per event):
///   trend_up         FLAT -> TREND            bar: bars_above (consecutive closes above VWAP)
///                                             reaches trend_bars
///   pullback_started TREND -> PULLBACK        bar: low <= vwap (pullback_to Vwap) or low <=
///                                             lower_band (pullback_to LowerBand)
///   reclaim          PULLBACK -> PENDING_ENTRY bar after the pullback bar: close > vwap and,
///                                             with volume_confirmation, volume >= volume_factor x
///                                             average_volume; buy intent with stop_price
///   pullback_failed  PULLBACK -> FLAT         bar: bars_in_pullback reaches max_pullback_bars
///                                             without a reclaim
///   entry_filled     PENDING_ENTRY -> LONG    fill: the entry order is complete (or an order
///                                             update closes it after a partial fill)
///   entry_canceled   PENDING_ENTRY -> FLAT    order update: canceled/rejected, nothing filled
///   stop_hit         LONG -> PENDING_EXIT     bar: low <= stop
///   target_hit       LONG -> PENDING_EXIT     bar: high >= target (the upper band now, or
///                                             entry + target_r x (entry - stop))
///   vwap_lost        LONG -> PENDING_EXIT     bar: close < vwap (exit_on_vwap_loss)
///   exit_filled      PENDING_EXIT -> FLAT     fill: flat again
///   exit_canceled    PENDING_EXIT -> LONG     order update: canceled/rejected, shares held
///   adopted          FLAT -> LONG             resume: a restored long (at most `quantity`
///                                             shares with Shares sizing) with the stop of the
///                                             intent that opened it and its average price
///   adopted_exit_pending FLAT -> PENDING_EXIT resume: the same with an exit order working
///   exit_incomplete  PENDING_EXIT -> LONG     fill: the exit order is done, shares still held
/// Exit intents are market sells with Sizing::ClosePosition.
///
/// Units: prices in dollars, the band multiplier in standard deviations of price around VWAP
/// (volume-weighted), the R target in multiples of the entry's risk (entry - stop).
/// VWAP is built from each bar's vwap and volume, anchored by `anchor` (default: restarts at the
/// 09:30 New York open). average_volume is the mean volume of the last volume_period bars,
/// this one included. The rules run on every bar the strategy sees; feed it one session's bars
/// (the trend state is not reset at midnight).
#include <cstdint>

#include "tradecore/indicators.hpp"
#include "tradecore/strategy.hpp"

namespace tradecore::strategies {

enum class PullbackTo : std::uint8_t {
  Vwap = 0,       ///< a bar's low reaches VWAP
  LowerBand = 1,  ///< a bar's low reaches the lower band
};

enum class TargetMode : std::uint8_t {
  UpperBand = 0,  ///< the upper band, as it stands on each bar
  RMultiple = 1,  ///< entry + target_r x (entry - stop), fixed at the entry fill
};

struct VwapReclaimParams {
  indicators::VWAPAnchor anchor = indicators::VWAPAnchor::Regular;
  double band_multiplier = 2.0;      ///< standard deviations for the bands
  int trend_bars = 3;                ///< consecutive closes above VWAP that establish the trend
  PullbackTo pullback_to = PullbackTo::Vwap;
  int max_pullback_bars = 10;        ///< bars after the pullback bar to wait for a reclaim
  bool volume_confirmation = false;  ///< require volume on the reclaim bar
  int volume_period = 20;            ///< bars in average_volume
  double volume_factor = 1.5;        ///< reclaim volume >= factor x average_volume
  double stop_offset = 0.01;         ///< dollars below the pullback low
  TargetMode target_mode = TargetMode::UpperBand;
  double target_r = 2.0;             ///< R multiple for TargetMode::RMultiple
  bool exit_on_vwap_loss = true;     ///< exit on a close below VWAP
  Sizing sizing = Sizing::Shares;    ///< Shares or RiskPerTrade (also Notional, PercentEquity)
  double quantity = 100.0;           ///< shares, or dollars at risk for RiskPerTrade, ...
};

class VwapReclaim final : public Strategy {
 public:
  enum State : std::uint8_t { kFlat, kTrend, kPullback, kPendingEntry, kLong, kPendingExit };
  enum Rule : std::uint16_t {
    kTrendUp,
    kPullbackStarted,
    kReclaim,
    kPullbackFailed,
    kEntryFilled,
    kEntryCanceled,
    kStopHit,
    kTargetHit,
    kVwapLost,
    kExitFilled,
    kExitCanceled,
    kAdopted,
    kAdoptedExitPending,
    kExitIncomplete,
  };
  enum Value : std::uint16_t {
    kClose,
    kHigh,
    kLow,
    kVwap,
    kUpperBand,
    kLowerBand,
    kBarsAbove,
    kBarsInPullback,
    kVolume,
    kAverageVolume,
    kPullbackLow,
    kStop,
    kTarget,
    kPosition,
    kFillPrice,
    kEntryPrice,
    kFilledQuantity,
  };

  explicit VwapReclaim(const VwapReclaimParams& params = {});
  void on_bar(const Bar& bar, StrategyOutput& out) override;
  void on_fill(const Fill& fill, StrategyOutput& out) override;
  void on_order_update(const OrderUpdate& update, StrategyOutput& out) override;
  void warm_up(const Bar& bar) override;
  bool ready() const override { return !params_.volume_confirmation || volume_.initialized(); }
  void reset() override;
  AdoptResult on_adopt(const Adoption& position, StrategyOutput& out) override;
  const VwapReclaimParams& params() const noexcept { return params_; }

  double vwap() const { return vwap_.value(); }
  double upper_band() const { return vwap_.upper(); }
  double lower_band() const { return vwap_.lower(); }
  int bars_above() const noexcept { return bars_above_; }
  double pullback_low() const noexcept { return pullback_low_; }
  double stop() const noexcept { return stop_; }
  double entry_price() const noexcept { return entry_shares_ > 0 ? entry_cost_ / entry_shares_ : 0.0; }

 private:
  void update_indicators(const Bar& bar);
  void exit(Rule rule, const Bar& bar, const Snapshot& seen, StrategyOutput& out);

  VwapReclaimParams params_;
  indicators::VWAP vwap_;
  indicators::SMA volume_;
  int bars_above_ = 0;
  int bars_in_pullback_ = 0;
  double pullback_low_ = 0.0;
  double stop_ = 0.0;
  double entry_cost_ = 0.0, entry_shares_ = 0.0;
};

}  // namespace tradecore::strategies
