// ns per update of every streaming indicator. Inputs are a pre-generated random walk of
// realistic minute bars (~$170, cent moves), so the loop measures update(), not the RNG.
// Each iteration performs one update and reads the output through DoNotOptimize, which forces
// the value to be materialised without adding a dependency the real code would not have.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tradecore/calendar.hpp"
#include "tradecore/indicators.hpp"

using namespace tradecore;
using namespace tradecore::indicators;

namespace {

struct Bars {
  std::vector<double> high, low, close, volume;
  std::vector<std::int64_t> ts;
};

constexpr std::size_t kBars = 1 << 16;  // power of two: the index wraps with a mask

const Bars& bars() {
  static const Bars b = [] {
    Bars out;
    std::mt19937_64 rng(42);
    std::normal_distribution<double> step(0.0, 0.05);
    std::uniform_real_distribution<double> wick(0.0, 0.05);
    std::lognormal_distribution<double> vol(8.0, 1.0);
    double price = 170.0;
    // 2013-10-07 04:00 New York, one bar a minute, 960 bars per day, 16 days or so.
    const std::int64_t day0 = calendar::days_from_civil(2013, 10, 7);
    for (std::size_t i = 0; i < kBars; ++i) {
      const double open = price;
      price = std::max(1.0, price + step(rng));
      out.close.push_back(price);
      out.high.push_back(std::max(open, price) + wick(rng));
      out.low.push_back(std::min(open, price) - wick(rng));
      out.volume.push_back(std::floor(vol(rng)));
      const std::int64_t day = day0 + static_cast<std::int64_t>(i / 960);
      const std::int64_t local = day * calendar::kDay + calendar::kPremarketOpen +
                                 static_cast<std::int64_t>(i % 960) * calendar::kMinute;
      out.ts.push_back(calendar::to_utc(local));
    }
    return out;
  }();
  return b;
}

template <class Ind, class Read>
void run_close(benchmark::State& state, Ind ind, Read read) {
  const auto& c = bars().close;
  std::size_t i = 0;
  for (auto _ : state) {
    ind.update(c[i]);
    benchmark::DoNotOptimize(read(ind));
    i = (i + 1) & (kBars - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Ind, class Read>
void run_hlc(benchmark::State& state, Ind ind, Read read) {
  const auto& b = bars();
  std::size_t i = 0;
  for (auto _ : state) {
    ind.update(b.high[i], b.low[i], b.close[i]);
    benchmark::DoNotOptimize(read(ind));
    i = (i + 1) & (kBars - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

auto value = [](const auto& x) { return x.value(); };

void BM_EMA(benchmark::State& s) { run_close(s, EMA(20), value); }
void BM_SMA(benchmark::State& s) { run_close(s, SMA(20), value); }
void BM_WMA(benchmark::State& s) { run_close(s, WMA(20), value); }
void BM_RSI(benchmark::State& s) { run_close(s, RSI(14), value); }
void BM_RateOfChange(benchmark::State& s) { run_close(s, RateOfChange(10), value); }
void BM_StandardDeviation(benchmark::State& s) { run_close(s, StandardDeviation(20), value); }
void BM_Highest(benchmark::State& s) { run_close(s, Highest(20), value); }
void BM_Lowest(benchmark::State& s) { run_close(s, Lowest(20), value); }
/// Period above the scan limit: the monotonic deque path.
void BM_Highest_deque(benchmark::State& s) { run_close(s, Highest(100), value); }
void BM_MACD(benchmark::State& s) {
  run_close(s, MACD(12, 26, 9), [](const MACD& m) { return m.histogram(); });
}
void BM_BollingerBands(benchmark::State& s) {
  run_close(s, BollingerBands(20, 2.0), [](const BollingerBands& b) { return b.upper(); });
}
void BM_ATR(benchmark::State& s) { run_hlc(s, ATR(14), value); }
void BM_ADX(benchmark::State& s) { run_hlc(s, ADX(14), value); }
void BM_Stochastic(benchmark::State& s) {
  run_hlc(s, Stochastic(5, 3, 3), [](const Stochastic& x) { return x.slow_d(); });
}

void BM_OBV(benchmark::State& state) {
  const auto& b = bars();
  OBV obv;
  std::size_t i = 0;
  for (auto _ : state) {
    obv.update(b.close[i], b.volume[i]);
    benchmark::DoNotOptimize(obv.value());
    i = (i + 1) & (kBars - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VWAP(benchmark::State& state) {
  const auto& b = bars();
  VWAP vwap(VWAPAnchor::Regular, 2.0);
  std::size_t i = 0;
  for (auto _ : state) {
    // Time must not go backwards: restart the indicator when the input wraps (once per 65536).
    if (i == 0) vwap.reset();
    vwap.update(b.ts[i], b.close[i], b.volume[i]);
    benchmark::DoNotOptimize(vwap.upper());
    i = (i + 1) & (kBars - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RelativeVolume(benchmark::State& state) {
  const auto& b = bars();
  RelativeVolume rv(10, calendar::kMinute, state.range(0) != 0);
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == 0) rv.reset();
    rv.update(b.ts[i], b.volume[i]);
    benchmark::DoNotOptimize(rv.value());
    i = (i + 1) & (kBars - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

/// EMA's dependency chain alone: the latency floor the 2 ns target refers to.
void BM_EMA_chain_only(benchmark::State& state) {
  const auto& c = bars().close;
  EMA ema(20);
  for (int k = 0; k < 20; ++k) ema.update(c[static_cast<std::size_t>(k)]);
  std::size_t i = 0;
  for (auto _ : state) {
    ema.update(c[i]);
    i = (i + 1) & (kBars - 1);
  }
  benchmark::DoNotOptimize(ema.value());
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_EMA);
BENCHMARK(BM_EMA_chain_only);
BENCHMARK(BM_SMA);
BENCHMARK(BM_WMA);
BENCHMARK(BM_RSI);
BENCHMARK(BM_RateOfChange);
BENCHMARK(BM_StandardDeviation);
BENCHMARK(BM_Highest);
BENCHMARK(BM_Lowest);
BENCHMARK(BM_Highest_deque);
BENCHMARK(BM_MACD);
BENCHMARK(BM_BollingerBands);
BENCHMARK(BM_ATR);
BENCHMARK(BM_ADX);
BENCHMARK(BM_Stochastic);
BENCHMARK(BM_OBV);
BENCHMARK(BM_VWAP);
BENCHMARK(BM_RelativeVolume)->Arg(0)->Arg(1)->ArgName("cumulative");
