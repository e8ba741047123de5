// 核验 with a pasted checkpoint (issue #15 item 6), against a real ledger file
// and a real bot: a genuine older checkpoint, mangled as chat apps mangle
// text, is consistent; a fork made the way an operator would make one (the
// database copied, the same key, a different entry at the same index) is
// kept as evidence and pushed to the village's inspectors only; a forged
// signature, another origin or garbage is refused and keeps nothing.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "bot/bot.h"
#include "bot/fork_reports.h"
#include "bot/outbox.h"
#include "checker/checker.h"
#include "ledger/crypto.h"
#include "ledger/evidence_pins.h"
#include "ledger/tlog_tiles.h"
#include "insider.h"
#include "support/pg_cluster.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::official;
using testing::txn;

constexpr const char* kBot = "generic";
constexpr const char* kGroup = "shuangjiang-group";
constexpr const char* kOrigin = "lukou.example/sunledger";

struct ForkReport : ::testing::Test {
  testing::TestLedger t{kOrigin, Bot::reserved_log_names()};
  std::unique_ptr<Bot> bot;
  int next_id = 0;

  void make_bot() {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    o.commands_per_minute = 0;
    o.reaches_person = [](const std::string&) { return true; };
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
  }

  void SetUp() override {
    make_bot();
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"baima", "白马村", "南洲镇"}).is_ok());
    ASSERT_TRUE(bot->bind_group("shuangjiang", kBot, kGroup).is_ok());
    ASSERT_TRUE(bot->bind_group("baima", kBot, "baima-group").is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "zhuting-inspector", "", Role::kInspector, "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "nanzhou-inspector", "", Role::kInspector, "南洲镇"}).is_ok());
    post(*t.ledger, "打印纸");
    post(*t.ledger, "墨盒");
  }

  static void post(Ledger& l, const std::string& item, const std::string& date = "2022-12-01") {
    auto r = l.post_transactions("shuangjiang", {txn(date, false, "办公费", item, 10000)}, official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }

  std::string say(const std::string& text, bool group = true) {
    InboundMessage m;
    m.bot_id = kBot;
    m.chat_id = group ? kGroup : "private-li";
    m.group = group;
    m.sender_id = "shuangjiang-villager-li";
    m.sender_name = "李大爷";
    m.text = text;
    m.message_id = "m" + std::to_string(++next_id);
    auto r = bot->handle(m);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? r->text : "";
  }

  std::string checkpoint() { return *t.ledger->checkpoint("shuangjiang"); }

  std::vector<OutboxMessage> pushes() {
    auto due = Outbox(t.ledger.get()).due(t.clock.now_unix_seconds() + 86400, 1000);
    EXPECT_TRUE(due.is_ok());
    return due.is_ok() ? *due : std::vector<OutboxMessage>{};
  }

  std::vector<fork_reports::Report> reports() {
    auto r = fork_reports::reports(*t.ledger);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : std::vector<fork_reports::Report>{};
  }

  // Makes a fork the way an operator would: stops, copies the database, and
  // writes `forked_items` into the copy with the same key, `honest_items`
  // into the original. Returns the copy's latest checkpoint; the bot runs on
  // the original again.
  std::string fork(const std::vector<std::string>& honest_items, const std::vector<std::string>& forked_items) {
    bot.reset();
    t.ledger.reset();
    testing::TempDir copy;
    for (const auto& e : std::filesystem::directory_iterator(t.dir.path()))
      std::filesystem::copy(e.path(), copy.path() / e.path().filename());
    auto open = [&](const std::string& db) {
      Ledger::Options o = t.options(Bot::reserved_log_names(), db);
      return Ledger::open(o);
    };
    // On PostgreSQL the database is not in the folder: a copy of its own.
    std::string copied = testing::test_db_is_postgresql() ? testing::pg_copy_of(t.db_path()) : copy.file("sunledger.db");
    std::string forked_note;
    {
      auto forked = open(copied);
      EXPECT_TRUE(forked.is_ok());
      for (const auto& item : forked_items) post(**forked, item);
      forked_note = *(*forked)->checkpoint("shuangjiang");
    }
    auto honest = open(t.db_path());
    EXPECT_TRUE(honest.is_ok());
    t.ledger = std::move(*honest);
    for (const auto& item : honest_items) post(*t.ledger, item);
    make_bot();
    return forked_note;
  }
};

