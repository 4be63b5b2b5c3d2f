#pragma once
// Per-symbol duplicate and ordering state of a vendor's stream decoder.
//
// The Python decoders (tradecore.streams.vendor) decide what a problem is and how it is
// reported; this keeps the state those rules read — the recent trade keys, the newest trade
// time and the last quote of each symbol — so that a clean frame can be checked and remembered
// in one native pass, and the message-by-message path reads and writes the very same state.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradecore/alpaca_wire.hpp"
#include "tradecore/schema.hpp"

namespace tradecore {

/// What identifies a trade for duplicate detection: the vendor's id, exchange and time.
struct TradeKey {
  std::uint64_t trade_id;
  std::uint8_t exchange;
  std::int64_t ts;
  bool operator==(const TradeKey&) const = default;
};

struct TradeKeyHash {
  std::size_t operator()(const TradeKey& k) const noexcept;
};

/// The last `capacity` keys added, exactly: a ring of the keys and an open-addressing index
/// into it (linear probing, backward-shift deletion). About 32 bytes a key once full, half what
/// a node-based set takes; both grow only as keys come, so a quiet symbol costs little.
/// An index entry holds the key's ring position and, in the bits the position leaves, its hash:
/// probing and shifting compare and place entries without reading the ring (its keys are cold
/// by the next frame), which they read only to confirm a match.
class RecentKeys {
 public:
  explicit RecentKeys(std::size_t capacity);
  bool contains(const TradeKey& key) const { return find(key) != kNone; }
  /// Remember `key` (not contained), forgetting the oldest key once `capacity` are remembered.
  void add(const TradeKey& key);
  /// Ask the memory `contains(key)` reads first (its index slot) to be fetched: a frame's keys
  /// are spread over many symbols' tables, and fetching them together overlaps the misses.
  void prefetch(const TradeKey& key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[home(key)]);
  }
  /// Likewise for what the next `count` adds read (the oldest keys they forget and where those
  /// are indexed); `stage` is 0 for the ring (ask first), 1 for the index (once it arrived).
  void prefetch_adds(std::size_t count, int stage) const;
  std::size_t size() const noexcept { return ring_.size(); }
  /// Oldest first.
  std::vector<TradeKey> keys() const;
  void clear();

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t home(const TradeKey& key) const { return TradeKeyHash{}(key) & (slots_.size() - 1); }
  std::size_t find(const TradeKey& key) const;  // the slot holding key, or kNone
  void index(std::uint32_t position);           // insert ring_[position] into slots_
  void unindex(std::size_t slot);               // remove slot's entry, shifting the run back
  void grow();

  std::uint32_t position(std::uint32_t entry) const { return (entry & position_mask_) - 1; }
  std::uint32_t tag(std::size_t hash) const { return static_cast<std::uint32_t>(hash) & tag_mask_; }
  std::uint32_t entry(std::size_t hash, std::uint32_t position) const {
    return (tag(hash) << position_bits_) | (position + 1);
  }
  std::size_t home_of(std::uint32_t entry) const;  // the home slot of the key an entry names

  std::size_t capacity_;
  int position_bits_;                  // bits of an entry holding ring position + 1
  std::uint32_t position_mask_, tag_mask_;  // the entry's position bits; its hash bits (shifted down)
  std::vector<TradeKey> ring_;         // up to capacity_; once full, next_ is the oldest
  std::size_t next_ = 0;
  std::vector<std::uint32_t> slots_;   // 0 empty, else entry(); size a power of two
};

/// One symbol's recent trade keys (memory stays bounded), newest trade time and last quote.
struct SymbolChecks {
  explicit SymbolChecks(std::size_t window) : recent(window) {}
  RecentKeys recent;
  std::int64_t last_trade_ts = 0;
  bool has_trade = false;
  Quote last_quote{};
  bool has_quote = false;

  void clear();
};

bool same_quote(const Quote& a, const Quote& b);

class FeedChecks {
 public:
  /// `dedup_window`: how many recent trades per symbol are remembered.
  explicit FeedChecks(std::size_t dedup_window);

  enum class TradeCheck { New, Duplicate, OutOfOrder };
  /// The message-by-message rule: a trade seen before is a duplicate (nothing changes); else it
  /// is remembered, and one older than the symbol's newest is out of order (kept; the newest
  /// time stays).
  TradeCheck check_trade(std::string_view symbol, const TradeKey& key);
  /// False if `quote` repeats the symbol's last quote; else it becomes the last quote.
  bool check_quote(std::string_view symbol, const Quote& quote);
  /// Forget a symbol's state (after an unsubscribe).
  void reset(std::string_view symbol);
  /// The state of `symbol`, or nullptr if it has none yet.
  const SymbolChecks* find(std::string_view symbol) const;

  /// Let clean frames name `symbol`'s state by `instrument_id` (the symbol is the instrument's
  /// own name).
  void bind(std::string_view symbol, std::uint32_t instrument_id);
  /// Whether a clean frame passes every rule against the state (no duplicate trade within the
  /// frame or with remembered ones, no trade older than its symbol's newest, no quote repeating
  /// the last); if so, stage what commit() remembers. Every instrument must be bound.
  bool stage(const alpaca::CleanFrame& frame);
  /// Remember the frame staged last (once).
  void commit();


 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  SymbolChecks& of(std::string_view symbol);
  SymbolChecks* bound(std::uint32_t instrument_id) const;  // throws if not bound

  std::size_t window_;
  // unique_ptr: stable addresses for by_id_ (reset clears a state, never frees it).
  std::unordered_map<std::string, std::unique_ptr<SymbolChecks>, Hash, std::equal_to<>> symbols_;
  std::vector<SymbolChecks*> by_id_;  // by instrument id (dense): null where not bound

  struct StagedTrades {
    SymbolChecks* state;
    std::uint32_t start, end;  // into staged_keys_
  };
  std::vector<TradeKey> staged_keys_;
  std::vector<StagedTrades> staged_trades_;
  std::vector<std::pair<SymbolChecks*, Quote>> staged_quotes_;
  bool staged_ = false;
};

}  // namespace tradecore
