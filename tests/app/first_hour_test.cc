// The first hour of a newcomer (issue 13): help that tells, a demo that
// shows, a configuration that can be checked before going live, backups that
// restore. Everything through the real binary on real folders.
#include <SQLiteCpp/SQLiteCpp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <regex>

#include "ledger/crypto.h"
#include "server_process.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::CommandResult;
using testing::read_file;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

struct FirstHour : ::testing::Test {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  CommandResult sl(const std::string& args) { return run_command(std::string(SUNLEDGER_BINARY) + " --data " + data() + " " + args); }
  CommandResult in(const std::string& folder, const std::string& args) {
    return run_command(std::string(SUNLEDGER_BINARY) + " --data " + folder + " " + args);
  }
  static bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

  // A fresh deployment with one village, 双江村 (shuangjiang) of 朱亭镇.
  void shuangjiang() {
    ASSERT_EQ(sl("init --origin t.example/x").exit_code, 0);
    ASSERT_EQ(sl("village add --id shuangjiang --name 双江村 --town 朱亭镇").exit_code, 0);
  }
  // Posts entries CSV rows (without the header) to 双江村, as an official would.
  CommandResult post_rows(const std::string& rows) {
    std::string csv = dir.file("e.csv");
    write_file(csv, "date,type,category,item,amount,project,fund,counterparty,note\n" + rows);
    return sl("post --village shuangjiang --file " + csv);
  }
  // The data folder's bots.json, private as serve requires.
  void write_bots_json(const std::string& text) {
    write_file(data() + "/bots.json", text);
    ::chmod((data() + "/bots.json").c_str(), 0600);
  }
};

// README's complete bots.json, taken from README itself so the two agree.
std::string readme_bots_json() {
  std::string readme = read_file(SUNLEDGER_README);
  size_t at = readme.find("A complete `bots.json`:");
  EXPECT_NE(at, std::string::npos);
  size_t start = readme.find("```json\n", at) + 8, end = readme.find("```", start);
  return readme.substr(start, end - start);
}

