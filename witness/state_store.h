// The witnessed state of each log and its group commit. Private to witness/.
//
// Each request is checked against an in-memory view of the latest recorded
// checkpoint per origin and, if accepted, changes that view at once (under
// one mutex: the check and the update are atomic, so two requests from the
// same old size cannot both pass). The caller then waits until its change is
// durable (one SQLite transaction, synchronous=FULL, for every change queued
// meanwhile) before it may cosign. A failed commit fails its batch and every
// change queued after it, and drops the view, which is reloaded from the
// database: nothing is cosigned that was not persisted, and what was persisted
// only ever moved forward along verified consistency proofs.
//
// The view is a cache of a database another process may change: `witness
// forget-log` (a CLI process beside a running serve) removes a log's state.
// So each accepted change is written only if the row is still the one the
// view was checked against (a compare-and-swap in the batch's transaction;
// otherwise the batch fails as above and the views are reloaded), and a
// refusal decided on a view with no change in flight is decided again on the
// database's row first. A forget is therefore never overwritten by a change
// checked before it, and is seen by the first request after it.
//
// Ownership: borrows the connection and its mutex (db_mu guards every use of
// the connection, also by the Witness's other members).
// Thread safety: record() from any number of threads at once. One process
// records checkpoints in a folder (Witness::claim's lock); the one other
// writer of a state, `witness forget-log`, only removes it (see above).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "witness/note.h"
#include "witness/witness.h"

namespace sunledger::witness {

class StateStore {
 public:
  StateStore(SQLite::Database& db, std::mutex& db_mu) : db_(db), db_mu_(db_mu) {}

  // Status 200 (empty body) once r is durably the origin's latest checkpoint;
  // otherwise the refusal (409 with the recorded size, 422) or 503.
  Answer record(const AddCheckpointRequest& r, std::string_view body);

 private:
  struct View {
    bool known = false;
    uint64_t size = 0;
    std::string root;
    uint64_t pending = 0;  // accepted changes not yet committed: the view is ahead of the database
  };
  struct Change {
    bool evidence = false;  // a refused, validly signed checkpoint kept for inspectors
    std::string origin;
    bool prev_known = false;  // the row the change was checked against (compare-and-swap)
    uint64_t prev_size = 0;
    std::string prev_root;
    uint64_t size = 0;
    std::string root;
    std::string text;  // the checkpoint note text, or the evidence's request body
    std::string reason;
  };

  View& view(const std::string& origin);  // with mu_ held
  // tlog-witness v1.0.0's checks of r against v: 200, or the refusal; sets
  // *evidence when the refusal proves a fork.
  static Answer check(const View& v, const AddCheckpointRequest& r, std::string* evidence);
  void write(const std::vector<Change>& batch);  // throws on a storage failure
  bool wait_for(uint64_t batch, std::unique_lock<std::mutex>& lock);

  SQLite::Database& db_;
  std::mutex& db_mu_;
  std::mutex mu_;  // taken before db_mu_, never after
  std::condition_variable done_;
  std::map<std::string, View> views_;
  std::vector<Change> queue_;
  uint64_t queued_batch_ = 1;  // the batch queue_ will be committed as
  uint64_t last_done_ = 0;     // batches complete in order
  std::set<uint64_t> failed_;
  bool committing_ = false;
};

}  // namespace sunledger::witness
