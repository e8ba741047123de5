#include "ledger/clock.h"

#include <cstdio>
#include <ctime>

namespace sunledger {
namespace {

// Howard Hinnant's civil-from-days: exact for the proleptic Gregorian calendar.
CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool all_digits(const std::string& s, size_t from, size_t len) {
  for (size_t i = from; i < from + len; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

int64_t SystemClock::now_unix_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string utc_timestamp(int64_t t) {
  CivilDate d = civil_from_days(floor_div(t, 86400));
  int64_t secs = t - floor_div(t, 86400) * 86400;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", d.year, d.month, d.day,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

CivilDate local_date(int64_t t, int offset_minutes) {
  return civil_from_days(floor_div(t + int64_t{offset_minutes} * 60, 86400));
}

std::string format_date(const CivilDate& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

std::string format_month(int year, int month) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

Result<CivilDate> parse_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 0, 4) || !all_digits(s, 5, 2) ||
      !all_digits(s, 8, 2))
    return invalid_argument("日期“" + s + "”格式应为 2022-11-05 (date must be YYYY-MM-DD)");
  CivilDate d{std::stoi(s.substr(0, 4)), std::stoi(s.substr(5, 2)), std::stoi(s.substr(8, 2))};
  if (d.year < 1990 || d.year > 2200 || d.month < 1 || d.month > 12 || d.day < 1 ||
      d.day > days_in_month(d.year, d.month))
    return invalid_argument("日期“" + s + "”不存在 (no such date)");
  return d;
}

bool valid_month(const std::string& s) {
  if (s.size() != 7 || s[4] != '-' || !all_digits(s, 0, 4) || !all_digits(s, 5, 2)) return false;
  int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(5, 2));
  return y >= 1990 && y <= 2200 && m >= 1 && m <= 12;
}

std::string next_month(const std::string& month) {
  int y = std::stoi(month.substr(0, 4)), m = std::stoi(month.substr(5, 2));
  return m == 12 ? format_month(y + 1, 1) : format_month(y, m + 1);
}

std::string previous_month(const std::string& month) {
  int y = std::stoi(month.substr(0, 4)), m = std::stoi(month.substr(5, 2));
  return m == 1 ? format_month(y - 1, 12) : format_month(y, m - 1);
}

int64_t local_midnight(const CivilDate& d, int offset_minutes) {
  return days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day)) * 86400 -
         int64_t{offset_minutes} * 60;
}

}  // namespace sunledger
