// The signed village ledger: one append-only Merkle log per village in
// SQLite, with an Ed25519-signed C2SP checkpoint after every committed write.
//
// Thread safety: a Ledger may be shared by threads. Writes are serialised on
// one connection; reads use a pool of read-only connections (WAL lets them run
// while a write commits).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/merkle.h"
#include "ledger/money.h"
#include "ledger/schema.h"
#include "ledger/sql.h"
#include "ledger/status.h"
#include "ledger/tlog_tiles.h"

namespace sunledger {

namespace ledger_internal {
class Connection;
class Engine;
class LineKeysSeen;
class MonthEntriesCache;
class WitnessKeys;
}  // namespace ledger_internal

// Who wrote an entry: an id, the role they acted in, and the channel it came
// through ("cli", "http", "wecom", ...).
struct Author {
  std::string id;
  std::string role;
  std::string channel;
};

struct Village {
  std::string id;    // [a-z0-9-], the log's name and the origin suffix
  std::string name;  // 双江村
  std::string town;  // 朱亭镇
};

// One income or expense line of the village books.
struct TransactionLine {
  int source_line = 0;  // where the line came from (CSV line, chat line), for error messages
  std::string date;  // YYYY-MM-DD, local date; its month is the booking month
  bool income = false;
  std::string category;
  std::string item;
  Fen amount = 0;
  std::string project;  // a registered project's name, or empty
  std::string fund;     // fund source / account, e.g. 专项资金
  std::string counterparty;
  std::string note;
  // Marked as intended (重复:确认 in chat, the CSV's 重复 column): a line
  // identical in direction, date, amount, item and counterparty to one posted
  // in the last 30 days is refused without it. Recorded in the entry.
  bool repeat = false;
  // A correction accountants expect (issue #16) instead of an income or
  // expense line: kOpeningBalanceKind (fund: the fund opened), kTransferKind
  // (fund: from, to_fund: to) or kSpecialReturnKind (special funds of
  // `project` paid back). "" for an income or expense line.
  std::string kind;
  std::string to_fund;
};

// The entry kinds of the corrections (their leaves' "kind").
inline constexpr const char* kOpeningBalanceKind = "opening_balance";
inline constexpr const char* kTransferKind = "transfer";
inline constexpr const char* kSpecialReturnKind = "special_return";
// 期初余额, 转账, 退回; "" for another kind.
const char* correction_kind_zh(const std::string& kind);

// A line as code writes one (the demo data, benchmarks, tests); lines people
// write come from csv_import.h or the chat parser.
inline TransactionLine transaction_line(std::string date, bool income, std::string category, std::string item,
                                        Fen amount, std::string project = "", std::string fund = "",
                                        std::string counterparty = "", std::string note = "") {
  TransactionLine t;
  t.date = std::move(date);
  t.income = income;
  t.category = std::move(category);
  t.item = std::move(item);
  t.amount = amount;
  t.project = std::move(project);
  t.fund = std::move(fund);
  t.counterparty = std::move(counterparty);
  t.note = std::move(note);
  return t;
}

struct ProjectRegistration {
  std::string name;
  Fen approved = 0;
  bool special = false;  // special-purpose funds (专项资金) may be spent only on this project
};

// One line of a subsidy list. The identity number never reaches the ledger:
// only its salted hash and masked form do.
struct SubsidyLine {
  std::string program;  // 低保, 特困供养, ...
  std::string name_masked;
  std::string id_masked;
  std::string id_hash;  // hex HMAC-SHA256 under the deployment's salt
  Fen amount = 0;
  int persons = 1;
};

// An entry as stored: its index in the village's log, the canonical leaf bytes
// (the Merkle leaf, verbatim) and the same bytes parsed.
struct Entry {
  uint64_t index = 0;
  std::string leaf;
  nlohmann::json fields;
};

// A month's entries as Ledger::month_entries gives them: shared and
// immutable, so a month read again is neither copied nor parsed again.
using MonthEntries = std::shared_ptr<const std::vector<Entry>>;

struct AppendResult {
  std::vector<uint64_t> indexes;
  std::string checkpoint;  // signed note covering the new entries
};

struct Project {
  std::string name;
  Fen approved = 0;
  bool special = false;
  uint64_t index = 0;  // the registering entry
  bool finished = false;
};

struct MonthClose {
  std::string month;
  uint64_t statement_index = 0;
  uint64_t tree_size = 0;
  std::string checkpoint;
  nlohmann::json statement;  // the statement entry's fields
  std::string statement_leaf;  // the statement entry's leaf bytes, verbatim
  // The statement's inclusion proof in the month's own checkpoint (RFC 9162
  // PATH, nearest the leaf first): what a notice's tlog-proof block carries.
  // Filled by close_month and month_close (not month_closes, which lists).
  std::vector<Hash> statement_proof;
};

// A later checkpoint of a log that witnesses cosigned, with one entry's
// inclusion proof in it (Ledger::later_cosigned_inclusion).
struct CosignedInclusion {
  uint64_t size = 0;
  std::string checkpoint;   // signed by the log's key, with the cosignatures stored for it
  std::vector<Hash> proof;  // the entry's inclusion proof at size (RFC 9162 PATH)
};

// A witness the server stopped asking about a log (Ledger::refuse_witness).
struct WitnessRefusal {
  std::string log;
  std::string witness;  // its name, as in its cosignatures
  uint64_t witness_size = 0;
  std::string reason;
  int64_t at = 0;  // unix seconds
};

// The largest leaf a log accepts: a C2SP entry bundle prefixes each entry
// with a uint16 length, so a leaf must stay below 64 KiB.
inline constexpr size_t kMaxLeafBytes = 65535;

// A month's income and expense lines so far, net of reversals.
struct MonthTotals {
  Fen income = 0;
  Fen expense = 0;
};

struct VerifyProblem {
  std::string log;        // village id (or another log's name)
  uint64_t first_bad_index = 0;
  std::string reason;
};

struct VerifyReport {
  uint64_t logs_checked = 0;
  uint64_t entries_checked = 0;
  std::vector<VerifyProblem> problems;
  bool intact() const { return problems.empty(); }
};

// A string or fen field of an entry's parsed fields ("" or 0 when absent or
// of another type), for the modules that read entries.
inline std::string entry_string(const nlohmann::json& fields, const char* key) {
  auto it = fields.find(key);
  return it != fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}
inline Fen entry_fen(const nlohmann::json& fields, const char* key) {
  auto it = fields.find(key);
  return it != fields.end() && it->is_number_integer() ? it->get<Fen>() : 0;
}

// Validation shared by every way entries arrive (CLI, HTTP, chat); the
// messages are Chinese first with English in parentheses.
// reserved: the log names of upper modules (Ledger::Options::reserved_log_names).
Status validate_village(const Village& v, const std::set<std::string>& reserved = {});
Status validate_transaction(const TransactionLine& line);
Status validate_project(const ProjectRegistration& p);
Status validate_subsidy(const SubsidyLine& s);
// Canonical bytes: deterministic JSON (sorted keys, no insignificant
// whitespace, UTF-8). Fails on invalid UTF-8.
Result<std::string> canonical_json(const nlohmann::json& value);

class Ledger;

// One write transaction: everything done through it commits together with a
// new signed checkpoint for every log it touched, or not at all. Upper modules
// add their own rows (dedupe records, outbox) through sql() so that they
// commit atomically with the entries that caused them.
class WriteTxn {
 public:
  Result<std::vector<uint64_t>> post_transactions(const std::string& village, const std::vector<TransactionLine>& lines,
                                                  const Author& author);
  Result<uint64_t> register_project(const std::string& village, const ProjectRegistration& p, const Author& author);
  Result<std::vector<uint64_t>> post_subsidies(const std::string& village, const std::string& month,
                                               const std::vector<SubsidyLine>& lines, const Author& author);
  Result<uint64_t> reverse(const std::string& village, uint64_t target, const std::string& reason,
                           const Author& author);
  // Marks a project finished (结项); its unspent special funds must then be accounted for.
  Result<uint64_t> finish_project(const std::string& village, const std::string& name, const Author& author);
  // Running totals of a month, including what this transaction added.
  Result<MonthTotals> month_totals(const std::string& village, const std::string& month);
  // Appends the month's statement; the caller reads the month checkpoint from
  // Ledger::month_close after commit.
  // When close is given it receives the month's close record (statement,
  // tree size, the checkpoint that ends at the statement).
  // alerts, when given (an array), is signed in the statement as its field
  // "alerts": what the upper module that raises alerts (the bot) showed with
  // the month when it was published. The ledger does not judge them; being
  // in the signed leaf, they cannot be changed afterwards.
  Result<uint64_t> close_month(const std::string& village, const std::string& month, const Author& author,
                               MonthClose* close = nullptr, const nlohmann::json* alerts = nullptr);
  // Appends an arbitrary entry of another module (e.g. a complaint event) to a
  // named log, creating the log on first use.
  // With day_resolution the entry's recorded_at is the start of the UTC day,
  // not the second: an anonymous complaint must not be timed by its entry.
  Result<uint64_t> append_to_log(const std::string& log_name, const nlohmann::json& fields, const Author& author,
                                 bool day_resolution = false);

