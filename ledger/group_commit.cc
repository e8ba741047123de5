// The ledger's group commit (Ledger::write), after LevelDB's DBImpl::Write:
// the writer queue, its leader's batch, and the transaction each segment of
// a batch runs in.
#include <algorithm>
#include <condition_variable>

#include "ledger/ledger.h"
#include "ledger/ledger_internal.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

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
  // PostgreSQL chose this writer's statement as a deadlock's victim (or
  // could not serialise it): nodes sharing a database take log locks in
  // the orders their batches hold (node A's batch holds village X's log and
  // waits for Y's, B's holds Y's and waits for the dedupe log A holds). Its
  // savepoint is rolled back, which lets the other node go on; it runs again.
  bool lock_victim = false;
  std::condition_variable cv;
};

namespace {

// By the status, not the exception: most writers catch storage errors and
// return them (from_sql keeps PostgreSQL's SQLSTATE in the message).
bool is_lock_victim(const Status& s) {
  const std::string& m = s.message();
  return s.code() == Code::kUnavailable &&
         (m.find("PostgreSQL 40P01") != std::string::npos || m.find("PostgreSQL 40001") != std::string::npos);
}

}  // namespace

Status Ledger::write(const std::function<Status(WriteTxn&)>& fn, std::map<std::string, std::string>* signed_checkpoints) {
  // A deadlock's victim is tried again a few times, then the error stands.
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    Writer self;
    self.fn = &fn;
    std::unique_lock<std::mutex> lock(queue_mu_);
    writers_.push_back(&self);
    while (!self.done && &self != writers_.front()) self.cv.wait(lock);
    if (!self.done) {
      std::vector<Writer*> batch(writers_.begin(), writers_.begin() + static_cast<long>(std::min(writers_.size(), kMaxBatch)));
      lock.unlock();
      run_batch(batch);
      lock.lock();
      for (Writer* w : batch) {
        writers_.pop_front();
        w->done = true;
      }
      // The next leader first: its batch waits on nothing else, while the
      // writers just done only go back to their callers (a wake-up costs
      // tens of microseconds on a virtual CPU, and a batch wakes many).
      if (!writers_.empty()) writers_.front()->cv.notify_one();
      for (Writer* w : batch)
        if (w != &self) w->cv.notify_one();
    }
    if (!self.lock_victim || attempt == kAttempts) {
      if (signed_checkpoints && self.status.is_ok()) *signed_checkpoints = std::move(self.notes);
      return self.status;
    }
  }
}

namespace {

// A writer that met a lock another writer holds while its transaction held
// another (sql::Session::lock_until_commit): it runs again, holding none.
bool must_run_holding_none(const Status& s) {
  return s.code() == Code::kUnavailable && s.message().find(kLockOrderRefusal) != std::string::npos;
}

}  // namespace

bool Ledger::take_arrivals(std::vector<Writer*>& batch) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  // The queue's front is the batch (only the leader pops), so whoever
  // queued after it is next.
  size_t n = std::min(writers_.size(), kMaxBatch);
  if (n <= batch.size()) return false;
  batch.insert(batch.end(), writers_.begin() + static_cast<long>(batch.size()), writers_.begin() + static_cast<long>(n));
  return true;
}

void Ledger::run_batch(std::vector<Writer*>& batch) {
  // On PostgreSQL, nodes sharing the database take the logs' locks in the
  // orders their batches happen to hold, and a transaction that waited for a
  // lock while holding another could close a cycle, which PostgreSQL breaks
  // only after its deadlock_timeout (a second of both nodes' writers
  // stalled). A writer waits only for a lock that comes after all the batch
  // holds, in the order every node shares (sql::Session::lock_until_commit).
  // So a writer that finds its lock taken while the batch holds later ones
  // stops the batch there: what ran before it commits, and it runs
  // first in a new transaction, where it waits holding nothing. A writer
  // refused so while it ran first (its own locks out of order) runs again
  // after taking, in order, every lock it held or asked for (relock).
  // Refused again while relocked, it asked for a lock it had not asked for
  // before: it runs again with that one too. A writer that asks for another
  // new lock every time is queued again, as a deadlock's victim is.
  constexpr int kMaxRelocks = 8;
  size_t next = 0;
  bool relock = false;
  int relocks = 0;
  while (next < batch.size()) {
    size_t stopped = run_segment(batch, next, relock);
    if (stopped != next) {
      next = stopped;
      relock = false;
      relocks = 0;
    } else if (++relocks > kMaxRelocks) {
      batch[next]->status = unavailable(std::string(kLockOrderRefusal) + " refused its locks " +
                                        std::to_string(kMaxRelocks) + " times over");
      batch[next]->lock_victim = true;
      ++next;
      relock = false;
      relocks = 0;
    } else {
      relock = true;
    }
  }
}

