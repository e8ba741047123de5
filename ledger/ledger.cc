// The ledger: its schema, opening and initialising a database, group commit
// of writes, and the single-operation writes built on it.
#include "ledger/ledger.h"

#include <charconv>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <condition_variable>
#include <system_error>

#include "ledger/checkpoint.h"
#include "ledger/names.h"
#include "ledger/schema.h"
#include "ledger/wal_checkpointer.h"

#include "ledger/ledger_internal.h"
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

namespace {

void configure(SQLite::Database& db) {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec("PRAGMA foreign_keys=ON");
  // Each writer of a group commit runs in a SAVEPOINT, whose journal of the
  // pages it changed spills to a file in /var/tmp past 64 KiB: an open, a
  // write of every page and an unlink per batch, for a journal that only a
  // rollback reads and that never has to survive a crash. Kept in memory.
  db.exec("PRAGMA temp_store=MEMORY");
}

}  // namespace

// ---------------------------------------------------------------------------
// Ledger

Ledger::Ledger(const Options& options)
    : options_(options), witness_keys_(std::make_shared<ledger_internal::WitnessKeys>()) {}
Ledger::~Ledger() = default;

int64_t Ledger::storage_memory_bytes() { return sqlite3_memory_used(); }

void Ledger::set_integrity_failure(const std::string& what) {
  std::lock_guard<std::mutex> lock(integrity_mu_);
  integrity_failure_ = what;
}

std::string Ledger::integrity_failure() const {
  std::lock_guard<std::mutex> lock(integrity_mu_);
  return integrity_failure_;
}

uint64_t Ledger::wal_checkpoints_done() const { return wal_checkpointer_ ? wal_checkpointer_->checkpoints_done() : 0; }

Status Ledger::initialize(const std::string& db_path, const std::string& origin, int utc_offset_minutes) {
  if (utc_offset_minutes < -12 * 60 || utc_offset_minutes > 14 * 60)
    return invalid_argument("UTC offset must be between -720 and 840 minutes");
  if (origin.empty() || origin.find_first_of(" \t\n+") != std::string::npos)
    return invalid_argument("origin must be non-empty, without spaces or '+' (for example lukou.zhuzhou.gov.cn/sunledger)");
  if (auto s = ensure_private_file(db_path); !s.is_ok()) return s;
  try {
    SQLite::Database db(db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
    configure(db);
    SQLite::Transaction t(db, SQLite::TransactionBehavior::IMMEDIATE);
    // Triggers are made with their table only: initialising again must not
    // put back one dropped by hand (verify names it).
    SqliteConnection session(db);
    std::set<std::string> existed;
    for (const char* table : kAppendOnlyTables)
      if (session.table_exists(table)) existed.insert(table);
    for (const char* sql : kSchema) db.exec(sql);
    for (const auto& trigger : own_triggers())
      if (!existed.count(trigger.table)) create_triggers(session, {trigger});
    SQLite::Statement q(db, "SELECT value FROM meta WHERE key='origin'");
    if (q.executeStep()) {
      if (q.getColumn(0).getString() != origin)
        return failed_precondition("database already belongs to origin " + q.getColumn(0).getString());
    } else {
      SQLite::Statement ins(db, "INSERT INTO meta(key, value) VALUES('origin', ?), ('utc_offset_minutes', ?)");
      ins.bind(1, origin);
      ins.bind(2, std::to_string(utc_offset_minutes));
      ins.exec();
    }
    session.reset_all();
    t.commit();
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "initialize " + db_path);
  } catch (const sql::Error& e) {
    return from_sql(e, "initialize " + db_path);
  }
  return Status::ok();
}

