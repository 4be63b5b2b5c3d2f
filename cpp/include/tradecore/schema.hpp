#pragma once
/// The event schema: plain structs that are also NumPy structured dtypes (see
/// python/tradecore/schema.py, which defines the same layouts; a test checks they agree).
/// Every timestamp is int64 nanoseconds since the Unix epoch, UTC.
#include <cstdint>

namespace tradecore {

/// Trading session of US equities, in America/New_York local time.
enum class Session : std::uint8_t {
  None = 0,        ///< calendar without sessions (e.g. 24h UTC markets)
  Premarket = 1,   ///< 04:00-09:30
  Regular = 2,     ///< 09:30-16:00
  AfterHours = 3,  ///< 16:00-20:00
  Overnight = 4,   ///< 20:00-04:00, outside the consolidated tape's extended hours
};

/// Trade flags (Trade::flags bits).
enum TradeFlag : std::uint8_t {
  kTradeSuspicious = 1u << 0,  ///< the vendor flagged the print (LEAN's "suspicious" column)
};

/// One print on the tape.
struct Trade {
  std::int64_t ts_event;     ///< exchange time, ns UTC
  double price;              ///< dollars per share
  double size;               ///< shares
  std::uint64_t trade_id;    ///< the venue's trade id (0 when unknown); corrections refer to it
  std::uint32_t conditions;  ///< sale-condition flag word (vendor-specific bits)
  std::uint32_t instrument_id;
  std::uint8_t exchange;  ///< venue code, an ASCII letter (0 when unknown)
  std::uint8_t flags;     ///< TradeFlag bits
};

/// Top of book from one venue or the consolidated NBBO.
struct Quote {
  std::int64_t ts_event;
  double bid_price;  ///< 0 when the bid side is absent
  double ask_price;  ///< 0 when the ask side is absent
  double bid_size;
  double ask_size;
  std::uint32_t conditions;
  std::uint32_t instrument_id;
  std::uint8_t bid_exchange;
  std::uint8_t ask_exchange;
  std::uint8_t flags;
};

/// Trading status of an instrument (halts, resumptions).
enum class TradingState : std::uint8_t {
  Unknown = 0,
  Trading = 1,
  Halted = 2,     ///< no trading; orders may be queued
  QuoteOnly = 3,  ///< quoting resumed ahead of trading (halt reopening)
  Paused = 4,     ///< LULD pause
};

/// A change of trading status (a halt, a resumption) from the vendor's status feed.
struct Status {
  std::int64_t ts_event;
  std::uint32_t instrument_id;
  std::uint8_t state;        ///< TradingState
  char status_code[4];       ///< vendor status code, NUL-padded (e.g. "H", "T")
  char reason_code[4];       ///< vendor reason code, NUL-padded (e.g. "T1", "LUDP")
};

/// Limit-up/limit-down price bands.
struct Luld {
  std::int64_t ts_event;
  double limit_up;
  double limit_down;
  std::uint32_t instrument_id;
  std::uint8_t indicator;  ///< vendor indicator letter (ASCII)
};

/// Bar flags (Bar::flags bits).
enum BarFlag : std::uint8_t {
  kBarFlat = 1u << 0,     ///< no trades in the period: a flat bar at the previous close
  kBarAmended = 1u << 1,  ///< late trades were folded into this bar
  kBarPartial = 1u << 2,  ///< closed early (flush) before its period ended
};

/// An OHLCV bar. ts_event is the bar's open time; ts_end its (exclusive) end, or for bars
/// that are not time bars, the time of the last trade in it.
struct Bar {
  std::int64_t ts_event;
  std::int64_t ts_end;
  double open;
  double high;
  double low;
  double close;
  double volume;
  double vwap;  ///< volume-weighted average price (close when volume is 0)
  std::uint32_t trade_count;
  std::uint32_t instrument_id;
  std::uint8_t session;  ///< Session of the bar's open
  std::uint8_t flags;    ///< BarFlag bits
};

/// Bid and ask OHLC over a period, built from quotes.
struct QuoteBar {
  std::int64_t ts_event;
  std::int64_t ts_end;
  double bid_open, bid_high, bid_low, bid_close;
  double ask_open, ask_high, ask_low, ask_close;
  double bid_size;       ///< last bid size in the period
  double ask_size;       ///< last ask size in the period
  double spread_twa;     ///< time-weighted average (ask - bid) over the period, NaN if never two-sided
  std::uint32_t quote_count;
  std::uint32_t instrument_id;
  std::uint8_t session;
  std::uint8_t flags;
};

}  // namespace tradecore

// The layouts are part of the contract with python/tradecore/schema.py.
static_assert(sizeof(tradecore::Trade) == 48);
static_assert(sizeof(tradecore::Status) == 24);
static_assert(sizeof(tradecore::Luld) == 32);
static_assert(sizeof(tradecore::Quote) == 56);
static_assert(sizeof(tradecore::Bar) == 80);
static_assert(sizeof(tradecore::QuoteBar) == 120);
