#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "tradecore/error.hpp"
#include "tradecore/strategies/ema_cross.hpp"
#include "tradecore/symbol_engine.hpp"

using namespace tradecore;
using namespace tradecore::calendar;

namespace {

std::int64_t ny(int hh, int mm, int ss = 0) {
  return to_utc(days_from_civil(2013, 10, 7) * kDay + hh * kHour + mm * kMinute + ss * kSecond);
}

/// Records the order in which events reach it.
class Recorder final : public Strategy {
 public:
  Recorder() : Strategy("recorder", {"IDLE"}, {}, {}) {}
  std::vector<char> seen;
  void on_bar(const Bar&, StrategyOutput&) override { seen.push_back('b'); }
  void on_quote(const Quote&, StrategyOutput&) override { seen.push_back('q'); }
  void on_trade(const Trade&, StrategyOutput&) override { seen.push_back('t'); }
  void on_clock(std::int64_t, StrategyOutput&) override { seen.push_back('c'); }
  bool wants_quotes() const override { return true; }
  bool wants_trades() const override { return true; }
};

class Throws final : public Strategy {
 public:
  Throws() : Strategy("throws", {"IDLE"}, {}, {}) {}
  void on_bar(const Bar& bar, StrategyOutput&) override {
    if (bar.close > 50) throw std::runtime_error("cannot handle this bar");
  }
};

Bar bar(std::int64_t start, double close) {
  Bar b{};
  b.ts_event = start;
  b.ts_end = start + kMinute;
  b.open = b.high = b.low = b.close = close;
  b.volume = 1000;
  return b;
}

}  // namespace

TEST_CASE("events merge by time with ties broken status, quote, trade, bar, clock", "[engine]") {
  EngineConfig c;
  c.aggregate_trades = false;
  SymbolEngine engine(c);
  auto recorder = std::make_shared<Recorder>();
  engine.add_strategy(recorder);
  const std::int64_t t0 = ny(9, 31);
  std::vector<Trade> trades{Trade{t0, 10, 1, 0, 0, 0, 0, 0}, Trade{t0 + 2, 10, 1, 0, 0, 0, 0, 0}};
  std::vector<Quote> quotes{Quote{t0, 9.9, 10.1, 1, 1, 0, 0, 0, 0, 0}, Quote{t0 + 3, 9.9, 10.1, 1, 1, 0, 0, 0, 0, 0}};
  std::vector<Bar> bars{bar(t0 - kMinute, 10)};  // ends at t0: a tie with the trade and quote
  std::vector<std::int64_t> clock{t0, t0 + 1};
  engine.load(trades, quotes, bars, {}, clock);
  CHECK(engine.run() == StopReason::Exhausted);
  CHECK(std::string(recorder->seen.begin(), recorder->seen.end()) == "qtbcctq");
  CHECK(engine.events_processed() == 7);
  CHECK(engine.exhausted());
}

TEST_CASE("the engine stops for intents and fills, and resumes where it stopped", "[engine]") {
  EngineConfig c;
  c.aggregate_trades = false;
  c.simulate_fills = true;
  SymbolEngine engine(c);
  strategies::EmaCrossParams p;
  p.fast = 2;
  p.slow = 3;
  auto strategy = std::make_shared<strategies::EmaCross>(p);
  const auto id = engine.add_strategy(strategy);
  std::vector<Bar> bars;
  const double closes[] = {10, 10, 10, 9, 9, 12, 12, 12, 8, 8, 8};
  for (int i = 0; i < 11; ++i) bars.push_back(bar(ny(10, i), closes[i]));
  engine.load({}, {}, bars, {}, {});
  REQUIRE(engine.run() == StopReason::Intent);
  EngineOutput out = engine.take_output();
  REQUIRE(out.intents.size() == 1);
  CHECK(out.intents[0].side == Side::Buy);
  CHECK(out.transitions[out.intents[0].transition].rule == strategies::EmaCross::kCrossAbove);
  engine.submit(Order{1, engine.now(), 100, 0, 0, 0, Side::Buy, OrderType::Market, TimeInForce::Day}, id);
  out = engine.take_output();
  REQUIRE(out.fills.size() == 1);
  CHECK(out.fills[0].price == 12);  // the signal bar's close acts as the book
  CHECK(strategy->state() == strategies::EmaCross::kLong);
  REQUIRE(engine.run() == StopReason::Intent);
  out = engine.take_output();
  CHECK(out.intents[0].side == Side::Sell);
  CHECK(out.intents[0].sizing == Sizing::ClosePosition);
  // The transition index is absolute across takes: two records were taken before this one.
  CHECK(out.intents[0].transition == 2);
  CHECK(engine.run() == StopReason::Exhausted);
}

TEST_CASE("a throwing strategy stops its engine and names the event", "[engine]") {
  EngineConfig c;
  c.aggregate_trades = false;
  SymbolEngine engine(c);
  engine.add_strategy(std::make_shared<Throws>());
  std::vector<Bar> bars{bar(ny(10, 0), 10), bar(ny(10, 1), 60), bar(ny(10, 2), 10)};
  engine.load({}, {}, bars, {}, {});
  try {
    engine.run();
    FAIL("expected a StrategyError");
  } catch (const StrategyError& e) {
    CHECK(std::string(e.what()).find("bar at ts_event=" + std::to_string(ny(10, 2))) != std::string::npos);
    CHECK(std::string(e.what()).find("cannot handle this bar") != std::string::npos);
  }
  CHECK(engine.faulted());
  CHECK(engine.events_processed() == 2);
  CHECK_THROWS_AS(engine.run(), Error);
}