TEST_F(FirstHour, VersionAndHelpForEveryCommandAndGroup) {
  auto v = sl("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.output.rfind("sunledger 0.", 0), 0u) << v.output;
  for (const char* group : {"key", "village", "project", "group", "member", "token", "proof", "admin"}) {
    for (const std::string& how : {std::string(group) + " --help", "help " + std::string(group)}) {
      auto r = sl(how);
      EXPECT_EQ(r.exit_code, 0) << how << "\n" << r.output;
      EXPECT_TRUE(has(r.output, std::string("Usage: sunledger [--data DIR] ") + group + " ")) << how << "\n" << r.output;
      EXPECT_TRUE(has(r.output, "Examples:\n  sunledger ")) << how << "\n" << r.output;
      EXPECT_FALSE(has(r.output, "for usage")) << how << "\n" << r.output;  // never loops back to itself
    }
  }
  for (const char* cmd : {"init", "key show", "village add", "post", "close", "serve", "demo", "backup", "token create"}) {
    auto r = sl(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_TRUE(has(r.output, "Examples:")) << cmd << r.output;
    EXPECT_EQ(sl(std::string("help ") + cmd).output, r.output) << cmd;
  }
  EXPECT_TRUE(has(sl("close --help").output, "--no-notice"));
  EXPECT_TRUE(has(sl("serve --help").output, "--check"));
  for (const char* how : {"help --help", "help -h", "--help --help"}) {
    auto h = sl(how);
    EXPECT_EQ(h.exit_code, 0) << how << "\n" << h.output;
    EXPECT_TRUE(has(h.output, "Usage: sunledger help [COMMAND]")) << how << "\n" << h.output;
    EXPECT_TRUE(has(h.output, "Examples:\n  sunledger help\n  sunledger help close\n")) << how << "\n" << h.output;
  }
  EXPECT_EQ(sl("help bogus").exit_code, 2);
  EXPECT_EQ(sl("bogus").exit_code, 2);
  EXPECT_EQ(sl("key bogus").exit_code, 2);
  EXPECT_TRUE(has(sl("key bogus").output, "unknown subcommand 'bogus'"));
  EXPECT_EQ(sl("token").exit_code, 2);
  EXPECT_TRUE(has(sl("token").output, "token create"));
  EXPECT_FALSE(std::filesystem::exists(data()));  // help opened nothing
}

TEST_F(FirstHour, UsageErrorsExitTwoBeforeTouchingTheDataFolder) {
  struct Case {
    const char* args;
    const char* says;
  } cases[] = {
      {"village add --id x", "missing --name, --town"},
      {"proof inclusion --village v --index -1 --size 2", "--index must be a non-negative integer"},
      {"reverse --village v --index x --reason r", "--index"},
      {"close --village v --month 2022-13", "--month must be YYYY-MM"},
      {"token create --role official", "--role official needs --village"},
      {"token create --role inspector", "--role inspector needs --area"},
      {"token create --role official --village v --expires 0", "--expires must be 1 to 3650 days"},
      {"member add --bot b --user u --role official", "needs --village"},
      {"member add --bot b --user u --role villager --village v", "--role must be official or inspector"},
      {"ask --bot b --chat c --user u", "missing the message text"},
      {"init --origin x --utc-offset abc", "--utc-offset"},
      {"serve --rate-limit lots", "--rate-limit"},
      // --data copied after the command (as `ask --data ./lukou …`): where it goes.
      {"verify --data ./lukou", "unknown option --data (it goes before the command: sunledger --data DIR COMMAND"},
      {"serve --listen 8080", "--listen 8080: listen address must be HOST:PORT"},
      {"serve --check --listen localhost:abc", "the port must be a number from 0 to 65535"},
      {"demo --no-serve --listen 127.0.0.1:8081", "--no-serve serves nothing"},
  };
  for (const auto& k : cases) {
    auto r = sl(k.args);
    EXPECT_EQ(r.exit_code, 2) << k.args << "\n" << r.output;
    EXPECT_TRUE(has(r.output, k.says)) << k.args << "\n" << r.output;
    EXPECT_FALSE(has(r.output, "sunledger init`")) << k.args << "\n" << r.output;  // not "run init first"
  }
  EXPECT_FALSE(std::filesystem::exists(data()));
}

// README's full bots.json names env: secrets; commands that only need the bot
// ids work without them being set.
TEST_F(FirstHour, ReadmeBotsJsonNeedsNoSecretsForGroupsAndMembers) {
  shuangjiang();
  if (HasFatalFailure()) return;
  write_bots_json(readme_bots_json());
  for (const char* bot : {"lukou-wecom", "lukou-ding", "lukou-feishu", "lukou-tg", "generic"}) {
    auto b = run_command("env -u TG_SECRET_TOKEN -u TG_BOT_TOKEN -u WECOM_TOKEN " + std::string(SUNLEDGER_BINARY) + " --data " +
                         data() + " group bind --village shuangjiang --bot " + bot + " --chat chat-" + bot);
    EXPECT_EQ(b.exit_code, 0) << bot << "\n" << b.output;
    auto m = sl(std::string("member add --bot ") + bot + " --user zhangsan --village shuangjiang --role official");
    EXPECT_EQ(m.exit_code, 0) << bot << "\n" << m.output;
  }
  // serve --check does need them, and names every missing one in one run
  // (the loader stops at the first).
  auto check = run_command("env -u WECOM_TOKEN -u TG_SECRET_TOKEN -u TG_BOT_TOKEN " + std::string(SUNLEDGER_BINARY) +
                           " --data " + data() + " serve --check");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_TRUE(has(check.output, "✗ bots config: bot \"lukou-wecom\": field \"token\": environment variable WECOM_TOKEN is not set"))
      << check.output;
  EXPECT_TRUE(has(check.output, "environment variable TG_SECRET_TOKEN is not set")) << check.output;
  EXPECT_TRUE(has(check.output, "environment variable TG_BOT_TOKEN is not set")) << check.output;
}

TEST_F(FirstHour, AdminLogAndTokenListPrintLocalTimes) {
  shuangjiang();
  if (HasFatalFailure()) return;
  ASSERT_EQ(sl("token create --role official --village shuangjiang").exit_code, 0);
  ASSERT_EQ(sl("token revoke --id 1").exit_code, 0);
  auto log = sl("admin log");
  ASSERT_EQ(log.exit_code, 0) << log.output;
  // No unix times (a number of its own: the token's SHA-256 hex holds runs of digits too).
  EXPECT_FALSE(std::regex_search(log.output, std::regex("[:\t ][0-9]{10}[,}\t\n ]"))) << log.output;
  EXPECT_FALSE(std::regex_search(log.output, std::regex("T[0-9:]{8}Z"))) << log.output;  // no UTC stamps
  // With the deployment's zone (China Standard Time unless init said otherwise).
  EXPECT_TRUE(std::regex_search(log.output, std::regex("\t20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} \\+08:00\t"))) << log.output;
  EXPECT_TRUE(std::regex_search(log.output,
                                std::regex("\"expires_at\":\"20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} \\+08:00\"")))
      << log.output;
  auto list = sl("token list");
  EXPECT_TRUE(std::regex_search(list.output, std::regex("revoked 20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} \\+08:00")))
      << list.output;
}

// CLI close notifies the groups as 公开 and the API do; --no-notice does not.
TEST_F(FirstHour, CloseQueuesTheMonthlyNoticeUnlessNoNotice) {
  shuangjiang();
  if (HasFatalFailure()) return;
  testing::Receiver receiver;
  std::string config = nlohmann::json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                                 {"secret", "whsec_c2VjcmV0LXNlY3JldC0xMjM0"},
                                                 {"push_url", "http://127.0.0.1:" + std::to_string(receiver.port) + "/push"}}}}}
                           .dump();
  write_bots_json(config);
  ASSERT_EQ(sl("group bind --village shuangjiang --bot generic --chat g1").exit_code, 0);
  ASSERT_EQ(post_rows("2022-10-05,income,上级拨款,运转经费,5000,,,,\n2022-11-05,income,上级拨款,运转经费,6000,,,,\n").exit_code, 0);
  auto quiet = sl("close --village shuangjiang --month 2022-10 --no-notice");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
  auto loud = sl("close --village shuangjiang --month 2022-11");
  ASSERT_EQ(loud.exit_code, 0) << loud.output;
  EXPECT_TRUE(has(loud.output, "1个村民群")) << loud.output;
  {
    SQLite::Database db(data() + "/sunledger.db");
    EXPECT_EQ(db.execAndGet("SELECT count(*) FROM outbox").getInt(), 1);
  }
  testing::ServerProcess server;
  server.start(data(), data() + "/bots.json");
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(receiver.mu);
      if (!receiver.pushes.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(server.stop(), 0);
  std::lock_guard<std::mutex> lock(receiver.mu);
  ASSERT_EQ(receiver.pushes.size(), 1u) << *server.log;
  EXPECT_TRUE(has(receiver.pushes[0].second, "2022年11月 三务公开")) << receiver.pushes[0].second;
}

