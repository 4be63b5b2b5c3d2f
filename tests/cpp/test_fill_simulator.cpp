#include <catch2/catch.hpp>
#include <vector>

#include "tradecore/error.hpp"
#include "tradecore/fill_simulator.hpp"

using namespace tradecore;

namespace {

constexpr std::int64_t kUs = 1000;

Quote quote(std::int64_t ts, double bid, double ask, double bid_size = 500, double ask_size = 500) {
  return Quote{ts, bid, ask, bid_size, ask_size, 0, 0, 'P', 'P', 0};
}
Trade trade(std::int64_t ts, double price, double size) { return Trade{ts, price, size, 0, 0, 0, 'P', 0}; }
Order order(std::uint64_t id, std::int64_t ts, Side side, OrderType type, double qty, double limit = 0,
            double stop = 0, TimeInForce tif = TimeInForce::Day) {
  return Order{id, ts, qty, limit, stop, 0, side, type, tif};
}

struct Venue {
  FillSimulator sim;
  std::vector<Fill> fills;
  std::vector<OrderUpdate> updates;
  explicit Venue(FillModel m = {}) : sim(m) {}
  void q(const Quote& x) { sim.on_quote(x, fills, updates); }
  void t(const Trade& x) { sim.on_trade(x, fills, updates); }
  void submit(const Order& o) { sim.submit(o, updates); }
  OrderStatus last_status() const { return updates.back().status; }
};

}  // namespace

TEST_CASE("a market order fills at the touch plus slippage once live", "[fills]") {
  FillModel m;
  m.slippage = 0.01;
  m.submit_latency_ns = 100 * kUs;
  Venue v(m);
  v.q(quote(0, 10.00, 10.05));
  v.submit(order(1, 1000, Side::Buy, OrderType::Market, 100));
  CHECK(v.last_status() == OrderStatus::Submitted);
  v.q(quote(50 * kUs, 10.00, 10.06));  // not live yet
  CHECK(v.fills.empty());
  v.q(quote(101 * kUs + 1000, 10.01, 10.07));
  REQUIRE(v.fills.size() == 1);
  CHECK(v.fills[0].price == Approx(10.08));
  CHECK(v.fills[0].quantity == 100);
  CHECK(v.fills[0].liquidity == 1);
  CHECK(v.last_status() == OrderStatus::Filled);
  CHECK(v.sim.open_orders() == 0);

  v.submit(order(2, 200 * kUs, Side::Sell, OrderType::Market, 50));
  v.sim.on_clock(300 * kUs + 1000, v.fills, v.updates);
  REQUIRE(v.fills.size() == 2);
  CHECK(v.fills[1].price == Approx(10.00));  // bid 10.01 - 0.01
}

TEST_CASE("partial fills are limited by displayed size and refill on new quotes", "[fills]") {
  Venue v;
  v.q(quote(0, 10.00, 10.05, 100, 300));
  v.submit(order(1, 0, Side::Buy, OrderType::Market, 1000));
  v.sim.on_clock(0, v.fills, v.updates);
  REQUIRE(v.fills.size() == 1);
  CHECK(v.fills[0].quantity == 300);
  CHECK(v.fills[0].leaves_quantity == 700);
  CHECK(v.last_status() == OrderStatus::PartiallyFilled);
  v.sim.on_clock(1, v.fills, v.updates);  // same quote: its size is used up
  CHECK(v.fills.size() == 1);
  v.q(quote(2, 10.00, 10.06, 100, 800));
  REQUIRE(v.fills.size() == 2);
  CHECK(v.fills[1].quantity == 700);
  CHECK(v.fills[1].price == 10.06);
}

