// The bot's small tables that sit outside every log: who was seen in which
// village's group (so a private complaint finds its village) and the bot's
// own state (the day the overdue digest last went out). Each row carries a
// signature by the log key over what it says, and a row whose signature does
// not match is read as absent. An insider with `sqlite3` can delete rows
// (the villager is asked to name the village; a digest goes out twice) but
// cannot add or edit one that counts: a forged membership would file a
// villager's private complaint against another village, a forged date would
// suppress the day's digest of overdue complaints.
//
// Functions only, on the caller's transaction; no state, thread-safe as the
// transactions they are given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger {

namespace signed_rows {

Status create_schema(WriteTxn& txn);
// The tables create_schema makes, and the forms older deployments it added
// the signature column to have, for Ledger::expect_tables (the bot registers
// them).
std::vector<SchemaTable> own_tables();

// Records that `user` of `bot` spoke in `village`'s group (once; a row left
// by an older version without a signature is signed again).
Status record_seen_member(WriteTxn& txn, const std::string& bot, const std::string& user, const std::string& village);
// The villages whose groups `user` of `bot` spoke in, by rows whose
// signature matches `public_key`; in a write or in a read (Ledger::read).
Result<std::vector<std::string>> seen_villages(sql::Session& db, const std::string& public_key, const std::string& bot,
                                               const std::string& user);

// The bot's own key-value state, signed.
Status put_state(WriteTxn& txn, const std::string& key, const std::string& value);
// The value, when its signature matches `public_key`; nullopt when absent
// or forged.
std::optional<std::string> state(sql::Session& db, const std::string& public_key, const std::string& key);

}  // namespace signed_rows

}  // namespace sunledger
