// The ledger: its schema, opening and initialising a database, and the
// single-operation writes built on its group commit (group_commit.cc).
#include "ledger/ledger.h"

#include <algorithm>
#include <charconv>

#include <system_error>

#include "ledger/checkpoint.h"
#include "ledger/names.h"
#include "ledger/schema.h"

#include "ledger/ledger_internal.h"
#include "ledger/month_cache.h"
#include "ledger/sql_engine.h"
#include "ledger/cosignatures.h"
#include "ledger/line_keys.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

namespace {

// A village's own mapping of categories and funds to the chart of accounts
// (chart.h), the last "account_map" entry of each name; rows are replaced
// when a name is mapped again. Verify compares them.
constexpr const char* kAccountMapsTable =
    "CREATE TABLE IF NOT EXISTS account_maps(log_id INTEGER NOT NULL REFERENCES logs(id), direction TEXT NOT NULL,"
    " name TEXT NOT NULL, account TEXT NOT NULL, entry_idx INTEGER NOT NULL, PRIMARY KEY(log_id, direction, name))";

const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logs(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " size INTEGER NOT NULL DEFAULT 0, frontier BLOB NOT NULL DEFAULT x'', checkpoint TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS villages(id TEXT PRIMARY KEY, name TEXT NOT NULL, town TEXT NOT NULL,"
    " log_id INTEGER NOT NULL UNIQUE REFERENCES logs(id))",
    "CREATE TABLE IF NOT EXISTS entries(log_id INTEGER NOT NULL REFERENCES logs(id), idx INTEGER NOT NULL,"
    " kind TEXT NOT NULL, month TEXT, leaf BLOB NOT NULL, PRIMARY KEY(log_id, idx)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS entries_by_month ON entries(log_id, month)",
    "CREATE TABLE IF NOT EXISTS nodes(log_id INTEGER NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " hash BLOB NOT NULL, PRIMARY KEY(log_id, level, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS projects(log_id INTEGER NOT NULL REFERENCES logs(id), name TEXT NOT NULL,"
    " approved INTEGER NOT NULL, special INTEGER NOT NULL, entry_idx INTEGER NOT NULL, PRIMARY KEY(log_id, name))",
    "CREATE TABLE IF NOT EXISTS finished_projects(log_id INTEGER NOT NULL REFERENCES logs(id), name TEXT NOT NULL,"
    " entry_idx INTEGER NOT NULL, PRIMARY KEY(log_id, name))",
    "CREATE TABLE IF NOT EXISTS reversals(log_id INTEGER NOT NULL REFERENCES logs(id), target_idx INTEGER NOT NULL,"
    " reversal_idx INTEGER NOT NULL, PRIMARY KEY(log_id, target_idx))",
    // Running totals of every month's income and expense lines (net of
    // reversals), so a post can answer with the month so far in O(1).
    // Derived from the entries; `verify` recomputes and compares them.
    "CREATE TABLE IF NOT EXISTS month_totals(log_id INTEGER NOT NULL REFERENCES logs(id), month TEXT NOT NULL,"
    " income INTEGER NOT NULL, expense INTEGER NOT NULL, PRIMARY KEY(log_id, month)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS month_closes(log_id INTEGER NOT NULL REFERENCES logs(id), month TEXT NOT NULL,"
    " statement_idx INTEGER NOT NULL, tree_size INTEGER NOT NULL, checkpoint TEXT NOT NULL,"
    " PRIMARY KEY(log_id, month))",
    kLineKeysTable,
    kAccountMapsTable,
    kCosignaturesTable,
    kWitnessRefusalsTable,
};

// A second line of defence behind the hashes: the ledger's own tables refuse
// edits and deletions, so a careless UPDATE fails loudly. Someone who drops
// these triggers is caught by `verify`, which names the missing trigger too.
const char* kAppendOnlyTables[] = {"entries",  "nodes",        "projects",  "finished_projects",
                                   "reversals", "month_closes", "line_keys", "cosignatures"};

}  // namespace

// The ledger's own triggers: the only definition of them, used to create them
// and, registered at open, by verify to compare the schema with.
std::vector<SchemaTrigger> Ledger::own_triggers() {
  std::vector<SchemaTrigger> out;
  for (const char* table : kAppendOnlyTables)
    for (auto& t : append_only_triggers(table, "the ledger is append-only")) out.push_back(std::move(t));
  return out;
}

// ---------------------------------------------------------------------------
// Ledger

Ledger::Ledger(const Options& options)
    : options_(options),
      line_keys_seen_(std::make_unique<ledger_internal::LineKeysSeen>()),
      month_cache_(std::make_unique<ledger_internal::MonthEntriesCache>()),
      witness_keys_(std::make_shared<ledger_internal::WitnessKeys>()) {}
Ledger::~Ledger() = default;

int64_t Ledger::storage_memory_bytes() { return storage_memory_in_use(); }

void Ledger::set_integrity_failure(const std::string& what) {
  std::lock_guard<std::mutex> lock(integrity_mu_);
  integrity_failure_ = what;
}

void Ledger::set_on_refused_write(std::function<void(const std::string&)> fn) {
  std::lock_guard<std::mutex> lock(integrity_mu_);
  on_refused_write_ = std::move(fn);
}

void Ledger::refused_write(const std::string& what) {
  std::function<void(const std::string&)> fn;
  {
    std::lock_guard<std::mutex> lock(integrity_mu_);
    fn = on_refused_write_;
  }
  if (fn) fn(what);
}

std::string Ledger::integrity_failure() const {
  std::lock_guard<std::mutex> lock(integrity_mu_);
  return integrity_failure_;
}

uint64_t Ledger::wal_checkpoints_done() const { return engine_ ? engine_->background_checkpoints() : 0; }

Status Ledger::initialize(const std::string& db_path, const std::string& origin, int utc_offset_minutes) {
  if (utc_offset_minutes < -12 * 60 || utc_offset_minutes > 14 * 60)
    return invalid_argument("UTC offset must be between -720 and 840 minutes");
  if (origin.empty() || origin.find_first_of(" \t\n+") != std::string::npos)
    return invalid_argument("origin must be non-empty, without spaces or '+' (for example lukou.zhuzhou.gov.cn/sunledger)");
  auto engine = engine_for(db_path);
  try {
    auto created = engine->create();
    if (!created.is_ok()) return created.status();
    Connection& db = **created;
    Transaction t(db, Transaction::Kind::kWrite);
    // Triggers are made with their table only: initialising again must not
    // put back one dropped by hand (verify names it).
    std::set<std::string> existed;
    for (const char* table : kAppendOnlyTables)
      if (db.table_exists(table)) existed.insert(table);
    for (const char* sql : kSchema) db.exec(sql);
    for (const auto& trigger : own_triggers())
      if (!existed.count(trigger.table)) create_triggers(db, {trigger});
    auto& q = db.statement("SELECT value FROM meta WHERE key='origin'");
    if (q.step()) {
      if (q.column_text(0) != origin)
        return failed_precondition("database already belongs to origin " + q.column_text(0));
    } else {
      auto& ins = db.statement("INSERT INTO meta(key, value) VALUES('origin', ?), ('utc_offset_minutes', ?)");
      ins.bind(1, origin);
      ins.bind(2, std::to_string(utc_offset_minutes));
      ins.exec();
    }
    db.reset_all();
    t.commit();
  } catch (const sql::Error& e) {
    return from_sql(e, "initialize " + engine->where());
  }
  return Status::ok();
}

Result<std::unique_ptr<Ledger>> Ledger::open(const Options& options) {
  if (options.clock == nullptr || options.signer == nullptr) return invalid_argument("a ledger needs a clock and a signer");
  std::unique_ptr<Ledger> ledger(new Ledger(options));
  try {
    auto engine = engine_for(options.db_path);
    if (!engine->exists()) return not_found("no database at " + engine->where() + " (run `sunledger init` first)");
    ledger->writer_ = engine->open_writer();
    ledger->engine_ = std::move(engine);
    Connection& w = *ledger->writer_;
    if (cosignatures_table_by_slot(w)) {
      // Made when a forged row could hold a witness's slot (issue #15): the
      // table rebuilt with the line in its key, at once or not at all; first,
      // while no statement of this connection reads (DROP TABLE needs that).
      Transaction t(w, Transaction::Kind::kWrite);
      migrate_cosignatures_table(w);
      t.commit();
    }
    ledger->engine_->start_background(w);
    auto& q = w.statement("SELECT value FROM meta WHERE key='origin'");
    if (!q.step()) return failed_precondition("database has no origin (run `sunledger init` first)");
    ledger->origin_ = q.column_text(0);
    q.reset();
    if (!w.table_exists("account_maps"))
      w.exec(kAccountMapsTable);  // made before the chart of accounts: no mapping entry yet
    if (!w.table_exists("cosignatures")) {
      // Made before witnesses were asked (issue #15): the table and its triggers.
      Transaction t(w, Transaction::Kind::kWrite);
      if (!w.table_exists("cosignatures")) {
        w.exec(kCosignaturesTable);
        create_triggers(w, append_only_triggers("cosignatures", "the ledger is append-only"));
      }
      w.exec(kWitnessRefusalsTable);
      t.commit();
    }
    if (!w.table_exists("line_keys")) {
      // Made before duplicate checks (issue #16): the table, its triggers and
      // its rows from the signed entries, at once or not at all.
      Transaction t(w, Transaction::Kind::kWrite);
      if (!w.table_exists("line_keys")) {  // another process may have been first
        w.exec(kLineKeysTable);
        create_triggers(w, append_only_triggers("line_keys", "the ledger is append-only"));
        fill_line_keys(w);
      }
      t.commit();
    }
    fill_trailing_line_keys(w);
    ledger->expect_triggers(own_triggers());
    ledger->expect_indexes(indexes_among(kSchema));
    ledger->expect_tables(tables_among(kSchema));
    auto& tz = w.statement("SELECT value FROM meta WHERE key='utc_offset_minutes'");
    if (tz.step()) {
      // Edited by hand it may be anything: verify names a changed zone, and
      // a value that is no zone at all stops the ledger here.
      std::string text = tz.column_text(0);
      tz.reset();
      int zone = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), zone);
      if (ec != std::errc() || end != text.data() + text.size() || zone < -12 * 60 || zone > 14 * 60)
        return failed_precondition("the database's stored UTC offset \"" + text + "\" is not a time zone (edited by hand?)");
      ledger->options_.utc_offset_minutes = zone;
    }
    w.reset_all();
  } catch (const sql::Error& e) {
    return from_sql(e, "open " + engine_for(options.db_path)->where());
  }
  return ledger;
}

