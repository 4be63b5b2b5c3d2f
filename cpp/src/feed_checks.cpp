#include "tradecore/feed_checks.hpp"

#include <algorithm>
#include <stdexcept>

namespace tradecore {

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::size_t TradeKeyHash::operator()(const TradeKey& k) const noexcept {
  return static_cast<std::size_t>(mix(k.trade_id ^ mix(static_cast<std::uint64_t>(k.ts) + k.exchange)));
}

bool same_quote(const Quote& a, const Quote& b) {
  return a.ts_event == b.ts_event && a.bid_price == b.bid_price && a.ask_price == b.ask_price &&
         a.bid_size == b.bid_size && a.ask_size == b.ask_size && a.conditions == b.conditions &&
         a.instrument_id == b.instrument_id && a.bid_exchange == b.bid_exchange &&
         a.ask_exchange == b.ask_exchange && a.flags == b.flags;
}

void SymbolChecks::remember(const TradeKey* keys, std::size_t count, std::size_t half) {
  if (current.size() + count <= half) {  // no generation ends within these keys
    current.insert(keys, keys + count);
    return;
  }
  for (std::size_t k = 0; k < count; ++k) {
    current.insert(keys[k]);
    if (current.size() > half) {
      previous = std::move(current);
      current = {};
    }
  }
}

void SymbolChecks::clear() {
  current.clear();
  previous.clear();
  has_trade = has_quote = false;
}

FeedChecks::FeedChecks(std::size_t dedup_window) : half_(std::max<std::size_t>(1, dedup_window / 2)) {}

SymbolChecks& FeedChecks::of(std::string_view symbol) {
  auto found = symbols_.find(symbol);
  if (found == symbols_.end()) {
    found = symbols_.emplace(std::string(symbol), std::make_unique<SymbolChecks>()).first;
  }
  return *found->second;
}

const SymbolChecks* FeedChecks::find(std::string_view symbol) const {
  const auto found = symbols_.find(symbol);
  return found == symbols_.end() ? nullptr : found->second.get();
}

FeedChecks::TradeCheck FeedChecks::check_trade(std::string_view symbol, const TradeKey& key) {
  SymbolChecks& state = of(symbol);
  if (state.seen(key)) return TradeCheck::Duplicate;
  state.remember(&key, 1, half_);
  if (state.has_trade && key.ts < state.last_trade_ts) return TradeCheck::OutOfOrder;
  state.last_trade_ts = key.ts;
  state.has_trade = true;
  return TradeCheck::New;
}

bool FeedChecks::check_quote(std::string_view symbol, const Quote& quote) {
  SymbolChecks& state = of(symbol);
  if (state.has_quote && same_quote(state.last_quote, quote)) return false;
  state.last_quote = quote;
  state.has_quote = true;
  return true;
}

void FeedChecks::reset(std::string_view symbol) {
  const auto found = symbols_.find(symbol);
  if (found != symbols_.end()) found->second->clear();
  staged_ = false;  // a staged frame may hold this symbol's old state
}

void FeedChecks::bind(std::string_view symbol, std::uint32_t instrument_id) {
  by_id_[instrument_id] = &of(symbol);
}

bool FeedChecks::stage(const alpaca::CleanFrame& frame) {
  staged_ = false;
  staged_keys_.clear();
  staged_trades_.clear();
  staged_quotes_.clear();
  for (const alpaca::Group& g : frame.trade_groups) {
    const auto bound = by_id_.find(g.instrument_id);
    if (bound == by_id_.end()) throw std::logic_error("FeedChecks::stage: instrument not bound");
    SymbolChecks* state = bound->second;
    const auto start = static_cast<std::uint32_t>(staged_keys_.size());
    // Within a group trades are in time order (the decoder refuses a frame otherwise), so only
    // the first can be older than the symbol's newest.
    if (state->has_trade && frame.trades[g.start].ts_event < state->last_trade_ts) return false;
    for (std::uint32_t k = g.start; k < g.end; ++k) {
      const Trade& t = frame.trades[k];
      const TradeKey key{t.trade_id, t.exchange, t.ts_event};
      if (state->seen(key)) return false;
      // A repeat within the frame has the same time: in time order it is among the last keys.
      for (std::size_t j = staged_keys_.size(); j > start && staged_keys_[j - 1].ts == key.ts; --j) {
        if (staged_keys_[j - 1] == key) return false;
      }
      staged_keys_.push_back(key);
    }
    staged_trades_.push_back({state, start, static_cast<std::uint32_t>(staged_keys_.size())});
  }
  for (const alpaca::Group& g : frame.quote_groups) {
    const auto bound = by_id_.find(g.instrument_id);
    if (bound == by_id_.end()) throw std::logic_error("FeedChecks::stage: instrument not bound");
    SymbolChecks* state = bound->second;
    if (state->has_quote && same_quote(state->last_quote, frame.quotes[g.start])) return false;
    staged_quotes_.emplace_back(state, frame.quotes[g.end - 1]);
  }
  staged_ = true;
  return true;
}

void FeedChecks::commit() {
  if (!staged_) throw std::logic_error("FeedChecks::commit: nothing staged");
  staged_ = false;
  for (const StagedTrades& s : staged_trades_) {
    s.state->remember(staged_keys_.data() + s.start, s.end - s.start, half_);
    s.state->last_trade_ts = staged_keys_[s.end - 1].ts;
    s.state->has_trade = true;
  }
  for (const auto& [state, quote] : staged_quotes_) {
    state->last_quote = quote;
    state->has_quote = true;
  }
}

}  // namespace tradecore
