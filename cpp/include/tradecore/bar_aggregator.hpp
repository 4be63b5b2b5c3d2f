#pragma once
/// Streaming bar aggregation: time bars (1 s to 1 day, session-aware for US equities), tick,
/// volume, value (dollar) and range bars from trades; higher periods from lower bars; quote bars
/// from quotes. The aggregators read no clock: time advances only with the events and the
/// on_clock() calls fed to them, so replay and live are the same code.
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "tradecore/calendar.hpp"
#include "tradecore/schema.hpp"

namespace tradecore {

/// What closes a bar.
enum class BarKind : std::uint8_t {
  Time = 0,    ///< a fixed period of wall-clock time
  Tick = 1,    ///< every `size` trades
  Volume = 2,  ///< every `size` shares (a trade that overflows is split across bars)
  Value = 3,   ///< every `size` dollars traded (split like volume)
  Range = 4,   ///< when the high-low range would exceed `size` dollars
};

/// What to do with a trade older than the open bar (late or out of order).
enum class LatePolicy : std::uint8_t {
  Drop = 0,   ///< skip it and count it in stats().late_dropped
  Amend = 1,  ///< fold its volume and price extremes into the open bar (not its close)
  Raise = 2,  ///< throw DataError naming the row
};

/// What to do with a period in which nothing traded.
enum class EmptyPolicy : std::uint8_t {
  Skip = 0,  ///< no bar
  Flat = 1,  ///< a flat bar at the previous close, volume 0, within the same trading day
};

/// What to do with invalid input (NaN/inf/non-positive price, negative or NaN size, crossed
/// quotes).
enum class BadDataPolicy : std::uint8_t {
  Raise = 0,  ///< throw DataError naming the row; everything before it stays applied
  Skip = 1,   ///< skip it and count it in stats().bad_skipped
};

/// How time bars align and which sessions exist.
enum class Calendar : std::uint8_t {
  UsEquity = 0,  ///< aligned to New York midnight, sessions premarket/regular/after-hours
  Utc = 1,       ///< aligned to the UTC epoch, no sessions (24h markets)
};

/// Bit of a Session in AggregatorConfig::sessions.
constexpr std::uint8_t session_bit(Session s) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(s)); }
inline constexpr std::uint8_t kExtendedHours =
    session_bit(Session::Premarket) | session_bit(Session::Regular) | session_bit(Session::AfterHours);

/// Configuration of a BarAggregator or QuoteBarAggregator; validated by their constructors.
struct AggregatorConfig {
  BarKind kind = BarKind::Time;
  std::int64_t period_ns = calendar::kMinute;  ///< time bars: 1 s to 1 day
  double size = 0.0;  ///< tick/volume/value/range bars: trades, shares, dollars, dollars
  Calendar calendar = Calendar::UsEquity;
  std::uint8_t sessions = kExtendedHours;  ///< session_bit()s of the sessions to aggregate
  bool split_at_sessions = true;  ///< never let a bar span a session boundary
  LatePolicy late = LatePolicy::Drop;
  EmptyPolicy empty = EmptyPolicy::Skip;
  BadDataPolicy bad = BadDataPolicy::Raise;
  /// Trades with any of these condition bits do not set open/high/low/close (tape rules:
  /// e.g. average-price or out-of-sequence prints).
  std::uint32_t exclude_price_conditions = 0;
  /// Trades with any of these condition bits do not count in volume or VWAP.
  std::uint32_t exclude_volume_conditions = 0;
  bool drop_suspicious = true;  ///< skip trades flagged kTradeSuspicious (counted)
  std::uint32_t instrument_id = 0;
};

/// Counters of everything an aggregator did not simply accept.
struct AggregatorStats {
  std::uint64_t accepted = 0;            ///< trades (or quotes, or input bars) applied
  std::uint64_t late_dropped = 0;
  std::uint64_t late_amended = 0;
  std::uint64_t bad_skipped = 0;
  std::uint64_t outside_session = 0;     ///< in a session not configured
  std::uint64_t suspicious_dropped = 0;
  std::uint64_t price_excluded = 0;      ///< counted in volume but not in prices
  std::uint64_t volume_excluded = 0;
  std::uint64_t bars_emitted = 0;
  std::uint64_t flat_bars = 0;
};

/// A time bucket: [start, end) in UTC ns, with the session it belongs to.
struct Bucket {
  std::int64_t start;
  std::int64_t end;
  Session session;
  bool included;  ///< the session is one the aggregator was configured for
};

/// Maps timestamps to time buckets for a calendar, period and session policy. Shared by trade
/// bars, quote bars and resampling so all of them cut time the same way.
class TimeBucketer {
 public:
  TimeBucketer(Calendar calendar, std::int64_t period_ns, std::uint8_t sessions, bool split);
  /// The bucket containing ts (which may be in an excluded session: see Bucket::included).
  Bucket bucket_of(std::int64_t ts) const;
  /// The first included bucket starting at or after ts on the same local trading day, or a
  /// bucket with start == end == -1 when there is none.
  Bucket next_included(std::int64_t ts) const;
  /// Local trading day (days since epoch) of ts, used to keep flat bars within one day.
  std::int64_t day_of(std::int64_t ts) const;

 private:
  Calendar calendar_;
  std::int64_t period_;
  std::uint8_t sessions_;
  bool split_;
};

/// Builds bars from trades (or from lower-period bars). Not thread-safe: one per stream.
class BarAggregator {
 public:
  explicit BarAggregator(const AggregatorConfig& config);

