#include "tradecore/feed_checks.hpp"

#include <algorithm>
#include <bit>
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

RecentKeys::RecentKeys(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {
  position_bits_ = static_cast<int>(std::bit_width(capacity_));  // positions + 1 go to capacity_
  if (position_bits_ >= 32) throw std::invalid_argument("RecentKeys: the window must be below 2**31 keys");
  position_mask_ = (std::uint32_t{1} << position_bits_) - 1;
  tag_mask_ = static_cast<std::uint32_t>((std::uint64_t{1} << (32 - position_bits_)) - 1);
}

std::size_t RecentKeys::home_of(std::uint32_t entry) const {
  const std::size_t mask = slots_.size() - 1;
  // The stored hash bits hold the home whenever the table is no wider than them (every window
  // up to ~16k keys); a larger table reads the key.
  if (mask <= tag_mask_) return (entry >> position_bits_) & mask;
  return home(ring_[position(entry)]);
}

std::size_t RecentKeys::find(const TradeKey& key) const {
  if (slots_.empty()) return kNone;
  const std::size_t mask = slots_.size() - 1;
  const std::size_t hash = TradeKeyHash{}(key);
  const std::uint32_t wanted = tag(hash);
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t entry = slots_[slot];
    if (entry == 0) return kNone;
    if ((entry >> position_bits_) == wanted && ring_[position(entry)] == key) return slot;
  }
}

void RecentKeys::index(std::uint32_t position) {
  const std::size_t mask = slots_.size() - 1;
  const std::size_t hash = TradeKeyHash{}(ring_[position]);
  std::size_t slot = hash & mask;
  while (slots_[slot] != 0) slot = (slot + 1) & mask;
  slots_[slot] = entry(hash, position);
}

void RecentKeys::unindex(std::size_t slot) {
  // Backward shift: move later entries of the run into the hole unless that would put one
  // before its home slot, so every key stays reachable from its home without tombstones.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = slot;
  for (std::size_t next = (hole + 1) & mask; slots_[next] != 0; next = (next + 1) & mask) {
    const std::size_t want = home_of(slots_[next]);
    // `next` may move to `hole` if its home is not in the cyclic range (hole, next].
    const bool stays = hole <= next ? (hole < want && want <= next) : (hole < want || want <= next);
    if (!stays) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole] = 0;
}

void RecentKeys::grow() {
  slots_.assign(std::max<std::size_t>(16, slots_.size() * 2), 0);
  for (std::uint32_t position = 0; position < ring_.size(); ++position) index(position);
}

void RecentKeys::add(const TradeKey& key) {
  if (ring_.size() < capacity_) {
    ring_.push_back(key);
    if (2 * ring_.size() > slots_.size()) {
      grow();  // indexes the new key too
    } else {
      index(static_cast<std::uint32_t>(ring_.size() - 1));
    }
    return;
  }
  const std::size_t oldest = find(ring_[next_]);
  if (oldest == kNone) throw std::logic_error("RecentKeys: the index lost a key");  // never, if correct
  unindex(oldest);  // the oldest goes
  ring_[next_] = key;
  index(static_cast<std::uint32_t>(next_));
  next_ = (next_ + 1) % capacity_;
}

void RecentKeys::prefetch_adds(std::size_t count, int stage) const {
  if (ring_.size() < capacity_) return;  // not full: nothing is forgotten
  for (std::size_t k = 0, at = next_; k < count && k < capacity_; ++k, at = (at + 1) % capacity_) {
    if (stage == 0) __builtin_prefetch(&ring_[at]);
    else __builtin_prefetch(&slots_[home(ring_[at])]);
  }
}

std::vector<TradeKey> RecentKeys::keys() const {
  std::vector<TradeKey> out(ring_.begin() + static_cast<std::ptrdiff_t>(next_), ring_.end());
  out.insert(out.end(), ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(next_));
  return out;
}

void RecentKeys::clear() {
  ring_ = {};
  slots_ = {};
  next_ = 0;
}

void SymbolChecks::clear() {
  recent.clear();
  has_trade = has_quote = false;
}

FeedChecks::FeedChecks(std::size_t dedup_window) : window_(std::max<std::size_t>(1, dedup_window)) {}

