// Demo data for `sunledger demo`: Lukou district's villages, several months
// of realistic accounts, and the Shuangjiang diversion from the seed article.
#pragma once

#include <functional>
#include <string>

#include "bot/bot.h"
#include "ledger/ledger.h"

namespace sunledger::cli {

// Chat ids the demo binds, on the bot with this id (see bots.demo.json).
inline constexpr const char* kDemoBotId = "generic";
// The demo deployment's origin, and the marker file `demo` leaves in its folder.
inline constexpr const char* kDemoOrigin = "sunledger.example/lukou";
inline constexpr const char* kDemoMarkerText =
    "This data folder holds sunledger's demo data (`sunledger demo`); its bot \"generic\" prints its pushes.\n";

// Loads the demo villages and accounts, binds each village's chat group
// ("<village>-group") on kDemoBotId and registers a few officials and an
// inspector. Returns false when they are already there (the demo is loaded
// once per data folder).
// Lets the demo date its complaints in the past (the Shuangjiang case was
// reported in December 2022; one open complaint is overdue).
struct DemoTime {
  std::function<void(int64_t unix_seconds)> set;  // pretend it is this moment
  std::function<void()> reset;                    // back to the real time
};

// Borrows ledger and bot for the call only; run it before any server thread
// uses them (it moves the clock through DemoTime).
Result<bool> load_demo_data(Ledger& ledger, Bot& bot, const std::string& identity_salt, const DemoTime& time);

}  // namespace sunledger::cli
