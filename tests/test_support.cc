#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "ledger/fresh_ledger.h"
#include "support/pg_cluster.h"

#if defined(__SANITIZE_ADDRESS__)
#define SUNLEDGER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUNLEDGER_ASAN 1
#endif
#endif
#ifdef SUNLEDGER_ASAN
#include <sanitizer/allocator_interface.h>
#endif

namespace sunledger::testing {

int random_rounds(int rounds) {
#ifdef SUNLEDGER_ASAN
  return rounds / 4;
#else
  return rounds;
#endif
}

int64_t held_bytes() {
#ifdef SUNLEDGER_ASAN
  return static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
#endif
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("sunledger-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool test_db_is_postgresql() {
  const char* v = std::getenv("SUNLEDGER_TEST_DB");
  return v != nullptr && std::string(v) == "postgresql";
}

TestLedger::TestLedger(const std::string& origin, std::set<std::string> reserved_log_names)
    : db_(test_db_is_postgresql() ? pg_uri(pg_fresh_database()) : dir.file("sunledger.db")) {
  if (db_.empty()) throw std::runtime_error("no PostgreSQL database for the test (see the failure above)");
  auto fresh = create_fresh_ledger(dir.path().string(), origin, &clock, std::move(reserved_log_names),
                                   test_db_is_postgresql() ? db_ : "");
  if (!fresh.is_ok()) throw std::runtime_error(fresh.status().to_string());
  key = std::move(fresh->key);
  ledger = std::move(fresh->ledger);
}

void TestLedger::reopen(std::set<std::string> reserved_log_names) {
  ledger.reset();
  auto reopened = Ledger::open(options(std::move(reserved_log_names)));
  if (!reopened.is_ok()) throw std::runtime_error("reopen: " + reopened.status().to_string());
  ledger = std::move(*reopened);
}

TransactionLine txn(const std::string& date, bool income, const std::string& category, const std::string& item,
                    Fen amount, const std::string& project, const std::string& fund) {
  return transaction_line(date, income, category, item, amount, project, fund);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace sunledger::testing
