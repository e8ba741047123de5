#include "ledger/cosignatures.h"


#include <cstring>
#include <iostream>
#include <set>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "ledger/ledger_internal.h"
#include "ledger/schema.h"
#include "ledger/tlog_proof.h"

namespace sunledger {

using namespace ledger_internal;

namespace {

// The size and root a note's body names, without checking its signature
// (the note is the log's own, as stored).
bool body_size_root(const std::string& note, uint64_t* size, std::string* root) {
  size_t a = note.find('\n');
  size_t b = a == std::string::npos ? a : note.find('\n', a + 1);
  size_t c = b == std::string::npos ? b : note.find('\n', b + 1);
  if (c == std::string::npos) return false;
  std::string s = note.substr(a + 1, b - a - 1);
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *size = std::stoull(s);
  auto r = base64_decode(note.substr(b + 1, c - b - 1));
  if (!r.is_ok() || r->size() != 32) return false;
  *root = *r;
  return true;
}

// A good line cache past this many entries starts again: it holds one line
// per witness and checkpoint served, which a long-running server keeps making.
constexpr size_t kMaxGoodLines = 100000;

}  // namespace

bool ledger_internal::cosignatures_table_by_slot(Connection& db) {
  // A PostgreSQL database is always made in today's form.
  if (db.dialect() == sql::Session::Dialect::kPostgresql) return false;
  auto& q = db.statement("SELECT sql FROM sqlite_master WHERE type='table' AND name='cosignatures'");
  return q.step() &&
         normalized_schema_sql(q.column_text(0)) == normalized_schema_sql(kCosignaturesTableBySlot);
}

void ledger_internal::migrate_cosignatures_table(Connection& db) {
  if (!cosignatures_table_by_slot(db)) return;
  // Not ALTER TABLE … RENAME: SQLite would store the new name quoted, a
  // text verify does not know. The rows go through a temporary table.
  db.exec("CREATE TEMP TABLE cosignatures_moving AS SELECT log_id, size, root, witness, line FROM cosignatures");
  db.exec("DROP TABLE cosignatures");  // its triggers with it
  db.exec(kCosignaturesTable);
  create_triggers(db, append_only_triggers("cosignatures", "the ledger is append-only"));
  db.exec("INSERT INTO cosignatures(log_id, size, root, witness, line) "
          "SELECT log_id, size, root, witness, line FROM cosignatures_moving");
  db.exec("DROP TABLE cosignatures_moving");
}

void WitnessKeys::set(const std::vector<std::string>& vkeys) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_.clear();
  for (const auto& k : vkeys) keys_[k.substr(0, k.find('+'))] = k;
  good_.clear();
}

std::string WitnessKeys::check(std::string_view body, const std::string& witness, const std::string& line) {
  std::string key;
  std::string memo = std::string(body) + line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(witness);
    if (it == keys_.end())
      return "witness " + witness + " is not configured (bots.json \"witnesses\"), so nothing vouches for its key";
    if (good_.count(memo)) return "";
    key = it->second;
  }
  // The line must be the row's witness's: a line of another name under this
  // row would be served as the witness's otherwise.
  std::string prefix = std::string("\xE2\x80\x94 ") + witness + " ";
  if (line.rfind(prefix, 0) != 0 || line.find('\n') != std::string::npos)
    return "the stored line is not a cosignature line of witness " + witness;
  if (!verify_cosignature(std::string(body) + "\n" + line + "\n", key).is_ok())
    return "witness " + witness + "'s cosignature does not verify under its configured key on this checkpoint "
           "(made up, or moved from another checkpoint)";
  std::lock_guard<std::mutex> lock(mu_);
  if (keys_.count(witness) && keys_[witness] == key) {
    if (good_.size() >= kMaxGoodLines) good_.clear();
    good_.insert(std::move(memo));
  }
  return "";
}

bool WitnessKeys::first_report(const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reported_.size() >= kMaxGoodLines) return false;
  return reported_.insert(what).second;
}

