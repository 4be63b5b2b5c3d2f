#include "tradecore/alpaca_wire.hpp"

#include "tradecore/calendar.hpp"
#include "tradecore/feed_checks.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace tradecore::alpaca {

namespace {

constexpr double kExact = 9007199254740992.0;  // 2**53: below it ints and doubles agree
constexpr std::int64_t kNs = calendar::kSecond;
constexpr std::size_t kMaxCodes = 8;

enum Field : std::uint8_t { T, S, t, p, s, i, x, c, bp, ap, bs, as, bx, ax, o, h, l, v, n, vw,
                            kFieldCount, kUnknown = kFieldCount };

Field field_of(std::string_view key) {
  switch (key.size()) {
    case 1:
      switch (key[0]) {
        case 'T': return T;
        case 'S': return S;
        case 't': return t;
        case 'p': return p;
        case 's': return s;
        case 'i': return i;
        case 'x': return x;
        case 'c': return c;
        case 'o': return o;
        case 'h': return h;
        case 'l': return l;
        case 'v': return v;
        case 'n': return n;
        default: return kUnknown;
      }
    case 2:
      if (key == "bp") return bp;
      if (key == "ap") return ap;
      if (key == "bs") return bs;
      if (key == "as") return as;
      if (key == "bx") return bx;
      if (key == "ax") return ax;
      if (key == "vw") return vw;
      return kUnknown;
    default:
      return kUnknown;
  }
}

bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

}  // namespace

bool parse_rfc3339_utc(std::string_view text, std::int64_t& ns) {
  // YYYY-MM-DDTHH:MM:SS then optional .f{1,9}, then Z.
  if (text.size() < 20 || text.size() > 30 || text.back() != 'Z') return false;
  static constexpr char kPattern[] = "dddd-dd-ddTdd:dd:dd";
  unsigned value[19];
  for (std::size_t k = 0; k < 19; ++k) {
    if (kPattern[k] == 'd') {
      if (!is_digit(text[k])) return false;
      value[k] = static_cast<unsigned>(text[k] - '0');
    } else if (text[k] != kPattern[k]) {
      return false;
    }
  }
  const unsigned year = value[0] * 1000 + value[1] * 100 + value[2] * 10 + value[3];
  const unsigned month = value[5] * 10 + value[6];
  const unsigned day = value[8] * 10 + value[9];
  const unsigned hour = value[11] * 10 + value[12];
  const unsigned minute = value[14] * 10 + value[15];
  const unsigned second = value[17] * 10 + value[18];
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year == 0 || month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && leap) || hour > 23 || minute > 59 || second > 59) {
    return false;
  }
  std::int64_t nanos = 0;
  const std::string_view rest = text.substr(19, text.size() - 20);  // between seconds and Z
  if (!rest.empty()) {
    if (rest.size() < 2 || rest[0] != '.') return false;
    std::int64_t scale = kNs;
    for (std::size_t k = 1; k < rest.size(); ++k) {
      if (!is_digit(rest[k])) return false;
      scale /= 10;
      nanos += (rest[k] - '0') * scale;
    }
  }
  const std::int64_t seconds =
      calendar::days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  // int64 ns covers 1677-09-21 to 2262-04-11; beyond it the exact path decides.
  if (seconds <= INT64_MIN / kNs || seconds >= INT64_MAX / kNs) return false;
  ns = seconds * kNs + nanos;
  return true;
}

struct CleanFrameDecoder::Message {
  enum Kind : std::uint8_t { Absent, String, Integer, Float, Strings, Stamp, Other };
  struct Value {
    Kind kind = Absent;
    std::string_view text;
    double number = 0.0;       // Integer (converted) or Float
    std::uint64_t magnitude = 0;  // Integer
    bool negative = false;        // Integer
    std::int64_t ns = 0;          // Stamp
    std::array<std::string_view, kMaxCodes> codes{};
    std::size_t code_count = 0;
  };
  std::array<Value, kFieldCount> fields{};
};

