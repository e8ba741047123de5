// The fixture of the tests that run the real `sunledger` binary on a
// PostgreSQL database (issue #17: pg_cli_test.cc, pg_migrate_test.cc): a data
// folder, the binary run on it, a password that must never show, and every
// file of the folder to search for it.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_support.h"

namespace sunledger::testing {

// A password libpq sends nowhere here (the cluster trusts its socket), so
// finding it anywhere in the folder or an output is a leak.
inline constexpr const char* kPassword = "Pw-never-in-a-file-9c1d";

struct CliOnPostgres : ::testing::Test {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  // Runs the binary; env is put before it ("SUNLEDGER_DB=… ").
  CommandResult sl(const std::string& args, const std::string& env = "") {
    return run_command(env + std::string(SUNLEDGER_BINARY) + " --data " + data() + " " + args);
  }
  // postgresql://postgres:PASSWORD@%2Fsocket/t_N for a fresh database.
  static std::string with_password(const std::string& uri) {
    std::string out = uri;
    out.insert(out.find('@'), std::string(":") + kPassword);
    return out;
  }
  // Every file of the data folder, for a password written where it must not be.
  std::string folder_text() const {
    std::string all;
    for (const auto& f : std::filesystem::directory_iterator(data())) all += read_file(f.path().string());
    return all;
  }
};

}  // namespace sunledger::testing
