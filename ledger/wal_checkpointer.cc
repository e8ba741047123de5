#include "ledger/wal_checkpointer.h"

#include <signal.h>

#include <chrono>

namespace sunledger {

WalCheckpointer::~WalCheckpointer() { stop(); }

bool WalCheckpointer::start(sqlite3* writer, const std::string& db_path) {
  if (writer_ != nullptr) return true;
  sqlite3* own = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(own);
    return false;
  }
  sqlite3_busy_timeout(own, kBusyTimeoutMs);
  // The checkpoint fsyncs the database file before it lets the WAL restart,
  // as synchronous=FULL asks.
  sqlite3_exec(own, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  writer_ = writer;
  own_ = own;
  stop_ = false;
  // Setting a WAL hook replaces (and so turns off) SQLite's auto-checkpoint.
  sqlite3_wal_hook(writer_, &WalCheckpointer::on_commit, this);
  thread_ = std::thread([this] { run(); });
  return true;
}

void WalCheckpointer::stop() {
  if (writer_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  sqlite3_wal_autocheckpoint(writer_, kPagesBeforeCheckpoint);  // back to SQLite's own
  sqlite3_close(own_);
  own_ = nullptr;
  writer_ = nullptr;
}

int WalCheckpointer::on_commit(void* self, sqlite3*, const char*, int wal_pages) {
  auto* me = static_cast<WalCheckpointer*>(self);
  if (wal_pages >= kPagesBeforeCheckpoint) {
    {
      std::lock_guard<std::mutex> lock(me->mu_);
      me->due_ = true;
    }
    me->cv_.notify_one();
  }
  return SQLITE_OK;  // the commit is durable already; a checkpoint never fails it
}

void WalCheckpointer::run() {
  // Signals are the program's business (serve waits for SIGTERM on its main
  // thread); a library thread must not be the one the kernel picks for them.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  int last_wal_pages = -1, last_copied = -1;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Also once a second, so a WAL written by other processes is folded in.
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_ || due_; });
    if (stop_) break;
    due_ = false;
    lock.unlock();
    int wal_pages = 0, copied = 0;
    // PASSIVE copies what no reader still needs and never waits for anyone.
    // SQLITE_BUSY (another checkpoint running) and I/O errors (a full disk)
    // are left for the next round.
    if (sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied) == SQLITE_OK && copied > 0 &&
        (wal_pages != last_wal_pages || copied != last_copied))  // an idle, copied WAL reports the same each second
      done_.fetch_add(1);
    last_wal_pages = wal_pages;
    last_copied = copied;
    if (wal_pages >= kPagesBeforeCheckpoint) {
      // Writers kept appending during the copy, so the WAL is never wholly
      // copied and SQLite never starts it over: it grows, and every commit
      // then extends the file, which costs this disk a second journal write
      // per fsync (measured: durable appends at half speed). RESTART copies
      // the few frames left and lets the next writer start the WAL over; it
      // holds writers back meanwhile, so it waits for old readers at most
      // kRestartWaitMs and otherwise tries again next round.
      sqlite3_busy_timeout(own_, kRestartWaitMs);
      sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
      sqlite3_busy_timeout(own_, kBusyTimeoutMs);
    }
    lock.lock();
  }
}

}  // namespace sunledger
