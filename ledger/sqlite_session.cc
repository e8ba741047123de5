// The ledger's Connection on SQLite: SQLiteCpp's statements behind
// sql::Statement, its exceptions turned into sql::Error, and the transactions.
#include "ledger/sqlite_session.h"

#include <sqlite3.h>

namespace sunledger::ledger_internal {

sql::Error::Kind error_kind(int sqlite_code) {
  switch (sqlite_code) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      return sql::Error::Kind::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return sql::Error::Kind::kCorrupt;
    default:
      return sql::Error::Kind::kOther;
  }
}

namespace {

std::string bytes_of(const SQLite::Column& c) {
  if (c.isNull() || c.getBytes() <= 0) return {};
  return std::string(static_cast<const char*>(c.getBlob()), static_cast<size_t>(c.getBytes()));
}

}  // namespace

SqliteStatement::SqliteStatement(SQLite::Database& db, const std::string& sql) : q_(db, sql) {}

void SqliteStatement::bind(int index, int64_t value) {
  guarded([&] { q_.bind(index, value); });
}
void SqliteStatement::bind(int index, std::string_view text) {
  guarded([&] { q_.bind(index, std::string(text)); });
}
void SqliteStatement::bind_blob(int index, std::string_view bytes) {
  guarded([&] { q_.bind(index, bytes.data(), static_cast<int>(bytes.size())); });
}
void SqliteStatement::bind_null(int index) {
  guarded([&] { q_.bind(index); });
}
bool SqliteStatement::step() {
  return guarded([&] { return q_.executeStep(); });
}
int64_t SqliteStatement::exec() {
  return guarded([&] { return static_cast<int64_t>(q_.exec()); });
}
int64_t SqliteStatement::column_int64(int column) {
  return guarded([&] { return q_.getColumn(column).getInt64(); });
}
std::string SqliteStatement::column_text(int column) {
  return guarded([&] { return q_.getColumn(column).getString(); });
}
std::string SqliteStatement::column_blob(int column) {
  return guarded([&] { return bytes_of(q_.getColumn(column)); });
}
bool SqliteStatement::column_is_null(int column) {
  return guarded([&] { return q_.getColumn(column).isNull(); });
}
std::string_view SqliteStatement::column_text_view(int column) {
  return guarded([&] {
    auto c = q_.getColumn(column);
    const char* text = c.getText();  // converts first, so the size below is the text's
    return std::string_view(text, static_cast<size_t>(c.getBytes()));
  });
}
std::string_view SqliteStatement::column_blob_view(int column) {
  return guarded([&] {
    auto c = q_.getColumn(column);
    const void* bytes = c.getBlob();
    if (bytes == nullptr) return std::string_view();
    return std::string_view(static_cast<const char*>(bytes), static_cast<size_t>(c.getBytes()));
  });
}
// sqlite3_reset returns the error of the statement's last step, which that
// step already threw; SQLiteCpp's reset() would throw it a second time (and
// every later statement() of the same SQL with it), so reset() does not.
void SqliteStatement::reset() { q_.tryReset(); }

sql::Statement& SqliteConnection::statement(const char* sql) {
  return guarded([&]() -> SqliteStatement& { return cached(sql); });
}

void SqliteConnection::exec(const std::string& sql) {
  // A DROP TABLE fails ("database table is locked") while any statement of
  // the connection is part-way through its rows, and a cached one read for a
  // single row stays so until reset: none is in use while a schema changes.
  reset_all();
  run(sql);
}

int64_t SqliteConnection::last_insert_id() { return db_->getLastInsertRowid(); }

void SqliteConnection::run(const std::string& sql) {
  guarded([&] { db_->exec(sql); });
}

// A cached SELECT left part-way through its rows holds a read snapshot of
// its own: a transaction starts with none, as when every statement was
// prepared afresh and finalized at the end of its scope.
void SqliteConnection::begin_write() {
  reset_all();
  run("BEGIN IMMEDIATE");
}
void SqliteConnection::begin_read() {
  reset_all();
  run("BEGIN");
}
void SqliteConnection::commit() { run("COMMIT"); }

void SqliteConnection::rollback() noexcept {
  // As SQLite::Transaction's destructor: a ROLLBACK that fails (no
  // transaction left after an I/O error) leaves nothing to undo.
  try {
    db_->exec("ROLLBACK");
  } catch (...) {
  }
}

bool SqliteConnection::in_transaction() { return sqlite3_get_autocommit(db_->getHandle()) == 0; }

void SqliteConnection::savepoint(const char* name) { run(std::string("SAVEPOINT ") + name); }
void SqliteConnection::rollback_to(const char* name) { run(std::string("ROLLBACK TO ") + name); }
void SqliteConnection::release(const char* name) { run(std::string("RELEASE ") + name); }

bool SqliteConnection::table_exists(const std::string& table) {
  auto& q = statement("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?");
  q.bind(1, table);
  bool found = q.step();
  q.reset();
  return found;
}

std::vector<std::string> SqliteConnection::columns(const std::string& table) {
  auto& q = statement("SELECT name FROM pragma_table_info(?) ORDER BY cid");
  q.bind(1, table);
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.column_text(0));
  return out;
}

SqliteStatement& SqliteConnection::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<SqliteStatement>(*db_, sql)).first;
  it->second->raw().tryReset();  // a last run's failure was thrown by that run
  it->second->raw().clearBindings();
  return *it->second;
}

void SqliteConnection::reset_all() {
  // Only a statement stopped at a row holds a snapshot: one never stepped,
  // run to its end or failed holds none, and cached() resets every
  // statement it hands out anyway. (Every batch resets them all at its start,
  // after each writer and at its end: a reset of each idle one was 2% of an
  // append's instructions.)
  for (auto& [sql, stmt] : cache_)
    if (stmt->raw().hasRow()) stmt->raw().tryReset();
}

}  // namespace sunledger::ledger_internal
