// What verify rebuilds of the derived tables from one log's signed entries,
// and its comparison with the stored rows: month_closes, projects,
// finished_projects, reversals, account_maps, and for the village registry the villages
// table and the deployment's time zone. Private to the ledger library.
// One per log being verified, fed its entries in order, on one thread; it
// borrows the verifying connection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ledger/leaf_fields.h"
#include "ledger/money.h"

namespace sunledger::ledger_internal {
class Connection;
}

namespace sunledger::ledger_internal {

struct DerivedTables {
  DerivedTables(Connection& connection, int utc_offset_minutes) : db(connection), zone(utc_offset_minutes) {}

  Connection& db;
  int zone;  // the UTC offset the verifying process reckons dates in
  // (entry, why) for every mismatch found, in the order found.
  std::vector<std::pair<uint64_t, std::string>> problems;

  // What the derived tables must hold, rebuilt from the signed entries.
  struct Expected {
    std::map<std::string, uint64_t> statements;  // month -> statement entry
    std::string last_statement_month;
    struct Project {
      Fen approved = 0;
      bool special = false;
      uint64_t idx = 0;
    };
    std::map<std::string, Project> projects;
    std::map<std::string, uint64_t> finished;    // project -> entry
    std::map<uint64_t, uint64_t> reversals;      // target -> reversal entry
    std::map<std::string, std::tuple<std::string, std::string, uint64_t>> villages;  // id -> name, town, entry
    std::vector<std::pair<uint64_t, int64_t>> zones;  // registration entry -> the UTC offset it recorded
    std::vector<std::pair<std::string, uint64_t>> line_keys;  // (key, entry) of every posted line
    // (side, name) -> account and the entry that mapped it last.
    std::map<std::pair<std::string, std::string>, std::pair<std::string, uint64_t>> account_maps;
  } expect;

  // Takes one entry's fields (in log order).
  void collect(const LeafFields& f, std::string_view kind, uint64_t idx);
  // The village's derived tables against what its entries said, both ways.
  void compare(int64_t log_id);
  // line_keys (the duplicate check's index) against the posted lines.
  void compare_line_keys(int64_t log_id);
  // The registry's villages table, and the zone, against its registrations.
  void compare_villages(uint64_t size);

 private:
  void compare_zone();
};

}  // namespace sunledger::ledger_internal
