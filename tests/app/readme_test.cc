// The README runs as written (issue 13): every example block of README.md that
// carries a `<!-- readme-test: KIND ... -->` line is run in README order, and
// what the README shows must be what the program prints.
//
// Kinds (the marker line comes right before the fenced block):
//   sh             the block is one /bin/sh script run in the test's working
//                  folder, with `sunledger` on PATH as the built binary. Each
//                  command (a line, with its `\` continuations and heredoc)
//                  must exit 0; comment lines `#> TEXT` right below a command
//                  are its whole expected output (stdout and stderr), and
//                  `#> [exit N]` its expected exit code. A command without
//                  `#>` lines is checked for its exit code only.
//   file PATH      the block's text is written to PATH (relative to the
//                  working folder), as the reader is told to create it.
//   chat [--data DIR] ASK-OPTIONS
//                  chat exchanges against the demo data (./sunledger-data of
//                  the working folder, where README's examples make it with
//                  `sunledger demo --no-serve`, or the test if none did;
//                  shared by every chat block in order): `> ` lines are one message (several in a row are one
//                  multi-line message; two or more spaces and `(…)` at the end
//                  of the first are a note for the reader), the lines below
//                  are the bot's whole reply. Sent with `sunledger ask
//                  ASK-OPTIONS MESSAGE`; `--data DIR` asks in that folder of
//                  the working folder instead (one an sh block made).
//   push CHAT      the block is the whole text the previous chat message
//                  pushed to CHAT.
//   serve COMMAND  a sh block run while COMMAND (run in the working folder,
//                  e.g. `WECOM_TOKEN=… sunledger --data ./lukou serve`) serves
//                  with `--listen 127.0.0.1:0` added: `127.0.0.1:8080` in the
//                  block stands for the address it listens on. Stopped after.
//   skip REASON    not run (the reason says why, e.g. it needs a network).
// Every fenced block that shows a `sunledger` command or a chat exchange must
// carry a marker, so a new example cannot slip past the test.
//
// What may differ (random by design, or the day the test runs): `…` stands for
// any text within a line, a line of only `…` for any number of lines; base64
// values (keys, signatures, roots; a verifier key's origin is compared),
// 8-digit hex ids, the token printed by `token create`, dates from 2023 on
// (the demo's accounts are of 2022 and compared), times of day and durations
// in seconds match any such value;
// a complaint receipt (`6917-3644-0498`, `7KQ2M-X9D4P-3HN8R-VW6TZ`) matches
// any receipt, and is then that receipt wherever the README uses it again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace sunledger {
namespace {

using testing::read_file;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

struct Block {
  int line = 0;          // README line of the opening fence
  std::string kind;      // sh, file, chat, push, skip; "" when unmarked
  std::string argument;  // what follows the kind in the marker
  std::string info;      // the fence's info string (sh, text, csv, …)
  std::vector<std::string> lines;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) s.pop_back();
  size_t b = s.find_first_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b);
}

// Fenced blocks, with the marker on the line before the fence (if any).
std::vector<Block> readme_blocks(const std::string& readme) {
  std::vector<Block> blocks;
  auto lines = split_lines(readme);
  static const std::regex marker(R"(^\s*<!-- readme-test: (\S+)\s*(.*?)\s*-->\s*$)");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string t = trim(lines[i]);
    if (t.rfind("```", 0) != 0) continue;
    size_t indent = lines[i].find('`');
    Block b;
    b.line = static_cast<int>(i) + 1;
    b.info = t.substr(3);
    std::smatch m;
    if (i > 0 && std::regex_match(lines[i - 1], m, marker)) {
      b.kind = m[1];
      b.argument = m[2];
    }
    for (++i; i < lines.size() && trim(lines[i]) != "```"; ++i)
      b.lines.push_back(lines[i].size() >= indent ? lines[i].substr(indent) : trim(lines[i]));
    blocks.push_back(b);
  }
  return blocks;
}