// What a chat app does to pasted text: CR LF, spaces and full-width spaces
// around lines, blank lines before and after.
std::string mangled(const std::string& note) {
  std::string out = "\r\n\xE3\x80\x80";
  for (char c : note) out += c == '\n' ? std::string("  \r\n\xE3\x80\x80") : std::string(1, c);
  return out + "\r\n\r\n";
}

TEST_F(ForkReport, AGenuineOlderCheckpointIsConsistent) {
  std::string saved = checkpoint();
  post(*t.ledger, "信封");
  post(*t.ledger, "胶水");
  for (const std::string& text : {"核验\n" + saved, "核验" + mangled(saved), "verify " + saved}) {
    std::string r = say(text);
    EXPECT_NE(r.find("一致:今天的账本包含您保存的全部"), std::string::npos) << r;
    EXPECT_EQ(r.find("不一致"), std::string::npos) << r;
  }
  // Today's own checkpoint, and in private chat.
  std::string r = say("核验\n" + checkpoint(), false);
  EXPECT_NE(r.find("一致:"), std::string::npos) << r;
  EXPECT_TRUE(reports().empty());
  EXPECT_TRUE(pushes().empty());
}

TEST_F(ForkReport, ANoticesWholeProofBlockIsAcceptedAndItsCheckpointChecked) {
  post(*t.ledger, "水泥", "2022-11-20");
  auto published = bot->publish("shuangjiang", "2022-11", official());
  ASSERT_TRUE(published.is_ok()) << published.status().to_string();
  ASSERT_NE(published->notice.find("c2sp.org/tlog-proof@v1"), std::string::npos) << published->notice;
  size_t queued = pushes().size();  // the notice to the groups
  post(*t.ledger, "信封");
  std::string r = say("核验 " + mangled(published->notice));
  EXPECT_NE(r.find("一致:今天的账本包含您保存的全部"), std::string::npos) << r;
  EXPECT_EQ(pushes().size(), queued);
}

TEST_F(ForkReport, ACopiedDatabaseWrittenDifferentlyIsKeptAndPushedToInspectorsOnly) {
  // The same size, a different entry at the same index.
  std::string forked = fork({"墨盒 (真)"}, {"墨盒 (改)"});
  std::string today = checkpoint();
  ASSERT_EQ(forked.substr(0, forked.find('\n', forked.find('\n') + 1)),
            today.substr(0, today.find('\n', today.find('\n') + 1)));  // same origin and size
  ASSERT_NE(forked, today);
  std::string r = say("核验" + mangled(forked));
  EXPECT_NE(r.find("不一致"), std::string::npos) << r;
  EXPECT_NE(r.find("已保存为证据,并已私信报告给1位纪检监察人员"), std::string::npos) << r;
  auto kept = reports();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].village, "shuangjiang");
  EXPECT_EQ(kept[0].log_checkpoint, today);
  // The stored checkpoint is the mended note: it still verifies under the key.
  auto opened = open_checkpoint(kept[0].checkpoint, t.ledger->verifier_key());
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  // Pushed to the inspector whose town holds the village, privately, with
  // both checkpoints; nothing to any group, nothing to the other town's.
  auto sent = pushes();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].chat_id, "zhuting-inspector");
  EXPECT_EQ(sent[0].audience, Audience::kPerson);
  EXPECT_NE(sent[0].text.find("账本分叉证据"), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find(forked.substr(0, forked.find("\n\n"))), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find(today.substr(0, today.find("\n\n"))), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find("李大爷"), std::string::npos) << sent[0].text;
  // Pasted again: recognised, not stored or pushed twice.
  r = say("核验\n" + forked, false);
  EXPECT_NE(r.find("此前已经有人报告过"), std::string::npos) << r;
  EXPECT_EQ(reports().size(), 1u);
  EXPECT_EQ(pushes().size(), 1u);
  // The evidence log is one verify passes.
  auto problems = bot->verify_deployment();
  ASSERT_TRUE(problems.is_ok());
  EXPECT_TRUE(problems->empty()) << (*problems)[0].reason;
}

