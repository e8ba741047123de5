// The sunledger executable: parses the command line and dispatches to the
// command table (app/commands.h). No business logic lives here.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.h"

namespace sunledger::cli {

std::vector<Command> commands() {
  std::vector<Command> c;
  add_ledger_commands(c);
  add_directory_commands(c);
  add_server_commands(c);
  return c;
}

namespace {

void print_help(const std::vector<Command>& cmds) {
  std::cout << "sunledger: the signed village ledger and its chat bot\n\n"
               "Usage: sunledger [--data DIR] COMMAND [options]\n\n"
               "The data folder (--data, else $SUNLEDGER_DATA, else ./sunledger-data) holds the database,\n"
               "the log key and the identity salt.\n\nCommands:\n";
  for (const auto& c : cmds) std::cout << "  " << c.synopsis << "\n";
  std::cout << "  help [COMMAND]\n\nRun `sunledger COMMAND --help` for details.\n";
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Deployment d;
  const char* env = std::getenv("SUNLEDGER_DATA");
  d.dir = env && *env ? env : "./sunledger-data";
  // Global option before the command.
  while (!args.empty() && args[0].rfind("--data", 0) == 0) {
    if (args[0] == "--data" && args.size() >= 2) {
      d.dir = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else if (args[0].rfind("--data=", 0) == 0) {
      d.dir = args[0].substr(7);
      args.erase(args.begin());
    } else {
      return usage_error("", "--data needs a folder");
    }
  }
  auto cmds = commands();
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    if (args.size() >= 2) {
      std::string name = args[1] + (args.size() >= 3 ? " " + args[2] : "");
          for (const auto& c : cmds)
        if (c.name == name || c.name == args[1]) {
          std::cout << "Usage: sunledger [--data DIR] " << c.synopsis << "\n\n" << c.help << "\n";
          return kExitOk;
        }
    }
    print_help(cmds);
    return args.empty() ? kExitUsage : kExitOk;
  }
  // Longest match: two-word commands first.
  const Command* cmd = nullptr;
  size_t words = 0;
  for (const auto& c : cmds) {
    if (args.size() >= 2 && c.name == args[0] + " " + args[1]) {
      cmd = &c;
      words = 2;
      break;
    }
  }
  if (cmd == nullptr)
    for (const auto& c : cmds)
      if (c.name == args[0]) {
        cmd = &c;
        words = 1;
        break;
      }
  if (cmd == nullptr) {
    std::string group;
    for (const auto& c : cmds)
      if (c.name.rfind(args[0] + " ", 0) == 0) group += "\n  sunledger " + c.synopsis;
    if (!group.empty()) return usage_error(args[0], "needs a subcommand:" + group);
    std::cerr << "sunledger: unknown command '" << args[0] << "'\n";
    print_help(cmds);
    return kExitUsage;
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(words), args.end());
  for (const auto& r : rest)
    if (r == "--help" || r == "-h") {
      std::cout << "Usage: sunledger [--data DIR] " << cmd->synopsis << "\n\n" << cmd->help << "\n";
      return kExitOk;
    }
  Args parsed;
  std::string error;
  if (!Args::parse(rest, cmd->values, cmd->flags, &parsed, &error)) return usage_error(cmd->name, error);
  if (!cmd->takes_text && !parsed.positional().empty())
    return usage_error(cmd->name, "unexpected argument '" + parsed.positional()[0] + "'");
  if (parsed.has("rate-limit")) {
    auto n = number_option(parsed, "rate-limit");
    if (!n.is_ok() || *n > 100000) return usage_error(cmd->name, "--rate-limit must be a number of commands a minute");
    d.commands_per_minute = static_cast<int>(*n);
  }
  for (const char* opt : {"assign-days", "resolve-days"}) {
    if (!parsed.has(opt)) continue;
    auto n = number_option(parsed, opt);
    if (!n.is_ok() || *n < 1 || *n > 3650) return usage_error(cmd->name, std::string("--") + opt + " must be 1 to 3650 days");
    (std::string(opt) == "assign-days" ? d.deadlines.assign_days : d.deadlines.resolve_days) = static_cast<int>(*n);
  }
  if (cmd->needs_ledger) {
    if (Status s = d.open(); !s.is_ok()) return fail(s);
  }
  return cmd->run(d, parsed);
}

}  // namespace
}  // namespace sunledger::cli

int main(int argc, char** argv) {
  try {
    return sunledger::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sunledger: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
