// Posting income and expense lines and corrections inside a write: each line
// checked (names, dates, an open month, the chart's mapping, a correction's
// rules, a return against what its project has left), duplicates refused
// unless marked, then appended with its line key. The rest of the accounting
// rules are accounts.cc's.
#include "ledger/ledger.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "ledger/account_map_internal.h"
#include "ledger/clock.h"
#include "ledger/ledger_internal.h"
#include "ledger/line_keys.h"
#include "ledger/names.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

namespace {
// The local date of a recorded_at timestamp (2022-11-05T20:00:00Z is the 6th
// in China); the UTC date if the text is not one we write.
std::string local_day(const std::string& recorded_at, int utc_offset_minutes) {
  auto d = parse_date(recorded_at.substr(0, 10));
  int h = 0, m = 0, sec = 0;
  if (!d.is_ok() || recorded_at.size() != 20 ||
      std::sscanf(recorded_at.c_str() + 11, "%2d:%2d:%2dZ", &h, &m, &sec) != 3)
    return recorded_at.substr(0, 10);
  int64_t t = days_from_civil(d->year, static_cast<unsigned>(d->month), static_cast<unsigned>(d->day)) * 86400 +
              h * 3600 + m * 60 + sec;
  return format_date(local_date(t, utc_offset_minutes));
}

// The fund a correction names, as posting reads it when none is given.
std::string correction_fund(std::string_view kind, std::string_view fund) {
  if (!fund.empty()) return std::string(fund);
  return kind == kSpecialReturnKind ? "专项资金" : kDefaultFund;
}

// "#12(2022-11-01 期初余额 200,000.00元 银行存款,记于2022-12-01)": an earlier correction, as an error names it.
std::string named_correction(int64_t idx, const json& f, int utc_offset_minutes) {
  std::string kind = entry_string(f, "kind");
  std::string fund = correction_fund(kind, entry_string(f, "fund"));
  std::string funds = kind == kTransferKind ? fund + "→" + entry_string(f, "to_fund") : fund;
  return "#" + std::to_string(idx) + "(" + entry_string(f, "date") + " " + correction_kind_zh(kind) + " " +
         format_yuan(entry_fen(f, "amount")) + " " + funds + ",记于" +
         local_day(entry_string(f, "recorded_at"), utc_offset_minutes) + ")";
}

// Doubles among corrections (a resent message, a retried upload). A transfer
// or return identical in kind, date, amount, item, fund(s), project and
// counterparty to one posted in the last 30 days, or to an earlier line of
// the same post, is refused unless marked as intended, as income and expense
// lines are. An opening balance is a fund's starting point: a second one for
// the same fund in the same year is refused, marked or not (a later year's
// January 1st opening is how one is corrected). Corrections are few, so the
// village's posted ones are read here rather than indexed in line_keys, whose
// rows verify rebuilds from the income and expense lines alone.
void correction_doubles(sql::Statement& posted, int64_t log_id, const std::vector<TransactionLine>& lines,
                        const std::string& since, int utc_offset_minutes, std::vector<std::string>* errors,
                        std::set<Code>* codes) {
  struct Earlier {
    int64_t idx;
    json f;
  };
  std::vector<Earlier> earlier;  // newest first
  posted.bind(1, log_id);
  while (posted.step()) {
    std::string_view col = posted.column_blob_view(1);
    json f = json::parse(col, nullptr, false);
    if (f.is_object()) earlier.push_back({posted.column_int64(0), std::move(f)});
  }
  posted.reset();
  const std::string hint = "如确实又发生一笔,请在这一行加“重复:确认”(CSV 在“重复”列写“确认”)。"
                           "(a correction identical to one posted in the last 30 days; if it really happened twice, "
                           "mark it 重复:确认, or 确认 in the CSV's 重复 column)";
  auto same = [](const TransactionLine& l, const std::string& kind, const std::string& date, Fen amount,
                 const std::string& item, const std::string& fund, const std::string& to_fund,
                 const std::string& project, const std::string& counterparty) {
    return l.kind == kind && l.date == date && l.amount == amount && l.item == item &&
           correction_fund(l.kind, l.fund) == correction_fund(kind, fund) && l.to_fund == to_fund &&
           l.project == project && l.counterparty == counterparty;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.kind.empty()) continue;
    int where = line.source_line > 0 ? line.source_line : static_cast<int>(i + 1);
    std::string prefix = "第" + std::to_string(where) + "行: ";
    std::string fund = correction_fund(line.kind, line.fund);
    const std::string year = line.date.substr(0, 4);
    if (line.kind == kOpeningBalanceKind) {
      auto opened = [&](const std::string& kind, const std::string& f, const std::string& date) {
        return kind == kOpeningBalanceKind && correction_fund(kind, f) == fund && date.substr(0, 4) == year;
      };
      std::string clash;
      for (size_t j = 0; j < i && clash.empty(); ++j)
        if (opened(lines[j].kind, lines[j].fund, lines[j].date))
          clash = "第" + std::to_string(lines[j].source_line > 0 ? lines[j].source_line : static_cast<int>(j + 1)) + "行";
      for (size_t j = 0; j < earlier.size() && clash.empty(); ++j)
        if (opened(entry_string(earlier[j].f, "kind"), entry_string(earlier[j].f, "fund"), entry_string(earlier[j].f, "date")))
          clash = named_correction(earlier[j].idx, earlier[j].f, utc_offset_minutes);
      if (!clash.empty()) {
        errors->push_back(prefix + "资金“" + fund + "”" + year + "年的期初余额已经录入过:" + clash +
                          "。每个资金每年只录一次期初余额;录错了请在下一个年初(1月1日)记一笔期初余额,或用收入/支出更正差额。"
                          "(fund " + fund + " already has an opening balance in " + year +
                          "; one per fund a year: correct it at the next January 1st or with an income or expense line)");
        // A state of the books, as "comes before any other money" is: no mark lets it through.
        codes->insert(Code::kFailedPrecondition);
      }
      continue;
    }
    if (line.repeat) continue;
    std::string clash;
    for (size_t j = 0; j < i && clash.empty(); ++j)
      if (same(line, lines[j].kind, lines[j].date, lines[j].amount, lines[j].item, lines[j].fund, lines[j].to_fund,
               lines[j].project, lines[j].counterparty))
        clash = "第" + std::to_string(lines[j].source_line > 0 ? lines[j].source_line : static_cast<int>(j + 1)) + "行";
    for (const auto& e : earlier) {
      if (!clash.empty()) break;
      const json& f = e.f;
      if (entry_string(f, "recorded_at") < since) break;  // older ones are older still
      if (same(line, entry_string(f, "kind"), entry_string(f, "date"), entry_fen(f, "amount"), entry_string(f, "item"),
               entry_string(f, "fund"), entry_string(f, "to_fund"), entry_string(f, "project"),
               entry_string(f, "counterparty")))
        clash = named_correction(e.idx, f, utc_offset_minutes);
    }
    if (!clash.empty()) {
      errors->push_back(prefix + "与" + clash + "完全相同。" + hint);
      codes->insert(Code::kAlreadyExists);
    }
  }
}
}  // namespace

