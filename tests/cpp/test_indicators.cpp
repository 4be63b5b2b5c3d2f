// Streaming indicators: hand-computed values, warm-up, reset and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "tradecore/calendar.hpp"
#include "tradecore/indicators.hpp"

using namespace tradecore;
using namespace tradecore::indicators;
using Catch::Matchers::WithinRel;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// 2013-10-07 (a Monday) at New York local `hh:mm`, as ns UTC (EDT, UTC-4).
std::int64_t ny(int day_offset, int hh, int mm) {
  const std::int64_t local =
      (calendar::days_from_civil(2013, 10, 7) + day_offset) * calendar::kDay + hh * calendar::kHour + mm * calendar::kMinute;
  return calendar::to_utc(local);
}
}  // namespace

TEST_CASE("EMA seeds with the SMA of the first period values, then smooths", "[indicators]") {
  EMA ema(3);
  ema.update(1);
  ema.update(2);
  CHECK_FALSE(ema.initialized());
  ema.update(3);
  REQUIRE(ema.initialized());
  CHECK(ema.value() == 2.0);  // (1+2+3)/3
  ema.update(6);              // alpha = 0.5: 0.5*6 + 0.5*2
  CHECK_THAT(ema.value(), WithinRel(4.0, 1e-15));
  CHECK(ema.count() == 4);
  ema.reset();
  CHECK_FALSE(ema.initialized());
  CHECK(ema.count() == 0);
  for (double x : {1.0, 2.0, 3.0}) ema.update(x);
  CHECK(ema.value() == 2.0);
}

TEST_CASE("SMA and WMA over a window", "[indicators]") {
  SMA sma(3);
  WMA wma(3);
  for (double x : {1.0, 2.0, 3.0, 4.0}) {
    sma.update(x);
    wma.update(x);
  }
  CHECK_THAT(sma.value(), WithinRel(3.0, 1e-15));               // (2+3+4)/3
  CHECK_THAT(wma.value(), WithinRel((2 + 6 + 12) / 6.0, 1e-15));  // (1*2+2*3+3*4)/6
  sma.update(10);
  wma.update(10);
  CHECK_THAT(sma.value(), WithinRel(17.0 / 3.0, 1e-15));
  CHECK_THAT(wma.value(), WithinRel((3 + 8 + 30) / 6.0, 1e-15));
}

TEST_CASE("RSI follows Wilder and is 50 on a window without movement", "[indicators]") {
  RSI rsi(2);
  rsi.update(10);
  rsi.update(11);  // +1
  CHECK_FALSE(rsi.initialized());
  rsi.update(10.5);  // -0.5: gain 0.5, loss 0.25
  REQUIRE(rsi.initialized());
  CHECK_THAT(rsi.value(), WithinRel(100.0 * 0.5 / 0.75, 1e-14));
  rsi.update(11.5);  // +1: gain (0.5+1)/2 = 0.75, loss 0.125
  CHECK_THAT(rsi.value(), WithinRel(100.0 * 0.75 / 0.875, 1e-14));
  RSI flat(3);
  for (int i = 0; i < 6; ++i) flat.update(5.0);
  CHECK(flat.value() == 50.0);
}

TEST_CASE("ATR needs the previous close and seeds with the mean true range", "[indicators]") {
  ATR atr(2);
  atr.update(10, 9, 9.5);
  atr.update(11, 10, 10.5);  // TR = max(11, 9.5) - min(10, 9.5) = 1.5
  CHECK_FALSE(atr.initialized());
  atr.update(10.6, 10.4, 10.5);  // TR = 10.6 - 10.4 = 0.2
  REQUIRE(atr.initialized());
  CHECK_THAT(atr.value(), WithinRel(0.85, 1e-14));
  atr.update(12, 11, 11);  // TR = 12 - 10.5 = 1.5; (0.85*1 + 1.5)/2
  CHECK_THAT(atr.value(), WithinRel(1.175, 1e-14));
}

