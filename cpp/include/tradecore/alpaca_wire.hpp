#pragma once
// Fast decoding of clean Alpaca stock-stream frames (JSON or msgpack) into event rows.
//
// The Python decoder (tradecore.streams.alpaca) owns the rules for bad input. This class only
// recognises frames that need none of them: well-formed trades, quotes and bars of symbols it
// was told about, with every value valid. For anything else (another message type, a missing
// or mistyped field, an escape in a string, a NaN, a crossed quote, an unusual timestamp, ...)
// it answers "not clean" and the Python decoder takes the frame message by message. Accepting
// only a strict subset of JSON and msgpack keeps it from ever accepting what Python's json or
// msgpack would refuse.
//
// Why native: frames hold 10 to 100 messages, so a vectorised Python version (msgspec typed
// decoding, then NumPy columns, stamps and checks) paid a few dozen NumPy calls per frame and
// measured no faster than the per-message path; this runs in a few percent of decode()'s time.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradecore/schema.hpp"

namespace tradecore::alpaca {

/// A bar message as sent; the caller builds the row (sessions need the New York calendar).
struct WireBar {
  char kind;  ///< 'b' minute, 'u' updated, 'd' daily
  std::uint32_t instrument_id;
  std::int64_t ts;  ///< bar start, ns UTC
  double open, high, low, close, volume, vwap;
  std::uint64_t trade_count;
};

/// A run of one instrument's events in a vector sorted by instrument: [start, end).
struct Group {
  std::uint32_t instrument_id;
  std::uint32_t start;
  std::uint32_t end;
};

/// What a clean frame held. Trades and quotes are stably sorted by instrument (arrival order
/// within each), trades non-decreasing in time within an instrument and no quote equal to the
/// one before it of the same instrument; bars are in arrival order.
struct CleanFrame {
  std::vector<Trade> trades;
  std::vector<Group> trade_groups;
  std::vector<Quote> quotes;
  std::vector<Group> quote_groups;
  std::vector<WireBar> bars;
  std::size_t messages = 0;
};

/// Recognises and decodes clean frames; see the file comment.
class CleanFrameDecoder {
 public:
  /// Accept messages of `symbol` (exactly this spelling) as `instrument_id`.
  void add_symbol(std::string symbol, std::uint32_t instrument_id);
  /// Condition code -> bit for trades and quotes; codes not listed set `other`.
  void set_condition_bits(const std::vector<std::pair<std::string, std::uint32_t>>& trade,
                          const std::vector<std::pair<std::string, std::uint32_t>>& quote,
                          std::uint32_t other);
  /// Decode a JSON text frame; false if it is not clean (`out` is then unspecified).
  bool decode_json(std::string_view frame, CleanFrame& out) const;
  /// Decode a msgpack binary frame; false if it is not clean (`out` is then unspecified).
  bool decode_msgpack(std::string_view frame, CleanFrame& out) const;

  struct Message;  // one message's fields while it is read

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> ids_;
  std::array<std::uint32_t, 128> trade_bits_{};
  std::array<std::uint32_t, 128> quote_bits_{};
  std::uint32_t other_bit_ = 1u << 31;

  bool finish_message(const Message& message, CleanFrame& out) const;
  static bool finish_frame(CleanFrame& out);
};

/// Parse '"YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z' (no quotes) to ns UTC; false if not exactly that,
/// impossible (Feb 30, 24:00, a leap second, year 0) or outside int64 ns.
bool parse_rfc3339_utc(std::string_view text, std::int64_t& ns);

}  // namespace tradecore::alpaca
