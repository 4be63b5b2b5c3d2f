#include <catch2/catch.hpp>

#include <tuple>

#include "tradecore/calendar.hpp"

using namespace tradecore;
using namespace tradecore::calendar;

namespace {
std::int64_t utc(int y, unsigned m, unsigned d, int hh, int mm) {
  return days_from_civil(y, m, d) * kDay + hh * kHour + mm * kMinute;
}
}  // namespace

TEST_CASE("daylight saving follows the 2007 US rules", "[calendar]") {
  // 2013: DST from Sunday 10 March 07:00 UTC to Sunday 3 November 06:00 UTC.
  CHECK_FALSE(is_dst(utc(2013, 3, 10, 6, 59)));
  CHECK(is_dst(utc(2013, 3, 10, 7, 0)));
  CHECK(is_dst(utc(2013, 11, 3, 5, 59)));
  CHECK_FALSE(is_dst(utc(2013, 11, 3, 6, 0)));
  CHECK(ny_offset(utc(2013, 10, 7, 12, 0)) == -4 * kHour);
  CHECK(ny_offset(utc(2013, 12, 2, 12, 0)) == -5 * kHour);
}

TEST_CASE("daylight saving follows the 1987-2006 US rules", "[calendar]") {
  // 2006: first Sunday of April (2 April) to last Sunday of October (29 October).
  CHECK_FALSE(is_dst(utc(2006, 4, 2, 6, 59)));
  CHECK(is_dst(utc(2006, 4, 2, 7, 0)));
  CHECK(is_dst(utc(2006, 10, 29, 5, 59)));
  CHECK_FALSE(is_dst(utc(2006, 10, 29, 6, 0)));
  CHECK_FALSE(is_dst(utc(2006, 3, 15, 12, 0)));  // would be DST under the 2007 rules
}

TEST_CASE("sessions are classified in New York time", "[calendar]") {
  // 2008-03-07 is EST (UTC-5), 2008-03-10 is EDT (UTC-4): the SHY files straddle the change.
  CHECK(session_of(utc(2008, 3, 7, 14, 29)) == Session::Premarket);
  CHECK(session_of(utc(2008, 3, 7, 14, 30)) == Session::Regular);
  CHECK(session_of(utc(2008, 3, 10, 13, 30)) == Session::Regular);
  CHECK(session_of(utc(2008, 3, 10, 13, 29)) == Session::Premarket);
  CHECK(session_of(utc(2013, 10, 7, 7, 59)) == Session::Overnight);
  CHECK(session_of(utc(2013, 10, 7, 8, 0)) == Session::Premarket);
  CHECK(session_of(utc(2013, 10, 7, 20, 0)) == Session::AfterHours);
  CHECK(session_of(utc(2013, 10, 8, 0, 0)) == Session::Overnight);
}

TEST_CASE("local and UTC conversions round-trip around session times", "[calendar]") {
  for (int day : {7, 8}) {
    const std::int64_t local_open = days_from_civil(2013, 10, day) * kDay + kRegularOpen;
    CHECK(to_local(to_utc(local_open)) == local_open);
  }
  const std::int64_t winter = days_from_civil(2013, 12, 2) * kDay + kPremarketOpen;
  CHECK(to_utc(winter) == utc(2013, 12, 2, 9, 0));
  CHECK(local_day(utc(2013, 10, 8, 3, 0)) == days_from_civil(2013, 10, 7));
  CHECK(weekday(days_from_civil(2026, 11, 26)) == 4);  // a Thursday
}

TEST_CASE("early-close days end the regular session at 13:00 and after-hours at 17:00", "[calendar]") {
  // Day after Thanksgiving 2013 (Friday 29 November, EST): 13:00 New York = 18:00 UTC.
  CHECK(is_early_close(days_from_civil(2013, 11, 29)));
  CHECK(session_of(utc(2013, 11, 29, 17, 59)) == Session::Regular);
  CHECK(session_of(utc(2013, 11, 29, 18, 0)) == Session::AfterHours);
  CHECK(session_of(utc(2013, 11, 29, 21, 59)) == Session::AfterHours);
  CHECK(session_of(utc(2013, 11, 29, 22, 0)) == Session::Overnight);  // 17:00 New York
  // The Friday after a Thursday that is not the fourth is a normal day.
  CHECK_FALSE(is_early_close(days_from_civil(2013, 11, 22)));
  CHECK(session_of(utc(2013, 11, 22, 18, 0)) == Session::Regular);
  // July 3 (EDT) and December 24 only Monday to Thursday; a Friday is the observed holiday.
  CHECK(is_early_close(days_from_civil(2024, 7, 3)));              // Wednesday
  CHECK(session_of(utc(2024, 7, 3, 17, 0)) == Session::AfterHours);  // 13:00 EDT
  CHECK_FALSE(is_early_close(days_from_civil(2020, 7, 3)));        // Friday: closed
  CHECK(is_early_close(days_from_civil(2024, 12, 24)));            // Tuesday
  CHECK_FALSE(is_early_close(days_from_civil(2021, 12, 24)));      // Friday: closed
  CHECK_FALSE(is_early_close(days_from_civil(2022, 12, 24)));      // Saturday
  CHECK(is_early_close(days_from_civil(2026, 11, 27)));
  CHECK_FALSE(is_early_close(days_from_civil(2026, 11, 26)));  // Thanksgiving itself
  std::int64_t start = 0, end = 0;
  session_range(days_from_civil(2026, 11, 27), 14 * kHour, start, end);
  CHECK(start == kEarlyRegularClose);
  CHECK(end == kEarlyAfterHoursClose);
  session_range(days_from_civil(2026, 11, 27), 18 * kHour, start, end);
  CHECK(start == kEarlyAfterHoursClose);
  CHECK(end == kDay);
}

TEST_CASE("year, month and day come back from a day count", "[calendar]") {
  for (auto [y, m, d] : {std::tuple{2024, 2u, 29u}, {2023, 12, 31}, {1970, 1, 1}, {1969, 12, 31}}) {
    std::int64_t year = 0;
    unsigned month = 0, day = 0;
    civil_from_days(days_from_civil(y, m, d), year, month, day);
    CHECK(year == y);
    CHECK(month == m);
    CHECK(day == d);
  }
}
