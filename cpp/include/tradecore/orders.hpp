#pragma once
/// Orders, fills and order updates shared by the strategy engine, the fill simulator and the
/// Python brokers. Plain structs that are also NumPy dtypes (see python/tradecore/schema.py).
#include <cstdint>

namespace tradecore {

enum class Side : std::uint8_t { Buy = 1, Sell = 2 };

enum class OrderType : std::uint8_t { Market = 0, Limit = 1, Stop = 2, StopLimit = 3 };

enum class TimeInForce : std::uint8_t {
  Day = 0,  ///< live until cancelled (the session end is the caller's clock decision)
  Gtc = 1,
  Ioc = 2,  ///< fill what the book offers once it is live, cancel the rest
};

/// Lifecycle of an order in the simulator (a subset of the vendors' status sets).
enum class OrderStatus : std::uint8_t {
  Submitted = 0,        ///< accepted by the simulator, not live yet (latency)
  Live = 1,             ///< working at the venue
  PartiallyFilled = 2,
  Filled = 3,
  Canceled = 4,
  Rejected = 5,
  Triggered = 6,        ///< a stop order's stop was hit; it now works as market or limit
};

/// An order as submitted. Quantities in shares, prices in dollars; unused prices are 0.
struct Order {
  std::uint64_t order_id;
  std::int64_t ts_submit;  ///< when the strategy/broker sent it, ns UTC
  double quantity;
  double limit_price;
  double stop_price;
  std::uint32_t instrument_id;
  Side side;
  OrderType type;
  TimeInForce time_in_force;
};

/// One execution.
struct Fill {
  std::int64_t ts_event;
  std::uint64_t order_id;
  double price;
  double quantity;
  double commission;       ///< dollars charged for this fill
  double leaves_quantity;  ///< still open after this fill
  std::uint32_t instrument_id;
  Side side;
  std::uint8_t liquidity;  ///< 1 = took liquidity (crossed the spread), 2 = added (rested)
};

/// A change of an order's status, with why.
struct OrderUpdate {
  std::int64_t ts_event;
  std::uint64_t order_id;
  double filled_quantity;
  double leaves_quantity;
  std::uint32_t instrument_id;
  OrderStatus status;
  std::uint8_t reason;  ///< OrderReason
};

/// The order ended without (further) fills: canceled or rejected (what a strategy's pending
/// state waits for besides fills).
inline bool closed_without_fill(const OrderUpdate& u) {
  return u.status == OrderStatus::Canceled || u.status == OrderStatus::Rejected;
}

/// A long-only strategy's exit order is done with this fill while shares may still be held
/// (entry shares that filled after the exit was sized): its pending exit must not wait on.
inline bool exit_order_done(const Fill& f) { return f.side == Side::Sell && f.leaves_quantity == 0.0; }

/// Why an update happened (OrderUpdate::reason).
enum OrderReason : std::uint8_t {
  kReasonNone = 0,
  kReasonUserCancel = 1,
  kReasonIocRemainder = 2,   ///< IOC: what the book did not fill
  kReasonInvalidOrder = 3,   ///< non-positive quantity, missing or bad price
  kReasonUnknownOrder = 4,   ///< cancel for an order the simulator does not hold
  kReasonDuplicateId = 5,
  kReasonRefused = 6,  ///< never became an order: the router or a risk check refused the intent
};

}  // namespace tradecore
