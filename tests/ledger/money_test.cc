#include "ledger/money.h"

#include <gtest/gtest.h>

namespace sunledger {
namespace {

Fen parsed(const std::string& s) {
  auto r = parse_amount(s);
  EXPECT_TRUE(r.is_ok()) << s << ": " << r.status().to_string();
  return r.is_ok() ? *r : -1;
}

TEST(ParseAmount, AcceptsWhatPeopleType) {
  EXPECT_EQ(parsed("157600"), 15'760'000);
  EXPECT_EQ(parsed("157,600.00"), 15'760'000);
  EXPECT_EQ(parsed("15.76万"), 15'760'000);
  EXPECT_EQ(parsed("30万元"), 30'000'000);
  EXPECT_EQ(parsed("¥1,200.5"), 120'050);
  EXPECT_EQ(parsed("￥88"), 8'800);
  EXPECT_EQ(parsed("1200元"), 120'000);
  EXPECT_EQ(parsed(" 42.07 "), 4'207);
  EXPECT_EQ(parsed("１５７６００"), 15'760'000);  // full-width digits
  EXPECT_EQ(parsed("1,234,567.89"), 123'456'789);
  EXPECT_EQ(parsed("0.5万"), 500'000);
  EXPECT_EQ(parsed("1.234567万"), 1'234'567);
  EXPECT_EQ(parsed("0"), 0);
  EXPECT_EQ(parsed("100000000"), kMaxAmountFen);
}

TEST(ParseAmount, RefusesWithAClearMessage) {
  for (const char* bad : {"", "   ", "-5", "−5", "abc", "12.345", "1.2345678万", "1,23", "12,3456", ",123", "1.",
                          ".5", "1e5", "100000000.01", "1000000000", "99999999999999999999", "万", "¥", "1 000",
                          "1..2", "12a"}) {
    auto r = parse_amount(bad);
    EXPECT_FALSE(r.is_ok()) << "accepted: " << bad;
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find("金额"), std::string::npos) << r.status().message();
    }
  }
  EXPECT_NE(parse_amount("-5").status().message().find("negative"), std::string::npos);
  EXPECT_NE(parse_amount("12.345").status().message().find("two decimals"), std::string::npos);
  EXPECT_NE(parse_amount("1000000000").status().message().find("100,000,000"), std::string::npos);
}

TEST(FormatYuan, PrintsLikeAVillageNotice) {
  EXPECT_EQ(format_yuan(15'760'000), "157,600.00元");
  EXPECT_EQ(format_yuan(0), "0.00元");
  EXPECT_EQ(format_yuan(5), "0.05元");
  EXPECT_EQ(format_yuan(-120'050), "-1,200.50元");
  EXPECT_EQ(format_yuan(100'000), "1,000.00元");
  EXPECT_EQ(format_yuan(INT64_MIN), "-92,233,720,368,547,758.08元");
}

TEST(FormatYuan, AddsWanForLargeSums) {
  EXPECT_EQ(format_yuan_with_wan(15'760'000), "157,600.00元(15.76万元)");
  EXPECT_EQ(format_yuan_with_wan(30'000'000), "300,000.00元(30万元)");
  EXPECT_EQ(format_yuan_with_wan(14'240'000), "142,400.00元(14.24万元)");
  EXPECT_EQ(format_yuan_with_wan(1'050'000), "10,500.00元(1.05万元)");
  EXPECT_EQ(format_yuan_with_wan(1'100'000), "11,000.00元(1.1万元)");
  EXPECT_EQ(format_yuan_with_wan(999'999), "9,999.99元");
  EXPECT_EQ(format_yuan_with_wan(-30'000'000), "-300,000.00元(-30万元)");
}

TEST(CheckedAdd, DetectsOverflow) {
  Fen out = 0;
  EXPECT_TRUE(checked_add(1, 2, &out));
  EXPECT_EQ(out, 3);
  EXPECT_FALSE(checked_add(INT64_MAX, 1, &out));
  EXPECT_FALSE(checked_add(INT64_MIN, -1, &out));
}

}  // namespace
}  // namespace sunledger
