// The submitter as `serve` runs it (issue #15): the real `sunledger serve`
// on the demo's data folder with a witness in its bots.json, and a real
// `sunledger witness serve`, both on 127.0.0.1 port 0. A post in chat, then
// the witness's state reaches the log's size and every served checkpoint
// carries its cosignature. Then an insider forges cosignature rows with
// sqlite3: none is served (tiles, read API, 核验, the notice page), serve's
// check at start and `sunledger verify` name them.
#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "app/server_process.h"
#include "insider.h"
#include "witness_support.h"

namespace sunledger::testing {
namespace {

using nlohmann::json;

struct WitnessServe : ::testing::Test {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  std::string w1_dir() const { return dir.file("w1"); }
  std::string w1_key, w2_key;
  WitnessProcess w1;

  CommandResult sl(const std::string& args) { return run_command("timeout 60 " + sunledger(data(), args)); }
  std::string secret_raw() {
    json cfg = json::parse(read_file(data() + "/bots.json"));
    auto s = base64_decode(cfg["bots"][0]["secret"].get<std::string>().substr(6));
    return s.is_ok() ? *s : "";
  }
  std::string say(int port, const std::string& id, const std::string& text, const std::string& user) {
    json body = {{"message_id", id}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"}, {"sender_id", user},
                 {"sender_name", user}, {"text", text}};
    auto r = post_generic(port, secret_raw(), id, body.dump());
    if (!r || r->status != 200) return "HTTP " + std::to_string(r ? r->status : -1);
    json j = json::parse(r->body);
    return j["reply"].is_string() ? j["reply"].get<std::string>() : "";
  }
  std::string get(int port, const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    auto r = c.Get(path);
    return r && r->status == 200 ? r->body : "HTTP " + std::to_string(r ? r->status : -1);
  }
  static uint64_t size_of(const std::string& note) {
    size_t a = note.find('\n');
    return a == std::string::npos ? 0 : std::stoull(note.substr(a + 1));
  }
  // What `witness list-logs` says the witness holds of the village's log.
  std::string held() {
    auto out = run_command(sunledger(w1_dir(), "witness list-logs")).output;
    auto at = out.find("log\tsunledger.example/lukou/shuangjiang\t");
    if (at == std::string::npos) return "";
    at = out.find('\t', out.find('\t', at) + 1) + 1;
    return out.substr(at, out.find_first_of("\t\n", at) - at);
  }

