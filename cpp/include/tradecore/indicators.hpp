#pragma once
/// Streaming indicators with O(1) updates.
///
/// Every indicator owns its buffers and exposes the same shape:
///   - `update(...)`: feed one observation (bar-based ones take high, low, close[, volume];
///     VWAP and RelativeVolume take ts_event, int64 ns UTC, first);
///   - `value()` or named outputs; `initialized()`; `reset()`; `count()` (updates accepted).
///
/// Outputs read before `initialized()` is true are unspecified (the Python `run()` writes NaN
/// there).
///
/// Bad input: `update` validates before it touches any state. A non-finite input (NaN, +-inf),
/// a negative volume, high < low, or a timestamp going backwards throws `tradecore::DataError`
/// (row -1) and leaves the indicator exactly as it was, so the caller may skip the event and go
/// on. `run_batch` turns that into a DataError carrying the row index; every row before it is
/// applied. The checks are one compare per input (`std::isfinite`), off the dependency chain.
///
/// Seeding follows TA-Lib (the reference the tests compare against) unless a comment says
/// otherwise; the differences are documented on the class.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tradecore/calendar.hpp"
#include "tradecore/error.hpp"

namespace tradecore::indicators {

/// Largest accepted look-back period: buffers are allocated up front.
inline constexpr int kMaxPeriod = 1'000'000;

namespace detail {

/// Out of line so the throwing code stays out of the inlined hot paths.
[[noreturn]] void throw_non_finite(const char* indicator, const char* input, double x);
[[noreturn]] void throw_data_error(const char* indicator, const std::string& message);
void check_period(const char* indicator, const char* name, int period, int minimum = 1);

inline void require_finite(const char* indicator, const char* input, double x) {
  if (!std::isfinite(x)) [[unlikely]]
    throw_non_finite(indicator, input, x);
}

inline void require_bar(const char* indicator, double high, double low, double close) {
  require_finite(indicator, "high", high);
  require_finite(indicator, "low", low);
  require_finite(indicator, "close", close);
  if (high < low) [[unlikely]]
    throw_data_error(indicator, "high " + std::to_string(high) + " < low " + std::to_string(low));
}

inline void require_volume(const char* indicator, double volume) {
  require_finite(indicator, "volume", volume);
  if (volume < 0) [[unlikely]]
    throw_data_error(indicator, "negative volume " + std::to_string(volume));
}

/// Fixed-capacity ring of the last `capacity` values. `push` returns the value it evicts
/// (0 while the ring is filling), which is what every rolling sum needs.
class Ring {
 public:
  explicit Ring(int capacity) : buf_(static_cast<std::size_t>(capacity), 0.0) {}
  double push(double x) {
    const double old = buf_[pos_];
    buf_[pos_] = x;
    if (++pos_ == buf_.size()) pos_ = 0;
    if (size_ < buf_.size()) ++size_;
    return old;
  }
  /// The value pushed `lag` pushes ago (0 = newest). Requires lag < size().
  double back(std::size_t lag) const {
    const std::size_t i = pos_ + buf_.size() - 1 - lag;
    return buf_[i >= buf_.size() ? i - buf_.size() : i];
  }
  /// The oldest value (the one the next push evicts when full).
  double front() const { return buf_[size_ < buf_.size() ? 0 : pos_]; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return buf_.size(); }
  bool full() const { return size_ == buf_.size(); }
  /// Position of the next write; 0 after each full turn.
  std::size_t position() const { return pos_; }
  const std::vector<double>& data() const { return buf_; }
  void clear() {
    std::fill(buf_.begin(), buf_.end(), 0.0);
    pos_ = size_ = 0;
  }

 private:
  std::vector<double> buf_;
  std::size_t pos_ = 0;
  std::size_t size_ = 0;
};

/// Sliding-window extreme by monotonic deque: amortised O(1), each value enters and leaves once.
/// `Greater` true tracks the maximum, false the minimum. Ties keep the newest (so the front
/// leaves as late as possible). The deque lives in a power-of-two ring so wrapping is a mask.
///
/// Short windows (period <= kScanLimit) are scanned instead: a branch-free max over a ring
/// pre-filled with -inf/+inf beats the deque's data-dependent branches, which mispredict about
/// half the time on prices (measured: 9.5 ns -> ~3 ns for period 5..20).
template <bool Greater>
class MonotonicWindow {
 public:
  static constexpr int kScanLimit = 32;
  explicit MonotonicWindow(int period)
      : period_(period),
        mask_(std::bit_ceil(static_cast<std::size_t>(period)) - 1),
        slots_(period > kScanLimit ? mask_ + 1 : 0),
        scan_(period <= kScanLimit ? static_cast<std::size_t>(period) : 0, kEmpty) {}
  /// Add the value at position `t` (consecutive integers) and return the extreme of the last
  /// `period` values.
  double push(std::int64_t t, double x) {
    if (!scan_.empty()) {
      scan_[scan_pos_] = x;
      if (++scan_pos_ == scan_.size()) scan_pos_ = 0;
      last_t_ = t;
      double e = scan_[0];
      for (std::size_t i = 1; i < scan_.size(); ++i) e = Greater ? std::max(e, scan_[i]) : std::min(e, scan_[i]);
      return scan_extreme_ = e;
    }
    // Drop from the back everything the new value dominates.
    while (tail_ != head_) {
      const Slot& last = slots_[(tail_ - 1) & mask_];
      if (Greater ? last.value <= x : last.value >= x) {
        --tail_;
      } else {
        break;
      }
    }
    // At most one value expires per push (positions are consecutive).
    if (tail_ != head_ && slots_[head_ & mask_].index <= t - period_) ++head_;
    slots_[tail_ & mask_] = Slot{t, x};
    ++tail_;
    return slots_[head_ & mask_].value;
  }
  double extreme() const { return scan_.empty() ? slots_[head_ & mask_].value : scan_extreme_; }
  /// Position (the `t` given to push) of the current extreme; the newest on ties. O(period) for
  /// scanned windows (a query, not the update path).
  std::int64_t extreme_index() const {
    if (scan_.empty()) return slots_[head_ & mask_].index;
    for (std::size_t lag = 0; lag < scan_.size(); ++lag) {
      const std::size_t i = (scan_pos_ + scan_.size() - 1 - lag) % scan_.size();
      if (scan_[i] == scan_extreme_) return last_t_ - static_cast<std::int64_t>(lag);
    }
    return last_t_;
  }
  void clear() {
    head_ = tail_ = 0;
    std::fill(scan_.begin(), scan_.end(), kEmpty);
    scan_pos_ = 0;
    last_t_ = -1;
    scan_extreme_ = kEmpty;
  }

