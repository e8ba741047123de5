// The PostgreSQL engine (sql_engine.h, issue #17): connections over libpq
// (pg_connection.h), the change probe, no backups of its own (pg_dump is the
// tool), and the schema as pg_catalog keeps it, read back in one text per
// object so verify can compare it with what the modules registered.
//
// The change probe is pg_current_snapshot() on a connection of the probe's
// own, compared with the last one read: exact and cheap. Exact because a
// transaction that committed since the last read was then running (in the
// snapshot's list of running transactions, or at or past its xmax) and is no
// longer, so the text differs; cheap because it is one statement that writes
// nothing and takes no lock, where a version row bumped in every write
// transaction would make every writer of every node wait on that one row.
// It also moves for other databases' commits on the same cluster and for
// transactions that only read after writing nothing: each costs a cache
// refill, never a stale answer.
//
// The append-only triggers are sql_dialect's translation of the SQLite text
// (a plpgsql function raising the trigger's message, BEFORE UPDATE /
// BEFORE DELETE row triggers calling it, and BEFORE TRUNCATE beside DELETE).
//
// What it does not check yet: objects outside the connection's current
// schema, and a superuser's session_replication_role = replica, which skips
// every trigger for that session (the hashes still catch the edit).
#include <mutex>
#include <regex>

#include "ledger/database_address.h"
#include "ledger/ledger_internal.h"
#include "ledger/pg_connection.h"
#include "ledger/sql_engine.h"

