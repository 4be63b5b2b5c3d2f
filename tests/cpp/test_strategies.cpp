// Every transition of the built-in strategies, driven by hand-built event sequences: bars at
// New York times, quotes for the spread, fills and order updates fed straight to the strategy.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "tradecore/calendar.hpp"
#include "tradecore/error.hpp"
#include "tradecore/strategies/ema_cross.hpp"
#include "tradecore/strategies/premarket_momentum.hpp"
#include "tradecore/strategies/vwap_reclaim.hpp"
#include "tradecore/symbol_engine.hpp"

using namespace tradecore;
using namespace tradecore::strategies;
using calendar::kDay;
using calendar::kHour;
using calendar::kMinute;
using calendar::kSecond;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// UTC ns of a New York wall-clock time on June `day`, 2024 (daylight time).
std::int64_t ny(int h, int m, int s = 0, int day = 4) {
  return calendar::to_utc(calendar::days_from_civil(2024, 6, static_cast<unsigned>(day)) * kDay + h * kHour +
                          m * kMinute + s * kSecond);
}

/// A one-minute bar opening at h:m New York time; its vwap is its close.
Bar bar(int h, int m, double open, double high, double low, double close, double volume = 1000, int day = 4) {
  const std::int64_t t = ny(h, m, 0, day);
  return Bar{t, t + kMinute, open, high, low, close, volume, close, 1, 0, 0, 0};
}

Quote quote(std::int64_t ts, double bid, double ask) { return Quote{ts, bid, ask, 500, 500, 0, 0, 'P', 'P', 0}; }

Fill fill(std::int64_t ts, Side side, double price, double quantity, double leaves = 0) {
  return Fill{ts, 1, price, quantity, 0.0, leaves, 0, side, 1};
}

OrderUpdate update(std::int64_t ts, OrderStatus status, double filled, double leaves = 0) {
  return OrderUpdate{ts, 1, filled, leaves, 0, status, kReasonNone};
}

/// The value a transition recorded under `name` (NaN if it recorded none).
double seen(const Strategy& s, const TransitionRecord& r, const char* name) {
  const std::uint16_t id = s.value_id(name);
  for (int i = 0; i < r.value_count; ++i)
    if (r.value_names[i] == id) return r.values[i];
  return kNaN;
}

/// Drives one strategy; each step clears the output so tests see only that step's.
template <class S>
struct Driver {
  S s;
  StrategyOutput out;
  template <class P>
  explicit Driver(const P& p) : s(p) {}
  void on(const Bar& b) { out.clear(), s.on_bar(b, out); }
  void on(const Quote& q) { out.clear(), s.on_quote(q, out); }
  void on(const Fill& f) { out.clear(), s.on_fill(f, out); }
  void on(const OrderUpdate& u) { out.clear(), s.on_order_update(u, out); }
  void clock(std::int64_t now) { out.clear(), s.on_clock(now, out); }
  /// The single transition of the last step, checked against `rule`, and the state it reached.
  const TransitionRecord& fired(const char* rule, std::uint8_t to) {
    REQUIRE(out.transitions.size() == 1);
    const TransitionRecord& r = out.transitions.back();
    CHECK(s.rules()[r.rule].name == rule);
    CHECK(r.rule == s.rule_id(rule));
    CHECK(r.to_state == to);
    CHECK(s.state() == to);
    return r;
  }
  double v(const char* name) { return seen(s, out.transitions.back(), name); }
  void nothing() {
    CHECK(out.transitions.empty());
    CHECK(out.intents.empty());
  }
};

// ---- premarket_momentum -------------------------------------------------------------------

using PM = PremarketMomentum;

PremarketMomentumParams pm_params() {
  PremarketMomentumParams p;
  p.prior_close = 4.00;  // 5.10 is a 27.5 % gap
  p.min_gap_percent = 20;
  p.min_relative_volume = 0;  // most tests: no history needed (the rvol test turns it on)
  p.max_spread = 0.05;
  p.pullback_bars = 5;
  p.target_percent = 10;
  p.trailing_stop_percent = 0;
  p.max_minutes_in_trade = 30;
  p.cooldown_minutes = 15;
  p.quantity = 100;
  return p;
}

/// FLAT -> ARMED on a 07:00 premarket bar (premarket high 5.20), then a 0.02 spread quote.
void pm_armed(Driver<PM>& d) {
  d.on(bar(7, 0, 5.00, 5.20, 4.95, 5.10));
  REQUIRE(d.s.state() == PM::kArmed);
  d.on(quote(ny(7, 0, 30), 5.18, 5.20));
}

/// ... a bar below the premarket high, then a 5.28 close breaking 5.20.
void pm_pending_entry(Driver<PM>& d) {
  pm_armed(d);
  d.on(bar(7, 1, 5.10, 5.15, 5.05, 5.12));
  d.nothing();
  d.on(bar(7, 2, 5.12, 5.30, 5.10, 5.28));
  REQUIRE(d.s.state() == PM::kPendingEntry);
}

/// ... bought 100 at 5.29 at 07:03 (target 5.819, stop 4.95, VWAP 5.1667).
void pm_long(Driver<PM>& d) {
  pm_pending_entry(d);
  d.on(fill(ny(7, 3), Side::Buy, 5.29, 100));
  REQUIRE(d.s.state() == PM::kLong);
}

void check_close_intent(const Driver<PM>& d, double quantity, double reference) {
  REQUIRE(d.out.intents.size() == 1);
  const TradeIntent& i = d.out.intents[0];
  CHECK(i.side == Side::Sell);
  CHECK(i.sizing == Sizing::ClosePosition);
  CHECK(i.order_type == OrderType::Market);
  CHECK(i.quantity == Approx(quantity));
  CHECK(i.reference_price == Approx(reference));
  CHECK(i.rule == d.out.transitions.back().rule);
  CHECK(i.transition == 0);
}

}  // namespace

TEST_CASE("premarket_momentum declares its states and rules in the documented order", "[strategies]") {
  PM s(pm_params());
  CHECK(s.name() == "premarket_momentum");
  CHECK(s.states() == std::vector<std::string>{"FLAT", "ARMED", "PENDING_ENTRY", "LONG", "PENDING_EXIT", "COOLDOWN"});
  const std::vector<std::string> names{"arm",           "disarm",       "break_premarket_high", "reclaim_vwap",
                                       "entry_filled",  "entry_canceled", "stop_hit",          "target_hit",
                                       "trailing_stop_hit", "vwap_lost", "time_stop",          "exit_filled",
                                       "exit_filled_at_loss", "exit_canceled", "cooldown_over",
                                       "adopted",     "adopted_exit_pending", "adopted_entry_pending",
                                       "exit_incomplete"};
  REQUIRE(s.rules().size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) CHECK(s.rules()[i].name == names[i]);
  CHECK(s.rule_id("time_stop") == PM::kTimeStop);
  CHECK(s.value_id("premarket_high") == PM::kPremarketHigh);
  CHECK(s.value_id("minutes_since_exit") == PM::kMinutesSinceExit);
  CHECK(s.wants_quotes());
  CHECK_FALSE(s.wants_trades());
}

TEST_CASE("premarket_momentum rejects bad parameters", "[strategies]") {
  auto p = pm_params();
  p.prior_close = 0;
  CHECK_THROWS_AS(PM(p), ConfigError);
  p = pm_params();
  p.sizing = Sizing::ClosePosition;
  CHECK_THROWS_AS(PM(p), ConfigError);
  p = pm_params();
  p.stop_mode = StopMode::FixedPercent;
  p.stop_percent = 0;
  CHECK_THROWS_AS(PM(p), ConfigError);
  p = pm_params();
  p.max_spread = 0;
  CHECK_FALSE(PM(p).wants_quotes());
}

TEST_CASE("premarket_momentum arm: a gapper in the premarket", "[strategies]") {
  Driver<PM> d(pm_params());
  d.on(bar(6, 59, 4.50, 4.70, 4.50, 4.70));  // 17.5 %: not enough
  d.nothing();
  d.on(bar(7, 0, 5.00, 5.20, 4.95, 5.10));
  d.fired("arm", PM::kArmed);
  CHECK(d.v("close") == 5.10);
  CHECK(d.v("gap_pct") == Approx(27.5));
  CHECK(d.v("rvol") == 0.0);
  CHECK(d.v("time_of_day") == Approx(7 * 60 + 1));  // the bar's end, 07:01
  CHECK(d.out.intents.empty());
  CHECK(d.s.premarket_high() == 5.20);
}