 private:
  static constexpr double kEmpty =
      Greater ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  struct Slot {
    std::int64_t index;
    double value;
  };
  std::int64_t period_;
  std::size_t mask_;
  std::vector<Slot> slots_;
  std::vector<double> scan_;
  std::size_t scan_pos_ = 0;
  std::int64_t last_t_ = -1;
  double scan_extreme_ = kEmpty;
  std::size_t head_ = 0;  // free-running counters; the slot is counter & mask
  std::size_t tail_ = 0;
};

/// New York date and time of day of non-decreasing UTC timestamps, with the UTC offset cached
/// until the next local midnight (or the next whole UTC hour on a daylight-saving change day),
/// so the per-update cost is a compare instead of the calendar arithmetic.
class LocalClock {
 public:
  /// Move to `ts`; returns true when the local date changed (or on the first call).
  bool advance(std::int64_t ts) {
    if (ts >= valid_from_ && ts < valid_to_) [[likely]]
      return false;
    const std::int64_t old_day = day_;
    offset_ = calendar::ny_offset(ts);
    day_ = calendar::floor_div(ts + offset_, calendar::kDay);
    valid_from_ = day_ * calendar::kDay - offset_;
    valid_to_ = (day_ + 1) * calendar::kDay - offset_;
    if (calendar::ny_offset(valid_to_ - 1) != offset_ || calendar::ny_offset(valid_from_) != offset_) {
      // A DST change day: the offset changes at a whole UTC hour; cache one hour at a time.
      valid_from_ = calendar::floor_div(ts, calendar::kHour) * calendar::kHour;
      valid_to_ = valid_from_ + calendar::kHour;
    }
    return day_ != old_day;
  }
  std::int64_t day() const { return day_; }
  std::int64_t time_of_day(std::int64_t ts) const { return ts + offset_ - day_ * calendar::kDay; }
  void reset() { *this = LocalClock{}; }

 private:
  std::int64_t offset_ = 0;
  std::int64_t day_ = std::numeric_limits<std::int64_t>::min();
  std::int64_t valid_from_ = 0;
  std::int64_t valid_to_ = 0;
};

}  // namespace detail

// ------------------------------------------------------------------------------------------
// Moving averages
// ------------------------------------------------------------------------------------------

/// Exponential moving average, alpha = 2 / (period + 1). Seeded like TA-Lib: the first value is
/// the simple mean of the first `period` inputs (initialized after `period` updates).
class EMA {
 public:
  explicit EMA(int period) : period_(period) {
    detail::check_period("EMA", "period", period);
    alpha_ = 2.0 / (period + 1.0);
    decay_ = 1.0 - alpha_;
  }
  void update(double x) {
    detail::require_finite("EMA", "value", x);
    if (count_ >= period_) [[likely]] {
      // One fused multiply-add on the dependency chain: alpha*x is off the chain.
      value_ = std::fma(decay_, value_, alpha_ * x);
    } else {
      sum_ += x;
      if (count_ + 1 == period_) value_ = sum_ / period_;
    }
    ++count_;
  }
  double value() const { return value_; }
  bool initialized() const { return count_ >= period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  double alpha() const { return alpha_; }
  void reset() {
    value_ = sum_ = 0.0;
    count_ = 0;
  }

 private:
  int period_;
  double alpha_, decay_;
  double value_ = 0.0;
  double sum_ = 0.0;
  std::int64_t count_ = 0;
};

/// Simple moving average over the last `period` inputs. A running sum in TA-Lib's order (add
/// the new value, divide, then drop the value that leaves next), so results agree bit for bit.
class SMA {
 public:
  explicit SMA(int period)
      : period_((detail::check_period("SMA", "period", period), period)), window_(period) {}
  void update(double x) {
    detail::require_finite("SMA", "value", x);
    sum_ += x;
    window_.push(x);
    if (++count_ >= period_) {
      value_ = sum_ / period_;
      sum_ -= window_.front();
    }
  }
  double value() const { return value_; }
  bool initialized() const { return count_ >= period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    window_.clear();
    sum_ = value_ = 0.0;
    count_ = 0;
  }

