// Review R15 (session 13) of the signed witness refusals (issue #15): the
// insider with sqlite3 and no key, and the forger of a witness's answers on
// plain HTTP, against the submitter of witness_submitter_test.cc (its
// fixture: witness_submission.h).
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "bot/bot.h"
#include "ledger/ledger.h"
#include "webhooks/witness_submitter.h"
#include "insider.h"
#include "witness_submission.h"

namespace sunledger::testing {
namespace {

using submission::WitnessSubmission;

// Review R15 (session 13), an insider with sqlite3 and no key: a row put into
// witness_refusals by hand before a genuine refusal keeps its place
// (Ledger::refuse_witness inserts ON CONFLICT DO NOTHING and then records
// nothing), so the refusal the server then makes is alarmed but never signed:
// no witness_refused entry holds the size the witness holds, and verify names
// only the planted row, with its made-up size and reason. Fixed:
// refuse_witness replaces a row there already (ON CONFLICT DO UPDATE) and
// signs the refusal in the same write.
TEST_F(WitnessSubmission, AGenuineRefusalIsSignedWhenARowPutInByHandHoldsItsPlace) {
  uint64_t witnessed = 0;
  {
    auto db = open_as_insider(t.db_path(), 5000);
    witnessed = roll_back_deliveries_log({a.config()}, *db);
    db->exec("INSERT INTO witness_refusals(log_id, witness, witness_size, reason, at) SELECT id, "
             "'witness.zhuting.example/w1', 1, 'x', 0 FROM logs WHERE name='deliveries'");
  }
  auto s = submitter({a.config()});
  ASSERT_TRUE(s->round().is_ok());
  ASSERT_GE(alarms.size(), 2u) << "the planted row, then the witness's genuine refusal";
  auto admin = t.ledger->entries("admin", 0, *t.ledger->log_size("admin"));
  ASSERT_TRUE(admin.is_ok());
  bool signed_refusal = false;
  for (const auto& e : *admin)
    signed_refusal |= entry_string(e.fields, "op") == "witness_refused" && entry_string(e.fields, "log") == "deliveries" &&
                      e.fields.value("witness_size", uint64_t{0}) == witnessed;
  EXPECT_TRUE(signed_refusal) << "the witness refused the rolled-back deliveries log (holding " << witnessed
                              << "), and no signed entry records it";
}

// Review R15 (session 13), an insider with sqlite3 and no key: the one-time
// list of the rows an older version made is written at serve's first start,
// not when the deployment is made, so on a deployment this version made, a
// row put in by hand between `init` and the first `serve` is listed as an
// older version's and obeyed from then on: the witness is not asked about
// that log, no one is told, verify finds nothing. Fixed: the write that
// starts a new deployment's admin log (Bot::initialize) writes the empty
// list (serve's start keeps writing it for a deployment an older version
// made).
TEST_F(WitnessSubmission, ARowPutInByHandBeforeTheFirstStartIsNotTakenForAnOlderVersions) {
  post(*t.ledger, "打印纸");
  open_as_insider(t.db_path(), 5000)
      ->exec("INSERT INTO witness_refusals(log_id, witness, witness_size, reason, at) SELECT id, "
             "'witness.zhuting.example/w1', 1, 'x', 0 FROM logs WHERE name='shuangjiang'");
  auto s = submitter({a.config()});
  ASSERT_TRUE(s->round().is_ok());
  EXPECT_EQ(alarms.size(), 1u) << "a row put in by hand before the first start was obeyed unannounced";
  EXPECT_TRUE(verify_cosignature(*t.ledger->checkpoint("shuangjiang"), a.key).is_ok()) << "the witness was not asked";
  auto problems = bot->verify_deployment();
  ASSERT_TRUE(problems.is_ok());
  EXPECT_EQ(problems->size(), 1u);
}

// The same through the real binary: `init` signs the (empty) list, so a row
// put in by hand before the first `serve` is named by `witness-refusals list`
// and by verify, not taken for an older version's.
TEST(WitnessRefusalsAtInit, ARowPutInByHandBeforeTheFirstServeIsNamed) {
  TempDir tmp;
  const std::string data = tmp.file("lukou");
  auto sl = [&](const std::string& args) { return run_command("timeout 60 " + sunledger(data, args)); };
  ASSERT_EQ(sl("init --origin lukou.example/sunledger").exit_code, 0);
  auto added = sl("village add --id shuangjiang --name 双江村 --town 朱亭镇");
  ASSERT_EQ(added.exit_code, 0) << added.output;
  open_as_insider(data + "/sunledger.db", 5000)
      ->exec("INSERT INTO witness_refusals(log_id, witness, witness_size, reason, at) SELECT id, "
             "'witness.zhuting.example/w1', 1, 'x', 0 FROM logs WHERE name='shuangjiang'");
  auto list = sl("witness-refusals list");
  EXPECT_NE(list.output.find("NOT in the signed admin log"), std::string::npos) << list.output;
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_NE(v.output.find("no admin log entry records it"), std::string::npos) << v.output;
}

// Review R15 (session 13), defended: a refusal the server signed and the
// inspectors cleared, put back by hand with its exact values (a replay of
// the signed entry), is not taken for the server's: the clearing came after it.
TEST_F(WitnessSubmission, ARefusalPutBackByHandAfterItWasClearedIsNamed) {
  post(*t.ledger, "打印纸");
  ASSERT_TRUE(bot->list_witness_refusals_before().is_ok());
  ASSERT_TRUE(bot->refuse_witness("shuangjiang", "witness.zhuting.example/w1", 5, "它持有5条").is_ok());
  auto rows = t.ledger->witness_refusals();
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1u);
  const WitnessRefusal r = (*rows)[0];
  ASSERT_TRUE(bot->clear_witness_refusal("shuangjiang", r.witness, "纪委李", "核对过").is_ok());
  {
    auto db = open_as_insider(t.db_path(), 5000);
    SQLite::Statement q(*db, "INSERT INTO witness_refusals(log_id, witness, witness_size, reason, at) SELECT id, ?, ?, "
                             "?, ? FROM logs WHERE name='shuangjiang'");
    q.bind(1, r.witness);
    q.bind(2, static_cast<int64_t>(r.witness_size));
    q.bind(3, r.reason);
    q.bind(4, r.at);
    ASSERT_EQ(q.exec(), 1);
  }
  auto judged = bot->witness_refusals();
  ASSERT_TRUE(judged.is_ok());
  EXPECT_TRUE(judged->recorded.empty()) << "a cleared refusal put back by hand was obeyed";
  EXPECT_EQ(judged->unrecorded.size(), 1u);
  auto problems = bot->verify_deployment();
  ASSERT_TRUE(problems.is_ok());
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_NE((*problems)[0].reason.find("no admin log entry records it"), std::string::npos) << (*problems)[0].reason;
}

// Review R15 (session 13), the runbook's step 5: a refusal the inspectors
// cleared before the submitter's next round (the runbook's forget and clear
// done within one interval) was kept by the submitter as one "whose write was
// refused", and that witness was not asked again for the rest of the run.
// Fixed: a refusal whose row was written is known to stand from the start.
TEST_F(WitnessSubmission, ARefusalClearedBeforeTheNextRoundIsAskedAgain) {
  roll_back_deliveries_log({a.config()}, *open_as_insider(t.db_path(), 5000));
  auto s = submitter({a.config()});
  ASSERT_TRUE(s->round().is_ok());
  ASSERT_EQ(alarms.size(), 1u);
  ASSERT_TRUE(bot->clear_witness_refusal("deliveries", "witness.zhuting.example/w1", "纪委李", "核对过").is_ok());
  ASSERT_TRUE(s->round().is_ok());
  EXPECT_EQ(alarms.size(), 2u) << "cleared at once, the witness was not asked again in this run";
}

// Review R15 (session 13), a forger of answers on the plain-HTTP path: a 409
// carries an unsigned size, so anyone between the server and a witness can
// answer "409 999" and the server stops asking that witness, signs a refusal
// and tells the inspectors that "the log was rolled back or forked", with no
// word that the answer could be forged. Fixed: the alarm (and the signed
// reason) says the witness's answer is unsigned and names the check that
// settles it (`witness list-logs` at the township), and the README
// recommends https:// for a witness across a network.
TEST_F(WitnessSubmission, AForged409SaysItIsUnsignedInItsAlarm) {
  post(*t.ledger, "打印纸");
  httplib::Server forger;
  forger.Post("/add-checkpoint", [](const httplib::Request&, httplib::Response& res) {
    res.status = 409;
    res.set_content("999\n", "text/x.tlog.size");
  });
  int port = forger.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { forger.listen_after_bind(); });
  WitnessConfig forged = a.config();
  forged.url = "http://127.0.0.1:" + std::to_string(port);
  auto s = submitter({forged});
  auto n = s->round();
  forger.stop();
  serving.join();
  ASSERT_TRUE(n.is_ok());
  ASSERT_FALSE(alarms.empty()) << "the forged 409 was not taken for a refusal";
  EXPECT_NE(alarms[0].find("list-logs"), std::string::npos)
      << "the alarm accuses the log of a rollback on an unsigned answer: " << alarms[0];
}

}  // namespace
}  // namespace sunledger::testing
