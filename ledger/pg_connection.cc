// The Connection on PostgreSQL over libpq: prepared statements whose rows
// stream one at a time, transactions, advisory locks, errors by SQLSTATE.
#include "ledger/pg_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <limits>
#include <tuple>

#include "ledger/pg_statement.h"
#include "ledger/pg_text.h"
#include "ledger/sql_dialect.h"

namespace sunledger::ledger_internal {

using pg_text::one_line;
using pg_text::sql_excerpt;
using pg_text::starts_with;

namespace {

// A malformed connection string's message quotes the fragment it could not
// read, which may be the password: every quoted fragment is left out.
std::string without_quoted(std::string_view s) {
  std::string out;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') {
      if (!quoted) out += "\"...\"";
      quoted = !quoted;
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  if (what.empty()) return;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

bool valid_name(const char* name) {
  if (name == nullptr || *name == 0) return false;
  for (const char* p = name; *p; ++p)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) return false;
  return true;
}

}  // namespace

sql::Error::Kind pg_error_kind(std::string_view sqlstate) {
  using Kind = sql::Error::Kind;
  if (sqlstate.size() != 5) return Kind::kOther;
  std::string_view cls = sqlstate.substr(0, 2);
  // 08 connection, 53 resources (disk full, out of memory, too many
  // connections), 57 operator intervention (shutdown, cancel), 58 I/O.
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58") return Kind::kUnavailable;
  // Serialisation failure, deadlock, read-only transaction, lock not
  // available: what SQLite reports as BUSY, LOCKED or READONLY.
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "25006" || sqlstate == "55P03")
    return Kind::kUnavailable;
  if (sqlstate == "XX001" || sqlstate == "XX002") return Kind::kCorrupt;
  return Kind::kOther;
}


Result<std::unique_ptr<PgConnection>> PgConnection::open(const std::string& conninfo) {
  // The password, to keep it out of every message below.
  std::string password;
  bool structured = conninfo.find('=') != std::string::npos || starts_with(conninfo, "postgresql://") ||
                    starts_with(conninfo, "postgres://");
  if (structured) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (opts == nullptr) {
      std::string why = err != nullptr ? one_line(without_quoted(err)) : "out of memory";
      PQfreemem(err);
      return invalid_argument("malformed PostgreSQL connection string: " + why);
    }
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
      if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
    PQconninfoFree(opts);
  }
  // Defaults before the caller's string (which overrides them): a server
  // that does not answer fails the open instead of hanging it, one that
  // vanishes from the network (no reset, no FIN) fails the statement within
  // about a minute (TCP keepalives and user timeout; a Unix socket needs
  // neither), and text comes as UTF-8 whatever the server's locale.
  const char* keys[] = {"connect_timeout",  "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", "client_encoding", "application_name",    "dbname",
                        nullptr};
  const char* vals[] = {"10", "30", "10", "3", "60000", "UTF8", "sunledger", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, vals, 1);
  if (conn == nullptr) return unavailable("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = one_line(PQerrorMessage(conn));
    PQfinish(conn);
    replace_all(why, password, "***");
    return unavailable("cannot connect to PostgreSQL: " + why);
  }
  // Notices ("relation ... already exists, skipping" for every CREATE ...
  // IF NOT EXISTS at each start) are not errors: libpq would print them to
  // stderr, where they bury what the operator must see.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PgConnection> c(new PgConnection(conn));
  // bytea in the hex form PgStatement decodes, and '...' strings without
  // backslash escapes, as the placeholder translation reads them.
  try {
    c->run("SET bytea_output = 'hex'; SET standard_conforming_strings = on");
  } catch (const sql::Error& e) {
    return unavailable(std::string("PostgreSQL session setup failed: ") + e.what());
  }
  return c;
}

PgConnection::PgConnection(pg_conn* conn) : conn_(conn) {}

PgConnection::~PgConnection() {
  for (auto& [sql, stmt] : cache_) stmt->reset();
  cache_.clear();
  PQfinish(conn_);
}

int PgConnection::backend_pid() const { return PQbackendPID(conn_); }

void PgConnection::fail(pg_result* res, const std::string& what) { throw error_of(res, what); }

sql::Error PgConnection::error_of(pg_result* res, const std::string& what) {
  std::string sqlstate, message;
  if (res != nullptr) {
    const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (s != nullptr) sqlstate = s;
    // The primary message only: the detail may quote row values.
    const char* m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    message = m != nullptr ? m : one_line(PQresultErrorMessage(res));
    PQclear(res);
  }
  if (message.empty()) message = one_line(PQerrorMessage(conn_));
  sql::Error::Kind kind = pg_error_kind(sqlstate);
  // An error without a SQLSTATE comes from libpq itself: the connection.
  if (PQstatus(conn_) == CONNECTION_BAD || (sqlstate.empty() && res == nullptr)) kind = sql::Error::Kind::kUnavailable;
  if (sqlstate.empty() && PQstatus(conn_) == CONNECTION_BAD) sqlstate = "08006";
  return sql::Error(kind, "PostgreSQL " + (sqlstate.empty() ? std::string("error") : sqlstate) + ": " + message +
                              " (in: " + sql_excerpt(what) + ")");
}

