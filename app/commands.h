// The command line's commands, defined once each: name, synopsis, help,
// options and what runs. main() parses, checks and dispatches from this table.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "app/args.h"
#include "app/deployment.h"

namespace sunledger::cli {

struct Command {
  std::string name;
  std::string synopsis;
  std::string help;
  std::set<std::string> values;
  std::set<std::string> flags;
  std::function<int(Deployment&, const Args&)> run;
  bool needs_ledger = true;
  bool takes_text = false;  // positional words are the command's text
};

// Every command, in the order help lists them.
std::vector<Command> commands();

// The groups, one file each.
void add_ledger_commands(std::vector<Command>& c);     // commands_ledger.cc
void add_directory_commands(std::vector<Command>& c);  // commands_directory.cc
void add_server_commands(std::vector<Command>& c);     // commands_server.cc

}  // namespace sunledger::cli
