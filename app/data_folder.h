// The data folder holds the log key, the identity salt, the bots' webhook
// secrets and every record; `serve` refuses to run while other users of the
// machine could read any of them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ledger/database_address.h"
#include "ledger/status.h"

namespace sunledger::cli {

// A path as one shell word (quoted only when it has to be), so a suggested
// command can be pasted as it is.
std::string shell_word(const std::string& path);
// "--data /absolute/folder", as a shell word: what a printed command needs to
// work from any directory.
std::string data_option(const std::string& dir);

// OK when the folder has no group or other permission bits and none of its
// files (sunledger.db, -wal, -shm, id-salt, log-key.pem, bots.json, database:
// the record of a PostgreSQL address, which serve would follow) nor the
// --config file (config_path, empty for none) may be read or written by group
// or others. Otherwise failed_precondition naming the first such file and the
// chmod that fixes it. Files that do not exist are not an error.
Status check_data_folder_private(const std::string& dir, const std::string& config_path);
// Every such problem, in the same order (empty when there is none), so one
// run names them all (`serve --check`).
std::vector<Status> data_folder_problems(const std::string& dir, const std::string& config_path);

}  // namespace sunledger::cli

namespace sunledger::cli {

// One `serve` per data folder: an exclusive lock on DIR/serve.lock (flock),
// held while the returned object lives. Two servers on one folder would each
// run a sender delivering the same outbox, and each think it alone signs.
// CLI commands do not take it: they keep working beside a running server.
// On PostgreSQL (db, the address; "" for SQLite) it also holds the
// database's serve lock (ledger/database_address.h), since another folder
// holding the same key may name the same database.
// Owns the lock file's descriptor (closed, and the lock released, with it).
class ServeLock {
 public:
  // failed_precondition naming the other server's pid when it holds the lock.
  // shared: the database's lock is held shared (serve --shared-database).
  static Result<std::unique_ptr<ServeLock>> acquire(const std::string& dir, const std::string& db = "",
                                                    bool shared = false);
  ~ServeLock();
  ServeLock(const ServeLock&) = delete;
  ServeLock& operator=(const ServeLock&) = delete;

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  int fd_;
  std::unique_ptr<DatabaseLock> database_;
};

// The folder's database in use: every command that opens it holds a shared
// lock on DIR/in-use.lock (flock) while it runs, and `migrate` holds it
// alone. So no CLI write lands in sunledger.db while migrate copies it (a
// write there would stay behind in the frozen file), and a command started
// during a migration waits for it, then opens the database the folder records
// by then (PostgreSQL). Owns the lock file's descriptor (closed, and the lock
// released, with it).
class FolderUse {
 public:
  // The shared hold; waits while a migrate holds the folder, saying so once on
  // stderr. A folder that does not exist yet (init, demo) needs none: nullptr.
  static Result<std::unique_ptr<FolderUse>> share(const std::string& dir);
  // init's: the folder made first (0700, parents as needed), so that it
  // holds it from the start too (a migrate started meanwhile would otherwise
  // find no folder to wait for). A folder that cannot be made is init's to
  // report: then no hold, as share(). (demo keeps share(): a demo that cannot
  // serve makes no folder.)
  static Result<std::unique_ptr<FolderUse>> make_and_share(const std::string& dir);
  // migrate's hold, without waiting: failed_precondition while any other
  // command (a serve, a CLI command, a script's) has the folder's database open.
  static Result<std::unique_ptr<FolderUse>> take_alone(const std::string& dir);
  ~FolderUse();
  FolderUse(const FolderUse&) = delete;
  FolderUse& operator=(const FolderUse&) = delete;

 private:
  explicit FolderUse(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace sunledger::cli