 private:
  int period_;
  detail::Ring window_;
  double sum_ = 0.0;
  double value_ = 0.0;
  std::int64_t count_ = 0;
};

/// Weighted moving average, weights 1..period (newest heaviest). O(1) with TA-Lib's two
/// running sums (weighted and plain).
class WMA {
 public:
  explicit WMA(int period)
      : period_((detail::check_period("WMA", "period", period), period)),
        divider_(period * (period + 1.0) / 2.0),
        window_(period) {}
  void update(double x) {
    detail::require_finite("WMA", "value", x);
    if (count_ + 1 < period_) {
      weighted_ += x * static_cast<double>(count_ + 1);
      plain_ += x;
    } else {
      // The value leaving is the one pushed `period` updates ago (0 while filling up).
      const double trailing = window_.full() ? window_.front() : 0.0;
      plain_ += x;
      plain_ -= trailing;
      weighted_ += x * period_;
      value_ = weighted_ / divider_;
      weighted_ -= plain_;
    }
    window_.push(x);
    ++count_;
  }
  double value() const { return value_; }
  bool initialized() const { return count_ >= period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    window_.clear();
    weighted_ = plain_ = value_ = 0.0;
    count_ = 0;
  }

 private:
  int period_;
  double divider_;
  detail::Ring window_;
  double weighted_ = 0.0;
  double plain_ = 0.0;
  double value_ = 0.0;
  std::int64_t count_ = 0;
};

// ------------------------------------------------------------------------------------------
// Dispersion
// ------------------------------------------------------------------------------------------

/// Rolling mean and population variance of the last `period` inputs.
///
/// Not TA-Lib's E[x^2] - E[x]^2 (which loses most digits on $170 prices moving by cents):
/// a sliding Welford update (mean and sum of squared deviations M2, adding the new value and
/// removing the evicted one in one step), re-computed exactly by two passes over the ring each
/// time it completes a turn so rounding cannot drift (2 flops per update amortised), and when
/// the variance collapses (an outlier, a split or a gap leaving the window) so the
/// cancellation cannot leave a residue. A window of identical values is exactly 0.
class RollingMoments {
 public:
  explicit RollingMoments(int period) : period_(period), window_(period) {}
  void update(double x) {
    // A window of identical values has exactly zero variance; the running M2 would keep a
    // rounding residue from earlier values (~1e-15 on $600 prices), so count the run.
    same_run_ = (x == last_) ? same_run_ + 1 : 1;
    last_ = x;
    if (!window_.full()) {
      const double n = static_cast<double>(window_.size() + 1);
      const double delta = x - mean_;
      mean_ += delta / n;
      m2_ += delta * (x - mean_);
      window_.push(x);
    } else {
      const double old = window_.push(x);
      const double old_mean = mean_;
      const double old_m2 = m2_;
      mean_ += (x - old) / period_;
      m2_ += (x - old) * ((x - mean_) + (old - old_mean));
      // Recompute each full turn (bounds drift), and at once when an outlier leaves the
      // window: M2 falling by 2^10 or more means the subtraction just lost 10 bits.
      if (window_.position() == 0 || m2_ < old_m2 * 0x1p-10) recompute();
    }
    if (m2_ < 0.0) m2_ = 0.0;
  }
  double mean() const { return mean_; }
  double variance() const {
    if (window_.size() == 0 || same_run_ >= window_.size()) return 0.0;
    return m2_ / static_cast<double>(window_.size());
  }
  bool full() const { return window_.full(); }
  void reset() {
    window_.clear();
    mean_ = m2_ = last_ = 0.0;
    same_run_ = 0;
  }

 private:
  void recompute() {
    const auto& v = window_.data();
    double s = 0.0;
    for (double x : v) s += x;
    const double m = s / period_;
    double ss = 0.0, c = 0.0;
    for (double x : v) {
      ss += (x - m) * (x - m);
      c += x - m;
    }
    mean_ = m + c / period_;
    m2_ = ss - c * c / period_;
  }
  int period_;
  detail::Ring window_;
  double mean_ = 0.0;
  double m2_ = 0.0;
  double last_ = 0.0;
  std::size_t same_run_ = 0;
};

/// Rolling population standard deviation of the last `period` inputs (TA-Lib STDDEV with
/// nbdev = 1). See RollingMoments for why it is more accurate than TA-Lib's.
class StandardDeviation {
 public:
  explicit StandardDeviation(int period)
      : period_((detail::check_period("StandardDeviation", "period", period), period)), moments_(period) {}
  void update(double x) {
    detail::require_finite("StandardDeviation", "value", x);
    moments_.update(x);
    ++count_;
  }
  double value() const { return std::sqrt(moments_.variance()); }
  double mean() const { return moments_.mean(); }
  bool initialized() const { return count_ >= period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    moments_.reset();
    count_ = 0;
  }