  // A log's size as this transaction sees it (0 when the log does not exist).
  Result<uint64_t> log_size(const std::string& log_name);
  // Calls visit with the index and stored leaf of each entry of a log from
  // index `from` on that was committed before this transaction began, not
  // what its writers appended (that may still roll back): for a module that
  // keeps a log in memory and catches up in the writer, whose pages are warm,
  // instead of opening a read of its own for every message.
  Status committed_leaves(const std::string& log_name, uint64_t from,
                          const std::function<void(uint64_t index, std::string_view leaf)>& visit);

  // Records every village in the signed registry (the "villages" log) when
  // the deployment predates it: no registry log at all. Each registration is
  // marked "imported"; from then on verify checks the villages table against
  // the registry. A folder that cannot sign (a backup) is left as it is.
  Status register_existing_villages();

  // Signs `message` with the log key, for rows another module must be able
  // to trust later (a queued push). Callers start their messages with a line
  // that holds a space, which no checkpoint's origin line can.
  Result<std::string> sign(std::string_view message) const;

  // The upper modules' own tables, in this transaction (see ledger/sql.h:
  // what it throws, Ledger::write turns into the write's Status). Its
  // statements are reused across writes.
  sql::Session& sql();
  int64_t now() const { return now_; }

 private:
  friend class Ledger;
  struct LogState;
  WriteTxn(Ledger* ledger, ledger_internal::Connection* db, int64_t now);
  ~WriteTxn();
  Result<LogState*> log_for(const std::string& log_name);
  std::vector<std::string> duplicate_check(const LogState& log, const std::vector<TransactionLine>& lines,
                                           std::vector<std::string>* errors, std::set<Code>* codes);
  // In-memory tree state, saved before each writer of a group commit and
  // restored when that writer's SAVEPOINT is rolled back.
  struct Snapshot {
    size_t log_count = 0;
    std::vector<std::pair<CompactRange, bool>> states;
  };
  Snapshot snapshot() const;
  void restore(Snapshot snap);
  Result<uint64_t> append(LogState* log, nlohmann::json fields, const Author& author, bool day_resolution = false);
  Status finish();  // writes frontiers and signs checkpoints
  void committed();  // after the commit: what it wrote, for the ledger's memory of line keys