  /// Apply trades in arrival order; append every bar they close to `out`. On a DataError
  /// (bad data or late data under Raise), the rows before the offending one stay applied and
  /// the bars they closed are already in `out`.
  void update(std::span<const Trade> trades, std::vector<Bar>& out);
  void update(const Trade& trade, std::vector<Bar>& out) { update(std::span<const Trade>(&trade, 1), out); }

  /// The same, appending to the aggregator's own buffer of closed bars (see drain()). After a
  /// DataError the bars closed before the bad row wait there, so nothing accepted is lost.
  void update(std::span<const Trade> trades) { update(trades, closed_); }
  void update_bars(std::span<const Bar> bars) { update_bars(bars, closed_); }
  void on_clock(std::int64_t now) { on_clock(now, closed_); }
  void flush(bool partial = false) { flush(closed_, partial); }
  /// Take the closed bars buffered by the calls above.
  std::vector<Bar> drain() { return std::exchange(closed_, {}); }

  /// Apply lower-period bars (time bars only): 5-minute bars from 1-minute bars match a direct
  /// aggregation of the trades. Flat input bars are skipped.
  void update_bars(std::span<const Bar> bars, std::vector<Bar>& out);

  /// The clock moved to `now` (ns UTC): close the open time bar if its period has passed and,
  /// with EmptyPolicy::Flat, emit flat bars for the periods that passed in silence.
  void on_clock(std::int64_t now, std::vector<Bar>& out);

  /// Close the open bar now (end of data or shutdown). `partial` marks it kBarPartial.
  void flush(std::vector<Bar>& out, bool partial = false);

  /// Forget everything, including counters.
  void reset();

  bool has_open_bar() const noexcept { return open_; }
  /// The bar being built (valid when has_open_bar()).
  const Bar& open_bar() const noexcept { return bar_; }
  const AggregatorStats& stats() const noexcept { return stats_; }
  const AggregatorConfig& config() const noexcept { return config_; }

 private:
  struct Input {  // one normalised input: a trade, or a lower bar seen as a trade
    std::int64_t ts;
    double open, high, low, close, volume, pv;
    std::uint32_t count;
    bool price_ok, volume_ok;
  };
  template <BarKind K>
  void run_trades(std::span<const Trade> trades, std::vector<Bar>& out);
  bool admit(const Trade& t, std::int64_t row, Input& in);
  void apply_time(const Input& in, std::int64_t row, std::vector<Bar>& out);
  void apply_information(const Input& in, std::int64_t row, std::vector<Bar>& out);
  void open_bar(const Input& in, const Bucket& b);
  void add(const Input& in);
  void add_late(const Input& in);
  /// A trade older than `since` (the open period, or the previous trade): apply the late policy.
  void late(const Input& in, std::int64_t row, const char* older_than, std::int64_t since);
  void close_bar(std::vector<Bar>& out);
  void emit_flat_until(std::int64_t until, std::vector<Bar>& out);
  bool session_allows(std::int64_t ts, Session& session);

  AggregatorConfig config_;
  TimeBucketer bucketer_;
  AggregatorStats stats_;
  std::vector<Bar> closed_;
  Bar bar_{};
  bool open_ = false;
  bool has_price_ = false;         // the open bar has seen a price-eligible trade
  bool check_session_ = false;     // the open bar spans a session boundary (split off)
  double pv_ = 0.0;                // sum of price*size in the open bar
  double last_close_ = 0.0;
  bool has_last_close_ = false;
  std::int64_t last_day_ = INT64_MIN;   // local day of the last bar emitted
  std::int64_t watermark_ = INT64_MIN;  // end of the last closed period: older data is late
  // Session cache for information bars and split checks: [start, end) of the current session.
  std::int64_t session_start_ = 0, session_end_ = 0;
  Session session_ = Session::None;
  bool session_included_ = false;
};

/// Builds quote bars (bid/ask OHLC, last sizes, time-weighted spread) from quotes, time bars
/// only. A side with price 0 is absent (one-sided update) and leaves that side unchanged.
class QuoteBarAggregator {
 public:
  explicit QuoteBarAggregator(const AggregatorConfig& config);
  void update(std::span<const Quote> quotes, std::vector<QuoteBar>& out);
  void on_clock(std::int64_t now, std::vector<QuoteBar>& out);
  void flush(std::vector<QuoteBar>& out, bool partial = false);
  /// Buffered variants, as on BarAggregator.
  void update(std::span<const Quote> quotes) { update(quotes, closed_); }
  void on_clock(std::int64_t now) { on_clock(now, closed_); }
  void flush(bool partial = false) { flush(closed_, partial); }
  std::vector<QuoteBar> drain() { return std::exchange(closed_, {}); }
  void reset();
  bool has_open_bar() const noexcept { return open_; }
  const QuoteBar& open_bar() const noexcept { return bar_; }
  const AggregatorStats& stats() const noexcept { return stats_; }

 private:
  void close_bar(std::vector<QuoteBar>& out);
  void accrue_spread(std::int64_t until);

  AggregatorConfig config_;
  TimeBucketer bucketer_;
  AggregatorStats stats_;
  std::vector<QuoteBar> closed_;
  QuoteBar bar_{};
  bool open_ = false;
  bool bid_seen_ = false, ask_seen_ = false;  // in the open bar
  double bid_ = 0.0, ask_ = 0.0;              // current book (persists across bars)
  std::int64_t spread_since_ = 0;             // start of the current spread's interval
  double spread_area_ = 0.0;                  // integral of spread dt in the open bar
  std::int64_t spread_time_ = 0;              // two-sided time in the open bar
  std::int64_t watermark_ = INT64_MIN;
};

}  // namespace tradecore