 private:
  int period_;
  RollingMoments moments_;
  std::int64_t count_ = 0;
};

/// Bollinger Bands: middle = SMA(period), upper/lower = middle +- num_std * population
/// standard deviation (TA-Lib BBANDS with matype SMA and nbdevup = nbdevdn = num_std).
class BollingerBands {
 public:
  BollingerBands(int period = 20, double num_std = 2.0)
      : period_((detail::check_period("BollingerBands", "period", period), period)),
        num_std_(check_num_std(num_std)),
        moments_(period) {}
  void update(double x) {
    detail::require_finite("BollingerBands", "value", x);
    moments_.update(x);
    ++count_;
  }
  double middle() const { return moments_.mean(); }
  double upper() const { return moments_.mean() + num_std_ * std::sqrt(moments_.variance()); }
  double lower() const { return moments_.mean() - num_std_ * std::sqrt(moments_.variance()); }
  double standard_deviation() const { return std::sqrt(moments_.variance()); }
  bool initialized() const { return count_ >= period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  double num_std() const { return num_std_; }
  void reset() {
    moments_.reset();
    count_ = 0;
  }

 private:
  static double check_num_std(double k) {
    if (!std::isfinite(k) || k < 0) throw ConfigError("BollingerBands: num_std must be finite and >= 0");
    return k;
  }
  int period_;
  double num_std_;
  RollingMoments moments_;
  std::int64_t count_ = 0;
};

// ------------------------------------------------------------------------------------------
// Momentum
// ------------------------------------------------------------------------------------------

/// Relative strength index with Wilder smoothing, seeded like TA-Lib: the average gain and loss
/// start as the simple means of the first `period` changes; the first value is at update
/// period + 1. When the window has no movement at all (average gain + loss == 0) the value is
/// 50 (neutral); TA-Lib returns 0 there (and for sums below 1e-8), which would read as
/// "oversold" on a halted or flat premarket stock.
class RSI {
 public:
  explicit RSI(int period = 14) : period_((detail::check_period("RSI", "period", period), period)) {}
  void update(double x) {
    detail::require_finite("RSI", "value", x);
    if (count_ == 0) {
      previous_ = x;
      ++count_;
      return;
    }
    const double change = x - previous_;
    previous_ = x;
    if (count_ <= period_) {
      if (change < 0) loss_ -= change; else gain_ += change;
      if (count_ == period_) {
        loss_ /= period_;
        gain_ /= period_;
      }
    } else {
      loss_ *= (period_ - 1);
      gain_ *= (period_ - 1);
      if (change < 0) loss_ -= change; else gain_ += change;
      loss_ /= period_;
      gain_ /= period_;
    }
    ++count_;
  }
  double value() const {
    const double total = gain_ + loss_;
    return total != 0.0 ? 100.0 * (gain_ / total) : 50.0;
  }
  double average_gain() const { return gain_; }
  double average_loss() const { return loss_; }
  bool initialized() const { return count_ > period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    gain_ = loss_ = previous_ = 0.0;
    count_ = 0;
  }

 private:
  int period_;
  double gain_ = 0.0, loss_ = 0.0, previous_ = 0.0;
  std::int64_t count_ = 0;
};

/// Rate of change in percent: 100 * (x / x[period ago] - 1), as TA-Lib ROC (0 when the old value
/// is 0). Initialized after period + 1 updates.
class RateOfChange {
 public:
  explicit RateOfChange(int period = 10)
      : period_((detail::check_period("RateOfChange", "period", period), period)), window_(period + 1) {}
  void update(double x) {
    detail::require_finite("RateOfChange", "value", x);
    window_.push(x);
    ++count_;
  }
  double value() const {
    const double old = window_.front();
    return old != 0.0 ? ((window_.back(0) / old) - 1.0) * 100.0 : 0.0;
  }
  bool initialized() const { return count_ > period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    window_.clear();
    count_ = 0;
  }

 private:
  int period_;
  detail::Ring window_;
  std::int64_t count_ = 0;
};

/// MACD: line = EMA(fast) - EMA(slow), signal = EMA(signal) of the line, histogram = line -
/// signal. Seeded exactly as TA-Lib's TA_INT_MACD so the outputs agree from the first one:
/// the slow EMA is seeded with the SMA of inputs [0, slow); the fast EMA is seeded at the same
/// index (slow - 1) with the SMA of the `fast` inputs ending there (TA-Lib drops the first
/// slow - fast inputs from the fast EMA so both start together); the signal EMA is seeded
/// with the SMA of the first `signal` line values. Everything is initialized after
/// slow + signal - 1 updates.
class MACD {
 public:
  MACD(int fast = 12, int slow = 26, int signal = 9)
      : fast_((detail::check_period("MACD", "fast", fast), fast)),
        slow_((detail::check_period("MACD", "slow", slow), slow)),
        signal_((detail::check_period("MACD", "signal", signal), signal)),
        fast_alpha_(2.0 / (fast + 1.0)),
        slow_alpha_(2.0 / (slow + 1.0)),
        signal_alpha_(2.0 / (signal + 1.0)),
        fast_window_(fast) {
    if (fast >= slow) throw ConfigError("MACD: fast (" + std::to_string(fast) + ") must be < slow (" +
                                        std::to_string(slow) + ")");
  }
  void update(double x) {
    detail::require_finite("MACD", "value", x);
    ++count_;
    if (count_ < slow_) {
      slow_sum_ += x;
      fast_window_.push(x);
      return;
    }
    if (count_ == slow_) {
      slow_sum_ += x;
      fast_window_.push(x);
      slow_ema_ = slow_sum_ / slow_;
      double s = 0.0;
      for (double v : fast_window_.data()) s += v;
      fast_ema_ = s / fast_;
    } else {
      fast_ema_ = ((x - fast_ema_) * fast_alpha_) + fast_ema_;
      slow_ema_ = ((x - slow_ema_) * slow_alpha_) + slow_ema_;
    }
    line_ = fast_ema_ - slow_ema_;
    const std::int64_t n = count_ - slow_ + 1;  // line values so far
    if (n < signal_) {
      signal_sum_ += line_;
    } else if (n == signal_) {
      signal_sum_ += line_;
      signal_value_ = signal_sum_ / signal_;
    } else {
      signal_value_ = ((line_ - signal_value_) * signal_alpha_) + signal_value_;
    }
  }
  double line() const { return line_; }
  double signal() const { return signal_value_; }
  double histogram() const { return line_ - signal_value_; }
  bool initialized() const { return count_ >= slow_ + signal_ - 1; }
  std::int64_t count() const { return count_; }
  void reset() {
    fast_window_.clear();
    slow_sum_ = signal_sum_ = fast_ema_ = slow_ema_ = line_ = signal_value_ = 0.0;
    count_ = 0;
  }