std::string ledger_internal::with_cosignatures(Connection& db, int64_t log_id, std::string note, WitnessKeys& keys) {
  uint64_t size = 0;
  std::string root;
  if (!body_size_root(note, &size, &root)) return note;
  const std::string body = note_body(note);
  // PostgreSQL has no rowid: a witness's lines in line order there (one is
  // served per witness, the first that verifies).
  auto& q = db.dialect() == sql::Session::Dialect::kPostgresql
                ? db.statement("SELECT witness, line FROM cosignatures WHERE log_id=? AND size=? AND root=? "
                               "ORDER BY witness, line")
                : db.statement("SELECT witness, line FROM cosignatures WHERE log_id=? AND size=? AND root=? "
                               "ORDER BY witness, rowid");
  q.bind(1, log_id);
  q.bind(2, static_cast<int64_t>(size));
  q.bind_blob(3, root);
  std::string served;  // the witness whose line was just served: one line each
  while (q.step()) {
    std::string witness = q.column_text(0), line = q.column_text(1);
    if (witness == served) continue;
    std::string why = keys.check(body, witness, line);
    if (!why.empty()) {
      // The line itself is public (it would have been served); no key or
      // secret is named. Once per row and process.
      std::string where = body.substr(0, body.find('\n')) + " size " + std::to_string(size);
      if (keys.first_report(where + "\n" + witness + "\n" + line))
        std::cerr << "sunledger: WARNING: a stored cosignature on " << where << " was not served: " << why
                  << " (run `sunledger verify`)\n";
      continue;
    }
    if (!note.empty() && note.back() != '\n') note += "\n";
    note += line + "\n";
    served = witness;
  }
  return note;
}

std::vector<CosignatureProblem> ledger_internal::check_cosignature_rows(
    Connection& db, int64_t log_id, const std::string& log_origin, uint64_t entries,
    const std::function<Hash(uint64_t)>& root_at, WitnessKeys& keys) {
  // typeof: PostgreSQL's typed columns hold nothing else.
  auto& q = db.dialect() == sql::Session::Dialect::kPostgresql
                ? db.statement("SELECT size, root, witness, line, 1 FROM cosignatures WHERE log_id=? ORDER BY size, witness")
                : db.statement(
                      "SELECT size, root, witness, line, typeof(size)='integer' AND typeof(root)='blob' FROM cosignatures "
                      "WHERE log_id=? ORDER BY size, witness");
  q.bind(1, log_id);
  std::vector<CosignatureProblem> out;
  size_t more = 0;
  while (q.step()) {
    int64_t size = q.column_int64(0);
    std::string_view root_col = q.column_blob_view(1);
    std::string root(root_col.data(), root_col.size());
    std::string witness = q.column_text(2), line = q.column_text(3);
    std::string why;
    if (q.column_int(4) == 0 || size <= 0 || root.size() != 32)
      why = "a row of witness " + witness + " is malformed (size or root not as the ledger writes them)";
    else if (static_cast<uint64_t>(size) > entries)
      why = "witness " + witness + "'s cosignature is on size " + std::to_string(size) + " but the log holds only " +
            std::to_string(entries) + " entries";
    else if (std::memcmp(root_at(static_cast<uint64_t>(size)).data(), root.data(), 32) != 0)
      why = "witness " + witness + "'s cosignature is on a root that is not this log's tree at size " + std::to_string(size);
    else {
      Checkpoint cp{log_origin, static_cast<uint64_t>(size), {}};
      std::memcpy(cp.root.data(), root.data(), 32);
      why = keys.check(checkpoint_body(cp), witness, line);
    }
    if (why.empty()) continue;
    if (out.empty()) out.push_back({size > 0 ? static_cast<uint64_t>(size) : 0, "cosignatures: " + why});
    else ++more;
  }
  if (more > 0) out[0].reason += " (and " + std::to_string(more) + " more bad cosignature rows in this log)";
  return out;
}