// Each line's key, and an error for every line identical to an earlier line
// of the same post or to one of this village's lines posted in the last 30
// days that was not reversed since, unless the line is marked as intended.
std::vector<std::string> WriteTxn::duplicate_check(const LogState& log, const std::vector<TransactionLine>& lines,
                                                   std::vector<std::string>* errors, std::set<Code>* codes) {
  std::vector<std::string> keys;
  std::map<std::string, int> in_post;  // key -> the line that had it
  const std::string since = utc_timestamp(now_ - kDuplicateWindowSeconds);
  const std::string hint = "如确实又发生一笔,请在这一行加“重复:确认”(CSV 在“重复”列写“确认”)。"
                           "(a line identical to one posted in the last 30 days; if it really happened twice, mark it "
                           "重复:确认, or 确认 in the CSV's 重复 column)";
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    const char* direction = line.income ? "income" : "expense";
    keys.push_back(line_key(direction, line.date, line.amount, line.item, line.counterparty));
    int where = line.source_line > 0 ? line.source_line : static_cast<int>(i + 1);
    auto [first, added] = in_post.emplace(keys.back(), where);
    if (line.repeat) continue;
    std::string prefix = "第" + std::to_string(where) + "行: ";
    if (!added) {
      errors->push_back(prefix + "与第" + std::to_string(first->second) + "行完全相同。" + hint);
      codes->insert(Code::kAlreadyExists);
      continue;
    }
    std::vector<int64_t> candidates;  // newest first: this transaction's lines, then the table's
    for (auto k = log.new_line_keys.rbegin(); k != log.new_line_keys.rend(); ++k)
      if (k->key == keys.back()) candidates.push_back(static_cast<int64_t>(k->made_by));
    if (ledger_->line_keys_seen_->may_have(*db_, log.id, log.committed_size, keys.back())) {
      auto& find = db_->statement(kFindLineKey);
      find.bind(1, log.id);
      find.bind_blob(2, keys.back());
      while (find.step()) candidates.push_back(find.column_int64(0));
      find.reset();
    }
    for (int64_t idx : candidates) {
      auto& reversed = db_->statement("SELECT 1 FROM reversals WHERE log_id=? AND target_idx=?");
      reversed.bind(1, log.id);
      reversed.bind(2, idx);
      bool was_reversed = reversed.step();
      reversed.reset();
      if (was_reversed) continue;  // reposting a reversed line is the correction
      auto& leaf = db_->statement("SELECT leaf FROM entries WHERE log_id=? AND idx=?");
      leaf.bind(1, log.id);
      leaf.bind(2, idx);
      json f;
      if (leaf.step()) {
        std::string_view col = leaf.column_blob_view(0);
        f = json::parse(col, nullptr, false);
      }
      leaf.reset();
      // The key is a digest: the fields themselves decide.
      if (!f.is_object() || entry_string(f, "direction") != direction || entry_string(f, "date") != line.date ||
          entry_fen(f, "amount") != line.amount || entry_string(f, "item") != line.item ||
          entry_string(f, "counterparty") != line.counterparty)
        continue;
      std::string at = entry_string(f, "recorded_at");
      if (at < since) break;  // older candidates are older still
      errors->push_back(prefix + "与#" + std::to_string(idx) + "(" + line.date + " " + (line.income ? "收入 " : "支出 ") +
                        format_yuan(line.amount) + " " + line.item + ",记于" + local_day(at, ledger_->utc_offset_minutes()) + ")完全相同。" + hint);
      codes->insert(Code::kAlreadyExists);
      break;
    }
  }
  return keys;
}