void PgConnection::check_usable() const {
  // The failure that left only a rollback, again, with its kind: a lost
  // connection stays kUnavailable, a deadlock's victim stays one.
  if (broken_) throw sql::Error(broken_->kind(), std::string(broken_->what()) + "; only a rollback is left");
}

sql::Error PgConnection::lost(const std::string& what) {
  return sql::Error(sql::Error::Kind::kUnavailable,
                    "PostgreSQL 08006: " + one_line(PQerrorMessage(conn_)) + " (in: " + sql_excerpt(what) + ")");
}

void PgConnection::break_with(const sql::Error& e) {
  if (!broken_) broken_ = e;
  throw e;
}

void PgConnection::take_wire(PgStatement* next) {
  if (streaming_ != nullptr && streaming_ != next) streaming_->park();
}

std::string PgConnection::run(const std::string& sql) {
  check_usable();
  flush();
  take_wire(nullptr);
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r, sql);
  std::string tag = PQcmdStatus(r);
  PQclear(r);
  return tag;
}

void PgConnection::abandon_pipeline() noexcept {
  if (streaming_ != nullptr) streaming_->reset();
  streaming_in_pipeline_ = false;
  size_t sent = sent_.size();
  sent_.clear();
  // libpq's own state decides: a failure part-way may have left it in
  // pipeline mode whatever our flags say.
  if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF) return;
  if (PQpipelineSync(conn_) == 1) {
    size_t nulls = 0;
    for (;;) {
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) {
        if (++nulls > sent + 1 || PQstatus(conn_) == CONNECTION_BAD) break;
        continue;
      }
      bool end = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (end) break;
    }
  }
  PQexitPipelineMode(conn_);
}

sql::Statement& PgConnection::statement(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->reset();
    it->second->clear_bindings();
    return *it->second;
  }
  int params = 0;
  std::string translated = pg_placeholders(sql, &params);
  std::string name = "s" + std::to_string(++next_name_);
  flush();  // prepared outside the pipeline, once per connection
  take_wire(nullptr);
  PGresult* r = PQprepare(conn_, name.c_str(), translated.c_str(), 0, nullptr);
  if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, sql);
  PQclear(r);
  auto stmt = std::make_unique<PgStatement>(*this, std::move(name), sql, params);
  return *cache_.emplace(sql, std::move(stmt)).first->second;
}

void PgConnection::exec(const std::string& sql) {
  reset_all();
  run(pg_ddl(sql));
}

int64_t PgConnection::last_insert_id() {
  auto& q = statement("SELECT lastval()");
  int64_t id = q.step() ? q.column_int64(0) : 0;
  q.reset();
  return id;
}

bool PgConnection::table_exists(const std::string& table) {
  auto& q = statement(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?");
  q.bind(1, table);
  bool found = q.step();
  q.reset();
  return found;
}

std::vector<std::string> PgConnection::columns(const std::string& table) {
  auto& q = statement(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
      " ORDER BY ordinal_position");
  q.bind(1, table);
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.column_text(0));
  return out;
}

void PgConnection::begin_write() {
  // READ COMMITTED, said rather than assumed from the server's default: the
  // ledger serialises appends with lock_log, not with the isolation level.
  begin("BEGIN ISOLATION LEVEL READ COMMITTED");
}