TEST_F(ForkReport, AForkThatGrewOrWasOvertakenIsCaughtBothWays) {
  // The copy wrote one different entry and grew past the original: its tree
  // is larger than today's (a rollback, seen from the group that saw it).
  std::string larger = fork({"墨盒 (真)"}, {"墨盒 (改)", "信封", "胶水"});
  std::string r = say("核验\n" + larger);
  EXPECT_NE(r.find("账本被回滚或改写过"), std::string::npos) << r;
  // The original grows past the copy: today's first entries are not the ones
  // the copy's smaller checkpoint signed (the consistency proof fails).
  post(*t.ledger, "订书机");
  post(*t.ledger, "文件夹");
  post(*t.ledger, "档案盒");
  r = say("核验\n" + larger);
  EXPECT_NE(r.find("条记录和您保存的不一样"), std::string::npos) << r;
  EXPECT_EQ(reports().size(), 1u);  // the same checkpoint, reported once
  EXPECT_EQ(pushes().size(), 1u);
}

TEST_F(ForkReport, AForgedSignatureAnotherOriginOrGarbageIsRefusedAndKeepsNothing) {
  std::string note = checkpoint();
  // The root changed, the signature kept.
  std::string changed = note;
  size_t root_at = changed.find('\n', changed.find('\n') + 1) + 1;
  changed[root_at] = changed[root_at] == 'A' ? 'B' : 'A';
  std::string r = say("核验\n" + changed);
  EXPECT_NE(r.find("签名不对"), std::string::npos) << r;
  // Signed by another key under the log key's name.
  testing::TempDir other;
  auto impostor = Ed25519KeyFile::create(other.file("key.pem"), t.key->key_name());
  ASSERT_TRUE(impostor.is_ok());
  auto opened = open_checkpoint(note, t.ledger->verifier_key());
  ASSERT_TRUE(opened.is_ok());
  Checkpoint fake = *opened;
  fake.root[0] ^= 1;
  auto forged = sign_checkpoint(fake, **impostor);
  ASSERT_TRUE(forged.is_ok());
  r = say("核验\n" + *forged);
  EXPECT_NE(r.find("签名不对"), std::string::npos) << r;
  // Another deployment's origin, a log that is no village's, and garbage.
  Checkpoint elsewhere = *opened;
  elsewhere.origin = "evil.example/sunledger/shuangjiang";
  r = say("核验\n" + *sign_checkpoint(elsewhere, *t.key));
  EXPECT_NE(r.find("不是本县任何一个村账本的"), std::string::npos) << r;
  Checkpoint complaints = *opened;
  complaints.origin = std::string(kOrigin) + "/complaints";
  r = say("核验\n" + *sign_checkpoint(complaints, *t.key));
  EXPECT_NE(r.find("不是本县任何一个村账本的"), std::string::npos) << r;
  r = say("核验\n你好\n我保存的核验码 — 找不到了");
  EXPECT_NE(r.find("没有在消息里找到核验码"), std::string::npos) << r;
  // Over the chat message limit: refused before it is read.
  r = say("核验\n" + std::string(20000, 'x') + "\n" + note);
  EXPECT_NE(r.find("消息太长"), std::string::npos) << r;
  EXPECT_TRUE(reports().empty());
  EXPECT_TRUE(pushes().empty());
  // A plain 核验 still answers about a month.
  EXPECT_EQ(say("核验 2022-13").find("没有在消息里找到核验码"), std::string::npos);
}

// The evidence names no reporter: the forks log's leaf (which anyone who gets
// a copy of the database reads) holds neither the sender's name, id nor chat,
// and is timed to the day only. Junk signature lines pasted after a real
// forked checkpoint do not stop the report.
TEST_F(ForkReport, TheEvidenceNamesNoReporterAndJunkAroundItChangesNothing) {
  std::string forked = fork({"墨盒 (真)"}, {"墨盒 (改)"});
  std::string junk;
  for (int i = 0; i < 100; ++i) junk += "\xE2\x80\x94 junk" + std::to_string(i) + " AAAA\n";
  std::string r = say("核验 我家保存的\n" + forked + junk + "\n谢谢");
  EXPECT_NE(r.find("已保存为证据,并已私信报告给1位纪检监察人员"), std::string::npos) << r;
  std::string leaves;
  ASSERT_TRUE(t.ledger->read([&](Ledger::ReadTxn& read) -> Status {
                    return read.leaves(fork_reports::kLogName, 0, [&](uint64_t, std::string_view leaf) { leaves += leaf; });
                  }).is_ok());
  ASSERT_FALSE(leaves.empty());
  for (const char* who : {"李大爷", "shuangjiang-villager-li", kGroup, "private-li"})
    EXPECT_EQ(leaves.find(who), std::string::npos) << who << " in " << leaves;
  auto entries = t.ledger->entries(fork_reports::kLogName, 0, 1);
  ASSERT_TRUE(entries.is_ok());
  std::string at = (*entries)[0].fields.value("recorded_at", "");
  EXPECT_EQ(at, "2022-12-04T16:00:00Z");  // the day only: the start of 2022-12-05 in China, not 10:00 when it came
}

