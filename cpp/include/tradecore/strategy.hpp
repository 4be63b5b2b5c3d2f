#pragma once
/// Strategies are explicit state machines. A strategy declares its states and rules; each rule
/// has a from-state, a to-state, the event that evaluates it, a guard and an action. When a
/// guard passes, the transition is recorded with the values the guard saw, and the action may
/// emit TradeIntents (never orders) that point back at that record: every intent carries the
/// rule that fired and the numbers behind it.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tradecore/error.hpp"
#include "tradecore/orders.hpp"
#include "tradecore/schema.hpp"

namespace tradecore {

/// How an intent's quantity is meant; the order router turns it into shares.
enum class Sizing : std::uint8_t {
  Shares = 0,         ///< quantity is shares
  Notional = 1,       ///< quantity is dollars
  PercentEquity = 2,  ///< quantity is a fraction of account equity (0.1 = 10 %)
  RiskPerTrade = 3,   ///< quantity is dollars at risk between entry and stop_price
  ClosePosition = 4,  ///< close whatever the strategy holds
};

inline constexpr std::uint32_t kNoTransition = 0xFFFFFFFFu;

/// What a strategy wants done. It is not an order: risk checks and the router decide.
struct TradeIntent {
  std::int64_t ts_event;
  double quantity;     ///< meaning given by sizing
  double limit_price;  ///< limit orders (0 otherwise)
  double stop_price;   ///< stop orders, or the protective stop for RiskPerTrade sizing
  double reference_price;  ///< the price the strategy saw (for sizing and sanity bands)
  std::uint32_t instrument_id;
  std::uint32_t transition;  ///< index of the TransitionRecord that emitted it in this run
                             ///< (kNoTransition if none)
  std::uint16_t strategy_id;
  std::uint16_t rule;  ///< the rule that fired: the reason
  Side side;
  OrderType order_type;
  Sizing sizing;
};

/// The values a guard looked at, for the transition log ("close=5.43 premarket_high=5.40").
inline constexpr int kSnapshotSize = 6;
struct Snapshot {
  std::array<std::uint16_t, kSnapshotSize> names{};  ///< ids into the strategy's value names
  std::array<double, kSnapshotSize> values{};
  std::uint8_t count = 0;
  void add(std::uint16_t name, double value) {
    if (count < kSnapshotSize) names[count] = name, values[count++] = value;
  }
  void clear() { count = 0; }
};

/// One state change, with why.
struct TransitionRecord {
  std::int64_t ts_event;
  double values[kSnapshotSize];  // C arrays: NumPy dtypes take them as subarrays
  std::uint32_t instrument_id;
  std::uint16_t strategy_id;
  std::uint16_t rule;
  std::uint16_t value_names[kSnapshotSize];
  std::uint8_t from_state;
  std::uint8_t to_state;
  std::uint8_t value_count;
};

/// The event kind that evaluates a rule.
/// Resume: a restarted run hands the strategy a position restored from the journal (adopt()).
enum class Trigger : std::uint8_t { Bar = 0, Quote = 1, Trade = 2, Fill = 3, OrderUpdate = 4, Clock = 5, Resume = 6 };

/// Where a strategy's outputs go. The engine owns one per symbol.
struct StrategyOutput {
  std::vector<TransitionRecord> transitions;
  std::vector<TradeIntent> intents;
  void clear() {
    transitions.clear();
    intents.clear();
  }
};

/// Description of a rule, for documentation and the transition log.
struct RuleInfo {
  std::string name;
  std::uint8_t from;
  std::uint8_t to;
  Trigger trigger;
};

/// A number as people write it in messages ("10", "4.85"), unlike std::to_string's "10.000000".
std::string plain_number(double x);

/// A position restored by `tradecore live --resume`, offered to the strategy that opened it so it
/// manages it as if the process had never died. Prices in dollars, times in ns UTC.
struct Adoption {
  double quantity = 0.0;       ///< signed shares held (positive long)
  double average_price = 0.0;  ///< average entry price of the shares held
  std::int64_t entry_ts = 0;   ///< first fill of the position (time stops count from it)
  std::int64_t now = 0;        ///< when the strategy takes it over
  double stop_price = 0.0;     ///< protective stop of the intent that opened it (0 = unknown)
  double highest = 0.0;        ///< highest high since the entry, from history (0 = unknown)
  bool exit_pending = false;   ///< an exit order is still working at the broker
  /// The entry order is still working at the broker: `quantity` is what it filled so far (0 if
  /// nothing, with no average price); its later fills and final update report to the strategy.
  bool entry_pending = false;
};

/// Whether a strategy took a restored position over, and why (or why not) in plain words.
struct AdoptResult {
  bool adopted = false;
  std::string reason;
};

/// Base of every strategy (C++ built-ins and Python strategies through a trampoline).
class Strategy {
 public:
  Strategy(std::string name, std::vector<std::string> states, std::vector<RuleInfo> rules,
           std::vector<std::string> value_names);
  virtual ~Strategy() = default;