TEST_CASE("limit orders: marketable ones take, resting ones fill at their price", "[fills]") {
  Venue v;
  v.q(quote(0, 10.00, 10.05));
  v.submit(order(1, 0, Side::Buy, OrderType::Limit, 100, 10.10));  // marketable
  v.submit(order(2, 0, Side::Buy, OrderType::Limit, 100, 9.98));   // rests
  v.sim.on_clock(0, v.fills, v.updates);
  REQUIRE(v.fills.size() == 1);
  CHECK(v.fills[0].price == 10.05);
  CHECK(v.fills[0].liquidity == 1);
  v.q(quote(10, 9.95, 9.99));  // ask above the resting limit: nothing
  CHECK(v.fills.size() == 1);
  v.q(quote(20, 9.90, 9.97));  // the book moved through it
  REQUIRE(v.fills.size() == 2);
  CHECK(v.fills[1].order_id == 2);
  CHECK(v.fills[1].price == 9.98);
  CHECK(v.fills[1].liquidity == 2);
}

TEST_CASE("with trade-through, resting limits fill only on prints through the price", "[fills]") {
  FillModel m;
  m.limit_needs_trade_through = true;
  Venue v(m);
  v.q(quote(0, 10.00, 10.05));
  v.submit(order(1, 0, Side::Sell, OrderType::Limit, 300, 10.10));
  v.sim.on_clock(0, v.fills, v.updates);
  v.q(quote(10, 10.10, 10.12));  // bid reaches the limit: not enough without a print
  v.t(trade(11, 10.10, 500));    // at the limit: not through
  CHECK(v.fills.empty());
  v.t(trade(12, 10.11, 120));
  REQUIRE(v.fills.size() == 1);
  CHECK(v.fills[0].price == 10.10);
  CHECK(v.fills[0].quantity == 120);
}

TEST_CASE("stop and stop-limit orders trigger on the touch or a print", "[fills]") {
  Venue v;
  v.q(quote(0, 10.00, 10.05));
  v.submit(order(1, 0, Side::Sell, OrderType::Stop, 100, 0, 9.90));
  v.submit(order(2, 0, Side::Buy, OrderType::StopLimit, 100, 10.22, 10.20));
  v.sim.on_clock(0, v.fills, v.updates);
  CHECK(v.fills.empty());
  v.t(trade(5, 9.89, 100));  // a print at the stop triggers the sell stop: market at the bid
  REQUIRE(v.fills.size() == 1);
  CHECK(v.fills[0].order_id == 1);
  CHECK(v.fills[0].price == 10.00);
  v.q(quote(10, 10.19, 10.25));  // ask 10.25 >= stop 10.20 triggers; limit 10.22 not reachable
  CHECK(v.fills.size() == 1);
  bool triggered = false;
  for (const auto& u : v.updates) triggered |= u.order_id == 2 && u.status == OrderStatus::Triggered;
  CHECK(triggered);
  v.q(quote(20, 10.18, 10.21));
  REQUIRE(v.fills.size() == 2);
  CHECK(v.fills[1].price == 10.22);  // the resting limit fills at its price
}

TEST_CASE("cancels respect latency and win over fills at the same instant", "[fills]") {
  FillModel m;
  m.cancel_latency_ns = 50;
  Venue v(m);
  v.q(quote(0, 10.00, 10.05));
  v.submit(order(1, 0, Side::Buy, OrderType::Limit, 100, 9.00));
  v.sim.on_clock(0, v.fills, v.updates);
  v.sim.cancel(1, 100, v.updates);
  v.q(quote(120, 8.90, 8.95));  // before the cancel lands: fills
  REQUIRE(v.fills.size() == 1);
  v.q(quote(150, 10.00, 10.05));
  v.submit(order(2, 200, Side::Buy, OrderType::Limit, 100, 9.00));
  v.sim.on_clock(200, v.fills, v.updates);
  v.sim.cancel(2, 300, v.updates);
  v.q(quote(350, 8.90, 8.95));  // the cancel is effective at 350: no fill
  CHECK(v.fills.size() == 1);
  CHECK(v.last_status() == OrderStatus::Canceled);
  v.sim.cancel(99, 400, v.updates);
  CHECK(v.updates.back().reason == kReasonUnknownOrder);
}