  Ledger* ledger_;
  ledger_internal::Connection* db_;
  int64_t now_;
  std::vector<std::unique_ptr<LogState>> logs_;
  std::map<std::string, std::string> signed_;
};

class Ledger {
 public:
  struct Options {
    std::string db_path;
    const NoteSigner* signer = nullptr;  // required for writes and verification
    Clock* clock = nullptr;              // required
    int utc_offset_minutes = kChinaStandardTimeOffsetMinutes;  // replaced by the stored zone, if any
    // Names of logs that upper modules keep (the bot's complaint and admin
    // logs, see Bot::reserved_log_names): no village may take one.
    std::set<std::string> reserved_log_names;
  };

  // Creates the schema and records the origin and the deployment's time zone
  // (minutes east of UTC). Idempotent for the same origin.
  // The signed registry of villages (one entry per village: id, name, town),
  // a log of its own that no village may take the name of.
  static constexpr const char* kRegistryLog = "villages";

  static Status initialize(const std::string& db_path, const std::string& origin,
                           int utc_offset_minutes = kChinaStandardTimeOffsetMinutes);
  static Result<std::unique_ptr<Ledger>> open(const Options& options);
  // The origin recorded by initialize(), needed to name the key before opening.
  static Result<std::string> stored_origin(const std::string& db_path);
  ~Ledger();