// Closing a later month names the month to close first and changes nothing:
// it used to seal the skipped months for good, without a statement.
TEST_F(FirstHour, CloseRefusesALaterMonthNamingTheOneToCloseFirst) {
  shuangjiang();
  if (HasFatalFailure()) return;
  ASSERT_EQ(post_rows("2022-10-05,income,上级拨款,运转经费,5000,,,,\n2022-12-05,income,上级拨款,运转经费,6000,,,,\n").exit_code, 0);
  auto first = sl("close --village shuangjiang --month 2022-12");
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_TRUE(has(first.output, "close 2022-10 first")) << first.output;
  ASSERT_EQ(sl("close --village shuangjiang --month 2022-10 --no-notice").exit_code, 0);
  std::string before = sl("village list").output;
  for (const char* how : {"", " --no-notice"}) {
    auto skip = sl(std::string("close --village shuangjiang --month 2022-12") + how);
    EXPECT_EQ(skip.exit_code, 1) << skip.output;
    EXPECT_TRUE(has(skip.output, "请先公开 2022-11")) << skip.output;
    EXPECT_TRUE(has(skip.output, "close 2022-11 first: months are closed in order, a month without entries too")) << skip.output;
  }
  EXPECT_EQ(sl("village list").output, before);  // nothing written
  // November stays open: a late line is still booked there.
  EXPECT_EQ(post_rows("2022-11-30,expense,办公费,信封,20,,,,\n").exit_code, 0);
  EXPECT_EQ(sl("close --village shuangjiang --month 2022-11 --no-notice").exit_code, 0);
  EXPECT_EQ(sl("close --village shuangjiang --month 2022-12 --no-notice").exit_code, 0);
}

// A group whose bot cannot push is never counted as notified: close, the API
// and 公开 name it and why (they all said "queued to N groups" before).
TEST_F(FirstHour, CloseSaysWhichGroupsCannotBeReached) {
  shuangjiang();
  if (HasFatalFailure()) return;
  testing::Receiver receiver;
  std::string raw = "secret-secret-1234", secret = "whsec_" + base64_encode(raw);
  auto bot = [&](const std::string& id, bool push) {
    nlohmann::json b = {{"id", id}, {"platform", "generic"}, {"secret", secret}};
    if (push) b["push_url"] = "http://127.0.0.1:" + std::to_string(receiver.port) + "/push";
    return b;
  };
  auto write_bots = [&](nlohmann::json bots) { write_bots_json(nlohmann::json{{"bots", bots}}.dump()); };
  write_bots({bot("generic", false), bot("pushy", true), bot("gone", true)});
  ASSERT_EQ(sl("group bind --village shuangjiang --bot generic --chat g1").exit_code, 0);
  ASSERT_EQ(sl("group bind --village shuangjiang --bot pushy --chat g2").exit_code, 0);
  ASSERT_EQ(sl("group bind --village shuangjiang --bot gone --chat g3").exit_code, 0);
  ASSERT_EQ(sl("member add --bot generic --user wang --village shuangjiang --role official").exit_code, 0);
  write_bots({bot("generic", false), bot("pushy", true)});  // "gone" was taken out of the configuration
  ASSERT_EQ(post_rows("2022-10-05,income,上级拨款,运转经费,5000,,,,\n2022-11-05,income,上级拨款,运转经费,6000,,,,\n").exit_code, 0);
  auto close = sl("close --village shuangjiang --month 2022-10");
  ASSERT_EQ(close.exit_code, 0) << close.output;
  EXPECT_TRUE(has(close.output, "月度公开通知已排队推送到1个村民群 (monthly notice queued for 1 group;")) << close.output;
  EXPECT_TRUE(has(close.output, "1个村民群收不到通知:机器人 generic 没有配置推送地址 push_url")) << close.output;
  EXPECT_TRUE(has(close.output, "(1 group cannot be reached: bot generic has no push_url;")) << close.output;
  EXPECT_TRUE(has(close.output, "1个村民群收不到通知:机器人 gone 不在 bots.json 中")) << close.output;
  EXPECT_TRUE(has(close.output, "bot gone is not in bots.json")) << close.output;

  auto token = sl("token create --role official --village shuangjiang");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  std::string bearer = token.output.substr(0, token.output.find('\n'));
  testing::ServerProcess server;
  server.start(data(), "");
  httplib::Client c("127.0.0.1", server.port);
  auto pub = c.Post("/v1/villages/shuangjiang/months/2022-11/publish", {{"Authorization", "Bearer " + bearer}}, "",
                    "application/json");
  ASSERT_TRUE(pub);
  ASSERT_EQ(pub->status, 200) << pub->body;
  auto j = nlohmann::json::parse(pub->body);
  EXPECT_EQ(j["groups_notified"], 1);
  EXPECT_EQ(j["groups_unreachable"], nlohmann::json::parse(R"([{"bot":"generic","groups":1,"problem":"no_push_url"},
                                                               {"bot":"gone","groups":1,"problem":"not_configured"}])"))
      << pub->body;
  // In chat, in the group whose bot has no push_url (it still answers).
  nlohmann::json body = {{"message_id", "p1"}, {"chat_id", "g1"}, {"chat_type", "group"}, {"sender_id", "wang"},
                         {"sender_name", "wang"}, {"text", "公开 2022-12"}};
  auto r = testing::post_generic(server.port, raw, "p1", body.dump());
  ASSERT_TRUE(r);
  EXPECT_TRUE(has(r->body, "将推送到1个村民群")) << r->body;
  EXPECT_TRUE(has(r->body, "1个村民群收不到通知:机器人 generic 没有配置推送地址 push_url")) << r->body;
  EXPECT_TRUE(has(r->body, "bot gone is not in bots.json")) << r->body;
  EXPECT_EQ(server.stop(), 0);
}

