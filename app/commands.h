// The command line's commands, defined once each: name, synopsis, help,
// examples, options and what runs. main() parses, checks and dispatches from
// this table, and `help` and `COMMAND --help` print from it.
// Built and used on main's thread only.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "app/args.h"
#include "app/deployment.h"

namespace sunledger::cli {

struct Command {
  std::string name{};
  std::string synopsis{};
  std::string help{};
  // Lines of `sunledger ...` shown under "Examples:" (without "sunledger").
  std::vector<std::string> examples{};
  std::set<std::string> values{};
  std::set<std::string> flags{};
  // Checked before anything is opened: a usage error exits 2 without touching
  // the data folder.
  std::vector<std::string> required{};
  std::set<std::string> numbers{};  // options that must be non-negative integers
  // Further usage checks (a role, a month); returns the problem or "".
  std::function<std::string(const Args&)> check{};
  // The log the command signs into ("villages", "admin" or the --village's),
  // verified with its derived tables before run (see verified_before_write);
  // unset for commands that sign nothing or only take authority away.
  std::function<std::string(const Args&)> extends{};
  std::function<int(Deployment&, const Args&)> run{};
  bool needs_ledger = true;
  bool takes_text = false;  // positional words are the command's text
};

// Every command, in the order help lists them.
std::vector<Command> commands();

// The program's version (`sunledger --version`).
const char* version();

// The groups, one file each.
void add_ledger_commands(std::vector<Command>& c);     // commands_ledger.cc
void add_books_commands(std::vector<Command>& c);      // commands_books.cc
void add_reconcile_commands(std::vector<Command>& c);  // commands_reconcile.cc
void add_directory_commands(std::vector<Command>& c);  // commands_directory.cc
void add_server_commands(std::vector<Command>& c);     // commands_server.cc
void add_witness_commands(std::vector<Command>& c);    // commands_witness.cc
void add_tiles_commands(std::vector<Command>& c);      // commands_tiles.cc
void add_migrate_commands(std::vector<Command>& c);    // commands_migrate.cc
void add_outbox_commands(std::vector<Command>& c);     // commands_outbox.cc

}  // namespace sunledger::cli
