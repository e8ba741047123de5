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

}  // namespace sunledger::ledger_internal