namespace {

using Message = CleanFrameDecoder::Message;
using Value = Message::Value;

bool number_of(const Value& value, double& out) {
  if (value.kind == Message::Integer) {
    out = value.negative ? -value.number : value.number;
    return true;
  }
  if (value.kind == Message::Float) {
    out = value.number;
    return true;
  }
  return false;
}

/// A positive price or size below 2**53 (no NaN, no infinity).
bool positive(const Value& value, double& out) {
  return number_of(value, out) && out > 0.0 && out < kExact;
}

/// A quote price or size: 0 (side absent) or positive, below 2**53, never -0.0 or NaN.
bool non_negative(const Value& value, double& out) {
  return number_of(value, out) && out >= 0.0 && out < kExact && !std::signbit(out);
}

bool count_of(const Value& value, std::uint64_t& out) {
  if (value.kind == Message::Absent) {
    out = 0;
    return true;
  }
  if (value.kind != Message::Integer || (value.negative && value.magnitude != 0)) return false;
  out = value.magnitude;
  return true;
}

bool exchange_of(const Value& value, std::uint8_t& out) {
  if (value.kind == Message::Absent) {
    out = 0;
    return true;
  }
  if (value.kind != Message::String || value.text.size() > 1) return false;
  out = value.text.empty() ? 0 : static_cast<std::uint8_t>(value.text[0]);
  return out < 128;
}

bool word_of(const Value& value, const std::array<std::uint32_t, 128>& bits, std::uint32_t other,
             std::uint32_t& out) {
  out = 0;
  if (value.kind == Message::Absent) return true;
  if (value.kind != Message::Strings) return false;
  for (std::size_t k = 0; k < value.code_count; ++k) {
    const std::string_view code = value.codes[k];
    const std::uint32_t bit =
        code.size() == 1 && static_cast<unsigned char>(code[0]) < 128 ? bits[code[0]] : 0;
    out |= bit != 0 ? bit : other;
  }
  return true;
}

bool stamp_of(const Value& value, std::int64_t& out) {
  if (value.kind == Message::Stamp) {
    out = value.ns;
    return true;
  }
  return value.kind == Message::String && parse_rfc3339_utc(value.text, out);
}

// -- JSON: a strict subset of RFC 8259 --------------------------------------------------------

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : at_(text.data()), end_(text.data() + text.size()) {}

