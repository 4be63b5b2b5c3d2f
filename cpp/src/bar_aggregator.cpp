#include "tradecore/bar_aggregator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "tradecore/error.hpp"

namespace tradecore {

using namespace calendar;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string describe_ts(std::int64_t ts) { return "ts_event=" + std::to_string(ts); }

void validate(const AggregatorConfig& c, bool quotes) {
  if (c.kind == BarKind::Time) {
    if (c.period_ns < kSecond || c.period_ns > kDay)
      throw ConfigError("time bar period must be between 1 second and 1 day, got " +
                        std::to_string(c.period_ns) + " ns");
    if (c.period_ns % kSecond != 0)
      throw ConfigError("time bar period must be a whole number of seconds");
  } else {
    if (quotes) throw ConfigError("quote bars are time bars only");
    if (!(c.size > 0) || !std::isfinite(c.size))
      throw ConfigError("tick, volume, value and range bars need a positive finite size");
    if (c.kind == BarKind::Tick && c.size != std::floor(c.size))
      throw ConfigError("tick bars need a whole number of trades");
  }
  if (c.calendar == Calendar::UsEquity && (c.sessions & 0x1F & ~session_bit(Session::None)) == 0)
    throw ConfigError("no session selected: choose premarket, regular, after_hours or overnight");
  if (quotes && c.empty == EmptyPolicy::Flat)
    throw ConfigError("empty='flat' is for trade bars; quote bars carry the book instead");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TimeBucketer

TimeBucketer::TimeBucketer(Calendar calendar, std::int64_t period_ns, std::uint8_t sessions,
                           bool split)
    : calendar_(calendar), period_(period_ns), sessions_(sessions), split_(split) {}

Bucket TimeBucketer::bucket_of(std::int64_t ts) const {
  if (calendar_ == Calendar::Utc) {
    const std::int64_t start = floor_div(ts, period_) * period_;
    return {start, start + period_, Session::None, true};
  }
  const std::int64_t local = to_local(ts);
  const std::int64_t day = floor_div(local, kDay);
  const std::int64_t day0 = day * kDay;
  const std::int64_t tod = local - day0;
  const Session session = session_of_local(day, tod);
  std::int64_t start = floor_div(tod, period_) * period_;
  std::int64_t end = std::min(start + period_, kDay);
  if (split_) {
    std::int64_t s0, s1;
    session_range(day, tod, s0, s1);
    start = std::max(start, s0);
    end = std::min(end, s1);
  }
  return {to_utc(day0 + start), to_utc(day0 + end), session,
          (sessions_ & session_bit(session)) != 0};
}

Bucket TimeBucketer::next_included(std::int64_t ts) const {
  if (calendar_ == Calendar::Utc) return bucket_of(ts);
  const std::int64_t day = day_of(ts);
  for (int guard = 0; guard < 8; ++guard) {
    Bucket b = bucket_of(ts);
    if (b.included) {
      if (b.start < ts) {  // ts is inside a bucket: the next whole one starts at its end
        ts = b.end;
        if (day_of(ts) != day) break;
        continue;
      }
      return b;
    }
    // Jump to the start of the next session of the same day.
    const std::int64_t local = to_local(ts);
    const std::int64_t local_date = floor_div(local, kDay);
    const std::int64_t day0 = local_date * kDay;
    std::int64_t s0, s1;
    session_range(local_date, local - day0, s0, s1);
    if (s1 >= kDay) break;
    ts = to_utc(day0 + s1);
  }
  return {-1, -1, Session::None, false};
}

std::int64_t TimeBucketer::day_of(std::int64_t ts) const {
  return calendar_ == Calendar::Utc ? floor_div(ts, kDay) : local_day(ts);
}

// ---------------------------------------------------------------------------------------------
// BarAggregator

BarAggregator::BarAggregator(const AggregatorConfig& config)
    : config_((validate(config, false), config)),
      bucketer_(config.calendar, config.period_ns, config.sessions, config.split_at_sessions) {}

void BarAggregator::reset() {
  stats_ = {};
  closed_.clear();
  bar_ = {};
  open_ = has_price_ = check_session_ = has_last_close_ = false;
  pv_ = last_close_ = 0.0;
  last_day_ = watermark_ = INT64_MIN;
  session_start_ = session_end_ = 0;
  session_ = Session::None;
  session_included_ = false;
}

bool BarAggregator::session_allows(std::int64_t ts, Session& session) {
  if (config_.calendar == Calendar::Utc) {
    session = Session::None;
    return true;
  }
  if (ts < session_start_ || ts >= session_end_) {
    const std::int64_t local = to_local(ts);
    const std::int64_t day = floor_div(local, kDay);
    const std::int64_t day0 = day * kDay;
    std::int64_t s0, s1;
    session_range(day, local - day0, s0, s1);
    session_start_ = to_utc(day0 + s0);
    session_end_ = to_utc(day0 + s1);
    session_ = session_of_local(day, local - day0);
    session_included_ = (config_.sessions & session_bit(session_)) != 0;
  }
  session = session_;
  return session_included_;
}

bool BarAggregator::admit(const Trade& t, std::int64_t row, Input& in) {
  // One comparison chain rejects NaN, +-inf, zero and negative prices, and NaN/negative sizes.
  if (!(t.price > 0.0 && t.price < kInf && t.size >= 0.0 && t.size < kInf)) [[unlikely]] {
    if (config_.bad == BadDataPolicy::Raise) {
      std::string what = !(t.price > 0.0 && t.price < kInf)
                             ? "invalid trade price " + std::to_string(t.price)
                             : "invalid trade size " + std::to_string(t.size);
      throw DataError(what + " at " + describe_ts(t.ts_event), row);
    }
    ++stats_.bad_skipped;
    return false;
  }
  if ((t.flags & kTradeSuspicious) && config_.drop_suspicious) [[unlikely]] {
    ++stats_.suspicious_dropped;
    return false;
  }
  in.ts = t.ts_event;
  in.open = in.high = in.low = in.close = t.price;
  in.count = 1;
  in.price_ok = (t.conditions & config_.exclude_price_conditions) == 0;
  in.volume_ok = (t.conditions & config_.exclude_volume_conditions) == 0;
  if (!in.price_ok) [[unlikely]] ++stats_.price_excluded;
  if (in.volume_ok) [[likely]] {
    in.volume = t.size;
    in.pv = t.price * t.size;
  } else {
    ++stats_.volume_excluded;
    in.volume = in.pv = 0.0;
  }
  return true;
}

inline void BarAggregator::add(const Input& in) {
  if (in.price_ok) [[likely]] {
    if (has_price_) [[likely]] {
      bar_.high = std::max(bar_.high, in.high);
      bar_.low = std::min(bar_.low, in.low);
    } else {
      bar_.open = in.open, bar_.high = in.high, bar_.low = in.low;
      has_price_ = true;
    }
    bar_.close = in.close;
  }
  bar_.volume += in.volume;
  pv_ += in.pv;
  bar_.trade_count += in.count;
  ++stats_.accepted;
}

void BarAggregator::add_late(const Input& in) {
  if (in.price_ok) {
    if (has_price_) {
      bar_.high = std::max(bar_.high, in.high);
      bar_.low = std::min(bar_.low, in.low);
    } else {
      bar_.open = bar_.close = in.open, bar_.high = in.high, bar_.low = in.low;
      has_price_ = true;
    }
  }
  bar_.volume += in.volume;
  pv_ += in.pv;
  bar_.trade_count += in.count;
  bar_.flags |= kBarAmended;
  ++stats_.late_amended;
  ++stats_.accepted;
}

void BarAggregator::open_bar(const Input& in, const Bucket& b) {
  bar_ = Bar{};
  bar_.ts_event = b.start;
  bar_.ts_end = b.end;
  bar_.session = static_cast<std::uint8_t>(b.session);
  bar_.instrument_id = config_.instrument_id;
  // Until a price-eligible trade arrives the bar holds the previous close (or, with no
  // history, this trade's price) so it never carries garbage.
  const double tentative = has_last_close_ ? last_close_ : in.open;
  bar_.open = bar_.high = bar_.low = bar_.close = tentative;
  has_price_ = false;
  pv_ = 0.0;
  open_ = true;
  // A bar that may span sessions must check each trade's session when not every session is
  // wanted; split bars never span one.
  check_session_ = config_.kind == BarKind::Time && !config_.split_at_sessions &&
                   config_.calendar == Calendar::UsEquity;
  add(in);
}

void BarAggregator::close_bar(std::vector<Bar>& out) {
  bar_.vwap = bar_.volume > 0.0 ? pv_ / bar_.volume : bar_.close;
  out.push_back(bar_);
  ++stats_.bars_emitted;
  last_close_ = bar_.close;
  has_last_close_ = true;
  last_day_ = bucketer_.day_of(bar_.ts_event);
  watermark_ = bar_.ts_end;
  open_ = false;
}

void BarAggregator::emit_flat_until(std::int64_t until, std::vector<Bar>& out) {
  if (!has_last_close_ || watermark_ == INT64_MIN) return;
  std::int64_t t = watermark_;
  while (true) {
    const Bucket b = bucketer_.next_included(t);
    if (b.start < 0 || b.end > until || bucketer_.day_of(b.start) != last_day_) break;
    Bar flat{};
    flat.ts_event = b.start;
    flat.ts_end = b.end;
    flat.open = flat.high = flat.low = flat.close = flat.vwap = last_close_;
    flat.session = static_cast<std::uint8_t>(b.session);
    flat.instrument_id = config_.instrument_id;
    flat.flags = kBarFlat;
    out.push_back(flat);
    ++stats_.flat_bars;
    ++stats_.bars_emitted;
    watermark_ = t = b.end;
  }
}

void BarAggregator::late(const Input& in, std::int64_t row, const char* older_than, std::int64_t since) {
  switch (config_.late) {
    case LatePolicy::Raise:
      throw DataError("late trade at " + describe_ts(in.ts) + ": older than " + older_than + " (" +
                          std::to_string(since) + "); late='raise'",
                      row);
    case LatePolicy::Amend:
      if (open_) {
        add_late(in);
        return;
      }
      [[fallthrough]];
    case LatePolicy::Drop:
      ++stats_.late_dropped;
      return;
  }
}

void BarAggregator::apply_time(const Input& in, std::int64_t row, std::vector<Bar>& out) {
  if (open_) {
    if (in.ts >= bar_.ts_end) {
      close_bar(out);
    } else if (in.ts >= bar_.ts_event) {  // inside a bar that spans sessions
      Session s;
      if (!session_allows(in.ts, s)) {
        ++stats_.outside_session;
        return;
      }
      add(in);
      return;
    }
  }
  if ((open_ && in.ts < bar_.ts_event) || (!open_ && in.ts < watermark_)) {
    late(in, row, "the open period", open_ ? bar_.ts_event : watermark_);
    return;
  }
  const Bucket b = bucketer_.bucket_of(in.ts);
  if (!b.included) {
    ++stats_.outside_session;
    return;
  }
  if (config_.empty == EmptyPolicy::Flat) emit_flat_until(b.start, out);
  open_bar(in, b);
}

void BarAggregator::apply_information(const Input& in, std::int64_t row, std::vector<Bar>& out) {
  Session session;
  if (!session_allows(in.ts, session)) {
    ++stats_.outside_session;
    return;
  }
  // ts_end is the last trade's time in information bars; the watermark the last closed one's.
  if ((open_ && in.ts < bar_.ts_end) || (!open_ && in.ts < watermark_)) {
    late(in, row, "the previous trade", open_ ? bar_.ts_end : watermark_);
    return;
  }
  // The session cache now holds this trade's session: a bar opened before it started belongs
  // to an earlier session (or day).
  if (open_ && config_.split_at_sessions && config_.calendar == Calendar::UsEquity &&
      bar_.ts_event < session_start_) {
    close_bar(out);
  }
  const Bucket b{in.ts, in.ts, session, true};
  const double size = config_.size;
  switch (config_.kind) {
    case BarKind::Tick:
      if (open_) add(in); else open_bar(in, b);
      bar_.ts_end = in.ts;
      if (bar_.trade_count >= size) close_bar(out);
      return;
    case BarKind::Range:
      if (open_ && has_price_ && in.price_ok &&
          std::max(bar_.high, in.high) - std::min(bar_.low, in.low) > size * (1 + 1e-12)) {
        close_bar(out);
      }
      if (open_) add(in); else open_bar(in, b);
      bar_.ts_end = in.ts;
      return;
    case BarKind::Volume:
    case BarKind::Value: {
      // Split the trade so that every closed bar holds exactly `size` shares (or dollars).
      const bool by_value = config_.kind == BarKind::Value;
      const double amount = by_value ? in.pv : in.volume;
      double remaining = amount;
      Input part = in;
      bool first = true;
      do {
        const double filled = open_ ? (by_value ? pv_ : bar_.volume) : 0.0;
        const double take = std::min(remaining, size - filled);
        const double fraction = amount > 0 ? take / amount : 0.0;
        part.volume = in.volume * fraction;
        part.pv = in.pv * fraction;
        part.count = first ? 1 : 0;
        if (open_) add(part); else open_bar(part, b);
        if (!first) --stats_.accepted;  // one trade, however many bars it spans
        bar_.ts_end = in.ts;
        remaining -= take;
        first = false;
        const double now = by_value ? pv_ : bar_.volume;
        if (now >= size * (1 - 1e-12)) close_bar(out);
      } while (remaining > size * 1e-12);
      return;
    }
    case BarKind::Time:
      break;
  }
}

template <BarKind K>
void BarAggregator::run_trades(std::span<const Trade> trades, std::vector<Bar>& out) {
  const bool single = trades.size() == 1;
  const std::int64_t n = static_cast<std::int64_t>(trades.size());
  for (std::int64_t i = 0; i < n; ++i) {
    Input in;
    if (!admit(trades[i], single ? -1 : i, in)) [[unlikely]] continue;
    if constexpr (K == BarKind::Time) {
      // The hot path: the trade falls in the open bar.
      if (open_ && in.ts >= bar_.ts_event && in.ts < bar_.ts_end && !check_session_) [[likely]] {
        add(in);
        continue;
      }
      apply_time(in, single ? -1 : i, out);
    } else {
      apply_information(in, single ? -1 : i, out);
    }
  }
}

void BarAggregator::update(std::span<const Trade> trades, std::vector<Bar>& out) {
  if (config_.kind == BarKind::Time)
    run_trades<BarKind::Time>(trades, out);
  else
    run_trades<BarKind::Tick>(trades, out);
}

void BarAggregator::update_bars(std::span<const Bar> bars, std::vector<Bar>& out) {
  if (config_.kind != BarKind::Time) throw ConfigError("only time bars can be built from bars");
  const std::int64_t n = static_cast<std::int64_t>(bars.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const Bar& b = bars[i];
    if (b.flags & kBarFlat) continue;  // no trades: contributes neither price nor volume
    if (!(b.low > 0.0 && b.high < kInf && b.low <= b.open && b.low <= b.close &&
          b.high >= b.open && b.high >= b.close && b.volume >= 0.0 && b.volume < kInf)) {
      if (config_.bad == BadDataPolicy::Raise)
        throw DataError("invalid bar (non-positive, non-finite or inconsistent OHLCV) at " +
                            describe_ts(b.ts_event),
                        i);
      ++stats_.bad_skipped;
      continue;
    }
    Input in{b.ts_event, b.open, b.high, b.low, b.close, b.volume, b.vwap * b.volume,
             b.trade_count, true, true};
    if (open_ && in.ts >= bar_.ts_event && in.ts < bar_.ts_end && !check_session_) {
      add(in);
    } else {
      apply_time(in, i, out);
    }
    if (open_ && b.ts_end > bar_.ts_end)
      throw ConfigError("input bar " + describe_ts(b.ts_event) +
                        " is longer than the output period or not aligned with it");
  }
}

void BarAggregator::on_clock(std::int64_t now, std::vector<Bar>& out) {
  if (config_.kind != BarKind::Time) return;  // information bars close on trades only
  if (open_ && now >= bar_.ts_end) close_bar(out);
  if (config_.empty == EmptyPolicy::Flat && !open_) emit_flat_until(now, out);
}

void BarAggregator::flush(std::vector<Bar>& out, bool partial) {
  if (!open_) return;
  if (partial) bar_.flags |= kBarPartial;
  close_bar(out);
}

// ---------------------------------------------------------------------------------------------
// QuoteBarAggregator

QuoteBarAggregator::QuoteBarAggregator(const AggregatorConfig& config)
    : config_((validate(config, true), config)),
      bucketer_(config.calendar, config.period_ns, config.sessions, config.split_at_sessions) {}

void QuoteBarAggregator::reset() {
  stats_ = {};
  closed_.clear();
  bar_ = {};
  open_ = bid_seen_ = ask_seen_ = false;
  bid_ = ask_ = spread_area_ = 0.0;
  spread_since_ = spread_time_ = 0;
  watermark_ = INT64_MIN;
}

void QuoteBarAggregator::accrue_spread(std::int64_t until) {
  if (bid_ > 0.0 && ask_ > 0.0 && until > spread_since_) {
    spread_area_ += (ask_ - bid_) * static_cast<double>(until - spread_since_);
    spread_time_ += until - spread_since_;
  }
  spread_since_ = std::max(spread_since_, until);
}

void QuoteBarAggregator::close_bar(std::vector<QuoteBar>& out) {
  accrue_spread(bar_.ts_end);
  bar_.spread_twa = spread_time_ > 0 ? spread_area_ / static_cast<double>(spread_time_)
                                     : std::numeric_limits<double>::quiet_NaN();
  out.push_back(bar_);
  ++stats_.bars_emitted;
  watermark_ = bar_.ts_end;
  open_ = false;
}

void QuoteBarAggregator::update(std::span<const Quote> quotes, std::vector<QuoteBar>& out) {
  const std::int64_t n = static_cast<std::int64_t>(quotes.size());
  const bool single = n == 1;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::int64_t i = 0; i < n; ++i) {
    const Quote& q = quotes[i];
    const std::int64_t row = single ? -1 : i;
    const bool has_bid = q.bid_price > 0.0, has_ask = q.ask_price > 0.0;
    const char* problem = nullptr;
    if (!(q.bid_price >= 0.0 && q.bid_price < kInf && q.ask_price >= 0.0 && q.ask_price < kInf))
      problem = "invalid quote price (NaN, infinite or negative)";
    else if (!(q.bid_size >= 0.0 && q.bid_size < kInf && q.ask_size >= 0.0 && q.ask_size < kInf))
      problem = "invalid quote size (NaN, infinite or negative)";
    else if (!has_bid && !has_ask)
      problem = "quote with neither bid nor ask";
    else if (has_bid && has_ask && q.bid_price > q.ask_price)
      problem = "crossed quote (bid above ask)";
    if (problem != nullptr) [[unlikely]] {
      if (config_.bad == BadDataPolicy::Raise)
        throw DataError(std::string(problem) + " at " + describe_ts(q.ts_event) +
                            " bid=" + std::to_string(q.bid_price) +
                            " ask=" + std::to_string(q.ask_price),
                        row);
      ++stats_.bad_skipped;
      continue;
    }
    if (open_ && q.ts_event >= bar_.ts_end) close_bar(out);
    if ((open_ && q.ts_event < bar_.ts_event) || (!open_ && q.ts_event < watermark_)) {
      // A late quote is stale book state: it never rewrites a bar (Amend counts as Drop).
      if (config_.late == LatePolicy::Raise)
        throw DataError("late quote at " + describe_ts(q.ts_event) + "; late='raise'", row);
      ++stats_.late_dropped;
      continue;
    }
    if (!open_) {
      const Bucket b = bucketer_.bucket_of(q.ts_event);
      if (!b.included) {
        ++stats_.outside_session;  // the book still moves
        if (has_bid) bid_ = q.bid_price;
        if (has_ask) ask_ = q.ask_price;
        continue;
      }
      bar_ = QuoteBar{};
      bar_.ts_event = b.start;
      bar_.ts_end = b.end;
      bar_.session = static_cast<std::uint8_t>(b.session);
      bar_.instrument_id = config_.instrument_id;
      bar_.bid_open = bar_.bid_high = bar_.bid_low = bar_.bid_close = bid_ > 0.0 ? bid_ : nan;
      bar_.ask_open = bar_.ask_high = bar_.ask_low = bar_.ask_close = ask_ > 0.0 ? ask_ : nan;
      bid_seen_ = bid_ > 0.0;
      ask_seen_ = ask_ > 0.0;
      spread_since_ = b.start;
      spread_area_ = 0.0;
      spread_time_ = 0;
      open_ = true;
    }
    accrue_spread(q.ts_event);
    // One side's OHLC and last size; the book price itself is kept in bid_/ask_.
    auto update_side = [](double price, double size, bool& seen, double& open, double& high,
                          double& low, double& close, double& last_size) {
      if (seen) {
        high = std::max(high, price);
        low = std::min(low, price);
      } else {
        open = high = low = price;
        seen = true;
      }
      close = price;
      last_size = size;
    };
    if (has_bid) {
      bid_ = q.bid_price;
      update_side(bid_, q.bid_size, bid_seen_, bar_.bid_open, bar_.bid_high, bar_.bid_low,
                  bar_.bid_close, bar_.bid_size);
    }
    if (has_ask) {
      ask_ = q.ask_price;
      update_side(ask_, q.ask_size, ask_seen_, bar_.ask_open, bar_.ask_high, bar_.ask_low,
                  bar_.ask_close, bar_.ask_size);
    }
    ++bar_.quote_count;
    ++stats_.accepted;
  }
}

void QuoteBarAggregator::on_clock(std::int64_t now, std::vector<QuoteBar>& out) {
  if (open_ && now >= bar_.ts_end) close_bar(out);
}

void QuoteBarAggregator::flush(std::vector<QuoteBar>& out, bool partial) {
  if (!open_) return;
  if (partial) bar_.flags |= kBarPartial;
  close_bar(out);
}

}  // namespace tradecore
