#include "tradecore/fill_simulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tradecore/error.hpp"

namespace tradecore {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::uint8_t kTaker = 1;
constexpr std::uint8_t kMaker = 2;

bool positive(double x) { return x > 0.0 && x < kInf; }

bool valid(const Order& o) {
  if (!positive(o.quantity)) return false;
  if (o.side != Side::Buy && o.side != Side::Sell) return false;
  switch (o.type) {
    case OrderType::Market: return true;
    case OrderType::Limit: return positive(o.limit_price);
    case OrderType::Stop: return positive(o.stop_price);
    case OrderType::StopLimit: return positive(o.stop_price) && positive(o.limit_price);
  }
  return false;
}
}  // namespace

FillSimulator::FillSimulator(const FillModel& model) : model_(model) {
  if (model.submit_latency_ns < 0 || model.cancel_latency_ns < 0)
    throw ConfigError("latencies must not be negative");
  if (!(model.slippage >= 0.0 && model.slippage < kInf))
    throw ConfigError("slippage must be a finite, non-negative dollar amount");
  if (!(model.commission_per_share >= 0.0 && model.commission_per_share < kInf) ||
      !(model.commission_minimum >= 0.0 && model.commission_minimum < kInf))
    throw ConfigError("commissions must be finite and non-negative");
}

void FillSimulator::reset() {
  orders_.clear();
  bid_ = ask_ = bid_size_ = ask_size_ = bid_taken_ = ask_taken_ = 0.0;
  halted_ = false;
}

void FillSimulator::update(const Working& w, std::int64_t now, OrderStatus status,
                           std::uint8_t reason, std::vector<OrderUpdate>& updates) const {
  updates.push_back(OrderUpdate{now, w.order.order_id, w.filled, w.order.quantity - w.filled,
                                w.order.instrument_id, status, reason});
}

void FillSimulator::submit(const Order& order, std::vector<OrderUpdate>& updates) {
  Working w;
  w.order = order;
  const bool duplicate = std::any_of(orders_.begin(), orders_.end(), [&](const Working& o) {
    return o.order.order_id == order.order_id;
  });
  if (duplicate || !valid(order)) {
    update(w, order.ts_submit, OrderStatus::Rejected,
           duplicate ? kReasonDuplicateId : kReasonInvalidOrder, updates);
    return;
  }
  w.live_at = order.ts_submit + model_.submit_latency_ns;
  orders_.push_back(w);
  update(w, order.ts_submit, OrderStatus::Submitted, kReasonNone, updates);
}

void FillSimulator::cancel(std::uint64_t order_id, std::int64_t ts, std::vector<OrderUpdate>& updates) {
  for (auto& w : orders_) {
    if (w.order.order_id == order_id) {
      w.cancel_at = std::min(w.cancel_at, ts + model_.cancel_latency_ns);
      return;
    }
  }
  updates.push_back(OrderUpdate{ts, order_id, 0.0, 0.0, 0, OrderStatus::Rejected, kReasonUnknownOrder});
}

void FillSimulator::advance(std::int64_t now, std::vector<OrderUpdate>& updates) {
  // Cancels due by now win over activation and over fills at the same instant.
  std::erase_if(orders_, [&](Working& w) {
    if (now < w.cancel_at) return false;
    update(w, std::max(w.cancel_at, w.order.ts_submit), OrderStatus::Canceled, kReasonUserCancel, updates);
    return true;
  });
  for (auto& w : orders_) {
    if (!w.live && now >= w.live_at) {
      w.live = true;
      update(w, w.live_at, OrderStatus::Live, kReasonNone, updates);
    }
  }
}

void FillSimulator::execute(Working& w, std::int64_t now, double price, double quantity,
                            std::uint8_t liquidity, std::vector<Fill>& fills,
                            std::vector<OrderUpdate>& updates) {
  w.filled += quantity;
  // The minimum is per order: the first fill pays at least the minimum, later fills only what
  // the per-share rate adds beyond it.
  const double owed = std::max(model_.commission_per_share * w.filled, model_.commission_minimum);
  const double fee = owed - w.commission;
  w.commission = owed;
  double leaves = w.order.quantity - w.filled;
  if (leaves <= 1e-9 * w.order.quantity) leaves = 0.0;
  fills.push_back(Fill{now, w.order.order_id, price, quantity, fee, leaves, w.order.instrument_id,
                       w.order.side, liquidity});
  update(w, now, leaves == 0.0 ? OrderStatus::Filled : OrderStatus::PartiallyFilled, kReasonNone,
         updates);
}

