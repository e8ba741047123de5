#include "bot/command.h"

#include <algorithm>
#include <utility>

namespace sunledger {
namespace {

constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";
constexpr std::string_view kNoBreakSpace = "\xC2\xA0";

struct Keyword {
  std::string_view word;
  CommandKind kind;
  std::string_view second;  // a required second word ("project add"), or empty
};

// Longer and two-word keywords first, so 低保名单 wins over 低保.
constexpr Keyword kKeywords[] = {
    {"complain", CommandKind::kComplainAnonymously, "anonymously"},
    {"匿名投诉", CommandKind::kComplainAnonymously, ""}, {"匿名举报", CommandKind::kComplainAnonymously, ""},
    {"投诉", CommandKind::kComplain, ""},      {"举报", CommandKind::kComplain, ""},
    {"complain", CommandKind::kComplain, ""},  {"进度", CommandKind::kComplaintStatus, ""},
    {"status", CommandKind::kComplaintStatus, ""}, {"不满意", CommandKind::kUnsatisfied, ""},
    {"unsatisfied", CommandKind::kUnsatisfied, ""}, {"满意", CommandKind::kSatisfied, ""},
    {"satisfied", CommandKind::kSatisfied, ""}, {"待办", CommandKind::kQueue, ""},
    {"queue", CommandKind::kQueue, ""},        {"查看", CommandKind::kShowComplaint, ""},
    {"show", CommandKind::kShowComplaint, ""}, {"转办", CommandKind::kAssign, ""},
    {"assign", CommandKind::kAssign, ""},      {"调查", CommandKind::kInvestigate, ""},
    {"investigate", CommandKind::kInvestigate, ""}, {"办结", CommandKind::kResolve, ""},
    {"resolve", CommandKind::kResolve, ""},    {"驳回", CommandKind::kReject, ""},
    {"reject", CommandKind::kReject, ""},
    {"低保名单", CommandKind::kSubsidyList, ""}, {"subsidy-list", CommandKind::kSubsidyList, ""},
    {"subsidy", CommandKind::kSubsidyList, "list"}, {"project", CommandKind::kProjectAdd, "add"},
    {"project", CommandKind::kProjectFinish, "finish"}, {"结项", CommandKind::kProjectFinish, ""},
    {"帮助", CommandKind::kHelp, ""},          {"help", CommandKind::kHelp, ""},
    {"账目", CommandKind::kAccounts, ""},      {"accounts", CommandKind::kAccounts, ""},
    {"明细", CommandKind::kDetails, ""},       {"details", CommandKind::kDetails, ""},
    {"项目", CommandKind::kProjects, ""},      {"projects", CommandKind::kProjects, ""},
    {"低保", CommandKind::kSubsidies, ""},     {"subsidies", CommandKind::kSubsidies, ""},
    {"余额", CommandKind::kBalance, ""},       {"balance", CommandKind::kBalance, ""},
    {"核验", CommandKind::kVerify, ""},        {"verify", CommandKind::kVerify, ""},
    {"记账", CommandKind::kPost, ""},          {"post", CommandKind::kPost, ""},
    {"立项", CommandKind::kProjectAdd, ""},    {"冲销", CommandKind::kReverse, ""},
    {"reverse", CommandKind::kReverse, ""},    {"公开", CommandKind::kPublish, ""},
    {"publish", CommandKind::kPublish, ""},    {"预警", CommandKind::kAlerts, ""},
    {"alerts", CommandKind::kAlerts, ""},
};

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string cur;
  for (size_t i = 0; i < line.size();) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
    } else if (line.substr(i, 3) == kIdeographicSpace) {
      i += 3;
    } else if (line.substr(i, 2) == kNoBreakSpace) {
      i += 2;
    } else {
      cur.push_back(line[i++]);
      continue;
    }
    if (!cur.empty()) words.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

ParsedCommand parse_command(std::string_view text) {
  ParsedCommand cmd;
  std::vector<BodyLine> lines;
  int number = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++number;
    std::string_view line = text.substr(start, end - start);
    if (!split_words(line).empty()) lines.push_back({number, std::string(line)});
    start = end + 1;
  }
  if (lines.empty()) return cmd;
  auto words = split_words(lines[0].text);
  std::string first = words[0];
  // Telegram sends "/help" and "/help@SunledgerBot".
  if (!first.empty() && first[0] == '/') {
    first = first.substr(1);
    if (auto at = first.find('@'); at != std::string::npos) first = first.substr(0, at);
  }
  std::string first_lower = lower_ascii(first);
  cmd.kind = CommandKind::kUnknown;
  cmd.keyword = words[0];
  for (const auto& k : kKeywords) {
    if (first_lower != k.word) continue;
    size_t consumed = 1;
    if (!k.second.empty()) {
      if (words.size() < 2 || lower_ascii(words[1]) != k.second) continue;
      consumed = 2;
      cmd.keyword = words[0] + " " + words[1];
    }
    cmd.kind = k.kind;
    cmd.args.assign(words.begin() + static_cast<long>(consumed), words.end());
    break;
  }
  // People often type "账目2022-11" without a space: a Chinese keyword may
  // run straight into its first argument.
  if (cmd.kind == CommandKind::kUnknown && static_cast<unsigned char>(first[0]) >= 0x80) {
    for (const auto& k : kKeywords) {
      if (!k.second.empty() || static_cast<unsigned char>(k.word[0]) < 0x80 || first.rfind(k.word, 0) != 0) continue;
      cmd.kind = k.kind;
      cmd.keyword = std::string(k.word);
      cmd.args.assign(words.begin() + 1, words.end());
      cmd.args.insert(cmd.args.begin(), first.substr(k.word.size()));
      break;
    }
  }
  if (first == "?" || first == "\xEF\xBC\x9F") cmd.kind = CommandKind::kHelp;  // ? or ？
  // The raw text after the keyword, newlines kept.
  {
    std::string_view t = text;
    size_t pos = t.find(cmd.keyword.substr(0, cmd.keyword.find(' ')));
    if (cmd.keyword.find(' ') != std::string::npos) {
      size_t second = t.find(cmd.keyword.substr(cmd.keyword.find(' ') + 1), pos);
      pos = second == std::string_view::npos ? pos : second;
      cmd.rest = std::string(t.substr(std::min(t.size(), pos + cmd.keyword.size() - cmd.keyword.find(' ') - 1)));
    } else {
      cmd.rest = pos == std::string_view::npos ? std::string() : std::string(t.substr(pos + cmd.keyword.size()));
    }
    size_t b = cmd.rest.find_first_not_of(" \t\r\n");
    size_t e = cmd.rest.find_last_not_of(" \t\r\n");
    cmd.rest = b == std::string::npos ? "" : cmd.rest.substr(b, e - b + 1);
    if (cmd.rest.rfind("\xE3\x80\x80", 0) == 0) cmd.rest = cmd.rest.substr(3);
  }
  cmd.body.assign(lines.begin() + 1, lines.end());
  return cmd;
}

bool is_write(CommandKind kind) {
  switch (kind) {
    case CommandKind::kPost:
    case CommandKind::kProjectAdd:
    case CommandKind::kReverse:
    case CommandKind::kSubsidyList:
    case CommandKind::kPublish:
    case CommandKind::kProjectFinish:
    case CommandKind::kComplain:
    case CommandKind::kComplainAnonymously:
    case CommandKind::kSatisfied:
    case CommandKind::kUnsatisfied:
    case CommandKind::kAssign:
    case CommandKind::kInvestigate:
    case CommandKind::kResolve:
    case CommandKind::kReject:
      return true;
    default:
      return false;
  }
}

}  // namespace sunledger