void PgConnection::begin_read() {
  begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

void PgConnection::begin(const char* sql) {
  // Into the pipeline: it goes with the transaction's first statement.
  take_wire(nullptr);
  abandon_pipeline();
  broken_.reset();
  send(nullptr, sql, nullptr, nullptr, nullptr);
  in_txn_ = true;
  forget_locks();
}

void PgConnection::commit() {
  std::string tag;
  try {
    tag = command("COMMIT");
  } catch (...) {
    in_txn_ = false;
    forget_locks();
    throw;
  }
  in_txn_ = false;
  forget_locks();
  // PostgreSQL answers COMMIT of a transaction an earlier error aborted with
  // ROLLBACK and no error: what the caller committed did not happen.
  if (tag == "ROLLBACK")
    throw sql::Error(sql::Error::Kind::kOther,
                     "PostgreSQL rolled the transaction back at COMMIT: a statement of it had failed");
}

void PgConnection::rollback() noexcept {
  abandon_pipeline();  // a statement part-way through its rows too
  broken_.reset();
  in_txn_ = false;
  forget_locks();
  PGTransactionStatusType st = PQtransactionStatus(conn_);
  if (st != PQTRANS_INTRANS && st != PQTRANS_INERROR) return;
  PGresult* r = PQexec(conn_, "ROLLBACK");
  if (r != nullptr) PQclear(r);
}

bool PgConnection::in_transaction() {
  PGTransactionStatusType st = PQtransactionStatus(conn_);
  if (st == PQTRANS_ACTIVE) return in_txn_;  // answers owed (BEGIN's among them), or rows coming
  return st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

void PgConnection::savepoint(const char* name) {
  if (!valid_name(name)) throw sql::Error(sql::Error::Kind::kOther, "bad savepoint name");
  send(nullptr, std::string("SAVEPOINT ") + name, nullptr, nullptr, nullptr);
  held_at_savepoint_.push_back(held_);
}

void PgConnection::rollback_to(const char* name) {
  if (!valid_name(name)) throw sql::Error(sql::Error::Kind::kOther, "bad savepoint name");
  check_usable();
  // The answers owed first. A failure among them that was the rolled-back
  // writer's own is what the rollback undoes; one of a writer already done
  // (broken_) leaves only a rollback of everything.
  try {
    flush();
  } catch (const sql::Error&) {
    if (broken_) throw;
  }
  run(std::string("ROLLBACK TO SAVEPOINT ") + name);
  // The savepoint stays: what was held when it was made is held again.
  if (!held_at_savepoint_.empty()) held_ = held_at_savepoint_.back();
}

void PgConnection::release(const char* name) {
  if (!valid_name(name)) throw sql::Error(sql::Error::Kind::kOther, "bad savepoint name");
  // Into the pipeline, with the writer's statements (see sync() for a
  // failure among them).
  send(nullptr, std::string("RELEASE SAVEPOINT ") + name, nullptr, nullptr, nullptr);
  if (!held_at_savepoint_.empty()) held_at_savepoint_.pop_back();
}

void PgConnection::lock_log(int64_t log_id) {
  // The two-key form takes int4 keys: (class, log id).
  if (log_id < std::numeric_limits<int32_t>::min() || log_id > std::numeric_limits<int32_t>::max())
    throw sql::Error(sql::Error::Kind::kOther, "log id out of the advisory lock's range: " + std::to_string(log_id));
  lock_until_commit(kLogLockClass, log_id);
}

void PgConnection::forget_locks() {
  held_.clear();
  held_at_savepoint_.clear();
}

void PgConnection::take_refused_writers_locks() {
  std::vector<LockKey> wanted(refused_wanted_.begin(), refused_wanted_.end());
  refused_wanted_.clear();
  std::sort(wanted.begin(), wanted.end(), lock_order_before);
  // Each comes after all taken before it: every one waits (lock_until_commit).
  for (const LockKey& k : wanted) lock_until_commit(k.first, k.second);
}

bool PgConnection::lock_order_before(const LockKey& a, const LockKey& b) {
  // The upper modules' named locks (a message, a member, a complaint: each
  // taken first by the writer it belongs to) before the logs' locks, which
  // writers take after them; then by class and key.
  auto rank = [](const LockKey& l) { return std::tuple{l.first == kLogLockClass, l.first, l.second}; };
  return rank(a) < rank(b);
}

void PgConnection::lock_until_commit(int32_t key_class, int64_t key) {
  // Outside a transaction the lock would be released at once.
  if (!in_transaction()) throw sql::Error(sql::Error::Kind::kOther, "an advisory lock outside a transaction");
  LockKey k{key_class, key};
  if (held_.count(k) > 0) return;  // held to the commit already: no round trip
  // Waiting is safe when every lock held comes before this one in one order
  // all nodes share (lock_order_before): then no two transactions can each
  // wait for a lock the other holds. A post takes its message's lock, then
  // its village's log, then the `handled` log; when only holding nothing
  // could wait, every post that met another node's batch on its log was
  // rolled back and run again (half the transactions of a two-node post
  // load).
  bool in_order = true;
  for (const LockKey& h : held_) in_order = in_order && lock_order_before(h, k);
  if (in_order) {
    // Held back: the read of what it guards comes after it, in the same
    // round trip, as a statement of its own (with a snapshot taken after
    // the lock is granted).
    auto& q = statement("SELECT pg_advisory_xact_lock(?, ?)");
    q.bind(1, int64_t{key_class});
    q.bind(2, key);
    q.exec_later();
  } else {
    // Holding a lock that comes after this one, waiting here could close a
    // cycle with a node that holds this one and waits for ours: PostgreSQL would find it only
    // after deadlock_timeout (a second) and then abort one of us. Instead the
    // group commit commits what it has and runs this writer again first.
    auto& q = statement("SELECT CASE WHEN pg_try_advisory_xact_lock(?, ?) THEN 1 ELSE 0 END");
    q.bind(1, int64_t{key_class});
    q.bind(2, key);
    bool got = q.step() && q.column_int64(0) == 1;
    q.reset();
    if (!got) {
      // The writer runs again first in a new transaction, after taking these
      // in order: its own locks (those taken since the savepoint it runs
      // in, the first one open) and this one.
      refused_wanted_.clear();
      for (const LockKey& h : held_)
        if (held_at_savepoint_.empty() || held_at_savepoint_.front().count(h) == 0) refused_wanted_.insert(h);
      refused_wanted_.insert(k);
      throw sql::Error(sql::Error::Kind::kUnavailable,
                       std::string(kLockOrderRefusal) +
                           " another writer holds a lock this write needs, and waiting for it while holding "
                           "others could deadlock: it runs again holding none");
    }
  }
  held_.insert(k);
}

void PgConnection::reset_all() {
  for (auto& [sql, stmt] : cache_) stmt->reset();
}

}  // namespace sunledger::ledger_internal
