// The demo deployment (demo/) on a real ledger file: the Lukou villages, the
// Shuangjiang diversion and the demo's complaints, loaded through a real bot
// at a fixed time. For suites that link sunledger_demo and bot.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "bot/bot.h"
#include "demo/demo.h"
#include "test_support.h"

namespace sunledger::testing {

// 2025-11-28 00:00 UTC: long after the demo months; the demo dates its open
// complaints in the days before.
inline constexpr int64_t kDemoNow = 1764288000;
inline constexpr const char* kDemoSalt = "0123456789abcdef0123456789abcdef";

// Moves the test clock for the demo's dated complaints, and back.
inline cli::DemoTime demo_time(ManualClock& clock) {
  int64_t base = clock.now_unix_seconds();
  return cli::DemoTime{[&clock](int64_t t) { clock.set(t); }, [&clock, base] { clock.set(base); }};
}

struct DemoDeployment {
  TestLedger t{cli::kDemoOrigin, Bot::reserved_log_names()};
  std::unique_ptr<Bot> bot;

  DemoDeployment() {
    BotOptions o;
    o.identity_salt = kDemoSalt;
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    EXPECT_TRUE(bot->initialize().is_ok());
    t.clock.set(kDemoNow);
    auto loaded = cli::load_demo_data(*t.ledger, *bot, o.identity_salt, demo_time(t.clock));
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  }
};

}  // namespace sunledger::testing
