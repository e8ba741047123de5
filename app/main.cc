// The sunledger executable: parses the command line and dispatches to the
// command table (app/commands.h). No business logic lives here.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/data_folder.h"
#include "app/database_option.h"
#include "app/serve.h"
#include "webhooks/http_server.h"

namespace sunledger::cli {

std::vector<Command> commands() {
  std::vector<Command> c;
  add_ledger_commands(c);
  add_books_commands(c);
  add_reconcile_commands(c);
  add_directory_commands(c);
  add_server_commands(c);
  add_outbox_commands(c);
  add_witness_commands(c);
  add_tiles_commands(c);
  add_migrate_commands(c);
  return c;
}

const char* version() { return SUNLEDGER_VERSION; }

namespace {

void print_help(const std::vector<Command>& cmds, std::ostream& out) {
  out << "sunledger " << version() << ": the signed village ledger and its chat bot\n\n"
         "Usage: sunledger [--data DIR] [--db postgresql://…] COMMAND [options]\n\n"
         "The data folder (--data, else $SUNLEDGER_DATA, else ./sunledger-data) holds the database,\n"
         "the log key and the identity salt. With --db (else $SUNLEDGER_DB) the database is on PostgreSQL\n"
         "instead: `init --db` records the address (without its password) in the folder, which later\n"
         "commands use without --db.\n\nCommands:\n";
  for (const auto& c : cmds) out << "  " << c.synopsis << "\n";
  out << "  help [COMMAND]\n  --version\n\n"
         "Run `sunledger COMMAND --help` (or `sunledger help COMMAND`) for a command's details and examples.\n"
         "Exit codes: 0 success, 1 failure (the message says why), 2 usage error.\n";
}

void print_usage(const Command& c) {
  std::cout << "Usage: sunledger [--data DIR] " << c.synopsis << "\n\n" << c.help << "\n";
  if (!c.examples.empty()) {
    std::cout << "\nExamples:\n";
    for (const auto& e : c.examples) std::cout << "  sunledger " << e << "\n";
  }
}

// The commands a name stands for: one command ("key show"), or every
// command of a group ("key", "proof"). Empty when it names nothing.
std::vector<const Command*> named(const std::vector<Command>& cmds, const std::vector<std::string>& words) {
  std::vector<const Command*> out;
  if (words.empty()) return out;
  if (words.size() >= 2)
    for (const auto& c : cmds)
      if (c.name == words[0] + " " + words[1]) return {&c};
  for (const auto& c : cmds)
    if (c.name == words[0]) return {&c};
  for (const auto& c : cmds)
    if (c.name.rfind(words[0] + " ", 0) == 0) out.push_back(&c);
  return out;
}

int help_for(const std::vector<const Command*>& found) {
  for (size_t i = 0; i < found.size(); ++i) {
    if (i) std::cout << "\n";
    print_usage(*found[i]);
  }
  return kExitOk;
}

// The global options, before the command: --data DIR and --db URL (each
// also as --NAME=VALUE; the option wins over $SUNLEDGER_DATA and
// $SUNLEDGER_DB). db is the address given, "" for none (app/database_option.h
// decides what it means for the folder); db_source is where it came from,
// for messages. False (said) when one is malformed.
bool take_global_options(std::vector<std::string>& args, Deployment& d, std::string& db, std::string& db_source) {
  const char* env = std::getenv("SUNLEDGER_DATA");
  d.dir = env && *env ? env : "./sunledger-data";
  const char* env_db = std::getenv("SUNLEDGER_DB");
  db = env_db ? env_db : "";
  db_source = "$SUNLEDGER_DB";
  while (!args.empty() && (args[0].rfind("--data", 0) == 0 || args[0].rfind("--db", 0) == 0)) {
    bool is_data = args[0].rfind("--data", 0) == 0;
    std::string name = is_data ? "--data" : "--db";
    std::string& value = is_data ? d.dir : db;
    if (args[0] == name && args.size() >= 2) {
      value = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else if (args[0].rfind(name + "=", 0) == 0) {
      value = args[0].substr(name.size() + 1);
      args.erase(args.begin());
    } else {
      std::cerr << "sunledger: " << name << (is_data ? " needs a folder" : " needs a postgresql:// address")
                << "\nRun `sunledger help` for usage.\n";
      return false;
    }
    if (!is_data) db_source = "--db";
  }
  return true;
}

// `sunledger`, `sunledger help [COMMAND]`, `sunledger help --help`.
int help_command(const std::vector<Command>& cmds, const std::vector<std::string>& args) {
  if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h" || args[1] == "help")) {
    // `help --help`: help's own usage, as for every other command.
    std::cout << "Usage: sunledger help [COMMAND]\n\n"
                 "Lists every command, or prints one command's usage and examples; a group's name (key, token,\n"
                 "proof, ...) prints every command of the group. `sunledger COMMAND --help` prints the same.\n"
                 "\nExamples:\n  sunledger help\n  sunledger help close\n  sunledger help token\n";
    return kExitOk;
  }
  if (args.size() >= 2 && (args[1] == "version" || args[1] == "--version")) {
    // Not in the command table (it needs no data folder and takes no options).
    std::cout << "Usage: sunledger --version\n\nPrints the release and the commit it was built from.\n";
    return kExitOk;
  }
  if (args.size() >= 2) {
    std::vector<std::string> words(args.begin() + 1, args.end());
    auto found = named(cmds, words);
    if (found.empty()) {
      std::cerr << "sunledger help: unknown command '" << words[0] << "'\n";
      print_help(cmds, std::cerr);
      return kExitUsage;
    }
    return help_for(found);
  }
  print_help(cmds, args.empty() ? std::cerr : std::cout);
  return args.empty() ? kExitUsage : kExitOk;
}

// A group's name without a subcommand ("key", "token"): its commands.
int group_usage(const std::vector<const Command*>& found, const std::vector<std::string>& args) {
  std::string group;
  for (const auto* c : found) group += "\n  sunledger " + c->synopsis;
  bool unknown = args.size() >= 2 && args[1].rfind("--", 0) != 0;
  std::cerr << "sunledger " << args[0] << ": "
            << (unknown ? "unknown subcommand '" + args[1] + "'; it has:" : std::string("needs a subcommand:")) << group
            << "\nRun `sunledger " << args[0] << " --help` for usage.\n";
  return kExitUsage;
}

// Everything about the command line is checked before the data folder is
// touched: a usage error exits 2 and opens nothing. -1 when it is all well.
int check_options(const Command& cmd, const std::vector<std::string>& rest, Deployment& d, Args& parsed) {
  std::string error;
  if (!Args::parse(rest, cmd.values, cmd.flags, &parsed, &error)) return usage_error(cmd.name, error);
  if (!cmd.takes_text && !parsed.positional().empty())
    return usage_error(cmd.name, "unexpected argument '" + parsed.positional()[0] + "'");
  if (auto m = parsed.missing(cmd.required); !m.empty()) return usage_error(cmd.name, "missing " + m);
  for (const auto& n : cmd.numbers)
    if (parsed.has(n))
      if (auto v = number_option(parsed, n); !v.is_ok()) return usage_error(cmd.name, v.status().message());
  if (cmd.check)
    if (std::string problem = cmd.check(parsed); !problem.empty()) return usage_error(cmd.name, problem);
  if (parsed.has("rate-limit")) {
    auto n = number_option(parsed, "rate-limit");
    if (!n.is_ok() || *n > 100000) return usage_error(cmd.name, "--rate-limit must be a number of commands a minute");
    d.commands_per_minute = static_cast<int>(*n);
  }
  if (parsed.has("witness-quorum")) {
    auto n = number_option(parsed, "witness-quorum");
    if (!n.is_ok() || *n > 100)
      return usage_error(cmd.name, "--witness-quorum must be a number of witnesses (0 to 100)");
    d.witness_quorum = static_cast<int>(*n);
  }
  if (parsed.has("listen"))
    if (auto addr = parse_listen_address(parsed.get("listen")); !addr.is_ok())
      return usage_error(cmd.name, "--listen " + parsed.get("listen") + ": " + addr.status().message() +
                                       " (HOST:PORT, e.g. 127.0.0.1:8080)");
  if (parsed.has("public-url")) {
    if (Status s = check_public_url(parsed.get("public-url")); !s.is_ok()) return usage_error(cmd.name, s.message());
    d.public_url = parsed.get("public-url");
    while (!d.public_url.empty() && d.public_url.back() == '/') d.public_url.pop_back();
  }
  for (const char* opt : {"assign-days", "resolve-days"}) {
    if (!parsed.has(opt)) continue;
    auto n = number_option(parsed, opt);
    if (!n.is_ok() || *n < 1 || *n > 3650) return usage_error(cmd.name, std::string("--") + opt + " must be 1 to 3650 days");
    (std::string(opt) == "assign-days" ? d.deadlines.assign_days : d.deadlines.resolve_days) = static_cast<int>(*n);
  }
  return -1;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Held to the command's end, and released after the database closes (d
  // goes first): see FolderUse.
  std::unique_ptr<FolderUse> in_use;
  Deployment d;
  std::string db, db_source;
  if (!take_global_options(args, d, db, db_source)) return kExitUsage;
  auto cmds = commands();
  if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
    std::cout << "sunledger " << version() << "\n";
    return kExitOk;
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") return help_command(cmds, args);
  auto found = named(cmds, args);
  bool asks_help = false;
  for (const auto& a : args) asks_help |= a == "--help" || a == "-h";
  if (found.empty()) {
    std::cerr << "sunledger: unknown command '" << args[0] << "'\n";
    print_help(cmds, std::cerr);
    return kExitUsage;
  }
  bool exact = found.size() == 1 && (found[0]->name == args[0] ||
                                     (args.size() >= 2 && found[0]->name == args[0] + " " + args[1]));
  if (asks_help) return help_for(found);
  if (!exact) return group_usage(found, args);
  const Command* cmd = found[0];
  size_t words = cmd->name.find(' ') == std::string::npos ? 1 : 2;
  std::vector<std::string> rest(args.begin() + static_cast<long>(words), args.end());
  Args parsed;
  if (int code = check_options(*cmd, rest, d, parsed); code >= 0) return code;
  // The commands that reach the deployment's database; the others (check,
  // the witness's own) need no data folder, whatever $SUNLEDGER_DB says.
  if (cmd->needs_ledger || cmd->name == "init" || cmd->name == "demo") {
    if (!db.empty() && !names_postgresql(db))
      return usage_error(cmd->name, db_source + " takes a PostgreSQL address (postgresql://USER@HOST/DATABASE); "
                                    "SQLite's database is always the data folder's sunledger.db, with no --db");
    // Before the folder's record of its database is read: a command that
    // waited for a migration opens where the database went. migrate holds
    // the folder alone from before it opens anything.
    auto use = cmd->name == "migrate"                       ? FolderUse::take_alone(d.dir)
               : cmd->name == "init"                         ? FolderUse::make_and_share(d.dir)
                                                              : FolderUse::share(d.dir);
    if (!use.is_ok()) return fail(use.status());
    in_use = std::move(*use);
    auto chosen = choose_database(d.dir, db);
    if (!chosen.is_ok()) return fail(chosen.status());
    d.db = *chosen;
  }
  if (cmd->needs_ledger) {
    if (Status s = d.open(); !s.is_ok()) {
      // --check promises every problem in one run, also when one of them (a
      // key file others may read) keeps the ledger from opening.
      if (cmd->name == "serve" && parsed.has("check")) return check_unopened(d, parsed.get("config"), s);
      return fail(s);
    }
  }
  if (cmd->extends && !verified_before_write(d, cmd->extends(parsed), cmd->name.c_str())) return kExitFailure;
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