 private:
  int fast_, slow_, signal_;
  double fast_alpha_, slow_alpha_, signal_alpha_;
  detail::Ring fast_window_;
  double slow_sum_ = 0.0, signal_sum_ = 0.0;
  double fast_ema_ = 0.0, slow_ema_ = 0.0, line_ = 0.0, signal_value_ = 0.0;
  std::int64_t count_ = 0;
};

// ------------------------------------------------------------------------------------------
// Range and bar-based
// ------------------------------------------------------------------------------------------

/// Highest input over the last `period` updates (monotonic deque; TA-Lib MAX).
class Highest {
 public:
  explicit Highest(int period = 14)
      : period_((detail::check_period("Highest", "period", period), period)), window_(period) {}
  void update(double x) {
    detail::require_finite("Highest", "value", x);
    value_ = window_.push(count_, x);
    ++count_;
  }
  double value() const { return value_; }
  /// Updates since the highest value was seen (0 = the last one).
  std::int64_t bars_since() const { return count_ - 1 - window_.extreme_index(); }
  bool initialized() const { return count_ >= period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    window_.clear();
    value_ = 0.0;
    count_ = 0;
  }

 private:
  int period_;
  detail::MonotonicWindow<true> window_;
  double value_ = 0.0;
  std::int64_t count_ = 0;
};

/// Lowest input over the last `period` updates (monotonic deque; TA-Lib MIN).
class Lowest {
 public:
  explicit Lowest(int period = 14)
      : period_((detail::check_period("Lowest", "period", period), period)), window_(period) {}
  void update(double x) {
    detail::require_finite("Lowest", "value", x);
    value_ = window_.push(count_, x);
    ++count_;
  }
  double value() const { return value_; }
  std::int64_t bars_since() const { return count_ - 1 - window_.extreme_index(); }
  bool initialized() const { return count_ >= period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    window_.clear();
    value_ = 0.0;
    count_ = 0;
  }

 private:
  int period_;
  detail::MonotonicWindow<false> window_;
  double value_ = 0.0;
  std::int64_t count_ = 0;
};

/// True range of a bar given the previous close.
inline double true_range(double high, double low, double previous_close) {
  return std::max(high, previous_close) - std::min(low, previous_close);
}

/// Average true range, Wilder smoothing, seeded like TA-Lib: true range needs the previous
/// close so the first one is at update 2; the seed is the mean of the first `period` true
/// ranges and the first value comes at update period + 1.
class ATR {
 public:
  explicit ATR(int period = 14) : period_((detail::check_period("ATR", "period", period), period)) {}
  void update(double high, double low, double close) {
    detail::require_bar("ATR", high, low, close);
    if (count_ > 0) {
      const double tr = true_range(high, low, previous_close_);
      if (count_ <= period_) {
        sum_ += tr;
        if (count_ == period_) value_ = sum_ / period_;
      } else {
        value_ = (value_ * (period_ - 1) + tr) / period_;
      }
    }
    previous_close_ = close;
    ++count_;
  }
  double value() const { return value_; }
  bool initialized() const { return count_ > period_; }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    value_ = sum_ = previous_close_ = 0.0;
    count_ = 0;
  }

 private:
  int period_;
  double value_ = 0.0, sum_ = 0.0, previous_close_ = 0.0;
  std::int64_t count_ = 0;
};

/// On-balance volume. The first value is the first volume (TA-Lib OBV); then volume is added on
/// an up close, subtracted on a down close, ignored on an unchanged close.
class OBV {
 public:
  OBV() = default;
  void update(double close, double volume) {
    detail::require_finite("OBV", "close", close);
    detail::require_volume("OBV", volume);
    if (count_ == 0) {
      value_ = volume;
    } else if (close > previous_) {
      value_ += volume;
    } else if (close < previous_) {
      value_ -= volume;
    }
    previous_ = close;
    ++count_;
  }
  double value() const { return value_; }
  bool initialized() const { return count_ > 0; }
  std::int64_t count() const { return count_; }
  void reset() {
    value_ = previous_ = 0.0;
    count_ = 0;
  }

