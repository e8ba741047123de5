// The village accounting rules inside a write: posting lines and subsidies,
// projects, reversals, closing a month with its statement, the village registry.
#include "ledger/ledger.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "ledger/names.h"

#include "ledger/account_map_internal.h"
#include "ledger/ledger_internal.h"
#include "ledger/clock.h"
#include "ledger/line_keys.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

namespace ledger_internal {

std::optional<std::string> last_closed(SQLite::Statement& q, int64_t log_id) {
  q.bind(1, log_id);
  std::optional<std::string> out;
  if (q.executeStep() && !q.getColumn(0).isNull()) out = q.getColumn(0).getString();
  q.reset();
  return out;
}

std::optional<std::string> last_closed(SQLite::Database& db, int64_t log_id) {
  SQLite::Statement q(db, "SELECT max(month) FROM month_closes WHERE log_id=?");
  return last_closed(q, log_id);
}

std::optional<std::string> month_to_close(SQLite::Database& db, int64_t log_id) {
  if (auto closed = last_closed(db, log_id)) return next_month(*closed);
  SQLite::Statement q(db, "SELECT min(month) FROM entries WHERE log_id=? AND month IS NOT NULL AND kind != 'statement'");
  q.bind(1, log_id);
  if (q.executeStep() && !q.getColumn(0).isNull()) return q.getColumn(0).getString();
  return std::nullopt;
}

// Adds to a month's running totals inside the write.
void add_month_totals(SQLite::Statement& q, int64_t log_id, const std::string& month, Fen income, Fen expense) {
  q.bind(1, log_id);
  q.bind(2, month);
  q.bind(3, income);
  q.bind(4, expense);
  q.exec();
  q.reset();
}

Status check_month_open(const std::optional<std::string>& closed, const std::string& month, const std::string& current) {
  if (!valid_month(month)) return invalid_argument("月份“" + month + "”格式应为 2022-11 (month must be YYYY-MM)");
  if (month > current)
    return invalid_argument("不能记入未来的月份 " + month + " (cannot book into a future month)");
  if (closed && month <= *closed)
    return failed_precondition(month + " 的账目已经公开结账,不能再记入;更正请用冲销 (month " + month +
                               " is closed; corrections are reversals in the open month)");
  return Status::ok();
}

}  // namespace ledger_internal


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
    auto& find = ledger_->writer_session_->raw(kFindLineKey);
    find.bind(1, log.id);
    find.bind(2, keys.back().data(), static_cast<int>(keys.back().size()));
    std::vector<int64_t> candidates;  // newest first
    while (find.executeStep()) candidates.push_back(find.getColumn(0).getInt64());
    find.reset();
    for (int64_t idx : candidates) {
      auto& reversed = ledger_->writer_session_->raw("SELECT 1 FROM reversals WHERE log_id=? AND target_idx=?");
      reversed.bind(1, log.id);
      reversed.bind(2, idx);
      bool was_reversed = reversed.executeStep();
      reversed.reset();
      if (was_reversed) continue;  // reposting a reversed line is the correction
      auto& leaf = ledger_->writer_session_->raw("SELECT leaf FROM entries WHERE log_id=? AND idx=?");
      leaf.bind(1, log.id);
      leaf.bind(2, idx);
      json f;
      if (leaf.executeStep()) {
        auto col = leaf.getColumn(0);
        f = json::parse(std::string_view(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())),
                        nullptr, false);
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
  auto closed = last_closed(ledger_->writer_session_->raw(kLastClosed), (*log)->id);
  std::vector<std::string> errors;
  std::set<Code> error_codes;
  std::map<std::string, bool> known_projects;
  // Every line must land on accounts of the 2023 chart (chart.h).
  AccountMap accounts = stored_account_map(ledger_->writer_session_->raw(kAccountMapQuery), (*log)->id);
  bool money_seen = false;
  // Each project's unspent special money once a return needs it, and what
  // this batch's earlier lines changed of it before that.
  std::map<std::string, Fen> unspent, batch_change;
  if (std::any_of(lines.begin(), lines.end(), [](const TransactionLine& l) { return l.kind == kOpeningBalanceKind; })) {
    auto& q = ledger_->writer_session_->raw(
        "SELECT 1 FROM entries WHERE log_id=? AND kind IN ('txn','transfer','special_return') LIMIT 1");
    q.bind(1, (*log)->id);
    money_seen = q.executeStep();
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
        auto& q = ledger_->writer_session_->raw("SELECT special FROM projects WHERE log_id=? AND name=?");
        q.bind(1, (*log)->id);
        q.bind(2, line.project);
        if (q.executeStep()) special = q.getColumn(0).getInt() != 0;
        q.reset();
      }
      s = check_correction(line, accounts, money_seen, special);
    }
    if (s.is_ok() && line.kind == kSpecialReturnKind) {
      // A return pays back what the project has not spent, no more: its
      // stored entries and the lines above it in this batch.
      auto it = unspent.find(line.project);
      if (it == unspent.end())
        it = unspent.emplace(line.project, unspent_special(ledger_->writer_session_->raw(kUnspentSpecialQuery), (*log)->id,
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
        auto& q = ledger_->writer_session_->raw("SELECT 1 FROM projects WHERE log_id=? AND name=?");
        q.bind(1, (*log)->id);
        q.bind(2, line.project);
        it = known_projects.emplace(line.project, q.executeStep()).first;
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
  std::vector<TransactionLine> money_lines;  // the income and expense lines: corrections are not checked for doubles
  for (const auto& l : lines)
    if (l.kind.empty()) money_lines.push_back(l);
  if (errors.empty()) keys = duplicate_check(**log, money_lines, &errors, &error_codes);
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
    auto& insert = ledger_->writer_session_->raw(kInsertLineKey);
    const std::string& k = keys[key++];
    insert.bind(1, (*log)->id);
    insert.bind(2, k.data(), static_cast<int>(k.size()));
    insert.bind(3, static_cast<int64_t>(*idx));
    insert.exec();
    insert.reset();
    add_month_totals(ledger_->writer_session_->raw(kAddMonthTotals), (*log)->id, line.date.substr(0, 7),
                     line.income ? line.amount : 0, line.income ? 0 : line.amount);
  }
  return indexes;
}

Result<MonthTotals> WriteTxn::month_totals(const std::string& log_name, const std::string& month) {
  auto log = log_for(log_name);
  if (!log.is_ok()) return log.status();
  auto& q = ledger_->writer_session_->raw("SELECT income, expense FROM month_totals WHERE log_id=? AND month=?");
  q.bind(1, (*log)->id);
  q.bind(2, month);
  MonthTotals t;
  if (q.executeStep()) t = {q.getColumn(0).getInt64(), q.getColumn(1).getInt64()};
  q.reset();
  return t;
}

Result<uint64_t> WriteTxn::register_project(const std::string& village, const ProjectRegistration& given,
                                            const Author& author) {
  ProjectRegistration p = given;
  auto name = normalize_name(p.name, "项目名称", "project name");
  if (!name.is_ok()) return name.status();
  p.name = *name;
  if (auto s = validate_project(p); !s.is_ok()) return s;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  SQLite::Statement q(*db_, "SELECT 1 FROM projects WHERE log_id=? AND name=?");
  q.bind(1, (*log)->id);
  q.bind(2, p.name);
  if (q.executeStep()) return already_exists("项目“" + p.name + "”已经立项 (project already registered)");
  json f = {{"kind", "project"}, {"village", village}, {"name", p.name}, {"approved", p.approved}, {"special", p.special}};
  auto idx = append(*log, std::move(f), author);
  if (!idx.is_ok()) return idx.status();
  SQLite::Statement ins(*db_, "INSERT INTO projects(log_id, name, approved, special, entry_idx) VALUES(?,?,?,?,?)");
  ins.bind(1, (*log)->id);
  ins.bind(2, p.name);
  ins.bind(3, p.approved);
  ins.bind(4, p.special ? 1 : 0);
  ins.bind(5, static_cast<int64_t>(*idx));
  ins.exec();
  return *idx;
}

Result<std::vector<uint64_t>> WriteTxn::post_subsidies(const std::string& village, const std::string& month,
                                                       const std::vector<SubsidyLine>& lines, const Author& author) {
  if (lines.empty()) return invalid_argument("名单为空 (the list is empty)");
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  if (auto s = check_month_open(last_closed(*db_, (*log)->id), month, ledger_->current_month()); !s.is_ok()) return s;
  for (size_t i = 0; i < lines.size(); ++i)
    if (auto s = validate_subsidy(lines[i]); !s.is_ok())
      return invalid_argument("第" + std::to_string(i + 1) + "行: " + s.message());
  std::vector<uint64_t> indexes;
  for (const auto& l : lines) {
    json f = {{"kind", "subsidy"},       {"village", village},     {"month", month},
              {"program", l.program},    {"name_masked", l.name_masked}, {"id_masked", l.id_masked},
              {"id_hash", l.id_hash},    {"amount", l.amount},     {"persons", l.persons}};
    auto idx = append(*log, std::move(f), author);
    if (!idx.is_ok()) return idx.status();
    indexes.push_back(*idx);
  }
  return indexes;
}

Result<uint64_t> WriteTxn::reverse(const std::string& village, uint64_t target, const std::string& reason,
                                   const Author& author) {
  if (auto s = check_text(reason, "冲销原因", "reason", true, 200); !s.is_ok()) return s;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  int64_t log_id = (*log)->id;
  SQLite::Statement q(*db_, "SELECT leaf FROM entries WHERE log_id=? AND idx=?");
  q.bind(1, log_id);
  q.bind(2, static_cast<int64_t>(target));
  if (!q.executeStep()) return not_found("没有第" + std::to_string(target) + "条账目 (no entry #" + std::to_string(target) + ")");
  auto col = q.getColumn(0);
  json original = json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
  std::string kind = entry_string(original, "kind");
  if (kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind)
    return failed_precondition(correction_not_reversible(target, kind, original));
  if (kind != "txn" && kind != "subsidy")
    return failed_precondition("第" + std::to_string(target) + "条不是收支或补助记录,不能冲销 (only income, expense and subsidy lines can be reversed)");
  SQLite::Statement r(*db_, "SELECT reversal_idx FROM reversals WHERE log_id=? AND target_idx=?");
  r.bind(1, log_id);
  r.bind(2, static_cast<int64_t>(target));
  if (r.executeStep())
    return already_exists("第" + std::to_string(target) + "条已被第" + std::to_string(r.getColumn(0).getInt64()) +
                          "条冲销 (already reversed)");
  std::string target_month = entry_string(original, "month");
  auto closed = last_closed(*db_, log_id);
  bool target_closed = closed && target_month <= *closed;
  std::string month = target_month;
  if (target_closed) {
    month = std::max(ledger_->current_month(), next_month(*closed));
  }
  json f = {{"kind", "reversal"},
            {"village", village},
            {"month", month},
            {"target", target},
            {"target_kind", kind},
            {"target_month", target_month},
            {"target_closed", target_closed},
            {"reason", reason},
            {"direction", kind == "txn" ? entry_string(original, "direction") : "expense"},
            {"category", kind == "txn" ? entry_string(original, "category") : entry_string(original, "program")},
            {"project", entry_string(original, "project")},
            {"fund", entry_string(original, "fund")},
            {"amount", entry_fen(original, "amount")}};
  auto idx = append(*log, std::move(f), author);
  if (!idx.is_ok()) return idx.status();
  SQLite::Statement ins(*db_, "INSERT INTO reversals(log_id, target_idx, reversal_idx) VALUES(?,?,?)");
  ins.bind(1, log_id);
  ins.bind(2, static_cast<int64_t>(target));
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.exec();
  if (kind == "txn") {
    bool income = entry_string(original, "direction") == "income";
    Fen amount = entry_fen(original, "amount");
    add_month_totals(ledger_->writer_session_->raw(kAddMonthTotals), log_id, month, income ? -amount : 0, income ? 0 : -amount);
  }
  return *idx;
}

Result<uint64_t> WriteTxn::finish_project(const std::string& village, const std::string& given_name, const Author& author) {
  auto normalized = normalize_name(given_name, "项目名称", "project name");
  if (!normalized.is_ok()) return normalized.status();
  const std::string& name = *normalized;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  auto& q = ledger_->writer_session_->raw("SELECT 1 FROM projects WHERE log_id=? AND name=?");
  q.bind(1, (*log)->id);
  q.bind(2, name);
  bool exists = q.executeStep();
  q.reset();
  if (!exists) return not_found("没有名为“" + name + "”的项目 (no such project)");
  auto& f = ledger_->writer_session_->raw("SELECT 1 FROM finished_projects WHERE log_id=? AND name=?");
  f.bind(1, (*log)->id);
  f.bind(2, name);
  bool done = f.executeStep();
  f.reset();
  if (done) return already_exists("项目“" + name + "”已经结项 (project already finished)");
  auto idx = append(*log, json{{"kind", "project_finished"}, {"village", village}, {"name", name}}, author);
  if (!idx.is_ok()) return idx.status();
  SQLite::Statement ins(*db_, "INSERT INTO finished_projects(log_id, name, entry_idx) VALUES(?,?,?)");
  ins.bind(1, (*log)->id);
  ins.bind(2, name);
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.exec();
  return *idx;
}

namespace {

// Whether `month` is the one to close next: a month after the last closed
// one, not in the future, and no month skipped.
Status check_closable(SQLite::Database& db, int64_t log_id, const std::optional<std::string>& closed,
                      const std::string& month, const std::string& current_month) {
  // Said in terms of publishing: the booking refusal below talks of entries
  // and reversals, and named a month never closed as closed.
  if (closed && valid_month(month) && month <= *closed)
    return failed_precondition("本村账目已公开到 " + *closed + "," + month + " 不能再公开 (months up to " + *closed +
                               " are published already)");
  if (auto s = check_month_open(closed, month, current_month); !s.is_ok()) return s;
  // Months close one after another, an empty one too: closing a later month
  // would otherwise seal every skipped month for good without a statement
  // anybody saw (their entries could never be booked again).
  if (auto expected = month_to_close(db, log_id); expected && month != *expected) {
    if (!closed && month < *expected)
      return failed_precondition("本村最早的账目在 " + *expected + ",请从 " + *expected + " 开始公开 (the first month with entries is " +
                                 *expected + ": close " + *expected + " first)");
    return failed_precondition("请先公开 " + *expected + " 的账目(没有收支的月份也要公开),再公开 " + month + " (close " + *expected +
                               " first: months are closed in order, a month without entries too)");
  }
  return Status::ok();
}

// The statement of `month`: its entries added up, carried on from the last
// closed month's statement.
Result<json> statement_of(SQLite::Database& db, const std::string& village, int64_t log_id,
                          const std::optional<std::string>& closed, const std::string& month) {
  json previous;
  if (closed) {
    SQLite::Statement q(db,
                        "SELECT e.leaf FROM month_closes m JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx "
                        "WHERE m.log_id=? AND m.month=?");
    q.bind(1, log_id);
    q.bind(2, *closed);
    if (q.executeStep()) {
      auto col = q.getColumn(0);
      previous = json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
    }
  }
  StatementBuilder month_so_far;
  // INDEXED BY: without statistics SQLite prefers walking the whole log in
  // primary-key order to sorting one month's rows, which made every query
  // slower as the current month grew.
  SQLite::Statement q(db,
                      "SELECT idx, leaf FROM entries INDEXED BY entries_by_month WHERE log_id=? AND month=? AND kind != 'statement' "
                      "ORDER BY idx");
  q.bind(1, log_id);
  q.bind(2, month);
  while (q.executeStep()) {
    auto col = q.getColumn(1);
    month_so_far.add(q.getColumn(0).getInt64(),
                     json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false));
  }
  return month_so_far.statement(village, month, previous);
}

}  // namespace