TEST_CASE("a trade never replaces the quoted book; without quotes it stands in for one", "[engine]") {
  EngineConfig c;
  c.aggregate_trades = false;
  c.simulate_fills = true;
  SymbolEngine engine(c);
  const auto id = engine.add_strategy(std::make_shared<Recorder>());
  // Quotes and trades arrive in separate loads, as the live pipeline feeds them.
  const std::vector<Quote> quotes{Quote{ny(10, 0), 10.00, 10.10, 1000, 1000, 0, 0, 0, 0, 0}};
  engine.load({}, quotes, {}, {}, {});
  engine.run();
  const std::vector<Trade> trades{Trade{ny(10, 0, 1), 10.02, 5, 0, 0, 0, 0, 0}};
  engine.load(trades, {}, {}, {}, {});
  engine.run();
  engine.take_output();
  engine.submit(Order{1, engine.now(), 50, 0, 0, 0, Side::Buy, OrderType::Market, TimeInForce::Day}, id);
  EngineOutput out = engine.take_output();
  REQUIRE(out.fills.size() == 1);
  CHECK(out.fills[0].price == Approx(10.10));  // the ask, not the 5-share print at 10.02
  CHECK(out.fills[0].quantity == 50);

  SymbolEngine no_quotes(c);
  const auto other = no_quotes.add_strategy(std::make_shared<Recorder>());
  no_quotes.load(trades, {}, {}, {}, {});
  no_quotes.run();
  no_quotes.submit(Order{2, no_quotes.now(), 5, 0, 0, 0, Side::Buy, OrderType::Market, TimeInForce::Day}, other);
  out = no_quotes.take_output();
  REQUIRE(out.fills.size() == 1);
  CHECK(out.fills[0].price == Approx(10.02));  // no quote ever: the last print is the book
}

TEST_CASE("ema_cross adopts a restored long after warm-up and exits on the reverse cross", "[engine][adopt]") {
  EngineConfig c;
  c.aggregate_trades = false;
  c.simulate_fills = true;
  SymbolEngine engine(c);
  strategies::EmaCrossParams p;
  p.fast = 2;
  p.slow = 3;
  p.quantity = 100;
  auto strategy = std::make_shared<strategies::EmaCross>(p);
  const auto id = engine.add_strategy(strategy);
  std::vector<Bar> history;
  for (int i = 0; i < 6; ++i) history.push_back(bar(ny(10, i), 12));
  engine.warm_up(history);
  Adoption position;
  position.quantity = -50;
  position.average_price = 12;
  position.entry_ts = ny(10, 2);
  position.now = ny(10, 6);
  AdoptResult refused = engine.adopt(id, position);
  CHECK_FALSE(refused.adopted);
  CHECK(refused.reason == "ema_cross is long-only: it cannot manage a short of 50 shares");
  position.quantity = 200;
  CHECK(engine.adopt(id, position).reason == "ema_cross: 200 shares is more than one entry buys (100)");
  CHECK(engine.output().transitions.empty());
  position.quantity = 60;  // a partial entry is held as it is
  const AdoptResult adopted = engine.adopt(id, position);
  REQUIRE(adopted.adopted);
  CHECK(adopted.reason == "ema_cross manages 60 shares at 12 (LONG)");
  CHECK(strategy->state() == strategies::EmaCross::kLong);
  CHECK(strategy->position() == 60);
  EngineOutput out = engine.take_output();
  REQUIRE(out.transitions.size() == 1);
  CHECK(out.transitions[0].rule == strategies::EmaCross::kAdopted);
  CHECK(out.transitions[0].from_state == strategies::EmaCross::kFlat);

  std::vector<Bar> bars{bar(ny(10, 6), 12), bar(ny(10, 7), 8)};
  engine.load({}, {}, bars, {}, {});
  REQUIRE(engine.run() == StopReason::Intent);
  out = engine.take_output();
  REQUIRE(out.intents.size() == 1);
  CHECK(out.intents[0].side == Side::Sell);
  CHECK(out.intents[0].quantity == 60);
  CHECK(out.transitions.back().rule == strategies::EmaCross::kCrossBelow);
  engine.submit(Order{1, engine.now(), 60, 0, 0, 0, Side::Sell, OrderType::Market, TimeInForce::Day}, id);
  CHECK(strategy->state() == strategies::EmaCross::kFlat);
  CHECK(strategy->position() == 0);
}

TEST_CASE("a strategy that does not say how to adopt refuses", "[engine][adopt]") {
  Strategy plain("plain", {"FLAT", "LONG"}, {}, {});
  StrategyOutput out;
  Adoption position;
  position.quantity = 10;
  position.average_price = 5;
  const AdoptResult r = plain.adopt(position, out);
  CHECK_FALSE(r.adopted);
  CHECK(r.reason == "plain does not adopt restored positions");
  CHECK(plain.position() == 0);
  CHECK(out.transitions.empty());

  // Saying yes without moving out of FLAT is a bug: nothing would manage the position.
  struct Careless : Strategy {
    Careless() : Strategy("careless", {"FLAT", "LONG"}, {}, {}) {}
    AdoptResult on_adopt(const Adoption&, StrategyOutput&) override { return {true, "sure"}; }
  } careless;
  CHECK_THROWS_AS(careless.adopt(position, out), StrategyError);
  CHECK(careless.position() == 0);

  // Saying no after moving out of FLAT is one too: that state would manage shares not held.
  struct Fickle : Strategy {
    Fickle() : Strategy("fickle", {"FLAT", "LONG"}, {RuleInfo{"adopted", 0, 1, Trigger::Resume}}, {}) {}
    AdoptResult on_adopt(const Adoption& a, StrategyOutput& o) override {
      fire(0, a.now, Snapshot{}, o);
      return {false, "changed my mind"};
    }
  } fickle;
  CHECK_THROWS_AS(fickle.adopt(position, out), StrategyError);
  CHECK(fickle.position() == 0);
}
