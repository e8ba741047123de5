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

using R = CommandRole;
using K = CommandKind;

// The one table. Keywords are matched case-insensitively (English); a
// two-word keyword ("project add") needs both words.
const std::vector<CommandSpec> kCommands = {
    {K::kHelp, {"帮助", "help", "start", "?", "？"}, R::kAnyone, false, false, "帮助", "看您可以用的命令 (help)"},
    {K::kAccounts, {"账目", "accounts"}, R::kAnyone, false, false, "账目 [2022-11]", "看某月公开账目 (accounts)"},
    {K::kDetails, {"明细", "details"}, R::kAnyone, false, false, "明细 2022-11 [收入|支出] [页]", "看每一笔 (details)"},
    {K::kProjects, {"项目", "projects"}, R::kAnyone, false, false, "项目 [名称]", "看项目预算和花费 (projects)"},
    {K::kSubsidies, {"低保", "subsidies"}, R::kAnyone, false, false, "低保 [2022-11]", "看低保等补助名单 (subsidies)"},
    {K::kBalance, {"余额", "balance"}, R::kAnyone, false, false, "余额", "看各项资金余额 (balance)"},
    {K::kVerify, {"核验", "verify"}, R::kAnyone, false, false, "核验 [2022-11]", "看签名和核对方法 (verify)"},
    {K::kComplain, {"投诉", "举报", "complain"}, R::kAnyone, true, false, "投诉 内容",
     "反映问题,回执私信发给您 (complain)"},
    {K::kComplainAnonymously, {"匿名投诉", "匿名举报", "complain anonymously"}, R::kAnyone, true, true,
     "匿名投诉 内容", "匿名反映问题,只能私信发送 (complain anonymously)"},
    {K::kComplaintStatus, {"进度", "status"}, R::kAnyone, false, true, "进度 编号", "查您的投诉办理进度 (status)"},
    {K::kSatisfied, {"满意", "satisfied"}, R::kAnyone, true, true, "满意 编号", "对办结结果满意 (satisfied)"},
    {K::kUnsatisfied, {"不满意", "unsatisfied"}, R::kAnyone, true, true, "不满意 编号",
     "对办结结果不满意,15天内重新办理 (unsatisfied)"},
    {K::kPost, {"记账", "post"}, R::kOfficial, true, false,
     "记账 2022-11 换行后每行一笔:支出 工程款 157600 水渠修缮 项目:水利建设 资金:专项资金 对方:某工程队 日期:2022-11-10",
     "记收入和支出 (post)"},
    {K::kProjectAdd, {"立项", "project add"}, R::kOfficial, true, false, "立项 水利建设 30万 专项", "登记项目和批复金额 (project add)"},
    {K::kProjectFinish, {"结项", "project finish"}, R::kOfficial, true, false, "结项 水利建设", "项目完工结项 (project finish)"},
    {K::kReverse, {"冲销", "reverse"}, R::kOfficial, true, false, "冲销 12 重复记账", "冲销记错的一笔 (reverse)"},
    {K::kSubsidyList, {"低保名单", "subsidy-list", "subsidy list"}, R::kOfficial, true, false,
     "低保名单 2022-11 换行后每行:张三 身份证号 620 [人数]", "登记补助名单 (subsidy list)"},
    {K::kPublish, {"公开", "publish"}, R::kOfficial, true, false, "公开 2022-11", "结账并推送到村民群 (publish)"},
    {K::kAlerts, {"预警", "alerts"}, R::kOfficialOrInspector, false, false, "预警", "看自动发现的问题 (alerts)"},
    {K::kQueue, {"待办", "queue"}, R::kInspector, false, true, "待办", "看辖区内未办结的投诉,逾期的在前 (queue)"},
    {K::kShowComplaint, {"查看", "show"}, R::kInspector, false, true, "查看 编号", "看投诉全文、反映人和办理记录 (show)"},
    {K::kAssign, {"转办", "assign"}, R::kInspector, true, true, "转办 编号 处理人 说明", "转给处理人 (assign)"},
    {K::kInvestigate, {"调查", "investigate"}, R::kInspector, true, true, "调查 编号 说明", "开始调查 (investigate)"},
    {K::kResolve, {"办结", "resolve"}, R::kInspector, true, true, "办结 编号 结论", "写明结论并办结 (resolve)"},
    {K::kReject, {"驳回", "reject"}, R::kInspector, true, true, "驳回 编号 理由", "不予受理,写明理由 (reject)"},
};

// Derived from kCommands: two-word keywords first, then longer before
// shorter, so 低保名单 wins over 低保 when a keyword runs into its argument.
const std::vector<Keyword>& keywords() {
  static const std::vector<Keyword> words = [] {
    std::vector<Keyword> out;
    for (const auto& c : kCommands)
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

const std::vector<CommandSpec>& command_table() { return kCommands; }

const CommandSpec* command_spec(CommandKind kind) {
  for (const auto& c : kCommands)
    if (c.kind == kind) return &c;
  return nullptr;
}

bool is_write(CommandKind kind) {
  const CommandSpec* c = command_spec(kind);
  return c != nullptr && c->write;
}

}  // namespace sunledger