Result<std::vector<uint64_t>> WriteTxn::post_transactions(const std::string& village,
                                                          const std::vector<TransactionLine>& given,
                                                          const Author& author) {
  if (given.empty()) return invalid_argument("没有要记的账目 (no entries given)");
  std::vector<TransactionLine> lines = given;  // names normalised below
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  std::string current = ledger_->current_month();
  LogState& held = **log;
  if (!held.last_closed) held.last_closed = last_closed(db_->statement(kLastClosed), held.id);
  const std::optional<std::string> closed = *held.last_closed;
  std::vector<std::string> errors;
  std::set<Code> error_codes;
  std::map<std::string, bool> known_projects;
  // Every line must land on accounts of the 2023 chart (chart.h).
  if (!held.accounts) held.accounts = std::make_shared<const AccountMap>(stored_account_map(db_->statement(kAccountMapQuery), held.id));
  const std::shared_ptr<const AccountMap> mapping = held.accounts;  // alive while an append forgets it
  const AccountMap& accounts = *mapping;
  bool money_seen = false;
  // Each project's unspent special money once a return needs it, and what
  // this batch's earlier lines changed of it before that.
  std::map<std::string, Fen> unspent, batch_change;
  if (std::any_of(lines.begin(), lines.end(), [](const TransactionLine& l) { return l.kind == kOpeningBalanceKind; })) {
    auto& q = db_->statement(
        "SELECT 1 FROM entries WHERE log_id=? AND kind IN ('txn','transfer','special_return') LIMIT 1");
    q.bind(1, (*log)->id);
    money_seen = q.step();
    q.reset();
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    int where = line.source_line > 0 ? line.source_line : static_cast<int>(i + 1);
    std::string prefix = "第" + std::to_string(where) + "行: ";
    bool correction = !line.kind.empty();
    if (correction && lines[i].category.empty()) lines[i].category = correction_kind_zh(line.kind);
    if (correction && lines[i].item.empty()) lines[i].item = lines[i].category;
    Status s = correction && correction_kind_zh(line.kind)[0] == '\0' ? invalid_argument("unknown entry kind " + line.kind)
                                                                      : normalize_names(lines[i]);
    if (s.is_ok()) s = validate_transaction(line);
    if (s.is_ok()) s = check_month_open(closed, line.date.substr(0, 7), current);
    if (s.is_ok() && !correction)
      s = postings_for(accounts, line.income, line.category, line.fund, line.project, false, line.amount).status();
    if (s.is_ok() && correction) {
      std::optional<bool> special;
      if (!line.project.empty()) {
        auto& q = db_->statement("SELECT special FROM projects WHERE log_id=? AND name=?");
        q.bind(1, (*log)->id);
        q.bind(2, line.project);
        if (q.step()) special = q.column_int(0) != 0;
        q.reset();
      }
      s = check_correction(line, accounts, money_seen, special);
    }
    if (s.is_ok() && line.kind == kSpecialReturnKind) {
      // A return pays back what the project has not spent, no more: its
      // stored entries and the lines above it in this batch.
      auto it = unspent.find(line.project);
      if (it == unspent.end())
        it = unspent.emplace(line.project, unspent_special(db_->statement(kUnspentSpecialQuery), (*log)->id,
                                                           line.project) + batch_change[line.project]).first;
      if (line.amount > it->second)
        s = failed_precondition("退回" + format_yuan_with_wan(line.amount) + "超过项目“" + line.project + "”尚未使用的专项资金" +
                                format_yuan_with_wan(std::max<Fen>(it->second, 0)) + ",请核对金额 (a return cannot exceed the project's unspent special funds)");
    }
    if (s.is_ok() && !line.project.empty()) {
      Fen change = special_money_change(line.kind.empty() ? "txn" : line.kind, line.income, line.amount);
      auto it = unspent.find(line.project);
      if (it != unspent.end()) it->second += change;
      else batch_change[line.project] += change;
    }
    if (line.kind != kOpeningBalanceKind) money_seen = true;  // an opening balance comes before any other money
    if (s.is_ok() && !line.project.empty()) {
      auto it = known_projects.find(line.project);
      if (it == known_projects.end()) {
        auto& q = db_->statement("SELECT 1 FROM projects WHERE log_id=? AND name=?");
        q.bind(1, (*log)->id);
        q.bind(2, line.project);
        it = known_projects.emplace(line.project, q.step()).first;
        q.reset();
      }
      if (!it->second)
        s = invalid_argument("项目“" + line.project + "”尚未立项,请先立项 (unknown project; register it first)");
    }
    if (!s.is_ok()) {
      errors.push_back(prefix + s.message());
      error_codes.insert(s.code());
    }
  }
  // Duplicates, once every line is well formed (their fields are normalised).
  std::vector<std::string> keys;
  std::vector<TransactionLine> money_lines;  // the income and expense lines; corrections are checked apart
  for (const auto& l : lines)
    if (l.kind.empty()) money_lines.push_back(l);
  bool well_formed = errors.empty();
  if (well_formed) keys = duplicate_check(**log, money_lines, &errors, &error_codes);
  // Corrections even when a line is refused for another reason: a retried
  // upload's opening balances, now after money, are also named as doubles.
  if (money_lines.size() < lines.size())
    correction_doubles(db_->statement(kPostedCorrectionsQuery), (*log)->id, lines,
                       utc_timestamp(now_ - kDuplicateWindowSeconds), ledger_->utc_offset_minutes(), &errors, &error_codes);
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : "\n") + e;
    // One kind of problem keeps its code (a closed month is a state, not a typo).
    return Status(error_codes.size() == 1 ? *error_codes.begin() : Code::kInvalidArgument, joined);
  }
  std::vector<uint64_t> indexes;
  size_t key = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (!line.kind.empty()) {
      auto idx = append(*log, correction_fields(village, line), author);
      if (!idx.is_ok()) return idx.status();
      indexes.push_back(*idx);
      continue;
    }
    json f = {{"kind", "txn"},
              {"village", village},
              {"date", line.date},
              {"month", line.date.substr(0, 7)},
              {"direction", line.income ? "income" : "expense"},
              {"category", line.category},
              {"item", line.item},
              {"amount", line.amount},
              {"project", line.project},
              {"fund", line.fund},
              {"counterparty", line.counterparty},
              {"note", line.note}};
    if (line.repeat) f["repeat"] = true;  // an auditor sees who said a double was meant
    auto idx = append(*log, std::move(f), author);
    if (!idx.is_ok()) return idx.status();
    indexes.push_back(*idx);
    (*log)->new_line_keys.push_back({*idx, keys[key++]});
    (*log)->totals_changes.push_back(
        {*idx, line.date.substr(0, 7), line.income ? line.amount : 0, line.income ? 0 : line.amount});
  }
  return indexes;
}

}  // namespace sunledger
