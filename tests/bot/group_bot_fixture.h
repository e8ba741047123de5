// A bot over a fresh test ledger with Shuangjiang's group bound and its
// secretary an official; `say` speaks in that group. Shared by the bot suites
// that talk to one village's group (one copy, so the set-up cannot drift).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "bot/bot.h"
#include "test_support.h"

namespace sunledger::testing {

inline constexpr const char* kGroupBot = "generic";
inline constexpr const char* kShuangjiangGroup = "shuangjiang-group";

struct GroupBotTest : ::testing::Test {
  TestLedger t;
  std::unique_ptr<Bot> bot;
  int next_id = 0;

  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    o.commands_per_minute = 0;
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->bind_group("shuangjiang", kGroupBot, kShuangjiangGroup).is_ok());
    ASSERT_TRUE(bot->add_member({kGroupBot, "secretary", "shuangjiang", Role::kOfficial, ""}).is_ok());
  }

  std::string say(const std::string& sender, const std::string& text) {
    InboundMessage m;
    m.bot_id = kGroupBot;
    m.chat_id = kShuangjiangGroup;
    m.group = true;
    m.sender_id = sender;
    m.sender_name = sender;
    m.text = text;
    m.message_id = "m" + std::to_string(++next_id);
    auto r = bot->handle(m);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? r->text : "";
  }
};

}  // namespace sunledger::testing
