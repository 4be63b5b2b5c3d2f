#pragma once
/// ema_cross: the classic. Long when the fast EMA of bar closes crosses above the slow EMA,
/// flat again on the reverse cross. Kept for comparison with other platforms.
///
/// States: FLAT -> PENDING_ENTRY -> LONG -> PENDING_EXIT -> FLAT.
/// Rules:
///   cross_above     FLAT -> PENDING_ENTRY  bar: fast_prev <= slow_prev and fast > slow; buy intent
///   entry_filled    PENDING_ENTRY -> LONG  fill: the position reached the entry quantity
///   entry_canceled  PENDING_ENTRY -> FLAT  order update: canceled/rejected before any fill
///   cross_below     LONG -> PENDING_EXIT   bar: fast_prev >= slow_prev and fast < slow; close intent
///   exit_filled     PENDING_EXIT -> FLAT   fill: the position is flat
///   exit_canceled   PENDING_EXIT -> LONG   order update: canceled/rejected with shares still held
///   adopted         FLAT -> LONG           resume: a restored long of at most `quantity` shares
///   adopted_exit_pending FLAT -> PENDING_EXIT resume: the same with an exit order working
///   exit_incomplete PENDING_EXIT -> LONG   fill: the exit order is done, shares still held (the next
///                                          cross_below closes them)
/// EMAs seed with the SMA of their first `period` closes (TA-Lib's convention).
#include "tradecore/indicators.hpp"
#include "tradecore/strategy.hpp"

namespace tradecore::strategies {

struct EmaCrossParams {
  int fast = 10;
  int slow = 30;
  double quantity = 100;  ///< shares per entry
};

class EmaCross final : public Strategy {
 public:
  enum State : std::uint8_t { kFlat, kPendingEntry, kLong, kPendingExit };
  enum Rule : std::uint16_t {
    kCrossAbove,
    kEntryFilled,
    kEntryCanceled,
    kCrossBelow,
    kExitFilled,
    kExitCanceled,
    kAdopted,
    kAdoptedExitPending,
    kExitIncomplete,
  };
  enum Value : std::uint16_t { kClose, kFast, kSlow, kFastPrev, kSlowPrev, kPosition, kFillPrice, kEntryPrice };

  explicit EmaCross(const EmaCrossParams& params = {});
  void on_bar(const Bar& bar, StrategyOutput& out) override;
  void on_fill(const Fill& fill, StrategyOutput& out) override;
  void on_order_update(const OrderUpdate& update, StrategyOutput& out) override;
  void warm_up(const Bar& bar) override;
  bool ready() const override { return fast_.initialized() && slow_.initialized(); }
  void reset() override;
  AdoptResult on_adopt(const Adoption& position, StrategyOutput& out) override;
  const EmaCrossParams& params() const noexcept { return params_; }
  double fast() const { return fast_.value(); }
  double slow() const { return slow_.value(); }

 private:
  void update_indicators(double close);

  EmaCrossParams params_;
  indicators::EMA fast_, slow_;
  double fast_prev_ = 0.0, slow_prev_ = 0.0;
  bool has_prev_ = false;
};

}  // namespace tradecore::strategies
