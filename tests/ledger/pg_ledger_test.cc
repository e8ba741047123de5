// The ledger on PostgreSQL (issue #17, step 2): initialised, written, read,
// proved, reopened and verified on a real server (tests/support/pg_cluster.h),
// and the insider's attacks that matter there: an UPDATE the trigger refuses,
// and a trigger dropped or disabled so a leaf can be edited, which verify names.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <regex>

#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/pg_connection.h"
#include "support/pg_cluster.h"
#include "test_support.h"

namespace sunledger {
namespace {

using ledger_internal::PgConnection;
using testing::official;
using testing::txn;

constexpr Fen kYuan = 100;

bool mentions(const VerifyReport& r, const std::string& what) {
  for (const auto& p : r.problems)
    if (p.reason.find(what) != std::string::npos) return true;
  return false;
}

std::string all_problems(const VerifyReport& r) {
  std::string out;
  for (const auto& p : r.problems) out += p.reason + "\n";
  return out;
}

struct PgLedgerTest : ::testing::Test {
  testing::TempDir dir;  // the log key
  ManualClock clock{testing::kDec5th2022};
  std::unique_ptr<Ed25519KeyFile> key;
  std::string conninfo, address;
  std::unique_ptr<Ledger> ledger;

  Ledger::Options options() {
    Ledger::Options o;
    o.db_path = address;
    o.signer = key.get();
    o.clock = &clock;
    return o;
  }