// 记账's reply promises a push on 公开 only when a bound group can get one.
TEST_F(FirstHour, ThePostingHintPromisesNoPushThatCannotBeMade) {
  shuangjiang();
  if (HasFatalFailure()) return;
  std::string raw = "secret-secret-1234";
  write_bots_json(nlohmann::json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                            {"secret", "whsec_" + base64_encode(raw)}}}}}.dump());
  ASSERT_EQ(sl("group bind --village shuangjiang --bot generic --chat g1").exit_code, 0);
  ASSERT_EQ(sl("member add --bot generic --user wang --village shuangjiang --role official").exit_code, 0);
  testing::ServerProcess server;
  server.start(data(), "");
  nlohmann::json body = {{"message_id", "m1"}, {"chat_id", "g1"}, {"chat_type", "group"}, {"sender_id", "wang"},
                         {"sender_name", "wang"}, {"text", "记账 2022-11\n收入 上级拨款 5000 运转经费"}};
  auto r = testing::post_generic(server.port, raw, "m1", body.dump());
  ASSERT_TRUE(r);
  EXPECT_TRUE(has(r->body, "已记账1笔")) << r->body;
  EXPECT_TRUE(has(r->body, "结账公开(本村还没有能推送通知的村民群)")) << r->body;
  EXPECT_FALSE(has(r->body, "推送到村民群")) << r->body;
  EXPECT_EQ(server.stop(), 0);
}

// --config is read from the current directory, as any path on a command
// line; a missing one is named in full, beside the data folder's own.
TEST_F(FirstHour, ServeConfigIsRelativeToTheCurrentDirectory) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  const std::string here = std::filesystem::canonical(dir.path()).string();  // as the current directory reads
  auto at = [&](const std::string& args) {
    return run_command("cd " + here + " && " + SUNLEDGER_BINARY + " --data data " + args);
  };
  auto ok = at("serve --check --config data/bots.json");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(has(ok.output, "✓ " + here + "/data/bots.json: 1 bot,")) << ok.output;
  for (const char* how : {"serve --check --config bots.json", "serve --config bots.json"}) {
    auto missing = at(how);
    EXPECT_EQ(missing.exit_code, 1) << how << "\n" << missing.output;
    EXPECT_TRUE(has(missing.output, "--config bots.json: no such file " + here + "/bots.json")) << missing.output;
    EXPECT_TRUE(has(missing.output, "a relative --config is read from the current directory, " + here))
        << missing.output;
    EXPECT_TRUE(has(missing.output, "the data folder has data/bots.json, which serve reads when --config is left out"))
        << missing.output;
  }
}

// serve --check tries the listen address: a port another program holds made
// it say "ready" while serve then failed to bind.
TEST_F(FirstHour, ServeCheckNamesAPortAnotherProgramHolds) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto held = sl("serve --check --listen " + listen);
  ::close(fd);
  EXPECT_EQ(held.exit_code, 1) << held.output;
  EXPECT_TRUE(has(held.output, "✗ --listen " + listen + ": cannot bind " + listen)) << held.output;
  EXPECT_TRUE(has(held.output, "another program holds the port")) << held.output;
  auto freed = sl("serve --check --listen " + listen);
  EXPECT_TRUE(has(freed.output, "✓ listen address " + listen)) << freed.output;
}

// serve --check names every permission problem in one run, not one a run.
TEST_F(FirstHour, ServeCheckNamesEveryPermissionProblem) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  ::chmod((data() + "/id-salt").c_str(), 0644);
  ::chmod((data() + "/bots.json").c_str(), 0640);
  auto r = sl("serve --check");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "✗ " + data() + "/id-salt is readable by other users; run: chmod 600")) << r.output;
  EXPECT_TRUE(has(r.output, "✗ " + data() + "/bots.json is readable by other users; run: chmod 600")) << r.output;
  EXPECT_TRUE(has(r.output, "2 problems")) << r.output;
}

// ask with a bot nobody configured: said so, with the configured ones, and no
// "bind this group" hint (its bind would be refused too).
TEST_F(FirstHour, AskNamesAnUnknownBotAndTheConfiguredOnes) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  auto r = sl("ask --bot nobot --chat shuangjiang-group --user villager-1 账目");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "unknown bot \"nobot\": it is not in " + data() + "/bots.json (known: generic)")) << r.output;
  EXPECT_FALSE(has(r.output, "group bind")) << r.output;
  EXPECT_EQ(sl("ask --bot generic --chat shuangjiang-group --user villager-1 账目").exit_code, 0);
}