Status Ledger::add_cosignature(const std::string& log_name, const std::string& note, const std::string& witness_vkey) {
  auto cp = open_checkpoint(note, verifier_key());
  if (!cp.is_ok()) return cp.status();
  if (cp->origin != origin_ + "/" + log_name) return invalid_argument("the checkpoint is not of log " + log_name);
  std::string name = witness_vkey.substr(0, witness_vkey.find('+'));
  // The witness's line, as it sent it: the first of its name that verifies.
  std::string body = note.substr(0, note.find("\n\n") + 2);
  std::string prefix = std::string("\xE2\x80\x94 ") + name + " ";
  std::string line;
  for (size_t at = body.size(); at < note.size();) {
    size_t eol = note.find('\n', at);
    std::string l = note.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
    at = eol == std::string::npos ? note.size() : eol + 1;
    if (l.rfind(prefix, 0) == 0 && verify_cosignature(body + l + "\n", witness_vkey).is_ok()) {
      line = l;
      break;
    }
  }
  if (line.empty()) return data_loss("no valid cosignature by " + name);
  return write([&](WriteTxn& txn) -> Status {
    // The slot is taken only by a row that verifies under this key on this
    // checkpoint: a forged row an insider put there first is passed over
    // (verify names it), and the genuine line is stored beside it.
    auto& have = txn.sql().statement(
        "SELECT root, line FROM cosignatures WHERE log_id=(SELECT id FROM logs WHERE name=?) AND size=? AND witness=?");
    have.bind(1, log_name);
    have.bind(2, static_cast<int64_t>(cp->size));
    have.bind(3, name);
    bool taken = false;
    while (!taken && have.step())
      taken = have.column_blob(0) == as_view(cp->root) &&
              verify_cosignature(body + have.column_text(1) + "\n", witness_vkey).is_ok();
    have.reset();
    if (taken) return Status::ok();
    auto& q = txn.sql().statement(
        "INSERT INTO cosignatures(log_id, size, root, witness, line) "
        "SELECT id, ?, ?, ?, ? FROM logs WHERE name=? ON CONFLICT DO NOTHING");
    q.bind(1, static_cast<int64_t>(cp->size));
    q.bind_blob(2, std::string(as_view(cp->root)));
    q.bind(3, name);
    q.bind(4, line);
    q.bind(5, log_name);
    q.exec();
    return Status::ok();
  });
}