TEST_CASE("premarket_momentum does not arm from the entry cutoff on", "[strategies]") {
  Driver<PM> d(pm_params());
  d.on(bar(10, 29, 5.00, 5.20, 4.95, 5.10));  // ends 10:30 = entry_until
  d.nothing();
}

TEST_CASE("premarket_momentum arm waits for relative volume against the prior sessions", "[strategies]") {
  auto p = pm_params();
  p.min_relative_volume = 3;
  p.relative_volume_sessions = 1;
  Driver<PM> d(p);
  CHECK_FALSE(d.s.ready());
  // Yesterday: 1,000 shares at 07:00 and at 07:01. Today starts at 06:00 with 100 shares.
  d.s.warm_up(bar(7, 0, 4.0, 4.0, 4.0, 4.0, 1000, 3));
  d.s.warm_up(bar(7, 1, 4.0, 4.0, 4.0, 4.0, 1000, 3));
  CHECK_FALSE(d.s.ready());
  d.s.warm_up(bar(6, 0, 4.90, 5.00, 4.90, 4.90, 100));  // a gapper bar, but warm-up never fires
  CHECK(d.s.ready());
  CHECK(d.s.state() == PM::kFlat);
  CHECK(d.s.premarket_high() == 5.00);
  // 07:00: 1,100 today vs 1,000 -> 1.1, below 3.
  d.on(bar(7, 0, 5.00, 5.05, 4.95, 5.10, 1000));
  d.nothing();
  CHECK(d.s.relative_volume() == Approx(1.1));
  // 07:01: 6,100 vs 2,000 -> 3.05.
  d.on(bar(7, 1, 5.10, 5.15, 5.05, 5.12, 5000));
  d.fired("arm", PM::kArmed);
  CHECK(d.v("rvol") == Approx(3.05));
  CHECK(d.v("gap_pct") == Approx(28.0));
}

TEST_CASE("premarket_momentum disarm: the gap fades below the minimum", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_armed(d);
  d.on(bar(7, 1, 5.00, 5.00, 4.70, 4.75));
  d.fired("disarm", PM::kFlat);
  CHECK(d.v("close") == 4.75);
  CHECK(d.v("gap_pct") == Approx(18.75));
  CHECK(d.v("time_of_day") == Approx(422));
  CHECK(d.out.intents.empty());
}

TEST_CASE("premarket_momentum disarm: the entry window closes", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_armed(d);
  d.on(bar(10, 29, 5.10, 5.40, 5.10, 5.35));  // above the premarket high, but at 10:30
  d.fired("disarm", PM::kFlat);
  CHECK(d.v("time_of_day") == Approx(630));
  CHECK(d.v("gap_pct") == Approx(33.75));
}

TEST_CASE("premarket_momentum break_premarket_high: buy with the pullback-low stop", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_armed(d);
  d.on(bar(7, 1, 5.10, 5.20, 5.05, 5.20));  // equal to the high is not a break
  d.nothing();
  d.on(bar(7, 2, 5.12, 5.30, 5.10, 5.28));
  d.fired("break_premarket_high", PM::kPendingEntry);
  CHECK(d.v("close") == 5.28);
  CHECK(d.v("premarket_high") == 5.20);  // of the earlier bars, not this one's 5.30
  CHECK(d.v("spread") == Approx(0.02));
  CHECK(d.v("gap_pct") == Approx(32.0));
  CHECK(d.v("stop") == 4.95);  // lowest low of the last 5 bars
  REQUIRE(d.out.intents.size() == 1);
  const TradeIntent& i = d.out.intents[0];
  CHECK(i.side == Side::Buy);
  CHECK(i.sizing == Sizing::Shares);
  CHECK(i.quantity == 100);
  CHECK(i.order_type == OrderType::Market);
  CHECK(i.stop_price == 4.95);
  CHECK(i.reference_price == 5.28);
  CHECK(i.ts_event == ny(7, 3));
  CHECK(i.rule == PM::kBreakPremarketHigh);
  CHECK(i.transition == 0);
  CHECK(d.s.premarket_high() == 5.30);
}

TEST_CASE("premarket_momentum enters only with a known spread at or below the limit", "[strategies]") {
  Driver<PM> d(pm_params());
  d.on(bar(7, 0, 5.00, 5.20, 4.95, 5.10));
  REQUIRE(d.s.state() == PM::kArmed);
  d.on(bar(7, 1, 5.12, 5.30, 5.10, 5.28));  // no quote yet
  d.nothing();
  d.on(quote(ny(7, 1, 30), 5.20, 5.30));  // 0.10 wide
  d.on(bar(7, 2, 5.28, 5.40, 5.25, 5.38));
  d.nothing();
  d.on(quote(ny(7, 2, 30), 5.38, 0));  // one-sided: ignored
  CHECK(d.s.spread() == Approx(0.10));
  d.on(quote(ny(7, 2, 40), 5.37, 5.40));
  d.on(bar(7, 3, 5.38, 5.50, 5.35, 5.45));
  d.fired("break_premarket_high", PM::kPendingEntry);
  CHECK(d.v("spread") == Approx(0.03));
  CHECK(d.v("premarket_high") == 5.40);
}

TEST_CASE("premarket_momentum reclaim_vwap: marketable limit, risk sizing, fixed-percent stop", "[strategies]") {
  auto p = pm_params();
  p.entry_mode = EntryMode::VwapReclaim;
  p.stop_mode = StopMode::FixedPercent;
  p.stop_percent = 4;
  p.sizing = Sizing::RiskPerTrade;
  p.quantity = 200;  // dollars at risk
  p.entry_order = EntryOrder::MarketableLimit;
  p.limit_offset = 0.02;
  Driver<PM> d(p);
  pm_armed(d);                                // VWAP 5.10
  d.on(bar(7, 1, 5.10, 5.10, 4.90, 5.00));  // below VWAP (5.05)
  d.nothing();
  d.on(quote(ny(7, 2, 30), 5.19, 5.21));
  d.on(bar(7, 2, 5.00, 5.22, 5.00, 5.20));  // VWAP 5.10
  d.fired("reclaim_vwap", PM::kPendingEntry);
  CHECK(d.v("close") == 5.20);
  CHECK(d.v("vwap") == Approx(5.10));
  CHECK(d.v("prev_close") == 5.00);
  CHECK(d.v("prev_vwap") == Approx(5.05));
  CHECK(d.v("spread") == Approx(0.02));
  CHECK(d.v("stop") == Approx(4.992));
  REQUIRE(d.out.intents.size() == 1);
  const TradeIntent& i = d.out.intents[0];
  CHECK(i.side == Side::Buy);
  CHECK(i.sizing == Sizing::RiskPerTrade);
  CHECK(i.quantity == 200);
  CHECK(i.stop_price == Approx(4.992));
  CHECK(i.order_type == OrderType::Limit);
  CHECK(i.limit_price == Approx(5.23));
}

TEST_CASE("premarket_momentum entry_filled: the whole entry order filled", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_pending_entry(d);
  d.on(fill(ny(7, 3), Side::Buy, 5.28, 40, 60));  // partial: still pending
  d.nothing();
  d.on(fill(ny(7, 3, 1), Side::Buy, 5.30, 60, 0));
  d.fired("entry_filled", PM::kLong);
  CHECK(d.v("position") == 100);
  CHECK(d.v("fill_price") == 5.30);
  CHECK(d.v("entry_price") == Approx(5.292));
  CHECK(d.v("stop") == 4.95);
  CHECK(d.v("target") == Approx(5.8212));
  CHECK(d.out.intents.empty());
  CHECK(d.s.position() == 100);
}

TEST_CASE("premarket_momentum entry_filled: an order closed after a partial fill", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_pending_entry(d);
  d.on(fill(ny(7, 3), Side::Buy, 5.29, 60, 40));
  d.on(update(ny(7, 3, 5), OrderStatus::Canceled, 60));
  d.fired("entry_filled", PM::kLong);
  CHECK(d.v("position") == 60);
  CHECK(d.v("filled_quantity") == 60);
}