// One of a thing is singular: "appended 1 entry", "intact: 1 log" (they
// read "1 entries" and "1 logs").
TEST_F(FirstHour, OneOfAThingIsSingular) {
  shuangjiang();
  if (HasFatalFailure()) return;
  auto one = post_rows("2022-10-05,income,上级拨款,运转经费,5000,,,,\n");
  EXPECT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(one.output.rfind("appended 1 entry: #0\n", 0), 0u) << one.output;
  auto v = sl("verify --village shuangjiang");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_TRUE(has(v.output, "intact: 1 log, 1 entry\n")) << v.output;
}

// The demo: its own folder only; it names its ids; its pushes are printed as
// they would reach a group or a person, and nothing is retried or spammed.
struct DemoProcess {
  pid_t pid = -1;
  int port = 0;
  std::shared_ptr<std::string> out = std::make_shared<std::shared_ptr<std::string>::element_type>();
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
  std::thread drain;
  void start(const std::string& data) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::execl(SUNLEDGER_BINARY, SUNLEDGER_BINARY, "--data", data.c_str(), "demo", "--listen", "127.0.0.1:0",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    drain = std::thread([fd = fds[0], sink = out, mu = mu] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        std::lock_guard<std::mutex> lock(*mu);
        sink->append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
    });
    for (int i = 0; i < 1200 && port == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::lock_guard<std::mutex> lock(*mu);
      auto at = out->find("on http://127.0.0.1:");
      if (at != std::string::npos && out->find(" with ", at) != std::string::npos) port = std::stoi(out->substr(at + 20));
    }
    ASSERT_GT(port, 0) << text();
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(*mu);
    return *out;
  }
  bool wait_for(const std::string& what) {
    for (int i = 0; i < 400; ++i) {
      if (text().find(what) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  int stop() {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (drain.joinable()) drain.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

TEST_F(FirstHour, TheDemoShowsTheWholeLoop) {
  DemoProcess demo;
  demo.start(data());
  std::string guide = demo.text();
  for (const char* id : {"bot: generic", "shuangjiang-group", "双江村", "shuangjiang-secretary", "district-inspector",
                         "zhuting-inspector", "ask --bot generic"})
    EXPECT_TRUE(has(guide, id)) << id << "\n" << guide;
  // The status updates the demo's story queued in 2022 are printed at start,
  // each with the day it was queued: they must not read as news of today.
  EXPECT_TRUE(demo.wait_for("[→ 私信 shuangjiang-villager-li · 2022-12-")) << demo.text();
  EXPECT_FALSE(has(demo.text(), "[→ 私信 shuangjiang-villager-li] 您的投诉")) << demo.text();
  auto cfg = nlohmann::json::parse(read_file(data() + "/bots.json"));
  std::string secret = *base64_decode(cfg["bots"][0]["secret"].get<std::string>().substr(6));
  auto say = [&](const std::string& id, const std::string& chat, bool group, const std::string& user, const std::string& text) {
    nlohmann::json body = {{"message_id", id}, {"chat_id", chat}, {"chat_type", group ? "group" : "private"},
                           {"sender_id", user}, {"sender_name", user}, {"text", text}};
    auto r = testing::post_generic(demo.port, secret, id, body.dump());
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return r ? r->body : "";
  };
  say("m1", "shuangjiang-group", true, "shuangjiang-secretary", "记账 2022-12\n支出 办公费 350 打印纸 日期:2022-12-05");
  std::string published = say("m2", "shuangjiang-group", true, "shuangjiang-secretary", "公开 2022-12");
  EXPECT_TRUE(has(published, "将推送到1个村民群")) << published;
  EXPECT_TRUE(demo.wait_for("[→ 双江村村民群] 【双江村 2022年12月 三务公开】")) << demo.text();
  // A complaint in the group: the receipt goes privately, and shows up as such.
  std::string filed = say("m3", "shuangjiang-group", true, "shuangjiang-villager-li", "投诉 #25 村道拓宽为什么用水利专项资金");
  EXPECT_TRUE(has(filed, "回执已私信发给您")) << filed;
  EXPECT_TRUE(demo.wait_for("[→ 私信 shuangjiang-villager-li] 已受理")) << demo.text();
  // The public web is served on the same port: the month just published has
  // its page, and its notice's QR code names the address the demo listens on.
  httplib::Client web("127.0.0.1", demo.port);
  auto front = web.Get("/");
  ASSERT_TRUE(front);
  EXPECT_EQ(front->status, 200);
  EXPECT_TRUE(has(front->body, "href=\"/villages/shuangjiang/2022-12\"")) << front->body;
  auto notice = web.Get("/villages/shuangjiang/2022-12/notice");
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->status, 200);
  EXPECT_TRUE(has(notice->body, "http://127.0.0.1:" + std::to_string(demo.port) + "/villages/shuangjiang/2022-12</span></p>"))
      << notice->body;
  EXPECT_FALSE(has(notice->body, "村道拓宽为什么用水利专项资金"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(demo.stop(), 0);
  std::string log = demo.text();
  EXPECT_FALSE(has(log, "failed (attempt")) << log;
  EXPECT_FALSE(has(log, "dead letter")) << log;
  EXPECT_FALSE(has(log, "cannot message one person")) << log;
}

// A restore half done (the database copied, the key or salt kept offline not
// put back) is named as that, never as "run init", which would refuse anyway.
TEST_F(FirstHour, ARestoreWithoutTheKeyOrSaltSaysToPutBackTheOfflineCopy) {
  shuangjiang();
  if (HasFatalFailure()) return;
  std::string restored = dir.file("restored");
  std::filesystem::create_directories(restored);
  ::chmod(restored.c_str(), 0700);
  std::filesystem::copy_file(data() + "/sunledger.db", restored + "/sunledger.db");
  auto no_key = run_command(std::string(SUNLEDGER_BINARY) + " --data " + restored + " village list");
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_TRUE(has(no_key.output, "put back the copy of this deployment's log-key.pem kept offline")) << no_key.output;
  EXPECT_FALSE(has(no_key.output, "sunledger init`")) << no_key.output;
  std::filesystem::copy_file(data() + "/log-key.pem", restored + "/log-key.pem");
  auto no_salt = run_command(std::string(SUNLEDGER_BINARY) + " --data " + restored + " village list");
  EXPECT_EQ(no_salt.exit_code, 1);
  EXPECT_TRUE(has(no_salt.output, "put back the copy of this deployment's id-salt kept offline")) << no_salt.output;
  // No database at all: where --data goes, and how a new one starts.
  auto none = run_command(std::string(SUNLEDGER_BINARY) + " --data " + dir.file("nowhere") + " village list");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(has(none.output, "name the deployment's folder with --data DIR before the command")) << none.output;
}

// serve --check names every permission problem in one run, also when the key
// file is one of them and keeps the ledger from opening.
TEST_F(FirstHour, ServeCheckNamesEveryProblemWhenTheKeyFileKeepsTheLedgerShut) {
  shuangjiang();
  if (HasFatalFailure()) return;
  ::chmod(data().c_str(), 0755);
  for (const char* f : {"/sunledger.db", "/log-key.pem", "/id-salt"}) ::chmod((data() + f).c_str(), 0644);
  auto r = sl("serve --check");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  for (const char* named : {"log-key.pem", "sunledger.db", "id-salt", "chmod 700"})
    EXPECT_TRUE(has(r.output, named)) << named << "\n" << r.output;
  EXPECT_TRUE(has(r.output, "✗ ")) << r.output;
  EXPECT_TRUE(has(r.output, "problems: fix them before going live")) << r.output;
}

// The demo checks that it can serve before printing a guide to a server that
// would not start: another serve on the folder, or its port taken.
TEST_F(FirstHour, TheDemoSaysAtOnceWhenItCannotServe) {
  DemoProcess first;
  first.start(data());
  auto second = sl("demo --listen 127.0.0.1:0");
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_TRUE(has(second.output, "already serving")) << second.output;
  EXPECT_FALSE(has(second.output, "演示数据 (demo data) in")) << second.output;
  EXPECT_EQ(first.stop(), 0);
}

// ask beside a serving demo names the demo's pages, as the demo itself does.
TEST_F(FirstHour, AskBesideTheDemoNamesItsPages) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  write_file(data() + "/DEMO-URL", "http://127.0.0.1:18080\n");
  auto help = sl("ask --bot generic --chat shuangjiang-group --user v1 帮助");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_TRUE(has(help.output, "网页版 (on the web): http://127.0.0.1:18080/villages/shuangjiang")) << help.output;
  // A month before the ledger's first: never to be published, not "not yet".
  auto before = sl("ask --bot generic --chat shuangjiang-group --user v1 核验 2021-01");
  EXPECT_TRUE(has(before.output, "的公开账目从2022年9月开始,2021年1月没有账目")) << before.output;
  auto version = sl("help version");
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_TRUE(has(version.output, "Usage: sunledger --version")) << version.output;
  auto variant = sl("ask --bot generic --chat shuangjiang-group --user v1 帐目");  // the variant spelling of 账目
  EXPECT_TRUE(has(variant.output, "双江村")) << variant.output;
  EXPECT_FALSE(has(variant.output, "没听懂")) << variant.output;
}

// The demo marker is a file anyone with the folder can write: in a folder
// whose ledger is not the demo's it changes nothing (the demo's bot would
// print pushes to the terminal and mark them delivered, and DEMO-URL would
// put an address of the writer's choosing in 帮助 and every notice).
TEST_F(FirstHour, ADemoMarkerInARealFolderChangesNothing) {
  shuangjiang();
  if (HasFatalFailure()) return;
  write_bots_json(nlohmann::json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                            {"secret", "whsec_c2VjcmV0LXNlY3JldC0xMjM0"}}}}}.dump());
  ASSERT_EQ(sl("group bind --village shuangjiang --bot generic --chat g1").exit_code, 0);
  write_file(data() + "/DEMO", "");
  write_file(data() + "/DEMO-URL", "https://evil.example\n");
  auto help = sl("ask --bot generic --chat g1 --user v1 帮助");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_FALSE(has(help.output, "evil.example")) << help.output;
  auto check = sl("serve --check");
  EXPECT_FALSE(has(check.output, "printed to the terminal")) << check.output;
  EXPECT_TRUE(has(check.output, "pushes to groups: no")) << check.output;
  auto demo = sl("demo --no-serve");
  EXPECT_EQ(demo.exit_code, 1) << demo.output;
  EXPECT_TRUE(has(demo.output, "not the demo's")) << demo.output;
}

