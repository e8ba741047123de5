// `witness forget-log` (issue 15, session 13): the township's operator starts
// a log afresh after its county restored an older backup. Through a real
// `witness serve` on 127.0.0.1 port 0 and the CLI beside it: the state kept
// as evidence, the log taken as never seen, a fork of the new history still
// refused; the refusals of the command; a forget racing submissions never
// lost; and no HTTP way to do any of it.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "witness_support.h"

namespace sunledger::testing {
namespace {

struct WitnessForget : WitnessFixture {
  CommandResult forget(const std::string& origin, const std::string& by, const std::string& reason) {
    return run_command(sunledger(wdir, "witness forget-log --origin '" + origin + "' --by '" + by + "' --reason '" +
                                           reason + "'"));
  }
  int status_of(const std::string& body) {
    auto r = server.post(body);
    return r ? r->status : -1;
  }
};

// The county cosigned to 8, then restored a backup of 5 entries and wrote 3
// others: the witness refuses it (409 with 8), the operator forgets the log,
// and the restored log is cosigned from old 0. The 8 it held stays as
// evidence, and the history before the restore (the same key, another entry
// at an index the witness has now seen) is refused as any fork.
TEST_F(WitnessForget, TheStateIsKeptAsEvidenceAndTheLogStartsAfresh) {
  log->append(5);
  expect_cosigned(server.post(log->request(0, 8)), text_of(8));
  TestLog restored = log->fork(5);
  restored.append(3, "re-posted ");
  ASSERT_NE(restored.root(8), log->root(8));
  auto r = server.post(restored.request(8, 8));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(r->body, "8\n");

  auto f = forget(kVillage, "朱亭镇王", "县里恢复了11月28日的备份;纪委已记录 JJW-2026-14");
  ASSERT_EQ(f.exit_code, 0) << f.output;
  EXPECT_EQ(f.output.rfind(std::string("forgotten\t") + kVillage + "\t8\t" + base64_encode(log->root(8)) + "\t", 0), 0u)
      << f.output;
  // The signed checkpoint it cosigned, signature and all.
  EXPECT_NE(f.output.find(log->checkpoint(8)), std::string::npos) << f.output;
  std::string logs = list_logs();
  EXPECT_EQ(logs.find(std::string("log\t") + kVillage), std::string::npos) << logs;
  EXPECT_NE(logs.find(std::string("forgotten\t") + kVillage + "\t8\t朱亭镇王\t"), std::string::npos) << logs;
  EXPECT_NE(logs.find("\t县里恢复了11月28日的备份;纪委已记录 JJW-2026-14\n"), std::string::npos) << logs;

  // The running serve sees it at once: the size it names is 0, and from 0
  // the restored log is cosigned and grows.
  r = server.post(restored.request(8, 8));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(r->body, "0\n");
  expect_cosigned(server.post(restored.request(0, 6)), checkpoint_body({kVillage, 6, restored.root(6)}));
  expect_cosigned(server.post(restored.request(6, 8)), checkpoint_body({kVillage, 8, restored.root(8)}));

  // The history before the restore is now a fork of what the witness holds:
  // the same size with another root, and a larger tree whose proof starts
  // from another tree, both refused and kept.
  EXPECT_EQ(status_of(log->request(8, 8)), 409);
  log->append(2);
  EXPECT_EQ(status_of(log->request(8, 10)), 422);
  logs = list_logs();
  EXPECT_NE(logs.find(std::string("log\t") + kVillage + "\t8\t" + base64_encode(restored.root(8))), std::string::npos)
      << logs;
  EXPECT_NE(logs.find(std::string("forgotten\t") + kVillage + "\t8\t朱亭镇王\t"), std::string::npos) << logs;
  EXPECT_NE(logs.find("evidence\t3"), std::string::npos) << logs;  // the first refusal's, and these two
  // Through a restart too.
  EXPECT_EQ(server.stop(), 0);
  WitnessProcess again;
  again.start(wdir);
  auto after = again.post(log->request(8, 8));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 409);
  EXPECT_NE(list_logs().find(std::string("forgotten\t") + kVillage + "\t8\t"), std::string::npos);
}

// An origin the witness holds nothing of is refused politely, --by and
// --reason are required and one line each, and nothing changes.
TEST_F(WitnessForget, AnUnknownOriginOrAMissingWhoOrWhyIsRefused) {
  expect_cosigned(server.post(log->request(0, 3)), text_of(3));
  // A prefix is not an origin: the whole origin is named.
  auto unknown = forget("lukou.example/sunledger/", "朱亭镇王", "x");
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("holds no state of lukou.example/sunledger/"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("nothing changed"), std::string::npos) << unknown.output;
  EXPECT_EQ(run_command(sunledger(wdir, std::string("witness forget-log --origin ") + kVillage + " --reason x")).exit_code, 2);
  EXPECT_EQ(run_command(sunledger(wdir, std::string("witness forget-log --origin ") + kVillage + " --by x")).exit_code, 2);
  auto two_lines = forget(kVillage, "朱亭镇王", "line one\nline two");
  EXPECT_EQ(two_lines.exit_code, 1) << two_lines.output;
  auto empty = forget(kVillage, "", "x");
  EXPECT_EQ(empty.exit_code, 1) << empty.output;
  auto none = run_command(sunledger(tmp.file("nowhere"), std::string("witness forget-log --origin ") + kVillage +
                                                             " --by x --reason y"));
  EXPECT_EQ(none.exit_code, 1) << none.output;
  std::string logs = list_logs();
  EXPECT_NE(logs.find(std::string("log\t") + kVillage + "\t3\t"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("forgotten\t"), std::string::npos) << logs;
  EXPECT_EQ(status_of(log->request(3, 3)), 200);
}

// A client grows the log one entry a request while the operator forgets it
// from another process. The forget is never lost (a change checked against
// the state before it is not written over it) nor half-applied (what it kept
// is the last size cosigned before it): after it, the witness names size 0,
// and the log is cosigned again only from 0.
TEST_F(WitnessForget, AForgetRacingSubmissionsIsNeverLost) {
  constexpr uint64_t kEntries = 2000;
  log->append(static_cast<int>(kEntries));
  httplib::Client c("127.0.0.1", server.port);
  c.set_keep_alive(true);
  c.set_read_timeout(10, 0);
  struct Step {
    uint64_t old_size, size;
    int status;
    std::string body;
  };
  std::vector<Step> steps;
  std::thread operator_thread;
  std::atomic<bool> forgot{false};
  int after_forget = 0;
  std::string failure;
  uint64_t held = 0;
  bool restarted = false;
  for (uint64_t n = 1; n <= kEntries && failure.empty(); ++n) {
    auto r = server.post(log->request(restarted ? 0 : held, n), &c);
    if (!r) {
      failure = httplib::to_string(r.error());
      break;
    }
    steps.push_back({restarted ? 0 : held, n, r->status, r->body});
    if (r->status == 200) {
      held = n;
      if (restarted) break;
    } else if (r->status == 409 && r->body == "0\n") {
      restarted = true;  // from 0 now, with the next size
    } else if (r->status == 503) {
      --n;  // a change checked before the forget: try again
    } else {
      failure = std::to_string(r->status) + " " + r->body;
    }
    if (n == 20 && !operator_thread.joinable())
      operator_thread = std::thread([this, &forgot] {
        EXPECT_EQ(forget(kVillage, "朱亭镇王", "race").exit_code, 0);
        forgot = true;
      });
    if (forgot && ++after_forget > 100) break;  // the witness still takes the old state: the forget was lost
  }
  if (operator_thread.joinable()) operator_thread.join();
  ASSERT_EQ(failure, "");
  ASSERT_TRUE(restarted) << "the witness never named size 0 after the forget: it was lost";
  std::string logs = list_logs();
  size_t at = logs.find(std::string("forgotten\t") + kVillage + "\t");
  ASSERT_NE(at, std::string::npos) << logs;
  uint64_t forgotten = std::stoull(logs.substr(at + std::string("forgotten\t").size() + std::string(kVillage).size() + 1));
  // Every size cosigned before the restart is at most the one forgotten, and
  // the last of them is it; the first cosignature after is from old 0.
  uint64_t last_before = 0;
  size_t i = 0;
  for (; i < steps.size() && !(steps[i].status == 409 && steps[i].body == "0\n"); ++i)
    if (steps[i].status == 200) last_before = steps[i].size;
  EXPECT_EQ(last_before, forgotten) << logs;
  ASSERT_LT(i, steps.size());
  for (++i; i < steps.size(); ++i) {
    if (steps[i].status == 200) {
      EXPECT_EQ(steps[i].old_size, 0u) << steps[i].size;
    }
  }
  EXPECT_EQ(steps.back().status, 200);
  EXPECT_NE(logs.find(std::string("log\t") + kVillage + "\t" + std::to_string(steps.back().size) + "\t"), std::string::npos)
      << logs;
}

// The witness's HTTP surface is POST /add-checkpoint alone: no other method
// or path answers 2xx, none forgets or changes a state.
TEST_F(WitnessForget, NothingButPostAddCheckpointAnswers) {
  expect_cosigned(server.post(log->request(0, 3)), text_of(3));
  httplib::Client c("127.0.0.1", server.port);
  c.set_read_timeout(10, 0);
  const std::string body = std::string("origin=") + kVillage + "&by=x&reason=y";
  for (const char* p : {"/", "/add-checkpoint", "/forget-log", "/forget", "/witness/forget-log", "/logs",
                         "/list-logs", "/add-log", "/admin", "/add-checkpoint/forget"}) {
    const std::string path = p;
    std::vector<std::pair<std::string, httplib::Result>> answers;
    answers.emplace_back("GET", c.Get(path));
    answers.emplace_back("HEAD", c.Head(path));
    answers.emplace_back("PUT", c.Put(path, body, "application/x-www-form-urlencoded"));
    answers.emplace_back("DELETE", c.Delete(path));
    answers.emplace_back("PATCH", c.Patch(path, body, "application/x-www-form-urlencoded"));
    answers.emplace_back("OPTIONS", c.Options(path));
    if (path != "/add-checkpoint") answers.emplace_back("POST", c.Post(path, body, "application/x-www-form-urlencoded"));
    for (auto& a : answers) {
      ASSERT_TRUE(a.second) << a.first << " " << path;
      EXPECT_TRUE(a.second->status < 200 || a.second->status >= 300) << a.first << " " << path << " " << a.second->status;
    }
  }
  EXPECT_NE(list_logs().find(std::string("log\t") + kVillage + "\t3\t"), std::string::npos);
  EXPECT_EQ(list_logs().find("forgotten\t"), std::string::npos);
}

}  // namespace
}  // namespace sunledger::testing
