// Stored cosignatures are only as good as their signatures (issue #15,
// integrity gap): an insider with sqlite3 inserts rows into the cosignatures
// table (a line made up, a genuine line moved to another checkpoint, a
// genuine line of a witness nobody configured) or edits the forks log, on a
// real ledger whose genuine cosignatures come from a real `sunledger witness
// serve`. Nothing forged is served (the checkpoint, the month's checkpoint a
// notice carries), and verify names each problem.
#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "bot/bot.h"
#include "bot/fork_reports.h"
#include "insider.h"
#include "ledger/ledger.h"
#include "ledger/tlog_proof.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"
#include "web/public_web.h"
#include "webhooks/witness_submitter.h"
#include "witness_support.h"

namespace sunledger::testing {
namespace {

constexpr const char* kOrigin = "lukou.example/sunledger";

// The cosignatures table as deployments before the line was in its key made it.
std::string ledger_internal_old_table() {
  return "CREATE TABLE cosignatures(log_id INTEGER NOT NULL REFERENCES logs(id), size INTEGER NOT NULL, root BLOB NOT "
         "NULL, witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY(log_id, size, witness))";
}

struct Witness {
  std::string dir;
  std::string key;
  WitnessProcess server;
  WitnessConfig config() const {
    return {dir.substr(dir.rfind('/') + 1), "http://127.0.0.1:" + std::to_string(server.port), key};
  }
  std::string name() const { return key.substr(0, key.find('+')); }
};

struct CosignatureIntegrity : ::testing::Test {
  TestLedger t{kOrigin, Bot::reserved_log_names()};
  TempDir tmp;
  Witness a, b, c;
  std::unique_ptr<HttpClient> client = make_http_client(HttpClientOptions{});

  void init(Witness& w, const std::string& name, bool start) {
    w.dir = tmp.file(name);
    auto out = run_command(sunledger(w.dir, "witness init --name witness.zhuting.example/" + name));
    ASSERT_EQ(out.exit_code, 0) << out.output;
    w.key = out.output.substr(0, out.output.find('\n'));
    auto add = run_command(sunledger(w.dir, "witness add-log --origin-prefix " + std::string(kOrigin) + "/ --key '" +
                                                t.ledger->verifier_key() + "'"));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    if (start) w.server.start(w.dir);
  }

  void SetUp() override {
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    init(a, "w1", true);
    init(b, "w2", false);  // configured, never up: it cosigned nothing
    init(c, "w3", true);   // a real witness the deployment does not trust
    // What bots.json configures: a and b.
    t.ledger->set_witness_keys({a.key, b.key});
  }

