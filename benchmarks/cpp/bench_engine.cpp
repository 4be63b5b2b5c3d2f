// ns per event of the strategy state machine and of the whole per-symbol engine.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "tradecore/strategies/ema_cross.hpp"
#include "tradecore/symbol_engine.hpp"

using namespace tradecore;
using namespace tradecore::calendar;

namespace {

std::vector<Bar> walk_bars(std::size_t n) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> step(0.0, 0.05);
  std::vector<Bar> bars(n);
  double price = 100.0;
  std::int64_t ts = to_utc(days_from_civil(2013, 10, 7) * kDay + kPremarketOpen);
  for (auto& b : bars) {
    b.ts_event = ts;
    b.ts_end = ts + kMinute;
    b.open = price;
    price = std::max(1.0, price + step(rng));
    b.close = price;
    b.high = std::max(b.open, b.close) + 0.01;
    b.low = std::min(b.open, b.close) - 0.01;
    b.volume = 10'000;
    ts += kMinute;
  }
  return bars;
}

// The state machine step alone: indicator updates, guards, transitions and intents.
void BM_EmaCrossOnBar(benchmark::State& state) {
  const auto bars = walk_bars(1 << 16);
  strategies::EmaCross strategy;
  StrategyOutput out;
  std::size_t i = 0;
  for (auto _ : state) {
    strategy.on_bar(bars[i], out);
    if (strategy.state() == strategies::EmaCross::kPendingEntry ||
        strategy.state() == strategies::EmaCross::kPendingExit) {
      // Complete the round trip so the machine keeps cycling through every state.
      Fill fill{bars[i].ts_end, 1, bars[i].close, 100, 0, 0, 0,
                strategy.state() == strategies::EmaCross::kPendingEntry ? Side::Buy : Side::Sell, 1};
      strategy.on_fill(fill, out);
    }
    if (out.transitions.size() > 4096) out.clear();
    i = (i + 1) & (bars.size() - 1);
  }
  benchmark::DoNotOptimize(out.transitions.data());
  state.SetItemsProcessed(state.iterations());
}

// Trades through the whole engine: aggregation, ema_cross on every closed bar, fill simulator
// with the last print as the book. Intents are left undrained (the caller's routing is Python's).
void BM_EngineTrades(benchmark::State& state) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> step(0.0, 0.01);
  std::vector<Trade> trades(1 << 20);
  double price = 100.0;
  std::int64_t ts = to_utc(days_from_civil(2013, 10, 7) * kDay + kPremarketOpen);
  for (auto& t : trades) {
    ts += 50'000'000;
    price = std::max(1.0, price + step(rng));
    t = Trade{ts, price, 100, 0, 0, 0, 'P', 0};
  }
  for (auto _ : state) {
    EngineConfig c;
    c.simulate_fills = true;
    SymbolEngine engine(c);
    engine.add_strategy(std::make_shared<strategies::EmaCross>());
    engine.load(trades, {}, {}, {}, {});
    std::uint64_t id = 1;
    while (engine.run() != StopReason::Exhausted) {
      EngineOutput out = engine.take_output();
      for (const auto& intent : out.intents)
        engine.submit(Order{id++, engine.now(), intent.sizing == Sizing::ClosePosition ? 100.0 : intent.quantity,
                            0, 0, 0, intent.side, OrderType::Market, TimeInForce::Day},
                      intent.strategy_id);
    }
    benchmark::DoNotOptimize(engine.events_processed());
  }
  state.counters["ns_per_event"] = benchmark::Counter(
      static_cast<double>(state.iterations() * trades.size()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(BM_EmaCrossOnBar);
BENCHMARK(BM_EngineTrades)->Unit(benchmark::kMillisecond);
