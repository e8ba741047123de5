// Export benchmark (issue #16 target on the 2-core machine): a village's
// published books read from the ledger, turned into double entry and written
// as an hledger journal, a beancount file, a CSV or an .xlsx workbook:
// >= 200,000 entries/s.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "exports/exports.h"
#include "ledger/checkpoint.h"
#include "ledger/fresh_ledger.h"

namespace sunledger {
namespace {

namespace fs = std::filesystem;

constexpr int kMonths = 10;
constexpr int kLinesPerMonth = 10'000;

// 100,000 lines over ten published months of 2022, a third of them into the
// special fund of a registered special project.
struct ExportLedger {
  fs::path dir = fs::temp_directory_path() / ("sunledger-export-bench-" + std::to_string(::getpid()));
  ManualClock clock{1670205600};  // 2022-12-05 CST
  std::unique_ptr<Ed25519KeyFile> key;
  std::unique_ptr<Ledger> ledger;

  ExportLedger() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto fresh = create_fresh_ledger(dir.string(), "bench.sunledger", &clock);
    if (!fresh.is_ok()) std::abort();
    key = std::move(fresh->key);
    ledger = std::move(fresh->ledger);
    const Author a{"bench", "official", "bench"};
    if (!ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok()) std::abort();
    if (!ledger->register_project("shuangjiang", {"水利建设", 3'000'000'00, true}, a).is_ok()) std::abort();
    for (int m = 1; m <= kMonths; ++m) {
      std::string month = "2022-" + std::string(m < 10 ? "0" : "") + std::to_string(m);
      std::vector<TransactionLine> lines;
      for (int i = 0; i < kLinesPerMonth; ++i) {
        bool special = i % 3 == 0;
        lines.push_back(transaction_line(month + "-" + (i % 28 < 9 ? "0" : "") + std::to_string(i % 28 + 1), i % 5 == 0,
                                         i % 5 == 0 ? "上级拨款" : special ? "工程款" : "办公费", "第" + std::to_string(i) + "笔",
                                         1000 + i, special ? "水利建设" : "", special ? "专项资金" : "一般资金", "某工程队"));
      }
      if (!ledger->post_transactions("shuangjiang", lines, a).is_ok()) std::abort();
      if (!ledger->close_month("shuangjiang", month, a).is_ok()) std::abort();
    }
  }
  ~ExportLedger() {
    ledger.reset();
    fs::remove_all(dir);
  }
};

ExportLedger& shared() {
  static ExportLedger* l = new ExportLedger();
  return *l;
}

void BM_Export(benchmark::State& state) {
  auto format = static_cast<ExportFormat>(state.range(0));
  Ledger& ledger = *shared().ledger;
  size_t bytes = 0;
  for (auto _ : state) {
    auto j = published_journal(ledger, "shuangjiang");
    if (!j.is_ok()) std::abort();
    auto out = export_books(*j, format);
    if (!out.is_ok()) std::abort();
    bytes = out->size();
    benchmark::DoNotOptimize(out->data());
  }
  state.SetItemsProcessed(state.iterations() * kMonths * kLinesPerMonth);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Export)
    ->ArgName("format")
    ->Arg(static_cast<int>(ExportFormat::kHledger))
    ->Arg(static_cast<int>(ExportFormat::kBeancount))
    ->Arg(static_cast<int>(ExportFormat::kCsv))
    ->Arg(static_cast<int>(ExportFormat::kXlsx))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace sunledger

BENCHMARK_MAIN();