TEST_CASE("premarket_momentum entry_filled: the cancel routed before its last fill", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_pending_entry(d);
  d.on(update(ny(7, 3), OrderStatus::Canceled, 60));
  d.fired("entry_filled", PM::kLong);
  CHECK(d.v("position") == 0);
  d.on(fill(ny(7, 3), Side::Buy, 5.29, 60, 0));
  d.nothing();
  CHECK(d.s.position() == 60);
  CHECK(d.s.entry_price() == Approx(5.29));
}

TEST_CASE("premarket_momentum entry_canceled: rejected with nothing filled", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_pending_entry(d);
  d.on(update(ny(7, 3), OrderStatus::Live, 0, 100));  // not a close: ignored
  d.nothing();
  d.on(update(ny(7, 3), OrderStatus::Rejected, 0));
  d.fired("entry_canceled", PM::kFlat);
  CHECK(d.v("position") == 0);
  CHECK(d.v("filled_quantity") == 0);
}

TEST_CASE("premarket_momentum stop_hit: a low through the stop", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 3, 5.28, 5.30, 4.90, 4.95));
  d.fired("stop_hit", PM::kPendingExit);
  CHECK(d.v("low") == 4.90);
  CHECK(d.v("stop") == 4.95);
  CHECK(d.v("close") == 4.95);
  CHECK(d.v("position") == 100);
  check_close_intent(d, 100, 4.95);
}

TEST_CASE("premarket_momentum target_hit: a high at the target", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 3, 5.30, 5.85, 5.28, 5.80));
  d.fired("target_hit", PM::kPendingExit);
  CHECK(d.v("high") == 5.85);
  CHECK(d.v("target") == Approx(5.819));
  CHECK(d.v("close") == 5.80);
  check_close_intent(d, 100, 5.80);
}

TEST_CASE("premarket_momentum trailing_stop_hit: a close under the trail from the high", "[strategies]") {
  auto p = pm_params();
  p.target_percent = 0;
  p.trailing_stop_percent = 5;
  Driver<PM> d(p);
  pm_long(d);
  d.on(bar(7, 3, 5.30, 5.60, 5.28, 5.55));  // trail 5.32
  d.nothing();
  d.on(bar(7, 4, 5.50, 5.52, 5.30, 5.31));
  d.fired("trailing_stop_hit", PM::kPendingExit);
  CHECK(d.v("close") == 5.31);
  CHECK(d.v("highest") == 5.60);
  CHECK(d.v("trail_stop") == Approx(5.32));
  CHECK(d.v("position") == 100);
  check_close_intent(d, 100, 5.31);
}

TEST_CASE("premarket_momentum vwap_lost: a close below VWAP", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 3, 5.20, 5.22, 4.98, 5.00));  // above the 4.95 stop
  d.fired("vwap_lost", PM::kPendingExit);
  CHECK(d.v("close") == 5.00);
  CHECK(d.v("vwap") == Approx(5.125));
  check_close_intent(d, 100, 5.00);
}

TEST_CASE("premarket_momentum time_stop: too long in the trade", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 31, 5.30, 5.35, 5.25, 5.30));  // ends 07:32, 29 minutes after the fill
  d.nothing();
  d.on(bar(7, 33, 5.30, 5.35, 5.25, 5.30));
  d.fired("time_stop", PM::kPendingExit);
  CHECK(d.v("minutes_in_trade") == Approx(31));
  CHECK(d.v("time_of_day") == Approx(454));
  CHECK(d.v("close") == 5.30);
  check_close_intent(d, 100, 5.30);
}

TEST_CASE("premarket_momentum time_stop: flat by the end-of-day time on the clock", "[strategies]") {
  auto p = pm_params();
  p.max_minutes_in_trade = 0;
  p.exit_on_vwap_loss = false;
  Driver<PM> d(p);
  pm_long(d);
  d.clock(ny(15, 44));
  d.nothing();
  d.clock(ny(15, 45));
  d.fired("time_stop", PM::kPendingExit);
  CHECK(d.v("time_of_day") == Approx(945));
  CHECK(d.v("minutes_in_trade") == Approx(15 * 60 + 45 - (7 * 60 + 3)));
  check_close_intent(d, 100, 5.28);  // the last close seen
}

TEST_CASE("premarket_momentum exit_filled: a winner goes back to FLAT and can re-arm", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 3, 5.30, 5.85, 5.28, 5.80));
  REQUIRE(d.s.state() == PM::kPendingExit);
  d.on(fill(ny(7, 4), Side::Sell, 5.82, 100));
  d.fired("exit_filled", PM::kFlat);
  CHECK(d.v("position") == 0);
  CHECK(d.v("fill_price") == 5.82);
  CHECK(d.v("entry_price") == Approx(5.29));
  CHECK(d.v("pnl") == Approx(53.0));
  d.on(bar(7, 4, 5.80, 5.85, 5.70, 5.75));
  d.fired("arm", PM::kArmed);
}

TEST_CASE("premarket_momentum exit_filled_at_loss and cooldown_over", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 3, 5.28, 5.30, 4.90, 4.95));
  d.on(fill(ny(7, 4), Side::Sell, 4.94, 100));
  d.fired("exit_filled_at_loss", PM::kCooldown);
  CHECK(d.v("pnl") == Approx(-35.0));
  CHECK(d.v("entry_price") == Approx(5.29));
  CHECK(d.out.intents.empty());
  // A gapper bar during the cooldown arms nothing.
  d.on(bar(7, 10, 5.00, 5.10, 4.95, 5.05));
  d.nothing();
  d.clock(ny(7, 18, 59));
  d.nothing();
  d.clock(ny(7, 19));
  d.fired("cooldown_over", PM::kFlat);
  CHECK(d.v("minutes_since_exit") == Approx(15));
}

TEST_CASE("premarket_momentum cooldown_over on a bar", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 3, 5.28, 5.30, 4.90, 4.95));
  d.on(fill(ny(7, 4), Side::Sell, 4.94, 100));
  REQUIRE(d.s.state() == PM::kCooldown);
  d.on(bar(7, 20, 5.00, 5.10, 4.95, 5.05));  // ends 07:21
  d.fired("cooldown_over", PM::kFlat);
  CHECK(d.v("minutes_since_exit") == Approx(17));
}

TEST_CASE("premarket_momentum exit_canceled: shares still held go back to LONG", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.on(bar(7, 3, 5.28, 5.30, 4.90, 4.95));
  d.on(fill(ny(7, 4), Side::Sell, 4.94, 40, 60));
  d.nothing();
  d.on(update(ny(7, 4, 1), OrderStatus::Canceled, 40));
  d.fired("exit_canceled", PM::kLong);
  CHECK(d.v("position") == 60);
  CHECK(d.v("filled_quantity") == 40);
  d.on(bar(7, 4, 4.95, 4.96, 4.90, 4.92));  // still under the stop: exit the rest
  d.fired("stop_hit", PM::kPendingExit);
  check_close_intent(d, 60, 4.92);
}

TEST_CASE("premarket_momentum premarket high: premarket bars only, reset each New York day", "[strategies]") {
  auto p = pm_params();
  p.min_gap_percent = 1000;  // never arm: this is about the bookkeeping
  Driver<PM> d(p);
  d.on(bar(3, 59, 5.0, 9.0, 5.0, 5.0));  // overnight: not premarket
  CHECK(d.s.premarket_high() == 0.0);
  d.on(bar(4, 0, 5.0, 5.5, 5.0, 5.2));
  d.on(bar(9, 29, 5.2, 5.6, 5.1, 5.3));
  CHECK(d.s.premarket_high() == 5.6);
  d.on(bar(9, 30, 5.3, 7.0, 5.3, 6.5));  // regular session
  CHECK(d.s.premarket_high() == 5.6);
  d.on(bar(4, 0, 6.0, 6.1, 5.9, 6.0, 1000, 5));  // the next day
  CHECK(d.s.premarket_high() == 6.1);
}

