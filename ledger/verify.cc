// verify: every log checked (log_verifier.cc) on two threads, each in a
// snapshot of its own, and the schema checked for triggers added by hand.
#include "ledger/ledger.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "ledger/cosignatures.h"
#include "ledger/log_verifier.h"

#include "ledger/ledger_internal.h"
#include "ledger/sql_engine.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

// ---------------------------------------------------------------------------
// Verification

namespace {

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// At most n bytes of text, cut where a UTF-8 character starts: a name in a
// CHECK added by hand must not end the message in half a character.
std::string excerpt(const std::string& text, size_t from, size_t n) {
  while (from > 0 && from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) --from;
  if (from >= text.size()) return "";
  size_t end = std::min(text.size(), from + n);
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return (from > 0 ? "…" : "") + text.substr(from, end - from) + (end < text.size() ? "…" : "");
}

}  // namespace

void Ledger::expect_triggers(const std::vector<SchemaTrigger>& triggers) {
  std::lock_guard<std::mutex> lock(schema_mu_);
  for (const auto& t : triggers) expected_triggers_[t.name] = t;
}

void Ledger::expect_indexes(const std::vector<SchemaIndex>& indexes) {
  std::lock_guard<std::mutex> lock(schema_mu_);
  for (const auto& i : indexes) expected_indexes_[i.name] = i.sql;
}

void Ledger::expect_tables(const std::vector<SchemaTable>& tables) {
  std::lock_guard<std::mutex> lock(schema_mu_);
  for (const auto& t : tables) expected_tables_[t.name] = t;
}

namespace {

using SchemaRow = SchemaObject;

// A trigger runs inside every write, before anything is signed: one an
// insider adds can mark the tamper alarm delivered the moment it is queued,
// swallow every dedupe record or rewrite a row after the bot wrote it, while
// every table still matches its log. So every trigger must be exactly one a
// module registered, whatever its name or form: one in our own append-only
// form on a table we keep no such trigger on (an `outbox_no_update` that
// aborts every delivery record) is as foreign as any other. And every
// registered trigger must be there: one dropped is how a row of an
// append-only table gets edited, and a trigger missing is named even where
// the edit was put back.
void compare_triggers(const std::vector<SchemaRow>& rows, std::map<std::string, SchemaTrigger> missing,
                      std::vector<VerifyProblem>& out) {
  for (const auto& r : rows) {
    if (lowercase(r.type) != "trigger") continue;
    auto it = missing.find(r.name);
    bool ours = r.type == "trigger" && it != missing.end() && it->second.table == r.table && it->second.sql == r.sql;
    if (it != missing.end()) missing.erase(it);  // there, if changed: named once, below
    if (ours) continue;
    out.push_back({"schema", 0, "schema: trigger " + r.name + " on table " + r.table +
                                    " is not one sunledger makes (added or changed by hand?): " + excerpt(r.sql, 0, 200)});
  }
  for (const auto& [name, t] : missing)
    out.push_back({"schema", 0, "schema: trigger " + name + " that keeps table " + t.table +
                                    " append-only is missing (dropped by hand?)"});
}

// Indexes: one added by hand (UNIQUE, or partial with a WHERE) can refuse
// chosen writes; one dropped stops every query that names it (INDEXED BY).
// SQLite's own (PRIMARY KEY, UNIQUE columns) have no SQL.
void compare_indexes(const std::vector<SchemaRow>& rows, std::map<std::string, std::string> missing,
                     std::vector<VerifyProblem>& out) {
  for (const auto& r : rows) {
    if (lowercase(r.type) != "index" || r.sql.empty()) continue;
    auto it = missing.find(r.name);
    bool ours = r.type == "index" && it != missing.end() && it->second == normalized_schema_sql(r.sql);
    if (it != missing.end()) missing.erase(it);
    if (ours) continue;
    out.push_back({"schema", 0, "schema: index " + r.name + " on table " + r.table +
                                    " is not one sunledger makes (added or changed by hand?): " + excerpt(r.sql, 0, 200)});
  }
  for (const auto& [name, sql] : missing)
    out.push_back({"schema", 0, "schema: index " + name + " that sunledger makes is missing (dropped by hand?)"});
}

// Tables and views: a CHECK, a DEFAULT, a collation or a generated column
// added by hand changes what is refused or read while every row still
// matches its log; a view or a virtual table is a foothold. A table that
// gained columns by ALTER TABLE in an older deployment keeps them in its
// text: each module registers those migrated forms too.
void compare_tables(const std::vector<SchemaRow>& rows, std::map<std::string, SchemaTable> tables,
                    std::vector<VerifyProblem>& out) {
  for (const auto& r : rows) {
    std::string type = lowercase(r.type);
    if ((type != "table" && type != "view") || r.name.rfind("sqlite_", 0) == 0) continue;
    auto it = r.type == "table" ? tables.find(r.name) : tables.end();
    if (it == tables.end()) {
      out.push_back({"schema", 0, "schema: " + type + " " + r.name +
                                      " is not one sunledger makes (added by hand?): " + excerpt(r.sql, 0, 200)});
      continue;
    }
    const std::string stored = normalized_schema_sql(r.sql);
    bool accepted = false;
    for (const auto& form : it->second.sql) accepted |= form == stored;
    // What differs: the stored text from where it leaves today's form.
    const std::string today = it->second.sql.empty() ? "" : it->second.sql.front();
    tables.erase(it);  // there, if changed: named once, here
    if (accepted) continue;
    size_t differs = std::mismatch(stored.begin(), stored.end(), today.begin(), today.end()).first - stored.begin();
    out.push_back({"schema", 0, "schema: table " + r.name +
                                    " is not as sunledger makes it (columns or constraints changed by hand?): " +
                                    excerpt(stored, differs > 40 ? differs - 40 : 0, 200)});
  }
  for (const auto& [name, t] : tables)
    if (!t.legacy) out.push_back({"schema", 0, "schema: table " + name + " that sunledger makes is missing (dropped by hand?)"});
}

}  // namespace