Result<std::unique_ptr<Ledger>> Ledger::open(const Options& options) {
  if (options.clock == nullptr || options.signer == nullptr) return invalid_argument("a ledger needs a clock and a signer");
  std::unique_ptr<Ledger> ledger(new Ledger(options));
  try {
    struct stat st{};
    if (::stat(options.db_path.c_str(), &st) != 0)
      return not_found("no database at " + options.db_path + " (run `sunledger init` first)");
    ledger->writer_ = std::make_unique<SqliteDatabase>(options.db_path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
    configure(*ledger->writer_);
    ledger->writer_session_ = std::make_unique<SqliteConnection>(*ledger->writer_);
    if (cosignatures_table_by_slot(*ledger->writer_)) {
      // Made when a forged row could hold a witness's slot (issue #15): the
      // table rebuilt with the line in its key, at once or not at all; first,
      // while no statement of this connection reads (DROP TABLE needs that).
      SQLite::Transaction t(*ledger->writer_, SQLite::TransactionBehavior::IMMEDIATE);
      migrate_cosignatures_table(*ledger->writer_, *ledger->writer_session_);
      t.commit();
    }
    ledger->wal_checkpointer_ = std::make_unique<WalCheckpointer>();
    // Where it cannot start (a read-only file), SQLite's auto-checkpoint stays.
    ledger->wal_checkpointer_->start(ledger->writer_->getHandle(), options.db_path);
    SQLite::Statement q(*ledger->writer_, "SELECT value FROM meta WHERE key='origin'");
    if (!q.executeStep()) return failed_precondition("database has no origin (run `sunledger init` first)");
    ledger->origin_ = q.getColumn(0).getString();
    if (!ledger->writer_->tableExists("account_maps"))
      ledger->writer_->exec(kAccountMapsTable);  // made before the chart of accounts: no mapping entry yet
    if (!ledger->writer_->tableExists("cosignatures")) {
      // Made before witnesses were asked (issue #15): the table and its triggers.
      SQLite::Transaction t(*ledger->writer_, SQLite::TransactionBehavior::IMMEDIATE);
      if (!ledger->writer_->tableExists("cosignatures")) {
        ledger->writer_->exec(kCosignaturesTable);
        create_triggers(*ledger->writer_session_, append_only_triggers("cosignatures", "the ledger is append-only"));
      }
      ledger->writer_->exec(kWitnessRefusalsTable);
      t.commit();
    }
    if (!ledger->writer_->tableExists("line_keys")) {
      // Made before duplicate checks (issue #16): the table, its triggers and
      // its rows from the signed entries, at once or not at all.
      SQLite::Transaction t(*ledger->writer_, SQLite::TransactionBehavior::IMMEDIATE);
      if (!ledger->writer_->tableExists("line_keys")) {  // another process may have been first
        ledger->writer_->exec(kLineKeysTable);
        create_triggers(*ledger->writer_session_, append_only_triggers("line_keys", "the ledger is append-only"));
        fill_line_keys(*ledger->writer_);
      }
      t.commit();
    }
    fill_trailing_line_keys(*ledger->writer_);
    ledger->expect_triggers(own_triggers());
    ledger->expect_indexes(indexes_among(kSchema));
    ledger->expect_tables(tables_among(kSchema));
    SQLite::Statement tz(*ledger->writer_, "SELECT value FROM meta WHERE key='utc_offset_minutes'");
    if (tz.executeStep()) {
      // Edited by hand it may be anything: verify names a changed zone, and
      // a value that is no zone at all stops the ledger here.
      std::string text = tz.getColumn(0).getString();
      int zone = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), zone);
      if (ec != std::errc() || end != text.data() + text.size() || zone < -12 * 60 || zone > 14 * 60)
        return failed_precondition("the database's stored UTC offset \"" + text + "\" is not a time zone (edited by hand?)");
      ledger->options_.utc_offset_minutes = zone;
    }
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "open " + options.db_path);
  }
  return ledger;
}

Result<std::string> Ledger::stored_origin(const std::string& db_path) {
  struct stat st{};
  if (::stat(db_path.c_str(), &st) != 0) return not_found("no database at " + db_path + " (run `sunledger init` first)");
  try {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    SQLite::Statement q(db, "SELECT value FROM meta WHERE key='origin'");
    if (!q.executeStep()) return failed_precondition("database has no origin (run `sunledger init` first)");
    return q.getColumn(0).getString();
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "read origin");
  }
}

std::string Ledger::current_month() const {
  CivilDate d = local_date(options_.clock->now_unix_seconds(), options_.utc_offset_minutes);
  return format_month(d.year, d.month);
}

std::string Ledger::verifier_key() const {
  return sunledger::verifier_key(options_.signer->key_name(), options_.signer->public_key());
}

// Group commit, after LevelDB's DBImpl::Write: writers queue up; the one at
// the front leads, runs every queued writer's function in its own SAVEPOINT
// inside one transaction, signs one checkpoint per touched log and commits
// once. A durable commit costs one fsync (hundreds of microseconds on this
// machine), so concurrent writers share it instead of waiting in line, while
// each writer's changes still stand or fall alone.
struct Ledger::Writer {
  const std::function<Status(WriteTxn&)>* fn = nullptr;
  Status status;
  std::map<std::string, std::string> notes;
  bool done = false;
  std::condition_variable cv;
};

