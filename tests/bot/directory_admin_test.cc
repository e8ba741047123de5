// The directory's lifecycle: who was given a role or a token can lose it, at
// once, and an expired token stops working. Against a real ledger.
#include <gtest/gtest.h>

#include "bot/bot.h"
#include "test_support.h"

namespace sunledger {
namespace {

struct DirectoryAdmin : ::testing::Test {
  testing::TestLedger t;
  std::unique_ptr<Bot> bot;
  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"nanzhou", "南洲村", "南洲镇"}).is_ok());
  }
  std::string say(const std::string& user, const std::string& chat, bool group, const std::string& text) {
    static int n = 0;
    auto r = bot->handle({"b", chat, group, user, user, text, "m" + std::to_string(++n), 0});
    return r.is_ok() ? r->text : r.status().to_string();
  }
};

TEST_F(DirectoryAdmin, ARemovedMemberLosesEveryRoleAtOnce) {
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());
  ASSERT_TRUE(bot->add_member({"b", "wang", "shuangjiang", Role::kOfficial, ""}).is_ok());
  ASSERT_TRUE(bot->add_member({"b", "wang", "", Role::kInspector, "朱亭镇"}).is_ok());
  EXPECT_EQ(bot->list_members("b")->size(), 2u);
  EXPECT_NE(say("wang", "g1", true, "立项 村部维修 5万").find("已立项"), std::string::npos);
  EXPECT_EQ(*bot->remove_member("b", "wang"), 2u);
  EXPECT_TRUE(bot->list_members()->empty());
  // The same Bot (a running server's) refuses at once.
  EXPECT_NE(say("wang", "g1", true, "立项 道路 5万").find("只有"), std::string::npos);
  EXPECT_NE(say("wang", "dm", false, "待办").find("只有"), std::string::npos);
  EXPECT_EQ(bot->remove_member("b", "wang").status().code(), Code::kNotFound);
}

TEST_F(DirectoryAdmin, AnInspectorWatchesARealTown) {
  EXPECT_EQ(bot->add_member({"b", "li", "", Role::kInspector, "朱停镇"}).code(), Code::kNotFound);
  EXPECT_TRUE(bot->add_member({"b", "li", "", Role::kInspector, "朱亭镇"}).is_ok());
  EXPECT_TRUE(bot->add_member({"b", "chen", "", Role::kInspector, "all"}).is_ok());
  EXPECT_EQ(bot->add_member({"b", "zhao", "nowhere", Role::kOfficial, ""}).code(), Code::kNotFound);
}

TEST_F(DirectoryAdmin, GroupsAreMovedOnlyOnPurposeAndUnbound) {
  ASSERT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());
  EXPECT_TRUE(bot->bind_group("shuangjiang", "b", "g1").is_ok());  // the same binding again
  EXPECT_EQ(bot->bind_group("nanzhou", "b", "g1").code(), Code::kAlreadyExists);
  EXPECT_EQ(bot->list_groups()->at(0).village, "shuangjiang");
  ASSERT_TRUE(bot->bind_group("nanzhou", "b", "g1", true).is_ok());
  EXPECT_EQ(bot->list_groups()->at(0).village, "nanzhou");
  EXPECT_NE(say("v", "g1", true, "余额").find("南洲村"), std::string::npos);
  ASSERT_TRUE(bot->unbind_group("b", "g1").is_ok());
  EXPECT_TRUE(bot->list_groups()->empty());
  EXPECT_NE(say("v", "g1", true, "余额").find("还没有绑定"), std::string::npos);
  EXPECT_EQ(bot->unbind_group("b", "g1").code(), Code::kNotFound);
}

TEST_F(DirectoryAdmin, TokensExpireAndAreRevoked) {
  auto a = bot->create_token({Role::kOfficial, "shuangjiang", "", "会计站"}, 30);
  auto b = bot->create_token({Role::kInspector, "", "all", "纪委"}, 365);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_TRUE(bot->authenticate(a->token).is_ok());
  auto list = bot->list_tokens();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].expires_at - (*list)[0].created_at, 30 * 86400);
  // Revoked: refused from the next request on, like an unknown token.
  ASSERT_TRUE(bot->revoke_token(b->id).is_ok());
  EXPECT_EQ(bot->authenticate(b->token).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(bot->authenticate(b->token).status().message(), bot->authenticate("sl_nonexistent-token").status().message());
  EXPECT_EQ(bot->revoke_token(b->id).code(), Code::kNotFound);
  EXPECT_NE(bot->list_tokens()->at(1).revoked_at, 0);
  // Expired: refused, saying so.
  t.clock.advance(30 * 86400);
  auto expired = bot->authenticate(a->token);
  EXPECT_EQ(expired.status().code(), Code::kPermissionDenied);
  EXPECT_NE(expired.status().message().find("过期"), std::string::npos) << expired.status().message();
  EXPECT_EQ(bot->create_token({Role::kOfficial, "shuangjiang", "", ""}, 0).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sunledger
