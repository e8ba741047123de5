// The bot alone, no HTTP (issue #3 targets on the 2-core machine):
//   账目 queries: >= 20,000/s
//   durable 记账 posts (one line each, dedupe record and checkpoint in the commit): >= 3,000/s
//   投诉 filed in a group (the complaint, and the receipt's private push queued
//   and signed in the same commit): what one filing costs, no target
#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>

#include "demo/demo.h"
#include "bot/bot.h"
#include "ledger/checkpoint.h"
#include "ledger/fresh_ledger.h"

namespace sunledger {
namespace {

namespace fs = std::filesystem;

struct BenchBot {
  fs::path dir;
  ManualClock clock{1670205600};  // 2022-12-05 CST: November is closed, December open
  std::unique_ptr<Ed25519KeyFile> key;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Bot> bot;

  explicit BenchBot(const std::string& name, bool reaches_person = false) {
    dir = fs::temp_directory_path() / ("sunledger-botbench-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto fresh = create_fresh_ledger(dir.string(), "bench.sunledger", &clock);
    if (!fresh.is_ok()) std::abort();
    key = std::move(fresh->key);
    ledger = std::move(fresh->ledger);
    BotOptions bo;
    bo.identity_salt = "0123456789abcdef0123456789abcdef";
    // One sender asks thousands of times a second here; the per-sender chat
    // limit (20 a minute) is for people, so it is off, as in bench/run-wrk.sh.
    bo.commands_per_minute = 0;
    // A bot that can message people privately: a complaint filed in a group
    // then queues the receipt as a push (the work BM_FileComplaint times).
    if (reaches_person) bo.reaches_person = [](const std::string&) { return true; };
    bot = std::make_unique<Bot>(ledger.get(), bo);
    if (!bot->initialize().is_ok()) std::abort();
    if (!cli::load_demo_data(*ledger, *bot, bo.identity_salt, cli::DemoTime{[this](int64_t x) { clock.set(x); }, [this] { clock.set(1670205600); }}).is_ok()) std::abort();
  }
  ~BenchBot() {
    bot.reset();
    ledger.reset();
    fs::remove_all(dir);
  }
};

void BM_AccountsQuery(benchmark::State& state) {
  static BenchBot* b = nullptr;
  if (state.thread_index() == 0) b = new BenchBot("query");
  InboundMessage m{cli::kDemoBotId, "shuangjiang-group", true, "villager", "村民", "账目", "", 0};
  for (auto _ : state) {
    auto r = b->bot->handle(m);
    if (!r.is_ok() || r->text.find("账目公开") == std::string::npos) state.SkipWithError("bad reply");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    delete b;
    b = nullptr;
  }
}
BENCHMARK(BM_AccountsQuery)->UseRealTime()->Threads(1)->Threads(2)->Unit(benchmark::kMicrosecond);

void BM_PostDurable(benchmark::State& state) {
  static BenchBot* b = nullptr;
  static std::atomic<int> next{0};
  if (state.thread_index() == 0) b = new BenchBot("post");
  for (auto _ : state) {
    int id = next++;
    InboundMessage m{cli::kDemoBotId, "shuangjiang-group", true, "shuangjiang-secretary", "书记",
                     "记账 2022-12\n支出 办公费 " + std::to_string(10 + id % 1000) + " 打印纸第" + std::to_string(id) + "批", "msg-" + std::to_string(id), 0};
    auto r = b->bot->handle(m);
    if (!r.is_ok() || r->text.find("已记账") == std::string::npos) state.SkipWithError("post failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    delete b;
    b = nullptr;
  }
}
BENCHMARK(BM_PostDurable)->UseRealTime()->MinTime(3.0)->Threads(1)->Threads(16)->Unit(benchmark::kMicrosecond);

// Each filing is a new villager's (no per-person limit in the way); the
// receipt goes to them as a private push, queued in the filing's commit.
void BM_FileComplaint(benchmark::State& state) {
  BenchBot b("complaint", true);
  int id = 0;
  for (auto _ : state) {
    ++id;
    InboundMessage m{cli::kDemoBotId, "shuangjiang-group", true, "villager-" + std::to_string(id), "村民",
                     "投诉 村口第" + std::to_string(id) + "号路灯的维修费报了两次", "complaint-" + std::to_string(id), 0};
    auto r = b.bot->handle(m);
    if (!r.is_ok() || r->text.find("回执已私信") == std::string::npos) state.SkipWithError("filing failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FileComplaint)->UseRealTime()->MinTime(3.0)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sunledger

BENCHMARK_MAIN();