// A signed log of evidence: an insider with sqlite3 (no key needed) removes the
// forks log whole, its entries, hashes and row, the way it never existed.
// The village's own log (which witnesses cosign) pins the evidence with a
// signed fork_reported entry, so verify names the missing entry.
TEST_F(ForkReport, AnInsiderWhoDeletesTheForksLogIsNamedByVerify) {
  std::string forked = fork({"墨盒 (真)"}, {"墨盒 (改)"});
  ASSERT_NE(say("核验\n" + forked).find("已保存为证据"), std::string::npos);
  ASSERT_EQ(reports().size(), 1u);
  bot.reset();
  t.ledger.reset();
  {
    auto db = testing::open_insider(t.db_path());
    int64_t log_id = db->value("SELECT id FROM logs WHERE name='forks'");
    ASSERT_GT(log_id, 0);
    for (const char* sql : {"DELETE FROM entries WHERE log_id=?", "DELETE FROM nodes WHERE log_id=?", "DELETE FROM logs WHERE id=?"}) {
      auto& q = db->statement(sql);
      q.bind(1, log_id);
      q.exec();
    }
  }
  Ledger::Options o = t.options(Bot::reserved_log_names());
  auto reopened = Ledger::open(o);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  t.ledger = std::move(*reopened);
  make_bot();
  EXPECT_TRUE(reports().empty());  // the evidence is gone
  auto v = t.ledger->verify();
  ASSERT_TRUE(v.is_ok());
  EXPECT_FALSE(v->intact()) << "the forks log was deleted whole and verify says intact";
  auto problems = bot->verify_deployment();
  ASSERT_TRUE(problems.is_ok());
  std::string all;
  for (const auto& p : *problems) all += p.log + " #" + std::to_string(p.first_bad_index) + ": " + p.reason + "\n";
  EXPECT_NE(all.find("forks #0: entry #0 of log forks is missing (deleted by hand?), but village shuangjiang's entry #"),
            std::string::npos)
      << all;
}

// The pin itself: a fork_reported entry in the village's log, with no month,
// naming the forks entry and the SHA-256 of its leaf.
TEST_F(ForkReport, TheEvidenceIsPinnedInTheVillagesLog) {
  std::string forked = fork({"墨盒 (真)"}, {"墨盒 (改)"});
  uint64_t before = *t.ledger->log_size("shuangjiang");
  ASSERT_NE(say("核验\n" + forked).find("已保存为证据"), std::string::npos);
  ASSERT_EQ(*t.ledger->log_size("shuangjiang"), before + 1);
  auto pin = t.ledger->entries("shuangjiang", before, before + 1);
  auto evidence = t.ledger->entries(fork_reports::kLogName, 0, 1);
  ASSERT_TRUE(pin.is_ok() && evidence.is_ok());
  const auto& f = (*pin)[0].fields;
  EXPECT_EQ(entry_string(f, "kind"), kForkReportedKind);
  EXPECT_EQ(entry_string(f, "log"), fork_reports::kLogName);
  EXPECT_EQ(f.value("index", uint64_t{99}), 0u);
  EXPECT_EQ(entry_string(f, "leaf_sha256"), hex_encode(sha256((*evidence)[0].leaf)));
  EXPECT_FALSE(f.contains("month"));
  // Pasted again: nothing more pinned.
  say("核验\n" + forked);
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), before + 1);
}