  const std::string& origin() const { return origin_; }
  const NoteSigner& signer() const { return *options_.signer; }
  Clock& clock() const { return *options_.clock; }
  int utc_offset_minutes() const { return options_.utc_offset_minutes; }
  std::string current_month() const;
  std::string verifier_key() const;

  // Runs fn in one IMMEDIATE transaction; commits (durably) only if fn and
  // the checkpoint signing succeed. A failed fn leaves nothing behind. When
  // given, signed_checkpoints receives the new note of every log written.
  Status write(const std::function<Status(WriteTxn&)>& fn,
               std::map<std::string, std::string>* signed_checkpoints = nullptr);

  // Convenience single-operation writes.
  Status add_village(const Village& v);
  Result<AppendResult> post_transactions(const std::string& village, const std::vector<TransactionLine>& lines,
                                         const Author& author);
  Result<AppendResult> register_project(const std::string& village, const ProjectRegistration& p,
                                        const Author& author);
  Result<AppendResult> reverse(const std::string& village, uint64_t target, const std::string& reason,
                               const Author& author);
  Result<MonthClose> close_month(const std::string& village, const std::string& month, const Author& author);

  // A number that moves whenever something may have been committed, for
  // caches of answers (the bot's directory, its rendered 账目): while it stays
  // put they skip storage altogether. A commit through this Ledger moves it
  // before write() returns. A commit by another process (the CLI beside a
  // running `serve`) moves it within kExternalChangeDelay: at most that often
  // one caller asks SQLite (PRAGMA data_version on a connection of its own,
  // which every other connection's commit moves); everyone else reads an
  // atomic. It also moves when that check fails, so a cache goes to storage
  // and meets the error there. Thread safe.
  static constexpr std::chrono::milliseconds kExternalChangeDelay{1000};
  uint64_t change_generation();

