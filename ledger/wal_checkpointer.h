// Moves SQLite's WAL checkpoints off the commit path. With the default
// auto-checkpoint, the writer whose commit crosses 1,000 WAL pages copies
// them into the database file and fsyncs it before its COMMIT returns; under
// group commit every queued writer waits for that (measured: 100-500 ms
// stalls of every official's post under the mixed load). Here the writer
// connection only counts its WAL pages, and a thread with its own
// connection runs a PASSIVE checkpoint, which blocks nobody, then a short
// RESTART that copies what was written meanwhile so the WAL starts over.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sunledger {

class WalCheckpointer {
 public:
  // Checkpoints once the WAL holds this many pages (SQLite's own default).
  static constexpr int kPagesBeforeCheckpoint = 1000;
  // How long a RESTART checkpoint may hold writers back waiting for readers.
  static constexpr int kRestartWaitMs = 10;

  WalCheckpointer() = default;
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Turns off the auto-checkpoint of `writer` (an open WAL-mode connection
  // with a busy timeout: a RESTART holds writers back for a few milliseconds),
  // hooks its commits, and starts the checkpoint thread on a connection of
  // its own to db_path. Returns false (and changes nothing) if SQLite refuses.
  bool start(sqlite3* writer, const std::string& db_path);
  // Stops the thread; the writer goes back to SQLite's auto-checkpoint.
  void stop();

  // Checkpoint rounds so far that found pages to copy.
  uint64_t checkpoints_done() const { return done_.load(); }

 private:
  static constexpr int kBusyTimeoutMs = 1000;
  static int on_commit(void* self, sqlite3* db, const char* name, int wal_pages);
  void run();

  sqlite3* writer_ = nullptr;
  sqlite3* own_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool due_ = false;
  std::atomic<uint64_t> done_{0};
};

}  // namespace sunledger