bool shows_an_example(const Block& b) {
  for (const auto& l : b.lines)
    if (l.rfind("sunledger ", 0) == 0 || l.find("build/sunledger ") != std::string::npos || l.rfind("> ", 0) == 0)
      return true;
  return false;
}

// What may differ between README and program, in the order tried. (No `\b`:
// std::regex takes the bytes of UTF-8 text for word characters or not as the
// locale says; a token's start is checked in line_matches instead.)
const std::regex& maskable() {
  static const std::regex r(
      "(…)"                                                           // 1 any text
      "|(\\d{4}-\\d{4}-\\d{4}(?![0-9A-Za-z]))"                        // 2 a named complaint's receipt
      "|([0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){3}(?![0-9A-Za-z]))"  // 3 an anonymous receipt
      "|(20(?:2[3-9]|[3-9]\\d)-\\d\\d-\\d\\d(?![0-9A-Za-z]))"             // 4 a date from the clock
      "|(\\d\\d:\\d\\d(?::\\d\\d)?(?![0-9A-Za-z]))"                     // 5 a time of day
      "|(\\d+\\.\\d+ s(?![0-9A-Za-z]))"                                  // 6 a duration in seconds
      "|(sl_[0-9a-f]{16,}(?![0-9A-Za-z]))"                               // 7 an API token
      "|([A-Za-z0-9+/]{16,}={0,2})"                                   // 8 maybe base64 (checked below)
      "|([0-9a-f]{8}(?![0-9A-Za-z]))"                                 // 9 a key id, a short root
      "|([a-z0-9.-]+(?:/[a-z0-9.-]+)*)\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]{40,}={0,2}");  // 10 a verifier key: its origin is not random
  return r;
}

bool ascii_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool looks_random_base64(const std::string& s) {
  bool digit = false, upper = false, lower = false;
  for (char c : s) {
    digit |= (c >= '0' && c <= '9') || c == '+' || c == '/';
    upper |= c >= 'A' && c <= 'Z';
    lower |= c >= 'a' && c <= 'z';
  }
  return digit && upper && lower;
}

std::string regex_escape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

// README receipts already seen, and the program's receipts they stand for.
using Bindings = std::map<std::string, std::string>;

std::string substitute(std::string text, const Bindings& bound) {
  for (const auto& [readme, actual] : bound)
    for (size_t at = text.find(readme); at != std::string::npos; at = text.find(readme, at + actual.size()))
      text.replace(at, readme.size(), actual);
  return text;
}

// Matches one expected line against one actual line, binding new receipts.
bool line_matches(const std::string& expected, const std::string& actual, Bindings& bound) {
  std::string pattern;
  std::vector<std::string> receipts;  // README receipts captured, in group order
  auto begin = std::sregex_iterator(expected.begin(), expected.end(), maskable());
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    pattern += regex_escape(expected.substr(last, m.position() - last));
    last = m.position() + m.length();
    std::string token = m.str();
    bool inside_a_word =
        m.position() > 0 && ascii_alnum(expected[m.position() - 1]) && !m[1].matched && !m[8].matched && !m[10].matched;
    if (inside_a_word) pattern += regex_escape(token);
    else if (m[1].matched) pattern += ".*";
    else if (m[2].matched || m[3].matched) {
      if (auto b = bound.find(token); b != bound.end()) pattern += regex_escape(b->second);
      else {
        pattern += m[2].matched ? R"((\d{4}-\d{4}-\d{4}))" : R"(([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3}))";
        receipts.push_back(token);
      }
    } else if (m[4].matched) pattern += R"(\d{4}-\d\d-\d\d)";
    else if (m[5].matched) pattern += R"(\d\d:\d\d(?::\d\d)?)";
    else if (m[6].matched) pattern += R"(\d+(?:\.\d+)? s)";
    else if (m[7].matched) pattern += "sl_[0-9a-f]+";
    else if (m[8].matched) pattern += looks_random_base64(token) ? "[A-Za-z0-9+/]+=*" : regex_escape(token);
    else if (m[9].matched) pattern += "[0-9a-f]{8}";
    else pattern += regex_escape(m[10].str()) + R"(\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*)";
  }
  pattern += regex_escape(expected.substr(last));
  std::smatch got;
  if (!std::regex_match(actual, got, std::regex(pattern))) return false;
  for (size_t i = 0; i < receipts.size(); ++i) bound[receipts[i]] = got[i + 1];
  return true;
}

