// The PostgreSQL connection's pipeline (pg_connection.h, "Pipelining"):
// statements sent without waiting for their answers, and the sync that reads
// them, attributing a failure to the writer it belongs to.
#include <libpq-fe.h>

#include <algorithm>

#include "ledger/pg_connection.h"
#include "ledger/pg_text.h"

namespace sunledger::ledger_internal {

using pg_text::one_line;
using pg_text::sql_excerpt;
using pg_text::starts_with;

std::string PgConnection::command(const std::string& sql) {
  if (!pipelining()) return run(sql);
  send(nullptr, sql, nullptr, nullptr, nullptr);
  PGresult* r = sync(Last::kWhole);
  std::string tag = PQcmdStatus(r);
  PQclear(r);
  return tag;
}

void PgConnection::send(const char* prepared, const std::string& sql, const std::vector<std::string>* values,
                        const std::vector<char>* null, const std::vector<int>* binary) {
  check_usable();
  if (sent_.size() >= kMaxPending) sync(Last::kNone);
  if (!pipelining()) {
    take_wire(nullptr);
    if (PQenterPipelineMode(conn_) != 1) fail(nullptr, sql);
  }
  int ok = 0;
  if (prepared == nullptr) {
    ok = PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
  } else {
    std::vector<const char*> v(values->size());
    std::vector<int> lengths(values->size());
    for (size_t i = 0; i < values->size(); ++i) {
      v[i] = (*null)[i] ? nullptr : (*values)[i].c_str();
      lengths[i] = static_cast<int>((*values)[i].size());
    }
    ok = PQsendQueryPrepared(conn_, prepared, static_cast<int>(v.size()), v.data(), lengths.data(), binary->data(), 0);
  }
  if (!ok) {
    // What the server received of the pipeline is unknown: only a rollback
    // (or the connection's end) is left.
    break_with(lost(sql));
  }
  sent_.push_back({sql, prepared == nullptr && starts_with(sql, "RELEASE SAVEPOINT ")});
}

PGresult* PgConnection::sync(Last last) {
  check_usable();
  std::vector<Sent> items = std::move(sent_);
  sent_.clear();
  if (PQpipelineSync(conn_) != 1) break_with(lost("pipeline"));
  // Each statement's results end with a null; the sync's result ends all.
  size_t sent = items.size();
  PGresult* out = nullptr;
  PGresult* error = nullptr;
  size_t error_at = 0;
  size_t at = 0;
  for (;;) {
    if (last == Last::kStream && error == nullptr && at + 1 >= sent) {
      // Every earlier answer read and none failed: the last statement's
      // rows are next, read one at a time by its step() (end_stream()
      // reads the sync's result after them and leaves pipeline mode).
      streaming_in_pipeline_ = true;
      return nullptr;
    }
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      if (++at > sent || PQstatus(conn_) == CONNECTION_BAD) break;
      continue;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    bool fine = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE || st == PGRES_PIPELINE_ABORTED;
    if (!fine && error == nullptr) {
      error = r;
      error_at = at;
    } else if (last == Last::kWhole && at + 1 == sent && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) &&
               out == nullptr) {
      out = r;
    } else {
      PQclear(r);  // an aborted statement's, or one nobody waits for
    }
  }
  bool left = PQexitPipelineMode(conn_) == 1;
  if (error != nullptr) {
    if (out != nullptr) PQclear(out);
    size_t failed = std::min(error_at, sent - 1);
    sql::Error e = error_of(error, items[failed].sql);
    // A writer whose savepoint's release was sent with the failed statement
    // or after it counts as done: rolling back to a savepoint could no
    // longer undo it alone (and, its release skipped, would undo it behind
    // the group commit's back). Only a rollback is left.
    // (A lost connection is no statement's: it is said as such.)
    bool connection = PQstatus(conn_) == CONNECTION_BAD;
    bool released_after = std::any_of(items.begin() + static_cast<long>(failed), items.end(),
                                      [](const Sent& s) { return s.release; });
    if (connection) break_with(lost("pipeline"));
    if (released_after)
      break_with(sql::Error(e.kind(), std::string(e.what()) +
                                          "; the statement belonged to an earlier writer of this transaction, "
                                          "which fails whole"));
    if (!left) break_with(e);
    throw e;
  }
  if (!left || (last == Last::kWhole && out == nullptr)) {
    if (out != nullptr) PQclear(out);
    break_with(lost("pipeline"));
  }
  return out;
}

void PgConnection::end_stream() {
  if (!streaming_in_pipeline_) return;
  streaming_in_pipeline_ = false;
  // The sync's result comes after the statement's last one (which a loop
  // of the caller's may have read past already: then nothing is left).
  for (int nulls = 0; nulls < 2;) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      if (PQstatus(conn_) == CONNECTION_BAD) break;
      ++nulls;
      continue;
    }
    bool end = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (end) break;
  }
  // Not left: the connection is gone; every later call says so (noexcept
  // callers: reset(), park()).
  if (PQexitPipelineMode(conn_) != 1 && !broken_) broken_ = lost("pipeline");
}

}  // namespace sunledger::ledger_internal