  void SetUp() override {
    ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
    std::string vkey = sl("key show").output;
    vkey = vkey.substr(0, vkey.find('\n'));
    auto init = run_command(sunledger(w1_dir(), "witness init --name witness.zhuting.example/w1"));
    ASSERT_EQ(init.exit_code, 0) << init.output;
    w1_key = init.output.substr(0, init.output.find('\n'));
    auto add = run_command(sunledger(w1_dir(), "witness add-log --origin-prefix sunledger.example/lukou/ --key '" + vkey + "'"));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    // A second witness, configured but never up: it cosigns nothing.
    auto init2 = run_command(sunledger(dir.file("w2"), "witness init --name witness.zhuting.example/w2"));
    ASSERT_EQ(init2.exit_code, 0) << init2.output;
    w2_key = init2.output.substr(0, init2.output.find('\n'));
    w1.start(w1_dir());
    json cfg = json::parse(read_file(data() + "/bots.json"));
    cfg["witnesses"] = json::array({{{"name", "朱亭镇见证一"}, {"url", "http://127.0.0.1:" + std::to_string(w1.port)}, {"key", w1_key}},
                                    {{"name", "朱亭镇见证二"}, {"url", "http://127.0.0.1:1"}, {"key", w2_key}}});
    write_file(data() + "/bots.json", cfg.dump());
    ::chmod((data() + "/bots.json").c_str(), 0600);
  }
};

TEST_F(WitnessServe, APostIsCosignedAndNoForgedCosignatureIsServed) {
  const std::string w1_line = "\xE2\x80\x94 witness.zhuting.example/w1 ";
  const std::string w2_name = "witness.zhuting.example/w2";
  ServerProcess p;
  p.start(data(), "");
  std::string reply = say(p.port, "post-1", "记账 2022-12\n支出 办公费 350 打印纸", "shuangjiang-accountant");
  ASSERT_NE(reply.find("已记账1笔"), std::string::npos) << reply;
  // The submitter's round (every 3 s) brings the witness up to the log.
  std::string note;
  for (int i = 0; i < 200; ++i) {
    note = get(p.port, "/logs/shuangjiang/checkpoint");
    if (note.find(w1_line) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(note.find(w1_line), std::string::npos) << note << *p.log;
  uint64_t size = size_of(note);
  EXPECT_EQ(held(), std::to_string(size));
  EXPECT_NE(get(p.port, "/v1/villages/shuangjiang/checkpoint").find(w1_line), std::string::npos);
  EXPECT_EQ(p.stop(), 0);
  ASSERT_EQ(sl("verify").exit_code, 0) << sl("verify").output;

  // The insider writes witness 2's name over witness 1's lines, at every
  // size witness 1 cosigned (the month's checkpoint among them).
  {
    auto db = open_as_insider(data() + "/sunledger.db");
    db->exec("INSERT INTO cosignatures(log_id, size, root, witness, line) SELECT log_id, size, root, '" + w2_name +
             "', replace(line, 'witness.zhuting.example/w1', '" + w2_name + "') FROM cosignatures");
    ASSERT_GT(db->getChanges(), 0);
  }
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_NE(v.output.find("TAMPERED shuangjiang first bad entry #"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("cosignatures: witness " + w2_name + "'s cosignature does not verify"), std::string::npos)
      << v.output;

  ServerProcess again;
  again.start(data(), "");
  EXPECT_NE(again.log->find("cosignatures: witness " + w2_name), std::string::npos) << *again.log;
  std::string tiles = get(again.port, "/logs/shuangjiang/checkpoint");
  EXPECT_EQ(tiles.find(w2_name), std::string::npos) << tiles;
  EXPECT_NE(tiles.find(w1_line), std::string::npos) << tiles;
  std::string api = get(again.port, "/v1/villages/shuangjiang/checkpoint");
  EXPECT_EQ(api.find(w2_name), std::string::npos) << api;
  std::string check = say(again.port, "check-1", "核验", "villager-1");
  EXPECT_NE(check.find("witness.zhuting.example/w1"), std::string::npos) << check;
  EXPECT_EQ(check.find(w2_name), std::string::npos) << check;
  std::string notice = get(again.port, "/villages/shuangjiang/2022-11/notice");
  EXPECT_EQ(notice.find("HTTP "), std::string::npos) << notice.substr(0, 200);
  EXPECT_EQ(notice.find(w2_name), std::string::npos);
  // What was not served was said once on stderr, without anything secret.
  EXPECT_NE(again.log->find("was not served: witness " + w2_name), std::string::npos) << *again.log;
  EXPECT_EQ(again.stop(), 0);
}

// A witness that refused a log (it saw another history) is named by
// `serve --check`, which then fails, and by serve at every start.
TEST_F(WitnessServe, ARefusalIsNamedByServeCheckAndAtEveryStart) {
  auto ok = sl("serve --check --listen 127.0.0.1:0");
  EXPECT_NE(ok.output.find("2 witnesses configured, none refused a log"), std::string::npos) << ok.output;
  {
    // What the submitter records (Ledger::refuse_witness), written here as it would be.
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO witness_refusals(log_id, witness, witness_size, reason, at) SELECT id, "
            "'witness.zhuting.example/w1', 9999, 'it holds a larger tree than the log', 1700000000 FROM logs "
            "WHERE name='shuangjiang'");
  }
  auto check = sl("serve --check --listen 127.0.0.1:0");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("witness \"朱亭镇见证一\" (witness.zhuting.example/w1) refused log shuangjiang"),
            std::string::npos)
      << check.output;
  ServerProcess p;
  p.start(data(), "");
  EXPECT_NE(p.log->find("WARNING: witness \"朱亭镇见证一\" (witness.zhuting.example/w1) refused log shuangjiang"),
            std::string::npos)
      << *p.log;
  EXPECT_EQ(p.stop(), 0);
}

// `serve --check` posts one probe to each witness that is not retired: a
// size-0 checkpoint whose log signature is broken, which a witness must
// refuse (403) before it reads or changes its state. A witness that answers
// and trusts the county's logs passes; one down (a closed port) or one that
// does not know the logs (no add-log) is a problem, and the check fails.
TEST_F(WitnessServe, ServeCheckReachesEveryWitness) {
  auto check = sl("serve --check --listen 127.0.0.1:0");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("✓ witness \"朱亭镇见证一\" (witness.zhuting.example/w1) at http://127.0.0.1:" +
                              std::to_string(w1.port) + " answers and trusts this server's logs"),
            std::string::npos)
      << check.output;
  EXPECT_NE(check.output.find("✗ witness \"朱亭镇见证二\" (witness.zhuting.example/w2) at http://127.0.0.1:1 is unreachable"),
            std::string::npos)
      << check.output;
  // The probe changed nothing on the witness: no log, no evidence.
  auto logs = run_command(sunledger(w1_dir(), "witness list-logs")).output;
  EXPECT_EQ(logs.find("log\t"), std::string::npos) << logs;
  EXPECT_NE(logs.find("evidence\t0"), std::string::npos) << logs;
  // A witness that trusts no log of this county, and the one that was down retired.
  auto init3 = run_command(sunledger(dir.file("w3"), "witness init --name witness.zhuting.example/w3"));
  ASSERT_EQ(init3.exit_code, 0) << init3.output;
  WitnessProcess w3;
  w3.start(dir.file("w3"));
  json cfg = json::parse(read_file(data() + "/bots.json"));
  cfg["witnesses"][1]["retired"] = true;
  cfg["witnesses"].push_back({{"name", "朱亭镇见证三"}, {"url", "http://127.0.0.1:" + std::to_string(w3.port)},
                              {"key", init3.output.substr(0, init3.output.find('\n'))}});
  write_file(data() + "/bots.json", cfg.dump());
  check = sl("serve --check --listen 127.0.0.1:0");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_EQ(check.output.find("朱亭镇见证二"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("✗ witness \"朱亭镇见证三\" (witness.zhuting.example/w3) at http://127.0.0.1:" +
                              std::to_string(w3.port) + " answers but does not know this server's logs"),
            std::string::npos)
      << check.output;
  // One that trusts the villages' origins one by one, but not the server's
  // other logs, which go to the witnesses too (the deliveries log): named.
  {
    std::string vkey = sl("key show").output;
    vkey = vkey.substr(0, vkey.find('\n'));
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READONLY);
    SQLite::Statement villages(db, "SELECT id FROM villages");
    while (villages.executeStep()) {
      auto add = run_command(sunledger(dir.file("w3"), "witness add-log --origin-prefix sunledger.example/lukou/" +
                                                           villages.getColumn(0).getString() + " --key '" + vkey + "'"));
      ASSERT_EQ(add.exit_code, 0) << add.output;
    }
  }
  check = sl("serve --check --listen 127.0.0.1:0");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("✗ witness \"朱亭镇见证三\" (witness.zhuting.example/w3) at http://127.0.0.1:" +
                              std::to_string(w3.port) + " trusts the villages' logs but not sunledger.example/lukou/deliveries"),
            std::string::npos)
      << check.output;
  // Only the witness that answers and trusts the logs: the witnesses pass.
  cfg["witnesses"].erase(2);
  write_file(data() + "/bots.json", cfg.dump());
  check = sl("serve --check --listen 127.0.0.1:0");
  EXPECT_NE(check.output.find("answers and trusts this server's logs"), std::string::npos) << check.output;
  EXPECT_EQ(check.output.find("✗ witness"), std::string::npos) << check.output;
  // A mistake in the list (two entries, one key) is named as itself by
  // --check and by every other command, not only as "unconfigured"
  // cosignatures that read as tampering.
  cfg["witnesses"].push_back(cfg["witnesses"][0]);
  cfg["witnesses"][2]["name"] = "同一把钥匙";
  write_file(data() + "/bots.json", cfg.dump());
  check = sl("serve --check --listen 127.0.0.1:0");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("the \"witnesses\" list: "), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("同一把钥匙"), std::string::npos) << check.output;
  auto verify = sl("verify");
  EXPECT_NE(verify.output.find("WARNING: " + data() + "/bots.json: the \"witnesses\" list cannot be used"),
            std::string::npos)
      << verify.output;
}

