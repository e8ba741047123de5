// Identity numbers typed into chat never come back: not in a reply, not in an
// error, not in the database file. Against a real SQLite ledger.
#include <gtest/gtest.h>

#include "bot/bot.h"
#include "ledger/identity.h"
#include "group_bot_fixture.h"
#include "insider.h"
#include "test_support.h"

namespace sunledger {
namespace {

// The standard's worked example (valid check character), and the pieces a
// neighbour could put together: district code, birth date, sequence.
constexpr const char* kId = "11010519491231002X";
constexpr const char* kIdDigits = "110105194912310021";  // 18 digits, check digit wrong
const char* const kPieces[] = {"11010519491231002", "110105", "19491231", "491231"};

struct IdentityPrivacy : testing::GroupBotTest {

  // Every piece of the number that identifies someone is absent.
  static void expect_no_number(const std::string& text) {
    EXPECT_EQ(text.find(kIdDigits), std::string::npos) << text;
    for (const char* piece : kPieces) EXPECT_EQ(text.find(piece), std::string::npos) << piece << " in: " << text;
  }

  std::string database_bytes() {
    return testing::stored_bytes(t.db_path());
  }
};

TEST_F(IdentityPrivacy, NumberInTheAmountFieldIsNamedNotEchoed) {
  std::string r = say("secretary", std::string("低保名单 2022-11\n张桂三 ") + kId + " 620\n李秀英 620 " + kId);
  expect_no_number(r);
  EXPECT_NE(r.find("未登记"), std::string::npos) << r;
  EXPECT_NE(r.find("第3行: “金额”一栏像是身份证号,请检查各栏的顺序 (the amount field looks like an identity number; "
                   "check the column order)"),
            std::string::npos)
      << r;
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 0u);
}

TEST_F(IdentityPrivacy, NumberInTheNameFieldIsNamedNotEchoed) {
  std::string r = say("secretary", std::string("低保名单 2022-11\n") + kIdDigits + " 张桂三 620");
  expect_no_number(r);
  EXPECT_NE(r.find("第2行: “姓名”一栏像是身份证号"), std::string::npos) << r;
  EXPECT_NE(r.find("the name field"), std::string::npos) << r;
}

TEST_F(IdentityPrivacy, NumberInThePersonsFieldIsNamedNotEchoed) {
  std::string r = say("secretary", std::string("低保名单 2022-11\n张桂三 ") + kId + " 620 1\n李秀英 " + kId + " 620 " + kIdDigits);
  expect_no_number(r);
  EXPECT_NE(r.find("第3行: “人数”一栏像是身份证号"), std::string::npos) << r;
  EXPECT_NE(r.find("the persons field"), std::string::npos) << r;
}

TEST_F(IdentityPrivacy, UnknownCommandDoesNotEchoOne) {
  for (const std::string& text : {std::string(kIdDigits), std::string("查询") + kId,
                                  std::string("请帮我查一下这个人的低保情况谢谢谢谢谢谢") + kIdDigits}) {
    std::string r = say("villager", text);
    EXPECT_NE(r.find("没听懂"), std::string::npos) << r;
    expect_no_number(r);
  }
}

TEST_F(IdentityPrivacy, NumberAsAPostAmountIsNotEchoed) {
  std::string r = say("secretary", std::string("记账 2022-11\n支出 低保 ") + kIdDigits + " 张桂三");
  expect_no_number(r);
  EXPECT_NE(r.find("第2行"), std::string::npos) << r;
  EXPECT_NE(r.find("金额"), std::string::npos) << r;
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 0u);
}

// A list that goes through keeps the number only as its keyed hash and a
// mask with the last two characters; the database file, WAL included, never
// holds it, nor anything the refused lines carried.
TEST_F(IdentityPrivacy, StoredListsKeepOnlyTheLastTwoCharacters) {
  say("secretary", std::string("低保名单 2022-11\n张桂三 620 ") + kId);
  say("villager", std::string("查询") + kIdDigits);
  say("secretary", std::string("记账 2022-11\n支出 低保 ") + kIdDigits + " 张桂三");
  std::string ok = say("secretary", std::string("低保名单 2022-11\n张桂三 ") + kId + " 620");
  ASSERT_NE(ok.find("已登记"), std::string::npos) << ok;
  expect_no_number(ok);

  auto entries = t.ledger->entries("shuangjiang", 0, *t.ledger->log_size("shuangjiang"));
  ASSERT_TRUE(entries.is_ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].fields["id_masked"], "****************2X");
  EXPECT_EQ((*entries)[0].fields["id_hash"], hash_resident_id("0123456789abcdef0123456789abcdef", kId));
  expect_no_number((*entries)[0].leaf);

  std::string bytes = database_bytes();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(kIdDigits), std::string::npos);
  for (const char* piece : kPieces) EXPECT_EQ(bytes.find(piece), std::string::npos) << piece;
  EXPECT_NE(bytes.find("****************2X"), std::string::npos);
}

}  // namespace
}  // namespace sunledger