namespace sunledger::ledger_internal {

namespace {

// The schema the connection reads (public, or the first of its search_path):
// every query below looks there only.
#define SUNL_OWN_SCHEMA "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"

// Every object, one row each, in the form verify compares (where
// PostgreSQL names the table with its schema, always, the schema is left
// out, so the database's objects and the scratch schema's read the same): a table as its
// columns (type, NOT NULL, default, identity, generated, collation) and its
// constraints; an index by pg_get_indexdef (an index that backs a primary
// key or unique constraint has no text, being part of the table's); a
// trigger by pg_get_triggerdef, whether it is enabled, and its function's
// language and body (an insider who replaces the body makes every trigger
// calling it a no-op without touching the trigger); a rule (which can
// rewrite any write) is always foreign.
std::vector<SchemaObject> describe(Connection& c) {
  std::map<std::string, SchemaObject> tables;
  std::map<std::string, std::vector<std::string>> parts;
  auto& cols = c.statement(
      "SELECT c.relname, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' "
      "WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END, "
      "a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END"
      " || CASE WHEN a.attgenerated = 's' THEN ' GENERATED' ELSE '' END"
      " || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')"
      " || CASE a.attidentity WHEN 'a' THEN ' IDENTITY ALWAYS' WHEN 'd' THEN ' IDENTITY BY DEFAULT' ELSE '' END"
      " || CASE WHEN a.attcollation <> 0 THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END, "
      "CASE WHEN c.relrowsecurity THEN ' ROW LEVEL SECURITY' ELSE '' END || coalesce(' AS ' || pg_get_viewdef(c.oid), '') "
      "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
      "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
      "WHERE c.relnamespace = " SUNL_OWN_SCHEMA " AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
      "ORDER BY c.relname, a.attnum");
  std::map<std::string, std::string> table_tail;
  while (cols.step()) {
    std::string name = cols.column_text(0);
    auto& t = tables[name];
    t.type = cols.column_text(1);
    t.name = name;
    t.table = name;
    parts[name].push_back(cols.column_text(2));
    table_tail[name] = cols.column_text(3);
  }
  cols.reset();
  auto& cons = c.statement(
      "SELECT c.relname, 'CONSTRAINT ' || k.conname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k "
      "JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = " SUNL_OWN_SCHEMA
      " ORDER BY c.relname, k.conname");
  while (cons.step()) parts[cons.column_text(0)].push_back(cons.column_text(1));
  cons.reset();
  std::vector<SchemaObject> rows;
  for (auto& [name, t] : tables) {
    std::string sql = "TABLE " + name + "(";
    const auto& p = parts[name];
    for (size_t i = 0; i < p.size(); ++i) sql += (i ? ", " : "") + p[i];
    t.sql = sql + ")" + table_tail[name];
    rows.push_back(t);
  }
  auto& idx = c.statement(
      "SELECT i.relname, t.relname, CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid "
      "AND k.conrelid = t.oid AND k.contype IN ('p', 'u', 'x')) THEN '' ELSE "
      "replace(pg_get_indexdef(i.oid), ' ON ' || quote_ident(current_schema()) || '.', ' ON ') END "
      "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
      "WHERE t.relnamespace = " SUNL_OWN_SCHEMA " ORDER BY i.relname");
  while (idx.step()) rows.push_back({"index", idx.column_text(0), idx.column_text(1), idx.column_text(2)});
  idx.reset();
  auto& trg = c.statement(
      "SELECT t.tgname, c.relname, replace(pg_get_triggerdef(t.oid), ' ON ' || quote_ident(current_schema()) || '.', ' ON ')"
      " || CASE t.tgenabled WHEN 'O' THEN '' ELSE ' ENABLED ' || t.tgenabled::text END"
      " || ' -- ' || p.proname || '(' || pg_get_function_arguments(p.oid) || ') ' || l.lanname"
      " || CASE WHEN p.prosecdef THEN ' SECURITY DEFINER' ELSE '' END || ': ' || p.prosrc "
      "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
      "JOIN pg_language l ON l.oid = p.prolang WHERE NOT t.tgisinternal AND c.relnamespace = " SUNL_OWN_SCHEMA
      " ORDER BY t.tgname");
  while (trg.step()) rows.push_back({"trigger", trg.column_text(0), trg.column_text(1), trg.column_text(2)});
  trg.reset();
  auto& rules = c.statement(
      "SELECT r.rulename, c.relname, pg_get_ruledef(r.oid) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class "
      "WHERE c.relnamespace = " SUNL_OWN_SCHEMA " AND r.rulename <> '_RETURN' ORDER BY r.rulename");
  while (rules.step()) rows.push_back({"rule", rules.column_text(0), rules.column_text(1), rules.column_text(2)});
  rules.reset();
  return rows;
}

#undef SUNL_OWN_SCHEMA

std::unique_ptr<Connection> open_or_throw(const std::string& address) {
  auto opened = PgConnection::open(address);
  if (!opened.is_ok())
    throw sql::Error(opened.status().code() == Code::kUnavailable ? sql::Error::Kind::kUnavailable : sql::Error::Kind::kOther,
                     opened.status().message());
  return std::move(*opened);
}

class PgEngine final : public Engine {
 public:
  explicit PgEngine(std::string address) : address_(std::move(address)) {}

  // Unreachable counts as there: open then names why it cannot connect,
  // rather than telling the operator to run init.
  bool exists() override {
    auto opened = PgConnection::open(address_);
    if (!opened.is_ok()) return true;
    try {
      return (*opened)->table_exists("meta");
    } catch (const sql::Error&) {
      return true;
    }
  }

  Result<std::unique_ptr<Connection>> create() override {
    auto opened = PgConnection::open(address_);
    if (!opened.is_ok()) return opened.status();
    return std::unique_ptr<Connection>(std::move(*opened));
  }

  std::unique_ptr<Connection> open_writer() override { return open_or_throw(address_); }

  // Read-only by the session's default, so a reader that somehow writes is
  // refused by the server.
  std::unique_ptr<Connection> open_reader(bool) override {
    auto c = open_or_throw(address_);
    c->exec("SET default_transaction_read_only = on");
    return c;
  }

  // The server checkpoints on its own.
  void start_background(Connection&) override {}
  uint64_t background_checkpoints() const override { return 0; }