  // Reads.
  Result<std::vector<Village>> villages();
  Result<Village> village(const std::string& id);
  Result<uint64_t> log_size(const std::string& log_name);
  // Every log this ledger signs that holds an entry (the villages', the
  // registry and the upper modules' logs), by name: what the witnesses are
  // asked about.
  Result<std::vector<std::string>> log_names();
  // Entries in all village logs (complaints and other logs not counted).
  Result<uint64_t> total_entries();
  // The village registry's size (kRegistryLog: add_village appends to it in
  // the transaction that adds the village, so it moves with every village
  // added) and a log's size (0 when it does not exist), in one read of two
  // rows: for caches keyed on both (the bot's directory). A count of the
  // villages' table here scanned it on every official's message.
  Result<std::pair<uint64_t, uint64_t>> registry_and_log_size(const std::string& log_name);
  // The latest signed note, with the witnesses' cosignatures stored for it
  // (month_close and month_closes carry theirs the same way).
  Result<std::string> checkpoint(const std::string& log_name);
  // Stores a witness's cosignature on one of the log's checkpoints: `note` is
  // the checkpoint (signed by the log key, of ORIGIN/log_name) with the
  // witness's cosignature/v1 line among its signatures, verified under
  // `witness_vkey` ("name+hexid+base64(0x04 ‖ key)") before it is kept.
  // Kept once per (log, size, witness name); served with every note of that
  // size and root from then on (ledger/cosignatures.h).
  Status add_cosignature(const std::string& log_name, const std::string& note, const std::string& witness_vkey);
  // What is stored of the cosignatures on the checkpoint of the log's month
  // (the one its notice and month page show): "rows:latest row", for page
  // caches, whose pages must change when a cosignature arrives after the
  // first render. kNotFound when the month is not closed.
  Result<std::string> month_cosignatures_mark(const std::string& log_name, const std::string& month);
  // For a month's notice whose own checkpoint a witness was carried past
  // before cosigning it (another node, or this one after a restart,
  // submitted a later one first; a witness never goes back): the smallest
  // size above `after` at which at least `quorum` of the witnesses with
  // these verifier keys have a stored cosignature that verifies on this
  // log's tree, as a checkpoint signed by the log's key carrying them, with
  // entry `index`'s inclusion proof at that size. Looks at the
  // kLaterCosignedSizes smallest sizes at which enough of these witnesses'
  // names have rows, among the first kLaterCosignedRows rows above `after`,
  // no more (a log cosigned after every append has as many sizes as
  // entries, and a held notice is looked at every round). kNotFound when
  // there is none.
  static constexpr size_t kLaterCosignedSizes = 64;
  static constexpr int64_t kLaterCosignedRows = 10'000;
  Result<CosignedInclusion> later_cosigned_inclusion(const std::string& log_name, uint64_t index, uint64_t after,
                                                     const std::vector<std::string>& witness_vkeys, size_t quorum);
  // The largest size of the log a witness (by name) cosigned; 0 when none.
  Result<uint64_t> cosigned_size(const std::string& log_name, const std::string& witness);
  // A witness (by name) that holds a larger tree of the log, or another root
  // at the same size: it is asked no more (ledger/cosignatures.h). A row of
  // that (log, witness) there already is replaced (one put in by hand must
  // not keep a genuine refusal unsigned). `record` runs in the same write
  // (not for a log that is gone), for the signed record of it (the bot's
  // admin log): a row with no such record was put in by hand.
  Status refuse_witness(const std::string& log_name, const std::string& witness, uint64_t witness_size,
                        const std::string& reason,
                        const std::function<Status(WriteTxn&, const WitnessRefusal&)>& record);
  Result<std::vector<WitnessRefusal>> witness_refusals();
  // The refusals and the size of log `log_name` (the log that records them)
  // read in one snapshot, so that each row can be compared with the entries
  // up to that size: a refusal recorded or cleared a moment later is not
  // taken for a row without its entry, nor an entry without its row.
  struct WitnessRefusalsAt {
    std::vector<WitnessRefusal> rows;
    uint64_t log_size = 0;
  };
  Result<WitnessRefusalsAt> witness_refusals_at(const std::string& log_name);
  // Calls `record` with every refusal row, in one write (the one-time list
  // of the rows made before refusals were recorded).
  Status list_witness_refusals(const std::function<Status(WriteTxn&, const std::vector<WitnessRefusal>&)>& record);
  // Removes the refusal of (log, witness by name), so the submitter asks
  // that witness about the log again; `record` runs in the same write with
  // the refusal removed, for the signed record of who cleared it and why (the
  // bot's admin log). kNotFound when there is no such refusal.
  Status clear_witness_refusal(const std::string& log_name, const std::string& witness,
                               const std::function<Status(WriteTxn&, const WitnessRefusal&)>& record);
  // The witnesses this deployment trusts (bots.json "witnesses", their
  // cosignature/v1 verifier keys): a stored cosignature is served and passes
  // verify only when it verifies under one of these, never under a key the
  // database holds. None set: no cosignature is served, and verify names
  // every stored one. Thread safe; replaces the keys set before.
  void set_witness_keys(const std::vector<std::string>& vkeys);
  Result<std::vector<Entry>> entries(const std::string& log_name, uint64_t from, uint64_t to);
  // The entries of the month, in log order (never null). Kept in memory
  // while the village's log does not grow (ledger/month_cache.h).
  Result<MonthEntries> month_entries(const std::string& village, const std::string& month);
  Result<std::vector<Project>> projects(const std::string& village);
  Result<MonthClose> month_close(const std::string& village, const std::string& month);
  Result<std::vector<MonthClose>> month_closes(const std::string& village);
  Result<std::optional<std::string>> last_closed_month(const std::string& village);
  // The only month close_month accepts next (months close in order, an empty
  // one too); nullopt when nothing was closed or written yet.
  Result<std::optional<std::string>> month_to_close(const std::string& village);
  Result<Hash> root(const std::string& log_name, uint64_t size);
  Result<std::vector<Hash>> inclusion_proof(const std::string& log_name, uint64_t index, uint64_t size);
  Result<std::vector<Hash>> consistency_proof(const std::string& log_name, uint64_t from, uint64_t to);
  // One C2SP tlog-tiles resource of a log (ledger/tlog_tiles.h): a level-L
  // tile is `width` stored subtree hashes of height 8L (32 bytes each), an
  // entry bundle the leaves, each after its uint16 big-endian length.
  // kNotFound for an unknown log or a tile beyond the log's size (a tile
  // within it never changes, whatever is appended later).
  Result<std::string> tile(const std::string& log_name, const TileId& tile);