TEST_CASE("premarket_momentum bad input raises DataError and changes nothing", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_armed(d);
  const double vwap = d.s.vwap();
  Bar bad = bar(7, 1, 5.12, 5.30, 5.10, 5.28);
  bad.close = kNaN;
  CHECK_THROWS_AS(d.on(bad), DataError);
  CHECK_THROWS_WITH(d.on(bad), Catch::Contains("premarket_momentum: close=") && Catch::Contains(" at ts_event="));
  CHECK(d.s.state() == PM::kArmed);
  CHECK(d.s.premarket_high() == 5.20);
  CHECK(d.s.vwap() == vwap);
  d.nothing();
  bad = bar(7, 1, 5.12, 5.30, 5.10, 5.28);
  bad.volume = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(d.on(bad), DataError);
  CHECK_THROWS_AS(d.on(quote(ny(7, 1, 10), 5.18, kNaN)), DataError);
  CHECK(d.s.spread() == Approx(0.02));
  // The strategy carries on with good data.
  d.on(bar(7, 1, 5.12, 5.30, 5.10, 5.28));
  d.fired("break_premarket_high", PM::kPendingEntry);
  CHECK(d.v("spread") == Approx(0.02));
  CHECK_THROWS_AS(d.on(fill(ny(7, 2), Side::Buy, kNaN, 100)), DataError);
  CHECK(d.s.state() == PM::kPendingEntry);
  CHECK(d.s.position() == 0);
}

TEST_CASE("premarket_momentum reset forgets the day", "[strategies]") {
  Driver<PM> d(pm_params());
  pm_long(d);
  d.s.reset();
  CHECK(d.s.state() == PM::kFlat);
  CHECK(d.s.position() == 0);
  CHECK(d.s.premarket_high() == 0);
  CHECK(d.s.spread() == -1);
  CHECK(d.s.entry_price() == 0);
  pm_pending_entry(d);  // the same day replays the same way
  CHECK(d.out.transitions.back().rule == PM::kBreakPremarketHigh);
}

TEST_CASE("premarket_momentum through SymbolEngine with simulated fills", "[strategies]") {
  EngineConfig config;
  config.instrument_id = 7;
  config.aggregate_trades = false;
  config.simulate_fills = true;
  SymbolEngine engine(config);
  auto strategy = std::make_shared<PM>(pm_params());
  const std::uint16_t id = engine.add_strategy(strategy);
  const std::vector<Quote> quotes{quote(ny(7, 0, 30), 5.18, 5.20), quote(ny(7, 2, 30), 5.28, 5.30),
                                  quote(ny(7, 3, 50), 4.94, 4.96)};
  const std::vector<Bar> bars{bar(7, 0, 5.00, 5.20, 4.95, 5.10), bar(7, 1, 5.10, 5.15, 5.05, 5.12),
                              bar(7, 2, 5.12, 5.30, 5.10, 5.28), bar(7, 3, 5.28, 5.30, 4.90, 4.95)};
  engine.load({}, quotes, bars, {}, {});

  REQUIRE(engine.run() == StopReason::Intent);
  auto& out = engine.output();
  REQUIRE(out.transitions.size() == 2);
  CHECK(out.transitions[0].rule == PM::kArm);
  CHECK(out.transitions[1].rule == PM::kBreakPremarketHigh);
  CHECK(out.transitions[1].instrument_id == 7);
  REQUIRE(out.intents.size() == 1);
  const TradeIntent entry = out.intents[0];
  CHECK(entry.transition == 1);
  CHECK(entry.stop_price == 4.95);
  engine.mark_drained();

  engine.submit(Order{1, entry.ts_event, entry.quantity, 0, 0, 7, Side::Buy, OrderType::Market, TimeInForce::Day},
                id);
  REQUIRE(out.fills.size() == 1);
  CHECK(out.fills[0].price == 5.30);  // the ask
  REQUIRE(out.transitions.size() == 1);
  CHECK(out.transitions[0].rule == PM::kEntryFilled);
  CHECK(strategy->state() == PM::kLong);
  CHECK(strategy->position() == 100);
  engine.mark_drained();

  REQUIRE(engine.run() == StopReason::Intent);
  REQUIRE(out.transitions.size() == 1);
  CHECK(out.transitions[0].rule == PM::kStopHit);
  const TradeIntent exit = out.intents[0];
  CHECK(exit.sizing == Sizing::ClosePosition);
  engine.mark_drained();

  engine.submit(Order{2, exit.ts_event, exit.quantity, 0, 0, 7, Side::Sell, OrderType::Market, TimeInForce::Day},
                id);
  REQUIRE(out.fills.size() == 1);
  CHECK(out.fills[0].price == 4.94);  // the bid
  REQUIRE(out.transitions.size() == 1);
  CHECK(out.transitions[0].rule == PM::kExitFilledAtLoss);
  CHECK(seen(*strategy, out.transitions[0], "pnl") == Approx(-36.0));
  CHECK(strategy->state() == PM::kCooldown);
  CHECK(strategy->position() == 0);
  engine.mark_drained();
  CHECK(engine.run() == StopReason::Exhausted);
}

TEST_CASE("premarket_momentum NaN data through SymbolEngine faults the engine, not the strategy", "[strategies]") {
  EngineConfig config;
  config.aggregate_trades = false;
  SymbolEngine engine(config);
  auto strategy = std::make_shared<PM>(pm_params());
  engine.add_strategy(strategy);
  std::vector<Bar> bars{bar(7, 0, 5.00, 5.20, 4.95, 5.10), bar(7, 1, 5.10, 5.15, 5.05, 5.12)};
  bars[1].close = kNaN;
  engine.load({}, {}, bars, {}, {});
  CHECK_THROWS_AS(engine.run(), DataError);
  CHECK(engine.faulted());
  CHECK(strategy->state() == PM::kArmed);
  REQUIRE(engine.output().transitions.size() == 1);
  CHECK(engine.output().transitions[0].rule == PM::kArm);
}

// ---- vwap_reclaim -------------------------------------------------------------------------

namespace {

using VR = VwapReclaim;

/// Regular-session bars, 1,000 shares each, vwap = close: VWAP after 09:33 is 10.225.
void vr_trend(Driver<VR>& d) {
  d.on(bar(9, 30, 10.00, 10.05, 9.95, 10.00));
  d.on(bar(9, 31, 10.00, 10.20, 10.00, 10.20));
  d.on(bar(9, 32, 10.20, 10.30, 10.15, 10.30));
  d.nothing();
  d.on(bar(9, 33, 10.30, 10.45, 10.25, 10.40));
  REQUIRE(d.s.state() == VR::kTrend);
}

/// ... a 09:34 bar whose low (10.15) reaches VWAP (10.224).
void vr_pullback(Driver<VR>& d) {
  vr_trend(d);
  d.on(bar(9, 34, 10.40, 10.40, 10.15, 10.22));
  REQUIRE(d.s.state() == VR::kPullback);
}

/// ... a 09:35 close of 10.35 over VWAP 10.245: buy, stop 10.14.
void vr_pending_entry(Driver<VR>& d) {
  vr_pullback(d);
  d.on(bar(9, 35, 10.22, 10.38, 10.18, 10.35));
  REQUIRE(d.s.state() == VR::kPendingEntry);
}

/// ... bought 100 at 10.36.
void vr_long(Driver<VR>& d) {
  vr_pending_entry(d);
  d.on(fill(ny(9, 36), Side::Buy, 10.36, 100));
  REQUIRE(d.s.state() == VR::kLong);
}

void check_close_intent(const Driver<VR>& d, double quantity, double reference) {
  REQUIRE(d.out.intents.size() == 1);
  const TradeIntent& i = d.out.intents[0];
  CHECK(i.side == Side::Sell);
  CHECK(i.sizing == Sizing::ClosePosition);
  CHECK(i.order_type == OrderType::Market);
  CHECK(i.quantity == Approx(quantity));
  CHECK(i.reference_price == Approx(reference));
  CHECK(i.rule == d.out.transitions.back().rule);
}

}  // namespace

TEST_CASE("vwap_reclaim declares its states and rules in the documented order", "[strategies]") {
  VR s;
  CHECK(s.name() == "vwap_reclaim");
  CHECK(s.states() == std::vector<std::string>{"FLAT", "TREND", "PULLBACK", "PENDING_ENTRY", "LONG", "PENDING_EXIT"});
  const std::vector<std::string> names{"trend_up",   "pullback_started", "reclaim",   "pullback_failed",
                                       "entry_filled", "entry_canceled", "stop_hit",  "target_hit",
                                       "vwap_lost",  "exit_filled",      "exit_canceled",
                                       "adopted",    "adopted_exit_pending", "exit_incomplete"};
  REQUIRE(s.rules().size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) CHECK(s.rules()[i].name == names[i]);
  CHECK_FALSE(s.wants_quotes());
  VwapReclaimParams p;
  p.trend_bars = 0;
  CHECK_THROWS_AS(VR(p), ConfigError);
}