// Whole text against whole text; a line of only `…` stands for any lines.
bool text_matches(const std::vector<std::string>& expected, size_t e, const std::vector<std::string>& actual, size_t a,
                  Bindings& bound) {
  if (e == expected.size()) return a == actual.size();
  if (trim(expected[e]) == "…") {
    for (size_t skip = a; skip <= actual.size(); ++skip) {
      Bindings tried = bound;
      if (text_matches(expected, e + 1, actual, skip, tried)) {
        bound = tried;
        return true;
      }
    }
    return false;
  }
  Bindings tried = bound;
  if (a < actual.size() && line_matches(expected[e], actual[a], tried) &&
      text_matches(expected, e + 1, actual, a + 1, tried)) {
    bound = tried;
    return true;
  }
  return false;
}

std::vector<std::string> without_trailing_blank_lines(std::vector<std::string> lines) {
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  return lines;
}

bool text_matches(const std::vector<std::string>& expected, const std::string& actual, Bindings& bound) {
  return text_matches(without_trailing_blank_lines(expected), 0, without_trailing_blank_lines(split_lines(actual)), 0,
                      bound);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string numbered(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  | " + l + "\n";
  return out;
}

struct Readme : ::testing::Test {
  TempDir dir;
  std::string work() const { return dir.file("work"); }
  std::string bin() const { return dir.file("bin"); }
  // The demo's folder where README's first command makes it, beside the
  // working folder's own data.
  std::string demo() const { return work() + "/sunledger-data"; }
  Bindings bound;
  std::map<std::string, std::string> last_pushes;  // chat → text, of the last chat message

  void SetUp() override {
    std::filesystem::create_directories(work());
    std::filesystem::create_directories(bin());
    std::filesystem::create_symlink(SUNLEDGER_BINARY, bin() + "/sunledger");
  }

  std::string shell(const std::string& script_path) const {
    // A clean, predictable environment: no SUNLEDGER_DATA from the caller.
    return "cd " + shell_quote(work()) + " && env -u SUNLEDGER_DATA PATH=" + shell_quote(bin()) +
           ":/usr/bin:/bin /bin/sh " + shell_quote(script_path);
  }

  struct Step {
    int line = 0;
    std::string command;
    std::vector<std::string> expected;
    bool shows_output = false;
    int exit_code = 0;
  };

  // A sh block's commands with their expected output and exit code.
  static std::vector<Step> steps(const Block& b) {
    std::vector<Step> out;
    static const std::regex exit_line(R"(^#> \[exit (\d+)\]$)");
    for (size_t i = 0; i < b.lines.size(); ++i) {
      const std::string& l = b.lines[i];
      int line = b.line + 1 + static_cast<int>(i);
      if (l.rfind("#>", 0) == 0) {
        EXPECT_FALSE(out.empty()) << "README.md:" << line << ": output shown before any command";
        if (out.empty()) continue;
        std::smatch m;
        if (std::regex_match(l, m, exit_line)) out.back().exit_code = std::stoi(m[1]);
        else out.back().expected.push_back(l.size() > 3 ? l.substr(3) : "");
        out.back().shows_output = true;
        continue;
      }
      if (trim(l).empty() || l[0] == '#') continue;
      Step s{line, l, {}, false, 0};
      std::smatch heredoc;
      static const std::regex here(R"(<<-?\s*'?([A-Za-z_]+)'?)");
      if (std::regex_search(l, heredoc, here)) {
        std::string word = heredoc[1];
        for (++i; i < b.lines.size(); ++i) {
          s.command += "\n" + b.lines[i];
          if (b.lines[i] == word) break;
        }
      }
      while (!s.command.empty() && s.command.back() == '\\' && i + 1 < b.lines.size()) s.command += "\n" + b.lines[++i];
      out.push_back(s);
    }
    return out;
  }

  void run_sh(const Block& b) {
    auto all = steps(b);
    ASSERT_FALSE(all.empty()) << "README.md:" << b.line << ": a sh block without commands";
    // One script, so variables and folders carry from line to line as in a
    // terminal; after each command a separator line carries its exit code.
    const std::string sep = "@@readme-test-exit@@";
    std::string script;
    for (const auto& s : all) script += substitute(s.command, bound) + "\necho \"" + sep + " $?\"\n";
    std::string path = dir.file("block-" + std::to_string(b.line) + ".sh");
    write_file(path, script);
    auto r = run_command(shell(path));
    size_t at = 0;
    for (const auto& s : all) {
      size_t end = r.output.find(sep, at);
      ASSERT_NE(end, std::string::npos) << "README.md:" << s.line << ": `" << s.command << "` did not finish\n" << r.output;
      std::string output = r.output.substr(at, end - at);
      size_t nl = r.output.find('\n', end);
      int code = std::stoi(r.output.substr(end + sep.size() + 1, nl - end - sep.size() - 1));
      at = nl + 1;
      EXPECT_EQ(code, s.exit_code) << "README.md:" << s.line << ": `" << s.command << "` exited " << code
                                   << "; it printed:\n" << output;
      if (s.shows_output) {
        EXPECT_TRUE(text_matches(s.expected, output, bound))
            << "README.md:" << s.line << ": `" << s.command << "` printed:\n" << numbered(split_lines(output))
            << "README shows:\n" << numbered(s.expected);
      }
    }
  }

  // Runs the block while the marker's command serves on a free port.
  void run_sh_beside_serve(const Block& b) {
    std::string log = dir.file("serve-" + std::to_string(b.line) + ".log");
    std::string start = dir.file("serve-" + std::to_string(b.line) + ".sh");
    write_file(start, b.argument + " --listen 127.0.0.1:0 >" + shell_quote(log) + " 2>&1 &\necho $!\n");
    auto r = run_command(shell(start));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    int pid = std::stoi(r.output);
    std::string address;
    for (int i = 0; i < 400 && address.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::string text = std::filesystem::exists(log) ? read_file(log) : "";
      std::smatch m;
      static const std::regex listening(R"(on http://(127\.0\.0\.1:[1-9][0-9]*) )");
      if (std::regex_search(text, m, listening)) address = m[1];
    }
    if (address.empty()) {
      ::kill(pid, SIGTERM);
      FAIL() << "README.md:" << b.line << ": `" << b.argument << "` did not start serving:\n" << read_file(log);
    }
    Block with_address = b;
    for (auto& l : with_address.lines)
      for (size_t at = l.find("127.0.0.1:8080"); at != std::string::npos; at = l.find("127.0.0.1:8080", at + address.size()))
        l.replace(at, 14, address);
    run_sh(with_address);
    ::kill(pid, SIGTERM);
    // Gone (or a zombie whoever adopted it has not reaped yet): its lock is released.
    auto running = [pid] {
      std::ifstream status("/proc/" + std::to_string(pid) + "/status");
      for (std::string l; std::getline(status, l);)
        if (l.rfind("State:", 0) == 0) return l.find('Z') == std::string::npos;
      return false;
    };
    for (int i = 0; i < 400 && running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }

  void write_block_file(const Block& b) {
    std::string text;
    for (const auto& l : b.lines) text += l + "\n";
    std::string path = work() + "/" + b.argument;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file(path, text);
    ::chmod(path.c_str(), 0600);  // as the README's files (bots.json) must be
  }

  void ensure_demo() {
    if (std::filesystem::exists(demo())) return;
    auto r = run_command(std::string(SUNLEDGER_BINARY) + " --data " + shell_quote(demo()) + " demo --no-serve");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // One exchange: the message (its lines) and the reply shown below it.
  void run_chat(const Block& b) {
    // `--data DIR` first: another folder of the working folder than the demo's.
    std::string data = demo(), options = b.argument;
    static const std::regex data_option(R"(^--data (\S+) (.*)$)");
    std::smatch d;
    if (std::regex_match(b.argument, d, data_option)) {
      data = work() + "/" + d[1].str();
      options = d[2];
    } else {
      ensure_demo();
    }
    size_t i = 0;
    while (i < b.lines.size()) {
      int line = b.line + 1 + static_cast<int>(i);
      if (trim(b.lines[i]).empty()) {
        ++i;
        continue;
      }
      ASSERT_EQ(b.lines[i].rfind("> ", 0), 0u) << "README.md:" << line << ": expected a `> ` message line";
      std::vector<std::string> message;
      for (; i < b.lines.size() && b.lines[i].rfind("> ", 0) == 0; ++i) message.push_back(b.lines[i].substr(2));
      static const std::regex note(R"(\s{2,}\(.*\)\s*$)");
      message[0] = std::regex_replace(message[0], note, "");
      std::string text;
      for (const auto& m : message) text += (text.empty() ? "" : "\n") + m;
      std::vector<std::string> expected;
      for (; i < b.lines.size() && !(trim(b.lines[i]).empty() && (i + 1 == b.lines.size() || b.lines[i + 1].rfind("> ", 0) == 0));
           ++i)
        expected.push_back(b.lines[i]);
      text = substitute(text, bound);
      std::string err = dir.file("ask.err");
      // The reply alone (ask logs its verification on stderr).
      auto r = run_command("{ " + std::string(SUNLEDGER_BINARY) + " --data " + shell_quote(data) + " ask " + options + " " +
                           shell_quote(text) + " 2>" + shell_quote(err) + "; }");
      ASSERT_EQ(r.exit_code, 0) << "README.md:" << line << ": " << text << "\n" << r.output << read_file(err);
      // ask prints the reply, then each push as "\n[queued for BOT/CHAT]\nTEXT".
      std::string reply = r.output;
      last_pushes.clear();
      static const std::regex push_head(R"(\n\[queued for [^/\]]+/([^\]]+)\]\n)");
      std::smatch m;
      std::string rest = r.output;
      if (std::regex_search(rest, m, push_head)) {
        reply = rest.substr(0, m.position());
        while (true) {
          std::string chat = m[1];
          rest = m.suffix();
          std::smatch next;
          bool more = std::regex_search(rest, next, push_head);
          last_pushes[chat] += more ? rest.substr(0, next.position()) : rest;
          if (!more) break;
          m = next;
        }
      }
      EXPECT_TRUE(text_matches(expected, reply, bound))
          << "README.md:" << line << ": `" << text << "` (ask " << b.argument << ") was answered:\n"
          << numbered(split_lines(reply)) << "README shows:\n" << numbered(expected);
    }
  }

  void check_push(const Block& b) {
    auto it = last_pushes.find(b.argument);
    ASSERT_NE(it, last_pushes.end()) << "README.md:" << b.line << ": the previous chat message pushed nothing to "
                                     << b.argument;
    EXPECT_TRUE(text_matches(b.lines, it->second, bound))
        << "README.md:" << b.line << ": the push to " << b.argument << " was:\n"
        << numbered(split_lines(it->second)) << "README shows:\n" << numbered(b.lines);
  }
};

TEST_F(Readme, EveryExampleIsMarked) {
  int run = 0;
  for (const auto& b : readme_blocks(read_file(SUNLEDGER_README))) {
    if (b.kind.empty())
      EXPECT_FALSE(shows_an_example(b)) << "README.md:" << b.line
                                        << ": an example without `<!-- readme-test: … -->` (run it, or say why not "
                                           "with `skip`)";
    else if (b.kind != "skip")
      ++run;
    EXPECT_TRUE(b.kind.empty() || b.kind == "sh" || b.kind == "file" || b.kind == "chat" || b.kind == "push" ||
                b.kind == "serve" || b.kind == "skip")
        << "README.md:" << b.line << ": unknown kind " << b.kind;
    if (b.kind == "skip") {
      EXPECT_FALSE(b.argument.empty()) << "README.md:" << b.line << ": skip needs a reason";
    }
  }
  EXPECT_GE(run, 10);  // the test runs the README, not nothing
}

// The README's blocks in order: every command it shows runs, and prints what
// it shows; every chat exchange is answered as shown.
TEST_F(Readme, RunsAsWritten) {
  for (const auto& b : readme_blocks(read_file(SUNLEDGER_README))) {
    SCOPED_TRACE("README.md:" + std::to_string(b.line) + " (" + b.kind + " " + b.argument + ")");
    if (b.kind == "sh") run_sh(b);
    else if (b.kind == "file") write_block_file(b);
    else if (b.kind == "chat") run_chat(b);
    else if (b.kind == "push") check_push(b);
    else if (b.kind == "serve") run_sh_beside_serve(b);
    if (HasFatalFailure()) return;
  }
}

// The matcher itself: what it lets differ, and what it does not.
TEST(ReadmeMatcher, MasksOnlyRandomValues) {
  Bindings b;
  EXPECT_TRUE(text_matches({"核验码:32/79765990(发送"}, "核验码:32/0a1b2c3d(发送", b));
  EXPECT_TRUE(text_matches({"intact (0.0227316 s)"}, "intact (0.5 s)", b));
  EXPECT_FALSE(text_matches({"核验码:32/79765990"}, "核验码:33/0a1b2c3d", b));
  EXPECT_TRUE(text_matches({"期限:2026-12-04"}, "期限:2027-01-09", b));
  EXPECT_FALSE(text_matches({"记为2022-12-28。"}, "记为2022-12-01。", b));
  EXPECT_TRUE(text_matches({"— x AUieL9vIjMxLD9weaIBPLT4LEH0X7Ob+q0jrk4CPtAZT"}, "— x Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5", b));
  EXPECT_FALSE(text_matches({"sunledger.example/lukou/shuangjiang"}, "sunledger.example/lukou/zhuting", b));
  const char* key = "lukou.example/sunledger+3ca6c51d+AUieL9vIjMxLD9weaIBPLT4LEH0X7Ob+q0jrk4CPtAZT";
  EXPECT_TRUE(text_matches({key}, "lukou.example/sunledger+69f35acf+AdydQk7j99OucHXCT/e9Ty95ywvSWV1XiPAA5PQ0Sffc", b));
  EXPECT_FALSE(text_matches({key}, "lukou.example/other+69f35acf+AdydQk7j99OucHXCT/e9Ty95ywvSWV1XiPAA5PQ0Sffc", b));
  EXPECT_TRUE(text_matches({"a", "…", "z"}, "a\nb\nc\nz\n", b));
  EXPECT_FALSE(text_matches({"a", "z"}, "a\nb\nz\n", b));
  EXPECT_TRUE(text_matches({"编号:6917-3644-0498"}, "编号:1111-2222-3333", b));
  EXPECT_EQ(b["6917-3644-0498"], "1111-2222-3333");
  EXPECT_FALSE(text_matches({"进度 6917-3644-0498"}, "进度 4444-5555-6666", b));  // once bound, that receipt only
  EXPECT_EQ(substitute("进度 6917-3644-0498", b), "进度 1111-2222-3333");
}

}  // namespace
}  // namespace sunledger
