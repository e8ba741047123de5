// Start-up verification of a Lukou-sized deployment (issue #11): what `serve`
// runs before it listens (Bot::verify_deployment: every log, every derived
// table, every kept checkpoint, and the complaints), on 139 villages x 7,200
// entries = 1,000,800 village entries plus 2,000 complaints (bench/deployment.h).
// Target: >= 100,000 entries/s, so a 1,000,000-entry deployment starts in
// about 10 s.
//
// The deployment is built once in a temporary folder (about a minute, 530 MB)
// and removed at exit; SUNLEDGER_DEPLOYMENT=DIR measures an existing folder
// instead (made by `sunledger init` and build/bench/make_deployment).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench/deployment.h"
#include "bot/bot.h"
#include "ledger/checkpoint.h"
#include "ledger/ledger.h"

namespace sunledger {
namespace {

namespace fs = std::filesystem;

struct OpenDeployment {
  fs::path dir;
  bool remove = false;
  SystemClock clock;
  std::unique_ptr<Ed25519KeyFile> key;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Bot> bot;
  uint64_t entries = 0;

  OpenDeployment() {
    if (const char* given = std::getenv("SUNLEDGER_DEPLOYMENT")) {
      dir = given;
    } else {
      dir = fs::temp_directory_path() / ("sunledger-verifybench-" + std::to_string(::getpid()));
      fs::remove_all(dir);
      remove = true;
      check(bench::init_data_folder(dir.string(), "lukou.example/sunledger"));
      auto made = bench::fill_deployment(dir.string(), bench::DeploymentShape{}, &std::cerr);
      check(made.status());
    }
    std::string db = (dir / "sunledger.db").string();
    auto origin = Ledger::stored_origin(db);
    check(origin.status());
    auto k = Ed25519KeyFile::load((dir / "log-key.pem").string(), *origin);
    check(k.status());
    key = std::move(*k);
    Ledger::Options o;
    o.db_path = db;
    o.signer = key.get();
    o.clock = &clock;
    auto l = Ledger::open(o);
    check(l.status());
    ledger = std::move(*l);
    BotOptions bo;
    std::ifstream in(dir / "id-salt");
    std::getline(in, bo.identity_salt);
    bot = std::make_unique<Bot>(ledger.get(), bo);
    check(bot->initialize());
    auto villages = ledger->total_entries();
    check(villages.status());
    auto complaints = ledger->log_size("complaints");
    entries = *villages + (complaints.is_ok() ? *complaints : 0);
  }
  ~OpenDeployment() {
    bot.reset();
    ledger.reset();
    if (remove) fs::remove_all(dir);
  }
  static void check(const Status& s) {
    if (s.is_ok()) return;
    std::cerr << "verify_bench: " << s.to_string() << "\n";
    std::exit(1);
  }
};

void BM_StartupVerify1M(benchmark::State& state) {
  OpenDeployment d;
  for (auto _ : state) {
    auto problems = d.bot->verify_deployment();
    if (!problems.is_ok() || !problems->empty()) state.SkipWithError("the deployment does not verify");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.entries));
  state.counters["entries"] = static_cast<double>(d.entries);
}
BENCHMARK(BM_StartupVerify1M)->Unit(benchmark::kSecond)->Iterations(3)->UseRealTime();

}  // namespace
}  // namespace sunledger

BENCHMARK_MAIN();