  int64_t change_probe() noexcept override {
    try {
      if (!probe_) probe_ = open_or_throw(address_);
      auto& q = probe_->statement("SELECT pg_current_snapshot()::text");
      if (!q.step()) return -1;
      std::string snapshot = q.column_text(0);
      q.reset();
      if (snapshot != last_snapshot_) {
        last_snapshot_ = std::move(snapshot);
        ++version_;
      }
      return version_;
    } catch (const std::exception&) {
      probe_.reset();  // opened afresh next time; meanwhile every cache goes to storage
    }
    return -1;
  }

  Status backup_to(const std::string&) override {
    return failed_precondition("a ledger on PostgreSQL is backed up with pg_dump (or the server's own backups), "
                               "not by sunledger");
  }

  std::vector<SchemaObject> schema_objects(Connection& c) override { return describe(c); }

  // Made once per registered schema and kept (it costs 0.4 s: a connection,
  // every table and trigger made and read back); registered again the same,
  // the kept forms answer.
  Status stored_forms(std::map<std::string, SchemaTrigger>& triggers, std::map<std::string, std::string>& indexes,
                      std::map<std::string, SchemaTable>& tables) override {
    std::string registered;
    for (const auto& [name, t] : triggers) registered += "T " + name + " " + t.table + " " + t.sql + "\n";
    for (const auto& [name, sql] : indexes) registered += "I " + name + " " + sql + "\n";
    for (const auto& [name, t] : tables)
      registered += "R " + name + (t.legacy ? " legacy " : " ") + (t.sql.empty() ? "" : t.sql.front()) + "\n";
    std::lock_guard<std::mutex> lock(forms_mu_);
    if (registered != forms_of_) {
      Status s = make_stored_forms(triggers, indexes, tables);
      if (!s.is_ok()) return s;
      forms_of_ = std::move(registered);
      kept_triggers_ = triggers;
      kept_indexes_ = indexes;
      kept_tables_ = tables;
    } else {
      triggers = kept_triggers_;
      indexes = kept_indexes_;
      tables = kept_tables_;
    }
    return Status::ok();
  }

  Status make_stored_forms(std::map<std::string, SchemaTrigger>& triggers, std::map<std::string, std::string>& indexes,
                           std::map<std::string, SchemaTable>& tables) {
    try {
      auto c = open_or_throw(address_);
      Transaction t(*c, Transaction::Kind::kWrite);
      // A schema of its own, never committed: nothing of it is ever seen by
      // another connection, and a verify running beside waits for this one.
      c->exec("CREATE SCHEMA sunledger_expected");
      c->exec("SET LOCAL search_path TO sunledger_expected");
      auto attempt = [&](const std::string& sql) {
        c->savepoint("sunledger_expected_object");
        try {
          c->exec(sql);
          c->release("sunledger_expected_object");
          return true;
        } catch (const sql::Error&) {
          c->rollback_to("sunledger_expected_object");
          c->release("sunledger_expected_object");
          return false;
        }
      };
      // Today's form of each table (an older form is SQLite's migration
      // history, which a PostgreSQL database never had); a table that
      // references another waits for it.
      std::vector<std::string> pending;
      for (const auto& entry : tables)
        if (!entry.second.sql.empty()) pending.push_back(entry.first);
      for (bool progress = true; progress && !pending.empty();) {
        progress = false;
        std::vector<std::string> left;
        for (const auto& name : pending) {
          if (attempt(tables[name].sql.front()))
            progress = true;
          else
            left.push_back(name);
        }
        pending = std::move(left);
      }
      for (const auto& entry : indexes) (void)attempt(entry.second);
      for (const auto& entry : triggers) (void)attempt(entry.second.sql);
      // What could not be made keeps its SQLite text, which never matches:
      // verify names the object rather than passing it unchecked.
      for (auto& r : describe(*c)) {
        if (r.type == "table") {
          if (auto it = tables.find(r.name); it != tables.end()) it->second.sql = {r.sql};
        } else if (r.type == "index") {
          if (auto it = indexes.find(r.name); it != indexes.end()) it->second = r.sql;
        } else if (r.type == "trigger") {
          // With the ones the translation of a registered trigger made
          // beside it (T_truncate).
          triggers[r.name] = {r.name, r.table, r.sql};
        }
      }
      // Destroying t rolls back: the scratch schema never existed.
    } catch (const sql::Error& e) {
      return from_sql(e, "verify the schema (the registered forms on PostgreSQL)");
    }
    return Status::ok();
  }