bool FillSimulator::try_fill(Working& w, std::int64_t now, const Trade* trade,
                             std::vector<Fill>& fills, std::vector<OrderUpdate>& updates) {
  const Order& o = w.order;
  const bool buy = o.side == Side::Buy;
  OrderType type = o.type;
  if (type == OrderType::Stop || type == OrderType::StopLimit) {
    if (!w.triggered) {
      const double touch = buy ? ask_ : bid_;
      bool hit = touch > 0.0 && (buy ? touch >= o.stop_price : touch <= o.stop_price);
      if (trade != nullptr) hit |= buy ? trade->price >= o.stop_price : trade->price <= o.stop_price;
      if (!hit) return false;
      w.triggered = true;
      update(w, now, OrderStatus::Triggered, kReasonNone, updates);
    }
    type = type == OrderType::Stop ? OrderType::Market : OrderType::Limit;
  }
  const double touch = buy ? ask_ : bid_;
  const double shown = buy ? ask_size_ - ask_taken_ : bid_size_ - bid_taken_;
  const double remaining = o.quantity - w.filled;
  auto take = [&](double price) {
    const double quantity = model_.partial_fills ? std::min(remaining, shown) : remaining;
    if (quantity <= 0.0) return;
    (buy ? ask_taken_ : bid_taken_) += quantity;
    execute(w, now, price, quantity, kTaker, fills, updates);
  };
  if (type == OrderType::Market) {
    if (touch > 0.0) take(buy ? touch + model_.slippage : touch - model_.slippage);
  } else {  // limit
    const double limit = o.limit_price;
    const bool crosses = touch > 0.0 && (buy ? touch <= limit : touch >= limit);
    if (!w.rested) {
      // Marketable when it goes live: it takes the touch (slippage capped at the limit).
      if (crosses) {
        take(buy ? std::min(touch + model_.slippage, limit) : std::max(touch - model_.slippage, limit));
      }
      if (w.filled < o.quantity) w.rested = true;
    } else if (model_.limit_needs_trade_through) {
      if (trade != nullptr && (buy ? trade->price < limit : trade->price > limit)) {
        const double quantity = std::min(remaining, trade->size);
        if (quantity > 0.0) execute(w, now, limit, quantity, kMaker, fills, updates);
      }
    } else if (crosses) {
      // The book moved through a resting limit: it fills at its own price.
      const double quantity = model_.partial_fills ? std::min(remaining, shown) : remaining;
      if (quantity > 0.0) {
        (buy ? ask_taken_ : bid_taken_) += quantity;
        execute(w, now, limit, quantity, kMaker, fills, updates);
      }
    }
  }
  if (o.time_in_force == TimeInForce::Ioc && w.filled < o.quantity) {
    update(w, now, OrderStatus::Canceled, kReasonIocRemainder, updates);
    return true;
  }
  return w.order.quantity - w.filled <= 1e-9 * w.order.quantity;
}

void FillSimulator::match(std::int64_t now, const Trade* trade, std::vector<Fill>& fills,
                          std::vector<OrderUpdate>& updates) {
  if (halted_) return;
  std::erase_if(orders_, [&](Working& w) { return w.live && try_fill(w, now, trade, fills, updates); });
}

void FillSimulator::on_quote(const Quote& q, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates) {
  advance(q.ts_event, updates);
  if (positive(q.bid_price)) {
    bid_ = q.bid_price;
    bid_size_ = q.bid_size;
    bid_taken_ = 0.0;
  }
  if (positive(q.ask_price)) {
    ask_ = q.ask_price;
    ask_size_ = q.ask_size;
    ask_taken_ = 0.0;
  }
  match(q.ts_event, nullptr, fills, updates);
}

void FillSimulator::on_trade(const Trade& t, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates) {
  advance(t.ts_event, updates);
  if (positive(t.price)) match(t.ts_event, &t, fills, updates);
}

void FillSimulator::on_status(const Status& s, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates) {
  advance(s.ts_event, updates);
  const auto state = static_cast<TradingState>(s.state);
  halted_ = state == TradingState::Halted || state == TradingState::Paused ||
            state == TradingState::QuoteOnly;
  match(s.ts_event, nullptr, fills, updates);
}

void FillSimulator::on_clock(std::int64_t now, std::vector<Fill>& fills, std::vector<OrderUpdate>& updates) {
  advance(now, updates);
  match(now, nullptr, fills, updates);
}

}  // namespace tradecore
