#include "ledger/cosignatures.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "ledger/ledger_internal.h"
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

}  // namespace

std::string ledger_internal::with_cosignatures(SQLite::Database& db, int64_t log_id, std::string note) {
  uint64_t size = 0;
  std::string root;
  if (!body_size_root(note, &size, &root)) return note;
  SQLite::Statement q(db, "SELECT line FROM cosignatures WHERE log_id=? AND size=? AND root=? ORDER BY witness");
  q.bind(1, log_id);
  q.bind(2, static_cast<int64_t>(size));
  q.bind(3, root.data(), static_cast<int>(root.size()));
  while (q.executeStep()) {
    if (!note.empty() && note.back() != '\n') note += "\n";
    note += q.getColumn(0).getString() + "\n";
  }
  return note;
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
    auto& q = txn.sql().statement(
        "INSERT OR IGNORE INTO cosignatures(log_id, size, root, witness, line) "
        "SELECT id, ?, ?, ?, ? FROM logs WHERE name=?");
    q.bind(1, static_cast<int64_t>(cp->size));
    q.bind_blob(2, std::string(as_view(cp->root)));
    q.bind(3, name);
    q.bind(4, line);
    q.bind(5, log_name);
    q.exec();
    return Status::ok();
  });
}

Result<uint64_t> Ledger::cosigned_size(const std::string& log_name, const std::string& witness) {
  uint64_t size = 0;
  Status s = read([&](ReadTxn& r) -> Status {
    auto& q = r.sql().statement(
        "SELECT max(size) FROM cosignatures WHERE witness=? AND log_id=(SELECT id FROM logs WHERE name=?)");
    q.bind(1, witness);
    q.bind(2, log_name);
    if (q.step() && !q.column_is_null(0)) size = static_cast<uint64_t>(q.column_int64(0));
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return size;
}

Status Ledger::refuse_witness(const std::string& log_name, const std::string& witness, uint64_t witness_size,
                              const std::string& reason) {
  return write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement(
        "INSERT OR IGNORE INTO witness_refusals(log_id, witness, witness_size, reason, at) "
        "SELECT id, ?, ?, ?, ? FROM logs WHERE name=?");
    q.bind(1, witness);
    q.bind(2, static_cast<int64_t>(witness_size));
    q.bind(3, reason);
    q.bind(4, clock().now_unix_seconds());
    q.bind(5, log_name);
    q.exec();
    return Status::ok();
  });
}

Result<std::vector<WitnessRefusal>> Ledger::witness_refusals() {
  std::vector<WitnessRefusal> out;
  Status s = read([&](ReadTxn& r) -> Status {
    auto& q = r.sql().statement(
        "SELECT l.name, w.witness, w.witness_size, w.reason, w.at FROM witness_refusals w JOIN logs l ON l.id=w.log_id "
        "ORDER BY l.name, w.witness");
    while (q.step())
      out.push_back({q.column_text(0), q.column_text(1), static_cast<uint64_t>(q.column_int64(2)), q.column_text(3),
                     q.column_int64(4)});
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

}  // namespace sunledger
