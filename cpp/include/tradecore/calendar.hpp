#pragma once
/// US-equity session calendar in America/New_York, computed from UTC nanoseconds with the US
/// daylight-saving rules (no tz database: the core reads no files). Rules: from 2007 DST runs
/// from the second Sunday of March to the first Sunday of November; 1987-2006 from the first
/// Sunday of April to the last Sunday of October. Changes happen at 02:00 local time.
///
/// Sessions: premarket 04:00-09:30, regular 09:30-16:00, after-hours 16:00-20:00, else
/// overnight. On the NYSE's early-close days the regular session ends at 13:00 and after-hours
/// at 17:00: the day after Thanksgiving, and July 3 and December 24 when they fall Monday to
/// Thursday (Friday is the observed holiday). The rules agree with exchange_calendars' XNYS
/// for 2004-2035 (tested); before 2004 a few days differed. Holidays are not modelled: a closed
/// day simply has no data.
#include <cstddef>
#include <cstdint>

#include "tradecore/schema.hpp"

namespace tradecore::calendar {

inline constexpr std::int64_t kSecond = 1'000'000'000LL;
inline constexpr std::int64_t kMinute = 60 * kSecond;
inline constexpr std::int64_t kHour = 60 * kMinute;
inline constexpr std::int64_t kDay = 24 * kHour;

/// Session boundaries as time of day (ns after local midnight).
inline constexpr std::int64_t kPremarketOpen = 4 * kHour;
inline constexpr std::int64_t kRegularOpen = 9 * kHour + 30 * kMinute;
inline constexpr std::int64_t kRegularClose = 16 * kHour;
inline constexpr std::int64_t kAfterHoursClose = 20 * kHour;
inline constexpr std::int64_t kEarlyRegularClose = 13 * kHour;
inline constexpr std::int64_t kEarlyAfterHoursClose = 17 * kHour;

/// floor division for possibly negative timestamps.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// Year, month (1-12) and day of month of a day count since 1970-01-01 (civil_from_days).
constexpr void civil_from_days(std::int64_t z, std::int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2);
}

/// Year of a day count since 1970-01-01.
constexpr std::int64_t year_from_days(std::int64_t z) {
  std::int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(z, year, month, day);
  return year;
}

/// Weekday of a day count, 0 = Sunday.
constexpr unsigned weekday(std::int64_t days) {
  return static_cast<unsigned>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

/// Day count of the n-th (1-based) Sunday of a month, or the last one when n == 0.
constexpr std::int64_t nth_sunday(std::int64_t year, unsigned month, unsigned n) {
  if (n == 0) {
    const std::int64_t next_first = month == 12 ? days_from_civil(year + 1, 1, 1)
                                                : days_from_civil(year, month + 1, 1);
    const std::int64_t last = next_first - 1;
    return last - weekday(last);
  }
  const std::int64_t first = days_from_civil(year, month, 1);
  const std::int64_t first_sunday = first + (7 - weekday(first)) % 7;
  return first_sunday + 7 * (n - 1);
}

/// True when New York observes daylight time at this UTC instant.
constexpr bool is_dst(std::int64_t utc_ns) {
  const std::int64_t days = floor_div(utc_ns, kDay);
  const std::int64_t year = year_from_days(days);
  if (year < 1987) return false;  // older rules are out of scope for market data here
  std::int64_t start_day, end_day;
  if (year >= 2007) {
    start_day = nth_sunday(year, 3, 2);
    end_day = nth_sunday(year, 11, 1);
  } else {
    start_day = nth_sunday(year, 4, 1);
    end_day = nth_sunday(year, 10, 0);
  }
  // 02:00 EST = 07:00 UTC; 02:00 EDT = 06:00 UTC.
  const std::int64_t start = start_day * kDay + 7 * kHour;
  const std::int64_t end = end_day * kDay + 6 * kHour;
  return utc_ns >= start && utc_ns < end;
}

/// New York's offset from UTC at this instant, in ns (-4h or -5h).
constexpr std::int64_t ny_offset(std::int64_t utc_ns) { return is_dst(utc_ns) ? -4 * kHour : -5 * kHour; }

/// New York local wall-clock time, as ns since the local epoch.
constexpr std::int64_t to_local(std::int64_t utc_ns) { return utc_ns + ny_offset(utc_ns); }

/// UTC instant of a New York wall-clock time (for times that do not fall in the skipped or
/// repeated hour at a DST change, which no session boundary does).
constexpr std::int64_t to_utc(std::int64_t local_ns) {
  const std::int64_t as_standard = local_ns + 5 * kHour;
  return is_dst(as_standard - kHour) ? local_ns + 4 * kHour : as_standard;
}

/// Whether the NYSE closes at 13:00 on this New York date (days since 1970-01-01).
constexpr bool is_early_close(std::int64_t local_day) {
  std::int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(local_day, year, month, day);
  const unsigned wd = weekday(local_day);  // 0 = Sunday
  if ((month == 7 && day == 3) || (month == 12 && day == 24)) return wd >= 1 && wd <= 4;
  if (month == 11 && wd == 5) {  // the day after the fourth Thursday
    const std::int64_t first = days_from_civil(year, 11, 1);
    const std::int64_t first_thursday = first + (4 + 7 - weekday(first)) % 7;
    return local_day == first_thursday + 22;
  }
  return false;
}

/// Session boundaries of one New York date, as time of day.
struct SessionHours {
  std::int64_t premarket_open = kPremarketOpen;
  std::int64_t regular_open = kRegularOpen;
  std::int64_t regular_close = kRegularClose;
  std::int64_t after_hours_close = kAfterHoursClose;
};

constexpr SessionHours session_hours(std::int64_t local_day) {
  SessionHours h;
  if (is_early_close(local_day)) {
    h.regular_close = kEarlyRegularClose;
    h.after_hours_close = kEarlyAfterHoursClose;
  }
  return h;
}

/// Session of a New York time of day (ns after local midnight) on a given date.
constexpr Session session_of_local(std::int64_t local_day, std::int64_t tod) {
  const SessionHours h = session_hours(local_day);
  if (tod < h.premarket_open) return Session::Overnight;
  if (tod < h.regular_open) return Session::Premarket;
  if (tod < h.regular_close) return Session::Regular;
  if (tod < h.after_hours_close) return Session::AfterHours;
  return Session::Overnight;
}

/// [start, end) time of day of the session containing `tod` on a New York date.
constexpr void session_range(std::int64_t local_day, std::int64_t tod, std::int64_t& start,
                             std::int64_t& end) {
  const SessionHours h = session_hours(local_day);
  const std::int64_t edges[] = {0, h.premarket_open, h.regular_open, h.regular_close,
                                h.after_hours_close, kDay};
  std::size_t i = 1;
  while (i < 5 && tod >= edges[i]) ++i;
  start = edges[i - 1];
  end = edges[i];
}

/// Session of a UTC instant.
constexpr Session session_of(std::int64_t utc_ns) {
  const std::int64_t local = to_local(utc_ns);
  const std::int64_t day = floor_div(local, kDay);
  return session_of_local(day, local - day * kDay);
}

/// Local trading date of a UTC instant, as days since 1970-01-01 (New York calendar date).
constexpr std::int64_t local_day(std::int64_t utc_ns) { return floor_div(to_local(utc_ns), kDay); }

/// Local time of day of a UTC instant, ns after New York midnight.
constexpr std::int64_t time_of_day(std::int64_t utc_ns) {
  const std::int64_t local = to_local(utc_ns);
  return local - floor_div(local, kDay) * kDay;
}

}  // namespace tradecore::calendar