Status Ledger::write(const std::function<Status(WriteTxn&)>& fn, std::map<std::string, std::string>* signed_checkpoints) {
  Writer self;
  self.fn = &fn;
  std::unique_lock<std::mutex> lock(queue_mu_);
  writers_.push_back(&self);
  while (!self.done && &self != writers_.front()) self.cv.wait(lock);
  if (!self.done) {
    constexpr size_t kMaxBatch = 256;
    std::vector<Writer*> batch(writers_.begin(), writers_.begin() + static_cast<long>(std::min(writers_.size(), kMaxBatch)));
    lock.unlock();
    run_batch(batch);
    lock.lock();
    for (Writer* w : batch) {
      writers_.pop_front();
      w->done = true;
      if (w != &self) w->cv.notify_one();
    }
    if (!writers_.empty()) writers_.front()->cv.notify_one();
  }
  if (signed_checkpoints && self.status.is_ok()) *signed_checkpoints = std::move(self.notes);
  return self.status;
}

void Ledger::run_batch(const std::vector<Writer*>& batch) {
  struct ResetOnExit {
    SqliteConnection* cache;
    ~ResetOnExit() { cache->reset_all(); }
  } reset_on_exit{writer_session_.get()};
  std::vector<Writer*> applied;
  try {
    SQLite::Transaction t(*writer_, SQLite::TransactionBehavior::IMMEDIATE);
    WriteTxn txn(this, writer_.get(), options_.clock->now_unix_seconds());
    for (Writer* w : batch) {
      auto snapshot = txn.snapshot();
      writer_->exec("SAVEPOINT writer");
      Status s;
      try {
        s = (*w->fn)(txn);
      } catch (const SQLite::Exception& e) {
        s = from_sqlite(e, "write");
      } catch (const sql::Error& e) {
        s = from_sql(e, "write");
      } catch (const json::exception& e) {
        s = internal_error(std::string("json: ") + e.what());
      } catch (const std::exception& e) {
        // Whatever a writer throws must not escape the leader: the writers
        // queued behind it would wait for ever.
        s = internal_error(std::string("write failed: ") + e.what());
      }
      writer_session_->reset_all();
      if (!s.is_ok()) {
        writer_->exec("ROLLBACK TO writer");
        txn.restore(std::move(snapshot));
      } else {
        applied.push_back(w);
      }
      writer_->exec("RELEASE writer");
      w->status = s;
    }
    if (applied.empty()) return;  // the Transaction destructor rolls back
    Status s = txn.finish();
    if (s.is_ok()) {
      // Moved however the commit ends (a COMMIT that throws may still have
      // written): a cache's needless rebuild is cheap, a stale answer is not.
      struct BumpOnExit {
        std::atomic<uint64_t>* generation;
        ~BumpOnExit() { generation->fetch_add(1, std::memory_order_acq_rel); }
      } bump{&generation_};
      t.commit();  // synchronous=FULL: durable when this returns
      for (Writer* w : applied) w->notes = txn.signed_;
      return;
    }
    for (Writer* w : applied) w->status = s;
  } catch (const SQLite::Exception& e) {
    // The shared transaction failed (BEGIN, SAVEPOINT or COMMIT): nothing of
    // the batch was written, so every writer not already refused hears why.
    for (Writer* w : batch)
      if (w->status.is_ok()) w->status = from_sqlite(e, "write");
  } catch (const std::exception& e) {
    for (Writer* w : batch)
      if (w->status.is_ok()) w->status = internal_error(std::string("write failed: ") + e.what());
  }
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
    SQLite::Statement exists(*txn.db_, "SELECT 1 FROM villages WHERE id=?");
    exists.bind(1, v.id);
    if (exists.executeStep()) return already_exists("村“" + v.id + "”已经存在 (village already exists)");
    SQLite::Statement log(*txn.db_, "INSERT INTO logs(name) VALUES(?)");
    log.bind(1, v.id);
    log.exec();
    SQLite::Statement ins(*txn.db_, "INSERT INTO villages(id, name, town, log_id) VALUES(?,?,?,?)");
    ins.bind(1, v.id);
    ins.bind(2, v.name);
    ins.bind(3, v.town);
    ins.bind(4, txn.db_->getLastInsertRowid());
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
