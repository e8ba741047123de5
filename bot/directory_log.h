// What the directory's source files (directory.cc, api_tokens.cc) share:
// how a change is written to the admin log, and the check of an inspector's
// area. Private to bot/; nothing outside the directory includes it.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

#include "ledger/ledger.h"

namespace sunledger::directory_log {

// Appends one change ("kind": "directory") to the admin log inside txn.
Status log_change(WriteTxn& txn, nlohmann::json fields, const Author& by);
// A token's fields in the admin log: its SHA-256, never the token.
nlohmann::json token_fields(int64_t id, const std::string& hash, const std::string& role, const std::string& village,
                            const std::string& area, const std::string& label, int64_t created_at,
                            std::optional<int64_t> expires_at);
// An inspector's area is a registered village's town, or "all": `villages`
// as the signed registry has them (DirectoryStore's snapshot).
Status known_area(const std::map<std::string, Village>& villages, const std::string& area);

}  // namespace sunledger::directory_log