  void SetUp() override {
    conninfo = testing::pg_fresh_database();
    ASSERT_FALSE(conninfo.empty());
    address = testing::pg_uri(conninfo);
    ASSERT_TRUE(Ledger::initialize(address, "test.sunledger").is_ok());
    auto k = Ed25519KeyFile::create(dir.file("log-key.pem"), "test.sunledger");
    ASSERT_TRUE(k.is_ok());
    key = std::move(*k);
    auto l = Ledger::open(options());
    ASSERT_TRUE(l.is_ok()) << l.status().to_string();
    ledger = std::move(*l);
    ASSERT_TRUE(ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  }

  void seed_november() {
    ASSERT_TRUE(ledger->register_project("shuangjiang", {"水利建设", 300'000 * kYuan, true}, official()).is_ok());
    auto r = ledger->post_transactions(
        "shuangjiang",
        {txn("2022-11-02", true, "上级拨款", "水利专项资金到账", 300'000 * kYuan, "水利建设", "专项资金"),
         txn("2022-11-10", false, "工程款", "水渠修缮", 157'600 * kYuan, "水利建设", "专项资金"),
         txn("2022-11-25", false, "办公费", "打印纸", 350 * kYuan)},
        official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }

  // The database behind the ledger's back, as its owner role in psql would.
  std::unique_ptr<PgConnection> insider() {
    auto c = PgConnection::open(conninfo);
    EXPECT_TRUE(c.is_ok());
    return c.is_ok() ? std::move(*c) : nullptr;
  }
};

TEST_F(PgLedgerTest, WritesReadsProvesReopensAndVerifies) {
  seed_november();
  // The running totals a post answers with, read inside a write.
  MonthTotals totals;
  Status read_totals = ledger->write([&](WriteTxn& w) -> Status {
    auto t = w.month_totals("shuangjiang", "2022-11");
    if (!t.is_ok()) return t.status();
    totals = *t;
    return Status::ok();
  });
  ASSERT_TRUE(read_totals.is_ok()) << read_totals.to_string();
  EXPECT_EQ(totals.income, 300'000 * kYuan);
  EXPECT_EQ(totals.expense, (157'600 + 350) * kYuan);
  auto mc = ledger->close_month("shuangjiang", "2022-11", official());
  ASSERT_TRUE(mc.is_ok()) << mc.status().to_string();
  EXPECT_EQ(mc->statement["income_total"], 300'000 * kYuan);
  EXPECT_EQ(mc->statement["closing"], (300'000 - 157'600 - 350) * kYuan);
  EXPECT_EQ(mc->statement["fund_balances"]["专项资金"], (300'000 - 157'600) * kYuan);
  EXPECT_EQ(mc->statement_index, 4u);
  auto month = ledger->month_entries("shuangjiang", "2022-11");
  ASSERT_TRUE(month.is_ok()) << month.status().to_string();
  EXPECT_EQ((*month)->size(), 4u);  // three lines and the statement

  auto cp = open_checkpoint(*ledger->checkpoint("shuangjiang"), ledger->verifier_key());
  ASSERT_TRUE(cp.is_ok());
  EXPECT_EQ(cp->size, 5u);
  auto entries = ledger->entries("shuangjiang", 0, 5);
  ASSERT_TRUE(entries.is_ok()) << entries.status().to_string();
  ASSERT_EQ(entries->size(), 5u);
  for (const auto& e : *entries) {
    auto proof = ledger->inclusion_proof("shuangjiang", e.index, cp->size);
    ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
    std::vector<std::string> p;
    for (const auto& h : *proof) p.emplace_back(as_view(h));
    EXPECT_TRUE(verify_inclusion(e.index, cp->size, as_view(merkle_leaf_hash(e.leaf)), p, as_view(cp->root)));
  }
  auto c = ledger->consistency_proof("shuangjiang", 2, 5);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  std::vector<std::string> p;
  for (const auto& h : *c) p.emplace_back(as_view(h));
  EXPECT_TRUE(verify_consistency(2, 5, as_view(*ledger->root("shuangjiang", 2)), as_view(cp->root), p));

  auto report = ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << all_problems(*report);
  EXPECT_GE(report->entries_checked, 5u);
  // The schema check, its registered forms made by verify above and kept:
  // what it costs (README, "PostgreSQL").
  auto started = std::chrono::steady_clock::now();
  auto schema = ledger->verify_schema();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(schema.is_ok()) << schema.status().to_string();
  EXPECT_TRUE(schema->empty());
  std::printf("verify_schema on PostgreSQL: %.1f ms\n", ms);

  // A second ledger on the same database, as a restart would open it.
  ledger.reset();
  auto again = Ledger::open(options());
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  ledger = std::move(*again);
  EXPECT_EQ(*ledger->log_size("shuangjiang"), 5u);
  auto closed = ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(closed.is_ok()) << closed.status().to_string();
  EXPECT_EQ(closed->checkpoint, mc->checkpoint);
  auto later = ledger->post_transactions("shuangjiang", {txn("2022-12-01", true, "其他", "捐款", 5 * kYuan)}, official());
  ASSERT_TRUE(later.is_ok()) << later.status().to_string();
  report = ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << all_problems(*report);
  // Initialising again keeps it, and another origin is refused.
  EXPECT_TRUE(Ledger::initialize(address, "test.sunledger").is_ok());
  EXPECT_EQ(Ledger::initialize(address, "other.origin").code(), Code::kFailedPrecondition);
}

TEST_F(PgLedgerTest, NoDatabaseYetIsNamedAndBackupPointsToPgDump) {
  // A database made beside this test's (another pg_fresh_database would
  // drop this test's first).
  auto admin = PgConnection::open(testing::pg_admin_conninfo());
  ASSERT_TRUE(admin.is_ok());
  (*admin)->exec("DROP DATABASE IF EXISTS not_initialised");
  (*admin)->exec("CREATE DATABASE not_initialised");
  Ledger::Options o = options();
  o.db_path = std::regex_replace(address, std::regex("/[a-z0-9_]+$"), "/not_initialised");
  EXPECT_EQ(Ledger::open(o).status().code(), Code::kNotFound);
  Status s = ledger->backup(dir.file("copy.db"));
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("pg_dump"), std::string::npos) << s.to_string();
}

TEST_F(PgLedgerTest, TheTriggerRefusesAnUpdateOfAnEntry) {
  seed_november();
  auto db = insider();
  ASSERT_NE(db, nullptr);
  try {
    db->exec("UPDATE entries SET leaf = leaf || 'x'::bytea WHERE idx = 2");
    ADD_FAILURE() << "the UPDATE went through";
  } catch (const sql::Error& e) {
    EXPECT_NE(std::string(e.what()).find("the ledger is append-only"), std::string::npos) << e.what();
  }
  for (const char* sql : {"DELETE FROM nodes", "TRUNCATE entries", "TRUNCATE month_closes CASCADE"}) {
    try {
      db->exec(sql);
      ADD_FAILURE() << sql << " went through";
    } catch (const sql::Error& e) {
      EXPECT_NE(std::string(e.what()).find("the ledger is append-only"), std::string::npos) << e.what();
    }
  }
  auto report = ledger->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->intact()) << all_problems(*report);
}

TEST_F(PgLedgerTest, ADroppedTriggerAndAnEditedLeafAreNamed) {
  seed_november();
  auto db = insider();
  ASSERT_NE(db, nullptr);
  db->exec("DROP TRIGGER entries_no_update ON entries");
  db->exec("DROP TRIGGER nodes_no_delete_truncate ON nodes");
  db->exec("UPDATE entries SET leaf = convert_to(replace(convert_from(leaf, 'UTF8'), '35000', '95000'), 'UTF8') WHERE idx = 3");
  auto report = ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(mentions(*report, "trigger entries_no_update that keeps table entries append-only is missing"))
      << all_problems(*report);
  EXPECT_TRUE(mentions(*report, "trigger nodes_no_delete_truncate that keeps table nodes append-only is missing"))
      << all_problems(*report);
  bool leaf_named = false;
  for (const auto& p : report->problems) leaf_named |= p.log == "shuangjiang" && p.first_bad_index == 3;
  EXPECT_TRUE(leaf_named) << all_problems(*report);
}

// What a drop would show, without a drop: the trigger disabled, or its
// function's body replaced by one that lets every edit through.
TEST_F(PgLedgerTest, ADisabledOrHollowedTriggerIsNamed) {
  seed_november();
  auto db = insider();
  ASSERT_NE(db, nullptr);
  db->exec("ALTER TABLE nodes DISABLE TRIGGER nodes_no_delete");
  auto report = ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(mentions(*report, "trigger nodes_no_delete on table nodes is not one sunledger makes"))
      << all_problems(*report);
  db->exec("ALTER TABLE nodes ENABLE TRIGGER nodes_no_delete");
  report = ledger->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->intact()) << all_problems(*report);
  db->exec("CREATE OR REPLACE FUNCTION sunledger_refuse() RETURNS trigger LANGUAGE plpgsql AS "
           "$$BEGIN RETURN NEW; END$$");
  report = ledger->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(mentions(*report, "trigger entries_no_update on table entries is not one sunledger makes"))
      << all_problems(*report);
}

// A table, an index or a rule added or changed by hand: each changes what is
// refused or read while every row still matches its log.
TEST_F(PgLedgerTest, SchemaChangesByHandAreNamed) {
  auto db = insider();
  ASSERT_NE(db, nullptr);
  db->exec("CREATE UNIQUE INDEX one_per_month ON entries(log_id, month)");
  db->exec("ALTER TABLE villages ADD CONSTRAINT no_secretary CHECK (name NOT LIKE '%书记%')");
  db->exec("CREATE TABLE notes(x TEXT)");
  db->exec("CREATE RULE hide AS ON INSERT TO month_totals DO INSTEAD NOTHING");
  db->exec("DROP INDEX entries_by_month");
  auto report = ledger->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(mentions(*report, "index one_per_month on table entries is not one sunledger makes")) << all_problems(*report);
  EXPECT_TRUE(mentions(*report, "table villages is not as sunledger makes it")) << all_problems(*report);
  EXPECT_TRUE(mentions(*report, "table notes is not one sunledger makes")) << all_problems(*report);
  EXPECT_TRUE(mentions(*report, "hide is stored as type 'rule'")) << all_problems(*report);
  EXPECT_TRUE(mentions(*report, "index entries_by_month that sunledger makes is missing")) << all_problems(*report);
  EXPECT_EQ(report->problems.size(), 5u) << all_problems(*report);
}

// A server that cannot be reached: open and initialize say so (not "run
// init"), naming the address without its password, in either place a URI
// may carry one.
TEST(PgLedgerAddress, AnUnreachableServerIsNamedWithoutThePassword) {
  ManualClock clock{testing::kDec5th2022};
  testing::TempDir dir;
  auto key = Ed25519KeyFile::create(dir.file("log-key.pem"), "test.sunledger");
  ASSERT_TRUE(key.is_ok());
  for (std::string address : {"postgresql://sunledger:s3cret-pw@127.0.0.1:1/ledger",
                              "postgres://127.0.0.1:1/ledger?user=sunledger&password=s3cret-pw&connect_timeout=2"}) {
    Ledger::Options o;
    o.db_path = address;
    o.signer = key->get();
    o.clock = &clock;
    auto opened = Ledger::open(o);
    ASSERT_FALSE(opened.is_ok());
    EXPECT_EQ(opened.status().code(), Code::kUnavailable) << opened.status().to_string();
    EXPECT_EQ(opened.status().message().find("s3cret-pw"), std::string::npos) << opened.status().to_string();
    EXPECT_NE(opened.status().message().find("127.0.0.1:1/ledger"), std::string::npos) << opened.status().to_string();
    EXPECT_NE(opened.status().message().find("***"), std::string::npos) << opened.status().to_string();
    Status init = Ledger::initialize(address, "test.sunledger");
    EXPECT_EQ(init.code(), Code::kUnavailable) << init.to_string();
    EXPECT_EQ(init.message().find("s3cret-pw"), std::string::npos) << init.to_string();
  }
}

}  // namespace
}  // namespace sunledger