TEST_CASE("vwap_reclaim trend_up: closes held above VWAP", "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  d.on(bar(9, 30, 10.00, 10.05, 9.95, 10.00));
  d.on(bar(9, 31, 10.00, 10.20, 10.00, 10.20));
  d.on(bar(9, 32, 10.20, 10.30, 10.15, 10.30));
  CHECK(d.s.bars_above() == 2);
  d.nothing();
  d.on(bar(9, 33, 10.30, 10.45, 10.25, 10.40));
  d.fired("trend_up", VR::kTrend);
  CHECK(d.v("close") == 10.40);
  CHECK(d.v("vwap") == Approx(10.225));
  CHECK(d.v("bars_above") == 3);
  CHECK(d.out.intents.empty());
}

TEST_CASE("vwap_reclaim pullback_started: a low back to VWAP", "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_trend(d);
  d.on(bar(9, 34, 10.40, 10.40, 10.15, 10.22));
  d.fired("pullback_started", VR::kPullback);
  CHECK(d.v("low") == 10.15);
  CHECK(d.v("vwap") == Approx(10.224));
  CHECK(d.v("lower_band") == Approx(d.s.lower_band()));
  CHECK(d.v("close") == 10.22);
  CHECK(d.s.pullback_low() == 10.15);
}

TEST_CASE("vwap_reclaim pullback_started: to the lower band when asked", "[strategies]") {
  VwapReclaimParams p;
  p.pullback_to = PullbackTo::LowerBand;
  p.band_multiplier = 1.0;
  Driver<VR> d(p);
  vr_trend(d);
  d.on(bar(9, 34, 10.40, 10.40, 10.15, 10.22));  // at VWAP, above the band
  d.nothing();
  CHECK(d.s.lower_band() < 10.15);
  d.on(bar(9, 35, 10.22, 10.22, 9.90, 10.00));
  d.fired("pullback_started", VR::kPullback);
  CHECK(d.v("low") == 9.90);
  CHECK(d.v("lower_band") == Approx(d.s.lower_band()));
  CHECK(d.v("lower_band") >= 9.90);
}

TEST_CASE("vwap_reclaim reclaim: a close back above VWAP buys with the stop under the pullback low",
          "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_pullback(d);
  d.on(bar(9, 35, 10.22, 10.38, 10.18, 10.35));
  d.fired("reclaim", VR::kPendingEntry);
  CHECK(d.v("close") == 10.35);
  CHECK(d.v("vwap") == Approx(10.245));
  CHECK(d.v("volume") == 1000);
  CHECK(d.v("pullback_low") == 10.15);
  CHECK(d.v("stop") == Approx(10.14));
  REQUIRE(d.out.intents.size() == 1);
  const TradeIntent& i = d.out.intents[0];
  CHECK(i.side == Side::Buy);
  CHECK(i.sizing == Sizing::Shares);
  CHECK(i.quantity == 100);
  CHECK(i.order_type == OrderType::Market);
  CHECK(i.stop_price == Approx(10.14));
  CHECK(i.reference_price == 10.35);
  CHECK(i.rule == VR::kReclaim);
}

TEST_CASE("vwap_reclaim reclaim: volume confirmation and risk sizing", "[strategies]") {
  VwapReclaimParams p;
  p.volume_confirmation = true;
  p.volume_period = 3;
  p.volume_factor = 1.5;
  p.sizing = Sizing::RiskPerTrade;
  p.quantity = 50;
  Driver<VR> d(p);
  CHECK_FALSE(d.s.ready());
  vr_pullback(d);
  CHECK(d.s.ready());
  d.on(bar(9, 35, 10.22, 10.38, 10.18, 10.35));  // 1,000 shares vs 1,000 average
  d.nothing();
  d.on(bar(9, 36, 10.35, 10.40, 10.12, 10.38, 4000));  // average (1,000 + 1,000 + 4,000) / 3
  d.fired("reclaim", VR::kPendingEntry);
  CHECK(d.v("volume") == 4000);
  CHECK(d.v("average_volume") == Approx(2000));
  CHECK(d.v("pullback_low") == 10.12);
  CHECK(d.v("stop") == Approx(10.11));
  REQUIRE(d.out.intents.size() == 1);
  CHECK(d.out.intents[0].sizing == Sizing::RiskPerTrade);
  CHECK(d.out.intents[0].quantity == 50);
  CHECK(d.out.intents[0].stop_price == Approx(10.11));
}

TEST_CASE("vwap_reclaim pullback_failed: no reclaim within max_pullback_bars", "[strategies]") {
  VwapReclaimParams p;
  p.max_pullback_bars = 2;
  Driver<VR> d(p);
  vr_pullback(d);
  d.on(bar(9, 35, 10.22, 10.22, 10.05, 10.10));
  d.nothing();
  d.on(bar(9, 36, 10.10, 10.12, 10.00, 10.05));
  d.fired("pullback_failed", VR::kFlat);
  CHECK(d.v("bars_in_pullback") == 2);
  CHECK(d.v("close") == 10.05);
  CHECK(d.v("vwap") == Approx(d.s.vwap()));
  CHECK(d.out.intents.empty());
}

TEST_CASE("vwap_reclaim entry_filled and entry_canceled", "[strategies]") {
  SECTION("filled") {
    Driver<VR> d(VwapReclaimParams{});
    vr_pending_entry(d);
    d.on(fill(ny(9, 36), Side::Buy, 10.36, 100));
    d.fired("entry_filled", VR::kLong);
    CHECK(d.v("position") == 100);
    CHECK(d.v("fill_price") == 10.36);
    CHECK(d.v("entry_price") == Approx(10.36));
    CHECK(d.v("stop") == Approx(10.14));
  }
  SECTION("closed after a partial fill") {
    Driver<VR> d(VwapReclaimParams{});
    vr_pending_entry(d);
    d.on(update(ny(9, 36), OrderStatus::Canceled, 30));
    d.fired("entry_filled", VR::kLong);
    CHECK(d.v("filled_quantity") == 30);
  }
  SECTION("canceled") {
    Driver<VR> d(VwapReclaimParams{});
    vr_pending_entry(d);
    d.on(update(ny(9, 36), OrderStatus::Canceled, 0));
    d.fired("entry_canceled", VR::kFlat);
    CHECK(d.v("position") == 0);
    CHECK(d.v("filled_quantity") == 0);
  }
}

TEST_CASE("vwap_reclaim stop_hit", "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_long(d);
  d.on(bar(9, 36, 10.35, 10.36, 10.10, 10.12));
  d.fired("stop_hit", VR::kPendingExit);
  CHECK(d.v("low") == 10.10);
  CHECK(d.v("stop") == Approx(10.14));
  CHECK(d.v("close") == 10.12);
  CHECK(d.v("position") == 100);
  check_close_intent(d, 100, 10.12);
}

TEST_CASE("vwap_reclaim target_hit: the upper band", "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_long(d);
  d.on(bar(9, 36, 10.36, 11.00, 10.35, 10.80));
  d.fired("target_hit", VR::kPendingExit);
  CHECK(d.v("high") == 11.00);
  CHECK(d.v("target") == Approx(d.s.upper_band()));
  CHECK(d.v("upper_band") == Approx(d.s.upper_band()));
  CHECK(d.v("target") <= 11.00);
  check_close_intent(d, 100, 10.80);
}

TEST_CASE("vwap_reclaim target_hit: an R multiple", "[strategies]") {
  VwapReclaimParams p;
  p.target_mode = TargetMode::RMultiple;
  p.target_r = 2.0;
  Driver<VR> d(p);
  vr_long(d);                                       // entry 10.36, stop 10.14: R = 0.22
  d.on(bar(9, 36, 10.36, 10.79, 10.35, 10.70));  // below 10.80
  d.nothing();
  d.on(bar(9, 37, 10.70, 10.85, 10.65, 10.82));
  d.fired("target_hit", VR::kPendingExit);
  CHECK(d.v("target") == Approx(10.80));
  CHECK(d.v("high") == 10.85);
}