  void post(const std::string& item, const std::string& date = "2022-12-01") {
    auto r = t.ledger->post_transactions("shuangjiang", {txn(date, false, "办公费", item, 10000)}, official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  // One submitter round to the given witnesses; the cosignatures it stored
  // on the village's log (the registry log goes to them too).
  size_t round(std::vector<WitnessConfig> witnesses) {
    auto rows = [&] {
      SQLite::Database db(t.db_path(), SQLite::OPEN_READONLY);
      return static_cast<size_t>(
          db.execAndGet("SELECT count(*) FROM cosignatures WHERE log_id=(SELECT id FROM logs WHERE name='shuangjiang')")
              .getInt64());
    };
    size_t before = rows();
    BotOptions o;  // the refusals' signed record (the admin log)
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    Bot bot(t.ledger.get(), o);
    EXPECT_TRUE(bot.initialize().is_ok());
    WitnessSubmitter s(t.ledger.get(), &bot, std::move(witnesses), client.get(), WitnessSubmitterOptions{});
    auto n = s.round();
    EXPECT_TRUE(n.is_ok()) << n.status().to_string();
    return n.is_ok() ? rows() - before : 0;
  }
  uint64_t size() { return *t.ledger->log_size("shuangjiang"); }
  // The genuine line of a witness at a size, as stored.
  std::string stored_line(const std::string& witness, uint64_t at) {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT line FROM cosignatures WHERE witness=? AND size=? AND log_id=(SELECT id FROM logs"
                            " WHERE name='shuangjiang')");
    q.bind(1, witness);
    q.bind(2, static_cast<int64_t>(at));
    return q.executeStep() ? q.getColumn(0).getString() : "";
  }
  // What an insider does: a row inserted into the append-only table (an
  // INSERT, which no trigger refuses).
  void insert_row(uint64_t at, const std::string& witness, const std::string& line) {
    auto root = t.ledger->root("shuangjiang", at);
    ASSERT_TRUE(root.is_ok());
    auto db = open_as_insider(t.db_path());
    SQLite::Statement q(*db,
                        "INSERT INTO cosignatures(log_id, size, root, witness, line) "
                        "SELECT id, ?, ?, ?, ? FROM logs WHERE name='shuangjiang'");
    q.bind(1, static_cast<int64_t>(at));
    q.bind(2, root->data(), 32);
    q.bind(3, witness);
    q.bind(4, line);
    ASSERT_EQ(q.exec(), 1);
  }
  // Every problem verify names, one a line.
  std::string problems() {
    auto r = t.ledger->verify();
    EXPECT_TRUE(r.is_ok());
    std::string out;
    if (r.is_ok())
      for (const auto& p : r->problems) out += p.log + " #" + std::to_string(p.first_bad_index) + ": " + p.reason + "\n";
    return out;
  }
};

TEST_F(CosignatureIntegrity, GenuineCosignaturesAreServedAndPassVerify) {
  post("打印纸");
  ASSERT_EQ(round({a.config()}), 1u);
  std::string note = *t.ledger->checkpoint("shuangjiang");
  EXPECT_TRUE(verify_cosignature(note, a.key).is_ok()) << note;
  EXPECT_EQ(problems(), "");
  // A witness dropped from the configuration vouches for nothing any more:
  // its cosignature is not served, and verify names the row.
  t.ledger->set_witness_keys({b.key});
  note = *t.ledger->checkpoint("shuangjiang");
  EXPECT_FALSE(verify_cosignature(note, a.key).is_ok()) << note;
  EXPECT_NE(problems().find("witness " + a.name() + " is not configured"), std::string::npos) << problems();
}

// A witness marked "retired" in bots.json is asked no more; its key still
// vouches for what it cosigned, so verify stays clean.
TEST_F(CosignatureIntegrity, ARetiredWitnessIsNotAskedButItsCosignaturesStayValid) {
  post("打印纸");
  ASSERT_EQ(round({a.config()}), 1u);
  post("墨盒");
  WitnessConfig retired = a.config();
  retired.retired = true;
  EXPECT_EQ(round({retired}), 0u);
  EXPECT_EQ(t.ledger->checkpoint("shuangjiang")->find(a.name()), std::string::npos);
  EXPECT_EQ(problems(), "");
}

TEST_F(CosignatureIntegrity, ALineMadeUpIsNeitherServedNorPassesVerify) {
  post("打印纸");
  ASSERT_EQ(round({a.config()}), 1u);
  uint64_t n = size();
  // Witness b never cosigned: the insider writes its line with a's signature
  // bytes under b's name (any bytes would do; these at least decode).
  std::string line = stored_line(a.name(), n);
  ASSERT_FALSE(line.empty());
  std::string forged = std::string("\xE2\x80\x94 ") + b.name() + line.substr(line.rfind(' '));
  insert_row(n, b.name(), forged);
  std::string note = *t.ledger->checkpoint("shuangjiang");
  EXPECT_EQ(note.find(b.name()), std::string::npos) << note;
  EXPECT_TRUE(verify_cosignature(note, a.key).is_ok()) << note;  // the genuine one still is
  std::string found = problems();
  EXPECT_NE(found.find("shuangjiang #" + std::to_string(n) + ": cosignatures: witness " + b.name() +
                       "'s cosignature does not verify under its configured key"),
            std::string::npos)
      << found;
}

TEST_F(CosignatureIntegrity, AGenuineLineMovedToAnotherCheckpointIsNeitherServedNorPassesVerify) {
  post("打印纸", "2022-11-20");
  ASSERT_EQ(round({a.config()}), 1u);
  uint64_t cosigned = size();
  std::string line = stored_line(a.name(), cosigned);
  // The month closes while witness a is away: its checkpoint and the
  // notice's proof block would carry a's line if the row were believed.
  a.server.stop();
  auto close = t.ledger->close_month("shuangjiang", "2022-11", official());
  ASSERT_TRUE(close.is_ok()) << close.status().to_string();
  uint64_t month_size = close->tree_size;
  ASSERT_GT(month_size, cosigned);
  insert_row(month_size, a.name(), line);
  auto month = t.ledger->month_close("shuangjiang", "2022-11");
  ASSERT_TRUE(month.is_ok());
  EXPECT_EQ(month->checkpoint.find(a.name()), std::string::npos) << month->checkpoint;
  EXPECT_EQ(t.ledger->checkpoint("shuangjiang")->find(a.name()), std::string::npos);
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), o);
  ASSERT_TRUE(bot.initialize().is_ok());
  auto notice = bot.monthly_notice("shuangjiang", "2022-11");
  ASSERT_TRUE(notice.is_ok());
  EXPECT_EQ(notice->find(a.name()), std::string::npos) << *notice;
  std::string found = problems();
  EXPECT_NE(found.find("shuangjiang #" + std::to_string(month_size) + ": cosignatures: witness " + a.name() +
                       "'s cosignature does not verify"),
            std::string::npos)
      << found;
  // Nor does the moved row count as where the witness stands (it would
  // have the witness taken for one holding a larger tree): back up, the
  // witness is asked from what it really cosigned, and cosigns what follows.
  a.server.log.clear();
  a.server.port = 0;
  a.server.start(a.dir);
  post("墨盒");
  round({a.config()});
  EXPECT_TRUE(verify_cosignature(*t.ledger->checkpoint("shuangjiang"), a.key).is_ok());
  EXPECT_TRUE(t.ledger->witness_refusals()->empty());
}

TEST_F(CosignatureIntegrity, AGenuineLineOfAWitnessNobodyConfiguredIsNeitherServedNorPassesVerify) {
  post("打印纸");
  // Witness c is real and cosigns, but bots.json does not name it: the row
  // stands for nothing the deployment trusts.
  ASSERT_EQ(round({c.config()}), 1u);
  std::string note = *t.ledger->checkpoint("shuangjiang");
  EXPECT_EQ(note.find(c.name()), std::string::npos) << note;
  std::string found = problems();
  EXPECT_NE(found.find("cosignatures: witness " + c.name() + " is not configured"), std::string::npos) << found;
}

TEST_F(CosignatureIntegrity, ARowOnASizeBeyondTheLogFailsVerify) {
  post("打印纸");
  ASSERT_EQ(round({a.config()}), 1u);
  uint64_t n = size();
  std::string line = stored_line(a.name(), n);
  {
    auto db = open_as_insider(t.db_path());
    SQLite::Statement q(*db,
                        "INSERT INTO cosignatures(log_id, size, root, witness, line) SELECT log_id, size+5, root, witness, "
                        "line FROM cosignatures WHERE witness=? AND log_id=(SELECT id FROM logs WHERE name='shuangjiang')");
    q.bind(1, a.name());
    ASSERT_EQ(q.exec(), 1);
  }
  std::string found = problems();
  EXPECT_NE(found.find("cosignature is on size " + std::to_string(n + 5) + " but the log holds only " + std::to_string(n)),
            std::string::npos)
      << found;
}

// A forged row put in a witness's slot (log, size, witness) before the
// witness answers: the genuine cosignature is still stored beside it and
// served, the forged one is not, and verify names it.
TEST_F(CosignatureIntegrity, AForgedRowInTheSlotDoesNotKeepTheGenuineCosignatureOut) {
  post("打印纸");
  uint64_t n = size();
  std::string forged = std::string("\xE2\x80\x94 ") + a.name() + " " + base64_encode(std::string(76, '\x01'));
  insert_row(n, a.name(), forged);
  EXPECT_EQ(round({a.config()}), 1u);
  std::string note = *t.ledger->checkpoint("shuangjiang");
  EXPECT_TRUE(verify_cosignature(note, a.key).is_ok()) << note;
  EXPECT_EQ(note.find(forged), std::string::npos) << note;
  size_t lines = 0;
  for (size_t at = note.find(a.name()); at != std::string::npos; at = note.find(a.name(), at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << note;  // one line of the witness, the genuine one
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT count(*) FROM cosignatures WHERE witness=? AND size=? AND log_id=(SELECT id FROM "
                            "logs WHERE name='shuangjiang')");
    q.bind(1, a.name());
    q.bind(2, static_cast<int64_t>(n));
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getInt(), 2);
  }
  std::string found = problems();
  EXPECT_NE(found.find("shuangjiang #" + std::to_string(n) + ": cosignatures: witness " + a.name() +
                       "'s cosignature does not verify under its configured key"),
            std::string::npos)
      << found;
  // The witness is up to date: a genuine cosignature stored once is not
  // stored again, and the next checkpoint is cosigned as usual.
  EXPECT_TRUE(t.ledger->add_cosignature("shuangjiang", note, a.key).is_ok());
  post("墨盒");
  EXPECT_EQ(round({a.config()}), 1u);
  EXPECT_TRUE(verify_cosignature(*t.ledger->checkpoint("shuangjiang"), a.key).is_ok());
  EXPECT_TRUE(t.ledger->witness_refusals()->empty());
}

// A month's checkpoint both witnesses were carried past before they
// cosigned it (handed a later one first, as another node's submitter does):
// the later checkpoint the quorum cosigned serves a held notice instead
// (Ledger::later_cosigned_inclusion). Rows an insider made up for a size in
// between, under the witnesses' own names, are looked at and passed over;
// a witness the deployment does not trust counts for nothing.
TEST_F(CosignatureIntegrity, ALaterCheckpointCountsOnlyWhereTheQuorumReallyCosigned) {
  b.server.start(b.dir);
  post("打印纸", "2022-11-20");
  auto close = t.ledger->close_month("shuangjiang", "2022-11", official());
  ASSERT_TRUE(close.is_ok()) << close.status().to_string();
  uint64_t month_size = close->tree_size;
  post("墨盒");
  post("胶水");
  ASSERT_EQ(size(), month_size + 2);
  EXPECT_EQ(t.ledger->later_cosigned_inclusion("shuangjiang", close->statement_index, month_size, {a.key, b.key}, 2)
                .status()
                .code(),
            Code::kNotFound);
  // Both handed the latest checkpoint first: neither goes back to the month's.
  auto latest = t.ledger->checkpoint("shuangjiang");
  ASSERT_TRUE(latest.is_ok());
  for (Witness* w : {&a, &b}) {
    auto r = w->server.post("old 0\n\n" + *latest);
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  }
  for (Witness* w : {&a, &b})
    insert_row(month_size + 1, w->name(),
               std::string("\xE2\x80\x94 ") + w->name() + " " + base64_encode(std::string(76, '\x01')));
  round({a.config(), b.config()});
  EXPECT_FALSE(verify_cosignature(t.ledger->month_close("shuangjiang", "2022-11")->checkpoint, b.key).is_ok());
  auto later = t.ledger->later_cosigned_inclusion("shuangjiang", close->statement_index, month_size, {a.key, b.key}, 2);
  ASSERT_TRUE(later.is_ok()) << later.status().to_string();
  EXPECT_EQ(later->size, month_size + 2);  // not the made-up rows' size
  EXPECT_TRUE(t.ledger->witness_refusals()->empty());  // carried past is no fork
  TlogProof p{close->statement_leaf, close->statement_index, later->proof, later->checkpoint};
  auto checked = verify_tlog_proof(p, t.ledger->verifier_key(), {a.key, b.key});
  EXPECT_TRUE(checked.is_ok()) << checked.status().to_string() << "\n" << later->checkpoint;
  // Witness c cosigns too, but bots.json does not name it: no quorum with it.
  round({c.config()});
  EXPECT_EQ(t.ledger->later_cosigned_inclusion("shuangjiang", close->statement_index, month_size, {a.key, c.key}, 2)
                .status()
                .code(),
            Code::kNotFound);
}

// A deployment made when the slot was (log, size, witness): its table is
// rebuilt at open with the line in the key, rows and triggers kept, and the
// schema check is clean.
TEST_F(CosignatureIntegrity, AnOlderCosignaturesTableIsRebuiltAtOpen) {
  post("打印纸");
  ASSERT_EQ(round({a.config()}), 1u);
  std::string note = *t.ledger->checkpoint("shuangjiang");
  t.ledger.reset();
  {
    auto db = open_as_insider(t.db_path());
    db->exec("CREATE TEMP TABLE kept AS SELECT * FROM cosignatures");
    db->exec("DROP TABLE cosignatures");
    db->exec(ledger_internal_old_table());
    db->exec("CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures BEGIN SELECT RAISE(ABORT, 'the ledger "
             "is append-only'); END");
    db->exec("CREATE TRIGGER cosignatures_no_delete BEFORE DELETE ON cosignatures BEGIN SELECT RAISE(ABORT, 'the ledger "
             "is append-only'); END");
    db->exec("INSERT INTO cosignatures SELECT * FROM kept");
  }
  Ledger::Options o = t.options(Bot::reserved_log_names());
  auto reopened = Ledger::open(o);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  t.ledger = std::move(*reopened);
  t.ledger->set_witness_keys({a.key, b.key});
  BotOptions bo;  // its tables (the submitter's bot made them) are expected again
  bo.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), bo);
  ASSERT_TRUE(bot.initialize().is_ok());
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT sql FROM sqlite_master WHERE name='cosignatures'");
    ASSERT_TRUE(q.executeStep());
    EXPECT_NE(q.getColumn(0).getString().find("PRIMARY KEY(log_id, size, witness, line)"), std::string::npos);
  }
  EXPECT_EQ(*t.ledger->checkpoint("shuangjiang"), note);
  EXPECT_EQ(problems(), "");
}