  void skip_space() {
    while (at_ < end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\n' || *at_ == '\r')) ++at_;
  }
  bool take(char ch) {
    skip_space();
    if (at_ < end_ && *at_ == ch) {
      ++at_;
      return true;
    }
    return false;
  }
  bool peek(char ch) {
    skip_space();
    return at_ < end_ && *at_ == ch;
  }
  bool at_end() {
    skip_space();
    return at_ == end_;
  }

  /// A string of printable ASCII without escapes (anything else: not clean).
  bool string(std::string_view& out) {
    if (!take('"')) return false;
    const char* start = at_;
    while (at_ < end_) {
      const char ch = *at_;
      if (ch == '"') {
        out = std::string_view(start, static_cast<std::size_t>(at_ - start));
        ++at_;
        return true;
      }
      if (ch < 0x20 || ch > 0x7e || ch == '\\') return false;
      ++at_;
    }
    return false;
  }

  bool value(Value& out) {
    skip_space();
    if (at_ == end_) return false;
    const char ch = *at_;
    if (ch == '"') {
      out.kind = Message::String;
      return string(out.text);
    }
    if (ch == '[') {
      ++at_;
      out.kind = Message::Strings;
      out.code_count = 0;
      if (take(']')) return true;
      do {
        if (out.code_count == kMaxCodes || !string(out.codes[out.code_count])) return false;
        ++out.code_count;
      } while (take(','));
      return take(']');
    }
    if (ch == '-' || is_digit(ch)) return number(out);
    for (std::string_view word : {std::string_view("true"), std::string_view("false"),
                                  std::string_view("null")}) {
      if (static_cast<std::size_t>(end_ - at_) >= word.size() &&
          std::string_view(at_, word.size()) == word) {
        at_ += word.size();
        out.kind = Message::Other;
        return true;
      }
    }
    return false;  // objects inside messages, NaN, Infinity, ...
  }

 private:
  bool number(Value& out) {
    const char* start = at_;
    const bool negative = *at_ == '-';
    if (negative) ++at_;
    if (at_ == end_ || !is_digit(*at_)) return false;
    if (*at_ == '0') {
      ++at_;
    } else {
      while (at_ < end_ && is_digit(*at_)) ++at_;
    }
    const char* integer_end = at_;
    bool integral = true;
    if (at_ < end_ && *at_ == '.') {
      ++at_;
      if (at_ == end_ || !is_digit(*at_)) return false;
      while (at_ < end_ && is_digit(*at_)) ++at_;
      integral = false;
    }
    if (at_ < end_ && (*at_ == 'e' || *at_ == 'E')) {
      ++at_;
      if (at_ < end_ && (*at_ == '+' || *at_ == '-')) ++at_;
      if (at_ == end_ || !is_digit(*at_)) return false;
      while (at_ < end_ && is_digit(*at_)) ++at_;
      integral = false;
    }
    if (integral) {
      const char* digits = start + negative;
      auto [ptr, error] = std::from_chars(digits, integer_end, out.magnitude);
      if (error != std::errc() || ptr != integer_end) return false;  // beyond uint64
      out.kind = Message::Integer;
      out.negative = negative;
      out.number = static_cast<double>(out.magnitude);
      return true;
    }
    auto [ptr, error] = std::from_chars(start, at_, out.number);
    if (error != std::errc() || ptr != at_) return false;  // overflow to infinity, ...
    out.kind = Message::Float;
    return true;
  }

  const char* at_;
  const char* end_;
};

// -- msgpack: the types a stock stream uses -----------------------------------------------------

class MsgpackReader {
 public:
  explicit MsgpackReader(std::string_view data)
      : at_(reinterpret_cast<const std::uint8_t*>(data.data())), end_(at_ + data.size()) {}

  bool at_end() const { return at_ == end_; }

  bool array_header(std::size_t& count) { return header(0x90, 0xdc, count); }
  bool map_header(std::size_t& count) { return header(0x80, 0xde, count); }

  /// A str of ASCII bytes (msgpack-python would reject invalid UTF-8; ASCII is always valid).
  bool string(std::string_view& out) {
    if (at_ == end_) return false;
    const std::uint8_t tag = *at_++;
    std::uint64_t size;
    if ((tag & 0xe0) == 0xa0) {
      size = tag & 0x1f;
    } else if (tag == 0xd9) {
      if (!unsigned_be(1, size)) return false;
    } else if (tag == 0xda) {
      if (!unsigned_be(2, size)) return false;
    } else if (tag == 0xdb) {
      if (!unsigned_be(4, size)) return false;
    } else {
      return false;
    }
    if (size > static_cast<std::uint64_t>(end_ - at_)) return false;
    for (const std::uint8_t* k = at_; k < at_ + size; ++k) {
      if (*k >= 0x80) return false;
    }
    out = std::string_view(reinterpret_cast<const char*>(at_), size);
    at_ += size;
    return true;
  }

