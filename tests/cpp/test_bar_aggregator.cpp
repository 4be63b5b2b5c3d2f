#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "tradecore/bar_aggregator.hpp"
#include "tradecore/error.hpp"

using namespace tradecore;
using namespace tradecore::calendar;

namespace {

/// UTC ns of a New York wall-clock time on 2013-10-07 (EDT), the LEAN tick days.
std::int64_t ny(int hh, int mm, int ss = 0, int day = 7, unsigned month = 10) {
  return to_utc(days_from_civil(2013, month, day) * kDay + hh * kHour + mm * kMinute + ss * kSecond);
}

Trade trade(std::int64_t ts, double price, double size = 100, std::uint32_t conditions = 0,
            std::uint8_t flags = 0) {
  return Trade{ts, price, size, 0, conditions, 0, 'P', flags};
}

AggregatorConfig minute_bars() {
  AggregatorConfig c;
  c.period_ns = kMinute;
  return c;
}

std::vector<Bar> run(BarAggregator& agg, const std::vector<Trade>& trades, bool flush = true) {
  std::vector<Bar> out;
  agg.update(trades, out);
  if (flush) agg.flush(out);
  return out;
}

}  // namespace

TEST_CASE("time bars carry OHLC, volume, VWAP, trade count and the bar open", "[bars]") {
  BarAggregator agg(minute_bars());
  auto bars = run(agg, {trade(ny(4, 0, 1), 10.0, 100), trade(ny(4, 0, 20), 11.0, 300),
                        trade(ny(4, 0, 59), 9.5, 100), trade(ny(4, 1, 0), 10.0, 50)});
  REQUIRE(bars.size() == 2);
  CHECK(bars[0].ts_event == ny(4, 0));
  CHECK(bars[0].ts_end == ny(4, 1));
  CHECK(bars[0].open == 10.0);
  CHECK(bars[0].high == 11.0);
  CHECK(bars[0].low == 9.5);
  CHECK(bars[0].close == 9.5);
  CHECK(bars[0].volume == 500);
  CHECK(bars[0].vwap == Approx((10.0 * 100 + 11.0 * 300 + 9.5 * 100) / 500).epsilon(1e-15));
  CHECK(bars[0].trade_count == 3);
  CHECK(bars[0].session == static_cast<std::uint8_t>(Session::Premarket));
  CHECK(bars[1].ts_event == ny(4, 1));
  CHECK(agg.stats().accepted == 4);
  CHECK(agg.stats().bars_emitted == 2);
}

TEST_CASE("bars never span a session boundary unless asked", "[bars]") {
  AggregatorConfig c;
  c.period_ns = kHour;
  const std::vector<Trade> trades{trade(ny(9, 10), 10.0), trade(ny(9, 40), 12.0)};
  BarAggregator split(c);
  auto bars = run(split, trades);
  REQUIRE(bars.size() == 2);
  CHECK(bars[0].ts_event == ny(9, 0));
  CHECK(bars[0].ts_end == ny(9, 30));
  CHECK(bars[0].session == static_cast<std::uint8_t>(Session::Premarket));
  CHECK(bars[1].ts_event == ny(9, 30));
  CHECK(bars[1].ts_end == ny(10, 0));
  CHECK(bars[1].session == static_cast<std::uint8_t>(Session::Regular));

  c.split_at_sessions = false;
  BarAggregator whole(c);
  bars = run(whole, trades);
  REQUIRE(bars.size() == 1);
  CHECK(bars[0].ts_event == ny(9, 0));
  CHECK(bars[0].volume == 200);
}

TEST_CASE("daily bars of the regular session are stamped at New York midnight", "[bars]") {
  AggregatorConfig c;
  c.period_ns = kDay;
  c.sessions = session_bit(Session::Regular);
  c.split_at_sessions = false;
  BarAggregator agg(c);
  auto bars = run(agg, {trade(ny(8, 0), 99.0), trade(ny(9, 30), 10.0), trade(ny(15, 59), 11.0),
                        trade(ny(16, 30), 50.0), trade(ny(10, 0, 0, 8), 12.0)});
  REQUIRE(bars.size() == 2);
  CHECK(bars[0].ts_event == to_utc(days_from_civil(2013, 10, 7) * kDay));
  CHECK(bars[0].ts_end == to_utc(days_from_civil(2013, 10, 8) * kDay));
  CHECK(bars[0].open == 10.0);
  CHECK(bars[0].close == 11.0);
  CHECK(bars[0].volume == 200);
  CHECK(agg.stats().outside_session == 2);
  CHECK(bars[1].open == 12.0);
}

