// Helpers shared by the test suites: temporary folders, a ledger on a real
// SQLite file with a real key, and a fixed clock.
#pragma once

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"

namespace sunledger::testing {

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// 2022-12-05 10:00 China Standard Time: November 2022 has ended.
inline constexpr int64_t kDec5th2022 = 1670205600;

// Whether SUNLEDGER_TEST_DB=postgresql asks TestLedger for PostgreSQL.
bool test_db_is_postgresql();

// How many rounds a long randomised comparison runs: all of them, or a
// quarter under AddressSanitizer, where they cost ten times as much (CI runs
// the suite both ways, so every round still runs on every change).
int random_rounds(int rounds);

struct TestLedger {
  TempDir dir;
  std::string db_;
  ManualClock clock{kDec5th2022};
  std::unique_ptr<Ed25519KeyFile> key;
  std::unique_ptr<Ledger> ledger;

  // reserved_log_names: as Ledger::Options (an upper module's logs).
  explicit TestLedger(const std::string& origin = "test.sunledger", std::set<std::string> reserved_log_names = {});
  // Its database: dir/sunledger.db, or with SUNLEDGER_TEST_DB=postgresql a
  // fresh database on the binary's test cluster (its postgresql:// address).
  std::string db_path() const { return db_; }
  // What reopening this ledger (or a copy of its file at db) takes: its key
  // and clock, and the upper modules' log names.
  Ledger::Options options(std::set<std::string> reserved_log_names, const std::string& db = "") {
    Ledger::Options o;
    o.db_path = db.empty() ? db_path() : db;
    o.signer = key.get();
    o.clock = &clock;
    o.reserved_log_names = std::move(reserved_log_names);
    return o;
  }
  // The ledger closed and opened again on its database, as a server started
  // anew (a new version meeting a database an older one left, or one edited
  // by hand meanwhile) opens it: nothing remembered from before.
  void reopen(std::set<std::string> reserved_log_names = {});
};

inline Author official() { return Author{"wang", "official", "test"}; }

TransactionLine txn(const std::string& date, bool income, const std::string& category, const std::string& item,
                    Fen amount, const std::string& project = "", const std::string& fund = "");

// The memory the process holds, in bytes: its resident memory; under
// AddressSanitizer the bytes allocated and not freed, since ASan keeps freed
// memory in quarantine (256 MB), which resident memory counts (a scan that
// frees each row grew it by 366 MB there). For tests of streaming.
int64_t held_bytes();

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

// Runs a shell command, returning its exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::string& command);

}  // namespace sunledger::testing
