// Turns chat text into a command: a keyword (Chinese or its English alias),
// the words after it on the first line, and the lines below it.
// Thread safety: pure functions over a table built once, before main's
// threads start (a function-local static), and never changed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace sunledger {

struct CommandRun;  // what a handler is given (bot_impl.h)

enum class CommandKind {
  kEmpty,
  kUnknown,
  kHelp,
  kAccounts,
  kDetails,
  kSearch,
  kProjects,
  kSubsidies,
  kBalance,
  kVerify,
  kPost,
  kProjectAdd,
  kReverse,
  kSubsidyList,
  kPublish,
  kAlerts,
  kProjectFinish,
  kComplain,
  kComplainAnonymously,
  kComplaintStatus,
  kSatisfied,
  kUnsatisfied,
  kQueue,
  kShowComplaint,
  kAssign,
  kInvestigate,
  kResolve,
  kReject,
  kSignIn,
};

struct BodyLine {
  int number = 0;  // 1-based line number in the message (the command is line 1)
  std::string text;
};

struct ParsedCommand {
  CommandKind kind = CommandKind::kEmpty;
  std::string keyword;            // as typed, for messages
  std::string rest;               // everything after the keyword, newlines kept (complaint texts)
  std::vector<std::string> args;  // words after the keyword on the first line
  std::vector<BodyLine> body;     // non-empty lines after the first
};

// Who may use a command. Dispatch refuses everyone else before the command
// runs, with a reply that says who may.
enum class CommandRole {
  kAnyone,                // villagers of a bound group, and everyone in private chat
  kOfficial,              // officials of the village the command is about
  kInspector,             // inspectors of the discipline commission
  kOfficialOrInspector,
};

// One chat command, defined once (command_table.cc): the keyword parser, the
// write/read split, the role check, the handler and the 帮助 text all come
// from this table.
struct CommandSpec {
  CommandKind kind;
  std::vector<std::string_view> keywords;  // Chinese first (the one help shows), then English; "two words" allowed
  CommandRole role;
  bool write;        // changes something: runs in one transaction, deduplicated
  bool private_only;  // refused in a group (it shows or takes what one person may see)
  std::string_view usage;  // as help shows it: "账目 [2022-11]"
  std::string_view what;   // Chinese, then English in parentheses
  // Runs the command once dispatch has checked the role (and, for a write,
  // opened the transaction); its text is the reply, or an error
  // (shown_to_person decides what the sender sees).
  Result<std::string> (*run)(CommandRun&) = nullptr;
  // Its reply holds a secret for the sender alone (a one-time sign-in link):
  // never stored, neither in the outbox nor as the dedupe record's reply (a
  // redelivery is told to ask again).
  bool secret_reply = false;
};

// Every command, in the order 帮助 lists them.
const std::vector<CommandSpec>& command_table();
// The spec of a kind (kEmpty and kUnknown have none: nullptr).
const CommandSpec* command_spec(CommandKind kind);

// Splits on ASCII and ideographic spaces and tabs.
std::vector<std::string> split_words(std::string_view line);
ParsedCommand parse_command(std::string_view text);
// True for the commands that change something (they are deduplicated).
bool is_write(CommandKind kind);

}  // namespace sunledger
