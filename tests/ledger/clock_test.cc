#include "ledger/clock.h"

#include <gtest/gtest.h>

namespace sunledger {
namespace {

TEST(Clock, UtcTimestamp) {
  EXPECT_EQ(utc_timestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(utc_timestamp(1670205600), "2022-12-05T02:00:00Z");
}

TEST(Clock, LocalDateUsesTheOffset) {
  // 2022-11-30 20:00 UTC is already 1 December in China.
  int64_t t = 1669838400;
  EXPECT_EQ(format_date(local_date(t, 0)), "2022-11-30");
  EXPECT_EQ(format_date(local_date(t, kChinaStandardTimeOffsetMinutes)), "2022-12-01");
  EXPECT_EQ(local_midnight(CivilDate{2022, 12, 1}, kChinaStandardTimeOffsetMinutes), 1669824000);
}

TEST(Clock, ParsesStrictDatesAndMonths) {
  EXPECT_TRUE(parse_date("2024-02-29").is_ok());
  EXPECT_FALSE(parse_date("2023-02-29").is_ok());
  EXPECT_FALSE(parse_date("2022-13-01").is_ok());
  EXPECT_FALSE(parse_date("2022-1-01").is_ok());
  EXPECT_FALSE(parse_date("2022/11/05").is_ok());
  EXPECT_TRUE(valid_month("2022-11"));
  EXPECT_FALSE(valid_month("2022-00"));
  EXPECT_FALSE(valid_month("22-11"));
  EXPECT_EQ(next_month("2022-12"), "2023-01");
  EXPECT_EQ(previous_month("2023-01"), "2022-12");
  EXPECT_EQ(format_month(2022, 3), "2022-03");
}

TEST(Clock, ManualClockMoves) {
  ManualClock c(100);
  c.advance(5);
  EXPECT_EQ(c.now_unix_seconds(), 105);
  c.set(7);
  EXPECT_EQ(c.now_unix_seconds(), 7);
  SystemClock s;
  EXPECT_GT(s.now_unix_seconds(), 1'700'000'000);
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
}

}  // namespace
}  // namespace sunledger