TEST_CASE("halts block fills until trading resumes", "[fills]") {
  Venue v;
  v.q(quote(0, 10.00, 10.05));
  v.sim.on_status(Status{1, 0, static_cast<std::uint8_t>(TradingState::Halted), "H", "T1"}, v.fills, v.updates);
  CHECK(v.sim.halted());
  v.submit(order(1, 2, Side::Buy, OrderType::Market, 100));
  v.q(quote(3, 10.00, 10.05));
  CHECK(v.fills.empty());
  v.sim.on_status(Status{4, 0, static_cast<std::uint8_t>(TradingState::Trading), "T", ""}, v.fills, v.updates);
  REQUIRE(v.fills.size() == 1);
  CHECK(v.fills[0].ts_event == 4);
}

TEST_CASE("commissions: per share with a per-order minimum", "[fills]") {
  FillModel m;
  m.commission_per_share = 0.005;
  m.commission_minimum = 1.0;
  Venue v(m);
  v.q(quote(0, 10.00, 10.05, 100, 100));
  v.submit(order(1, 0, Side::Buy, OrderType::Market, 300));
  v.sim.on_clock(0, v.fills, v.updates);
  v.q(quote(1, 10.00, 10.05, 100, 100));
  v.q(quote(2, 10.00, 10.05, 100, 100));
  REQUIRE(v.fills.size() == 3);
  CHECK(v.fills[0].commission == Approx(1.0));  // 0.50 raised to the minimum
  CHECK(v.fills[1].commission == Approx(0.0));  // 1.00 owed in all, already paid
  CHECK(v.fills[2].commission == Approx(0.5));  // 1.50 owed in all
}

TEST_CASE("IOC orders cancel what the book does not fill", "[fills]") {
  Venue v;
  v.q(quote(0, 10.00, 10.05, 100, 100));
  v.submit(order(1, 0, Side::Buy, OrderType::Limit, 250, 10.05, 0, TimeInForce::Ioc));
  v.sim.on_clock(0, v.fills, v.updates);
  REQUIRE(v.fills.size() == 1);
  CHECK(v.fills[0].quantity == 100);
  CHECK(v.last_status() == OrderStatus::Canceled);
  CHECK(v.updates.back().reason == kReasonIocRemainder);
  CHECK(v.sim.open_orders() == 0);
}

TEST_CASE("invalid and duplicate orders are rejected; bad models are config errors", "[fills]") {
  Venue v;
  v.submit(order(1, 0, Side::Buy, OrderType::Limit, 100, 0.0));
  CHECK(v.last_status() == OrderStatus::Rejected);
  CHECK(v.updates.back().reason == kReasonInvalidOrder);
  v.submit(order(2, 0, Side::Buy, OrderType::Market, -5));
  CHECK(v.updates.back().reason == kReasonInvalidOrder);
  v.submit(order(3, 0, Side::Buy, OrderType::Limit, 100, 9.0));
  v.submit(order(3, 0, Side::Buy, OrderType::Limit, 100, 9.0));
  CHECK(v.updates.back().reason == kReasonDuplicateId);
  FillModel bad;
  bad.slippage = -0.01;
  CHECK_THROWS_AS(FillSimulator(bad), ConfigError);
}

TEST_CASE("the same input gives the same fills", "[fills]") {
  auto run = [] {
    FillModel m;
    m.submit_latency_ns = 7;
    m.slippage = 0.02;
    Venue v(m);
    for (int i = 0; i < 200; ++i) {
      v.q(quote(i * 10, 10.0 + 0.01 * (i % 17), 10.05 + 0.01 * (i % 17), 100 + i, 90 + i));
      if (i % 9 == 0) v.submit(order(i + 1, i * 10, i % 2 ? Side::Buy : Side::Sell, OrderType::Limit, 150, 10.08));
    }
    return v.fills;
  };
  auto a = run(), b = run();
  REQUIRE(a.size() == b.size());
  REQUIRE(!a.empty());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].price == b[i].price);
    CHECK(a[i].quantity == b[i].quantity);
    CHECK(a[i].ts_event == b[i].ts_event);
  }
}