// The schema against what the modules registered, from one read of
// sqlite_master in one snapshot: triggers, indexes, tables and views, each
// compared by its own function below.
Result<std::vector<VerifyProblem>> Ledger::verify_schema() {
  std::vector<SchemaRow> rows;
  try {
    auto conn = read();
    rows = engine_->schema_objects(conn.db());
  } catch (const sql::Error& e) {
    return from_sql(e, "verify the schema");
  }
  std::vector<VerifyProblem> out;
  for (const auto& r : rows)
    if (r.type != "table" && r.type != "index" && r.type != "trigger" && r.type != "view")
      out.push_back({"schema", 0, "schema: " + r.name + " is stored as type '" + excerpt(r.type, 0, 40) +
                                      "', which SQLite never writes (sqlite_master edited by hand?): " + excerpt(r.sql, 0, 200)});
  std::lock_guard<std::mutex> lock(schema_mu_);
  compare_triggers(rows, expected_triggers_, out);
  compare_indexes(rows, expected_indexes_, out);
  compare_tables(rows, expected_tables_, out);
  return out;
}

Result<Ledger::CheckedEntries> Ledger::checked_entries(const std::string& log_name) {
  try {
    auto connection = engine_->open_reader(true);
    Connection& db = *connection;
    Transaction snapshot(db, Transaction::Kind::kRead);
    auto& q = db.statement("SELECT l.id, l.size, l.checkpoint, v.id IS NOT NULL, coalesce(v.id, '') FROM logs l "
                           "LEFT JOIN villages v ON v.log_id=l.id WHERE l.name=?");
    q.bind(1, log_name);
    if (!q.step()) return not_found("没有这个村或日志“" + log_name + "” (no such village or log)");
    int64_t id = q.column_int64(0);
    VerifyReport report;
    const std::string vkey = verifier_key();
    verify_log(db, origin_, vkey, options_.utc_offset_minutes,
               {id, log_name, static_cast<uint64_t>(q.column_int64(1)), q.column_text(2),
                q.column_int(3) != 0, q.column_text(4)},
               report);
    // Only this log's own problems: a pin of evidence in another log
    // (evidence_pins.h) names that log, whose entries these are not.
    std::erase_if(report.problems, [&](const VerifyProblem& p) { return p.log != log_name; });
    CheckedEntries out;
    out.intact = report.problems.empty();
    auto& e = db.statement("SELECT idx, leaf, typeof(idx)='integer' FROM entries WHERE log_id=? ORDER BY idx");
    e.bind(1, id);
    out.first_bad = UINT64_MAX;
    while (e.step()) {
      // Row i must be entry i: a row slipped in (a fractional or repeated
      // index) ends what may be replayed, whatever verify located.
      if (e.column_int(2) == 0 || static_cast<uint64_t>(e.column_int64(0)) != out.entries.size()) {
        out.intact = false;
        out.first_bad = out.entries.size();
        break;
      }
      out.entries.push_back(entry_from_row(static_cast<uint64_t>(e.column_int64(0)), e.column_blob_view(1)));
    }
    out.first_bad = std::min<uint64_t>(out.first_bad, out.entries.size());
    for (const auto& p : report.problems) out.first_bad = std::min(out.first_bad, p.first_bad_index);
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "checked entries");
  } catch (const std::exception& e) {
    return internal_error(std::string("checked entries: ") + e.what());
  }
}