TEST_CASE("vwap_reclaim vwap_lost", "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_long(d);
  d.on(bar(9, 36, 10.35, 10.36, 10.16, 10.20));
  d.fired("vwap_lost", VR::kPendingExit);
  CHECK(d.v("close") == 10.20);
  CHECK(d.v("vwap") == Approx(d.s.vwap()));
  CHECK(d.v("vwap") > 10.20);
  check_close_intent(d, 100, 10.20);
}

TEST_CASE("vwap_reclaim exit_filled and exit_canceled", "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_long(d);
  d.on(bar(9, 36, 10.35, 10.36, 10.10, 10.12));
  REQUIRE(d.s.state() == VR::kPendingExit);
  d.on(update(ny(9, 37), OrderStatus::Rejected, 0));
  d.fired("exit_canceled", VR::kLong);
  CHECK(d.v("position") == 100);
  d.on(bar(9, 37, 10.12, 10.13, 10.05, 10.06));
  d.fired("stop_hit", VR::kPendingExit);
  d.on(fill(ny(9, 38), Side::Sell, 10.05, 100));
  d.fired("exit_filled", VR::kFlat);
  CHECK(d.v("position") == 0);
  CHECK(d.v("fill_price") == 10.05);
}

TEST_CASE("vwap_reclaim exit_incomplete: an exit order done with shares still held goes back to LONG",
          "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_long(d);
  d.on(bar(9, 36, 10.35, 10.36, 10.10, 10.12));
  REQUIRE(d.s.state() == VR::kPendingExit);
  d.on(fill(ny(9, 37), Side::Sell, 10.10, 60));  // the close was sized on 60 of the 100
  d.fired("exit_incomplete", VR::kLong);
  CHECK(d.v("position") == 40);
  d.on(bar(9, 37, 10.12, 10.13, 10.05, 10.06));  // still under the stop: exit the rest
  d.fired("stop_hit", VR::kPendingExit);
  check_close_intent(d, 40, 10.06);
}

// ---- ema_cross ------------------------------------------------------------------------------

TEST_CASE("ema_cross: an entry filled in parts, an exit short of the position, then the rest", "[strategies]") {
  Driver<EmaCross> d(EmaCrossParams{2, 3, 100});
  CHECK(d.s.rules().back().name == "exit_incomplete");
  const double closes[] = {10.0, 9.8, 9.6, 9.4};
  for (int i = 0; i < 4; ++i) d.on(bar(10, i, closes[i], closes[i], closes[i], closes[i]));
  d.on(bar(10, 4, 10.4, 10.4, 10.4, 10.4));
  d.fired("cross_above", EmaCross::kPendingEntry);
  d.on(fill(ny(10, 5), Side::Buy, 10.4, 50, 50));
  d.nothing();
  d.on(fill(ny(10, 6), Side::Buy, 10.5, 50, 0));
  d.fired("entry_filled", EmaCross::kLong);
  d.on(bar(10, 6, 9.0, 9.0, 9.0, 9.0));
  d.fired("cross_below", EmaCross::kPendingExit);
  REQUIRE(d.out.intents.size() == 1);
  CHECK(d.out.intents[0].sizing == Sizing::ClosePosition);
  d.on(fill(ny(10, 7), Side::Sell, 9.0, 50, 0));  // a close sized on half the position
  d.fired("exit_incomplete", EmaCross::kLong);
  CHECK(d.v("position") == 50);
  d.on(bar(10, 7, 10.5, 10.5, 10.5, 10.5));
  d.on(bar(10, 8, 11.5, 11.5, 11.5, 11.5));
  d.nothing();  // LONG: no second entry
  d.on(bar(10, 9, 9.0, 9.0, 9.0, 9.0));
  d.fired("cross_below", EmaCross::kPendingExit);
  CHECK(d.out.intents[0].quantity == 50);
  d.on(fill(ny(10, 10), Side::Sell, 9.0, 50, 0));
  d.fired("exit_filled", EmaCross::kFlat);
}

TEST_CASE("vwap_reclaim warm-up readies the volume average without transitions", "[strategies]") {
  VwapReclaimParams p;
  p.volume_confirmation = true;
  p.volume_period = 3;
  Driver<VR> d(p);
  CHECK_FALSE(d.s.ready());
  for (int m = 0; m < 5; ++m) d.s.warm_up(bar(9, 30 + m, 10.0 + 0.1 * m, 10.1 + 0.1 * m, 10.0 + 0.1 * m, 10.05 + 0.1 * m));
  CHECK(d.s.ready());
  CHECK(d.s.state() == VR::kFlat);
  CHECK(d.s.bars_above() == 4);
  // The warmed-up count carries on: the next close above VWAP establishes the trend.
  d.on(bar(9, 35, 10.5, 10.6, 10.5, 10.55));
  d.fired("trend_up", VR::kTrend);
  CHECK(d.v("bars_above") == 5);
}

TEST_CASE("vwap_reclaim bad input raises DataError and changes nothing; reset", "[strategies]") {
  Driver<VR> d(VwapReclaimParams{});
  vr_pullback(d);
  const double vwap = d.s.vwap();
  Bar bad = bar(9, 35, 10.22, 10.38, 10.18, 10.35);
  bad.low = kNaN;
  CHECK_THROWS_AS(d.on(bad), DataError);
  CHECK_THROWS_WITH(d.on(bad), Catch::Contains("vwap_reclaim: low=") && Catch::Contains(" at ts_event="));
  CHECK(d.s.state() == VR::kPullback);
  CHECK(d.s.vwap() == vwap);
  CHECK(d.s.pullback_low() == 10.15);
  d.on(bar(9, 35, 10.22, 10.38, 10.18, 10.35));
  d.fired("reclaim", VR::kPendingEntry);
  CHECK_THROWS_AS(d.on(fill(ny(9, 36), Side::Buy, 10.36, kNaN)), DataError);
  CHECK(d.s.state() == VR::kPendingEntry);
  CHECK(d.s.position() == 0);
  d.s.reset();
  CHECK(d.s.state() == VR::kFlat);
  CHECK(d.s.bars_above() == 0);
  CHECK(d.s.vwap() == 0);
  vr_trend(d);
}

TEST_CASE("vwap_reclaim through SymbolEngine, bars as the book", "[strategies]") {
  EngineConfig config;
  config.aggregate_trades = false;
  config.simulate_fills = true;
  SymbolEngine engine(config);
  auto strategy = std::make_shared<VR>();
  const std::uint16_t id = engine.add_strategy(strategy);
  const std::vector<Bar> bars{bar(9, 30, 10.00, 10.05, 9.95, 10.00), bar(9, 31, 10.00, 10.20, 10.00, 10.20),
                              bar(9, 32, 10.20, 10.30, 10.15, 10.30), bar(9, 33, 10.30, 10.45, 10.25, 10.40),
                              bar(9, 34, 10.40, 10.40, 10.15, 10.22), bar(9, 35, 10.22, 10.38, 10.18, 10.35),
                              bar(9, 36, 10.35, 10.36, 10.16, 10.20)};
  engine.load({}, {}, bars, {}, {});
  REQUIRE(engine.run() == StopReason::Intent);
  auto& out = engine.output();
  CHECK(out.transitions.back().rule == VR::kReclaim);
  const TradeIntent entry = out.intents[0];
  engine.mark_drained();
  engine.submit(Order{1, entry.ts_event, 100, 0, 0, 0, Side::Buy, OrderType::Market, TimeInForce::Day}, id);
  REQUIRE(out.fills.size() == 1);
  CHECK(out.fills[0].price == 10.35);  // the signal bar's close
  CHECK(strategy->state() == VR::kLong);
  engine.mark_drained();
  REQUIRE(engine.run() == StopReason::Intent);
  CHECK(out.transitions.back().rule == VR::kVwapLost);
  engine.mark_drained();
  engine.submit(Order{2, ny(9, 37), 100, 0, 0, 0, Side::Sell, OrderType::Market, TimeInForce::Day}, id);
  CHECK(out.transitions.back().rule == VR::kExitFilled);
  CHECK(strategy->state() == VR::kFlat);
  CHECK(strategy->position() == 0);
}

// ---- adopting a position restored by a resume ----------------------------------------------

