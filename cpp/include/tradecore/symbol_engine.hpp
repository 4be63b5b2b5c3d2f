#pragma once
/// One symbol's engine: bar aggregation, its strategies and (optionally) the fill simulator,
/// driven by one merged stream of events. The caller loads arrays of events and calls run(),
/// which processes them natively until something needs the caller (an intent, a fill, a
/// transition it asked to observe) and returns there; the next run() resumes. A live event is a
/// batch of one: replay and live are the same code.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tradecore/bar_aggregator.hpp"
#include "tradecore/fill_simulator.hpp"
#include "tradecore/strategy.hpp"

namespace tradecore {

struct EngineConfig {
  std::uint32_t instrument_id = 0;
  bool aggregate_trades = true;  ///< build bars from trades for the strategies
  AggregatorConfig bars{};       ///< how (its instrument_id is set from the engine's)
  bool simulate_fills = false;   ///< own a FillSimulator (backtests, the paper broker)
  FillModel fill_model{};
  /// For a symbol that never had a quote, let the last trade (or input bar's close) act as the book: bid = ask
  /// = price, size = the print's size (the bar's volume), so market orders fill there.
  bool last_price_as_book = true;
  bool stop_on_transition = false;  ///< return to the caller after every transition
  bool stop_on_bar = false;         ///< return after every bar the strategies saw
};

/// Why run() returned.
enum class StopReason : std::uint8_t { Exhausted = 0, Intent = 1, Fill = 2, Transition = 3, Bar = 4 };

/// What the engine produced since the caller last drained it.
struct EngineOutput {
  std::vector<TransitionRecord> transitions;
  std::vector<TradeIntent> intents;
  std::vector<Fill> fills;
  std::vector<OrderUpdate> updates;
  std::vector<Bar> bars;
};

class SymbolEngine {
 public:
  explicit SymbolEngine(const EngineConfig& config);

  /// Add a strategy; returns its strategy_id (its index). Strategies run in the order added.
  std::uint16_t add_strategy(std::shared_ptr<Strategy> strategy);
  const std::vector<std::shared_ptr<Strategy>>& strategies() const noexcept { return strategies_; }

  /// Feed history bars to every strategy's warm_up (no transitions, no intents).
  void warm_up(std::span<const Bar> bars);
  bool ready() const;

  /// Load the next events. Each array must be sorted by time (bars by ts_end); they are merged
  /// with ties broken status, quote, trade, bar, clock. The spans must stay valid until
  /// exhausted() (the Python wrapper keeps the arrays alive).
  void load(std::span<const Trade> trades, std::span<const Quote> quotes, std::span<const Bar> bars,
            std::span<const Status> statuses, std::span<const std::int64_t> clock);
  /// Process loaded events until the caller is needed or they run out. It returns when this
  /// call produced intents or fills (or transitions/bars when configured to stop on them);
  /// everything produced accumulates in output() until take_output().
  StopReason run();
  bool exhausted() const noexcept;

  /// Orders from the caller's router, into the fill simulator (needs simulate_fills). The
  /// order is matched at once against the current book if it is live now.
  void submit(const Order& order, std::uint16_t strategy_id);
  void cancel(std::uint64_t order_id, std::int64_t ts);
  /// Fills and order updates from an external broker (live), routed to the strategy that owns
  /// the order; like run(), they return Intent when the strategy reacted with new intents.
  /// Orders placed by an external broker are owned by the strategy given to assign_order().
  StopReason on_external_fill(const Fill& fill);
  StopReason on_external_update(const OrderUpdate& update);
  void assign_order(std::uint64_t order_id, std::uint16_t strategy_id);
  /// Offer a position restored by a resume to strategy `strategy_id` (Strategy::adopt); its
  /// Resume transition goes to output() like any other.
  AdoptResult adopt(std::uint16_t strategy_id, const Adoption& position);
  /// Advance the clock without market data (live: closes silent bars).
  StopReason on_clock(std::int64_t now);

  const EngineOutput& output() const noexcept { return output_; }
  /// Take the output produced since the last take. Intents' `transition` fields index the
  /// concatenation of every transitions array taken from this engine.
  EngineOutput take_output();
  /// Drop the output after reading it in place through output().
  void mark_drained() { (void)take_output(); }
  /// The intents produced by the last run() or on_clock() call (the ones that stopped it).
  std::span<const TradeIntent> new_intents() const noexcept {
    return std::span<const TradeIntent>(output_.intents).subspan(seen_intents_);
  }

  std::int64_t now() const noexcept { return now_; }
  /// The last trade price processed (0 before the first trade).
  double last_price() const noexcept { return last_price_; }
  std::uint64_t events_processed() const noexcept { return processed_; }
  bool faulted() const noexcept { return !fault_.empty(); }
  const std::string& fault() const noexcept { return fault_; }
  const BarAggregator& aggregator() const noexcept { return aggregator_; }
  const FillSimulator* fill_simulator() const noexcept { return simulator_.get(); }
  const EngineConfig& config() const noexcept { return config_; }

 private:
  void process_trade(const Trade& t);
  void process_quote(const Quote& q);
  void process_bar(const Bar& b);
  void process_status(const Status& s);
  void process_clock(std::int64_t now);
  void dispatch_bars(std::size_t first);
  void route_fills(std::size_t first_fill, std::size_t first_update);
  /// Feed the fill simulator and route what it produced to the strategies.
  template <class F>
  void simulate(F&& feed);
  void collect();
  StopReason stop_reason() const;
  void mark_seen();
  template <class F>
  void guarded(const char* what, std::int64_t ts, F&& f);

  EngineConfig config_;
  BarAggregator aggregator_;
  std::unique_ptr<FillSimulator> simulator_;
  std::vector<std::shared_ptr<Strategy>> strategies_;
  bool any_wants_quotes_ = false, any_wants_trades_ = false;
  // Whether any quote ever reached the engine: the last trade stands in for the book only
  // for symbols without quotes (the loaded batch may hold trades only while quotes exist).
  bool seen_quote_ = false;
  std::unordered_map<std::uint64_t, std::uint16_t> order_owner_;
  StrategyOutput strategy_out_;
  EngineOutput output_;
  std::uint64_t transitions_drained_ = 0;
  // Output sizes when the current run() began: only what came after stops it.
  std::size_t seen_intents_ = 0, seen_fills_ = 0, seen_transitions_ = 0, seen_bars_ = 0;
  std::span<const Trade> trades_;
  std::span<const Quote> quotes_;
  std::span<const Bar> bars_;
  std::span<const Status> statuses_;
  std::span<const std::int64_t> clock_;
  std::size_t ti_ = 0, qi_ = 0, bi_ = 0, si_ = 0, ci_ = 0;
  std::int64_t now_ = INT64_MIN;
  double last_price_ = 0.0;
  std::uint64_t processed_ = 0;
  std::string fault_;
};

}  // namespace tradecore