TEST_CASE("bars follow New York time across a daylight-saving change", "[bars]") {
  // 2013-11-01 is EDT, 2013-11-04 is EST: the 04:00 bar starts at 08:00 then 09:00 UTC.
  BarAggregator agg(minute_bars());
  auto bars = run(agg, {trade(ny(4, 0, 5, 1, 11), 10.0), trade(ny(4, 0, 5, 4, 11), 10.0)});
  REQUIRE(bars.size() == 2);
  CHECK(bars[0].ts_event == days_from_civil(2013, 11, 1) * kDay + 8 * kHour);
  CHECK(bars[1].ts_event == days_from_civil(2013, 11, 4) * kDay + 9 * kHour);
  CHECK(bars[1].session == static_cast<std::uint8_t>(Session::Premarket));
}

TEST_CASE("trades outside the configured sessions are counted, not aggregated", "[bars]") {
  BarAggregator agg(minute_bars());
  auto bars = run(agg, {trade(ny(3, 59), 10.0), trade(ny(20, 0), 10.0), trade(ny(4, 0), 10.0)});
  CHECK(bars.size() == 1);
  CHECK(agg.stats().outside_session == 2);
}

TEST_CASE("late trades follow the late policy", "[bars][policy]") {
  const std::vector<Trade> trades{trade(ny(4, 0, 10), 10.0), trade(ny(4, 1, 10), 11.0),
                                  trade(ny(4, 0, 30), 20.0, 7), trade(ny(4, 1, 20), 12.0)};
  SECTION("drop counts and skips") {
    BarAggregator agg(minute_bars());
    auto bars = run(agg, trades);
    REQUIRE(bars.size() == 2);
    CHECK(bars[1].high == 12.0);
    CHECK(bars[1].volume == 200);
    CHECK(agg.stats().late_dropped == 1);
  }
  SECTION("amend folds volume and extremes into the open bar, not its close") {
    AggregatorConfig c = minute_bars();
    c.late = LatePolicy::Amend;
    BarAggregator agg(c);
    auto bars = run(agg, trades);
    REQUIRE(bars.size() == 2);
    CHECK(bars[1].high == 20.0);
    CHECK(bars[1].close == 12.0);
    CHECK(bars[1].volume == 207);
    CHECK((bars[1].flags & kBarAmended) != 0);
    CHECK(agg.stats().late_amended == 1);
  }
  SECTION("raise names the row and keeps what came before") {
    AggregatorConfig c = minute_bars();
    c.late = LatePolicy::Raise;
    BarAggregator agg(c);
    try {
      agg.update(trades);
      FAIL("expected a DataError");
    } catch (const DataError& e) {
      CHECK(e.row() == 2);
      CHECK(std::string(e.what()).find("row 2") != std::string::npos);
    }
    auto closed = agg.drain();
    REQUIRE(closed.size() == 1);  // the 04:00 bar, closed by row 1
    CHECK(closed[0].close == 10.0);
    CHECK(agg.open_bar().close == 11.0);
  }
  SECTION("out of order within the open bar is part of the bar") {
    BarAggregator agg(minute_bars());
    auto bars = run(agg, {trade(ny(4, 0, 30), 10.0), trade(ny(4, 0, 10), 9.0)});
    REQUIRE(bars.size() == 1);
    CHECK(bars[0].low == 9.0);
    CHECK(bars[0].close == 9.0);
    CHECK(agg.stats().late_dropped == 0);
  }
}

