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

// Derived from the command table: two-word keywords first, then longer before
// shorter, so 低保名单 wins over 低保 when a keyword runs into its argument.
const std::vector<Keyword>& keywords() {
  static const std::vector<Keyword> words = [] {
    std::vector<Keyword> out;
    for (const auto& c : command_table())
      for (std::string_view k : c.keywords) {
        size_t space = k.find(' ');
        if (space == std::string_view::npos) out.push_back({k, c.kind, ""});
        else out.push_back({k.substr(0, space), c.kind, k.substr(space + 1)});
      }
    std::stable_sort(out.begin(), out.end(), [](const Keyword& a, const Keyword& b) {
      if (a.second.empty() != b.second.empty()) return !a.second.empty();
      return a.word.size() > b.word.size();
    });
    return out;
  }();
  return words;
}

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

// Long (about 65 lines): the keyword lookup, the village named first and the
// arguments are one scan of what a person typed, in the order they typed it.
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
  for (const auto& k : keywords()) {
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
    for (const auto& k : keywords()) {
      if (!k.second.empty() || static_cast<unsigned char>(k.word[0]) < 0x80 || first.rfind(k.word, 0) != 0) continue;
      cmd.kind = k.kind;
      cmd.keyword = std::string(k.word);
      cmd.args.assign(words.begin() + 1, words.end());
      cmd.args.insert(cmd.args.begin(), first.substr(k.word.size()));
      break;
    }
  }
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

const CommandSpec* command_spec(CommandKind kind) {
  for (const auto& c : command_table())
    if (c.kind == kind) return &c;
  return nullptr;
}

bool is_write(CommandKind kind) {
  const CommandSpec* c = command_spec(kind);
  return c != nullptr && c->write;
}

}  // namespace sunledger