size_t Ledger::run_segment(std::vector<Writer*>& batch, size_t first, bool relock) {
  struct ResetOnExit {
    Connection* cache;
    ~ResetOnExit() { cache->reset_all(); }
  } reset_on_exit{writer_.get()};
  std::vector<Writer*> applied;
  size_t end = batch.size();  // the first writer not run
  try {
    Transaction t(*writer_, Transaction::Kind::kWrite);
    WriteTxn txn(this, writer_.get(), options_.clock->now_unix_seconds());
    // Writers that queued while this transaction ran join it before its
    // commit: they would otherwise wait for this commit and then for their
    // own. With many clients that doubles the batch a commit's fsync serves.
    // Not for ever: the batch holds its logs' locks (another node's writers
    // wait for them), so it takes arrivals a few times only; and only within
    // the second the transaction began, whose time (txn.now(), what its
    // entries record and its deadlines are checked against) must not be
    // earlier than a joiner's arrival, at the clock's resolution.
    constexpr int kJoinRounds = 4;
    int joined = 0;
    auto more = [&](size_t i) {
      if (i < batch.size()) return true;
      if (joined == kJoinRounds || options_.clock->now_unix_seconds() != txn.now() || !take_arrivals(batch)) return false;
      ++joined;
      end = batch.size();
      return true;
    };
    for (size_t i = first; more(i); ++i) {
      Writer* w = batch[i];
      auto snapshot = txn.snapshot();
      writer_->savepoint("writer");
      // Inside its savepoint: refused again, it asks for these and the new
      // one (they are its own), and a wait that fails is its own error.
      if (relock && i == first) writer_->take_refused_writers_locks();
      Status s;
      try {
        s = (*w->fn)(txn);
      } catch (const sql::Error& e) {
        s = from_sql(e, "write");
      } catch (const json::exception& e) {
        s = internal_error(std::string("json: ") + e.what());
      } catch (const std::exception& e) {
        // Whatever a writer throws must not escape the leader: the writers
        // queued behind it would wait for ever.
        s = internal_error(std::string("write failed: ") + e.what());
      }
      writer_->reset_all();
      w->lock_victim = is_lock_victim(s);
      if (!s.is_ok()) {
        writer_->rollback_to("writer");
        txn.restore(std::move(snapshot));
      } else {
        applied.push_back(w);
      }
      // On PostgreSQL the release goes with the next writer's first read or
      // the commit, and with it this writer's held-back writes (exec_later):
      // should one of them fail there, the whole transaction fails, and
      // every writer of it hears why (the catch below).
      writer_->release("writer");
      if (must_run_holding_none(s)) {
        end = i;  // it and those after it run in the next transaction
        break;
      }
      w->status = s;
      relock = false;  // only the first writer was refused before
    }
    if (applied.empty()) return end;  // the Transaction destructor rolls back
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
      txn.committed();
      return end;
    }
    for (Writer* w : applied) w->status = s;
  } catch (const sql::Error& e) {
    // The shared transaction failed (BEGIN, SAVEPOINT or COMMIT, or a
    // held-back write found failing only after its writer's release):
    // nothing of it was written, so every writer of it not already refused
    // hears why, and runs again if that was a deadlock's victim.
    Status failed = from_sql(e, "write");
    for (size_t i = first; i < std::min(end, batch.size()); ++i)
      if (batch[i]->status.is_ok()) {
        batch[i]->status = failed;
        batch[i]->lock_victim = is_lock_victim(failed);
      }
  } catch (const std::exception& e) {
    for (size_t i = first; i < std::min(end, batch.size()); ++i)
      if (batch[i]->status.is_ok()) batch[i]->status = internal_error(std::string("write failed: ") + e.what());
  }
  return end;
}

}  // namespace sunledger