SymbolChecks& FeedChecks::of(std::string_view symbol) {
  auto found = symbols_.find(symbol);
  if (found == symbols_.end()) {
    found = symbols_.emplace(std::string(symbol), std::make_unique<SymbolChecks>(window_)).first;
  }
  return *found->second;
}

const SymbolChecks* FeedChecks::find(std::string_view symbol) const {
  const auto found = symbols_.find(symbol);
  return found == symbols_.end() ? nullptr : found->second.get();
}

FeedChecks::TradeCheck FeedChecks::check_trade(std::string_view symbol, const TradeKey& key) {
  SymbolChecks& state = of(symbol);
  if (state.recent.contains(key)) return TradeCheck::Duplicate;
  state.recent.add(key);
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
  if (instrument_id >= by_id_.size()) by_id_.resize(static_cast<std::size_t>(instrument_id) + 1, nullptr);
  by_id_[instrument_id] = &of(symbol);
}

SymbolChecks* FeedChecks::bound(std::uint32_t instrument_id) const {
  SymbolChecks* state = instrument_id < by_id_.size() ? by_id_[instrument_id] : nullptr;
  if (state == nullptr) throw std::logic_error("FeedChecks::stage: instrument not bound");
  return state;
}

bool FeedChecks::stage(const alpaca::CleanFrame& frame) {
  staged_ = false;
  staged_keys_.clear();
  staged_trades_.clear();
  staged_quotes_.clear();
  // A frame's symbols' states and tables are cold by the next frame (hundreds of symbols): ask
  // for all of them first, then for each key's index slot, so the misses overlap.
  for (const alpaca::Group& g : frame.trade_groups) __builtin_prefetch(bound(g.instrument_id));
  for (const alpaca::Group& g : frame.quote_groups) __builtin_prefetch(bound(g.instrument_id));
  for (const alpaca::Group& g : frame.trade_groups) {
    const RecentKeys& recent = bound(g.instrument_id)->recent;
    for (std::uint32_t k = g.start; k < g.end; ++k) {
      const Trade& t = frame.trades[k];
      recent.prefetch({t.trade_id, t.exchange, t.ts_event});
    }
  }
  for (const alpaca::Group& g : frame.trade_groups) {
    SymbolChecks* state = bound(g.instrument_id);
    const auto start = static_cast<std::uint32_t>(staged_keys_.size());
    // Within a group trades are in time order (the decoder refuses a frame otherwise), so only
    // the first can be older than the symbol's newest.
    if (state->has_trade && frame.trades[g.start].ts_event < state->last_trade_ts) return false;
    for (std::uint32_t k = g.start; k < g.end; ++k) {
      const Trade& t = frame.trades[k];
      const TradeKey key{t.trade_id, t.exchange, t.ts_event};
      if (state->recent.contains(key)) return false;
      // A repeat within the frame has the same time: in time order it is among the last keys.
      for (std::size_t j = staged_keys_.size(); j > start && staged_keys_[j - 1].ts == key.ts; --j) {
        if (staged_keys_[j - 1] == key) return false;
      }
      staged_keys_.push_back(key);
    }
    staged_trades_.push_back({state, start, static_cast<std::uint32_t>(staged_keys_.size())});
  }
  for (const alpaca::Group& g : frame.quote_groups) {
    SymbolChecks* state = bound(g.instrument_id);
    if (state->has_quote && same_quote(state->last_quote, frame.quotes[g.start])) return false;
    staged_quotes_.emplace_back(state, frame.quotes[g.end - 1]);
  }
  staged_ = true;
  return true;
}

void FeedChecks::commit() {
  if (!staged_) throw std::logic_error("FeedChecks::commit: nothing staged");
  staged_ = false;
  // What the adds read (the oldest keys of full windows, then where those are indexed), asked
  // for together as in stage().
  for (int stage = 0; stage < 2; ++stage) {
    for (const StagedTrades& s : staged_trades_) s.state->recent.prefetch_adds(s.end - s.start, stage);
  }
  for (const StagedTrades& s : staged_trades_) {
    for (std::uint32_t k = s.start; k < s.end; ++k) s.state->recent.add(staged_keys_[k]);
    s.state->last_trade_ts = staged_keys_[s.end - 1].ts;
    s.state->has_trade = true;
  }
  for (const auto& [state, quote] : staged_quotes_) {
    state->last_quote = quote;
    state->has_quote = true;
  }
}

}  // namespace tradecore
