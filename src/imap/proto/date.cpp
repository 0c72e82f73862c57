// imap/proto/date: IMAP dates (RFC 9051 9 date, date-time; RFC 3501 the same).
//
// date-time carries a zone and becomes unix seconds; a search date has none (RFC 9051 6.4.4 compares
// dates "disregarding time and timezone") and stays a calendar day, YYYYMMDD. Calendar arithmetic is
// done here rather than with timegm()/gmtime_r(), which depend on the C library and time_t width.
#include <cstdio>

#include "imap/proto/detail.hpp"
#include "imap/proto/proto.hpp"

namespace tern::imap::proto {
namespace {

constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  std::int64_t yoe = y - era * 400;
  std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, int& m, int& d) {
  z += 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

// n decimal digits at s[pos]; false unless all are digits.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!detail::is_digit(s[pos + i])) return false;
    out = out * 10 + (s[pos + i] - '0');
  }
  return true;
}

struct Day {
  int y = 0, m = 0, d = 0;
};

// date-day "-" date-month "-" date-year, the day as 1 or 2 digits or (date-day-fixed) SP DIGIT.
// Returns the length read, 0 when invalid.
std::size_t read_day(std::string_view s, Day& out) {
  std::size_t i = 0;
  if (!s.empty() && s[0] == ' ') i = 1;
  std::size_t start = i;
  while (i < s.size() && i - start < 2 && detail::is_digit(s[i])) ++i;
  if (i == start || (start == 1 && i - start != 1)) return 0;
  if (!digits(s, start, i - start, out.d)) return 0;
  if (i + 9 > s.size() || s[i] != '-' || s[i + 4] != '-') return 0;
  std::string_view mon = s.substr(i + 1, 3);
  out.m = 0;
  for (int k = 0; k < 12; ++k)
    if (detail::iequals(mon, month_names[k])) out.m = k + 1;
  if (!out.m || !digits(s, i + 5, 4, out.y)) return 0;
  if (out.d < 1 || out.d > days_in_month(out.y, out.m)) return 0;
  return i + 9;
}

}  // namespace

std::optional<std::int64_t> parse_date(std::string_view s) {
  Day d;
  std::size_t n = read_day(s, d);
  if (n == 0 || n != s.size()) return std::nullopt;
  return std::int64_t{d.y} * 10000 + d.m * 100 + d.d;
}

std::optional<std::int64_t> parse_date_time(std::string_view s) {
  // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
  Day d;
  std::size_t n = read_day(s, d);
  if (n == 0) return std::nullopt;
  std::string_view rest = s.substr(n);  // " hh:mm:ss +zzzz"
  int hh = 0, mm = 0, ss = 0, zh = 0, zm = 0;
  if (rest.size() != 15 || rest[0] != ' ' || rest[3] != ':' || rest[6] != ':' || rest[9] != ' ' ||
      (rest[10] != '+' && rest[10] != '-'))
    return std::nullopt;
  if (!digits(rest, 1, 2, hh) || !digits(rest, 4, 2, mm) || !digits(rest, 7, 2, ss) || !digits(rest, 11, 2, zh) ||
      !digits(rest, 13, 2, zm))
    return std::nullopt;
  if (hh > 23 || mm > 59 || ss > 60 || zm > 59) return std::nullopt;
  std::int64_t zone = (zh * 3600 + zm * 60) * (rest[10] == '-' ? -1 : 1);
  // Local time = UTC + zone, so UTC = local - zone.
  return days_from_civil(d.y, d.m, d.d) * 86400 + hh * 3600 + mm * 60 + ss - zone;
}

std::string format_date_time(std::int64_t t) {
  std::int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  std::int64_t y = 0;
  int m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d-%s-%04lld %02d:%02d:%02d +0000", d, month_names[m - 1],
                static_cast<long long>(y), static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60));
  return buf;
}

}  // namespace tern::imap::proto