namespace {

/// 100 shares bought at 5.29 at 07:03 with the 4.95 stop of the opening intent; taken over at
/// 07:10 with a high of 5.40 since the entry.
Adoption pm_restored() {
  Adoption a;
  a.quantity = 100;
  a.average_price = 5.29;
  a.entry_ts = ny(7, 3);
  a.now = ny(7, 10);
  a.stop_price = 4.95;
  a.highest = 5.40;
  return a;
}

/// A PremarketMomentum after the warm-up of a resume (premarket bars, VWAP about 5.2), then
/// offered `a`.
AdoptResult pm_adopt(Driver<PM>& d, const Adoption& a) {
  d.s.warm_up(bar(7, 0, 5.00, 5.20, 4.95, 5.10));
  d.s.warm_up(bar(7, 5, 5.25, 5.40, 5.20, 5.30));
  d.out.clear();
  return d.s.adopt(a, d.out);
}

}  // namespace

TEST_CASE("premarket_momentum adopted: LONG with the opening stop, the target from the average price",
          "[strategies][adopt]") {
  Driver<PM> d(pm_params());
  const AdoptResult r = pm_adopt(d, pm_restored());
  REQUIRE(r.adopted);
  CHECK(r.reason.find("stop 4.95") != std::string::npos);
  d.fired("adopted", PM::kLong);
  CHECK(d.s.rules()[PM::kAdopted].trigger == Trigger::Resume);
  CHECK(d.v("position") == 100);
  CHECK(d.v("entry_price") == Approx(5.29));
  CHECK(d.v("stop") == 4.95);
  CHECK(d.v("target") == Approx(5.819));
  CHECK(d.v("highest") == 5.40);
  CHECK(d.v("minutes_in_trade") == Approx(7));
  CHECK(d.out.intents.empty());
  CHECK(d.s.position() == 100);
  CHECK(d.s.entry_price() == Approx(5.29));
  CHECK(d.s.stop() == 4.95);

  // Then it manages the position as if it had bought it: the stop, the exit fill, the cooldown.
  d.on(bar(7, 10, 5.28, 5.30, 4.90, 4.95));
  d.fired("stop_hit", PM::kPendingExit);
  check_close_intent(d, 100, 4.95);
  d.on(fill(ny(7, 11), Side::Sell, 4.94, 100));
  d.fired("exit_filled_at_loss", PM::kCooldown);
  CHECK(d.v("pnl") == Approx((4.94 - 5.29) * 100));
  CHECK(d.s.position() == 0);
}

TEST_CASE("premarket_momentum adopted: the target fires as normal", "[strategies][adopt]") {
  Driver<PM> d(pm_params());
  REQUIRE(pm_adopt(d, pm_restored()).adopted);
  d.on(bar(7, 10, 5.30, 5.85, 5.28, 5.80));
  d.fired("target_hit", PM::kPendingExit);
  CHECK(d.v("target") == Approx(5.819));
  check_close_intent(d, 100, 5.80);
}

TEST_CASE("premarket_momentum adopted: the trail starts from the highest high since the entry",
          "[strategies][adopt]") {
  auto p = pm_params();
  p.target_percent = 0;
  p.trailing_stop_percent = 5;
  p.exit_on_vwap_loss = false;
  Driver<PM> d(p);
  Adoption a = pm_restored();
  a.highest = 5.60;  // trail 5.32
  REQUIRE(pm_adopt(d, a).adopted);
  d.on(bar(7, 10, 5.40, 5.45, 5.33, 5.35));
  d.nothing();
  d.on(bar(7, 11, 5.35, 5.36, 5.30, 5.31));
  d.fired("trailing_stop_hit", PM::kPendingExit);
  CHECK(d.v("highest") == 5.60);
  CHECK(d.v("trail_stop") == Approx(5.32));
}

TEST_CASE("premarket_momentum adopted: the time stop counts from the entry, not the adoption",
          "[strategies][adopt]") {
  auto p = pm_params();
  p.exit_on_vwap_loss = false;
  Driver<PM> d(p);
  REQUIRE(pm_adopt(d, pm_restored()).adopted);
  d.on(bar(7, 31, 5.30, 5.35, 5.25, 5.30));  // ends 07:32, 29 minutes after the 07:03 entry
  d.nothing();
  d.clock(ny(7, 33));
  d.fired("time_stop", PM::kPendingExit);
  CHECK(d.v("minutes_in_trade") == Approx(30));
  check_close_intent(d, 100, 5.30);
}

TEST_CASE("premarket_momentum adopted_exit_pending: a working exit is not sent twice", "[strategies][adopt]") {
  Driver<PM> d(pm_params());
  Adoption a = pm_restored();
  a.exit_pending = true;
  REQUIRE(pm_adopt(d, a).adopted);
  d.fired("adopted_exit_pending", PM::kPendingExit);
  d.on(bar(7, 10, 5.28, 5.30, 4.90, 4.95));  // through the stop: the exit is already working
  d.nothing();
  d.on(update(ny(7, 11), OrderStatus::Canceled, 0));  // the old exit is canceled: LONG again
  d.fired("exit_canceled", PM::kLong);
  d.on(bar(7, 11, 5.00, 5.00, 4.90, 4.92));
  d.fired("stop_hit", PM::kPendingExit);
  check_close_intent(d, 100, 4.92);
  d.on(fill(ny(7, 12), Side::Sell, 4.92, 100));
  d.fired("exit_filled_at_loss", PM::kCooldown);
}

TEST_CASE("premarket_momentum adopted_entry_pending: the working entry's fills complete the entry as without the crash",
          "[strategies][adopt]") {
  // The strategy that sent the entry itself (no crash), for comparison.
  Driver<PM> live(pm_params());
  pm_armed(live);
  live.on(bar(7, 2, 5.12, 5.30, 5.10, 5.28));
  live.fired("break_premarket_high", PM::kPendingEntry);
  const double stop = live.s.stop();

  // The crashed process's entry order filled 40 of 100 shares at 5.30; the rest is working.
  Driver<PM> d(pm_params());
  Adoption a;
  a.quantity = 40;
  a.average_price = 5.30;
  a.entry_ts = ny(7, 6);
  a.now = ny(7, 10);
  a.stop_price = stop;
  a.entry_pending = true;
  const AdoptResult r = pm_adopt(d, a);
  REQUIRE(r.adopted);
  CHECK(r.reason.find("40 shares filled so far") != std::string::npos);
  d.fired("adopted_entry_pending", PM::kPendingEntry);
  CHECK(d.s.rules()[PM::kAdoptedEntryPending].trigger == Trigger::Resume);
  CHECK(d.v("position") == 40);
  CHECK(d.s.position() == 40);
  CHECK(d.out.intents.empty());  // no second entry
  d.on(bar(7, 10, 5.30, 5.35, 5.28, 5.33));  // a bar while waiting: nothing to do
  d.nothing();

  // The same fills reach both: the same entry, the same levels.
  live.on(fill(ny(7, 6), Side::Buy, 5.30, 40, 60));
  live.nothing();
  for (Driver<PM>* x : {&live, &d}) {
    x->on(fill(ny(7, 11), Side::Buy, 5.32, 60, 0));
    x->fired("entry_filled", PM::kLong);
  }
  CHECK(d.v("entry_price") == Approx(live.v("entry_price")));
  CHECK(d.v("entry_price") == Approx((40 * 5.30 + 60 * 5.32) / 100));
  CHECK(d.v("target") == Approx(live.v("target")));
  CHECK(d.v("stop") == live.v("stop"));
  CHECK(d.s.position() == 100);
  // ... and then the stop, measured the same way.
  d.on(bar(7, 11, 5.30, 5.31, stop - 0.05, stop - 0.02));
  d.fired("stop_hit", PM::kPendingExit);
  check_close_intent(d, 100, stop - 0.02);
}

