// `serve --witness-quorum K` (issue #15): a month's notice reaches the group
// only once K of the configured witnesses cosigned its closing checkpoint,
// and carries their cosignatures. Real processes throughout: `sunledger
// serve` on the demo's folder, real `sunledger witness serve`s (a witness
// "down" is a URL nothing listens on), and a fake chat platform that is a
// real HTTP server on loopback recording every push it is sent.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "app/server_process.h"
#include "insider.h"
#include "witness_support.h"

namespace sunledger::testing {
namespace {

using nlohmann::json;

const std::string kLine = "\xE2\x80\x94 witness.zhuting.example/";  // the start of a cosignature line of ours

// A serve stopped even when an assertion returns early (its log thread must
// be joined).
struct Serve : ServerProcess {
  ~Serve() {
    if (drain.joinable()) stop();
  }
};

struct WitnessQuorum : ::testing::Test {
  TempDir dir;
  Receiver group;  // the chat platform behind the demo bot's push_url
  std::string log_key;
  std::string keys[3];
  WitnessProcess witness[3];

  std::string data() const { return dir.file("data"); }
  std::string witness_dir(int i) const { return dir.file("w" + std::to_string(i + 1)); }
  CommandResult sl(const std::string& args) { return run_command("timeout 60 " + sunledger(data(), args)); }