// The month page and the notice are cached by what they show: a
// cosignature arriving after the first render (the month closed while the
// witness was away) is on the next GET.
TEST_F(CosignatureIntegrity, ACosignatureArrivingAfterAPageWasRenderedIsOnTheNextGet) {
  post("打印纸", "2022-11-20");
  auto close = t.ledger->close_month("shuangjiang", "2022-11", official());
  ASSERT_TRUE(close.is_ok()) << close.status().to_string();
  BotOptions bo;
  bo.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), bo);
  ASSERT_TRUE(bot.initialize().is_ok());
  web::PublicWeb site(t.ledger.get(), &bot, web::WebOptions{});
  for (const std::string path : {"/villages/shuangjiang/2022-11", "/villages/shuangjiang/2022-11/notice"}) {
    auto first = site.get(path);
    ASSERT_TRUE(first && first->status == 200) << path;
    EXPECT_EQ(first->body.find(a.name()), std::string::npos) << path;
    auto again = site.get(path);  // from the cache
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, first->body);
  }
  uint64_t renders = site.renders();
  ASSERT_EQ(round({a.config()}), 1u);  // the month's checkpoint is the log's latest: cosigned
  ASSERT_EQ(*t.ledger->log_size("shuangjiang"), close->tree_size);  // the log did not grow
  for (const std::string path : {"/villages/shuangjiang/2022-11", "/villages/shuangjiang/2022-11/notice"}) {
    auto page = site.get(path);
    ASSERT_TRUE(page && page->status == 200) << path;
    EXPECT_NE(page->body.find(a.name()), std::string::npos) << path;
  }
  EXPECT_EQ(site.renders(), renders + 2);
}
// The forks log is a signed log like the others: an entry deleted or edited
// is named by verify.
TEST_F(CosignatureIntegrity, AForksEntryDeletedOrEditedFailsVerify) {
  post("打印纸");
  std::string old_note = *t.ledger->checkpoint("shuangjiang");
  post("墨盒");
  std::string today = *t.ledger->checkpoint("shuangjiang");
  ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) -> Status {
    auto r = fork_reports::record(txn, "shuangjiang", old_note, today);
    return r.is_ok() ? Status::ok() : r.status();
  }).is_ok());
  post("信封");  // the forks log is not the last thing written
  ASSERT_EQ(problems(), "");
  TempDir copy;
  ASSERT_TRUE(t.ledger->backup(copy.file("edited.db")).is_ok());
  {
    auto db = open_as_insider(t.db_path());
    db->exec("DELETE FROM entries WHERE log_id=(SELECT id FROM logs WHERE name='forks')");
    ASSERT_GT(db->getChanges(), 0);
  }
  std::string found = problems();
  EXPECT_NE(found.find("forks #0"), std::string::npos) << found;
  {
    auto db = open_as_insider(copy.file("edited.db"));
    db->exec("UPDATE entries SET leaf=replace(leaf, 'shuangjiang', 'shuangjianh') "
             "WHERE log_id=(SELECT id FROM logs WHERE name='forks')");
    ASSERT_GT(db->getChanges(), 0);
  }
  Ledger::Options o = t.options(Bot::reserved_log_names(), copy.file("edited.db"));
  auto edited = Ledger::open(o);
  ASSERT_TRUE(edited.is_ok());
  auto r = (*edited)->verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_FALSE(r->problems.empty());
  EXPECT_EQ(r->problems[0].log, "forks") << r->problems[0].reason;
}

}  // namespace
}  // namespace sunledger::testing
