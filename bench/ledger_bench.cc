// Ledger benchmarks (issue #2 targets on the 2-core machine):
//   durable appends, one entry per transaction with a signed checkpoint: >= 5,000/s
//   inclusion and consistency proofs on a 1,000,000-entry log: < 100 us each
//   full verify of a 1,000,000-entry log: >= 100,000 entries/s
// With SUNLEDGER_BENCH_DB=postgresql://…/NAME every case runs on PostgreSQL
// instead (issue #17: durable appends with 16 clients >= 5,000/s): the n-th
// ledger a run opens goes to database NAME_n, which must exist and be empty
// (bench/run-pg.sh appends starts a throwaway cluster and makes them).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "ledger/checkpoint.h"
#include "ledger/fresh_ledger.h"
#include "ledger/ledger.h"

namespace sunledger {
namespace {

namespace fs = std::filesystem;

// "" (SQLite in the folder) or the next of SUNLEDGER_BENCH_DB's databases.
std::string next_database() {
  static int opened = 0;
  const char* prefix = std::getenv("SUNLEDGER_BENCH_DB");
  if (prefix == nullptr || *prefix == '\0') return "";
  return std::string(prefix) + "_" + std::to_string(++opened);
}

struct BenchLedger {
  fs::path dir;
  ManualClock clock{1670205600};  // 2022-12-05 CST
  std::unique_ptr<Ed25519KeyFile> key;
  std::unique_ptr<Ledger> ledger;

  explicit BenchLedger(const std::string& name) {
    dir = fs::temp_directory_path() / ("sunledger-bench-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto fresh = create_fresh_ledger(dir.string(), "bench.sunledger", &clock, {}, next_database());
    if (!fresh.is_ok()) {
      std::fprintf(stderr, "cannot open the bench ledger: %s\n", fresh.status().to_string().c_str());
      std::abort();
    }
    key = std::move(fresh->key);
    ledger = std::move(fresh->ledger);
    if (!ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok()) std::abort();
  }
  ~BenchLedger() {
    ledger.reset();
    fs::remove_all(dir);
  }
};

TransactionLine sample_line(uint64_t i) {
  TransactionLine t;
  t.date = "2022-11-" + std::string(i % 28 < 9 ? "0" : "") + std::to_string(i % 28 + 1);
  t.income = i % 3 == 0;
  t.category = t.income ? "上级拨款" : "工程款";
  t.item = "水渠修缮第" + std::to_string(i) + "笔";
  t.amount = static_cast<Fen>(1000 + i % 100000);
  t.fund = "专项资金";
  t.counterparty = "某水利工程队";
  return t;
}

const Author kAuthor{"bench", "official", "bench"};

// One entry per transaction, checkpoint signed, acknowledged after a durable
// commit. With one client every append waits for its own fsync; with several
// clients (as the webhook server has) the group commit shares fsyncs.
void BM_DurableAppend(benchmark::State& state) {
  static BenchLedger* shared = nullptr;
  static std::atomic<uint64_t> next{0};
  if (state.thread_index() == 0) shared = new BenchLedger("append");
  // Google Benchmark starts every thread's loop together, after setup.
  for (auto _ : state) {
    auto r = shared->ledger->post_transactions("shuangjiang", {sample_line(next++)}, kAuthor);
    if (!r.is_ok()) state.SkipWithError(r.status().to_string().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    delete shared;
    shared = nullptr;
  }
}
BENCHMARK(BM_DurableAppend)->Unit(benchmark::kMicrosecond)->MinTime(3.0)->UseRealTime()->Threads(1)->Threads(16);

void BM_SignCheckpoint(benchmark::State& state) {
  BenchLedger b("sign");
  Checkpoint cp{"bench.sunledger/shuangjiang", 12345, Hash{}};
  for (auto _ : state) {
    auto note = sign_checkpoint(cp, *b.key);
    benchmark::DoNotOptimize(note);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SignCheckpoint)->Unit(benchmark::kMicrosecond);

// One 1,000,000-entry log, built once (1,000 entries per transaction) and
// shared by the proof and verify cases.
constexpr uint64_t kBigLog = 1'000'000;
BenchLedger& big_log() {
  static BenchLedger* b = [] {
    auto* bl = new BenchLedger("big");
    for (uint64_t start = 0; start < kBigLog; start += 1000) {
      std::vector<TransactionLine> lines;
      for (uint64_t i = start; i < start + 1000 && i < kBigLog; ++i) lines.push_back(sample_line(i));
      Status s = bl->ledger->write([&](WriteTxn& t) { return t.post_transactions("shuangjiang", lines, kAuthor).status(); });
      if (!s.is_ok()) std::abort();
    }
    return bl;
  }();
  return *b;
}

void BM_InclusionProof1M(benchmark::State& state) {
  BenchLedger& b = big_log();
  std::mt19937_64 rng(42);
  for (auto _ : state) {
    uint64_t size = kBigLog / 2 + rng() % (kBigLog / 2);
    auto p = b.ledger->inclusion_proof("shuangjiang", rng() % size, size);
    if (!p.is_ok()) state.SkipWithError(p.status().to_string().c_str());
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_InclusionProof1M)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof1M(benchmark::State& state) {
  BenchLedger& b = big_log();
  std::mt19937_64 rng(7);
  for (auto _ : state) {
    uint64_t to = kBigLog / 2 + rng() % (kBigLog / 2);
    uint64_t from = 1 + rng() % (to - 1);
    auto p = b.ledger->consistency_proof("shuangjiang", from, to);
    if (!p.is_ok()) state.SkipWithError(p.status().to_string().c_str());
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_ConsistencyProof1M)->Unit(benchmark::kMicrosecond);

void BM_Verify1M(benchmark::State& state) {
  BenchLedger& b = big_log();
  for (auto _ : state) {
    auto r = b.ledger->verify("shuangjiang");
    if (!r.is_ok() || !r->intact()) state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * (kBigLog + 1)));
}
BENCHMARK(BM_Verify1M)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

}  // namespace
}  // namespace sunledger

BENCHMARK_MAIN();