TEST_CASE("MACD starts both EMAs at index slow-1 as TA-Lib does", "[indicators]") {
  MACD macd(2, 3, 2);
  // slow EMA seed = (1+2+3)/3 = 2; fast seed = (2+3)/2 = 2.5; line = 0.5
  for (double x : {1.0, 2.0, 3.0}) macd.update(x);
  CHECK_FALSE(macd.initialized());
  CHECK_THAT(macd.line(), WithinRel(0.5, 1e-15));
  macd.update(6);  // fast: 2.5 + (6-2.5)*2/3 = 4.8333; slow: 2 + (6-2)*0.5 = 4; line 0.8333
  REQUIRE(macd.initialized());
  CHECK_THAT(macd.line(), WithinRel(5.0 / 6.0, 1e-14));
  CHECK_THAT(macd.signal(), WithinRel((0.5 + 5.0 / 6.0) / 2, 1e-14));
  CHECK_THAT(macd.histogram(), WithinRel(macd.line() - macd.signal(), 1e-15));
  CHECK_THROWS_AS(MACD(26, 12, 9), ConfigError);
}

TEST_CASE("Bollinger bands and standard deviation use the population variance", "[indicators]") {
  BollingerBands bb(4, 2.0);
  StandardDeviation sd(4);
  for (double x : {2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0}) {
    bb.update(x);
    sd.update(x);
  }
  // last four: 5,5,7,9: mean 6.5, population variance (2.25+2.25+0.25+6.25)/4 = 2.75
  CHECK_THAT(bb.middle(), WithinRel(6.5, 1e-14));
  CHECK_THAT(sd.value(), WithinRel(std::sqrt(2.75), 1e-14));
  CHECK_THAT(bb.upper(), WithinRel(6.5 + 2 * std::sqrt(2.75), 1e-14));
  CHECK_THAT(bb.lower(), WithinRel(6.5 - 2 * std::sqrt(2.75), 1e-14));
  for (int i = 0; i < 4; ++i) sd.update(649.0);
  CHECK(sd.value() == 0.0);  // identical values: exactly zero
}

TEST_CASE("Rolling variance has no cancellation on prices far from zero", "[indicators]") {
  StandardDeviation sd(3);
  // After a large outlier leaves, the variance of the rest must still be exact.
  for (double x : {1e9, 170.01, 170.02, 170.03, 170.01, 170.02, 170.03}) sd.update(x);
  const double mean = (170.01 + 170.02 + 170.03) / 3;
  const double var = ((170.01 - mean) * (170.01 - mean) + (170.02 - mean) * (170.02 - mean) +
                      (170.03 - mean) * (170.03 - mean)) / 3;
  CHECK_THAT(sd.value(), WithinRel(std::sqrt(var), 1e-9));
}

TEST_CASE("Highest and Lowest slide with a monotonic deque", "[indicators]") {
  Highest hi(3);
  Lowest lo(3);
  const std::vector<double> xs{5, 1, 4, 2, 8, 3, 3, 0};
  const std::vector<double> max3{5, 5, 5, 4, 8, 8, 8, 3};
  const std::vector<double> min3{5, 1, 1, 1, 2, 2, 3, 0};
  for (std::size_t i = 0; i < xs.size(); ++i) {
    hi.update(xs[i]);
    lo.update(xs[i]);
    CHECK(hi.value() == max3[i]);
    CHECK(lo.value() == min3[i]);
  }
  CHECK(hi.bars_since() == 1);  // the 3 at index 6 (ties keep the newest)
  CHECK(lo.bars_since() == 0);
}

TEST_CASE("Rate of change and OBV", "[indicators]") {
  RateOfChange roc(2);
  for (double x : {100.0, 50.0}) roc.update(x);
  CHECK_FALSE(roc.initialized());
  roc.update(110.0);
  CHECK_THAT(roc.value(), WithinRel(10.0, 1e-12));
  OBV obv;
  obv.update(10, 100);
  CHECK(obv.value() == 100);
  obv.update(11, 50);
  obv.update(10.5, 20);
  obv.update(10.5, 1000);
  CHECK(obv.value() == 130);
}

TEST_CASE("Stochastic: %K of the range, smoothed", "[indicators]") {
  Stochastic st(2, 1, 1);
  st.update(10, 8, 9);
  CHECK_FALSE(st.initialized());
  st.update(12, 9, 11);  // range 8..12, close 11 -> 75
  REQUIRE(st.initialized());
  CHECK_THAT(st.slow_k(), WithinRel(75.0, 1e-14));
  st.update(12, 12, 12);  // range 9..12 -> 100
  CHECK_THAT(st.slow_k(), WithinRel(100.0, 1e-14));
  Stochastic flat(2, 1, 1);
  flat.update(5, 5, 5);
  flat.update(5, 5, 5);
  CHECK(flat.slow_k() == 0.0);  // empty range: 0, as TA-Lib
}