TEST_CASE("bad prices and sizes follow the bad-data policy", "[bars][policy]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (auto [price, size] : std::vector<std::pair<double, double>>{
           {nan, 1}, {inf, 1}, {0.0, 1}, {-1.0, 1}, {10.0, -1}, {10.0, nan}, {10.0, inf}}) {
    std::vector<Trade> trades{trade(ny(4, 0, 1), 10.0), trade(ny(4, 0, 2), price, size),
                              trade(ny(4, 0, 3), 11.0)};
    BarAggregator strict(minute_bars());
    std::vector<Bar> out;
    CHECK_THROWS_AS(strict.update(trades, out), DataError);
    CHECK(strict.stats().accepted == 1);

    AggregatorConfig c = minute_bars();
    c.bad = BadDataPolicy::Skip;
    BarAggregator lenient(c);
    auto bars = run(lenient, trades);
    REQUIRE(bars.size() == 1);
    CHECK(bars[0].trade_count == 2);
    CHECK(bars[0].high == 11.0);
    CHECK(lenient.stats().bad_skipped == 1);
  }
  BarAggregator single(minute_bars());
  std::vector<Bar> out;
  try {
    single.update(trade(ny(4, 0), nan), out);
    FAIL("expected a DataError");
  } catch (const DataError& e) {
    CHECK(e.row() == -1);
  }
}

TEST_CASE("a zero-size print counts as a trade without volume", "[bars]") {
  BarAggregator agg(minute_bars());
  auto bars = run(agg, {trade(ny(4, 0, 1), 10.0, 0)});
  REQUIRE(bars.size() == 1);
  CHECK(bars[0].volume == 0);
  CHECK(bars[0].vwap == 10.0);
  CHECK(bars[0].trade_count == 1);
}

TEST_CASE("condition filters follow tape rules for prices and volume", "[bars][conditions]") {
  AggregatorConfig c = minute_bars();
  c.exclude_price_conditions = 0x100000;  // average-price trade
  c.exclude_volume_conditions = 0x8;
  BarAggregator agg(c);
  auto bars = run(agg, {trade(ny(4, 0, 1), 10.0), trade(ny(4, 0, 2), 50.0, 400, 0x100000),
                        trade(ny(4, 0, 3), 10.5, 1000, 0x8), trade(ny(4, 0, 4), 10.2)});
  REQUIRE(bars.size() == 1);
  CHECK(bars[0].high == 10.5);
  CHECK(bars[0].close == 10.2);
  CHECK(bars[0].volume == 600);
  CHECK(bars[0].trade_count == 4);
  CHECK(agg.stats().price_excluded == 1);
  CHECK(agg.stats().volume_excluded == 1);
}

TEST_CASE("suspicious prints are dropped and counted by default", "[bars][conditions]") {
  BarAggregator agg(minute_bars());
  auto bars = run(agg, {trade(ny(4, 0, 1), 10.0), trade(ny(4, 0, 2), 99.0, 100, 0, kTradeSuspicious)});
  REQUIRE(bars.size() == 1);
  CHECK(bars[0].high == 10.0);
  CHECK(agg.stats().suspicious_dropped == 1);
}

TEST_CASE("empty periods give no bar or a flat bar within the day", "[bars][policy]") {
  const std::vector<Trade> trades{trade(ny(9, 27, 5), 10.0), trade(ny(9, 31, 5), 11.0)};
  BarAggregator skip(minute_bars());
  CHECK(run(skip, trades).size() == 2);

  AggregatorConfig c = minute_bars();
  c.empty = EmptyPolicy::Flat;
  BarAggregator flat(c);
  auto bars = run(flat, trades);
  REQUIRE(bars.size() == 5);  // 09:27, 09:28 flat, 09:29 flat, 09:30 flat, 09:31
  for (int i = 1; i <= 3; ++i) {
    CHECK(bars[i].ts_event == ny(9, 27 + i));
    CHECK(bars[i].open == 10.0);
    CHECK(bars[i].volume == 0);
    CHECK(bars[i].flags == kBarFlat);
  }
  CHECK(bars[3].session == static_cast<std::uint8_t>(Session::Regular));
  CHECK(flat.stats().flat_bars == 3);

  BarAggregator overnight(c);  // flat to the end of the day's last session, not overnight
  bars = run(overnight, {trade(ny(19, 58), 10.0), trade(ny(4, 0, 0, 8), 11.0)});
  REQUIRE(bars.size() == 3);
  CHECK(bars[1].ts_event == ny(19, 59));
  CHECK(bars[1].flags == kBarFlat);
  CHECK(bars[2].ts_event == ny(4, 0, 0, 8));
}

