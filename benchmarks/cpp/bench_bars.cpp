// ns per trade (or quote) of the native aggregators on a synthetic premarket-to-close tape.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "tradecore/bar_aggregator.hpp"

using namespace tradecore;
using namespace tradecore::calendar;

namespace {

const std::vector<Trade>& tape() {
  static const std::vector<Trade> trades = [] {
    std::mt19937_64 rng(42);
    std::exponential_distribution<double> gap(1.0 / 50'000'000.0);  // ~20 trades per second
    std::normal_distribution<double> step(0.0, 0.01);
    std::vector<Trade> out(1 << 20);
    std::int64_t ts = to_utc(days_from_civil(2013, 10, 7) * kDay + kPremarketOpen);
    double price = 100.0;
    for (auto& t : out) {
      ts += static_cast<std::int64_t>(gap(rng));
      price = std::max(1.0, price + step(rng));
      t = Trade{ts, price, double(100 + rng() % 900), 0, 0, 0, 'P', 0};
    }
    return out;
  }();
  return trades;
}

void run(benchmark::State& state, AggregatorConfig config) {
  const auto& trades = tape();
  std::vector<Bar> out;
  out.reserve(1 << 16);
  for (auto _ : state) {
    BarAggregator agg(config);
    agg.update(trades, out);
    agg.flush(out);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(trades.size()));
  state.counters["ns_per_trade"] = benchmark::Counter(
      static_cast<double>(state.iterations() * trades.size()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_TimeBars1Min(benchmark::State& s) { run(s, AggregatorConfig{}); }
void BM_TimeBars1Sec(benchmark::State& s) {
  AggregatorConfig c;
  c.period_ns = kSecond;
  run(s, c);
}
void BM_TimeBars1MinFlat(benchmark::State& s) {
  AggregatorConfig c;
  c.empty = EmptyPolicy::Flat;
  run(s, c);
}
void BM_TickBars(benchmark::State& s) {
  AggregatorConfig c;
  c.kind = BarKind::Tick;
  c.size = 500;
  run(s, c);
}
void BM_VolumeBars(benchmark::State& s) {
  AggregatorConfig c;
  c.kind = BarKind::Volume;
  c.size = 100'000;
  run(s, c);
}
void BM_RangeBars(benchmark::State& s) {
  AggregatorConfig c;
  c.kind = BarKind::Range;
  c.size = 0.5;
  run(s, c);
}

void BM_QuoteBars1Min(benchmark::State& state) {
  const auto& trades = tape();
  std::vector<Quote> quotes(trades.size());
  for (std::size_t i = 0; i < trades.size(); ++i)
    quotes[i] = Quote{trades[i].ts_event, trades[i].price - 0.01, trades[i].price + 0.01, 100, 200, 0, 0, 'P', 'P', 0};
  std::vector<QuoteBar> out;
  for (auto _ : state) {
    QuoteBarAggregator agg(AggregatorConfig{});
    agg.update(quotes, out);
    agg.flush(out);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
  state.counters["ns_per_quote"] = benchmark::Counter(
      static_cast<double>(state.iterations() * quotes.size()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(BM_TimeBars1Min)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TimeBars1Sec)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TimeBars1MinFlat)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TickBars)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VolumeBars)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RangeBars)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QuoteBars1Min)->Unit(benchmark::kMillisecond);