TEST_CASE("premarket_momentum adopted_entry_pending with nothing filled: a cancel goes back to FLAT",
          "[strategies][adopt]") {
  Driver<PM> d(pm_params());
  Adoption a;
  a.quantity = 0;  // nothing filled: no average price
  a.entry_ts = 0;
  a.now = ny(7, 10);
  a.stop_price = 4.95;
  a.entry_pending = true;
  REQUIRE(pm_adopt(d, a).adopted);
  d.fired("adopted_entry_pending", PM::kPendingEntry);
  CHECK(d.s.position() == 0);
  d.on(update(ny(7, 12), OrderStatus::Canceled, 0));
  d.fired("entry_canceled", PM::kFlat);

  // Without a stop from the intent it refuses, as for a held position.
  Driver<PM> blind(pm_params());
  a.stop_price = 0;
  const AdoptResult r = pm_adopt(blind, a);
  CHECK_FALSE(r.adopted);
  CHECK(r.reason.find("no stop is known") != std::string::npos);
  CHECK(blind.s.state() == PM::kFlat);
}

TEST_CASE("a strategy without a pending-entry adoption refuses a working entry with the reason",
          "[strategies][adopt]") {
  Driver<VwapReclaim> d(VwapReclaimParams{});
  Adoption a;
  a.quantity = 4;
  a.average_price = 5.0;
  a.entry_ts = ny(7, 0);
  a.now = ny(7, 5);
  a.entry_pending = true;
  const AdoptResult r = d.s.adopt(a, d.out);
  CHECK_FALSE(r.adopted);
  CHECK(r.reason == "vwap_reclaim cannot wait on an entry order still working at the broker: its fills would not "
                    "reach the strategy");
  d.nothing();
  CHECK(d.s.state() == 0);
  CHECK(d.s.position() == 0);
  a.exit_pending = true;  // both working: bad data
  CHECK_THROWS_AS(d.s.adopt(a, d.out), DataError);
}

TEST_CASE("premarket_momentum refuses what it could not have bought, and stays FLAT", "[strategies][adopt]") {
  Driver<PM> d(pm_params());
  Adoption a = pm_restored();
  a.quantity = -100;
  AdoptResult r = pm_adopt(d, a);
  CHECK_FALSE(r.adopted);
  CHECK(r.reason == "premarket_momentum is long-only: it cannot manage a short of 100 shares");
  a.quantity = 150;
  r = d.s.adopt(a, d.out);
  CHECK_FALSE(r.adopted);
  CHECK(r.reason == "premarket_momentum: 150 shares is more than one entry buys (100)");
  a.quantity = 100;
  a.stop_price = 0;
  r = d.s.adopt(a, d.out);
  CHECK_FALSE(r.adopted);
  CHECK(r.reason.find("no stop is known") != std::string::npos);
  d.nothing();
  CHECK(d.s.state() == PM::kFlat);
  CHECK(d.s.position() == 0);

  // Risk sizing buys any number of shares; a strategy already busy adopts nothing.
  auto p = pm_params();
  p.sizing = Sizing::RiskPerTrade;
  Driver<PM> risk(p);
  Adoption big = pm_restored();
  big.quantity = 400;
  CHECK(pm_adopt(risk, big).adopted);
  const AdoptResult again = risk.s.adopt(big, risk.out);
  CHECK_FALSE(again.adopted);
  CHECK(again.reason == "premarket_momentum is already in LONG, not FLAT: it cannot adopt");
}

TEST_CASE("adopting bad numbers raises DataError and changes nothing", "[strategies][adopt]") {
  Driver<PM> d(pm_params());
  Adoption a = pm_restored();
  a.quantity = kNaN;
  CHECK_THROWS_AS(pm_adopt(d, a), DataError);
  a.quantity = 0;
  CHECK_THROWS_AS(d.s.adopt(a, d.out), DataError);
  a = pm_restored();
  a.average_price = 0;
  CHECK_THROWS_AS(d.s.adopt(a, d.out), DataError);
  a = pm_restored();
  a.stop_price = kNaN;
  CHECK_THROWS_AS(d.s.adopt(a, d.out), DataError);
  d.nothing();
  CHECK(d.s.state() == PM::kFlat);
  CHECK(d.s.adopt(pm_restored(), d.out).adopted);  // good numbers still work
}

TEST_CASE("premarket_momentum adopted through SymbolEngine: the stop exits on the venue", "[strategies][adopt]") {
  EngineConfig config;
  config.aggregate_trades = false;
  config.simulate_fills = true;
  SymbolEngine engine(config);
  auto strategy = std::make_shared<PM>(pm_params());
  const std::uint16_t id = engine.add_strategy(strategy);
  const std::vector<Bar> history{bar(7, 0, 5.00, 5.20, 4.95, 5.10), bar(7, 5, 5.25, 5.40, 5.20, 5.30)};
  engine.warm_up(history);
  CHECK_THROWS_AS(engine.adopt(7, pm_restored()), ConfigError);
  const AdoptResult r = engine.adopt(id, pm_restored());
  REQUIRE(r.adopted);
  auto& out = engine.output();
  REQUIRE(out.transitions.size() == 1);
  CHECK(out.transitions[0].rule == PM::kAdopted);
  engine.mark_drained();
  const std::vector<Bar> bars{bar(7, 10, 5.28, 5.30, 4.90, 4.95)};
  engine.load({}, {}, bars, {}, {});
  REQUIRE(engine.run() == StopReason::Intent);
  CHECK(out.transitions.back().rule == PM::kStopHit);
  CHECK(out.intents.back().quantity == 100);
  engine.mark_drained();
  engine.submit(Order{1, ny(7, 11), 100, 0, 0, 0, Side::Sell, OrderType::Market, TimeInForce::Day}, id);
  CHECK(out.transitions.back().rule == PM::kExitFilledAtLoss);
  CHECK(strategy->position() == 0);
}

TEST_CASE("vwap_reclaim adopted: LONG with the opening stop; stop and R target fire as normal",
          "[strategies][adopt]") {
  VwapReclaimParams p;
  p.target_mode = TargetMode::RMultiple;
  p.exit_on_vwap_loss = false;
  Adoption a;
  a.quantity = 100;
  a.average_price = 10.36;
  a.entry_ts = ny(9, 36);
  a.now = ny(9, 40);
  a.stop_price = 10.14;  // target 10.36 + 2 x 0.22 = 10.80
  auto adopted = [&](Driver<VR>& d) {
    d.s.warm_up(bar(9, 30, 10.00, 10.05, 9.95, 10.00));
    d.s.warm_up(bar(9, 35, 10.22, 10.38, 10.18, 10.35));
    d.out.clear();
    const AdoptResult r = d.s.adopt(a, d.out);
    REQUIRE(r.adopted);
    CHECK(r.reason == "vwap_reclaim manages 100 shares at 10.36 (LONG): stop 10.14");
    d.fired("adopted", VR::kLong);
    CHECK(d.v("stop") == 10.14);
    CHECK(d.v("entry_price") == Approx(10.36));
  };
  Driver<VR> stop(p);
  adopted(stop);
  stop.on(bar(9, 40, 10.35, 10.36, 10.10, 10.12));
  stop.fired("stop_hit", VR::kPendingExit);
  check_close_intent(stop, 100, 10.12);

  Driver<VR> target(p);
  adopted(target);
  target.on(bar(9, 40, 10.40, 10.81, 10.30, 10.70));
  target.fired("target_hit", VR::kPendingExit);
  CHECK(target.v("target") == Approx(10.80));
  check_close_intent(target, 100, 10.70);
  target.on(fill(ny(9, 41), Side::Sell, 10.70, 100));
  target.fired("exit_filled", VR::kFlat);
}

TEST_CASE("vwap_reclaim adopted_exit_pending, and its refusals", "[strategies][adopt]") {
  Driver<VR> d(VwapReclaimParams{});
  Adoption a;
  a.quantity = 100;
  a.average_price = 10.36;
  a.entry_ts = ny(9, 36);
  a.now = ny(9, 40);
  a.stop_price = 0;
  AdoptResult r = d.s.adopt(a, d.out);
  CHECK_FALSE(r.adopted);
  CHECK(r.reason.find("no stop is known") != std::string::npos);
  a.stop_price = 10.14;
  a.quantity = 101;
  CHECK(d.s.adopt(a, d.out).reason == "vwap_reclaim: 101 shares is more than one entry buys (100)");
  d.nothing();
  a.quantity = 100;
  a.exit_pending = true;
  REQUIRE(d.s.adopt(a, d.out).adopted);
  d.fired("adopted_exit_pending", VR::kPendingExit);
  d.on(fill(ny(9, 41), Side::Sell, 10.30, 100));
  d.fired("exit_filled", VR::kFlat);
  CHECK(d.s.position() == 0);
}