  bool value(Value& out) {
    if (at_ == end_) return false;
    const std::uint8_t tag = *at_;
    if ((tag & 0xe0) == 0xa0 || (tag >= 0xd9 && tag <= 0xdb)) {
      out.kind = Message::String;
      return string(out.text);
    }
    if ((tag & 0xf0) == 0x90 || tag == 0xdc || tag == 0xdd) {
      std::size_t count;
      if (!array_header(count) || count > kMaxCodes) return false;
      out.kind = Message::Strings;
      out.code_count = count;
      for (std::size_t k = 0; k < count; ++k) {
        if (!string(out.codes[k])) return false;
      }
      return true;
    }
    ++at_;
    if (tag <= 0x7f) return integer(false, tag, out);
    if (tag >= 0xe0) return integer(true, 256 - tag, out);
    std::uint64_t raw;
    switch (tag) {
      case 0xc0: case 0xc2: case 0xc3:  // nil, false, true
        out.kind = Message::Other;
        return true;
      case 0xcc: return unsigned_be(1, raw) && integer(false, raw, out);
      case 0xcd: return unsigned_be(2, raw) && integer(false, raw, out);
      case 0xce: return unsigned_be(4, raw) && integer(false, raw, out);
      case 0xcf: return unsigned_be(8, raw) && integer(false, raw, out);
      case 0xd0: return unsigned_be(1, raw) && signed_integer(static_cast<std::int8_t>(raw), out);
      case 0xd1: return unsigned_be(2, raw) && signed_integer(static_cast<std::int16_t>(raw), out);
      case 0xd2: return unsigned_be(4, raw) && signed_integer(static_cast<std::int32_t>(raw), out);
      case 0xd3: return unsigned_be(8, raw) && signed_integer(static_cast<std::int64_t>(raw), out);
      case 0xca: {
        if (!unsigned_be(4, raw)) return false;
        float single;
        const auto bits = static_cast<std::uint32_t>(raw);
        std::memcpy(&single, &bits, sizeof single);
        out.kind = Message::Float;
        out.number = single;
        return true;
      }
      case 0xcb:
        if (!unsigned_be(8, raw)) return false;
        out.kind = Message::Float;
        std::memcpy(&out.number, &raw, sizeof out.number);
        return true;
      case 0xd6: return timestamp(4, out);   // fixext 4
      case 0xd7: return timestamp(8, out);   // fixext 8
      case 0xc7: return unsigned_be(1, raw) && raw == 12 && timestamp(12, out);  // ext 8
      default:
        return false;  // bin, maps inside messages, other extension types
    }
  }

 private:
  bool header(std::uint8_t fix, std::uint8_t wide, std::size_t& count) {
    if (at_ == end_) return false;
    const std::uint8_t tag = *at_++;
    std::uint64_t size;
    if ((tag & 0xf0) == fix) {
      size = tag & 0x0f;
    } else if (tag == wide) {
      if (!unsigned_be(2, size)) return false;
    } else if (tag == wide + 1) {
      if (!unsigned_be(4, size)) return false;
    } else {
      return false;
    }
    count = static_cast<std::size_t>(size);
    return true;
  }

  bool unsigned_be(std::size_t bytes, std::uint64_t& out) {
    if (static_cast<std::size_t>(end_ - at_) < bytes) return false;
    out = 0;
    for (std::size_t k = 0; k < bytes; ++k) out = (out << 8) | at_[k];
    at_ += bytes;
    return true;
  }

  static bool integer(bool negative, std::uint64_t magnitude, Value& out) {
    out.kind = Message::Integer;
    out.negative = negative;
    out.magnitude = magnitude;
    out.number = static_cast<double>(magnitude);
    return true;
  }

  static bool signed_integer(std::int64_t value, Value& out) {
    const bool negative = value < 0;
    // Two's complement negation in unsigned arithmetic also covers INT64_MIN.
    const std::uint64_t magnitude =
        negative ? ~static_cast<std::uint64_t>(value) + 1 : static_cast<std::uint64_t>(value);
    return integer(negative, magnitude, out);
  }