TEST_F(FirstHour, TheDemoRefusesAFolderWithOtherData) {
  ASSERT_EQ(sl("init --origin lukou.example/sunledger").exit_code, 0);
  auto r = sl("demo --no-serve");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "not the demo's")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(data() + "/bots.json"));
  EXPECT_EQ(sl("village list").output, "");
  // A folder holding anything else is refused too; the demo's own is reused.
  std::string other = dir.file("other");
  std::filesystem::create_directories(other);
  write_file(other + "/notes.txt", "mine");
  EXPECT_EQ(in(other, "demo --no-serve").exit_code, 1);
  std::string demo = dir.file("demo");
  ASSERT_EQ(in(demo, "demo --no-serve").exit_code, 0);
  // An empty folder made for it (a mounted volume) is the demo's to fill,
  // whatever lock files commands leave there (in-use.lock, serve.lock).
  std::string empty = dir.file("empty");
  std::filesystem::create_directories(empty);
  auto filled = in(empty, "demo --no-serve");
  EXPECT_EQ(filled.exit_code, 0) << filled.output;
  EXPECT_TRUE(std::filesystem::exists(empty + "/DEMO"));
  auto again = in(demo, "demo --no-serve");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(has(again.output, "already present")) << again.output;
}

TEST_F(FirstHour, ServeCheckSaysWhatEachBotCanDo) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  auto ok = sl("serve --check");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  for (const char* line : {"bot generic (generic):", "answers: yes, at POST /webhooks/generic",
                           "pushes to groups: yes, printed to the terminal (demo)", "reaches one person privately: yes",
                           "bound: 5 groups", "ready:"})
    EXPECT_TRUE(has(ok.output, line)) << line << "\n" << ok.output;
  // Another configuration: a bot without a push_url, and the demo's bot missing.
  std::string config = dir.file("other.json");
  write_file(config, R"({"bots":[{"id":"lukou-ding","platform":"dingtalk","app_secret":"s3cret"}]})");
  ::chmod(config.c_str(), 0600);
  auto bad = sl("serve --check --config " + config);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(has(bad.output, "pushes to groups: no (no push_url)")) << bad.output;
  EXPECT_TRUE(has(bad.output, "reaches one person privately: no")) << bad.output;
  EXPECT_TRUE(has(bad.output, "group shuangjiang-group (village shuangjiang) is bound to bot generic, which is not in the configuration"))
      << bad.output;
  // Permissions.
  ::chmod(config.c_str(), 0644);
  auto open = sl("serve --check --config " + config);
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_TRUE(has(open.output, "chmod 600")) << open.output;
  // --check never listens and never takes the serve lock for good.
  EXPECT_EQ(sl("serve --check").exit_code, 0);
}