Result<uint64_t> WriteTxn::close_month(const std::string& village, const std::string& month, const Author& author,
                                        MonthClose* close, const json* alerts) {
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  int64_t log_id = (*log)->id;
  auto closed = last_closed(*db_, log_id);
  if (Status s = check_closable(*db_, log_id, closed, month, ledger_->current_month()); !s.is_ok()) return s;
  auto f = statement_of(*db_, village, log_id, closed, month);
  if (!f.is_ok()) return f.status();
  if (alerts != nullptr) {
    if (!alerts->is_array()) return invalid_argument("alerts must be an array");
    (*f)["alerts"] = *alerts;
  }
  // The statement is the last leaf of the month's tree: its inclusion proof
  // is the right edge of the tree before it, smallest subtree first.
  std::vector<Hash> proof;
  {
    std::string edge = (*log)->range.encode();
    for (size_t at = edge.size(); at >= 32; at -= 32) {
      Hash h{};
      std::memcpy(h.data(), edge.data() + at - 32, 32);
      proof.push_back(h);
    }
  }
  auto idx = append(*log, std::move(*f), author);
  if (!idx.is_ok()) return idx.status();
  // The month's own checkpoint ends exactly at its statement, whatever else
  // this transaction appends afterwards; it is what the monthly notice cites.
  Checkpoint cp{ledger_->origin() + "/" + (*log)->name, (*log)->range.size(), (*log)->range.root()};
  auto note = sign_checkpoint(cp, ledger_->signer());
  if (!note.is_ok()) return note.status();
  SQLite::Statement ins(*db_, "INSERT INTO month_closes(log_id, month, statement_idx, tree_size, checkpoint) VALUES(?,?,?,?,?)");
  ins.bind(1, log_id);
  ins.bind(2, month);
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.bind(4, static_cast<int64_t>(cp.size));
  ins.bind(5, *note);
  ins.exec();
  if (close != nullptr) {
    SQLite::Statement leaf(*db_, "SELECT leaf FROM entries WHERE log_id=? AND idx=?");
    leaf.bind(1, log_id);
    leaf.bind(2, static_cast<int64_t>(*idx));
    if (!leaf.executeStep()) return internal_error("statement entry not found after appending it");
    auto col = leaf.getColumn(0);
    close->month = month;
    close->statement_index = *idx;
    close->tree_size = cp.size;
    close->checkpoint = *note;
    close->statement_leaf.assign(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes()));
    close->statement_proof = std::move(proof);
    close->statement =
        json::parse(std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes())), nullptr, false);
  }
  return *idx;
}

Status WriteTxn::register_existing_villages() {
  {
    SQLite::Statement q(*db_, "SELECT 1 FROM logs WHERE name=?");
    q.bind(1, kVillagesLog);
    if (q.executeStep()) return Status::ok();
  }
  std::vector<Village> villages;
  {
    SQLite::Statement q(*db_, "SELECT id, name, town FROM villages ORDER BY id");
    while (q.executeStep()) villages.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
  }
  if (villages.empty() || !ledger_->signer().sign("").is_ok()) return Status::ok();
  for (const auto& v : villages) {
    json f = village_registration(v, ledger_->utc_offset_minutes());
    f["imported"] = true;
    if (auto r = append_to_log(kVillagesLog, f, kRegistrar); !r.is_ok()) return r.status();
  }
  return Status::ok();
}

}  // namespace sunledger
