// The fixture of the deliveries-log tests (delivery_record_test.cc,
// dead_letter_record_test.cc): a real ledger in a real SQLite file, the bot's
// schema, one generic bot pushing to a real HTTP server on loopback
// (fake_platform.h) that counts what it is sent, and verify's reasons.
#pragma once

#include <gtest/gtest.h>
#include <SQLiteCpp/SQLiteCpp.h>

#include <nlohmann/json.hpp>

#include "bot/bot.h"
#include "bot/outbox.h"
#include "configured_adapters.h"
#include "fake_platform.h"
#include "insider.h"
#include "raw_platform_crypto.h"
#include "webhooks/adapter.h"
#include "test_support.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"
#include "webhooks/outbox_sender.h"

namespace sunledger {

struct DeliveryRecord : ::testing::Test {
  testing::TestLedger t;
  testing::FakePlatform group;
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  std::map<std::string, PlatformAdapter*> by_id;
  std::unique_ptr<HttpClient> client = make_http_client(5);

  void SetUp() override {
    Bot bot(t.ledger.get(), {});
    ASSERT_TRUE(bot.initialize().is_ok());
    configure(group.url("/push"));
  }
  // The bot "bot"; without a push_url it cannot deliver anything.
  void configure(const std::string& push_url) {
    nlohmann::json b = {{"id", "bot"}, {"platform", "generic"},
                        {"secret", "whsec_" + testing::raw::b64("delivery-record-secret-0123456789")}};
    if (!push_url.empty()) b["push_url"] = push_url;
    Status loaded = testing::load_adapters("{\"bots\": [" + b.dump() + "]}", adapters, by_id);
    ASSERT_TRUE(loaded.is_ok()) << loaded.to_string();
  }
  void enqueue(const std::string& text, const HeldFor& held = {}) {
    ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) { return Outbox::enqueue(txn, {"bot", "sj-group", text, Audience::kGroup}, held); })
                    .is_ok());
  }
  size_t pushes() { return group.recorded().size(); }
  // The deliveries log dropped whole with sqlite3: its logs row, entries,
  // subtree hashes and cosignatures (also how a test leaves rows as an older
  // version left them: with no log).
  void drop_deliveries_log() {
    auto db = testing::open_as_insider(t.db_path());
    const std::string log = "(SELECT id FROM logs WHERE name='deliveries')";
    for (const char* table : {"entries", "nodes", "cosignatures"})
      db->exec(std::string("DELETE FROM ") + table + " WHERE log_id=" + log);
    db->exec("DELETE FROM logs WHERE name='deliveries'");
  }
  bool delivered(int64_t id) {
    bool out = false;
    (void)t.ledger->read([&](Ledger::ReadTxn& r) -> Status {
      auto& q = r.sql().statement("SELECT delivered_at IS NOT NULL FROM outbox WHERE id=?");
      q.bind(1, id);
      if (q.step()) out = q.column_int(0) != 0;
      return Status::ok();
    });
    return out;
  }
  // What verify says of the deployment: true when it finds nothing wrong.
  bool verify_intact() {
    Bot bot(t.ledger.get(), {});
    auto problems = bot.verify_deployment();
    return problems.is_ok() && problems->empty();
  }
  // Verify's reasons, one a line ("" when intact).
  std::string verify_reasons() {
    Bot bot(t.ledger.get(), {});
    auto problems = bot.verify_deployment();
    if (!problems.is_ok()) return problems.status().to_string();
    std::string out;
    for (const auto& p : *problems) out += p.log + ": " + p.reason + "\n";
    return out;
  }
};

}  // namespace sunledger