TEST_CASE("the clock closes a silent bar and emits flat periods", "[bars][clock]") {
  AggregatorConfig c = minute_bars();
  c.empty = EmptyPolicy::Flat;
  BarAggregator agg(c);
  std::vector<Bar> out;
  agg.update(trade(ny(4, 0, 10), 10.0), out);
  agg.on_clock(ny(4, 0, 59), out);
  CHECK(out.empty());
  agg.on_clock(ny(4, 1, 0), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].close == 10.0);
  agg.on_clock(ny(4, 3, 30), out);
  REQUIRE(out.size() == 3);  // flat 04:01 and 04:02; 04:03 has not ended
  CHECK(out[2].ts_event == ny(4, 2));
  // A trade for a period the clock already closed is late.
  agg.update(trade(ny(4, 2, 50), 10.0), out);
  CHECK(agg.stats().late_dropped == 1);
  agg.update(trade(ny(4, 3, 40), 10.5), out);
  agg.flush(out, true);
  REQUIRE(out.size() == 4);
  CHECK(out[3].ts_event == ny(4, 3));
  CHECK((out[3].flags & kBarPartial) != 0);
}

TEST_CASE("tick, volume, value and range bars", "[bars][information]") {
  std::vector<Trade> trades;
  for (int i = 0; i < 10; ++i) trades.push_back(trade(ny(4, 0, i), 10.0 + 0.1 * i, 100));

  AggregatorConfig c;
  c.kind = BarKind::Tick;
  c.size = 4;
  BarAggregator ticks(c);
  auto bars = run(ticks, trades);
  REQUIRE(bars.size() == 3);
  CHECK(bars[0].trade_count == 4);
  CHECK(bars[0].ts_event == ny(4, 0, 0));
  CHECK(bars[0].ts_end == ny(4, 0, 3));
  CHECK(bars[2].trade_count == 2);

  c.kind = BarKind::Volume;
  c.size = 250;
  BarAggregator volume(c);
  bars = run(volume, trades);
  REQUIRE(bars.size() == 4);
  CHECK(bars[0].volume == 250);
  CHECK(bars[1].volume == 250);
  CHECK(bars[3].volume == 250);
  CHECK(volume.stats().accepted == 10);

  c.kind = BarKind::Value;
  c.size = 5000;
  BarAggregator value(c);
  bars = run(value, trades);
  double total = 0;
  for (const auto& b : bars) total += b.vwap * b.volume;
  CHECK(total == Approx(10 * 100 * 10.45));
  CHECK(bars[0].vwap * bars[0].volume == Approx(5000));

  c.kind = BarKind::Range;
  c.size = 0.25;
  BarAggregator range(c);
  bars = run(range, trades);
  REQUIRE(bars.size() == 4);  // 10.0-10.2, 10.3-10.5, 10.6-10.8, 10.9
  CHECK(bars[0].high - bars[0].low <= 0.25 + 1e-12);
  CHECK(bars[1].open == Approx(10.3));
}

TEST_CASE("information bars restart at a session boundary", "[bars][information]") {
  AggregatorConfig c;
  c.kind = BarKind::Tick;
  c.size = 3;
  BarAggregator agg(c);
  auto bars = run(agg, {trade(ny(9, 29), 10.0), trade(ny(9, 29, 30), 10.0), trade(ny(9, 30), 10.0)});
  REQUIRE(bars.size() == 2);
  CHECK(bars[0].trade_count == 2);
  CHECK(bars[1].session == static_cast<std::uint8_t>(Session::Regular));
}

TEST_CASE("5-minute bars from 1-minute bars match direct aggregation", "[bars][resample]") {
  std::vector<Trade> trades;
  double price = 50.0;
  for (int i = 0; i < 2000; ++i) {
    price += ((i * 7919) % 13 - 6) * 0.01;
    trades.push_back(trade(ny(9, 0) + i * 3 * kSecond + (i % 5) * 1000, price, 100 + i % 7));
  }
  AggregatorConfig c1 = minute_bars();
  BarAggregator one(c1);
  auto minute = run(one, trades);
  AggregatorConfig c5;
  c5.period_ns = 5 * kMinute;
  BarAggregator direct(c5), from_minutes(c5);
  auto expected = run(direct, trades);
  std::vector<Bar> got;
  from_minutes.update_bars(minute, got);
  from_minutes.flush(got);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].ts_event == expected[i].ts_event);
    CHECK(got[i].ts_end == expected[i].ts_end);
    CHECK(got[i].open == expected[i].open);
    CHECK(got[i].high == expected[i].high);
    CHECK(got[i].low == expected[i].low);
    CHECK(got[i].close == expected[i].close);
    CHECK(got[i].volume == expected[i].volume);
    CHECK(got[i].trade_count == expected[i].trade_count);
    CHECK(got[i].session == expected[i].session);
    CHECK(got[i].vwap == Approx(expected[i].vwap).epsilon(1e-12));
  }
}

