// Turns chat text into a command: a keyword (Chinese or its English alias),
// the words after it on the first line, and the lines below it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sunledger {

enum class CommandKind {
  kEmpty,
  kUnknown,
  kHelp,
  kAccounts,
  kDetails,
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

// Splits on ASCII and ideographic spaces and tabs.
std::vector<std::string> split_words(std::string_view line);
ParsedCommand parse_command(std::string_view text);
// True for the commands that change something (they are deduplicated).
bool is_write(CommandKind kind);

}  // namespace sunledger