TEST_CASE("ADX warms up over 2*period bars", "[indicators]") {
  ADX adx(3);
  double h = 10;
  for (int i = 0; i < 5; ++i) {
    adx.update(h + 1, h - 1, h);
    CHECK_FALSE(adx.initialized());
    h += 1;
  }
  adx.update(h + 1, h - 1, h);
  REQUIRE(adx.initialized());
  CHECK_THAT(adx.value(), WithinRel(100.0, 1e-12));  // a straight uptrend: +DM only
  CHECK(adx.minus_di() == 0.0);
}

TEST_CASE("VWAP anchors by day or at the regular open, with bands", "[indicators]") {
  VWAP day(VWAPAnchor::Day, 1.0);
  VWAP regular(VWAPAnchor::Regular, 1.0);
  for (VWAP* v : {&day, &regular}) {
    v->update(ny(0, 9, 0), 10.0, 100);
    v->update(ny(0, 9, 29), 12.0, 300);
  }
  CHECK_THAT(day.value(), WithinRel(11.5, 1e-15));
  // weighted variance: (100*2.25 + 300*0.25)/400 = 0.75
  CHECK_THAT(day.upper(), WithinRel(11.5 + std::sqrt(0.75), 1e-14));
  for (VWAP* v : {&day, &regular}) v->update(ny(0, 9, 30), 20.0, 400);
  CHECK_THAT(day.value(), WithinRel((1000.0 + 3600 + 8000) / 800, 1e-15));
  CHECK(regular.value() == 20.0);
  CHECK(regular.standard_deviation() == 0.0);
  day.update(ny(1, 4, 0), 7.0, 0.0);  // new day, no volume yet
  CHECK_FALSE(day.initialized());
  day.update(ny(1, 4, 1), 7.5, 10.0);
  CHECK(day.value() == 7.5);
  CHECK_THROWS_AS(day.update(ny(1, 4, 0), 7.5, 10.0), DataError);  // time going back
  CHECK_THROWS_AS(VWAP(VWAPAnchor::Day, -1.0), ConfigError);
  CHECK_THROWS_AS(parse_vwap_anchor("week"), ConfigError);
}

TEST_CASE("Relative volume per bucket and cumulative over prior sessions", "[indicators]") {
  RelativeVolume per_bucket(2);
  RelativeVolume cumulative(2, calendar::kMinute, true);
  // Three sessions (skipping the weekend-like gap on day 3 shows days without data do not count).
  const int days[3] = {0, 1, 4};
  const double v930[3] = {100, 300, 400};
  const double v931[3] = {50, 0, 60};  // day 1 has no 09:31 bar
  for (int s = 0; s < 3; ++s) {
    for (RelativeVolume* r : {&per_bucket, &cumulative}) {
      r->update(ny(days[s], 9, 30), v930[s]);
      if (s == 2) continue;
      if (v931[s] > 0) r->update(ny(days[s], 9, 31), v931[s]);
    }
  }
  REQUIRE(per_bucket.initialized());
  CHECK_THAT(per_bucket.value(), WithinRel(400.0 / 200.0, 1e-15));
  CHECK_THAT(cumulative.value(), WithinRel(400.0 / 200.0, 1e-15));
  per_bucket.update(ny(4, 9, 31), 60);
  cumulative.update(ny(4, 9, 31), 60);
  CHECK_THAT(per_bucket.value(), WithinRel(60.0 / 25.0, 1e-15));
  // cumulative to 09:31: day0 150, day1 300 (forward-filled) -> mean 225; today 460
  CHECK_THAT(cumulative.value(), WithinRel(460.0 / 225.0, 1e-15));
  CHECK_THROWS_AS(RelativeVolume(0), ConfigError);
  CHECK_THROWS_AS(RelativeVolume(10, 5), ConfigError);
}