  // Runs fn on a pooled read-only connection inside one read transaction
  // (a consistent snapshot), for upper modules' own tables and the logs they
  // keep. What sql() throws, read turns into its Status.
  class ReadTxn {
   public:
    virtual ~ReadTxn() = default;
    // The upper modules' own tables (ledger/sql.h). Statements are prepared
    // once per connection and reused.
    virtual sql::Session& sql() = 0;
    // Calls visit with the index and stored leaf bytes of each entry of a
    // log from index `from` on, in order, in this snapshot: for a module
    // that checks its own tables against the log it keeps (an unknown log
    // has no entries). The hashes and checkpoints are verify's to check.
    // A storage failure is the Status returned (what visit throws, read
    // turns into its own).
    virtual Status leaves(const std::string& log_name, uint64_t from,
                          const std::function<void(uint64_t index, std::string_view leaf)>& visit) = 0;
    // The log's size in this snapshot (0 for a log not started): for a
    // module comparing its tables with the entries it replayed up to a size.
    [[nodiscard]] virtual Result<uint64_t> log_size(const std::string& log_name) = 0;
  };
  Status read(const std::function<Status(ReadTxn&)>& fn);

  // Writes a consistent copy of the whole database to dest_path (a new file,
  // mode 0600) with SQLite's online backup API, while writers go on.
  Status backup(const std::string& dest_path);

  // Recomputes every leaf hash, subtree hash and tree head from the stored
  // leaf bytes and checks every kept checkpoint against them. An empty
  // log_name checks every log, and the schema's triggers (log "schema").
  Result<VerifyReport> verify(const std::string& log_name = "");

  // The module that makes a table registers the triggers it makes on it (the
  // ledger registers its own at open; the ledger names no other module's
  // table). verify names every trigger in the database that is not exactly
  // one registered (name, table and SQL) and every registered one that is
  // missing. Thread safe.
  void expect_triggers(const std::vector<SchemaTrigger>& triggers);
  // The same for the indexes a module makes: verify names every index (but
  // SQLite's own, for PRIMARY KEY and UNIQUE columns) that is not exactly
  // one registered. Thread safe.
  void expect_indexes(const std::vector<SchemaIndex>& indexes);
  // The same for the tables a module makes: verify names every table or
  // view (but SQLite's own, sqlite_…) that is not registered, every one whose
  // CREATE text is none of its registered forms, and every registered one
  // missing (but a legacy one). Thread safe.
  void expect_tables(const std::vector<SchemaTable>& tables);
  // Just that check (log "schema", entry 0): what verify("") adds to the
  // logs, for a write that checks only the logs it extends.
  Result<std::vector<VerifyProblem>> verify_schema();

  // One log's entries and the verdict of verify() on it, both read in one
  // snapshot: the entries returned are exactly the ones the check covered.
  // (Read apart, a leaf edited between the read and the check, and put back,
  // would be acted on as if verified.) kNotFound for an unknown log.
  struct CheckedEntries {
    std::vector<Entry> entries;
    bool intact = false;
    // The first entry verify found bad (entries.size() when intact): the
    // entries before it match the log's signed checkpoints.
    uint64_t first_bad = 0;
  };
  Result<CheckedEntries> checked_entries(const std::string& log_name);

  // Once verification failed, nothing more is signed on top of altered data:
  // every append is refused (kDataLoss) until the process restarts on an
  // intact database; reads go on. An empty `what` clears it (a later verify
  // found the ledger intact again). Thread safe.
  void set_integrity_failure(const std::string& what);
  // What failed ("" while intact). Thread safe.
  std::string integrity_failure() const;
  // Called when a write is refused because stored data failed a check made
  // inside it (a log's stored state that no longer matches its signed
  // checkpoint; a village log that fails the verify its month close runs),
  // with what was refused: `serve` has the whole ledger checked at once,
  // rather than at the next hourly check. Called on the writing thread,
  // inside the write: it must neither write nor wait. Null: nothing. Thread
  // safe; the caller clears it before what it calls goes away.
  void set_on_refused_write(std::function<void(const std::string& what)> fn);

