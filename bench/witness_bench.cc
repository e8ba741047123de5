// Witness benchmark (issue #15 target on the 2-core machine):
//   add-checkpoint, each a signed checkpoint with a consistency proof from the
//   witness's size, verified, durably recorded (synchronous=FULL) and
//   cosigned: >= 2,000/s.
// Through HTTP the same is measured by witness_tests'
// WitnessFixture.AddCheckpointThroughHttpRate (it prints the figure).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "witness/witness.h"

namespace sunledger {
namespace {

namespace fs = std::filesystem;

class Leaves final : public SubtreeHashSource {
 public:
  std::vector<Hash> leaves;
  std::map<std::pair<int, uint64_t>, Hash> cache;
  Result<Hash> perfect_subtree(int level, uint64_t index) override {
    if (level == 0) return leaves[index];
    auto it = cache.find({level, index});
    if (it != cache.end()) return it->second;
    Hash h = merkle_node_hash(*perfect_subtree(level - 1, 2 * index), *perfect_subtree(level - 1, 2 * index + 1));
    cache[{level, index}] = h;
    return h;
  }
};

// One witness for every benchmark thread, made once, removed at exit.
witness::Witness* shared_witness(Ed25519KeyFile** log_key) {
  static fs::path dir = fs::temp_directory_path() / ("sunledger-witness-bench-" + std::to_string(::getpid()));
  static std::unique_ptr<witness::Witness> w;
  static std::unique_ptr<Ed25519KeyFile> key;
  static std::once_flag once;
  std::call_once(once, [] {
    fs::remove_all(dir);
    fs::create_directories(dir);
    if (!witness::Witness::init((dir / "w").string(), "bench.example/w").is_ok()) std::abort();
    auto opened = witness::Witness::open((dir / "w").string());
    auto k = Ed25519KeyFile::create((dir / "log.pem").string(), "bench.example/log");
    if (!opened.is_ok() || !k.is_ok()) std::abort();
    w = std::move(*opened);
    key = std::move(*k);
    if (!w->add_log("bench.example/log/", verifier_key(key->key_name(), key->public_key())).is_ok()) std::abort();
    std::atexit([] { fs::remove_all(dir); });
  });
  *log_key = key.get();
  return w.get();
}

// Each thread is one village's log: a request per new entry, with the proof
// from the previous size, made before timing. Threads share the witness's
// commits, as a county's villages do.
void BM_AddCheckpoint(benchmark::State& state) {
  Ed25519KeyFile* key = nullptr;
  witness::Witness* w = shared_witness(&key);
  const uint64_t n = static_cast<uint64_t>(state.max_iterations);
  std::string origin = "bench.example/log/village-" + std::to_string(state.threads()) + "-" + std::to_string(state.thread_index());
  Leaves src;
  for (uint64_t i = 0; i < n; ++i) src.leaves.push_back(merkle_leaf_hash("entry " + std::to_string(i)));
  MerkleTree tree(&src, n);
  std::vector<std::string> bodies;
  for (uint64_t size = 1; size <= n; ++size) {
    uint64_t old = size - 1;
    std::string body = "old " + std::to_string(old) + "\n";
    if (old > 0) {
      auto proof = tree.consistency_proof(old, size);  // kept: *temporary in a range-for would dangle
      for (const auto& h : *proof) body += base64_encode(h) + "\n";
    }
    body += "\n" + *sign_checkpoint(Checkpoint{origin, size, *tree.root(size)}, *key);
    bodies.push_back(std::move(body));
  }
  size_t next = 0;
  for (auto _ : state) {
    auto a = w->add_checkpoint(bodies[next++]);
    if (a.status != 200) {
      state.SkipWithError(a.body.c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(next));
}
BENCHMARK(BM_AddCheckpoint)->Iterations(200)->Threads(1)->Threads(32)->Threads(64)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sunledger

BENCHMARK_MAIN();
