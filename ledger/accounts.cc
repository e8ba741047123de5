// The village accounting rules inside a write: subsidies, projects, reversals,
// closing a month with its statement, the village registry (posting lines is
// posting.cc's).
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

std::optional<std::string> last_closed(sql::Statement& q, int64_t log_id) {
  q.bind(1, log_id);
  std::optional<std::string> out;
  if (q.step() && !q.column_is_null(0)) out = q.column_text(0);
  q.reset();
  return out;
}

std::optional<std::string> last_closed(Connection& db, int64_t log_id) {
  auto& q = db.statement("SELECT max(month) FROM month_closes WHERE log_id=?");
  return last_closed(q, log_id);
}

std::optional<std::string> month_to_close(Connection& db, int64_t log_id) {
  if (auto closed = last_closed(db, log_id)) return next_month(*closed);
  auto& q = db.statement("SELECT min(month) FROM entries WHERE log_id=? AND month IS NOT NULL AND kind != 'statement'");
  q.bind(1, log_id);
  if (q.step() && !q.column_is_null(0)) return q.column_text(0);
  return std::nullopt;
}

// Adds to a month's running totals inside the write.
void add_month_totals(sql::Statement& q, int64_t log_id, const std::string& month, Fen income, Fen expense) {
  q.bind(1, log_id);
  q.bind(2, month);
  q.bind(3, income);
  q.bind(4, expense);
  q.exec_later();
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

Result<MonthTotals> WriteTxn::month_totals(const std::string& log_name, const std::string& month) {
  auto log = log_for(log_name);
  if (!log.is_ok()) return log.status();
  auto read = (*log)->totals_read.find(month);
  if (read == (*log)->totals_read.end()) {
    auto& q = db_->statement("SELECT income, expense FROM month_totals WHERE log_id=? AND month=?");
    q.bind(1, (*log)->id);
    q.bind(2, month);
    MonthTotals stored;
    if (q.step()) stored = {q.column_int64(0), q.column_int64(1)};
    q.reset();
    read = (*log)->totals_read.emplace(month, stored).first;
  }
  MonthTotals t = read->second;
  for (const auto& c : (*log)->totals_changes)
    if (c.month == month) t.income += c.income, t.expense += c.expense;
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
  auto& q = db_->statement("SELECT 1 FROM projects WHERE log_id=? AND name=?");
  q.bind(1, (*log)->id);
  q.bind(2, p.name);
  if (q.step()) return already_exists("项目“" + p.name + "”已经立项 (project already registered)");
  json f = {{"kind", "project"}, {"village", village}, {"name", p.name}, {"approved", p.approved}, {"special", p.special}};
  auto idx = append(*log, std::move(f), author);
  if (!idx.is_ok()) return idx.status();
  auto& ins = db_->statement("INSERT INTO projects(log_id, name, approved, special, entry_idx) VALUES(?,?,?,?,?)");
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
  auto& q = db_->statement("SELECT leaf FROM entries WHERE log_id=? AND idx=?");
  q.bind(1, log_id);
  q.bind(2, static_cast<int64_t>(target));
  if (!q.step()) return not_found("没有第" + std::to_string(target) + "条账目 (no entry #" + std::to_string(target) + ")");
  std::string_view col = q.column_blob_view(0);
  json original = json::parse(col, nullptr, false);
  std::string kind = entry_string(original, "kind");
  if (kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind)
    return failed_precondition(correction_not_reversible(target, kind, original));
  if (kind != "txn" && kind != "subsidy")
    return failed_precondition("第" + std::to_string(target) + "条不是收支或补助记录,不能冲销 (only income, expense and subsidy lines can be reversed)");
  auto& r = db_->statement("SELECT reversal_idx FROM reversals WHERE log_id=? AND target_idx=?");
  r.bind(1, log_id);
  r.bind(2, static_cast<int64_t>(target));
  if (r.step())
    return already_exists("第" + std::to_string(target) + "条已被第" + std::to_string(r.column_int64(0)) +
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
  auto& ins = db_->statement("INSERT INTO reversals(log_id, target_idx, reversal_idx) VALUES(?,?,?)");
  ins.bind(1, log_id);
  ins.bind(2, static_cast<int64_t>(target));
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.exec();
  if (kind == "txn") {
    bool income = entry_string(original, "direction") == "income";
    Fen amount = entry_fen(original, "amount");
    (*log)->totals_changes.push_back({*idx, month, income ? -amount : 0, income ? 0 : -amount});
  }
  return *idx;
}

Result<uint64_t> WriteTxn::finish_project(const std::string& village, const std::string& given_name, const Author& author) {
  auto normalized = normalize_name(given_name, "项目名称", "project name");
  if (!normalized.is_ok()) return normalized.status();
  const std::string& name = *normalized;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  auto& q = db_->statement("SELECT 1 FROM projects WHERE log_id=? AND name=?");
  q.bind(1, (*log)->id);
  q.bind(2, name);
  bool exists = q.step();
  q.reset();
  if (!exists) return not_found("没有名为“" + name + "”的项目 (no such project)");
  auto& f = db_->statement("SELECT 1 FROM finished_projects WHERE log_id=? AND name=?");
  f.bind(1, (*log)->id);
  f.bind(2, name);
  bool done = f.step();
  f.reset();
  if (done) return already_exists("项目“" + name + "”已经结项 (project already finished)");
  auto idx = append(*log, json{{"kind", "project_finished"}, {"village", village}, {"name", name}}, author);
  if (!idx.is_ok()) return idx.status();
  auto& ins = db_->statement("INSERT INTO finished_projects(log_id, name, entry_idx) VALUES(?,?,?)");
  ins.bind(1, (*log)->id);
  ins.bind(2, name);
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.exec();
  return *idx;
}

namespace {

// Whether `month` is the one to close next: a month after the last closed
// one, not in the future, and no month skipped.
Status check_closable(Connection& db, int64_t log_id, const std::optional<std::string>& closed,
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
Result<json> statement_of(Connection& db, const std::string& village, int64_t log_id,
                          const std::optional<std::string>& closed, const std::string& month) {
  json previous;
  if (closed) {
    auto& q = db.statement(
        "SELECT e.leaf FROM month_closes m JOIN entries e ON e.log_id=m.log_id AND e.idx=m.statement_idx "
        "WHERE m.log_id=? AND m.month=?");
    q.bind(1, log_id);
    q.bind(2, *closed);
    if (q.step()) {
      std::string_view col = q.column_blob_view(0);
      previous = json::parse(col, nullptr, false);
    }
  }
  StatementBuilder month_so_far;
  // INDEXED BY: without statistics SQLite prefers walking the whole log in
  // primary-key order to sorting one month's rows, which made every query
  // slower as the current month grew. (PostgreSQL's connection drops the
  // hint: ledger/sql_dialect.h.)
  auto& q = db.statement("SELECT idx, leaf FROM entries INDEXED BY entries_by_month WHERE log_id=? AND month=? "
                         "AND kind != 'statement' ORDER BY idx");
  q.bind(1, log_id);
  q.bind(2, month);
  while (q.step()) {
    std::string_view col = q.column_blob_view(1);
    month_so_far.add(q.column_int64(0), json::parse(col, nullptr, false));
  }
  return month_so_far.statement(village, month, previous);
}

}  // namespace

Result<uint64_t> WriteTxn::close_month(const std::string& village, const std::string& month, const Author& author,
                                        MonthClose* close, const json* alerts) {
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  int64_t log_id = (*log)->id;
  // The village's log verified before anything is read from its derived
  // tables (leaves against the signed checkpoint, the indexed columns and
  // month_closes, month_totals ... against the leaves, as committed): which
  // month may close comes from month_closes and the statement is added up
  // from those columns, and its notice goes to every household. An edit made
  // with sqlite3 since the last integrity check (a close row deleted, a
  // statement's month column cleared, an entry's month moved away) must not
  // get a month signed twice or short. Once a month per village; it holds
  // the other writers for that long.
  auto report = ledger_->verify(village);
  if (!report.is_ok()) return report.status();
  if (!report->intact()) {
    const VerifyProblem& p = report->problems.front();
    Status refused = data_loss("本村账本核验未通过,没有公开;请联系乡镇管理员运行 sunledger verify (the village's log does "
                               "not verify, nothing was published: " + p.log + " entry #" +
                               std::to_string(p.first_bad_index) + ": " + p.reason + ")");
    ledger_->refused_write(refused.message());
    return refused;
  }
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
  auto& ins = db_->statement("INSERT INTO month_closes(log_id, month, statement_idx, tree_size, checkpoint) VALUES(?,?,?,?,?)");
  ins.bind(1, log_id);
  ins.bind(2, month);
  ins.bind(3, static_cast<int64_t>(*idx));
  ins.bind(4, static_cast<int64_t>(cp.size));
  ins.bind(5, *note);
  ins.exec();
  if (close != nullptr) {
    auto& leaf = db_->statement("SELECT leaf FROM entries WHERE log_id=? AND idx=?");
    leaf.bind(1, log_id);
    leaf.bind(2, static_cast<int64_t>(*idx));
    if (!leaf.step()) return internal_error("statement entry not found after appending it");
    std::string_view col = leaf.column_blob_view(0);
    close->month = month;
    close->statement_index = *idx;
    close->tree_size = cp.size;
    close->checkpoint = *note;
    close->statement_leaf.assign(col.data(), col.size());
    close->statement_proof = std::move(proof);
    close->statement = json::parse(col, nullptr, false);
  }
  return *idx;
}

Status WriteTxn::register_existing_villages() {
  {
    auto& q = db_->statement("SELECT 1 FROM logs WHERE name=?");
    q.bind(1, kVillagesLog);
    if (q.step()) return Status::ok();
  }
  std::vector<Village> villages;
  {
    auto& q = db_->statement("SELECT id, name, town FROM villages ORDER BY id");
    while (q.step()) villages.push_back({q.column_text(0), q.column_text(1), q.column_text(2)});
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
