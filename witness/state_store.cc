#include "witness/state_store.h"

#include <ctime>
#include <stdexcept>

#include "ledger/merkle.h"

namespace sunledger::witness {
namespace {

Answer text(int status, std::string body) {
  Answer a;
  a.status = status;
  a.body = std::move(body) + "\n";
  return a;
}

Answer size_conflict(uint64_t size) {
  Answer a;
  a.status = 409;
  a.content_type = "text/x.tlog.size";
  a.body = std::to_string(size) + "\n";
  return a;
}

}  // namespace

StateStore::View& StateStore::view(const std::string& origin) {
  auto it = views_.find(origin);
  if (it != views_.end()) return it->second;
  View v;
  {
    std::lock_guard<std::mutex> db_lock(db_mu_);
    SQLite::Statement q(db_, "SELECT size, root FROM log_state WHERE origin = ?");
    q.bind(1, origin);
    if (q.executeStep()) {
      v.known = true;
      v.size = static_cast<uint64_t>(q.getColumn(0).getInt64());
      v.root = q.getColumn(1).getString();
    }
  }
  return views_.emplace(origin, std::move(v)).first->second;
}

Answer StateStore::check(const View& v, const AddCheckpointRequest& r, std::string* evidence) {
  // tlog-witness v1.0.0's checks on the recorded state, in its order.
  const std::string_view root = as_view(r.root);
  if (r.old_size != v.size) return size_conflict(v.size);
  if (r.old_size == r.size) {
    if (!r.proof.empty()) return text(422, "consistency proof must be empty when the old size equals the checkpoint size");
    if (v.known && v.root != root) {
      *evidence = "same size, different root";
      return size_conflict(v.size);
    }
  } else if (r.old_size == 0) {
    if (!r.proof.empty()) return text(422, "consistency proof must be empty from size 0");
  } else if (!verify_consistency(r.old_size, r.size, v.root, root, r.proof)) {
    *evidence = "consistency proof fails";
    return text(422, "consistency proof does not verify from size " + std::to_string(r.old_size));
  }
  return Answer{};
}

Answer StateStore::record(const AddCheckpointRequest& r, std::string_view body) {
  std::unique_lock<std::mutex> lock(mu_);
  View* v;
  bool cached = views_.count(r.origin) != 0;
  try {
    v = &view(r.origin);
  } catch (const std::exception& e) {
    return text(503, std::string("witness storage unavailable: ") + e.what());
  }
  std::string evidence;
  Answer refusal = check(*v, r, &evidence);
  if (refusal.status != 200 && cached && v->pending == 0) {
    // Nothing in flight: the view should equal the row. It may not, when
    // `witness forget-log` removed it; a refusal is sent (and the county's
    // server alarms on it) only as the database's own answer.
    views_.erase(r.origin);
    try {
      v = &view(r.origin);
    } catch (const std::exception& e) {
      return text(503, std::string("witness storage unavailable: ") + e.what());
    }
    evidence.clear();
    refusal = check(*v, r, &evidence);
  }
  if (refusal.status != 200 && evidence.empty()) return refusal;

  Change c;
  c.origin = r.origin;
  if (refusal.status != 200) {
    c.evidence = true;
    c.text = std::string(body);
    c.reason = evidence;
  } else {
    c.prev_known = v->known;
    c.prev_size = v->size;
    c.prev_root = v->root;
    // The view moves now: a request after this one is checked against it.
    v->known = true;
    v->size = r.size;
    v->root = std::string(as_view(r.root));
    ++v->pending;
    c.size = r.size;
    c.root = v->root;
    // The signed checkpoint as received (after the request's empty line;
    // proof lines are base64, never empty): kept, it shows the log's key
    // signed this tree, should the witness's operator later forget it.
    size_t note_at = body.find("\n\n");
    c.text = note_at == std::string_view::npos ? r.note_text : std::string(body.substr(note_at + 2));
  }
  queue_.push_back(std::move(c));
  bool durable = wait_for(queued_batch_, lock);
  if (refusal.status != 200) return refusal;  // evidence kept or not, the answer is the refusal
  return durable ? text(200, "")
                 : text(503, "witness storage unavailable: the checkpoint was not recorded (a storage failure, or the "
                             "log's state was changed meanwhile by witness forget-log); try again");
}

// Waits until `batch` is committed, committing it (and whatever queued with
// it) if no other thread is. True when it is durable.
bool StateStore::wait_for(uint64_t batch, std::unique_lock<std::mutex>& lock) {
  while (last_done_ < batch) {
    if (committing_) {
      done_.wait(lock);
      continue;
    }
    committing_ = true;
    std::vector<Change> taken;
    taken.swap(queue_);
    uint64_t id = queued_batch_++;
    lock.unlock();
    bool ok = true;
    try {
      write(taken);
    } catch (const std::exception&) {
      ok = false;
    }
    lock.lock();
    committing_ = false;
    last_done_ = id;
    if (ok) {
      for (const auto& c : taken) {
        if (c.evidence) continue;
        auto it = views_.find(c.origin);
        if (it != views_.end() && it->second.pending > 0) --it->second.pending;
      }
    } else {
      // Changes queued meanwhile were checked against views that assumed
      // this batch: fail them too, and reload every view from the database.
      failed_.insert(id);
      if (!queue_.empty()) {
        failed_.insert(queued_batch_);
        queue_.clear();
        last_done_ = queued_batch_++;
      }
      views_.clear();
    }
    done_.notify_all();
  }
  bool ok = failed_.count(batch) == 0;
  // Failures are rare, and a waiter of a failed batch looks long before
  // 65,536 more batches complete; keep the set small.
  while (!failed_.empty() && *failed_.begin() + 65536 < last_done_) failed_.erase(failed_.begin());
  return ok;
}

void StateStore::write(const std::vector<Change>& batch) {
  std::lock_guard<std::mutex> db_lock(db_mu_);
  SQLite::Transaction t(db_);
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  // Each change applies to the row it was checked against, or the batch
  // fails: another process (witness forget-log) may have removed it.
  SQLite::Statement update(db_, "UPDATE log_state SET size = ?, root = ?, checkpoint = ?, updated_at = ? "
                                "WHERE origin = ? AND size = ? AND root = ?");
  SQLite::Statement insert(db_, "INSERT INTO log_state(origin, size, root, checkpoint, updated_at) VALUES(?, ?, ?, ?, ?)");
  for (const auto& c : batch) {
    if (c.evidence) {
      // The first few refusals of an origin prove its fork; the key holder
      // sending more must not fill the witness's disk (every other log
      // would then be answered 503).
      SQLite::Statement q(db_, "INSERT INTO evidence(origin, reason, request, received_at) SELECT ?1, ?2, ?3, ?4 "
                               "WHERE (SELECT count(*) FROM evidence WHERE origin = ?1) < 16");
      q.bind(1, c.origin);
      q.bind(2, c.reason);
      q.bind(3, c.text);
      q.bind(4, now);
      q.exec();
      continue;
    }
    if (c.prev_known) {
      update.reset();
      update.bind(1, static_cast<int64_t>(c.size));
      update.bind(2, c.root.data(), static_cast<int>(c.root.size()));
      update.bind(3, c.text);
      update.bind(4, now);
      update.bind(5, c.origin);
      update.bind(6, static_cast<int64_t>(c.prev_size));
      update.bind(7, c.prev_root.data(), static_cast<int>(c.prev_root.size()));
      if (update.exec() != 1) throw std::runtime_error("the state of " + c.origin + " changed under the witness");
    } else {
      insert.reset();
      insert.bind(1, c.origin);
      insert.bind(2, static_cast<int64_t>(c.size));
      insert.bind(3, c.root.data(), static_cast<int>(c.root.size()));
      insert.bind(4, c.text);
      insert.bind(5, now);
      insert.exec();  // a row there already (the origin's primary key) throws
    }
  }
  t.commit();  // synchronous=FULL: durable when this returns
}

}  // namespace sunledger::witness
