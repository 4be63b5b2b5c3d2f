#pragma once
/// The fill simulator: market, limit, stop and stop-limit orders against top of book, with
/// latency, slippage, displayed-size partial fills, commissions and halts. Driven only by the
/// events fed to it (no clock, no randomness): the same input gives the same fills. The paper
/// broker and backtests share it.
#include <cstdint>
#include <span>
#include <vector>

#include "tradecore/orders.hpp"
#include "tradecore/schema.hpp"

namespace tradecore {

/// Execution model parameters; validated by the FillSimulator constructor.
struct FillModel {
  std::int64_t submit_latency_ns = 0;  ///< an order becomes live this long after ts_submit
  std::int64_t cancel_latency_ns = 0;  ///< a cancel takes effect this long after it is sent
  double slippage = 0.0;               ///< dollars per share added against the taker
  bool limit_needs_trade_through = false;  ///< resting limits fill only when a trade prints through
  bool partial_fills = true;           ///< limit each fill to the displayed size at the touch
  double commission_per_share = 0.0;   ///< dollars
  double commission_minimum = 0.0;     ///< dollars per order (charged on its first fill)
};

/// One instrument's simulated venue.
class FillSimulator {
 public:
  explicit FillSimulator(const FillModel& model);

  /// Accept an order (it becomes live after the submit latency, on the next event at or past
  /// that time). Invalid orders are rejected with an update.
  void submit(const Order& order, std::vector<OrderUpdate>& updates);
  /// Request a cancel sent at `ts`; effective after the cancel latency if still open.
  void cancel(std::uint64_t order_id, std::int64_t ts, std::vector<OrderUpdate>& updates);

  /// Market events. Each first activates orders and cancels due by the event's time, then
  /// matches. Quotes set the book; trades can fill resting limits (trade-through) and trigger
  /// stops; a halt blocks all fills until trading resumes.
  void on_quote(const Quote& quote, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates);
  void on_trade(const Trade& trade, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates);
  void on_status(const Status& status, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates);
  /// The clock moved: activate due orders and cancels, and match what is now live.
  void on_clock(std::int64_t now, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates);

  bool halted() const noexcept { return halted_; }
  /// The book the simulator matches against (0 = side not seen yet).
  double bid() const noexcept { return bid_; }
  double ask() const noexcept { return ask_; }
  std::size_t open_orders() const noexcept { return orders_.size(); }
  const FillModel& model() const noexcept { return model_; }
  void reset();

 private:
  struct Working {
    Order order;
    double filled = 0.0;
    double commission = 0.0;
    std::int64_t live_at = 0;
    std::int64_t cancel_at = INT64_MAX;
    bool live = false;
    bool triggered = false;  // stop orders: the stop was hit
    bool rested = false;     // limit orders: had their first chance to take the book
  };
  void advance(std::int64_t now, std::vector<OrderUpdate>& updates);
  void match(std::int64_t now, const Trade* trade, std::vector<Fill>& fills,
             std::vector<OrderUpdate>& updates);
  bool try_fill(Working& w, std::int64_t now, const Trade* trade, std::vector<Fill>& fills,
                std::vector<OrderUpdate>& updates);
  void execute(Working& w, std::int64_t now, double price, double quantity, std::uint8_t liquidity,
               std::vector<Fill>& fills, std::vector<OrderUpdate>& updates);
  void update(const Working& w, std::int64_t now, OrderStatus status, std::uint8_t reason,
              std::vector<OrderUpdate>& updates) const;

  FillModel model_;
  std::vector<Working> orders_;  // open orders in submission order (time priority)
  double bid_ = 0.0, ask_ = 0.0, bid_size_ = 0.0, ask_size_ = 0.0;
  double bid_taken_ = 0.0, ask_taken_ = 0.0;  // displayed size consumed since the last quote
  bool halted_ = false;
};

}  // namespace tradecore