TEST_CASE("configuration is validated", "[bars][config]") {
  AggregatorConfig c;
  c.period_ns = kSecond / 2;
  CHECK_THROWS_AS(BarAggregator(c), ConfigError);
  c.period_ns = 2 * kDay;
  CHECK_THROWS_AS(BarAggregator(c), ConfigError);
  c = AggregatorConfig{};
  c.kind = BarKind::Volume;
  CHECK_THROWS_AS(BarAggregator(c), ConfigError);
  c = AggregatorConfig{};
  c.sessions = 0;
  CHECK_THROWS_AS(BarAggregator(c), ConfigError);
  c = AggregatorConfig{};
  c.empty = EmptyPolicy::Flat;
  CHECK_THROWS_AS(QuoteBarAggregator(c), ConfigError);
}

TEST_CASE("quote bars: bid/ask OHLC, last sizes and time-weighted spread", "[bars][quotes]") {
  AggregatorConfig c = minute_bars();
  QuoteBarAggregator agg(c);
  std::vector<QuoteBar> out;
  std::vector<Quote> quotes{
      Quote{ny(4, 0, 0), 10.00, 10.10, 100, 200, 0, 0, 'P', 'P', 0},
      Quote{ny(4, 0, 30), 10.05, 0.0, 300, 0, 0, 0, 'P', 0, 0},  // bid-only update
      Quote{ny(4, 1, 15), 10.02, 10.04, 100, 100, 0, 0, 'P', 'P', 0},
  };
  agg.update(quotes, out);
  REQUIRE(out.size() == 1);
  const QuoteBar& b = out[0];
  CHECK(b.bid_open == 10.00);
  CHECK(b.bid_high == 10.05);
  CHECK(b.bid_close == 10.05);
  CHECK(b.ask_open == 10.10);
  CHECK(b.ask_close == 10.10);
  CHECK(b.bid_size == 300);
  CHECK(b.quote_count == 2);
  CHECK(b.spread_twa == Approx((0.10 * 30 + 0.05 * 30) / 60).epsilon(1e-12));
  agg.flush(out);
  REQUIRE(out.size() == 2);
  // The 04:01 bar opens at the book carried in (10.05 x 10.10) until 04:01:15.
  CHECK(out[1].bid_open == 10.05);
  CHECK(out[1].spread_twa == Approx((0.05 * 15 + 0.02 * 45) / 60).epsilon(1e-12));
}

TEST_CASE("crossed, empty and invalid quotes follow the bad-data policy", "[bars][quotes][policy]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (Quote bad : {Quote{ny(4, 0, 1), 10.2, 10.1, 1, 1, 0, 0, 0, 0, 0},
                    Quote{ny(4, 0, 1), 0.0, 0.0, 1, 1, 0, 0, 0, 0, 0},
                    Quote{ny(4, 0, 1), nan, 10.1, 1, 1, 0, 0, 0, 0, 0},
                    Quote{ny(4, 0, 1), 10.0, 10.1, -5, 1, 0, 0, 0, 0, 0}}) {
    std::vector<Quote> quotes{Quote{ny(4, 0, 0), 10.0, 10.1, 1, 1, 0, 0, 0, 0, 0}, bad};
    QuoteBarAggregator strict(minute_bars());
    std::vector<QuoteBar> out;
    try {
      strict.update(quotes, out);
      FAIL("expected a DataError");
    } catch (const DataError& e) {
      CHECK(e.row() == 1);
    }
    AggregatorConfig c = minute_bars();
    c.bad = BadDataPolicy::Skip;
    QuoteBarAggregator lenient(c);
    lenient.update(quotes, out);
    CHECK(lenient.stats().bad_skipped == 1);
    CHECK(lenient.stats().accepted == 1);
  }
}
