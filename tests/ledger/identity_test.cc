#include "ledger/identity.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(mask_resident_id("430221195803121234"), "430221********1234");
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
