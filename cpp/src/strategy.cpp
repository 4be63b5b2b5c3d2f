#include "tradecore/strategy.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace tradecore {

Strategy::Strategy(std::string name, std::vector<std::string> states, std::vector<RuleInfo> rules,
                   std::vector<std::string> value_names)
    : name_(std::move(name)), states_(std::move(states)), rules_(std::move(rules)),
      value_names_(std::move(value_names)) {
  if (states_.empty() || states_.size() > 255) throw ConfigError(name_ + ": a strategy needs 1 to 255 states");
  if (rules_.size() > 65535) throw ConfigError(name_ + ": too many rules");
  for (const auto& r : rules_) {
    if (r.from >= states_.size() || r.to >= states_.size())
      throw ConfigError(name_ + ": rule '" + r.name + "' refers to an undeclared state");
  }
}

void Strategy::on_bar(const Bar&, StrategyOutput&) {}
void Strategy::on_quote(const Quote&, StrategyOutput&) {}
void Strategy::on_trade(const Trade&, StrategyOutput&) {}
void Strategy::on_fill(const Fill& fill, StrategyOutput&) { apply_fill(fill); }
void Strategy::on_order_update(const OrderUpdate&, StrategyOutput&) {}
void Strategy::on_clock(std::int64_t, StrategyOutput&) {}
void Strategy::warm_up(const Bar&) {}

void Strategy::throw_non_finite(const char* what, double x, std::int64_t ts) const {
  throw DataError(name_ + ": " + what + "=" + std::to_string(x) + " at ts_event=" + std::to_string(ts));
}

std::string plain_number(double x) {
  std::ostringstream text;
  text.precision(10);
  text << x;
  return text.str();
}

AdoptResult Strategy::on_adopt(const Adoption&, StrategyOutput&) {
  return {false, name_ + " does not adopt restored positions"};
}

AdoptResult Strategy::adopt(const Adoption& position, StrategyOutput& out) {
  // A pending entry may have filled nothing yet: no shares, no average price.
  const bool nothing_held = position.entry_pending && position.quantity == 0.0;
  if (!std::isfinite(position.quantity) || (position.quantity == 0.0 && !position.entry_pending))
    throw DataError(name_ + ": cannot adopt a position of " + plain_number(position.quantity) + " shares");
  if (!nothing_held && (!(position.average_price > 0) || !std::isfinite(position.average_price)))
    throw DataError(name_ + ": cannot adopt a position at average price " + plain_number(position.average_price));
  if (!std::isfinite(position.stop_price) || !std::isfinite(position.highest))
    throw DataError(name_ + ": the adopted position's stop and highest must be finite");
  if (position.entry_pending && position.exit_pending)
    throw DataError(name_ + ": an adopted position cannot have both its entry and an exit order working");
  if (state_ != 0)
    return {false, name_ + " is already in " + states_[state_] + ", not " + states_[0] + ": it cannot adopt"};
  if (position.entry_pending && !adopts_working_entry())
    return {false, name_ + " cannot wait on an entry order still working at the broker: its fills would not "
                           "reach the strategy"};
  AdoptResult result = on_adopt(position, out);
  if (result.adopted && state_ == 0)  // a bug in the strategy: nothing would manage the position
    throw StrategyError(name_ + ": on_adopt took the position but stayed in " + states_[0]);
  if (!result.adopted && state_ != 0)  // a bug too: a state that manages shares it does not hold
    throw StrategyError(name_ + ": on_adopt refused the position but moved to " + states_[state_]);
  if (result.adopted) position_ = position.quantity;
  return result;
}

std::string Strategy::long_only_refusal(const Adoption& position, double entry_shares) const {
  if (position.quantity < 0)
    return name_ + " is long-only: it cannot manage a short of " + plain_number(-position.quantity) + " shares";
  if (entry_shares > 0 && position.quantity > entry_shares + 1e-9)
    return name_ + ": " + plain_number(position.quantity) + " shares is more than one entry buys (" +
           plain_number(entry_shares) + ")";
  return {};
}

void Strategy::reset() {
  state_ = 0;
  position_ = 0.0;
}

std::uint32_t Strategy::fire(std::uint16_t rule, std::int64_t ts, const Snapshot& seen, StrategyOutput& out) {
  if (rule >= rules_.size()) throw std::logic_error(name_ + ": unknown rule id " + std::to_string(rule));
  const RuleInfo& info = rules_[rule];
  if (info.from != state_)
    throw std::logic_error(name_ + ": rule '" + info.name + "' fires from " + states_[info.from] +
                           " but the strategy is in " + states_[state_]);
  for (int i = 0; i < seen.count; ++i) {
    if (!std::isfinite(seen.values[i])) {
      const std::string value = seen.names[i] < value_names_.size() ? value_names_[seen.names[i]] : "?";
      throw DataError(name_ + ": rule '" + info.name + "' saw " + value + "=" + std::to_string(seen.values[i]) +
                      " at ts_event=" + std::to_string(ts));
    }
  }
  TransitionRecord record{};
  record.ts_event = ts;
  std::copy(seen.values.begin(), seen.values.end(), record.values);
  std::copy(seen.names.begin(), seen.names.end(), record.value_names);
  record.value_count = seen.count;
  record.instrument_id = instrument_id_;
  record.strategy_id = strategy_id_;
  record.rule = rule;
  record.from_state = state_;
  record.to_state = info.to;
  out.transitions.push_back(record);
  state_ = info.to;
  return static_cast<std::uint32_t>(out.transitions.size() - 1);
}

void Strategy::emit(const TradeIntent& intent, StrategyOutput& out) {
  TradeIntent i = intent;
  i.strategy_id = strategy_id_;
  i.instrument_id = instrument_id_;
  i.transition = kNoTransition;
  if (!out.transitions.empty() && out.transitions.back().strategy_id == strategy_id_) {
    i.transition = static_cast<std::uint32_t>(out.transitions.size() - 1);
    i.rule = out.transitions.back().rule;
  }
  out.intents.push_back(i);
}

std::uint16_t Strategy::rule_id(const std::string& name) const {
  for (std::size_t i = 0; i < rules_.size(); ++i)
    if (rules_[i].name == name) return static_cast<std::uint16_t>(i);
  throw ConfigError(name_ + ": no rule named '" + name + "'");
}

std::uint16_t Strategy::value_id(const std::string& name) const {
  for (std::size_t i = 0; i < value_names_.size(); ++i)
    if (value_names_[i] == name) return static_cast<std::uint16_t>(i);
  throw ConfigError(name_ + ": no value named '" + name + "'");
}

}  // namespace tradecore