namespace {

struct LogName {
  int64_t id;
  std::string name;
};

// Checks the logs it takes from `next` until none is left, each into its
// per_log slot; two threads run this side by side. A connection of its own,
// not a pooled one: verify does not hold one of the server's readers for
// seconds, and a connection only this thread uses needs no mutex around
// every SQLite call (they were 8% of verify's time).
Status verify_logs_from(Engine& engine, const std::string& origin, const std::string& vkey, int zone,
                        const std::vector<LogName>& logs, std::atomic<size_t>& next, std::vector<VerifyReport>& per_log,
                        WitnessKeys& witnesses) {
  try {
    auto connection = engine.open_reader(true);
    Connection& db = *connection;
    Transaction snapshot(db, Transaction::Kind::kRead);
    auto& q = db.statement("SELECT l.size, l.checkpoint, v.id IS NOT NULL, coalesce(v.id, '') FROM logs l "
                           "LEFT JOIN villages v ON v.log_id=l.id WHERE l.id=?");
    for (size_t i; (i = next++) < logs.size();) {
      q.reset();
      q.bind(1, logs[i].id);
      while (q.step()) {
        verify_log(db, origin, vkey, zone,
                   {logs[i].id, logs[i].name, static_cast<uint64_t>(q.column_int64(0)),
                    q.column_text(1), q.column_int(2) != 0, q.column_text(3)},
                   per_log[i], &witnesses);
      }
    }
    return Status::ok();
  } catch (const sql::Error& e) {
    next = logs.size();  // the other thread stops too
    return from_sql(e, "verify");
  } catch (const std::exception& e) {
    next = logs.size();
    return internal_error(std::string("verify: ") + e.what());
  }
}

}  // namespace

Result<VerifyReport> Ledger::verify(const std::string& log_name) {
  // The logs are independent, so they are checked on two threads (the
  // machine's two cores at start-up, before serve listens). Each thread
  // checks every log it takes within one read transaction of its own, reading
  // the log's row (size, latest checkpoint, village) in that same snapshot, so
  // each log is checked against one consistent state even while a server
  // writes.
  std::vector<LogName> logs;
  try {
    auto conn = read();
    auto& q = conn.db().statement("SELECT id, name FROM logs WHERE ?='' OR name=? ORDER BY name");
    q.bind(1, log_name);
    q.bind(2, log_name);
    while (q.step()) logs.push_back({q.column_int64(0), q.column_text(1)});
  } catch (const sql::Error& e) {
    return from_sql(e, "verify");
  }
  if (logs.empty() && !log_name.empty()) return not_found("没有这个村或日志“" + log_name + "” (no such village or log)");

  std::vector<VerifyReport> per_log(logs.size());  // merged in name order, as one thread would report them
  std::atomic<size_t> next{0};
  const std::string vkey = verifier_key();
  auto work = [&]() -> Status {
    return verify_logs_from(*engine_, origin_, vkey, options_.utc_offset_minutes, logs, next, per_log,
                            *witness_keys_);
  };

  Status helper_status;
  std::thread helper;
  if (logs.size() > 1) {
    try {
      helper = std::thread([&] { helper_status = work(); });
    } catch (const std::system_error&) {
      // No thread to be had: this one checks every log.
    }
  }
  Status status = work();
  if (helper.joinable()) helper.join();
  if (!status.is_ok()) return status;
  if (!helper_status.is_ok()) return helper_status;
  VerifyReport report;
  for (auto& r : per_log) {
    report.logs_checked += r.logs_checked;
    report.entries_checked += r.entries_checked;
    for (auto& p : r.problems) report.problems.push_back(std::move(p));
  }
  if (log_name.empty()) {
    auto triggers = verify_schema();
    if (!triggers.is_ok()) return triggers.status();
    for (auto& p : *triggers) report.problems.push_back(std::move(p));
  }
  return report;
}

}  // namespace sunledger