TEST_CASE("Bad input throws DataError and leaves the state unchanged", "[indicators]") {
  EMA ema(2);
  ema.update(1);
  ema.update(3);
  for (double bad : {kNaN, kInf, -kInf}) {
    CHECK_THROWS_AS(ema.update(bad), DataError);
  }
  CHECK(ema.count() == 2);
  CHECK(ema.value() == 2.0);
  ATR atr(2);
  CHECK_THROWS_AS(atr.update(9, 10, 9.5), DataError);   // high < low
  CHECK_THROWS_AS(atr.update(10, 9, kNaN), DataError);
  CHECK(atr.count() == 0);
  OBV obv;
  CHECK_THROWS_AS(obv.update(10, -5), DataError);
  try {
    obv.update(10, kNaN);
    FAIL("no throw");
  } catch (const DataError& e) {
    CHECK(e.row() == -1);
    CHECK(std::string(e.what()).find("OBV") != std::string::npos);
  }
}

TEST_CASE("run_batch reports the row and keeps earlier rows applied", "[indicators]") {
  SMA sma(2);
  const std::vector<double> xs{1, 2, 3, kNaN, 5};
  try {
    run_batch(xs.size(), [&](std::size_t i) { sma.update(xs[i]); });
    FAIL("no throw");
  } catch (const DataError& e) {
    CHECK(e.row() == 3);
    CHECK(std::string(e.what()).rfind("row 3: ", 0) == 0);
  }
  CHECK(sma.count() == 3);
  CHECK(sma.value() == 2.5);
}

TEST_CASE("Invalid periods throw ConfigError", "[indicators]") {
  CHECK_THROWS_AS(EMA(0), ConfigError);
  CHECK_THROWS_AS(SMA(-1), ConfigError);
  CHECK_THROWS_AS(WMA(kMaxPeriod + 1), ConfigError);
  CHECK_THROWS_AS(RSI(0), ConfigError);
  CHECK_THROWS_AS(ADX(0), ConfigError);
  CHECK_THROWS_AS(Stochastic(5, 0, 3), ConfigError);
  CHECK_THROWS_AS(BollingerBands(20, kNaN), ConfigError);
}

TEST_CASE("Highest/Lowest agree with brute force for scanned and deque windows", "[indicators]") {
  for (int period : {1, 2, 7, 32, 33, 100}) {
    Highest hi(period);
    Lowest lo(period);
    std::vector<double> xs;
    std::uint64_t state = 12345;
    for (int i = 0; i < 1000; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      xs.push_back(static_cast<double>((state >> 33) % 50));  // many ties
      hi.update(xs.back());
      lo.update(xs.back());
      const std::size_t from = xs.size() > static_cast<std::size_t>(period) ? xs.size() - period : 0;
      double mx = xs[from], mn = xs[from];
      std::int64_t mx_at = static_cast<std::int64_t>(from), mn_at = mx_at;
      for (std::size_t j = from; j < xs.size(); ++j) {
        if (xs[j] >= mx) mx = xs[j], mx_at = static_cast<std::int64_t>(j);
        if (xs[j] <= mn) mn = xs[j], mn_at = static_cast<std::int64_t>(j);
      }
      REQUIRE(hi.value() == mx);
      REQUIRE(lo.value() == mn);
      REQUIRE(hi.bars_since() == i - mx_at);
      REQUIRE(lo.bars_since() == i - mn_at);
    }
  }
}

TEST_CASE("Session anchoring follows New York dates across a DST change", "[indicators]") {
  // 2013-11-03: clocks go back at 02:00 EDT. Both updates are the same New York date.
  const std::int64_t day = calendar::days_from_civil(2013, 11, 3);
  const auto at = [&](std::int64_t d, int hh, int mm) {
    return calendar::to_utc(d * calendar::kDay + hh * calendar::kHour + mm * calendar::kMinute);
  };
  VWAP vwap(VWAPAnchor::Day, 1.0);
  vwap.update(at(day, 0, 30), 10.0, 1.0);
  vwap.update(at(day, 23, 50), 20.0, 1.0);
  CHECK(vwap.value() == 15.0);  // no restart inside the date
  vwap.update(at(day + 1, 0, 10), 30.0, 1.0);
  CHECK(vwap.value() == 30.0);  // restart at the next date
  RelativeVolume rv(1);
  rv.update(at(day - 1, 12, 0), 100.0);  // EDT day
  rv.update(at(day + 1, 12, 0), 50.0);   // EST day: same local bucket 12:00
  REQUIRE(rv.initialized());
  CHECK(rv.value() == 0.5);
}
