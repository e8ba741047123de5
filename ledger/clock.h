// Time as the ledger sees it. An interface so tests can run a month's
// deadlines in a millisecond. Thread safety: now_unix_seconds() is called
// from every server thread at once; both clocks here allow it (ManualClock
// may be moved by one thread while others read it). A Ledger borrows its
// clock (Ledger::Options::clock), which must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "ledger/status.h"

namespace sunledger {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_unix_seconds() = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_unix_seconds() override;
};

// A clock that stays where a test puts it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t t) : t_(t) {}
  int64_t now_unix_seconds() override { return t_.load(); }
  void set(int64_t t) { t_.store(t); }
  void advance(int64_t seconds) { t_.fetch_add(seconds); }

 private:
  std::atomic<int64_t> t_;
};

// Calendar helpers. Months and dates are reckoned in a fixed UTC offset
// (China Standard Time, +480 minutes, unless a deployment sets another);
// timestamps are stored in UTC.
inline constexpr int kChinaStandardTimeOffsetMinutes = 8 * 60;

struct CivilDate {
  int year = 0, month = 0, day = 0;
};

std::string utc_timestamp(int64_t unix_seconds);                       // 2022-11-05T08:00:00Z
CivilDate local_date(int64_t unix_seconds, int utc_offset_minutes);
std::string format_date(const CivilDate& d);                            // 2022-11-05
std::string format_month(int year, int month);                          // 2022-11
Result<CivilDate> parse_date(const std::string& text);                  // strict YYYY-MM-DD
bool valid_month(const std::string& text);                              // strict YYYY-MM
std::string next_month(const std::string& month);
std::string previous_month(const std::string& month);
int64_t days_from_civil(int y, unsigned m, unsigned d);
// Unix time of local midnight starting that date.
int64_t local_midnight(const CivilDate& d, int utc_offset_minutes);

}  // namespace sunledger
