// The SQLite engine (sql_engine.h): the database file and its mode, the
// PRAGMAs every connection runs with, the WAL checkpointer, the change probe
// (PRAGMA data_version), online backups and the schema as sqlite_master
// keeps it.
#include "ledger/sql_engine.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "ledger/ledger_internal.h"
#include "ledger/schema.h"
#include "ledger/sqlite_session.h"
#include "ledger/wal_checkpointer.h"

namespace sunledger::ledger_internal {

namespace {

constexpr int kBusyTimeoutMs = 10'000;

// SQLite gives the -wal and -shm files the main file's mode, so creating the
// database 0600 keeps all three private.
Status ensure_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot create database file " + path);
  ::close(fd);
  return Status::ok();
}

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

class SqliteEngine final : public Engine {
 public:
  explicit SqliteEngine(std::string path) : path_(std::move(path)) {}

  bool exists() override {
    struct stat st{};
    return ::stat(path_.c_str(), &st) == 0;
  }

  Result<std::unique_ptr<Connection>> create() override {
    if (auto s = ensure_private_file(path_); !s.is_ok()) return s;
    return guarded([&]() -> std::unique_ptr<Connection> {
      auto db = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
      configure(*db);
      return std::make_unique<SqliteConnection>(std::move(db));
    });
  }

  std::unique_ptr<Connection> open_writer() override {
    return guarded([&]() -> std::unique_ptr<Connection> {
      auto db = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
      configure(*db);
      return std::make_unique<SqliteConnection>(std::move(db));
    });
  }

  std::unique_ptr<Connection> open_reader(bool one_thread) override {
    return guarded([&]() -> std::unique_ptr<Connection> {
      int flags = SQLite::OPEN_READONLY | (one_thread ? SQLite::OPEN_NOMUTEX : 0);
      return std::make_unique<SqliteConnection>(std::make_unique<SQLite::Database>(path_, flags, kBusyTimeoutMs));
    });
  }

  void start_background(Connection& writer) override {
    wal_checkpointer_ = std::make_unique<WalCheckpointer>();
    // Where it cannot start (a read-only file), SQLite's auto-checkpoint stays.
    wal_checkpointer_->start(static_cast<SqliteConnection&>(writer).database().getHandle(), path_);
  }

  uint64_t background_checkpoints() const override {
    return wal_checkpointer_ ? wal_checkpointer_->checkpoints_done() : 0;
  }

  int64_t change_probe() noexcept override {
    try {
      if (!probe_db_) probe_db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READONLY, kBusyTimeoutMs);
      SQLite::Statement q(*probe_db_, "PRAGMA data_version");
      if (q.executeStep()) return q.getColumn(0).getInt64();
    } catch (const std::exception&) {
      probe_db_.reset();  // opened afresh next time; meanwhile every cache goes to storage
    }
    return -1;
  }

  Status backup_to(const std::string& dest_path) override {
    if (auto s = ensure_private_file(dest_path); !s.is_ok()) return s;
    try {
      SQLite::Database src(path_, SQLite::OPEN_READONLY, kBusyTimeoutMs);
      SQLite::Database dest(dest_path, SQLite::OPEN_READWRITE, kBusyTimeoutMs);
      SQLite::Backup copy(dest, src);
      // Page by page, so writers are blocked for one step at a time; SQLite
      // restarts the copy if a writer changes a page already copied.
      for (;;) {
        int rc = copy.executeStep(256);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return unavailable("backup step failed");
        if (rc != SQLITE_OK) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      dest.exec("PRAGMA journal_mode=WAL");
    } catch (const SQLite::Exception& e) {
      return from_sql(sql::Error(error_kind(e.getErrorCode()), e.what()), "backup to " + dest_path);
    }
    return Status::ok();
  }

  // Every row, whatever its type column says: SQLite builds each object from
  // its SQL text and ignores that column, so a trigger whose row an insider
  // marked 'Trigger' (PRAGMA writable_schema) still runs while a check that
  // selects type='trigger' never sees it.
  std::vector<SchemaObject> schema_objects(Connection& c) override {
    std::vector<SchemaObject> rows;
    auto& q = c.statement("SELECT coalesce(type, ''), coalesce(name, ''), coalesce(tbl_name, ''), coalesce(sql, '') "
                          "FROM sqlite_master ORDER BY name");
    while (q.step()) rows.push_back({q.column_text(0), q.column_text(1), q.column_text(2), q.column_text(3)});
    q.reset();
    return rows;
  }

 private:
  const std::string path_;
  std::unique_ptr<SQLite::Database> probe_db_;  // change_probe's own connection
  // Declared last, so destroyed first: its thread stops before the rest goes.
  std::unique_ptr<WalCheckpointer> wal_checkpointer_;
};

}  // namespace

std::unique_ptr<Engine> engine_for(const std::string& db_path) { return std::make_unique<SqliteEngine>(db_path); }

int64_t storage_memory_in_use() { return sqlite3_memory_used(); }

}  // namespace sunledger::ledger_internal

namespace sunledger {

std::string table_sql_after(const std::string& create_sql, std::span<const char* const> alters) {
  return ledger_internal::guarded([&] {
    SQLite::Database scratch(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    scratch.exec(create_sql);
    for (const char* alter : alters) scratch.exec(alter);
    const std::string name = schema_table(create_sql).name;
    SQLite::Statement q(scratch, "SELECT sql FROM sqlite_master WHERE type='table' AND name=?");
    q.bind(1, name);
    if (!q.executeStep()) throw SQLite::Exception("table_sql_after: no table " + name);
    return normalized_schema_sql(q.getColumn(0).getString());
  });
}

}  // namespace sunledger