// Only the evidence leaf changed by an insider with sqlite3: edited (another
// village named in it) or truncated. The forks log's own checkpoint fails,
// and the pin names the entry as not the evidence that was reported.
TEST_F(ForkReport, AnEvidenceLeafEditedOrTruncatedIsNamedByItsPin) {
  std::string forked = fork({"墨盒 (真)"}, {"墨盒 (改)"});
  ASSERT_NE(say("核验\n" + forked).find("已保存为证据"), std::string::npos);
  post(*t.ledger, "信封");  // the pin is not the last entry of the village's log
  for (const char* edit : {"UPDATE entries SET leaf=replace(leaf, 'shuangjiang', 'baima') WHERE log_id=(SELECT id FROM logs WHERE name='forks')",
                           "UPDATE entries SET leaf=substr(leaf, 1, 40) WHERE log_id=(SELECT id FROM logs WHERE name='forks')"}) {
    testing::TempDir copy;
    std::string copied = copy.file("sunledger.db");
    if (testing::test_db_is_postgresql()) {
      // A copy of the database (no backup API there), made with nothing connected to it.
      bot.reset();
      t.ledger.reset();
      copied = testing::pg_copy_of(t.db_path());
      auto again = Ledger::open(t.options(Bot::reserved_log_names()));
      ASSERT_TRUE(again.is_ok()) << again.status().to_string();
      t.ledger = std::move(*again);
      make_bot();
    } else {
      ASSERT_TRUE(t.ledger->backup(copied).is_ok());
    }
    {
      auto db = testing::open_insider(copied);
      ASSERT_EQ(db->dynamic(edit).exec(), 1);
    }
    Ledger::Options o = t.options(Bot::reserved_log_names(), copied);
    auto edited = Ledger::open(o);
    ASSERT_TRUE(edited.is_ok()) << edited.status().to_string();
    auto v = (*edited)->verify();
    ASSERT_TRUE(v.is_ok());
    std::string all;
    for (const auto& p : v->problems) all += p.log + " #" + std::to_string(p.first_bad_index) + ": " + p.reason + "\n";
    EXPECT_NE(all.find("forks #0: entry #0 of log forks is not the evidence that was reported"), std::string::npos)
        << edit << "\n" << all;
    // The village's log itself is intact: only the evidence is named.
    for (const auto& p : v->problems) EXPECT_NE(p.log, "shuangjiang") << p.reason;
  }
}

// A fork report is no money: the month's statement, its running totals and
// the independent checker's sums over the tiles are what they would be
// without it, and verify is intact.
TEST_F(ForkReport, AForkReportChangesNoMoneyFigure) {
  post(*t.ledger, "水泥", "2022-11-20");
  std::string forked = fork({"墨盒 (真)"}, {"墨盒 (改)"});
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {txn("2022-11-21", true, "上级拨款", "到账", 500000)}, official()).is_ok());
  ASSERT_NE(say("核验\n" + forked).find("已保存为证据"), std::string::npos);
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {txn("2022-11-22", false, "办公费", "胶水", 1234)}, official()).is_ok());
  auto month = t.ledger->month_entries("shuangjiang", "2022-11");
  ASSERT_TRUE(month.is_ok());
  Fen income = 0, expense = 0;
  for (const auto& e : **month) {
    ASSERT_EQ(entry_string(e.fields, "kind"), "txn");  // the pin is in no month
    (entry_string(e.fields, "direction") == "income" ? income : expense) += entry_fen(e.fields, "amount");
  }
  ASSERT_EQ((*month)->size(), 3u);
  auto published = bot->publish("shuangjiang", "2022-11", official());
  ASSERT_TRUE(published.is_ok()) << published.status().to_string();
  const auto& st = published->close.statement;
  EXPECT_EQ(entry_fen(st, "income_total"), income);
  EXPECT_EQ(entry_fen(st, "expense_total"), expense);
  EXPECT_EQ(st.value("entry_count", int64_t{-1}), static_cast<int64_t>((*month)->size()));
  EXPECT_EQ(st.value("last_index", int64_t{-1}), static_cast<int64_t>((*month)->back().index));
  auto v = t.ledger->verify();
  ASSERT_TRUE(v.is_ok());
  EXPECT_TRUE(v->intact()) << v->problems[0].reason;
  // The checker, fed the tiles the server serves, adds every month up again.
  TileFetch fetch = [&](const std::string& path) -> Result<FetchAnswer> {
    if (path == "checkpoint") return FetchAnswer{200, *t.ledger->checkpoint("shuangjiang")};
    auto id = parse_tile_path(path);
    if (!id) return FetchAnswer{404, ""};
    auto tile = t.ledger->tile("shuangjiang", *id);
    return tile.is_ok() ? FetchAnswer{200, *tile} : FetchAnswer{404, ""};
  };
  CheckReport r = check_log(fetch, CheckOptions{t.ledger->verifier_key(), {}, ""});
  std::string all;
  for (const auto& line : r.lines) all += line + "\n";
  EXPECT_TRUE(r.ok) << all;
  EXPECT_EQ(r.statements, 1u) << all;
  EXPECT_EQ(r.entries, *t.ledger->log_size("shuangjiang"));
}

}  // namespace
}  // namespace sunledger