// The server log names an unbound group's chat id and the line that binds it.
TEST_F(FirstHour, AnUnboundGroupIsLoggedWithItsChatId) {
  ASSERT_EQ(sl("init --origin t.example/x").exit_code, 0);
  std::string raw = "secret-secret-1234";
  write_file(data() + "/bots.json", nlohmann::json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                                             {"secret", "whsec_" + base64_encode(raw)}}}}}.dump());
  ::chmod((data() + "/bots.json").c_str(), 0600);
  testing::ServerProcess server;
  server.start(data(), data() + "/bots.json");
  nlohmann::json body = {{"message_id", "u1"}, {"chat_id", "wrkSFfCgAA42"}, {"chat_type", "group"},
                         {"sender_id", "x"}, {"sender_name", "x"}, {"text", "账目"}};
  auto r = testing::post_generic(server.port, raw, "u1", body.dump());
  ASSERT_TRUE(r);
  EXPECT_TRUE(has(r->body, "--chat wrkSFfCgAA42")) << r->body;
  EXPECT_EQ(server.stop(), 0);
  EXPECT_TRUE(has(*server.log, "chat id wrkSFfCgAA42")) << *server.log;
  // With this deployment's data folder, so the line can be pasted as it is.
  std::string folder = std::filesystem::absolute(data()).lexically_normal().string();
  EXPECT_TRUE(has(*server.log, "sunledger --data " + folder + " group bind --village VILLAGE_ID --bot generic --chat wrkSFfCgAA42"))
      << *server.log;
}