Result<std::string> Ledger::stored_origin(const std::string& db_path) {
  auto engine = engine_for(db_path);
  if (!engine->exists()) return not_found("no database at " + engine->where() + " (run `sunledger init` first)");
  try {
    auto db = engine->open_reader(true);
    auto& q = db->statement("SELECT value FROM meta WHERE key='origin'");
    if (!q.step()) return failed_precondition("database has no origin (run `sunledger init` first)");
    std::string origin = q.column_text(0);
    q.reset();
    return origin;
  } catch (const sql::Error& e) {
    return from_sql(e, "read origin");
  }
}

std::string Ledger::current_month() const {
  CivilDate d = local_date(options_.clock->now_unix_seconds(), options_.utc_offset_minutes);
  return format_month(d.year, d.month);
}

std::string Ledger::verifier_key() const {
  return sunledger::verifier_key(options_.signer->key_name(), options_.signer->public_key());
}

Status Ledger::add_village(const Village& given) {
  Village v = given;
  for (auto [field, zh, en] : {std::tuple{&v.name, "村名", "village name"}, std::tuple{&v.town, "乡镇", "town"}}) {
    auto n = normalize_name(*field, zh, en);
    if (!n.is_ok()) return n.status();
    *field = *n;
  }
  if (auto s = validate_village(v, options_.reserved_log_names); !s.is_ok()) return s;
  return write([&](WriteTxn& txn) -> Status {
    auto& exists = txn.db_->statement("SELECT 1 FROM villages WHERE id=?");
    exists.bind(1, v.id);
    if (exists.step()) return already_exists("村“" + v.id + "”已经存在 (village already exists)");
    auto& log = txn.db_->statement("INSERT INTO logs(name) VALUES(?)");
    log.bind(1, v.id);
    log.exec();
    // The log's id by its name, not the last row id: the same SQL on every engine.
    auto& ins = txn.db_->statement("INSERT INTO villages(id, name, town, log_id) SELECT ?, ?, ?, id FROM logs WHERE name=?");
    ins.bind(1, v.id);
    ins.bind(2, v.name);
    ins.bind(3, v.town);
    ins.bind(4, v.id);
    ins.exec();
    // Sign the empty tree so the village has a checkpoint from its first day.
    auto state = txn.log_for(v.id);
    if (!state.is_ok()) return state.status();
    (*state)->touched = true;
    auto registered = txn.append_to_log(kVillagesLog, village_registration(v, options_.utc_offset_minutes), kRegistrar);
    return registered.is_ok() ? Status::ok() : registered.status();
  });
}