  // The address without its password (user:password@ or password=).
  std::string where() const override { return address_without_password(address_, "***"); }

 private:
  const std::string address_;
  std::unique_ptr<Connection> probe_;  // change_probe's own connection
  std::string last_snapshot_;
  int64_t version_ = 0;
  std::mutex forms_mu_;  // guards the four below (verify may run on any thread)
  std::string forms_of_;  // the registered schema they were made from
  std::map<std::string, SchemaTrigger> kept_triggers_;
  std::map<std::string, std::string> kept_indexes_;
  std::map<std::string, SchemaTable> kept_tables_;
};

}  // namespace

}  // namespace sunledger::ledger_internal

namespace sunledger {

bool names_postgresql(const std::string& db_path) { return ledger_internal::is_postgresql_address(db_path); }

std::string address_without_password(const std::string& db_path, const std::string& mask) {
  if (!names_postgresql(db_path)) return db_path;
  static const std::regex userinfo(R"(^(postgres(ql)?://[^:/@?]*):[^@/?]*@)");
  std::string out = std::regex_replace(db_path, userinfo, mask.empty() ? "$1@" : "$1:" + mask + "@");
  if (!mask.empty()) {
    static const std::regex param(R"(([?&]password=)[^&]*)");
    return std::regex_replace(out, param, "$1" + mask);
  }
  // Left out with its separator: ?password=x&a=b → ?a=b, ?a=b&password=x → ?a=b.
  static const std::regex first(R"(\?password=[^&]*&?)"), later(R"(&password=[^&]*)");
  out = std::regex_replace(out, later, "");
  std::smatch m;
  if (std::regex_search(out, m, first)) {
    std::string rest = m.suffix();
    out = m.prefix().str() + (rest.empty() ? "" : "?" + rest);
  }
  return out;
}

namespace {

// pg_try_advisory_lock's one-bigint key space, apart from lock_log's two-int
// one: "SUNLSERV".
constexpr int64_t kServeLockKey = 0x53554E4C53455256;

class PgDatabaseLock final : public DatabaseLock {
 public:
  explicit PgDatabaseLock(std::unique_ptr<ledger_internal::PgConnection> c) : c_(std::move(c)) {}

 private:
  std::unique_ptr<ledger_internal::PgConnection> c_;  // the session holding the lock
};

}  // namespace

Result<std::unique_ptr<DatabaseLock>> lock_postgresql_database(const std::string& address, bool shared) {
  auto c = ledger_internal::PgConnection::open(address);
  if (!c.is_ok()) return c.status();
  try {
    auto& q = (*c)->statement(shared ? "SELECT pg_try_advisory_lock_shared(?)" : "SELECT pg_try_advisory_lock(?)");
    q.bind(1, kServeLockKey);
    bool got = q.step() && q.column_int64(0) != 0;
    q.reset();
    if (!got && shared)
      return failed_precondition("another sunledger serve is serving the database " +
                                 address_without_password(address, "***") +
                                 " alone (started without --shared-database); stop it first, or restart it with "
                                 "--shared-database too");
    if (!got)
      return failed_precondition("another sunledger serve is already serving the database " +
                                 address_without_password(address, "***") +
                                 "; stop it first (one server per database unless every server on it is started with "
                                 "--shared-database; CLI commands work beside it)");
  } catch (const sql::Error& e) {
    return ledger_internal::from_sql(e, "lock the database for serve");
  }
  return std::unique_ptr<DatabaseLock>(new PgDatabaseLock(std::move(*c)));
}

}  // namespace sunledger

namespace sunledger::ledger_internal {

std::unique_ptr<Engine> make_pg_engine(const std::string& address) { return std::make_unique<PgEngine>(address); }

}  // namespace sunledger::ledger_internal