  /// The msgpack Timestamp extension (type -1), as msgpack-python reads it.
  bool timestamp(std::size_t size, Value& out) {
    if (at_ == end_ || *at_++ != 0xff) return false;
    std::uint64_t seconds_raw = 0;
    std::uint64_t nanos = 0;
    std::int64_t seconds;
    if (size == 4) {
      if (!unsigned_be(4, seconds_raw)) return false;
      seconds = static_cast<std::int64_t>(seconds_raw);
    } else if (size == 8) {
      std::uint64_t packed;
      if (!unsigned_be(8, packed)) return false;
      nanos = packed >> 34;
      seconds = static_cast<std::int64_t>(packed & ((std::uint64_t{1} << 34) - 1));
    } else {
      if (!unsigned_be(4, nanos) || !unsigned_be(8, seconds_raw)) return false;
      seconds = static_cast<std::int64_t>(seconds_raw);
    }
    if (nanos >= static_cast<std::uint64_t>(kNs)) return false;  // msgpack-python refuses it
    if (seconds <= INT64_MIN / kNs || seconds >= INT64_MAX / kNs) return false;
    out.kind = Message::Stamp;
    out.ns = seconds * kNs + static_cast<std::int64_t>(nanos);
    return true;
  }

  const std::uint8_t* at_;
  const std::uint8_t* end_;
};

template <class Event>
void group_by_instrument(std::vector<Event>& events, std::vector<Group>& groups) {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.instrument_id < b.instrument_id;
  });
  groups.clear();
  for (std::uint32_t k = 0; k < events.size(); ++k) {
    if (groups.empty() || groups.back().instrument_id != events[k].instrument_id) {
      groups.push_back({events[k].instrument_id, k, k});
    }
    groups.back().end = k + 1;
  }
}

void reset(CleanFrame& out) {
  out.trades.clear();
  out.trade_groups.clear();
  out.quotes.clear();
  out.quote_groups.clear();
  out.bars.clear();
  out.messages = 0;
}

}  // namespace

void CleanFrameDecoder::add_symbol(std::string symbol, std::uint32_t instrument_id) {
  ids_[std::move(symbol)] = instrument_id;
}

void CleanFrameDecoder::set_condition_bits(
    const std::vector<std::pair<std::string, std::uint32_t>>& trade,
    const std::vector<std::pair<std::string, std::uint32_t>>& quote, std::uint32_t other) {
  trade_bits_.fill(0);
  quote_bits_.fill(0);
  for (const auto& [code, bit] : trade) {
    if (code.size() == 1 && static_cast<unsigned char>(code[0]) < 128) trade_bits_[code[0]] = bit;
  }
  for (const auto& [code, bit] : quote) {
    if (code.size() == 1 && static_cast<unsigned char>(code[0]) < 128) quote_bits_[code[0]] = bit;
  }
  other_bit_ = other;
}

