#include "ledger/identity.h"

#include <gtest/gtest.h>

#include "ledger/csv_import.h"
#include "ledger/money.h"

namespace sunledger {
namespace {

// 11010519491231002X is the standard's own worked example.
TEST(ResidentId, ValidatesCheckDigitAndBirthDate) {
  EXPECT_TRUE(validate_resident_id("11010519491231002X").is_ok());
  EXPECT_TRUE(validate_resident_id("11010519491231002x").is_ok());
  EXPECT_FALSE(validate_resident_id("110105194912310021").is_ok());  // wrong check digit
  EXPECT_FALSE(validate_resident_id("11010519491231002").is_ok());   // 17 characters
  EXPECT_FALSE(validate_resident_id("1101051949123100A2").is_ok());
  EXPECT_NE(validate_resident_id("123").message().find("18"), std::string::npos);
}

TEST(ResidentId, MaskedAndHashed) {
  EXPECT_EQ(mask_resident_id("430221195803121234"), "****************34");
  std::string h = hash_resident_id("salt", "11010519491231002X");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h, hash_resident_id("salt", "11010519491231002x"));
  EXPECT_NE(h, hash_resident_id("other salt", "11010519491231002X"));
  EXPECT_EQ(h.find("11010519491231002X"), std::string::npos);
}

TEST(PersonName, Masked) {
  EXPECT_EQ(mask_person_name("张三丰"), "张*丰");
  EXPECT_EQ(mask_person_name("张三"), "张*");
  EXPECT_EQ(mask_person_name("欧阳春花"), "欧**花");
  EXPECT_EQ(mask_person_name("李"), "*");
  EXPECT_EQ(mask_person_name(""), "");
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {
TEST(ResidentId, RefusesImpossibleBirthDates) {
  // 1949-02-30 with a correct check digit for those 17 digits.
  std::string body = "11010519490230002";
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  EXPECT_FALSE(validate_resident_id(body + kCheck[sum % 11]).is_ok());
}
}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {

// Full-width digits as Chinese input methods type them: "１１０１０５…".
std::string full_width(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    unsigned cp = c == 'X' ? 0xFF38 : 0xFF10 + static_cast<unsigned>(c - '0');
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// The district code, the birth date and the sequence digits together let a
// neighbour recover the number: only the last two characters are kept.
TEST(ResidentId, MaskKeepsOnlyTheLastTwoCharacters) {
  EXPECT_EQ(mask_resident_id("11010519491231002X"), "****************2X");
  EXPECT_EQ(mask_resident_id("110105491231002"), "*************02");
  EXPECT_EQ(mask_resident_id("123"), "***");
}

TEST(ResidentId, DetectsBothFormsAsRunsOfTheirOwn) {
  EXPECT_TRUE(looks_like_resident_id("11010519491231002X"));
  EXPECT_TRUE(looks_like_resident_id("11010519491231002x"));
  EXPECT_TRUE(looks_like_resident_id("110105194912310021"));  // shape only: a wrong check digit is still one
  EXPECT_TRUE(looks_like_resident_id("110105491231002"));     // the old 15-digit form
  EXPECT_TRUE(looks_like_resident_id("身份证110105194912310021号"));
  EXPECT_TRUE(looks_like_resident_id("id:11010519491231002X,"));
  EXPECT_TRUE(looks_like_resident_id(full_width("11010519491231002X")));
  EXPECT_FALSE(looks_like_resident_id(""));
  EXPECT_FALSE(looks_like_resident_id("620"));
  EXPECT_FALSE(looks_like_resident_id("157,600.00"));
  EXPECT_FALSE(looks_like_resident_id("1101051949123100"));     // 16 digits
  EXPECT_FALSE(looks_like_resident_id("11010519491231002"));    // 17 digits, no check character
  EXPECT_FALSE(looks_like_resident_id("1101051949123100211"));  // 19 digits: part of a longer run
  EXPECT_FALSE(looks_like_resident_id("2022-11-10"));
}

TEST(ResidentId, RedactionMasksEachNumberAndKeepsTheRest) {
  EXPECT_EQ(redact_resident_ids("第2行 张三 11010519491231002X 620"), "第2行 张三 ****************2X 620");
  EXPECT_EQ(redact_resident_ids("110105194912310021/110105491231002"), "****************21/*************02");
  EXPECT_EQ(redact_resident_ids("金额“" + full_width("110105194912310021") + "”"),
            "金额“" + std::string(16, '*') + full_width("21") + "”");
  EXPECT_EQ(redact_resident_ids("157,600.00元 1101051949123100211 #25"), "157,600.00元 1101051949123100211 #25");
  EXPECT_EQ(redact_resident_ids(""), "");
}

// The amount parser quotes what it refuses; an identity number in the
// amount column (columns swapped) is quoted masked.
TEST(ResidentId, AmountErrorsNeverQuoteOne) {
  for (const std::string& typed :
       {std::string("110105194912310021"), std::string("11010519491231002X"), std::string("110105491231002"),
        full_width("11010519491231002X"), std::string("¥11010519491231002X元")}) {
    auto r = parse_amount(typed);
    ASSERT_FALSE(r.is_ok()) << typed;
    const std::string& m = r.status().message();
    EXPECT_EQ(m.find("110105"), std::string::npos) << m;
    EXPECT_EQ(m.find("491231"), std::string::npos) << m;
    EXPECT_EQ(m.find(full_width("110105")), std::string::npos) << m;
    EXPECT_NE(m.find("金额“"), std::string::npos) << m;
  }
  // Ordinary refusals still quote the amount as typed.
  EXPECT_NE(parse_amount("35.123").status().message().find("“35.123”"), std::string::npos);
}

TEST(ResidentId, CsvImportErrorsNeverQuoteOne) {
  auto r = parse_entries_csv(
      "date,type,category,item,amount,project,fund,counterparty,note\n"
      "2022-11-02,11010519491231002X,低保,张三,620,,,,\n"
      "110105194912310021,expense,低保,张三,620,,,,\n"
      "2022-11-02,expense,低保,张三,110105194912310021,,,,\n");
  ASSERT_EQ(r.errors.size(), 3u) << describe_row_errors(r.errors);
  std::string all = describe_row_errors(r.errors);
  EXPECT_EQ(all.find("110105"), std::string::npos) << all;
  EXPECT_EQ(all.find("19491231"), std::string::npos) << all;
  EXPECT_NE(all.find("第2行"), std::string::npos) << all;
  EXPECT_NE(all.find("第3行"), std::string::npos) << all;
  EXPECT_NE(all.find("第4行"), std::string::npos) << all;
}

}  // namespace
}  // namespace sunledger