 private:
  double value_ = 0.0, previous_ = 0.0;
  std::int64_t count_ = 0;
};

/// Average directional index with +DI and -DI, reproducing TA-Lib's ta_ADX.c step by step:
/// +DM/-DM and TR are summed over the first period - 1 changes, then Wilder-smoothed
/// (s = s - s/period + new); DX values from update period + 1 to 2*period are averaged into the
/// first ADX (initialized after 2*period updates), then ADX = (ADX*(period-1) + DX)/period.
/// As TA-Lib, a DX is skipped when TR or +DI + -DI is below 1e-8.
class ADX {
 public:
  explicit ADX(int period = 14) : period_((detail::check_period("ADX", "period", period), period)) {}
  void update(double high, double low, double close) {
    detail::require_bar("ADX", high, low, close);
    if (count_ == 0) {
      previous_high_ = high;
      previous_low_ = low;
      previous_close_ = close;
      ++count_;
      return;
    }
    const double diff_plus = high - previous_high_;
    const double diff_minus = previous_low_ - low;
    const double tr = true_range(high, low, previous_close_);
    previous_high_ = high;
    previous_low_ = low;
    previous_close_ = close;
    double plus = 0.0, minus = 0.0;
    if (diff_minus > 0 && diff_plus < diff_minus) {
      minus = diff_minus;
    } else if (diff_plus > 0 && diff_plus > diff_minus) {
      plus = diff_plus;
    }
    if (count_ < period_) {  // changes 1 .. period-1: plain sums
      plus_dm_ += plus;
      minus_dm_ += minus;
      tr_ += tr;
      ++count_;
      return;
    }
    plus_dm_ = plus_dm_ - plus_dm_ / period_ + plus;
    minus_dm_ = minus_dm_ - minus_dm_ / period_ + minus;
    tr_ = tr_ - tr_ / period_ + tr;
    double dx = 0.0;
    bool has_dx = false;
    if (!is_zero(tr_)) {
      minus_di_ = 100.0 * (minus_dm_ / tr_);
      plus_di_ = 100.0 * (plus_dm_ / tr_);
      const double sum = minus_di_ + plus_di_;
      if (!is_zero(sum)) {
        dx = 100.0 * (std::fabs(minus_di_ - plus_di_) / sum);
        has_dx = true;
      }
    }
    if (count_ < 2 * static_cast<std::int64_t>(period_)) {  // changes period .. 2*period-1
      if (has_dx) sum_dx_ += dx;
      if (count_ == 2 * static_cast<std::int64_t>(period_) - 1) adx_ = sum_dx_ / period_;
    } else if (has_dx) {
      adx_ = ((adx_ * (period_ - 1)) + dx) / period_;
    }
    ++count_;
  }
  double value() const { return adx_; }
  double plus_di() const { return plus_di_; }
  double minus_di() const { return minus_di_; }
  bool initialized() const { return count_ >= 2 * static_cast<std::int64_t>(period_); }
  std::int64_t count() const { return count_; }
  int period() const { return period_; }
  void reset() {
    previous_high_ = previous_low_ = previous_close_ = 0.0;
    plus_dm_ = minus_dm_ = tr_ = sum_dx_ = adx_ = plus_di_ = minus_di_ = 0.0;
    count_ = 0;
  }

 private:
  static bool is_zero(double v) { return -1e-8 < v && v < 1e-8; }  // TA-Lib's TA_IS_ZERO
  int period_;
  double previous_high_ = 0.0, previous_low_ = 0.0, previous_close_ = 0.0;
  double plus_dm_ = 0.0, minus_dm_ = 0.0, tr_ = 0.0, sum_dx_ = 0.0, adx_ = 0.0;
  double plus_di_ = 0.0, minus_di_ = 0.0;
  std::int64_t count_ = 0;
};

/// Slow stochastic oscillator (TA-Lib STOCH with SMA smoothing): fast %K = 100 * (close -
/// lowest low) / (highest high - lowest low) over `fast_k_period` bars (0 when the range is
/// 0), slow %K = SMA(slow_k_period) of fast %K, slow %D = SMA(slow_d_period) of slow %K.
/// Initialized after fast_k + slow_k + slow_d - 2 updates.
class Stochastic {
 public:
  Stochastic(int fast_k_period = 5, int slow_k_period = 3, int slow_d_period = 3)
      : fast_k_period_((detail::check_period("Stochastic", "fast_k_period", fast_k_period), fast_k_period)),
        slow_k_period_((detail::check_period("Stochastic", "slow_k_period", slow_k_period), slow_k_period)),
        slow_d_period_((detail::check_period("Stochastic", "slow_d_period", slow_d_period), slow_d_period)),
        highest_(fast_k_period),
        lowest_(fast_k_period),
        fast_k_window_(slow_k_period),
        slow_k_window_(slow_d_period) {}
  void update(double high, double low, double close) {
    detail::require_bar("Stochastic", high, low, close);
    const double hh = highest_.push(count_, high);
    const double ll = lowest_.push(count_, low);
    ++count_;
    if (count_ < fast_k_period_) return;
    const double diff = (hh - ll) / 100.0;  // TA-Lib's order of operations
    const double fast_k = diff != 0.0 ? (close - ll) / diff : 0.0;
    // Running sums in TA-Lib's order (add, divide, then drop the oldest).
    fast_k_sum_ += fast_k;
    fast_k_sum_ -= fast_k_window_.full() ? fast_k_window_.front() : 0.0;
    fast_k_window_.push(fast_k);
    if (!fast_k_window_.full()) return;
    slow_k_ = fast_k_sum_ / slow_k_period_;
    slow_k_sum_ += slow_k_;
    slow_k_sum_ -= slow_k_window_.full() ? slow_k_window_.front() : 0.0;
    slow_k_window_.push(slow_k_);
    if (slow_k_window_.full()) slow_d_ = slow_k_sum_ / slow_d_period_;
  }
  double slow_k() const { return slow_k_; }
  double slow_d() const { return slow_d_; }
  bool initialized() const {
    return count_ >= static_cast<std::int64_t>(fast_k_period_) + slow_k_period_ + slow_d_period_ - 2;
  }
  std::int64_t count() const { return count_; }
  void reset() {
    highest_.clear();
    lowest_.clear();
    fast_k_window_.clear();
    slow_k_window_.clear();
    fast_k_sum_ = slow_k_sum_ = slow_k_ = slow_d_ = 0.0;
    count_ = 0;
  }