  // WAL checkpoints the background thread has completed (see wal_checkpointer.h).
  uint64_t wal_checkpoints_done() const;
  // Bytes SQLite holds in memory in this process (page caches of the writer
  // and of every pooled reader, prepared statements), for /metrics.
  static int64_t storage_memory_bytes();

 private:
  friend class WriteTxn;
  class ReadConnection;
  explicit Ledger(const Options& options);
  ReadConnection read();
  struct Writer;
  static constexpr size_t kMaxBatch = 256;
  // Adds to batch the writers queued after it (up to kMaxBatch in all);
  // whether there were any. The leader's alone.
  bool take_arrivals(std::vector<Writer*>& batch);
  void run_batch(std::vector<Writer*>& batch);
  // Runs batch[first…] in one transaction until a writer must run again
  // holding no lock (lock_until_commit); commits those before it. Returns the
  // index of the first writer not run (batch.size() when all were). relock:
  // batch[first] was refused a lock while it ran first, and takes every lock
  // it wanted before it runs again (Connection::take_refused_writers_locks).
  size_t run_segment(std::vector<Writer*>& batch, size_t first, bool relock);
  static std::vector<SchemaTrigger> own_triggers();
  // Runs fn on the log's tree as of one read snapshot.
  template <typename T>
  Result<T> with_tree(const std::string& log_name, const char* what, const std::function<Result<T>(MerkleTree&)>& fn);

  Options options_;
  std::string origin_;
  std::mutex queue_mu_;
  std::deque<Writer*> writers_;
  std::unique_ptr<ledger_internal::Connection> writer_;
  // The storage engine (sql_engine.h), chosen at open by options_.db_path.
  // After writer_: its background work on the writer (SQLite's WAL
  // checkpoints) stops before that connection closes.
  std::unique_ptr<ledger_internal::Engine> engine_;
  // Checkpoint notes known to carry our signature (we signed or verified
  // them), by log name. Lets a write skip re-verifying the last checkpoint;
  // touched only by the current group-commit leader.
  std::map<std::string, std::string> trusted_notes_;
  // Which duplicate-check keys each log's lines have (line_keys.h), so that
  // a line with a new key costs the check no query; the leader's alone too.
  std::unique_ptr<ledger_internal::LineKeysSeen> line_keys_seen_;
  // Each log's row id by name, learnt from committed transactions (a log's
  // row is never deleted or renamed), so a write finds its log's row without
  // a query of its own; log_for still checks the name on the row it locks.
  // The leader's alone too.
  std::map<std::string, int64_t> log_ids_;
  // The months month_entries read lately (thread safe on its own).
  std::unique_ptr<ledger_internal::MonthEntriesCache> month_cache_;
  // Set at construction, never replaced (its contents are, under its own mutex).
  std::shared_ptr<ledger_internal::WitnessKeys> witness_keys_;
  std::mutex schema_mu_;
  std::map<std::string, SchemaTrigger> expected_triggers_;  // by name; guarded by schema_mu_
  std::map<std::string, std::string> expected_indexes_;     // name -> sql; guarded by schema_mu_
  std::map<std::string, SchemaTable> expected_tables_;      // by name; guarded by schema_mu_
  mutable std::mutex integrity_mu_;
  std::string integrity_failure_;
  std::function<void(const std::string&)> on_refused_write_;  // guarded by integrity_mu_
  void refused_write(const std::string& what);
  // change_generation(): bumped after every commit of write() and by the
  // throttled check for other processes' commits (probe_mu_ guards the
  // engine's probe and its last value).
  std::atomic<uint64_t> generation_{1};
  std::atomic<int64_t> last_probe_start_ns_{0};
  std::mutex probe_mu_;
  int64_t probe_data_version_ = -1;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<ledger_internal::Connection>> readers_;
};

}  // namespace sunledger