// With --public-url, chat names the public pages: 帮助 the village's, each
// monthly notice its month's; the start-up log names them too. Without it
// chat names no address (a loopback one would mislead a villager).
TEST_F(FirstHour, ThePublicUrlIsNamedInHelpAndInTheMonthlyNotice) {
  shuangjiang();
  if (HasFatalFailure()) return;
  testing::Receiver receiver;
  std::string raw = "secret-secret-1234";
  write_bots_json(nlohmann::json{{"bots", {{{"id", "generic"}, {"platform", "generic"},
                                            {"secret", "whsec_" + base64_encode(raw)},
                                            {"push_url", "http://127.0.0.1:" + std::to_string(receiver.port) + "/push"}}}}}
                      .dump());
  ASSERT_EQ(sl("group bind --village shuangjiang --bot generic --chat g1").exit_code, 0);
  ASSERT_EQ(sl("member add --bot generic --user sec --village shuangjiang --role official").exit_code, 0);
  ASSERT_EQ(post_rows("2022-11-05,income,上级拨款,运转经费,6000,,,,\n").exit_code, 0);
  auto say = [&](int port, const std::string& id, const std::string& user, const std::string& text) {
    nlohmann::json body = {{"message_id", id}, {"chat_id", "g1"}, {"chat_type", "group"},
                           {"sender_id", user}, {"sender_name", user}, {"text", text}};
    auto r = testing::post_generic(port, raw, id, body.dump());
    return r ? r->body : std::string("no answer");
  };
  {
    testing::ServerProcess plain;
    plain.start(data(), data() + "/bots.json");
    EXPECT_FALSE(has(say(plain.port, "h0", "v1", "帮助"), "网页版")) << "no address without --public-url";
    EXPECT_EQ(plain.stop(), 0);
  }
  testing::ServerProcess server;
  server.extra_args = {"--public-url", "https://lukou.example.cn/"};
  server.start(data(), data() + "/bots.json");
  EXPECT_TRUE(has(say(server.port, "h1", "v1", "帮助"), "网页版 (on the web): https://lukou.example.cn/villages/shuangjiang\\n"));
  EXPECT_TRUE(has(say(server.port, "p1", "sec", "公开 2022-11"), "2022"));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(receiver.mu);
      if (!receiver.pushes.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(server.stop(), 0);
  EXPECT_TRUE(has(*server.log, "public pages (every village's published accounts, for anyone): https://lukou.example.cn/ "))
      << *server.log;
  std::lock_guard<std::mutex> lock(receiver.mu);
  ASSERT_EQ(receiver.pushes.size(), 1u) << *server.log;
  EXPECT_TRUE(has(receiver.pushes[0].second, "https://lukou.example.cn/villages/shuangjiang/2022-11"))
      << receiver.pushes[0].second;
}

TEST_F(FirstHour, APublicUrlAVillagerCannotOpenIsAUsageError) {
  for (const char* bad : {"lukou.example.cn", "ftp://lukou.example.cn", "https://", "https:///x",
                          "'https://a b.cn'", "https://a.cn/?x=1", "'https://a.cn/<script>'",
                          "'https://lukou.example.cn\xE3\x80\x80领取补贴请加微信wx123'", "'https://a.cn\xE2\x80\xAE'",
                          "https://lukou.gov.cn@evil.example", "javascript://x"}) {
    auto r = sl(std::string("serve --check --public-url ") + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.output;
    EXPECT_TRUE(has(r.output, "--public-url")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(data() + "/sunledger.db")) << "a usage error touches nothing";
  }
  ASSERT_EQ(sl("init --origin t.example/x").exit_code, 0);
  auto ok = sl("serve --check --public-url https://lukou.example.cn/");
  EXPECT_TRUE(has(ok.output, "public pages at https://lukou.example.cn/ (")) << ok.output;
  // Valid, but only this machine can open it: a warning, not a ready mark.
  for (const char* local : {"http://localhost:8080", "http://127.0.0.1:8080", "http://0.0.0.0:8080", "http://[::1]:8080"}) {
    auto r = sl(std::string("serve --check --public-url ") + local);
    EXPECT_TRUE(has(r.output, std::string("! --public-url ") + local + " names this machine only")) << r.output;
  }
}

// README's restore steps, in order: backup (bots.json included, env:
// references kept), a fresh folder with the database, the kept key and salt
// and bots.json, verify, serve --check. The wrong key is named as such.
TEST_F(FirstHour, BackupAndTheReadmeRestoreSteps) {
  ASSERT_EQ(sl("demo --no-serve").exit_code, 0);
  // A bots.json with an env: reference, as README's.
  write_file(data() + "/bots.json",
             R"({"bots":[{"id":"generic","platform":"generic","secret":"env:DEMO_GENERIC_SECRET"}]})");
  ::chmod((data() + "/bots.json").c_str(), 0600);
  std::string backup = dir.file("backup");
  auto b = sl("backup --to " + backup);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(read_file(backup + "/bots.json"), read_file(data() + "/bots.json"));
  EXPECT_TRUE(has(read_file(backup + "/bots.json"), "env:DEMO_GENERIC_SECRET"));
  struct stat st{};
  ASSERT_EQ(::stat((backup + "/bots.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Restore as README says.
  std::string restored = dir.file("restored");
  ASSERT_EQ(run_command("mkdir -m 700 " + restored + " && cp " + backup + "/sunledger.db " + backup + "/bots.json " + data() +
                        "/log-key.pem " + data() + "/id-salt " + restored + "/ && chmod 600 " + restored + "/*")
                .exit_code,
            0);
  auto v = in(restored, "verify");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  auto check = run_command("DEMO_GENERIC_SECRET=whsec_c2VjcmV0LXNlY3JldC0xMjM0 " + std::string(SUNLEDGER_BINARY) + " --data " +
                           restored + " serve --check");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_TRUE(has(check.output, "bound: 5 groups")) << check.output;
  // Another deployment's key: said so, not "tampered".
  std::string wrong = dir.file("wrong");
  ASSERT_EQ(in(dir.file("elsewhere"), "init --origin sunledger.example/lukou").exit_code, 0);
  ASSERT_EQ(run_command("mkdir -m 700 " + wrong + " && cp " + backup + "/sunledger.db " + dir.file("elsewhere") + "/log-key.pem " +
                        data() + "/id-salt " + wrong + "/ && chmod 600 " + wrong + "/*")
                .exit_code,
            0);
  auto w = in(wrong, "verify");
  EXPECT_EQ(w.exit_code, 1);
  EXPECT_TRUE(has(w.output, "the log key does not match this database")) << w.output;
  EXPECT_FALSE(has(w.output, "TAMPERED")) << w.output;
}

}  // namespace
}  // namespace sunledger