bool CleanFrameDecoder::finish_message(const Message& message, CleanFrame& out) const {
  const auto& f = message.fields;
  if (f[T].kind != Message::String || f[S].kind != Message::String) return false;
  const auto found = ids_.find(f[S].text);
  if (found == ids_.end()) return false;
  const std::uint32_t instrument_id = found->second;
  std::int64_t ts;
  if (!stamp_of(f[t], ts)) return false;
  const std::string_view type = f[T].text;
  if (type == "q") {
    Quote q{};
    q.ts_event = ts;
    q.instrument_id = instrument_id;
    if (!non_negative(f[bp], q.bid_price) || !non_negative(f[ap], q.ask_price) ||
        !non_negative(f[bs], q.bid_size) || !non_negative(f[as], q.ask_size) ||
        !exchange_of(f[bx], q.bid_exchange) || !exchange_of(f[ax], q.ask_exchange) ||
        !word_of(f[c], quote_bits_, other_bit_, q.conditions)) {
      return false;
    }
    const bool crossed = q.bid_price > q.ask_price && q.ask_price > 0.0;
    const bool empty = q.bid_price == 0.0 && q.ask_price == 0.0;
    if (crossed || empty) return false;
    out.quotes.push_back(q);
    return true;
  }
  if (type == "t") {
    Trade trade{};
    trade.ts_event = ts;
    trade.instrument_id = instrument_id;
    if (!positive(f[p], trade.price) || !positive(f[s], trade.size) ||
        !count_of(f[i], trade.trade_id) || !exchange_of(f[x], trade.exchange) ||
        !word_of(f[c], trade_bits_, other_bit_, trade.conditions)) {
      return false;
    }
    out.trades.push_back(trade);
    return true;
  }
  if (type == "b" || type == "u" || type == "d") {
    WireBar bar{};
    bar.kind = type[0];
    bar.instrument_id = instrument_id;
    bar.ts = ts;
    if (!number_of(f[o], bar.open) || !number_of(f[h], bar.high) || !number_of(f[l], bar.low) ||
        !number_of(f[c], bar.close) || !number_of(f[v], bar.volume) ||
        !count_of(f[n], bar.trade_count)) {
      return false;
    }
    if (f[vw].kind != Message::Absent && !number_of(f[vw], bar.vwap)) return false;
    out.bars.push_back(bar);
    return true;
  }
  return false;  // statuses, LULDs, corrections, controls, unknown types
}

bool CleanFrameDecoder::finish_frame(CleanFrame& out) {
  if (out.messages == 0) return false;
  group_by_instrument(out.trades, out.trade_groups);
  for (const Group& g : out.trade_groups) {
    for (std::uint32_t k = g.start + 1; k < g.end; ++k) {
      if (out.trades[k].ts_event < out.trades[k - 1].ts_event) return false;  // a late print
    }
  }
  group_by_instrument(out.quotes, out.quote_groups);
  for (const Group& g : out.quote_groups) {
    for (std::uint32_t k = g.start + 1; k < g.end; ++k) {
      if (same_quote(out.quotes[k], out.quotes[k - 1])) return false;  // a repeated quote
    }
  }
  return true;
}

bool CleanFrameDecoder::decode_json(std::string_view frame, CleanFrame& out) const {
  reset(out);
  JsonReader reader(frame);
  if (!reader.take('[')) return false;
  if (!reader.peek(']')) {
    do {
      if (!reader.take('{')) return false;
      Message message;
      if (!reader.peek('}')) {
        do {
          std::string_view key;
          if (!reader.string(key) || !reader.take(':')) return false;
          const Field field = field_of(key);
          if (field == kUnknown) {
            Value ignored;
            if (!reader.value(ignored)) return false;
            continue;
          }
          Value& value = message.fields[field];
          if (value.kind != Message::Absent || !reader.value(value)) return false;  // dup keys
        } while (reader.take(','));
      }
      if (!reader.take('}') || !finish_message(message, out)) return false;
      ++out.messages;
    } while (reader.take(','));
  }
  if (!reader.take(']') || !reader.at_end()) return false;
  return finish_frame(out);
}

bool CleanFrameDecoder::decode_msgpack(std::string_view frame, CleanFrame& out) const {
  reset(out);
  MsgpackReader reader(frame);
  std::size_t count;
  if (!reader.array_header(count)) return false;
  for (std::size_t m = 0; m < count; ++m) {
    std::size_t entries;
    if (!reader.map_header(entries)) return false;
    Message message;
    for (std::size_t e = 0; e < entries; ++e) {
      std::string_view key;
      if (!reader.string(key)) return false;
      const Field field = field_of(key);
      if (field == kUnknown) {
        Value ignored;
        if (!reader.value(ignored)) return false;
        continue;
      }
      Value& value = message.fields[field];
      if (value.kind != Message::Absent || !reader.value(value)) return false;  // dup keys
    }
    if (!finish_message(message, out)) return false;
    ++out.messages;
  }
  if (!reader.at_end()) return false;
  return finish_frame(out);
}

}  // namespace tradecore::alpaca