 private:
  int fast_k_period_, slow_k_period_, slow_d_period_;
  detail::MonotonicWindow<true> highest_;
  detail::MonotonicWindow<false> lowest_;
  detail::Ring fast_k_window_, slow_k_window_;
  double fast_k_sum_ = 0.0, slow_k_sum_ = 0.0, slow_k_ = 0.0, slow_d_ = 0.0;
  std::int64_t count_ = 0;
};

// ------------------------------------------------------------------------------------------
// Session-anchored (take ts_event, int64 ns UTC)
// ------------------------------------------------------------------------------------------

/// Where VWAP restarts.
enum class VWAPAnchor : std::uint8_t {
  Day = 0,      ///< at the first update of each New York calendar date
  Regular = 1,  ///< as Day, and again at the first update at or after 09:30 New York time
};

/// "day" or "regular" (ConfigError otherwise).
VWAPAnchor parse_vwap_anchor(const std::string& name);

/// Session-anchored volume-weighted average price with bands at +- band_multiplier x the
/// volume-weighted standard deviation of price around the VWAP. Weighted Welford update (West
/// 1979): no cancellation however far the price is from zero. Timestamps must not go
/// backwards (DataError). Updates with zero volume move nothing but time; the indicator is
/// initialized once the current anchor period has seen positive volume.
class VWAP {
 public:
  explicit VWAP(VWAPAnchor anchor = VWAPAnchor::Day, double band_multiplier = 2.0)
      : anchor_(anchor), band_multiplier_(check_multiplier(band_multiplier)) {}
  void update(std::int64_t ts_event, double price, double volume) {
    detail::require_finite("VWAP", "price", price);
    detail::require_volume("VWAP", volume);
    if (ts_event < last_ts_) [[unlikely]]
      detail::throw_data_error("VWAP", "ts_event " + std::to_string(ts_event) + " before the previous " +
                                           std::to_string(last_ts_));
    last_ts_ = ts_event;
    bool restart = clock_.advance(ts_event);
    if (anchor_ == VWAPAnchor::Regular) {
      const bool regular = clock_.time_of_day(ts_event) >= calendar::kRegularOpen;
      restart = restart || (regular && !in_regular_);
      in_regular_ = regular;
    }
    if (restart) weight_ = mean_ = m2_ = 0.0;
    if (volume > 0) {
      weight_ += volume;
      const double delta = price - mean_;
      mean_ += delta * (volume / weight_);
      m2_ += volume * delta * (price - mean_);
    }
    ++count_;
  }
  double value() const { return mean_; }
  double standard_deviation() const { return weight_ > 0 ? std::sqrt(std::max(m2_, 0.0) / weight_) : 0.0; }
  double upper() const { return mean_ + band_multiplier_ * standard_deviation(); }
  double lower() const { return mean_ - band_multiplier_ * standard_deviation(); }
  /// Volume accumulated since the anchor.
  double volume() const { return weight_; }
  bool initialized() const { return weight_ > 0; }
  std::int64_t count() const { return count_; }
  VWAPAnchor anchor() const { return anchor_; }
  double band_multiplier() const { return band_multiplier_; }
  void reset() {
    weight_ = mean_ = m2_ = 0.0;
    clock_.reset();
    in_regular_ = false;
    last_ts_ = std::numeric_limits<std::int64_t>::min();
    count_ = 0;
  }