Result<std::string> Ledger::month_cosignatures_mark(const std::string& log_name, const std::string& month) {
  std::string mark;
  Status s = read([&](ReadTxn& r) -> Status {
    // PostgreSQL has no rowid; its rows are never deleted (the triggers), so
    // their count and their lines' total length move with every new row.
    auto& q = r.sql().dialect() == sql::Session::Dialect::kPostgresql
                  ? r.sql().statement(
                        "SELECT count(c.line), coalesce(sum(length(c.line)), 0) FROM month_closes m JOIN logs l "
                        "ON l.id=m.log_id LEFT JOIN cosignatures c ON c.log_id=m.log_id AND c.size=m.tree_size "
                        "WHERE l.name=? AND m.month=? GROUP BY m.log_id")
                  : r.sql().statement(
                        "SELECT count(c.rowid), coalesce(max(c.rowid), 0) FROM month_closes m JOIN logs l ON l.id=m.log_id "
                        "LEFT JOIN cosignatures c ON c.log_id=m.log_id AND c.size=m.tree_size WHERE l.name=? AND m.month=? "
                        "GROUP BY m.log_id");
    q.bind(1, log_name);
    q.bind(2, month);
    if (q.step()) mark = std::to_string(q.column_int64(0)) + ":" + std::to_string(q.column_int64(1));
    q.reset();
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  if (mark.empty()) return not_found("month " + month + " of " + log_name + " is not closed");
  return mark;
}

Result<uint64_t> Ledger::cosigned_size(const std::string& log_name, const std::string& witness) {
  // Only a row that verifies counts: a forged one at a large size would
  // have the submitter take the witness for one holding a larger tree, and
  // refuse it.
  uint64_t size = 0;
  Status s = read([&](ReadTxn& r) -> Status {
    auto& q = r.sql().statement(
        "SELECT size, root, line FROM cosignatures WHERE witness=? AND log_id=(SELECT id FROM logs WHERE name=?) "
        "ORDER BY size DESC");
    q.bind(1, witness);
    q.bind(2, log_name);
    while (q.step()) {
      std::string root = q.column_blob(1);
      if (q.column_int64(0) <= 0 || root.size() != 32) continue;
      Checkpoint cp{origin_ + "/" + log_name, static_cast<uint64_t>(q.column_int64(0)), {}};
      std::memcpy(cp.root.data(), root.data(), 32);
      if (witness_keys_->check(checkpoint_body(cp), witness, q.column_text(2)).empty()) {
        size = cp.size;
        break;
      }
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return size;
}

void Ledger::set_witness_keys(const std::vector<std::string>& vkeys) { witness_keys_->set(vkeys); }

namespace {
// Every refusal row, by log and witness.
std::vector<WitnessRefusal> refusal_rows(sql::Session& db) {
  std::vector<WitnessRefusal> out;
  auto& q = db.statement(
      "SELECT l.name, w.witness, w.witness_size, w.reason, w.at FROM witness_refusals w JOIN logs l ON l.id=w.log_id "
      "ORDER BY l.name, w.witness");
  while (q.step())
    out.push_back({q.column_text(0), q.column_text(1), static_cast<uint64_t>(q.column_int64(2)), q.column_text(3),
                   q.column_int64(4)});
  return out;
}
}  // namespace

Status Ledger::refuse_witness(const std::string& log_name, const std::string& witness, uint64_t witness_size,
                              const std::string& reason,
                              const std::function<Status(WriteTxn&, const WitnessRefusal&)>& record) {
  return write([&](WriteTxn& txn) -> Status {
    WitnessRefusal r{log_name, witness, witness_size, reason, clock().now_unix_seconds()};
    auto& q = txn.sql().statement(
        "INSERT INTO witness_refusals(log_id, witness, witness_size, reason, at) "
        "SELECT id, ?, ?, ?, ? FROM logs WHERE name=? ON CONFLICT(log_id, witness) DO UPDATE SET "
        "witness_size=excluded.witness_size, reason=excluded.reason, at=excluded.at");
    q.bind(1, witness);
    q.bind(2, static_cast<int64_t>(witness_size));
    q.bind(3, reason);
    q.bind(4, r.at);
    q.bind(5, log_name);
    // A row there already is replaced, and the refusal signed: kept, a row
    // put in by hand (no key needed) held the place of a genuine refusal,
    // which was then alarmed but never signed (review R15). One the server
    // signed before loses nothing: its entry stays in the admin log, and
    // the row and the latest entry agree. A log that is gone (dropped
    // whole) has no row to refuse: nothing to record.
    if (q.exec() == 0) return Status::ok();
    return record(txn, r);
  });
}

Result<std::vector<WitnessRefusal>> Ledger::witness_refusals() {
  auto at = witness_refusals_at("");
  if (!at.is_ok()) return at.status();
  return std::move(at->rows);
}

Result<Ledger::WitnessRefusalsAt> Ledger::witness_refusals_at(const std::string& log_name) {
  WitnessRefusalsAt out;
  Status s = read([&](ReadTxn& r) -> Status {
    out.rows = refusal_rows(r.sql());
    auto& q = r.sql().statement("SELECT size FROM logs WHERE name=?");
    q.bind(1, log_name);
    if (q.step()) out.log_size = static_cast<uint64_t>(q.column_int64(0));
    q.reset();
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Status Ledger::list_witness_refusals(
    const std::function<Status(WriteTxn&, const std::vector<WitnessRefusal>&)>& record) {
  return write([&](WriteTxn& txn) -> Status { return record(txn, refusal_rows(txn.sql())); });
}

Status Ledger::clear_witness_refusal(const std::string& log_name, const std::string& witness,
                                     const std::function<Status(WriteTxn&, const WitnessRefusal&)>& record) {
  return write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement(
        "SELECT w.witness_size, w.reason, w.at FROM witness_refusals w JOIN logs l ON l.id=w.log_id "
        "WHERE l.name=? AND w.witness=?");
    q.bind(1, log_name);
    q.bind(2, witness);
    if (!q.step()) {
      q.reset();
      return not_found("见证人“" + witness + "”没有被停止提交日志“" + log_name + "” (no refusal of log " + log_name +
                       " by witness " + witness + ")");
    }
    WitnessRefusal r{log_name, witness, static_cast<uint64_t>(q.column_int64(0)), q.column_text(1), q.column_int64(2)};
    q.reset();
    auto& del = txn.sql().statement(
        "DELETE FROM witness_refusals WHERE witness=? AND log_id=(SELECT id FROM logs WHERE name=?)");
    del.bind(1, witness);
    del.bind(2, log_name);
    del.exec();
    return record(txn, r);
  });
}

Result<CosignedInclusion> Ledger::later_cosigned_inclusion(const std::string& log_name, uint64_t index, uint64_t after,
                                                           const std::vector<std::string>& witness_vkeys, size_t quorum) {
  if (quorum == 0 || witness_vkeys.size() < quorum)
    return invalid_argument("a quorum of " + std::to_string(quorum) + " of " + std::to_string(witness_vkeys.size()) +
                            " witnesses");
  if (options_.signer == nullptr) return failed_precondition("no signing key: the note cannot be made");
  try {
    auto conn = read();
    Transaction snapshot(conn.db(), Transaction::Kind::kRead);  // sizes, nodes and cosignatures from one snapshot
    auto row = find_log(conn.db().statement(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    // Candidates: the smallest sizes at which enough of the given witnesses'
    // names have rows (a row is the witness's word only once its line
    // verifies, below). Names outside the given keys (retired, never
    // configured, forged) make no size a candidate. Bounded as ledger.h says.
    std::set<std::string> names;
    for (const auto& key : witness_vkeys) names.insert(key.substr(0, key.find('+')));
    auto& q = conn.db().statement(
        "SELECT size, witness FROM cosignatures WHERE log_id=? AND size>? AND size<=? ORDER BY size LIMIT ?");
    q.bind(1, row->id);
    q.bind(2, static_cast<int64_t>(after));
    q.bind(3, static_cast<int64_t>(row->size));
    q.bind(4, kLaterCosignedRows);
    std::vector<uint64_t> sizes;
    int64_t at = -1;
    std::set<std::string> named;
    while (sizes.size() < kLaterCosignedSizes && q.step()) {
      int64_t size = q.column_int64(0);
      if (size != at) {
        at = size;
        named.clear();
      }
      std::string witness = q.column_text(1);
      if (names.count(witness) == 0 || !named.insert(witness).second) continue;
      if (named.size() == quorum) sizes.push_back(static_cast<uint64_t>(size));
    }
    q.reset();
    NodeTableSource source(conn.db().statement(kNodeQuery), row->id);
    MerkleTree tree(&source, row->size);
    for (uint64_t size : sizes) {
      if (index >= size) continue;
      auto root = tree.root(size);
      if (!root.is_ok()) return root.status();
      // The note as this log signs it at that size (our key's, Ed25519 is
      // deterministic); only cosignatures on this tree's root join it.
      auto note = sign_checkpoint(Checkpoint{origin_ + "/" + log_name, size, *root}, signer());
      if (!note.is_ok()) return note.status();
      std::string cosigned = with_cosignatures(conn.db(), row->id, *note, *witness_keys_);
      size_t have = 0;
      for (const auto& key : witness_vkeys)
        if (verify_cosignature(cosigned, key).is_ok()) ++have;
      if (have < quorum) continue;
      auto proof = tree.inclusion_proof(index, size);
      if (!proof.is_ok()) return proof.status();
      return CosignedInclusion{size, std::move(cosigned), std::move(*proof)};
    }
    return not_found("no later checkpoint of " + log_name + " is cosigned by " + std::to_string(quorum) + " witnesses");
  } catch (const sql::Error& e) {
    return from_sql(e, "later cosigned checkpoint");
  }
}

}  // namespace sunledger