  // Event handlers. The defaults do nothing; a strategy overrides what it uses and says which
  // quote/trade streams it wants so the engine can skip the calls otherwise.
  virtual void on_bar(const Bar& bar, StrategyOutput& out);
  virtual void on_quote(const Quote& quote, StrategyOutput& out);
  virtual void on_trade(const Trade& trade, StrategyOutput& out);
  virtual void on_fill(const Fill& fill, StrategyOutput& out);
  virtual void on_order_update(const OrderUpdate& update, StrategyOutput& out);
  virtual void on_clock(std::int64_t now, StrategyOutput& out);
  /// Feed history through the same indicator code, without transitions or intents.
  virtual void warm_up(const Bar& bar);
  /// True when the indicators have seen enough history to act.
  virtual bool ready() const { return true; }
  virtual bool wants_quotes() const { return false; }
  virtual bool wants_trades() const { return false; }
  virtual void reset();

  /// Take over a restored position: a FLAT strategy moves to its in-position state (or its
  /// pending exit when an exit order is still working, or its pending entry when the entry order
  /// is, if adopts_working_entry()) with the levels it would have had, firing a Resume
  /// transition; or refuses with the reason. Only from the initial state. Throws DataError on a
  /// non-finite quantity, a zero one (unless an entry is pending) or a non-positive price for
  /// shares held, or both an entry and an exit pending; StrategyError when on_adopt says it
  /// adopted but left the strategy in its initial state.
  AdoptResult adopt(const Adoption& position, StrategyOutput& out);
  /// True if on_adopt can wait on an entry order still working (Adoption::entry_pending) in a
  /// pending-entry state, so its fills are handled as without the crash; adopt() refuses such a
  /// position for the others.
  virtual bool adopts_working_entry() const { return false; }

  const std::string& name() const noexcept { return name_; }
  const std::vector<std::string>& states() const noexcept { return states_; }
  const std::vector<RuleInfo>& rules() const noexcept { return rules_; }
  const std::vector<std::string>& value_names() const noexcept { return value_names_; }
  std::uint8_t state() const noexcept { return state_; }
  std::uint16_t strategy_id() const noexcept { return strategy_id_; }
  std::uint32_t instrument_id() const noexcept { return instrument_id_; }
  /// Set by the engine when the strategy is added.
  void attach(std::uint16_t strategy_id, std::uint32_t instrument_id) {
    strategy_id_ = strategy_id;
    instrument_id_ = instrument_id;
  }
  /// Shares held, as the strategy's fills say (positive long, negative short).
  double position() const noexcept { return position_; }

  /// Record the transition of `rule` at `ts` with the guard's snapshot and move to its
  /// to-state; returns the record's index for intents. Throws DataError if the snapshot holds a
  /// NaN or infinity (a guard must never act on one) and std::logic_error if the rule does not
  /// start from the current state.
  std::uint32_t fire(std::uint16_t rule, std::int64_t ts, const Snapshot& seen, StrategyOutput& out);
  /// Emit an intent tied to the transition just fired.
  void emit(const TradeIntent& intent, StrategyOutput& out);
  /// Look up a rule or value name's id (ConfigError if unknown); for Python strategies.
  std::uint16_t rule_id(const std::string& name) const;
  std::uint16_t value_id(const std::string& name) const;

 protected:
  /// Track the position from fills; strategies that override on_fill call this first.
  void apply_fill(const Fill& fill) { position_ += fill.side == Side::Buy ? fill.quantity : -fill.quantity; }
  /// Throw DataError naming the strategy, `what` and `ts` if `x` is a NaN or infinity.
  void require_finite(const char* what, double x, std::int64_t ts) const {
    if (!std::isfinite(x)) [[unlikely]]
      throw_non_finite(what, x, ts);
  }
  /// How this strategy adopts a position (adopt() has checked the numbers and the state; on
  /// success it sets position()). The default refuses: a strategy adopts only if it says how.
  virtual AdoptResult on_adopt(const Adoption& position, StrategyOutput& out);
  /// The refusals the long-only built-ins share: a short, or more shares than one entry buys
  /// (`entry_shares` > 0 when the strategy sizes in shares). Empty when neither applies.
  std::string long_only_refusal(const Adoption& position, double entry_shares) const;

  std::uint8_t state_ = 0;

 private:
  [[noreturn]] void throw_non_finite(const char* what, double x, std::int64_t ts) const;

  std::string name_;
  std::vector<std::string> states_;
  std::vector<RuleInfo> rules_;
  std::vector<std::string> value_names_;
  std::uint16_t strategy_id_ = 0;
  std::uint32_t instrument_id_ = 0;
  double position_ = 0.0;
};

}  // namespace tradecore