  void SetUp() override {
    ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
    log_key = sl("key show").output;
    log_key = log_key.substr(0, log_key.find('\n'));
    for (int i = 0; i < 3; ++i) {
      auto init = run_command(sunledger(witness_dir(i), "witness init --name witness.zhuting.example/w" + std::to_string(i + 1)));
      ASSERT_EQ(init.exit_code, 0) << init.output;
      keys[i] = init.output.substr(0, init.output.find('\n'));
      auto add = run_command(sunledger(witness_dir(i), "witness add-log --origin-prefix sunledger.example/lukou/ --key '" +
                                                           log_key + "'"));
      ASSERT_EQ(add.exit_code, 0) << add.output;
    }
  }
  // The demo's bots.json with the bot pushing to `group` and the three
  // witnesses listed; a witness not started is listed at a port nothing
  // listens on (it is down).
  void configure() {
    json cfg = json::parse(read_file(data() + "/bots.json"));
    cfg["bots"][0]["push_url"] = "http://127.0.0.1:" + std::to_string(group.port) + "/push";
    cfg["witnesses"] = json::array();
    for (int i = 0; i < 3; ++i) {
      int port = witness[i].pid > 0 ? witness[i].port : 1;
      cfg["witnesses"].push_back({{"name", "朱亭镇见证" + std::to_string(i + 1)},
                                  {"url", "http://127.0.0.1:" + std::to_string(port)},
                                  {"key", keys[i]}});
    }
    write_file(data() + "/bots.json", cfg.dump());
    ::chmod((data() + "/bots.json").c_str(), 0600);
  }
  void start(Serve& p, int quorum) {
    p.extra_args = {"--witness-quorum", std::to_string(quorum)};
    p.start(data(), "");
  }
  std::string secret_raw() {
    json cfg = json::parse(read_file(data() + "/bots.json"));
    auto s = base64_decode(cfg["bots"][0]["secret"].get<std::string>().substr(6));
    return s.is_ok() ? *s : "";
  }
  std::string publish(int port, const std::string& month) {
    json body = {{"message_id", "publish-" + month}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
                 {"sender_id", "shuangjiang-secretary"}, {"sender_name", "书记"}, {"text", "公开 " + month}};
    auto r = post_generic(port, secret_raw(), "publish-" + month, body.dump());
    if (!r || r->status != 200) return "HTTP " + std::to_string(r ? r->status : -1);
    return json::parse(r->body)["reply"].get<std::string>();
  }
  // The monthly notices of `month` the group received, as sent.
  std::vector<std::string> notices(const std::string& month) {
    std::string title = month.substr(0, 4) + "年" + std::to_string(std::stoi(month.substr(5))) + "月 三务公开";
    std::lock_guard<std::mutex> lock(group.mu);
    std::vector<std::string> out;
    for (const auto& push : group.pushes) {
      json j = json::parse(push.second);
      std::string text = j["text"].get<std::string>();
      if (j["chat_id"] == "shuangjiang-group" && text.find(title) != std::string::npos) out.push_back(text);
    }
    return out;
  }
  // Everything the group was sent, for failure messages.
  std::string received() {
    std::lock_guard<std::mutex> lock(group.mu);
    std::string out;
    for (const auto& push : group.pushes) out += push.first + ": " + push.second.substr(0, 300) + "\n";
    return out;
  }
  std::vector<std::string> wait_for_notices(const std::string& month, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      auto n = notices(month);
      if (!n.empty()) return n;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return notices(month);
  }
  std::string latest_checkpoint(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    auto r = c.Get("/logs/shuangjiang/checkpoint");
    return r && r->status == 200 ? r->body : "";
  }
  // Waits until witness `i` cosigned the log's latest checkpoint (the
  // month's own when nothing was posted after it).
  bool wait_cosigned(int port, int i) {
    std::string line = kLine + "w" + std::to_string(i + 1) + " ";
    for (int n = 0; n < 200; ++n) {
      if (latest_checkpoint(port).find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // `sunledger check --proof` on a notice as received, with these witnesses required.
  int check_proof(const std::string& notice, const std::vector<int>& required) {
    write_file(dir.file("notice.txt"), notice);
    std::string args = "check --proof '" + dir.file("notice.txt") + "' --key '" + log_key + "'";
    for (int i : required) args += " --witness '" + keys[i] + "'";
    return run_command(std::string(SUNLEDGER_BINARY) + " " + args + " 2>&1").exit_code;
  }
};

// K = 2 with three witnesses, one of them down: publishing says the notice
// waits; it reaches the group once the two that are up cosigned, once,
// carrying both cosignatures (verified offline by `check --proof`).
TEST_F(WitnessQuorum, TheNoticeGoesOutOnceTwoOfThreeCosignedAndCarriesTheirCosignatures) {
  witness[0].start(witness_dir(0));
  witness[1].start(witness_dir(1));
  configure();
  Serve p;
  start(p, 2);
  std::string reply = publish(p.port, "2022-12");
  EXPECT_NE(reply.find("已公开双江村2022年12月账目,等待2个见证方联署后推送到1个村民群"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("将推送到"), std::string::npos) << reply;
  auto got = wait_for_notices("2022-12", 30);
  if (got.size() != 1u) p.stop();
  ASSERT_EQ(got.size(), 1u) << received() << *p.log;
  EXPECT_NE(got[0].find(kLine + "w1 "), std::string::npos) << got[0];
  EXPECT_NE(got[0].find(kLine + "w2 "), std::string::npos) << got[0];
  EXPECT_EQ(got[0].find(kLine + "w3 "), std::string::npos) << got[0];
  EXPECT_EQ(check_proof(got[0], {0, 1}), 0);
  EXPECT_EQ(check_proof(got[0], {0, 2}), 1);  // witness 3 never cosigned: the check can fail
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // a round more: nothing sent again
  EXPECT_EQ(notices("2022-12").size(), 1u);
  EXPECT_EQ(p.stop(), 0);
  EXPECT_NE(p.log->find("monthly notice of shuangjiang 2022-12 (push "), std::string::npos) << *p.log;
  EXPECT_NE(p.log->find("released to its group: witness.zhuting.example/w1, witness.zhuting.example/w2 cosigned"),
            std::string::npos)
      << *p.log;
  // The witness that is down, asked about five villages every round for
  // seconds, is said to be unreachable once.
  size_t said = 0;
  for (size_t at = 0; (at = p.log->find("cannot be reached (", at)) != std::string::npos; ++at) ++said;
  EXPECT_EQ(said, 1u) << *p.log;
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  // Every stored cosignature is one of a configured witness: a command that
  // opens the folder says nothing of them.
  EXPECT_EQ(v.output.find("was not served"), std::string::npos) << v.output;
}

// K = 2 with two witnesses down: held (publish said so, the log says since
// when, nothing reaches the group), through a restart; then a witness comes
// back and serve restarts with it: the notice goes out exactly once, and a
// further restart sends nothing again.
TEST_F(WitnessQuorum, HeldWhileTwoAreDownThroughRestartsThenReleasedExactlyOnce) {
  witness[0].start(witness_dir(0));
  configure();
  auto token = sl("token create --role inspector --area all");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  std::string bearer = "Bearer " + token.output.substr(0, token.output.find('\n'));
  {
    Serve p;
    start(p, 2);
    std::string reply = publish(p.port, "2022-12");
    EXPECT_NE(reply.find("等待2个见证方联署后推送到1个村民群"), std::string::npos) << reply;
    ASSERT_TRUE(wait_cosigned(p.port, 0)) << *p.log;
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // the round's release, and one round more
    EXPECT_TRUE(notices("2022-12").empty());
    // What inspectors see of it: the village, the month and since when.
    httplib::Client c("127.0.0.1", p.port);
    auto held = c.Get("/v1/outbox/held", {{"Authorization", bearer}});
    ASSERT_TRUE(held && held->status == 200) << (held ? held->body : "no answer");
    json h = json::parse(held->body)["held_notices"];
    ASSERT_EQ(h.size(), 1u) << held->body;
    EXPECT_EQ(h[0]["village"], "shuangjiang");
    EXPECT_EQ(h[0]["month"], "2022-12");
    EXPECT_TRUE(h[0]["released_at"].is_null());
    EXPECT_EQ(c.Get("/v1/outbox/held")->status, 401);
    EXPECT_EQ(p.stop(), 0);
    EXPECT_NE(p.log->find("held since "), std::string::npos) << *p.log;
    EXPECT_NE(p.log->find(": 1 of the 2 witnesses required cosigned its checkpoint"), std::string::npos) << *p.log;
  }
  {
    Serve p;  // restarted, the witnesses as they were: still held
    start(p, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    EXPECT_TRUE(notices("2022-12").empty());
    EXPECT_EQ(p.stop(), 0);
    EXPECT_NE(p.log->find("monthly notice of shuangjiang 2022-12"), std::string::npos) << *p.log;
  }
  witness[1].start(witness_dir(1));
  configure();
  {
    Serve p;
    start(p, 2);
    auto got = wait_for_notices("2022-12", 30);
    ASSERT_EQ(got.size(), 1u) << received();
    EXPECT_NE(got[0].find(kLine + "w1 "), std::string::npos) << got[0];
    EXPECT_NE(got[0].find(kLine + "w2 "), std::string::npos) << got[0];
    EXPECT_EQ(check_proof(got[0], {0, 1}), 0);
    // Marked delivered once the platform answered: no longer held.
    httplib::Client c("127.0.0.1", p.port);
    std::string body;
    for (int i = 0; i < 50; ++i) {
      auto held = c.Get("/v1/outbox/held", {{"Authorization", bearer}});
      ASSERT_TRUE(held && held->status == 200);
      body = held->body;
      if (json::parse(body)["held_notices"].empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(json::parse(body)["held_notices"].empty()) << body;
    EXPECT_EQ(p.stop(), 0);
  }
  {
    Serve p;  // and after another restart, nothing goes out again
    start(p, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    EXPECT_EQ(p.stop(), 0);
  }
  EXPECT_EQ(notices("2022-12").size(), 1u);
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

// A witness carried past the month's checkpoint before it cosigned it never
// cosigns it: a witness never goes back. Here witness 2 is handed the log's
// checkpoint one line past the month before this server asks it anything, as
// the other node's submitter does on two nodes. The notice goes out once,
// with the smallest later checkpoint both cosigned and the statement's
// inclusion proof at that size, and `check --proof` accepts it with both
// witnesses required. Before, it stayed held for ever.
TEST_F(WitnessQuorum, AWitnessCarriedPastTheMonthsCheckpointIsCountedOnALaterOne) {
  witness[0].start(witness_dir(0));
  configure();
  auto size_of = [](const std::string& note) -> uint64_t {
    size_t a = note.find('\n');
    return a == std::string::npos ? 0 : std::strtoull(note.c_str() + a + 1, nullptr, 10);
  };
  uint64_t month_size = 0;
  std::string latest;
  {
    Serve p;
    start(p, 2);
    std::string reply = publish(p.port, "2022-12");
    EXPECT_NE(reply.find("等待2个见证方联署后推送到1个村民群"), std::string::npos) << reply;
    ASSERT_TRUE(wait_cosigned(p.port, 0)) << *p.log;
    month_size = size_of(latest_checkpoint(p.port));
    ASSERT_GT(month_size, 0u);
    // The log grows past the month's checkpoint: a line of this month.
    char month[8];
    time_t now = time(nullptr);
    std::strftime(month, sizeof month, "%Y-%m", gmtime(&now));
    json body = {{"message_id", "post-after"}, {"chat_id", "shuangjiang-group"}, {"chat_type", "group"},
                 {"sender_id", "shuangjiang-secretary"}, {"sender_name", "书记"},
                 {"text", std::string("记账 ") + month + "\n支出 办公费 12 墨水"}};
    auto r = post_generic(p.port, secret_raw(), "post-after", body.dump());
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    bool grown = false;
    for (int i = 0; i < 200 && !grown; ++i) {
      std::string cp = latest_checkpoint(p.port);
      grown = size_of(cp) > month_size && cp.find(kLine + "w1 ") != std::string::npos;
      if (!grown) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(grown) << r->body << *p.log;
    EXPECT_TRUE(notices("2022-12").empty());
    latest = latest_checkpoint(p.port);
    EXPECT_EQ(p.stop(), 0);
  }
  // Witness 2 cosigns the later checkpoint first (a fresh witness needs no
  // proof): it can never cosign the month's own.
  witness[1].start(witness_dir(1));
  auto carried = witness[1].post("old 0\n\n" + latest);
  ASSERT_TRUE(carried && carried->status == 200) << (carried ? carried->body : "no answer");
  configure();
  Serve p;
  start(p, 2);
  auto got = wait_for_notices("2022-12", 30);
  if (got.size() != 1u) p.stop();
  ASSERT_EQ(got.size(), 1u) << received() << *p.log;
  EXPECT_NE(got[0].find(kLine + "w1 "), std::string::npos) << got[0];
  EXPECT_NE(got[0].find(kLine + "w2 "), std::string::npos) << got[0];
  EXPECT_EQ(check_proof(got[0], {0, 1}), 0) << got[0];
  EXPECT_EQ(check_proof(got[0], {0, 2}), 1);  // witness 3 cosigned nothing: the check can fail
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // a round more: nothing sent again
  EXPECT_EQ(notices("2022-12").size(), 1u);
  EXPECT_EQ(p.stop(), 0);
  EXPECT_NE(p.log->find("cosigned a later checkpoint of its log (size " + std::to_string(month_size + 1) +
                        ", the month's " + std::to_string(month_size) + ")"),
            std::string::npos)
      << *p.log;
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

// The insider's attack: with the quorum out of reach, the held row is marked
// released with sqlite3, then its hold cleared. The sender checks the
// cosignatures in the text itself: nothing un-witnessed reaches the group.
TEST_F(WitnessQuorum, AnInsiderWhoReleasesAHeldNoticeByHandGetsNothingIntoTheGroup) {
  witness[0].start(witness_dir(0));
  configure();
  {
    Serve p;
    start(p, 2);
    EXPECT_NE(publish(p.port, "2022-12").find("等待2个见证方联署"), std::string::npos);
    ASSERT_TRUE(wait_cosigned(p.port, 0)) << *p.log;
    EXPECT_EQ(p.stop(), 0);
  }
  {
    auto db = open_as_insider(data() + "/sunledger.db");
    db->exec("UPDATE outbox SET released_at=1, next_attempt_at=0 WHERE held_village='shuangjiang' AND held_month='2022-12'");
    ASSERT_EQ(db->getChanges(), 1);
  }
  {
    Serve p;
    start(p, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    EXPECT_EQ(p.stop(), 0);
    EXPECT_NE(p.log->find("(monthly notice of shuangjiang 2022-12) is marked released but its text carries 0 of the 2"),
              std::string::npos)
        << *p.log;
  }
  EXPECT_TRUE(notices("2022-12").empty());
  {
    auto db = open_as_insider(data() + "/sunledger.db");
    db->exec("UPDATE outbox SET held_village=NULL, held_month=NULL, released_at=NULL WHERE held_month='2022-12'");
    ASSERT_EQ(db->getChanges(), 1);
  }
  {
    Serve p;
    start(p, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    EXPECT_EQ(p.stop(), 0);
    EXPECT_NE(p.log->find("is not signed by this deployment: TAMPERED, never sent"), std::string::npos) << *p.log;
  }
  EXPECT_TRUE(notices("2022-12").empty());
}

// The insider moves a held notice to another month with sqlite3 (its
// held_month, which the row's signature covers). It must not be released by
// that month's cosignatures, and it must not stay its group's head forever:
// a tampered held row is a dead letter, and what is queued after it goes out.
TEST_F(WitnessQuorum, AHeldNoticeMovedToAnotherMonthByHandIsADeadLetterAndBlocksNothing) {
  configure();  // no witness up yet: the notice is held
  {
    Serve p;
    start(p, 1);
    std::string r12 = publish(p.port, "2022-12");
    EXPECT_NE(r12.find("等待1个见证方联署"), std::string::npos) << r12;
    EXPECT_EQ(p.stop(), 0);
  }
  {
    auto db = open_as_insider(data() + "/sunledger.db");
    db->exec("UPDATE outbox SET held_month='2023-01' WHERE held_village='shuangjiang' AND held_month='2022-12'");
    ASSERT_EQ(db->getChanges(), 1);
  }
  witness[0].start(witness_dir(0));
  configure();
  Serve p;
  start(p, 1);
  std::string r01 = publish(p.port, "2023-01");
  EXPECT_NE(r01.find("等待1个见证方联署"), std::string::npos) << r01;
  auto got = wait_for_notices("2023-01", 30);
  EXPECT_EQ(p.stop(), 0);
  EXPECT_EQ(got.size(), 1u) << received() << *p.log;
  EXPECT_TRUE(notices("2022-12").empty()) << received();
  EXPECT_NE(p.log->find("TAMPERED"), std::string::npos) << *p.log;
}

// The insider's copy of a held notice's row (id, text and signature), taken
// with sqlite3 before its release and kept outside the database.
struct HeldCopy {
  int64_t id = 0;
  std::string text, sig;
};

// What the attacks below start from: the December notice held (no witness
// up), the insider copies its row, witness 1 comes up and the notice goes to
// the group, then witness 2 cosigns the month too, so a release now would
// sign a text with one cosignature more than the one delivered.
void copy_held_then_deliver_then_cosign_again(WitnessQuorum& t, HeldCopy* copy) {
  t.configure();
  {
    Serve p;
    t.start(p, 1);
    EXPECT_NE(t.publish(p.port, "2022-12").find("等待1个见证方联署"), std::string::npos);
    EXPECT_EQ(p.stop(), 0);
  }
  {
    auto db = open_as_insider(t.data() + "/sunledger.db");
    SQLite::Statement q(*db, "SELECT id, text, sig FROM outbox WHERE held_month='2022-12'");
    ASSERT_TRUE(q.executeStep());
    copy->id = q.getColumn(0).getInt64();
    copy->text = q.getColumn(1).getString();
    copy->sig = q.getColumn(2).getString();
  }
  t.witness[0].start(t.witness_dir(0));
  t.configure();
  {
    Serve p;
    t.start(p, 1);
    auto got = t.wait_for_notices("2022-12", 30);
    ASSERT_EQ(got.size(), 1u) << t.received();
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // marked delivered
    EXPECT_EQ(p.stop(), 0);
  }
  t.witness[1].start(t.witness_dir(1));
  t.configure();
  {
    Serve p;
    t.start(p, 1);
    ASSERT_TRUE(t.wait_cosigned(p.port, 1)) << *p.log;
    EXPECT_EQ(p.stop(), 0);
  }
}

// The held copy put back over the delivered row (same id). Released again,
// its text would carry one cosignature more and its signature would differ
// from the one the deliveries log recorded; but the delivery recorded the
// signature the notice was queued with too ("held"): the release round
// refuses it (a dead letter for tampering) and verify names it. With the
// quorum lowered to 0 the sender would send the held row as it is: it knows
// that signature from the same entry.
TEST_F(WitnessQuorum, AHeldRowPutBackAfterDeliveryIsNeverSentTwice) {
  HeldCopy copy;
  ASSERT_NO_FATAL_FAILURE(copy_held_then_deliver_then_cosign_again(*this, &copy));
  auto put_back = [&] {
    auto db = open_as_insider(data() + "/sunledger.db");
    SQLite::Statement q(*db, "UPDATE outbox SET text=?, sig=?, held_push=NULL, released_at=NULL, delivered_at=NULL,"
                             " dead_at=NULL, dead_reason=NULL, next_attempt_at=0 WHERE id=?");
    q.bind(1, copy.text);
    q.bind(2, copy.sig.data(), static_cast<int>(copy.sig.size()));
    q.bind(3, static_cast<int64_t>(copy.id));
    return q.exec();
  };
  auto dead_reason = [&] {
    auto db = open_as_insider(data() + "/sunledger.db");
    SQLite::Statement q(*db, "SELECT coalesce(dead_reason, '') FROM outbox WHERE id=?");
    q.bind(1, static_cast<int64_t>(copy.id));
    return q.executeStep() ? q.getColumn(0).getString() : "no row";
  };
  ASSERT_EQ(put_back(), 1);
  auto v = sl("verify");
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_NE(v.output.find("outbox: push " + std::to_string(copy.id) + " was delivered"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("put back from a copy"), std::string::npos) << v.output;
  {
    Serve p;
    p.extra_args = {"--witness-quorum", "1", "--skip-verify"};  // the release round alone, not the check at start
    p.start(data(), "");
    std::this_thread::sleep_for(std::chrono::milliseconds(5000));
    EXPECT_EQ(p.stop(), 0);
    EXPECT_EQ(notices("2022-12").size(), 1u) << received() << *p.log;
    EXPECT_NE(p.log->find("held push " + std::to_string(copy.id) +
                          " via generic was delivered already and its row put back: REPLAYED, TAMPERED"),
              std::string::npos)
        << *p.log;
  }
  EXPECT_EQ(dead_reason(), "tampered");
  ASSERT_EQ(put_back(), 1);
  {
    Serve p;  // no quorum: the sender sees the held row as it is
    p.extra_args = {"--witness-quorum", "0", "--skip-verify"};
    p.start(data(), "");
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    EXPECT_EQ(p.stop(), 0);
    EXPECT_EQ(notices("2022-12").size(), 1u) << received() << *p.log;
    EXPECT_NE(p.log->find("push " + std::to_string(copy.id) +
                          " via generic was delivered already and its row put back: REPLAYED, TAMPERED"),
              std::string::npos)
        << *p.log;
  }
  EXPECT_EQ(dead_reason(), "tampered");
}

// The same copy put back as a new row (another id, the delivered row left
// as it is): the row's signature covers its id, so it is a dead letter for
// tampering and never reaches the group.
TEST_F(WitnessQuorum, AHeldRowPutBackUnderANewIdIsNeverSent) {
  HeldCopy copy;
  ASSERT_NO_FATAL_FAILURE(copy_held_then_deliver_then_cosign_again(*this, &copy));
  int64_t copy_id = 0;
  {
    auto db = open_as_insider(data() + "/sunledger.db");
    SQLite::Statement q(*db, "INSERT INTO outbox(bot, chat, text, created_at, next_attempt_at, audience, sig, held_village,"
                             " held_month) SELECT bot, chat, ?, created_at, 0, audience, ?, held_village, held_month"
                             " FROM outbox WHERE id=?");
    q.bind(1, copy.text);
    q.bind(2, copy.sig.data(), static_cast<int>(copy.sig.size()));
    q.bind(3, static_cast<int64_t>(copy.id));
    ASSERT_EQ(q.exec(), 1);
    copy_id = db->getLastInsertRowid();
  }
  Serve p;
  start(p, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5000));
  EXPECT_EQ(p.stop(), 0);
  EXPECT_EQ(notices("2022-12").size(), 1u) << received() << *p.log;
  EXPECT_NE(p.log->find("held push " + std::to_string(copy_id) + " via generic is not signed by this deployment: TAMPERED"),
            std::string::npos)
      << *p.log;
}

// More witnesses required than are configured and not retired: serve
// refuses to start, and serve --check says so; K = 0 changes nothing.
TEST_F(WitnessQuorum, AQuorumAboveTheWitnessesConfiguredIsRefused) {
  configure();
  json cfg = json::parse(read_file(data() + "/bots.json"));
  cfg["witnesses"][2]["retired"] = true;
  write_file(data() + "/bots.json", cfg.dump());
  auto serve = sl("serve --listen 127.0.0.1:0 --witness-quorum 3");
  EXPECT_EQ(serve.exit_code, 1) << serve.output;
  EXPECT_NE(serve.output.find("--witness-quorum 3: only 2 witnesses are configured and not retired"), std::string::npos)
      << serve.output;
  auto check = sl("serve --check --listen 127.0.0.1:0 --witness-quorum 3");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("✗ --witness-quorum 3: only 2 witnesses are configured"), std::string::npos) << check.output;
  auto two = sl("serve --check --listen 127.0.0.1:0 --witness-quorum 2");
  EXPECT_NE(two.output.find("✓ monthly notices wait for 2 witnesses' cosignatures"), std::string::npos) << two.output;
  EXPECT_EQ(sl("serve --listen 127.0.0.1:0 --witness-quorum x").exit_code, 2);
}

}  // namespace
}  // namespace sunledger::testing