// `witness-refusals list` names a refusal; `clear` beside a running server
// removes it with a signed admin-log entry of who and why, and the server's
// submitter asks the witness again at its next round.
TEST_F(WitnessServe, AClearedRefusalIsRecordedAndTheWitnessIsAskedAgain) {
  auto none = sl("witness-refusals list");
  EXPECT_EQ(none.exit_code, 0) << none.output;
  EXPECT_NE(none.output.find("no witness refused a log"), std::string::npos) << none.output;
  {
    // What the submitter records (Ledger::refuse_witness), written here as it would be.
    SQLite::Database db(data() + "/sunledger.db", SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO witness_refusals(log_id, witness, witness_size, reason, at) SELECT id, "
            "'witness.zhuting.example/w1', 9999, 'it holds a larger tree than the log', 1700000000 FROM logs "
            "WHERE name='shuangjiang'");
  }
  auto list = sl("witness-refusals list");
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("witness.zhuting.example/w1\tshuangjiang\t9999\tit holds a larger tree than the log\t"),
            std::string::npos)
      << list.output;
  ServerProcess p;
  p.start(data(), "");
  // The submitter's rounds reach the witness with the other villages, never shuangjiang.
  std::string logs;
  for (int i = 0; i < 200; ++i) {
    logs = run_command(sunledger(w1_dir(), "witness list-logs")).output;
    if (logs.find("log\tsunledger.example/lukou/") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(logs.find("log\tsunledger.example/lukou/"), std::string::npos) << logs << *p.log;
  EXPECT_EQ(held(), "") << logs;
  auto refused = sl("witness-refusals clear --witness witness.zhuting.example/nobody --log shuangjiang --by 纪委李 "
                    "--reason x");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  auto clear = sl("witness-refusals clear --witness witness.zhuting.example/w1 --log shuangjiang --by 纪委李 "
                  "--reason '见证人从备份恢复,已核对'");
  ASSERT_EQ(clear.exit_code, 0) << clear.output;
  for (int i = 0; i < 200 && held().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(held(), "") << *p.log;
  EXPECT_EQ(p.stop(), 0);
  EXPECT_NE(sl("witness-refusals list").output.find("no witness refused a log"), std::string::npos);
  auto admin = sl("admin log");
  EXPECT_NE(admin.output.find("clear_witness_refusal"), std::string::npos) << admin.output;
  EXPECT_NE(admin.output.find("纪委李"), std::string::npos) << admin.output;
  EXPECT_NE(admin.output.find("见证人从备份恢复,已核对"), std::string::npos) << admin.output;
  EXPECT_NE(admin.output.find("it holds a larger tree than the log"), std::string::npos) << admin.output;
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

// Runbook step 5 (README "When verify names a problem"), end to end: a log
// cosigned by the witness; the county restores a backup from before its last
// entry; serve submits and the witness refuses (the server records the
// refusal and alarms); the township's operator runs `witness forget-log`;
// the county clears the refusal; the witness cosigns the restored log, and
// keeps what it had cosigned as evidence. The history before the restore
// (the same key, another entry at an index the witness has now seen) is then
// refused like any fork.
TEST_F(WitnessServe, ARestoredLogIsRefusedForgottenByTheWitnessAndCosignedAgain) {
  const std::string w1_line = "\xE2\x80\x94 witness.zhuting.example/w1 ";
  const std::string origin = "sunledger.example/lukou/shuangjiang";
  auto cosigned_at = [&](ServerProcess& p, uint64_t size) {
    std::string note;
    for (int i = 0; i < 200; ++i) {
      note = get(p.port, "/logs/shuangjiang/checkpoint");
      if (note.find(w1_line) != std::string::npos && size_of(note) == size && held() == std::to_string(size)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "not cosigned at " << size << ": " << note << "\nwitness holds " << held() << "\n" << *p.log;
    return false;
  };
  // An accountant's post of one line in December; the log's size after it (0 if not recorded).
  auto post_one = [&](ServerProcess& p, const std::string& id, const std::string& line) -> uint64_t {
    std::string reply = say(p.port, id, "记账 2022-12\n" + line, "shuangjiang-accountant");
    EXPECT_NE(reply.find("已记账1笔"), std::string::npos) << reply;
    return reply.find("已记账1笔") == std::string::npos ? 0 : size_of(get(p.port, "/logs/shuangjiang/checkpoint"));
  };
  ServerProcess p;
  p.start(data(), "");
  uint64_t backed_up = size_of(get(p.port, "/logs/shuangjiang/checkpoint"));
  ASSERT_TRUE(cosigned_at(p, backed_up));
  auto backup = sl("backup --to " + dir.file("backup"));
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  uint64_t lost = post_one(p, "post-1", "支出 办公费 350 打印纸");
  ASSERT_GT(lost, backed_up);
  ASSERT_TRUE(cosigned_at(p, lost));
  EXPECT_EQ(p.stop(), 0);

  // The folder as it was (the damaged copy a runbook keeps), then the restore.
  ASSERT_EQ(run_command("cp -a '" + data() + "' '" + dir.file("before-restore") + "'").exit_code, 0);
  for (const char* f : {"/sunledger.db-wal", "/sunledger.db-shm"}) std::remove((data() + f).c_str());
  ASSERT_EQ(run_command("cp '" + dir.file("backup") + "/sunledger.db' '" + data() + "/sunledger.db'").exit_code, 0);
  ASSERT_EQ(sl("verify").exit_code, 0) << sl("verify").output;

  ServerProcess restored;
  restored.start(data(), "");
  std::string refusals;
  for (int i = 0; i < 200; ++i) {
    refusals = sl("witness-refusals list").output;
    if (refusals.find("witness.zhuting.example/w1\tshuangjiang\t") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(refusals.find("witness.zhuting.example/w1\tshuangjiang\t" + std::to_string(lost) +
                          "\t它持有" + std::to_string(lost) + "条的账本,比本服务器的" + std::to_string(backed_up) +
                              "条还多 (it holds a larger tree than the log)"),
            std::string::npos)
      << refusals << *restored.log;
  EXPECT_NE(restored.log->find("sunledger: ALARM: 【见证人报警 (witness alarm)】"), std::string::npos) << *restored.log;
  EXPECT_EQ(held(), std::to_string(lost));

  // The township's operator, once the inspectors recorded the incident.
  auto forget = run_command(sunledger(w1_dir(), "witness forget-log --origin " + origin +
                                                    " --by 朱亭镇王 --reason '县里恢复了备份;纪委已记录 JJW-2026-14'"));
  ASSERT_EQ(forget.exit_code, 0) << forget.output;
  EXPECT_EQ(forget.output.rfind("forgotten\t" + origin + "\t" + std::to_string(lost) + "\t", 0), 0u) << forget.output;
  // The county clears its refusal; its next round is cosigned from old 0.
  auto clear = sl("witness-refusals clear --witness witness.zhuting.example/w1 --log shuangjiang --by 纪委李 "
                  "--reason '见证人已按记录重新开始 JJW-2026-14'");
  ASSERT_EQ(clear.exit_code, 0) << clear.output;
  ASSERT_TRUE(cosigned_at(restored, backed_up));
  // The post also grew the log of messages handled: that refusal stays
  // until the witness forgets that log too.
  refusals = sl("witness-refusals list").output;
  EXPECT_EQ(refusals.find("witness.zhuting.example/w1\tshuangjiang\t"), std::string::npos) << refusals;
  EXPECT_NE(refusals.find("witness.zhuting.example/w1\thandled\t"), std::string::npos) << refusals;
  auto logs = run_command(sunledger(w1_dir(), "witness list-logs")).output;
  EXPECT_NE(logs.find("forgotten\t" + origin + "\t" + std::to_string(lost) + "\t朱亭镇王\t"), std::string::npos) << logs;
  EXPECT_NE(logs.find("evidence\t0"), std::string::npos) << logs;

  // The officials re-post from their papers: another entry at the index the
  // lost one had, cosigned. The history before the restore, signed by the
  // same key, is now a fork of what the witness saw: refused, and kept.
  uint64_t reposted = post_one(restored, "post-2", "支出 办公费 120 墨盒");
  ASSERT_EQ(reposted, lost);
  ASSERT_TRUE(cosigned_at(restored, reposted));
  EXPECT_EQ(restored.stop(), 0);
  auto old_note = run_command("timeout 60 " + sunledger(dir.file("before-restore"), "checkpoint --village shuangjiang"));
  ASSERT_EQ(old_note.exit_code, 0) << old_note.output;
  ASSERT_EQ(size_of(old_note.output), lost);
  auto r = w1.post("old " + std::to_string(lost) + "\n\n" + old_note.output);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_EQ(r->body, std::to_string(lost) + "\n");
  logs = run_command(sunledger(w1_dir(), "witness list-logs")).output;
  EXPECT_NE(logs.find("evidence\t1"), std::string::npos) << logs;
  EXPECT_EQ(held(), std::to_string(reposted));
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

}  // namespace
}  // namespace sunledger::testing
