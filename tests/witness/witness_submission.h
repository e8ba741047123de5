// The fixture of the submitter's tests (witness_submitter_test.cc and the
// review's, witness_refusal_review_test.cc): a real ledger, a real bot for
// the inspectors' alarm, two real `sunledger witness serve` processes on
// 127.0.0.1 port 0, and the insider's moves with sqlite3 those tests share.
// In a named namespace: gtest wants one fixture type for one suite.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "bot/bot.h"
#include "bot/complaints.h"
#include "bot/outbox.h"
#include "ledger/ledger.h"
#include "ledger/tlog_proof.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"
#include "webhooks/witness_submitter.h"
#include "insider.h"
#include "witness_support.h"

namespace sunledger::testing::submission {

constexpr const char* kOrigin = "lukou.example/sunledger";

struct Witness {
  std::string dir;
  std::string key;
  WitnessProcess server;
  WitnessConfig config() const { return {dir.substr(dir.rfind('/') + 1), "http://127.0.0.1:" + std::to_string(server.port), key}; }
};

struct WitnessSubmission : ::testing::Test {
  TestLedger t{kOrigin, Bot::reserved_log_names()};
  TempDir tmp;
  Witness a, b;
  std::unique_ptr<HttpClient> client = make_http_client(HttpClientOptions{});
  std::unique_ptr<Bot> bot;
  std::vector<std::string> alarms;

  void init(Witness& w, const std::string& name) {
    w.dir = tmp.file(name);
    auto out = run_command(sunledger(w.dir, "witness init --name witness.zhuting.example/" + name));
    ASSERT_EQ(out.exit_code, 0) << out.output;
    w.key = first_line(out.output);
    auto add = run_command(
        sunledger(w.dir, "witness add-log --origin-prefix " + std::string(kOrigin) + "/ --key '" + t.ledger->verifier_key() + "'"));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    w.server.start(w.dir);
  }

  void make_bot() {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    o.reaches_person = [](const std::string&) { return true; };
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
  }

  void SetUp() override {
    make_bot();
    // As `sunledger init` does for a new deployment: no refusal of an older
    // version, listed (empty) and signed before anything else.
    ASSERT_TRUE(bot->list_witness_refusals_before().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->add_member({"generic", "zhuting-inspector", "", Role::kInspector, "朱亭镇"}).is_ok());
    init(a, "w1");
    init(b, "w2");
    trust();
  }

  // What serve does with bots.json's "witnesses": only their cosignatures are served.
  void trust() { t.ledger->set_witness_keys({a.key, b.key}); }

  // coarse: how often the complaint and deliveries logs go (every round:
  // a test of what a witness does with them once their time came).
  std::unique_ptr<WitnessSubmitter> submitter(std::vector<WitnessConfig> witnesses,
                                              std::chrono::milliseconds coarse = std::chrono::milliseconds(0)) {
    WitnessSubmitterOptions o;
    o.coarse = coarse;
    o.alarm = [this](const std::string& text) {
      alarms.push_back(text);
      auto n = bot->alert_inspectors(text);
      EXPECT_TRUE(n.is_ok());
    };
    return std::make_unique<WitnessSubmitter>(t.ledger.get(), bot.get(), std::move(witnesses), client.get(), o);
  }

  static void post(Ledger& l, const std::string& item, const std::string& date = "2022-12-01") {
    auto r = l.post_transactions("shuangjiang", {txn(date, false, "办公费", item, 10000)}, official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }

  static uint64_t size_of(const std::string& note) { return std::stoull(note.substr(note.find('\n') + 1)); }
  // How many logs hold entries (the village's, the registry, the admin log ...).
  size_t logs() { return t.ledger->log_names()->size(); }

  // What `witness list-logs` says the witness holds of the village's log.
  static std::string held(const Witness& w) {
    auto out = run_command(sunledger(w.dir, "witness list-logs")).output;
    auto at = out.find("log\t" + std::string(kOrigin) + "/shuangjiang\t");
    if (at == std::string::npos) return "";
    at = out.find('\t', out.find('\t', at) + 1) + 1;
    return out.substr(at, out.find_first_of("\t\n", at) - at);
  }

  Ledger::Options reopen_options(const std::string& db) {
    Ledger::Options o = t.options(Bot::reserved_log_names(), db);
    return o;
  }

  // A monthly notice of `month` queued to the village's group (the deliveries
  // log records it "queued").
  void queue_notice(const std::string& month) {
    ASSERT_TRUE(t.ledger
                    ->write([&](WriteTxn& txn) {
                      return Outbox::enqueue(txn, {"generic", "sj-group", "【双江村 " + month + " 三务公开】", Audience::kGroup},
                                             HeldFor{"shuangjiang", month});
                    })
                    .is_ok());
  }
  // An insider's copy of the deliveries log with sqlite3 (its logs row,
  // entries, subtree hashes and cosignatures), and that copy put back.
  static void copy_deliveries_log(SQLite::Database& db) {
    for (const char* table : {"entries", "nodes", "cosignatures"})
      db.exec(std::string("CREATE TABLE saved_") + table + " AS SELECT * FROM " + table + " WHERE log_id=" + kDeliveries);
    db.exec("CREATE TABLE saved_logs AS SELECT * FROM logs WHERE name='deliveries'");
  }
  static void put_back_deliveries_log(SQLite::Database& db) {
    for (const char* table : {"entries", "nodes", "cosignatures"}) {
      db.exec(std::string("DELETE FROM ") + table + " WHERE log_id=" + kDeliveries);
      db.exec(std::string("INSERT INTO ") + table + " SELECT * FROM saved_" + table);
      db.exec(std::string("DROP TABLE saved_") + table);
    }
    db.exec("UPDATE logs SET (size, frontier, checkpoint) = (SELECT size, frontier, checkpoint FROM saved_logs) "
            "WHERE name='deliveries'");
    db.exec("DROP TABLE saved_logs");
  }
  static constexpr const char* kDeliveries = "(SELECT id FROM logs WHERE name='deliveries')";
  // The fields of the admin log's last entry (what a refusal, or its clearing, signed).
  nlohmann::json last_admin_entry() {
    auto admin = t.ledger->entries("admin", 0, *t.ledger->log_size("admin"));
    EXPECT_TRUE(admin.is_ok());
    return admin.is_ok() && !admin->empty() ? admin->back().fields : nlohmann::json::object();
  }
  // The insider's rollback of the deliveries log (review R2): the witnesses
  // cosign it with the November notice queued; then, offline, the notice's
  // row is deleted and the log copied back to before it. Returns the size
  // the witnesses hold.
  uint64_t roll_back_deliveries_log(const std::vector<WitnessConfig>& witnesses, SQLite::Database& db) {
    post(*t.ledger, "打印纸", "2022-11-20");
    queue_notice("2022-10");
    auto s = submitter(witnesses);
    EXPECT_TRUE(s->round().is_ok());
    copy_deliveries_log(db);
    queue_notice("2022-11");
    EXPECT_TRUE(s->round().is_ok());
    uint64_t witnessed = *t.ledger->log_size("deliveries");
    s.reset();
    db.exec("DELETE FROM outbox WHERE held_month='2022-11'");
    put_back_deliveries_log(db);
    return witnessed;
  }
};

}  // namespace sunledger::testing::submission
