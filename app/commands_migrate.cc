// `sunledger migrate --to postgresql://…` (issue #17): moves a SQLite
// deployment's database into an empty PostgreSQL database, checks the copy,
// and only then records the new address in the folder. The SQLite file is
// left as it was, a frozen copy nothing opens any more.
#include <chrono>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/data_folder.h"
#include "app/database_option.h"
#include "ledger/database_copy.h"

namespace sunledger::cli {

namespace {

// What to do with a target left behind for inspection.
std::string how_to_drop(const std::string& shown) {
  return "The PostgreSQL database " + shown + " is left as it is, for inspection; drop it (dropdb, or DROP SCHEMA … "
         "CASCADE of its schema) before migrating into it again. The folder still uses sunledger.db; nothing was "
         "recorded.";
}

// The differences between the source's logs and the copy's: which log, and
// how (size or root). Empty when every log has the same size and root.
Result<std::vector<std::string>> log_differences(Ledger& from, Ledger& to) {
  auto here = from.log_names();
  if (!here.is_ok()) return here.status();
  auto there = to.log_names();
  if (!there.is_ok()) return there.status();
  std::vector<std::string> out;
  if (*here != *there) out.push_back("the copy holds " + std::to_string(there->size()) + " logs, SQLite " +
                                     std::to_string(here->size()));
  for (const auto& log : *here) {
    auto a = from.log_size(log);
    auto b = to.log_size(log);
    if (!a.is_ok()) return a.status();
    if (!b.is_ok() || *a != *b) {
      out.push_back("log " + log + ": " + std::to_string(*a) + " entries in SQLite, " +
                    (b.is_ok() ? std::to_string(*b) : b.status().message()) + " on PostgreSQL");
      continue;
    }
    auto ra = from.root(log, *a);
    auto rb = to.root(log, *b);
    if (!ra.is_ok()) return ra.status();
    if (!rb.is_ok() || *ra != *rb) out.push_back("log " + log + ": another root at size " + std::to_string(*a));
  }
  return out;
}

// Makes every module's tables in the empty target, as `init --db` and the
// first open do: the ledger's with the source's origin and time zone, then
// the bot's, by opening it there.
Status make_schema(const Deployment& source, const std::string& to) {
  if (Status s = Ledger::initialize(to, source.ledger->origin(), source.ledger->utc_offset_minutes()); !s.is_ok())
    return s;
  Deployment target;
  target.dir = source.dir;
  target.db = to;
  return target.open();
}

// Opens the copy and checks it against the source: every log's size and root,
// then the whole verify. Prints each difference; true when there is none.
bool copy_matches(Deployment& source, Deployment& copy, uint64_t* entries) {
  if (Status s = copy.open(); !s.is_ok()) {
    std::cerr << "sunledger migrate: the copy cannot be opened: " << s.to_string() << "\n";
    return false;
  }
  auto differences = log_differences(*source.ledger, *copy.ledger);
  if (!differences.is_ok()) {
    std::cerr << "sunledger migrate: the logs cannot be compared: " << differences.status().to_string() << "\n";
    return false;
  }
  for (const auto& d : *differences) std::cerr << "sunledger migrate: DIFFERENT " << d << "\n";
  auto report = copy.ledger->verify();
  auto problems = copy.bot->verify_deployment();
  if (!report.is_ok() || !problems.is_ok()) {
    std::cerr << "sunledger migrate: verify of the copy could not run: "
              << (report.is_ok() ? problems.status() : report.status()).to_string() << "\n";
    return false;
  }
  for (const auto& p : *problems) std::cerr << "sunledger migrate: copy " << tampered_line(p) << "\n";
  *entries = report->entries_checked;
  return differences->empty() && problems->empty();
}

int migrate(Deployment& d, const Args& a) {
  std::string to = a.get("to");
  std::string shown = address_without_password(to, "***");
  if (d.on_postgresql())
    return fail(failed_precondition("这个数据目录的数据库已经在 PostgreSQL 上。(this folder's database is on PostgreSQL "
                                    "already (" + address_without_password(d.db, "***") +
                                    "): migrate copies a SQLite deployment; nothing was changed)"));
  if (d.verify_only)
    return fail(failed_precondition("this folder holds a backup's verifier key, not the log key: migrate the "
                                    "deployment's own folder; nothing was changed"));
  // The single-writer lock, held to the end: no serve starts on the folder
  // while its database moves, and a running one refuses the migration.
  auto lock = ServeLock::acquire(d.dir);
  if (!lock.is_ok())
    return fail(failed_precondition("正在运行的 sunledger serve 占用这个数据目录,请先停止它。(" + lock.status().message() +
                                    "; migrate moves the database only with the server stopped; nothing was changed)"));
  auto start = std::chrono::steady_clock::now();
  // The source first: an altered ledger is not carried into a new database
  // under a fresh verify.
  auto problems = d.bot->verify_deployment();
  if (!problems.is_ok()) return fail(problems.status());
  for (const auto& p : *problems) std::cerr << "sunledger: " << tampered_line(p) << "\n";
  if (!problems->empty())
    return fail(data_loss("SQLite 账本未通过核验,不迁移。(the SQLite ledger failed verification: nothing was copied; "
                          "restore it from a backup (README, \"Backup and restore\") and migrate that)"));
  auto used = first_table_with_rows(to);
  if (!used.is_ok()) return fail(used.status());
  if (!used->empty())
    return fail(failed_precondition("目标数据库不是空的。(the database " + shown + " is not empty: its table " + *used +
                                    " holds rows; migrate writes into an empty database only; nothing was changed)"));
  if (Status s = make_schema(d, to); !s.is_ok()) {
    std::cerr << "sunledger migrate: the tables cannot be made: " << s.to_string() << "\n" << how_to_drop(shown) << "\n";
    return kExitFailure;
  }
  uint64_t rows = 0;
  auto copied = copy_sqlite_to_postgresql(d.db_path(), to, [&rows](const CopiedTable& t) { rows += t.rows; });
  if (!copied.is_ok()) {
    std::cerr << "sunledger migrate: " << copied.status().to_string() << "\n" << how_to_drop(shown) << "\n";
    return kExitFailure;
  }
  Deployment copy;
  copy.dir = d.dir;
  copy.db = to;
  uint64_t entries = 0;
  if (!copy_matches(d, copy, &entries)) {
    std::cerr << "sunledger migrate: 副本与 SQLite 不一致。(the copy differs from SQLite, see above)\n"
              << how_to_drop(shown) << "\n";
    return kExitFailure;
  }
  if (Status s = remember_database(d.dir, to); !s.is_ok()) return fail(s);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "copied " << count_of(rows, "row", "rows") << " of " << count_of(copied->size(), "table", "tables")
            << " to " << shown << "\n"
            << "verified: every log's size and root as in SQLite; intact: " << count_of(entries, "entry", "entries")
            << " (" << seconds << " s)\n"
            << "recorded in " << database_record_path(d.dir) << ": later commands in this folder use PostgreSQL.\n"
            << d.db_path() << " is now a frozen copy, left as it was: no command opens it any more.\n";
  return kExitOk;
}

}  // namespace

void add_migrate_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "migrate",
      .synopsis = "migrate --to postgresql://USER@HOST/DATABASE",
      .help = "Copies this folder's SQLite database (sunledger.db) into an empty PostgreSQL database: every module's\n"
              "tables made there as `init --db` makes them, every row copied as stored in one transaction, then\n"
              "checked (every log's size and root equal to SQLite's, and a full verify). Only then the folder\n"
              "records the address (without its password) in DIR/database, so later commands use PostgreSQL;\n"
              "sunledger.db stays as it was, a frozen copy. Stop `serve` first (a running one makes migrate refuse,\n"
              "as does any other command running on the folder); a command started during the migration waits for\n"
              "it, then uses PostgreSQL. The password is best given in PGPASSWORD or ~/.pgpass (later commands read\n"
              "the address without it).",
      .examples = {"--data ./lukou migrate --to postgresql://sunledger@db.lukou.example/sunledger"},
      .values = {"to"},
      .required = {"to"},
      .check = [](const Args& a) -> std::string {
        return names_postgresql(a.get("to")) ? "" : "--to takes a PostgreSQL address (postgresql://USER@HOST/DATABASE)";
      },
      .run = migrate});
}

}  // namespace sunledger::cli
