#include "ledger/ledger.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "ledger/line_keys.h"
#include "ledger/merkle.h"
#include "insider.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::official;
using testing::TestLedger;
using testing::txn;

constexpr Fen kYuan = 100;

struct LedgerTest : ::testing::Test {
  TestLedger t;
  Ledger& L() { return *t.ledger; }

  void SetUp() override {
    ASSERT_TRUE(L().add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  }

  // The same database opened again, as a server starting on it would.
  Result<std::unique_ptr<Ledger>> open_again() {
    return Ledger::open(t.options({}));
  }

  // Opens the database file behind the ledger's back, as an official with
  // file access would, past the append-only triggers (see insider.h).
  std::unique_ptr<testing::Insider> tamper() { return testing::open_insider(t.db_path()); }

  void seed_november() {
    ASSERT_TRUE(L().register_project("shuangjiang", {"水利建设", 300'000 * kYuan, true}, official()).is_ok());
    ASSERT_TRUE(L().register_project("shuangjiang", {"道路拓宽", 200'000 * kYuan, false}, official()).is_ok());
    auto r = L().post_transactions(
        "shuangjiang",
        {txn("2022-11-02", true, "上级拨款", "水利专项资金到账", 300'000 * kYuan, "水利建设", "专项资金"),
         txn("2022-11-10", false, "工程款", "水渠修缮", 157'600 * kYuan, "水利建设", "专项资金"),
         txn("2022-11-20", false, "工程款", "道路拓宽", 142'400 * kYuan, "道路拓宽", "专项资金"),
         txn("2022-11-25", false, "办公费", "打印纸", 350 * kYuan)},
        official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
};

// Reading the value of a failed Result is a bug that stops the process with
// the status, instead of reading an empty optional.
TEST(ResultDeathTest, ReadingAFailedResultStopsWithItsStatus) {
  Result<int> failed = not_found("no such village");
  EXPECT_DEATH((void)*failed, "value of a failed Result was read .*no such village");
  Result<int> ok = 7;
  EXPECT_EQ(*ok, 7);
}

TEST_F(LedgerTest, VillagesAreRegisteredOnceWithASignedEmptyLog) {
  EXPECT_EQ(L().add_village({"shuangjiang", "双江村", "朱亭镇"}).code(), Code::kAlreadyExists);
  EXPECT_EQ(L().add_village({"Bad Id", "x", "y"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(L().add_village({"villages", "x", "y"}).code(), Code::kInvalidArgument);  // the registry's log
  testing::TestLedger upper("test.sunledger", {"complaints"});  // an upper module keeps a log of that name
  EXPECT_EQ(upper.ledger->add_village({"complaints", "x", "y"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(L().add_village({"ok", "", "y"}).code(), Code::kInvalidArgument);
  auto vs = L().villages();
  ASSERT_EQ(vs->size(), 1u);
  EXPECT_EQ((*vs)[0].name, "双江村");
  EXPECT_EQ(L().village("nowhere").status().code(), Code::kNotFound);
  auto cp = open_checkpoint(*L().checkpoint("shuangjiang"), L().verifier_key());
  ASSERT_TRUE(cp.is_ok());
  EXPECT_EQ(cp->size, 0u);
  EXPECT_EQ(cp->root, merkle_empty_root());
  EXPECT_EQ(cp->origin, "test.sunledger/shuangjiang");
}

TEST_F(LedgerTest, DatabaseFileIsPrivate) {
  SUNLEDGER_SQLITE_ONLY("the database file's mode; PostgreSQL keeps its files in its own data folder");
  struct stat st{};
  ASSERT_EQ(::stat(t.db_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LedgerTest, AppendsAreSignedAndProvable) {
  seed_november();
  std::string note = *L().checkpoint("shuangjiang");
  auto cp = open_checkpoint(note, L().verifier_key());
  ASSERT_TRUE(cp.is_ok());
  EXPECT_EQ(cp->size, 6u);
  auto entries = L().entries("shuangjiang", 0, 6);
  ASSERT_EQ(entries->size(), 6u);
  // Anyone can recompute a leaf hash from the bytes served and prove it is in the signed tree.
  for (const auto& e : *entries) {
    auto proof = L().inclusion_proof("shuangjiang", e.index, cp->size);
    ASSERT_TRUE(proof.is_ok());
    std::vector<std::string> p;
    for (const auto& h : *proof) p.emplace_back(as_view(h));
    EXPECT_TRUE(verify_inclusion(e.index, cp->size, as_view(merkle_leaf_hash(e.leaf)), p, as_view(cp->root)));
  }
  const auto& f = (*entries)[3].fields;
  EXPECT_EQ(f["amount"], 157'600 * kYuan);
  EXPECT_EQ(f["author"]["role"], "official");
  EXPECT_EQ(f["recorded_at"], "2022-12-05T02:00:00Z");
  EXPECT_EQ(f["month"], "2022-11");
  // Canonical bytes: sorted keys, no whitespace.
  EXPECT_EQ((*entries)[0].leaf.find("{\"approved\":"), 0u);
  EXPECT_EQ((*entries)[0].leaf.find(' '), std::string::npos);

  auto c = L().consistency_proof("shuangjiang", 2, 6);
  ASSERT_TRUE(c.is_ok());
  std::vector<std::string> p;
  for (const auto& h : *c) p.emplace_back(as_view(h));
  EXPECT_TRUE(verify_consistency(2, 6, as_view(*L().root("shuangjiang", 2)), as_view(cp->root), p));
  EXPECT_FALSE(L().inclusion_proof("shuangjiang", 6, 6).is_ok());
  EXPECT_FALSE(L().consistency_proof("shuangjiang", 2, 7).is_ok());
  EXPECT_FALSE(L().entries("shuangjiang", 0, 7).is_ok());
  EXPECT_EQ(L().entries("nowhere", 0, 0).status().code(), Code::kNotFound);
}

TEST_F(LedgerTest, ABadRowWritesNothing) {
  ASSERT_TRUE(L().register_project("shuangjiang", {"水利建设", 300'000 * kYuan, true}, official()).is_ok());
  std::vector<TransactionLine> lines = {txn("2022-11-02", true, "上级拨款", "到账", 100 * kYuan),
                                        txn("2022-11-31", false, "工程款", "x", 5 * kYuan),
                                        txn("2022-11-03", false, "工程款", "y", 5 * kYuan, "没有的项目"),
                                        txn("2022-11-04", false, "", "z", 5 * kYuan),
                                        txn("2022-11-05", false, "费用", "w", 0)};
  auto r = L().post_transactions("shuangjiang", lines, official());
  ASSERT_FALSE(r.is_ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("第2行"), std::string::npos) << m;
  EXPECT_NE(m.find("第3行"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown project"), std::string::npos) << m;
  EXPECT_NE(m.find("第4行"), std::string::npos) << m;
  EXPECT_NE(m.find("第5行"), std::string::npos) << m;
  EXPECT_EQ(m.find("第1行"), std::string::npos) << m;
  EXPECT_EQ(*L().log_size("shuangjiang"), 1u);
  EXPECT_EQ(L().post_transactions("shuangjiang", {txn("2023-01-01", true, "其他", "b", 1)}, official()).status().code(),
            Code::kInvalidArgument);  // future month
  EXPECT_EQ(L().post_transactions("nowhere", {txn("2022-11-01", true, "其他", "b", 1)}, official()).status().code(),
            Code::kNotFound);
  EXPECT_EQ(L().register_project("shuangjiang", {"水利建设", 1, false}, official()).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(L().register_project("shuangjiang", {"x", 0, false}, official()).status().code(), Code::kInvalidArgument);
  std::string invalid_utf8 = "\xff\xfe";
  EXPECT_FALSE(L().post_transactions("shuangjiang", {txn("2022-11-01", true, invalid_utf8, "b", 1)}, official()).is_ok());
  EXPECT_EQ(*L().log_size("shuangjiang"), 1u);
}

// Attack: an insider deletes November's row from month_closes with sqlite3
// (the append-only triggers off for their connection) and asks to publish
// November again. The close verifies the village's log first, which names
// the missing close of the signed statement entry: nothing is signed, no
// second statement, no second notice.
TEST_F(LedgerTest, AMonthCloseDeletedByHandIsNotPublishedTwice) {
  seed_november();
  ASSERT_TRUE(L().close_month("shuangjiang", "2022-11", official()).is_ok());
  uint64_t size = *L().log_size("shuangjiang");
  tamper()->exec("DELETE FROM month_closes WHERE month='2022-11'");
  auto again = L().close_month("shuangjiang", "2022-11", official());
  EXPECT_EQ(again.status().code(), Code::kDataLoss) << again.status().to_string();
  EXPECT_NE(again.status().message().find("month_closes"), std::string::npos) << again.status().message();
  EXPECT_EQ(*L().log_size("shuangjiang"), size);
  // Nor can the next month be published past the edit.
  EXPECT_EQ(L().close_month("shuangjiang", "2022-12", official()).status().code(), Code::kDataLoss);
  EXPECT_EQ(*L().log_size("shuangjiang"), size);
}

// The same insider also clears the statement entry's indexed month column
// (review R2): the month-closes check above reads it, but the close verifies
// the village's log first, and the column no longer matches its signed leaf.
TEST_F(LedgerTest, AStatementColumnEditedByHandGetsNoMonthSignedTwice) {
  seed_november();
  ASSERT_TRUE(L().close_month("shuangjiang", "2022-11", official()).is_ok());
  uint64_t size = *L().log_size("shuangjiang");
  {
    auto db = tamper();
    db->exec("DELETE FROM month_closes WHERE month='2022-11'");
    db->exec("UPDATE entries SET month=NULL WHERE kind='statement' AND month='2022-11'");
  }
  auto again = L().close_month("shuangjiang", "2022-11", official());
  EXPECT_EQ(again.status().code(), Code::kDataLoss) << again.status().to_string();
  EXPECT_NE(again.status().message().find("does not verify"), std::string::npos) << again.status().message();
  EXPECT_EQ(*L().log_size("shuangjiang"), size);
}

TEST_F(LedgerTest, ClosingAMonthSealsItsStatement) {
  seed_november();
  auto mc = L().close_month("shuangjiang", "2022-11", official());
  ASSERT_TRUE(mc.is_ok()) << mc.status().to_string();
  const auto& s = mc->statement;
  EXPECT_EQ(s["opening"], 0);
  EXPECT_EQ(s["income_total"], 300'000 * kYuan);
  EXPECT_EQ(s["expense_total"], (157'600 + 142'400 + 350) * kYuan);
  EXPECT_EQ(s["closing"], -350 * kYuan);
  EXPECT_EQ(s["expense_by_category"]["工程款"], 300'000 * kYuan);
  EXPECT_EQ(s["by_project"]["道路拓宽"]["expense"], 142'400 * kYuan);
  EXPECT_EQ(s["fund_balances"]["专项资金"], 0);
  EXPECT_EQ(s["entry_count"], 4);
  EXPECT_EQ(s["first_index"], 2);
  EXPECT_EQ(s["last_index"], 5);
  EXPECT_EQ(mc->statement_index, 6u);
  EXPECT_EQ(mc->tree_size, 7u);
  auto cp = open_checkpoint(mc->checkpoint, L().verifier_key());
  ASSERT_TRUE(cp.is_ok());
  EXPECT_EQ(cp->size, 7u);

  // Closed: no new entries, no second close; corrections are reversals.
  auto late = L().post_transactions("shuangjiang", {txn("2022-11-28", false, "办公费", "补记", 10 * kYuan)}, official());
  EXPECT_EQ(late.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(L().close_month("shuangjiang", "2022-11", official()).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(L().close_month("shuangjiang", "2022-10", official()).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(L().close_month("shuangjiang", "2023-01", official()).status().code(), Code::kInvalidArgument);

  auto rev = L().reverse("shuangjiang", 4, "挪用专项资金,退回", official());
  ASSERT_TRUE(rev.is_ok()) << rev.status().to_string();
  auto entries = L().entries("shuangjiang", rev->indexes[0], rev->indexes[0] + 1);
  const auto& r = (*entries)[0].fields;
  EXPECT_EQ(r["month"], "2022-12");  // lands in the open month
  EXPECT_EQ(r["target"], 4);
  EXPECT_EQ(r["target_closed"], true);
  EXPECT_EQ(L().reverse("shuangjiang", 4, "again", official()).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(L().reverse("shuangjiang", 0, "project", official()).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(L().reverse("shuangjiang", 99, "nope", official()).status().code(), Code::kNotFound);
  EXPECT_EQ(L().reverse("shuangjiang", 5, "", official()).status().code(), Code::kInvalidArgument);

  auto dec = L().close_month("shuangjiang", "2022-12", official());
  ASSERT_TRUE(dec.is_ok()) << dec.status().to_string();
  EXPECT_EQ(dec->statement["opening"], -350 * kYuan);
  EXPECT_EQ(dec->statement["expense_total"], -142'400 * kYuan);
  EXPECT_EQ(dec->statement["closing"], 142'050 * kYuan);
  EXPECT_EQ(dec->statement["fund_balances"]["专项资金"], 142'400 * kYuan);
  EXPECT_EQ(L().month_closes("shuangjiang")->size(), 2u);
  EXPECT_EQ(*L().last_closed_month("shuangjiang"), std::optional<std::string>("2022-12"));
  EXPECT_EQ(L().month_close("shuangjiang", "2022-10").status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(L().verify()->intact());
}

TEST_F(LedgerTest, MonthsCloseInOrder) {
  ASSERT_TRUE(L().post_transactions("shuangjiang", {txn("2022-10-05", true, "租金", "鱼塘承包", 2'000 * kYuan),
                                                    txn("2022-11-05", true, "租金", "鱼塘承包", 2'000 * kYuan)},
                                    official()).is_ok());
  auto r = L().close_month("shuangjiang", "2022-11", official());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("2022-10"), std::string::npos);
  ASSERT_TRUE(L().close_month("shuangjiang", "2022-10", official()).is_ok());
  auto nov = L().close_month("shuangjiang", "2022-11", official());
  ASSERT_TRUE(nov.is_ok());
  EXPECT_EQ(nov->statement["opening"], 2'000 * kYuan);
  EXPECT_EQ(nov->statement["closing"], 4'000 * kYuan);
  EXPECT_EQ((*L().month_entries("shuangjiang", "2022-11"))->size(), 2u);  // the line and the statement
}

// A later month never closes the months skipped before it: they would be
// sealed for good, their lines refused forever, without a statement anybody saw.
TEST_F(LedgerTest, AMonthClosesOnlyRightAfterTheLastClosedOne) {
  EXPECT_EQ(*L().month_to_close("shuangjiang"), std::nullopt);  // nothing written: any month may open the books
  ASSERT_TRUE(L().post_transactions("shuangjiang", {txn("2022-10-05", true, "租金", "鱼塘承包", 2'000 * kYuan),
                                                    txn("2022-12-05", true, "租金", "鱼塘承包", 2'000 * kYuan)},
                                    official()).is_ok());
  EXPECT_EQ(*L().month_to_close("shuangjiang"), std::optional<std::string>("2022-10"));
  auto early = L().close_month("shuangjiang", "2022-09", official());  // before the first month with entries
  EXPECT_EQ(early.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("close 2022-10 first"), std::string::npos) << early.status().message();
  ASSERT_TRUE(L().close_month("shuangjiang", "2022-10", official()).is_ok());
  EXPECT_EQ(*L().month_to_close("shuangjiang"), std::optional<std::string>("2022-11"));
  uint64_t size = *L().log_size("shuangjiang");
  auto skip = L().close_month("shuangjiang", "2022-12", official());  // November has no entries, and is still open
  EXPECT_EQ(skip.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(skip.status().message().find("请先公开 2022-11"), std::string::npos) << skip.status().message();
  EXPECT_NE(skip.status().message().find("close 2022-11 first"), std::string::npos) << skip.status().message();
  EXPECT_EQ(*L().log_size("shuangjiang"), size);  // nothing changed
  EXPECT_EQ(*L().last_closed_month("shuangjiang"), std::optional<std::string>("2022-10"));
  // November can still take a late line, then closes, then December.
  ASSERT_TRUE(L().post_transactions("shuangjiang", {txn("2022-11-28", false, "办公费", "补记", 10 * kYuan)}, official()).is_ok());
  ASSERT_TRUE(L().close_month("shuangjiang", "2022-11", official()).is_ok());
  auto dec = L().close_month("shuangjiang", "2022-12", official());
  ASSERT_TRUE(dec.is_ok()) << dec.status().to_string();
  EXPECT_EQ(dec->statement["opening"], 1'990 * kYuan);
  // A month published already, or one before them, is refused as such (it
  // used to read as a refusal to book entries, naming 2022-09 as closed).
  for (const char* month : {"2022-11", "2022-09"}) {
    auto again = L().close_month("shuangjiang", month, official());
    EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(again.status().message().find("本村账目已公开到 2022-12," + std::string(month) + " 不能再公开"), std::string::npos)
        << again.status().message();
  }
  EXPECT_TRUE(L().verify()->intact());
}

TEST_F(LedgerTest, ReversalInAnOpenMonthCorrectsThatMonth) {
  seed_november();
  ASSERT_TRUE(L().reverse("shuangjiang", 5, "重复记账", official()).is_ok());
  auto mc = L().close_month("shuangjiang", "2022-11", official());
  EXPECT_EQ(mc->statement["expense_by_category"]["办公费"], 0);
  EXPECT_EQ(mc->statement["reversals"], 1);
}

TEST_F(LedgerTest, SubsidiesAreRecordedWithoutIdentityNumbers) {
  SubsidyLine s{"低保", "张*三", "430221********1234", std::string(64, 'a'), 600 * kYuan, 2};
  auto r = L().write([&](WriteTxn& tx) { return tx.post_subsidies("shuangjiang", "2022-11", {s}, official()).status(); });
  ASSERT_TRUE(r.is_ok()) << r.to_string();
  auto mc = L().close_month("shuangjiang", "2022-11", official());
  EXPECT_EQ(mc->statement["subsidy_total"], 600 * kYuan);
  s.id_hash = "short";
  EXPECT_FALSE(L().write([&](WriteTxn& tx) { return tx.post_subsidies("shuangjiang", "2022-12", {s}, official()).status(); }).is_ok());
}

TEST_F(LedgerTest, WriteIsAllOrNothing) {
  Status s = L().write([&](WriteTxn& tx) -> Status {
    auto a = tx.post_transactions("shuangjiang", {txn("2022-11-02", true, "其他", "b", 1)}, official());
    EXPECT_TRUE(a.is_ok());
    return invalid_argument("caller changed its mind");
  });
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(*L().log_size("shuangjiang"), 0u);
  EXPECT_EQ(open_checkpoint(*L().checkpoint("shuangjiang"), L().verifier_key())->size, 0u);
}

TEST_F(LedgerTest, AThrowingWriterFailsAloneAndTheQueueGoesOn) {
  Status s = L().write([](WriteTxn&) -> Status { throw std::runtime_error("boom"); });
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_TRUE(L().post_transactions("shuangjiang", {txn("2022-11-02", true, "其他", "b", 1)}, official()).is_ok());
}

TEST_F(LedgerTest, OtherLogsForOtherModules) {
  auto s = L().write([&](WriteTxn& tx) {
    return tx.append_to_log("complaints", {{"kind", "complaint_filed"}, {"receipt_hash", "abc"}}, official()).status();
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(*L().log_size("complaints"), 1u);
  EXPECT_EQ(open_checkpoint(*L().checkpoint("complaints"), L().verifier_key())->origin, "test.sunledger/complaints");
  EXPECT_TRUE(L().verify("complaints")->intact());
}

TEST_F(LedgerTest, TriggersRefuseEdits) {
  seed_november();
  auto db = testing::open_with_triggers(t.db_path());
  EXPECT_THROW(db->exec("UPDATE entries SET month='2022-10'"), sql::Error);
  EXPECT_THROW(db->exec("DELETE FROM entries WHERE idx=3"), sql::Error);
  EXPECT_THROW(db->exec("DELETE FROM nodes"), sql::Error);
  EXPECT_TRUE(L().verify()->intact());
}

// What an official with database access might do, and what verify says.
TEST_F(LedgerTest, VerifyDetectsAnEditedAmount) {
  seed_november();
  ASSERT_TRUE(L().close_month("shuangjiang", "2022-11", official()).is_ok());
  auto db = tamper();
  db->exec("UPDATE entries SET leaf=replace(leaf, '14240000', '4240000') WHERE idx=4");
  auto r = L().verify("shuangjiang");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].log, "shuangjiang");
  EXPECT_EQ(r->problems[0].first_bad_index, 4u);
}

TEST_F(LedgerTest, VerifyDetectsAnEditWithRecomputedHashes) {
  seed_november();
  auto db = tamper();
  // A careful forger rewrites the leaf and every stored hash; only the
  // signature on the checkpoint is out of reach.
  db->exec("UPDATE entries SET leaf=replace(leaf, '14240000', '4240000') WHERE idx=4");
  db->exec("UPDATE month_totals SET expense=expense-10000000");
  // The duplicate check's row too (the formula is open source).
  auto& key = db->statement("UPDATE line_keys SET key=? WHERE idx=4");
  key.bind_blob(1, ledger_internal::line_key("expense", "2022-11-20", 4'240'000, "道路拓宽", ""));
  key.exec();
  db->exec("DELETE FROM nodes WHERE log_id=1");
  std::vector<std::string> leaves;
  auto& q = db->statement("SELECT idx, leaf FROM entries WHERE log_id=1 ORDER BY idx");
  while (q.step()) leaves.push_back(q.column_blob(1));
  q.reset();
  CompactRange range;
  for (const auto& leaf : leaves) {
    for (const auto& n : range.append(merkle_leaf_hash(leaf))) {
      auto& ins = db->statement("INSERT INTO nodes VALUES(1,?,?,?)");
      ins.bind(1, int64_t{n.level});
      ins.bind(2, static_cast<int64_t>(n.index));
      ins.bind_blob(3, std::string_view(reinterpret_cast<const char*>(n.hash.data()), 32));
      ins.exec();
    }
  }
  auto r = L().verify("shuangjiang");
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].reason.find("checkpoint"), std::string::npos) << r->problems[0].reason;
  // New entries still extend the genuine tree (the stored frontier is
  // untouched); a forger who rewrites the frontier too is refused: the ledger
  // never signs a tree inconsistent with its last checkpoint.
  std::string frontier = range.encode();
  auto& up = db->statement("UPDATE logs SET frontier=? WHERE name='shuangjiang'");
  up.bind_blob(1, frontier);
  up.exec();
  auto w = L().post_transactions("shuangjiang", {txn("2022-11-29", true, "其他", "b", 1)}, official());
  EXPECT_EQ(w.status().code(), Code::kDataLoss) << w.status().to_string();
  // Shown as is to an official in chat: Chinese first, and no command they do not have to run.
  EXPECT_EQ(w.status().message().rfind("日志“shuangjiang”的存储状态与上次签名不一致,没有写入,请联系乡镇管理员核验账本", 0), 0u)
      << w.status().message();
}

TEST_F(LedgerTest, VerifyDetectsADeletedRow) {
  seed_november();
  tamper()->exec("DELETE FROM entries WHERE idx=3");
  auto r = L().verify();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].first_bad_index, 3u) << r->problems[0].reason;
}

TEST_F(LedgerTest, VerifyDetectsSwappedRows) {
  seed_november();
  auto db = tamper();
  db->exec("UPDATE entries SET idx=-1 WHERE idx=3");
  db->exec("UPDATE entries SET idx=3 WHERE idx=4");
  db->exec("UPDATE entries SET idx=4 WHERE idx=-1");
  auto r = L().verify();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].first_bad_index, 3u) << r->problems[0].reason;
}

TEST_F(LedgerTest, VerifyDetectsATruncatedLog) {
  seed_november();
  tamper()->exec("DELETE FROM entries WHERE idx>=4");
  auto r = L().verify();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].first_bad_index, 4u);
}

TEST_F(LedgerTest, VerifyDetectsAMovedMonthColumn) {
  seed_november();
  tamper()->exec("UPDATE entries SET month='2022-10' WHERE idx=5");
  auto r = L().verify();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].first_bad_index, 5u);
}

TEST_F(LedgerTest, VerifyDetectsAForgedMonthCheckpoint) {
  seed_november();
  ASSERT_TRUE(L().close_month("shuangjiang", "2022-11", official()).is_ok());
  auto db = tamper();
  db->exec(db->on_postgresql()
               ? "UPDATE month_closes SET checkpoint=replace(checkpoint, chr(10)||'7'||chr(10), chr(10)||'6'||chr(10))"
               : "UPDATE month_closes SET checkpoint=replace(checkpoint, char(10)||'7'||char(10), char(10)||'6'||char(10))");
  auto r = L().verify();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].reason.find("2022-11"), std::string::npos) << r->problems[0].reason;
}

// Every derived table is rebuilt from the signed entries and compared: an
// insider who edits one with SQL (triggers dropped) is named by table and entry.
struct DerivedTamper {
  const char* name;
  const char* sql;
  const char* table;  // named in the problem
  uint64_t entry;     // the entry named first
};

// Names that look alike must be the same name, or refused: a project "水利建设"
// with a zero-width space would sit beside the real one.
TEST_F(LedgerTest, NamesCannotImpersonate) {
  const std::pair<const char*, const char*> refused[] = {
      {"水利\xE2\x80\x8B建设", "看不见"},      // U+200B zero-width space
      {"水利\xE2\x80\xAE设建", "看不见"},      // U+202E right-to-left override
      {"水利\xC2\xA0建设", "普通空格"},         // U+00A0 no-break space
      {"水利\xE3\x80\x80建设", "普通空格"},     // U+3000 ideographic space
      {" 水利建设", "前后不能有空格"},
      {"水利建设 ", "前后不能有空格"},
      {"水利\t建设", "控制字符"},
  };
  for (const auto& [name, why] : refused) {
    SCOPED_TRACE(name);
    auto p = L().register_project("shuangjiang", {name, 10'000 * kYuan, true}, official());
    ASSERT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_NE(p.status().message().find(why), std::string::npos) << p.status().message();
    auto t2 = L().post_transactions("shuangjiang", {txn("2022-11-02", false, name, "x", 100)}, official());
    ASSERT_FALSE(t2.is_ok());
    EXPECT_NE(t2.status().message().find("第1行"), std::string::npos) << t2.status().message();
    EXPECT_NE(t2.status().message().find("类别"), std::string::npos) << t2.status().message();
  }
  EXPECT_EQ(L().add_village({"zwsp", "双江\xE2\x80\x8C村", "朱亭镇"}).code(), Code::kInvalidArgument);
  // Composed and decomposed forms are one name (NFC): "é" as U+00E9 and as e + U+0301.
  ASSERT_TRUE(L().register_project("shuangjiang", {"Caf\x65\xCC\x81", 10'000 * kYuan, false}, official()).is_ok());
  EXPECT_EQ(L().register_project("shuangjiang", {"Caf\xC3\xA9", 10'000 * kYuan, false}, official()).status().code(),
            Code::kAlreadyExists);
  auto posted = L().post_transactions("shuangjiang", {txn("2022-11-02", false, "工程款", "x", 100, "Caf\x65\xCC\x81")}, official());
  ASSERT_TRUE(posted.is_ok()) << posted.status().to_string();
  auto e = L().entries("shuangjiang", posted->indexes[0], posted->indexes[0] + 1);
  EXPECT_EQ((*e)[0].fields["project"], "Caf\xC3\xA9");
}

// A month's statement is what its notice publishes: it must add up to the
// month's entries. An insider who moves an entry's month column away while
// the month is closed used to get a signed statement without it; the close
// now verifies the village's log first and refuses. And verify still adds up
// every statement again: one the operator signs with the key (or an older
// version signed from moved columns) that does not add up is named.
TEST_F(LedgerTest, VerifyRecomputesEveryStatementFromItsEntries) {
  seed_november();
  {
    auto db = tamper();
    static const char* const road = "UPDATE entries SET month=? WHERE log_id=(SELECT log_id FROM villages WHERE id='shuangjiang') AND idx=4";
    auto& away = db->statement(road);
    away.bind(1, "2022-12");
    ASSERT_EQ(away.exec(), 1);
    auto refused = L().close_month("shuangjiang", "2022-11", official());
    EXPECT_EQ(refused.status().code(), Code::kDataLoss) << "a month closed from a moved column";
    auto& back = db->statement(road);
    back.bind(1, "2022-11");
    ASSERT_EQ(back.exec(), 1);
  }
  auto close = L().close_month("shuangjiang", "2022-11", official());
  ASSERT_TRUE(close.is_ok()) << close.status().to_string();
  ASSERT_EQ(entry_fen(close->statement, "expense_total"), (157'600 + 142'400 + 350) * kYuan);
  // The signed statement leaves the road's 142,400 out of November.
  nlohmann::json forged = close->statement;
  forged["expense_total"] = (157'600 + 350) * kYuan;
  Status s = L().write([&](WriteTxn& w) { return w.append_to_log("shuangjiang", forged, official()).status(); });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_FALSE(r->intact()) << "a statement that does not add up to its month passes verify";
  EXPECT_EQ(r->problems[0].first_bad_index, close->statement_index + 1) << r->problems[0].reason;
  EXPECT_NE(r->problems[0].reason.find("statement"), std::string::npos) << r->problems[0].reason;
}

// Invisible characters outside Unicode Cf: default-ignorable code points
// (a combining grapheme joiner, variation selectors, Hangul fillers, which
// are Mn or Lo) and the blank Braille pattern show nothing, so "水利建设" with
// one of them would be a second project looking exactly like the real one.
TEST_F(LedgerTest, NamesCannotHideInvisibleCharactersOutsideCf) {
  const char* refused[] = {
      "水利建设\xCD\x8F",      // U+034F combining grapheme joiner (Mn)
      "水利建设\xEF\xB8\x8F",  // U+FE0F variation selector 16 (Mn)
      "水利建设\xEF\xB8\x80",  // U+FE00 variation selector 1 (Mn)
      "水利\xE3\x85\xA4建设",  // U+3164 Hangul filler (Lo)
      "水利\xEF\xBE\xA0建设",  // U+FFA0 halfwidth Hangul filler (Lo)
      "水利\xE1\x85\x9F建设",  // U+115F Hangul choseong filler (Lo)
      "水利\xE2\xA0\x80建设",  // U+2800 Braille pattern blank (So)
  };
  for (const char* name : refused) {
    SCOPED_TRACE(name);
    auto p = L().register_project("shuangjiang", {name, 10'000 * kYuan, true}, official());
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    auto t2 = L().post_transactions("shuangjiang", {txn("2022-11-02", false, "工程款", "x", 100, "", name)}, official());
    EXPECT_FALSE(t2.is_ok());
    EXPECT_EQ(L().add_village({"hidden", name, "朱亭镇"}).code(), Code::kInvalidArgument);
  }
}


// Shuangjiang with a row in every derived table: two projects (#0, #1), four
// lines (#2-#5), November closed (#6), #5 reversed (#7), 水利建设 finished (#8).
void fill_every_derived_table(Ledger& l) {
  ASSERT_TRUE(l.add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(l.register_project("shuangjiang", {"水利建设", 300'000 * kYuan, true}, official()).is_ok());   // #0
  ASSERT_TRUE(l.register_project("shuangjiang", {"道路拓宽", 200'000 * kYuan, false}, official()).is_ok());  // #1
  ASSERT_TRUE(l.post_transactions("shuangjiang",
                                  {txn("2022-11-02", true, "上级拨款", "到账", 300'000 * kYuan, "水利建设", "专项资金"),
                                   txn("2022-11-10", false, "工程款", "水渠", 157'600 * kYuan, "水利建设", "专项资金"),
                                   txn("2022-11-20", false, "工程款", "道路", 142'400 * kYuan, "道路拓宽", "专项资金"),
                                   txn("2022-11-25", false, "办公费", "打印纸", 350 * kYuan)},
                                  official()).is_ok());                                                     // #2-#5
  ASSERT_TRUE(l.close_month("shuangjiang", "2022-11", official()).is_ok());                                  // #6
  ASSERT_TRUE(l.reverse("shuangjiang", 5, "记错了", official()).is_ok());                                   // #7
  ASSERT_TRUE(l.write([](WriteTxn& w) { return w.finish_project("shuangjiang", "水利建设", official()).status(); }).is_ok());  // #8
  ASSERT_TRUE(l.verify()->intact());
}

TEST(LedgerDerived, VerifyRebuildsEveryDerivedTable) {
  const DerivedTamper cases[] = {
      // 账目 2022-11 would show another month's statement.
      {"a close pointed at another statement", "UPDATE month_closes SET statement_idx=5", "month_closes", 5},
      // The official could post into November again and publish it twice.
      {"a close deleted", "DELETE FROM month_closes", "month_closes", 6},
      {"a close invented", "INSERT INTO month_closes SELECT log_id, '2022-12', statement_idx, tree_size, checkpoint FROM month_closes",
       "month_closes", 6},
      // The same project could be registered twice.
      {"a project deleted", "DELETE FROM projects WHERE name='道路拓宽'", "projects", 1},
      {"a budget edited", "UPDATE projects SET approved=approved*2 WHERE name='水利建设'", "projects", 0},
      {"a project made ordinary", "UPDATE projects SET special=0 WHERE name='水利建设'", "projects", 0},
      {"a finish deleted", "DELETE FROM finished_projects", "finished_projects", 8},
      {"a reversal deleted", "DELETE FROM reversals", "reversals", 7},
      // A double post of 水渠 would go through unchallenged.
      {"a duplicate-check row deleted", "DELETE FROM line_keys WHERE idx=3", "line_keys", 3},
      // A line nobody posted twice would be refused as a double.
      {"a duplicate-check row invented", "INSERT INTO line_keys SELECT log_id, randomblob(16), 4 FROM line_keys WHERE idx=3",
       "line_keys", 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::TestLedger t;
    Ledger& l = *t.ledger;
    fill_every_derived_table(l);
    if (HasFatalFailure()) return;
    testing::open_insider(t.db_path())->exec(c.sql);
    auto r = l.verify();
    ASSERT_TRUE(r.is_ok());
    ASSERT_EQ(r->problems.size(), 1u);
    EXPECT_EQ(r->problems[0].log, "shuangjiang");
    EXPECT_EQ(r->problems[0].first_bad_index, c.entry) << r->problems[0].reason;
    EXPECT_NE(r->problems[0].reason.find(c.table), std::string::npos) << r->problems[0].reason;
  }
}

// The ledger decides from its derived tables whether a month is closed, a
// project registered or finished and an entry reversed. An insider who deletes
// the row, lets the official (chat or CLI) sign the change a second time, and
// puts the row back, used to leave a log in which every table matched: an
// expense booked into closed November (in no statement at all), a project
// registered twice with another budget, an income reversed twice, a project
// finished twice. Each second change is named with its entry.
TEST(LedgerDerived, AChangeSignedAgainWhileItsRowWasGoneIsNamed) {
  struct Case {
    const char* name;
    const char* table;
    std::function<Status(Ledger&)> again;
    uint64_t entry;
    const char* reason;
  };
  const Case cases[] = {
      {"an expense booked into a closed month", "month_closes",
       [](Ledger& l) {
         return l.post_transactions("shuangjiang", {txn("2022-11-28", false, "工程款", "补记", 50'000 * kYuan)}, official()).status();
       },
       9, "after 2022-11 was closed"},
      {"a project registered again", "projects",
       [](Ledger& l) { return l.register_project("shuangjiang", {"道路拓宽", 900'000 * kYuan, false}, official()).status(); }, 9,
       "a second time"},
      {"an entry reversed again", "reversals", [](Ledger& l) { return l.reverse("shuangjiang", 5, "再冲一次", official()).status(); },
       9, "a second time"},
      {"a project finished again", "finished_projects",
       [](Ledger& l) {
         return l.write([](WriteTxn& w) { return w.finish_project("shuangjiang", "水利建设", official()).status(); });
       },
       9, "a second time"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::TestLedger t;
    Ledger& l = *t.ledger;
    fill_every_derived_table(l);
    if (HasFatalFailure()) return;
    std::string table = c.table;
    {
      auto db = testing::open_insider(t.db_path());
      db->exec("CREATE TABLE saved AS SELECT * FROM " + table);
      db->exec("DELETE FROM " + table);
    }
    Status again = c.again(l);
    ASSERT_TRUE(again.is_ok()) << again.to_string();  // the ledger signed it: its row was gone
    {
      // The rows go back as they were: every table matches its first entries again.
      auto db = testing::open_insider(t.db_path());
      db->exec("DELETE FROM " + table);
      db->exec("INSERT INTO " + table + " SELECT * FROM saved");
    }
    auto r = l.verify();
    ASSERT_TRUE(r.is_ok());
    ASSERT_FALSE(r->intact()) << "a change signed twice passes verify";
    EXPECT_EQ(r->problems[0].log, "shuangjiang");
    EXPECT_EQ(r->problems[0].first_bad_index, c.entry) << r->problems[0].reason;
    EXPECT_NE(r->problems[0].reason.find(c.reason), std::string::npos) << r->problems[0].reason;
  }
}

TEST_F(LedgerTest, VerifyCatchesAVillagePointedAtAnotherLog) {
  ASSERT_TRUE(L().add_village({"huanglong", "黄龙村", "朱亭镇"}).is_ok());
  seed_november();
  auto db = tamper();
  db->exec("UPDATE villages SET log_id=-1 WHERE id='huanglong'");
  db->exec("UPDATE villages SET log_id=(SELECT id FROM logs WHERE name='huanglong') WHERE id='shuangjiang'");
  db->exec("UPDATE villages SET log_id=(SELECT id FROM logs WHERE name='shuangjiang') WHERE id='huanglong'");
  auto r = L().verify();
  ASSERT_FALSE(r->intact());
  EXPECT_NE(r->problems[0].reason.find("villages"), std::string::npos) << r->problems[0].reason;
}

// The time zone decides every date shown (an entry's month, a complaint's
// deadline, the day the overdue digest is due) and lives in `meta`, outside
// every log: each village registration records it, and verify compares.
TEST_F(LedgerTest, AMovedTimeZoneIsNamed) {
  seed_november();
  {
    auto db = tamper();
    db->exec("UPDATE meta SET value='0' WHERE key='utc_offset_minutes'");
  }
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].log, Ledger::kRegistryLog);
  EXPECT_EQ(r->problems[0].first_bad_index, 0u);
  EXPECT_NE(r->problems[0].reason.find("meta: the deployment's UTC offset is stored as 0 minutes"), std::string::npos)
      << r->problems[0].reason;
  EXPECT_NE(r->problems[0].reason.find("under 480"), std::string::npos) << r->problems[0].reason;
}

// A zone that is no number stops the ledger at open with a reason (it threw
// out of Ledger::open before, taking the process down).
TEST_F(LedgerTest, AStoredZoneThatIsNoNumberRefusesToOpen) {
  {
    auto db = tamper();
    db->exec("UPDATE meta SET value='eight' WHERE key='utc_offset_minutes'");
  }
  auto l = open_again();
  ASSERT_FALSE(l.is_ok());
  EXPECT_EQ(l.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(l.status().message().find("\"eight\" is not a time zone"), std::string::npos) << l.status().to_string();
}

// meta edited before a server starts (it reads the zone once, at open) and
// put back before its check: the stored zone matches again, the one the
// server reckons dates in does not, and verify names it.
TEST_F(LedgerTest, AZoneMovedOnlyWhileTheServerStartedIsNamed) {
  seed_november();
  {
    auto db = tamper();
    db->exec("UPDATE meta SET value='-720' WHERE key='utc_offset_minutes'");
  }
  auto started = open_again();
  ASSERT_TRUE(started.is_ok());
  tamper()->exec("UPDATE meta SET value='480' WHERE key='utc_offset_minutes'");
  EXPECT_TRUE(L().verify()->intact());  // a process that read 480
  auto r = (*started)->verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].reason.find("reckons dates at UTC offset -720"), std::string::npos) << r->problems[0].reason;
}

// The index column is not STRICT: a row stored with idx 1.5 reads as entry 1
// to getInt64(). It slipped forged admin entries into the replay (everything
// before the "missing" entry 2 was replayed, the forged rows too).
TEST_F(LedgerTest, ARowWithAFractionalIndexIsNamedAndNotReplayed) {
  SUNLEDGER_SQLITE_ONLY("its type affinity stores 1.5 in an INTEGER column; PostgreSQL's bigint refuses it");
  seed_november();
  {
    auto db = tamper();
    db->exec("INSERT INTO entries(log_id, idx, kind, month, leaf) SELECT log_id, 1.5, kind, month, leaf FROM entries "
             "WHERE idx=1 AND log_id=(SELECT id FROM logs WHERE name='shuangjiang')");
  }
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_FALSE(r->intact());
  EXPECT_EQ(r->problems[0].log, "shuangjiang");
  EXPECT_EQ(r->problems[0].first_bad_index, 1u);
  EXPECT_NE(r->problems[0].reason.find("claims index 1.5"), std::string::npos) << r->problems[0].reason;
  auto checked = L().checked_entries("shuangjiang");
  ASSERT_TRUE(checked.is_ok());
  EXPECT_FALSE(checked->intact);
  EXPECT_EQ(checked->entries.size(), 2u);  // entries 0 and 1; nothing from the slipped row on
  EXPECT_LE(checked->first_bad, 2u);
}

// Proofs are served from the stored subtree hashes: one deleted left verify
// saying intact while every proof over it failed.
TEST_F(LedgerTest, AMissingStoredHashIsNamed) {
  seed_november();
  {
    auto db = tamper();
    db->exec("DELETE FROM nodes WHERE level=1 AND idx=1 AND log_id=(SELECT id FROM logs WHERE name='shuangjiang')");
  }
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_FALSE(r->intact());
  EXPECT_EQ(r->problems[0].first_bad_index, 2u);
  EXPECT_NE(r->problems[0].reason.find("level 1 index 1 is missing"), std::string::npos) << r->problems[0].reason;
}

// A trigger runs inside every write: one added by hand could mark the
// tamper alarm delivered as it is queued or swallow every dedupe record,
// with every table still matching its log. Only the append-only triggers
// sunledger makes are allowed; any other is named.
TEST_F(LedgerTest, ATriggerAddedByHandIsNamed) {
  SUNLEDGER_SQLITE_ONLY("SQLite's trigger syntax and sqlite_master"
                        " (on PostgreSQL: PgLedgerTest.ADroppedTriggerAndAnEditedLeafAreNamed, ADisabledOrHollowedTriggerIsNamed and SchemaChangesByHandAreNamed in sql_tests)");
  seed_november();
  ASSERT_TRUE(L().verify()->intact());  // sunledger's own triggers pass
  for (const char* sql :
       {"CREATE TRIGGER quiet AFTER INSERT ON month_totals BEGIN SELECT 1; END",
        "CREATE TRIGGER month_totals_no_update BEFORE DELETE ON month_totals BEGIN SELECT RAISE(ABORT, 'x'); END",
        "CREATE TRIGGER month_totals_no_delete BEFORE DELETE ON month_totals BEGIN SELECT RAISE(IGNORE); END"}) {
    SCOPED_TRACE(sql);
    {
      SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
      db.exec(sql);
    }
    auto r = L().verify();
    ASSERT_TRUE(r.is_ok());
    ASSERT_EQ(r->problems.size(), 1u);
    EXPECT_EQ(r->problems[0].log, "schema");
    EXPECT_NE(r->problems[0].reason.find("is not one sunledger makes"), std::string::npos) << r->problems[0].reason;
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER " + std::string(std::string(sql).find("quiet") != std::string::npos ? "quiet"
                                          : std::string(sql).find("no_update") != std::string::npos ? "month_totals_no_update"
                                                                                                   : "month_totals_no_delete"));
  }
  EXPECT_TRUE(L().verify()->intact());
}

// A trigger in our own append-only form, on a table sunledger keeps no such
// trigger on, used to pass (only the form was checked): on a table the code
// updates it aborts every such update. Each trigger must now be exactly one a
// module registered: name, table and SQL.
TEST_F(LedgerTest, ATriggerInOurFormOnAnotherTableIsNamed) {
  SUNLEDGER_SQLITE_ONLY("SQLite's trigger syntax and sqlite_master"
                        " (on PostgreSQL: PgLedgerTest.ADroppedTriggerAndAnEditedLeafAreNamed, ADisabledOrHollowedTriggerIsNamed and SchemaChangesByHandAreNamed in sql_tests)");
  seed_november();
  for (const char* sql :
       {"CREATE TRIGGER month_totals_no_update BEFORE UPDATE ON month_totals BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
        "CREATE TRIGGER villages_no_delete BEFORE DELETE ON villages BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"}) {
    SCOPED_TRACE(sql);
    std::string name = std::string(sql).substr(15, std::string(sql).find(' ', 15) - 15);
    {
      SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
      db.exec(sql);
    }
    auto r = L().verify();
    ASSERT_TRUE(r.is_ok());
    ASSERT_EQ(r->problems.size(), 1u);
    EXPECT_EQ(r->problems[0].log, "schema");
    EXPECT_NE(r->problems[0].reason.find("trigger " + name + " "), std::string::npos) << r->problems[0].reason;
    EXPECT_NE(r->problems[0].reason.find("is not one sunledger makes"), std::string::npos) << r->problems[0].reason;
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER " + name);
  }
  EXPECT_TRUE(L().verify()->intact());
}

// A trigger dropped by hand is how an append-only row gets edited; the edit
// is caught by the hashes, and the missing trigger is named too, even once
// the edit was put back. Opening the ledger again does not quietly remake it.
TEST_F(LedgerTest, ADroppedTriggerIsNamed) {
  SUNLEDGER_SQLITE_ONLY("SQLite's trigger syntax and sqlite_master"
                        " (on PostgreSQL: PgLedgerTest.ADroppedTriggerAndAnEditedLeafAreNamed, ADisabledOrHollowedTriggerIsNamed and SchemaChangesByHandAreNamed in sql_tests)");
  seed_november();
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER month_closes_no_delete");
  }
  ASSERT_TRUE(open_again().is_ok());
  ASSERT_TRUE(Ledger::initialize(t.db_path(), L().origin()).is_ok());
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].log, "schema");
  EXPECT_NE(r->problems[0].reason.find("trigger month_closes_no_delete that keeps table month_closes append-only is missing"),
            std::string::npos)
      << r->problems[0].reason;
  // Changed rather than dropped: named once, as not ours.
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("CREATE TRIGGER month_closes_no_delete BEFORE DELETE ON month_closes BEGIN SELECT RAISE(IGNORE); END");
  }
  r = L().verify();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].reason.find("is not one sunledger makes"), std::string::npos) << r->problems[0].reason;
  // Put back exactly: intact.
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER month_closes_no_delete");
    for (const auto& trigger : append_only_triggers("month_closes", "the ledger is append-only"))
      if (trigger.name == "month_closes_no_delete") db.exec(trigger.sql);
  }
  EXPECT_TRUE(L().verify()->intact());
}

// Every table and view must be one a module makes, in one of the forms it
// registered: a table or a view added by hand, a column's type changed, a
// registered table gone. SQLite's own tables (sqlite_sequence, sqlite_stat1)
// are not ours to judge; a legacy table may be absent.
// SQLite builds each object from its SQL and ignores sqlite_master's type
// column: a trigger or index whose row says 'Trigger' or 'Index' (edited
// under PRAGMA writable_schema) still runs. verify reads every row, names a
// type SQLite never writes, and compares such an object as what it is. A
// registered index dropped is named too (queries that name it stop).
TEST_F(LedgerTest, VerifySeesObjectsWhoseTypeWasEditedAndDroppedIndexes) {
  SUNLEDGER_SQLITE_ONLY("sqlite_master edited with writable_schema"
                        " (on PostgreSQL: PgLedgerTest.ADroppedTriggerAndAnEditedLeafAreNamed, ADisabledOrHollowedTriggerIsNamed and SchemaChangesByHandAreNamed in sql_tests)");
  seed_november();
  {
    auto db = tamper();
    db->exec("CREATE TRIGGER zz_hide BEFORE INSERT ON entries WHEN NEW.leaf LIKE '%书记%' BEGIN SELECT RAISE(ABORT, 'x'); END");
    db->exec("CREATE UNIQUE INDEX zz_uniq ON entries(log_id) WHERE leaf LIKE '%书记%'");
    db->exec("CREATE VIEW zz_view AS SELECT 1");
    db->exec("PRAGMA writable_schema=ON");
    db->exec("UPDATE sqlite_master SET type='Trigger' WHERE name='zz_hide'");
    db->exec("UPDATE sqlite_master SET type='Index' WHERE name='zz_uniq'");
    db->exec("UPDATE sqlite_master SET type='View' WHERE name='zz_view'");
    db->exec("PRAGMA writable_schema=OFF");
  }
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  std::string all;
  for (const auto& p : r->problems) all += p.reason + "\n";
  for (const char* named : {"schema: zz_hide is stored as type 'Trigger', which SQLite never writes",
                            "schema: trigger zz_hide on table entries is not one sunledger makes",
                            "schema: zz_uniq is stored as type 'Index'", "schema: index zz_uniq on table entries is not one",
                            "schema: zz_view is stored as type 'View'", "schema: view zz_view is not one sunledger makes"})
    EXPECT_NE(all.find(named), std::string::npos) << named << "\n" << all;

  TestLedger fresh;
  fresh.ledger->expect_indexes({schema_index("CREATE INDEX IF NOT EXISTS zz_missing ON entries(idx)")});
  auto missing = fresh.ledger->verify();
  ASSERT_TRUE(missing.is_ok());
  std::string named;
  for (const auto& p : missing->problems) named += p.reason + "\n";
  EXPECT_NE(named.find("schema: index zz_missing that sunledger makes is missing (dropped by hand?)"), std::string::npos)
      << named;
}

TEST_F(LedgerTest, VerifyComparesTablesAndViews) {
  SUNLEDGER_SQLITE_ONLY("SQLite's table forms (fts5, WITHOUT ROWID, sqlite_sequence)"
                        " (on PostgreSQL: PgLedgerTest.ADroppedTriggerAndAnEditedLeafAreNamed, ADisabledOrHollowedTriggerIsNamed and SchemaChangesByHandAreNamed in sql_tests)");
  seed_november();
  {
    auto db = tamper();
    db->exec("CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO seq DEFAULT VALUES; DROP TABLE seq");
    db->exec("ANALYZE");  // sqlite_stat1
  }
  ASSERT_TRUE(L().verify()->intact());
  auto only_problem = [&](const std::string& named) {
    auto r = L().verify();
    ASSERT_TRUE(r.is_ok());
    ASSERT_EQ(r->problems.size(), 1u) << named;
    EXPECT_EQ(r->problems[0].log, "schema");
    EXPECT_EQ(r->problems[0].first_bad_index, 0u);
    EXPECT_NE(r->problems[0].reason.find(named), std::string::npos) << r->problems[0].reason;
  };
  struct Case {
    const char* tamper;
    const char* named;
    const char* undo;
  } cases[] = {
      {"CREATE TABLE notes(x)", "schema: table notes is not one sunledger makes (added by hand?): CREATE TABLE notes(x)",
       "DROP TABLE notes"},
      {"CREATE VIEW totals AS SELECT * FROM month_totals", "schema: view totals is not one sunledger makes", "DROP VIEW totals"},
      {"ALTER TABLE meta ADD COLUMN note TEXT DEFAULT ''", "schema: table meta is not as sunledger makes it",
       "ALTER TABLE meta DROP COLUMN note"},
      // A column's type changed, the rows copied: every row still matches its log.
      {"CREATE TABLE saved AS SELECT * FROM month_totals; DROP TABLE month_totals;"
       " CREATE TABLE month_totals(log_id INTEGER NOT NULL REFERENCES logs(id), month TEXT NOT NULL,"
       " income NUMERIC NOT NULL, expense INTEGER NOT NULL, PRIMARY KEY(log_id, month)) WITHOUT ROWID;"
       " INSERT INTO month_totals SELECT * FROM saved; DROP TABLE saved",
       "schema: table month_totals is not as sunledger makes it (columns or constraints changed by hand?): "
       "…", nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.tamper);
    tamper()->exec(c.tamper);
    only_problem(c.named);
    if (c.undo != nullptr) {
      tamper()->exec(c.undo);
      EXPECT_TRUE(L().verify()->intact());
    }
  }
  // A virtual table is named, and so is each table it keeps its rows in
  // (where this SQLite has fts5).
  bool have_fts5 = true;
  try {
    tamper()->exec("CREATE VIRTUAL TABLE search USING fts5(text)");
  } catch (const SQLite::Exception&) {
    have_fts5 = false;
  }
  if (have_fts5) {
    auto v = L().verify();
    std::string all;
    for (const auto& p : v->problems) all += p.reason + "\n";
    EXPECT_NE(all.find("schema: table search is not one sunledger makes (added by hand?): CREATE VIRTUAL TABLE search"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("schema: table search_data is not one sunledger makes"), std::string::npos) << all;
    tamper()->exec("DROP TABLE search");
  }
  // What differs is shown: the changed column.
  auto r = L().verify();
  EXPECT_NE(r->problems.back().reason.find("income NUMERIC NOT NULL"), std::string::npos) << r->problems.back().reason;

  // A table a module registers, missing; a legacy one may be.
  TestLedger fresh;
  fresh.ledger->expect_tables({schema_table("CREATE TABLE IF NOT EXISTS module_rows(k TEXT PRIMARY KEY)")});
  SchemaTable legacy = schema_table("CREATE TABLE IF NOT EXISTS old_rows(k TEXT PRIMARY KEY)");
  legacy.legacy = true;
  fresh.ledger->expect_tables({legacy});
  auto missing = fresh.ledger->verify();
  ASSERT_EQ(missing->problems.size(), 1u);
  EXPECT_EQ(missing->problems[0].reason, "schema: table module_rows that sunledger makes is missing (dropped by hand?)");
  // There as registered (with or without IF NOT EXISTS): intact; the legacy
  // one too, and not in another form.
  {
    SQLite::Database db(fresh.db_path(), SQLite::OPEN_READWRITE);
    db.exec("CREATE TABLE module_rows(k TEXT PRIMARY KEY)");
    db.exec("CREATE TABLE IF NOT EXISTS old_rows(k TEXT PRIMARY KEY)");
  }
  EXPECT_TRUE(fresh.ledger->verify()->intact());
  {
    SQLite::Database db(fresh.db_path(), SQLite::OPEN_READWRITE);
    db.exec("DROP TABLE old_rows; CREATE TABLE old_rows(k TEXT PRIMARY KEY COLLATE NOCASE)");
  }
  missing = fresh.ledger->verify();
  ASSERT_EQ(missing->problems.size(), 1u);
  EXPECT_NE(missing->problems[0].reason.find("table old_rows is not as sunledger makes it"), std::string::npos)
      << missing->problems[0].reason;
}

// SQLite keeps a column added by ALTER TABLE in the table's CREATE text,
// after the last column and before the table's constraints: the form a
// migrated deployment has, which table_sql_after() works out.
TEST(Schema, TableSqlAfterIsTheTextSQLiteKeeps) {
  const char* const add_sig[] = {"ALTER TABLE seen_members ADD COLUMN sig BLOB"};
  EXPECT_EQ(table_sql_after("CREATE TABLE IF NOT EXISTS seen_members(bot TEXT NOT NULL, user TEXT NOT NULL,"
                            " village TEXT NOT NULL, first_seen INTEGER NOT NULL, PRIMARY KEY(bot, user, village))",
                            add_sig),
            "CREATE TABLE seen_members(bot TEXT NOT NULL, user TEXT NOT NULL, village TEXT NOT NULL, first_seen INTEGER "
            "NOT NULL, sig BLOB, PRIMARY KEY(bot, user, village))");
  const char* const two[] = {"ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x'", "ALTER TABLE t ADD COLUMN c"};
  EXPECT_EQ(table_sql_after("CREATE TABLE t(a INTEGER)", two), "CREATE TABLE t(a INTEGER, b TEXT NOT NULL DEFAULT 'x', c)");
  SchemaTable t = schema_table("CREATE TABLE IF NOT EXISTS  t(a INTEGER)");
  EXPECT_EQ(t.name, "t");
  ASSERT_EQ(t.sql.size(), 1u);
  EXPECT_EQ(t.sql[0], "CREATE TABLE t(a INTEGER)");
  const char* const statements[] = {"CREATE TABLE IF NOT EXISTS a(x)", "CREATE INDEX IF NOT EXISTS a_x ON a(x)",
                                    "CREATE TABLE b(y)"};
  auto tables = tables_among(statements);
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].name, "a");
  EXPECT_EQ(tables[1].name, "b");
}

TEST_F(LedgerTest, VerifyNamesAnUnknownLog) {
  EXPECT_EQ(L().verify("nowhere").status().code(), Code::kNotFound);
  auto r = L().verify();
  EXPECT_TRUE(r->intact());
  EXPECT_EQ(r->logs_checked, 2u);  // the village's and the village registry's
}

TEST(CanonicalJson, SortedCompactUtf8) {
  nlohmann::json j = {{"b", 1}, {"a", "双江村"}, {"c", {{"z", true}, {"y", nullptr}}}};
  EXPECT_EQ(*canonical_json(j), "{\"a\":\"双江村\",\"b\":1,\"c\":{\"y\":null,\"z\":true}}");
  EXPECT_FALSE(canonical_json(nlohmann::json("\xff")).is_ok());
}

TEST(Validation, Transactions) {
  auto ok = txn("2022-11-02", true, "上级拨款", "到账", 100);
  EXPECT_TRUE(validate_transaction(ok).is_ok());
  auto t = ok;
  t.item = std::string(300, 'x');
  EXPECT_FALSE(validate_transaction(t).is_ok());
  t = ok;
  t.note = "line\nbreak";
  EXPECT_FALSE(validate_transaction(t).is_ok());
  t = ok;
  t.amount = kMaxAmountFen + 1;
  EXPECT_FALSE(validate_transaction(t).is_ok());
  EXPECT_FALSE(validate_project({"有 空格", 100, false}).is_ok());
  EXPECT_TRUE(validate_village({"a-1", "村", "镇"}).is_ok());
  EXPECT_FALSE(validate_subsidy({"低保", "张*三", "x", std::string(64, 'a'), 100, 0}).is_ok());
}

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {

}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {
TEST(MonthTotals, RunningTotalsAreKeptAndVerified) {
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {testing::txn("2022-11-02", true, "其他", "b", 1000),
                                                          testing::txn("2022-11-03", false, "其他", "b", 300)},
                                          testing::official()).is_ok());
  ASSERT_TRUE(t.ledger->reverse("shuangjiang", 1, "错了", testing::official()).is_ok());
  MonthTotals totals;
  ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) {
    auto r = txn.month_totals("shuangjiang", "2022-11");
    if (r.is_ok()) totals = *r;
    return r.status();
  }).is_ok());
  EXPECT_EQ(totals.income, 1000);
  EXPECT_EQ(totals.expense, 0);
  EXPECT_TRUE(t.ledger->verify()->intact());
  testing::open_insider(t.db_path())->exec("UPDATE month_totals SET expense=5");
  auto r = t.ledger->verify();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].reason.find("running totals"), std::string::npos);
}
}  // namespace
}  // namespace sunledger

namespace sunledger {
namespace {
// An online backup taken while another thread writes is consistent, and a
// folder holding only the verifier key can verify it but not write.
TEST(Backup, ConsistentWhileWritingAndVerifiableWithTheVerifierKeyOnly) {
  SUNLEDGER_SQLITE_ONLY("SQLite's backup API; on PostgreSQL backup names pg_dump (CliOnPostgres.BackupIsRefusedNamingPgDump)");
  testing::TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 2000; ++i)
      (void)t.ledger->post_transactions("shuangjiang", {testing::txn("2022-11-02", true, "其他", "b", 100 + i)},
                                        testing::official());  // may fail while the reader holds the file: not checked
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string dest = t.dir.file("backup.db");
  Status s = t.ledger->backup(dest);
  stop = true;
  writer.join();
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  struct stat st{};
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(t.ledger->backup(dest).code(), Code::kAlreadyExists);

  auto vk = VerifierOnlyKey::parse(t.ledger->verifier_key());
  ASSERT_TRUE(vk.is_ok());
  Ledger::Options o;
  o.db_path = dest;
  o.signer = vk->get();
  o.clock = &t.clock;
  auto copy = Ledger::open(o);
  ASSERT_TRUE(copy.is_ok());
  auto r = (*copy)->verify();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->intact()) << (r->problems.empty() ? "" : r->problems[0].reason);
  EXPECT_GT(r->entries_checked, 0u);
  EXPECT_EQ((*copy)->post_transactions("shuangjiang", {testing::txn("2022-11-02", true, "其他", "b", 1)}, testing::official()).status().code(),
            Code::kPermissionDenied);
  EXPECT_FALSE(VerifierOnlyKey::parse("garbage").is_ok());
}

// The ledger's commits leave WAL checkpoints to its own thread, and the
// ledger still reads what it wrote while they run.
TEST_F(LedgerTest, CheckpointsTheWalInTheBackground) {
  SUNLEDGER_SQLITE_ONLY("SQLite's WAL; PostgreSQL checkpoints its own");
  EXPECT_GT(Ledger::storage_memory_bytes(), 0);
  for (int i = 0; i < 400 && L().wal_checkpoints_done() == 0; ++i)
    ASSERT_TRUE(L().post_transactions("shuangjiang", {txn("2022-12-01", true, "其他", "第" + std::to_string(i) + "笔", 1)},
                                      official())
                    .is_ok());
  for (int i = 0; i < 300 && L().wal_checkpoints_done() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT(L().wal_checkpoints_done(), 0u);
  auto report = L().verify("shuangjiang");
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->intact());
  EXPECT_GT(report->entries_checked, 1u);
}

// verify checks the logs on two threads; what it reports must not depend on
// which thread checked which log.
TEST_F(LedgerTest, VerifyReportsEveryTamperedLogInNameOrder) {
  const std::vector<std::string> others = {"v-a", "v-b", "v-c", "v-d", "v-e", "v-f"};
  for (const auto& v : others) {
    ASSERT_TRUE(L().add_village({v, v, "朱亭镇"}).is_ok());
    ASSERT_TRUE(L().post_transactions(v, {txn("2022-11-02", true, "上级拨款", "到账", 100 * kYuan),
                                          txn("2022-11-03", false, "办公费", "打印纸", 2 * kYuan),
                                          txn("2022-11-04", false, "办公费", "墨盒", 3 * kYuan)},
                                      official()).is_ok());
  }
  seed_november();
  ASSERT_TRUE(L().verify()->intact());
  {
    auto db = tamper();
    db->exec("DELETE FROM entries WHERE idx=1 AND log_id=(SELECT id FROM logs WHERE name='v-b')");
    db->exec("UPDATE entries SET leaf=replace(leaf, '300', '800') WHERE idx=2 AND log_id=(SELECT id FROM logs WHERE name='v-e')");
    db->exec("UPDATE entries SET month='2022-10' WHERE idx=5 AND log_id=(SELECT id FROM logs WHERE name='shuangjiang')");
  }
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  // Seven village logs and the registry ("villages", one entry per village).
  EXPECT_EQ(r->logs_checked, 8u);
  EXPECT_EQ(r->entries_checked, 6 * 3 + 6 - 1u + 7);
  ASSERT_EQ(r->problems.size(), 3u);
  EXPECT_EQ(r->problems[0].log, "shuangjiang");
  EXPECT_EQ(r->problems[0].first_bad_index, 5u);
  EXPECT_EQ(r->problems[1].log, "v-b");
  EXPECT_EQ(r->problems[1].first_bad_index, 1u);
  EXPECT_EQ(r->problems[2].log, "v-e");
  EXPECT_EQ(r->problems[2].first_bad_index, 2u);
}

// Each log is checked within one read snapshot, its size and checkpoint
// included, so a server writing while verify runs never looks like tampering.
TEST_F(LedgerTest, VerifyStaysIntactWhileWritesGoOn) {
  const std::vector<std::string> villages = {"shuangjiang", "v-a", "v-b", "v-c"};
  for (size_t i = 1; i < villages.size(); ++i) ASSERT_TRUE(L().add_village({villages[i], villages[i], "朱亭镇"}).is_ok());
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  // At most 3,000 posts: verify's rounds grow with the logs, and a writer
  // unbounded on a loaded machine (or under ASan) outran them past the
  // test's timeout; the first rounds race the writes all the same.
  std::thread writer([&] {
    for (int i = 0; !stop && i < 3000; ++i)
      if (L().post_transactions(villages[i % villages.size()], {txn("2022-11-02", true, "其他", "第" + std::to_string(i) + "笔", 1)},
                                official()).is_ok())
        ++written;
  });
  // Hundreds of rounds: a log read outside its snapshot fails within a few.
  // A round on PostgreSQL costs several times one on SQLite (44 s of the
  // suite's run for 300): a fifth of them there still races the writes.
  const int rounds = testing::test_db_is_postgresql() ? 60 : 300;
  for (int k = 0; k < rounds; ++k) {
    auto r = L().verify();
    if (!r.is_ok() || !r->intact()) {
      ADD_FAILURE() << (r.is_ok() ? r->problems[0].log + ": " + r->problems[0].reason : r.status().to_string());
      break;
    }
  }
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), 0);
}

// The indexed columns are compared with the fields of the signed bytes: bytes
// that are not JSON, or a second "kind" key (the last one counts, as when the
// entry is read), do not match them.
TEST_F(LedgerTest, VerifyComparesTheColumnsWithTheParsedLeaf) {
  ASSERT_TRUE(L().add_village({"huanglong", "黄龙村", "朱亭镇"}).is_ok());
  seed_november();
  ASSERT_TRUE(L().post_transactions("huanglong", {txn("2022-11-02", true, "上级拨款", "到账", 100 * kYuan),
                                                  txn("2022-11-03", false, "办公费", "打印纸", 2 * kYuan)},
                                    official()).is_ok());
  {
    auto db = tamper();
    db->exec("UPDATE entries SET leaf=CAST('{\"kind\":\"txn\",' AS BLOB) WHERE idx=3 AND log_id=(SELECT id FROM logs WHERE name='shuangjiang')");
    db->exec("UPDATE entries SET leaf=replace(leaf, '\"village\":', '\"kind\":\"project\",\"village\":') "
             "WHERE idx=1 AND log_id=(SELECT id FROM logs WHERE name='huanglong')");
  }
  auto r = L().verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->problems.size(), 2u);
  EXPECT_EQ(r->problems[0].log, "huanglong");
  EXPECT_EQ(r->problems[0].first_bad_index, 1u);
  EXPECT_NE(r->problems[0].reason.find("indexed columns"), std::string::npos) << r->problems[0].reason;
  EXPECT_EQ(r->problems[1].log, "shuangjiang");
  EXPECT_EQ(r->problems[1].first_bad_index, 3u);
  EXPECT_NE(r->problems[1].reason.find("indexed columns"), std::string::npos) << r->problems[1].reason;
}
// Issue #16: the same line posted twice (the same date, direction, amount,
// item and counterparty within 30 days) is refused naming the earlier entry,
// unless marked as intended; a reversed line may be posted again.
TEST_F(LedgerTest, AnIdenticalLineWithinThirtyDaysIsRefusedUnlessMarked) {
  auto line = [](const char* counterparty = "某工程队") {
    TransactionLine l = txn("2022-12-01", false, "工程款", "水渠修缮", 157'600 * kYuan);
    l.counterparty = counterparty;
    return l;
  };
  auto first = L().post_transactions("shuangjiang", {line()}, official());
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  uint64_t first_idx = first->indexes[0];
  uint64_t size = *L().log_size("shuangjiang");

  auto again = L().post_transactions("shuangjiang", {line()}, official());
  ASSERT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_NE(again.status().message().find("#" + std::to_string(first_idx)), std::string::npos) << again.status().message();
  EXPECT_NE(again.status().message().find("重复:确认"), std::string::npos);
  EXPECT_EQ(*L().log_size("shuangjiang"), size);  // nothing written
  // An invisible character or an odd space in the item makes no new line: it is refused.
  for (const char* hidden : {"水渠修缮\xE2\x80\x8B", "水渠修缮\xE3\x80\x80", "水渠\xC2\xA0修缮"}) {
    TransactionLine l = line();
    l.item = hidden;
    EXPECT_EQ(L().post_transactions("shuangjiang", {l}, official()).status().code(), Code::kInvalidArgument) << hidden;
  }

  // Two identical lines in one post: the second names the first.
  TransactionLine a = txn("2022-12-02", false, "办公费", "打印纸", 350 * kYuan);
  auto both = L().post_transactions("shuangjiang", {a, a}, official());
  ASSERT_EQ(both.status().code(), Code::kAlreadyExists);
  EXPECT_NE(both.status().message().find("第2行: 与第1行完全相同"), std::string::npos) << both.status().message();

  // Whatever differs makes it another line.
  EXPECT_TRUE(L().post_transactions("shuangjiang", {line("另一工程队")}, official()).is_ok());
  TransactionLine other_day = line();
  other_day.date = "2022-12-03";
  EXPECT_TRUE(L().post_transactions("shuangjiang", {other_day}, official()).is_ok());

  // Marked as intended: booked, and the entry says so.
  TransactionLine meant = line();
  meant.repeat = true;
  auto marked = L().post_transactions("shuangjiang", {meant}, official());
  ASSERT_TRUE(marked.is_ok()) << marked.status().to_string();
  auto e = L().entries("shuangjiang", marked->indexes[0], marked->indexes[0] + 1);
  EXPECT_EQ((*e)[0].fields["repeat"], true);
  // A third, unmarked, names the newest of the two.
  auto third = L().post_transactions("shuangjiang", {line()}, official());
  ASSERT_EQ(third.status().code(), Code::kAlreadyExists);
  EXPECT_NE(third.status().message().find("#" + std::to_string(marked->indexes[0])), std::string::npos);

  // Both reversed: posting it again is the correction, not a double.
  ASSERT_TRUE(L().reverse("shuangjiang", first_idx, "记错了", official()).is_ok());
  ASSERT_TRUE(L().reverse("shuangjiang", marked->indexes[0], "记错了", official()).is_ok());
  EXPECT_TRUE(L().post_transactions("shuangjiang", {line()}, official()).is_ok());

  // Thirty days later the same line is an ordinary new line.
  TransactionLine b = txn("2022-12-04", false, "办公费", "墨盒", 120 * kYuan);
  ASSERT_TRUE(L().post_transactions("shuangjiang", {b}, official()).is_ok());
  t.clock.advance(30 * 86400 + 1);
  EXPECT_TRUE(L().post_transactions("shuangjiang", {b}, official()).is_ok());
  EXPECT_TRUE(L().verify()->intact());
}

// A database made before the duplicate check (and the chart of accounts) gets
// its index at open, filled from the signed entries, and verify finds it intact; the check then sees the
// lines posted before.
TEST_F(LedgerTest, ADatabaseWithoutTheDuplicateIndexGetsItAtOpen) {
  SUNLEDGER_SQLITE_ONLY("the upgrade of a SQLite database made before the duplicate index; no PostgreSQL database predates it");
  seed_november();
  t.ledger.reset();
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("DROP TABLE line_keys");  // its triggers go with it
    db.exec("DROP TABLE account_maps");  // made before the chart of accounts too
  }
  auto reopened = open_again();
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  t.ledger = std::move(*reopened);
  EXPECT_TRUE(L().verify()->intact());
  auto again = L().post_transactions("shuangjiang", {txn("2022-11-25", false, "办公费", "打印纸", 350 * kYuan)}, official());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists) << again.status().to_string();
  SQLite::Database db(t.db_path(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND tbl_name='line_keys'").getInt(), 2);
}

// During an upgrade a new CLI command beside the old server makes the table;
// the old server's lines posted after that have no row. The next open adds
// the rows at the end of each log, so verify stays intact and the check sees
// those lines.
TEST_F(LedgerTest, LinesAnOlderServerPostedGetTheirRowsAtTheNextOpen) {
  seed_november();
  tamper()->exec("DELETE FROM line_keys WHERE idx >= 4");  // what the old server never wrote
  t.ledger.reset();
  auto reopened = open_again();
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  t.ledger = std::move(*reopened);
  EXPECT_TRUE(L().verify()->intact());
  auto again = L().post_transactions("shuangjiang", {txn("2022-11-25", false, "办公费", "打印纸", 350 * kYuan)}, official());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists) << again.status().to_string();
}

}  // namespace
}  // namespace sunledger