namespace {
Result<AppendResult> with_checkpoint(const Status& s, std::map<std::string, std::string>& notes,
                                     const std::string& log, std::vector<uint64_t> indexes) {
  if (!s.is_ok()) return s;
  return AppendResult{std::move(indexes), notes[log]};
}
}  // namespace

Result<AppendResult> Ledger::post_transactions(const std::string& village, const std::vector<TransactionLine>& lines,
                                               const Author& author) {
  std::vector<uint64_t> indexes;
  std::map<std::string, std::string> notes;
  Status s = write([&](WriteTxn& txn) -> Status {
    auto r = txn.post_transactions(village, lines, author);
    if (!r.is_ok()) return r.status();
    indexes = *r;
    return Status::ok();
  }, &notes);
  return with_checkpoint(s, notes, village, indexes);
}

Result<AppendResult> Ledger::register_project(const std::string& village, const ProjectRegistration& p,
                                              const Author& author) {
  std::vector<uint64_t> indexes;
  std::map<std::string, std::string> notes;
  Status s = write([&](WriteTxn& txn) -> Status {
    auto r = txn.register_project(village, p, author);
    if (!r.is_ok()) return r.status();
    indexes.push_back(*r);
    return Status::ok();
  }, &notes);
  return with_checkpoint(s, notes, village, indexes);
}

Result<AppendResult> Ledger::reverse(const std::string& village, uint64_t target, const std::string& reason,
                                     const Author& author) {
  std::vector<uint64_t> indexes;
  std::map<std::string, std::string> notes;
  Status s = write([&](WriteTxn& txn) -> Status {
    auto r = txn.reverse(village, target, reason, author);
    if (!r.is_ok()) return r.status();
    indexes.push_back(*r);
    return Status::ok();
  }, &notes);
  return with_checkpoint(s, notes, village, indexes);
}

Result<MonthClose> Ledger::close_month(const std::string& village, const std::string& month, const Author& author) {
  Status s = write([&](WriteTxn& txn) -> Status { return txn.close_month(village, month, author).status(); });
  if (!s.is_ok()) return s;
  return month_close(village, month);
}

}  // namespace sunledger
