// The bots configuration file: each mistake named with its bot and field.
#include <gtest/gtest.h>

#include "webhooks/config.h"

namespace sunledger {
namespace {

TEST(BotsConfig, NamesTheBotAndTheField) {
  auto err = [](const std::string& cfg) {
    auto r = load_bots_config(cfg);
    return r.is_ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(err("{}").find("bots"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"a","platform":"wecom","token":"t"}]})").find("bot \"a\": field \"encoding_aes_key\""), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"a","platform":"wecom","token":"t","encoding_aes_key":"short"}]})").find("encoding_aes_key"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"a","platform":"irc"}]})").find("platform"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"nope"}]})").find("\"secret\""), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0","extra":1}]})").find("unknown field \"extra\""), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"env:NOT_SET_ANYWHERE"}]})").find("NOT_SET_ANYWHERE"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0","push_url":"ftp://x"}]})").find("push_url"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0"},{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0"}]})").find("twice"), std::string::npos);
  std::map<std::string, std::string> env = {{"TG_SECRET", "abc_DEF-1"}, {"TG_TOKEN", "1:x"}};
  auto ok = load_bots_config(R"({"bots":[{"id":"t","platform":"telegram","secret_token":"env:TG_SECRET","bot_token":"env:TG_TOKEN"}]})", &env);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)[0].secret_token, "abc_DEF-1");
  EXPECT_EQ((*ok)[0].api_base, "https://api.telegram.org");
  EXPECT_STREQ(platform_name(Platform::kFeishu), "feishu");
}

// A WeCom group robot (no corp app) takes no private message; every other
// platform's bot, and WeCom with its app, does.
TEST(BotsConfig, OnlyAWeComGroupRobotTakesNoPrivateMessages) {
  const std::string aes(43, 'a');
  auto robot = load_bots_config(R"({"bots":[{"id":"w","platform":"wecom","token":"t","encoding_aes_key":")" + aes + R"("}]})");
  ASSERT_TRUE(robot.is_ok()) << robot.status().to_string();
  EXPECT_FALSE((*robot)[0].takes_private_messages());
  auto app = load_bots_config(R"({"bots":[{"id":"w","platform":"wecom","token":"t","encoding_aes_key":")" + aes +
                              R"(","corp_id":"ww1","agent_id":"1000002","corp_secret":"s"}]})");
  ASSERT_TRUE(app.is_ok()) << app.status().to_string();
  EXPECT_TRUE((*app)[0].takes_private_messages());
  auto generic = load_bots_config(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0"}]})");
  ASSERT_TRUE(generic.is_ok()) << generic.status().to_string();
  EXPECT_TRUE((*generic)[0].takes_private_messages());
}

// A bots.json with a trailing comma is named as not JSON, where it goes wrong.
TEST(BotsConfig, ASyntaxErrorIsNamedWithItsLineAndColumn) {
  auto r = load_bots_config("{\n  \"bots\": [\n    {\"id\": \"g\", \"platform\": \"generic\",}\n  ]\n}\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("not valid JSON at line 3, column"), std::string::npos) << r.status().message();
  auto shape = load_bots_config("[1]");
  ASSERT_FALSE(shape.is_ok());
  EXPECT_NE(shape.status().message().find("expected {\"bots\": [...]}"), std::string::npos) << shape.status().message();
}

}  // namespace
}  // namespace sunledger
