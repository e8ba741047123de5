// Duplicate posting (issue #16): a line identical in direction, date, amount,
// item and counterparty to one posted in the last 30 days is refused unless
// marked as intended. The derived table `line_keys` indexes every posted line
// by a digest of those fields so the check costs one index lookup per line,
// not a scan of the month. Private to the ledger library; the writer and
// verify use it on their own connections, one thread each.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ledger/money.h"

namespace sunledger::ledger_internal {
class Connection;
}

namespace sunledger::ledger_internal {

// How long an identical line counts as a likely double post.
inline constexpr int64_t kDuplicateWindowSeconds = 30 * 86400;

// 16 bytes of SHA-256 over the fields, each length-prefixed so no two
// different lines share the preimage.
std::string line_key(std::string_view direction, std::string_view date, Fen amount, std::string_view item,
                     std::string_view counterparty);

inline constexpr const char* kLineKeysTable =
    "CREATE TABLE IF NOT EXISTS line_keys(log_id INTEGER NOT NULL REFERENCES logs(id), key BLOB NOT NULL,"
    " idx INTEGER NOT NULL, PRIMARY KEY(log_id, key, idx)) WITHOUT ROWID";
inline constexpr const char* kInsertLineKey = "INSERT INTO line_keys(log_id, key, idx) VALUES(?,?,?)";
// The same for several rows: this followed by "(?,?,?),(?,?,?)...".
inline constexpr const char* kInsertLineKeysHead = "INSERT INTO line_keys(log_id, key, idx) VALUES";
inline constexpr const char* kFindLineKey = "SELECT idx FROM line_keys WHERE log_id=? AND key=? ORDER BY idx DESC";

// Fills the (new, empty) table from the signed entries: a database made
// before the table existed gets it at open, inside the caller's transaction.
// Throws sql::Error.
void fill_line_keys(Connection& db);

// The rows missing at the end of each village's log, filled: lines an older
// server posted after a newer binary (a CLI command beside it during an
// upgrade) made the table. Walks each log back from its last line to the
// first that has its row, so an up-to-date database costs two lookups per
// village. Returns how many rows it added. Throws sql::Error.
int fill_trailing_line_keys(Connection& db);

// Which keys the money lines of each log have, kept in memory by the writer:
// nearly every line posted has a key no line had, and its duplicate check
// then costs no query (on PostgreSQL a round trip, a third of an append's
// time). Per log, a set of the keys' first 8 bytes, complete for the log's
// entries below `covered`: a key whose prefix is missing is certainly new,
// one whose prefix is there is looked up in line_keys as before. A log's set
// is loaded from line_keys the first time, and catches up from the entries
// another writer (a node sharing the database) appended since.
//
// Thread safety: none; the group commit's leader uses it, one at a time.
class LineKeysSeen {
 public:
  // Whether a line with `key` may be among the log's first `committed`
  // entries (its size as committed, read under the log's lock), after
  // bringing the log's set up to `committed`. Throws sql::Error.
  bool may_have(Connection& db, int64_t log_id, uint64_t committed, std::string_view key);
  // Entries [from, to) of the log committed, its money lines with `keys`:
  // the set covers them if it covered `from` (else it catches up later).
  void committed(int64_t log_id, uint64_t from, uint64_t to, const std::vector<std::string>& keys);

  // Beyond this many keys in all (about 50 bytes each), every set is
  // dropped and loaded again when next needed.
  static constexpr size_t kMaxKeys = 2'000'000;

 private:
  struct Log {
    uint64_t covered = 0;
    std::unordered_set<uint64_t> prefixes;
  };
  static uint64_t prefix(std::string_view key);
  std::unordered_map<int64_t, Log> logs_;
  size_t total_ = 0;
};

}  // namespace sunledger::ledger_internal