 private:
  static double check_multiplier(double k) {
    if (!std::isfinite(k) || k < 0) throw ConfigError("VWAP: band_multiplier must be finite and >= 0");
    return k;
  }
  VWAPAnchor anchor_;
  double band_multiplier_;
  double weight_ = 0.0, mean_ = 0.0, m2_ = 0.0;
  detail::LocalClock clock_;
  bool in_regular_ = false;
  std::int64_t last_ts_ = std::numeric_limits<std::int64_t>::min();
  std::int64_t count_ = 0;
};

/// Relative volume: today's volume at a time of day against the average over the previous
/// `sessions` sessions at the same time of day (New York time, buckets of `bucket_ns`).
///
/// - per-bucket mode (cumulative = false): volume so far in the current bucket / mean volume of
///   that bucket over the prior sessions (a bucket with no updates in a session counts as 0);
/// - cumulative mode (true): volume since the start of today / mean over prior sessions of
///   the volume from their start to the end of the same bucket (what premarket scanners use).
///
/// A session is a New York calendar date with at least one update; days without updates
/// (weekends, holidays) are not sessions. Initialized once `sessions` prior sessions are
/// complete. A zero average gives +inf (or NaN if today's volume is also 0), by IEEE division.
/// Cost: O(1) per update; at each new session the finished profile is folded into the per-bucket
/// sums, O(buckets) once a session (1,440 additions for 1-minute buckets).
class RelativeVolume {
 public:
  explicit RelativeVolume(int sessions = 10, std::int64_t bucket_ns = calendar::kMinute, bool cumulative = false)
      : sessions_((detail::check_period("RelativeVolume", "sessions", sessions), sessions)),
        bucket_ns_(check_bucket(bucket_ns)),
        buckets_(static_cast<std::size_t>((calendar::kDay + bucket_ns - 1) / bucket_ns)),
        cumulative_(cumulative),
        history_(static_cast<std::size_t>(sessions) * buckets_, 0.0),
        history_sum_(buckets_, 0.0),
        today_(buckets_, 0.0) {}
  void update(std::int64_t ts_event, double volume) {
    detail::require_volume("RelativeVolume", volume);
    if (ts_event < last_ts_) [[unlikely]]
      detail::throw_data_error("RelativeVolume", "ts_event " + std::to_string(ts_event) +
                                                     " before the previous " + std::to_string(last_ts_));
    last_ts_ = ts_event;
    if (clock_.advance(ts_event)) {
      if (started_) finish_session();
      started_ = true;
      bucket_ = 0;
      bucket_start_ = 0;
      total_ = 0.0;
    }
    // Buckets only move forward: step to the next one without a division when we can.
    const std::int64_t tod = clock_.time_of_day(ts_event);
    std::size_t bucket = bucket_;
    if (tod >= bucket_start_ + bucket_ns_) {
      if (tod < bucket_start_ + 2 * bucket_ns_) {
        ++bucket;
        bucket_start_ += bucket_ns_;
      } else {
        bucket = static_cast<std::size_t>(tod / bucket_ns_);
        bucket_start_ = static_cast<std::int64_t>(bucket) * bucket_ns_;
      }
    }
    total_ += volume;
    if (cumulative_) {
      // Forward-fill the cumulative profile over buckets that had no updates.
      const double before = total_ - volume;
      for (std::size_t b = bucket_; b < bucket; ++b) today_[b] = before;
      today_[bucket] = total_;
      current_ = total_;
    } else {
      today_[bucket] += volume;
      current_ = today_[bucket];
    }
    bucket_ = bucket;
    ++count_;
  }
  double value() const { return current_ / average(); }
  /// Mean over the prior sessions for the current bucket (per-bucket or cumulative).
  double average() const { return history_sum_[bucket_] / sessions_; }
  /// Today's volume in the current bucket (per-bucket mode) or since the start of the day.
  double current() const { return current_; }
  bool initialized() const { return completed_ >= sessions_; }
  std::int64_t count() const { return count_; }
  std::int64_t sessions_completed() const { return completed_; }
  int sessions() const { return sessions_; }
  std::int64_t bucket_ns() const { return bucket_ns_; }
  bool cumulative() const { return cumulative_; }
  void reset() {
    std::fill(history_.begin(), history_.end(), 0.0);
    std::fill(history_sum_.begin(), history_sum_.end(), 0.0);
    std::fill(today_.begin(), today_.end(), 0.0);
    clock_.reset();
    started_ = false;
    bucket_start_ = 0;
    last_ts_ = std::numeric_limits<std::int64_t>::min();
    bucket_ = 0;
    slot_ = 0;
    completed_ = count_ = 0;
    total_ = current_ = 0.0;
  }

 private:
  static std::int64_t check_bucket(std::int64_t bucket_ns) {
    if (bucket_ns < calendar::kSecond || bucket_ns > calendar::kDay)
      throw ConfigError("RelativeVolume: bucket_ns must be between 1 second and 1 day, got " +
                        std::to_string(bucket_ns));
    return bucket_ns;
  }
  void finish_session() {
    if (cumulative_)
      for (std::size_t b = bucket_ + 1; b < buckets_; ++b) today_[b] = total_;
    double* oldest = history_.data() + slot_ * buckets_;
    for (std::size_t b = 0; b < buckets_; ++b) {
      // Subtract before adding: the sums stay exact for integer share volumes below 2^53.
      history_sum_[b] += today_[b] - oldest[b];
      oldest[b] = today_[b];
      today_[b] = 0.0;
    }
    slot_ = slot_ + 1 == static_cast<std::size_t>(sessions_) ? 0 : slot_ + 1;
    ++completed_;
  }
  int sessions_;
  std::int64_t bucket_ns_;
  std::size_t buckets_;
  bool cumulative_;
  std::vector<double> history_;      // [sessions][buckets] ring of finished sessions' profiles
  std::vector<double> history_sum_;  // per bucket, sum over the ring
  std::vector<double> today_;        // today's profile so far
  detail::LocalClock clock_;
  bool started_ = false;
  std::int64_t bucket_start_ = 0;  // time of day where the current bucket starts
  std::int64_t last_ts_ = std::numeric_limits<std::int64_t>::min();
  std::size_t bucket_ = 0;
  std::size_t slot_ = 0;
  std::int64_t completed_ = 0;
  std::int64_t count_ = 0;
  double total_ = 0.0, current_ = 0.0;
};

// ------------------------------------------------------------------------------------------
// Batch driver
// ------------------------------------------------------------------------------------------

/// Feed rows [0, n) through `step(i)` (which calls the indicator's update and writes outputs),
/// re-throwing a DataError with the row index. Rows before the bad one stay applied.
template <class Step>
void run_batch(std::size_t n, Step&& step) {
  std::size_t i = 0;
  try {
    for (; i < n; ++i) step(i);
  } catch (const DataError& e) {
    throw DataError(e.what(), static_cast<std::int64_t>(i));
  }
}

}  // namespace tradecore::indicators
