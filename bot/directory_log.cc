// The admin log's entries and the area check, shared by the directory's files.
#include "bot/directory_log.h"

#include "bot/directory.h"

namespace sunledger::directory_log {

using nlohmann::json;

// The admin log's entries: one per change, "kind": "directory". A token is
// recorded by its SHA-256 (what the table stores), never the token itself.
Status log_change(WriteTxn& txn, json fields, const Author& by) {
  fields["kind"] = "directory";
  auto r = txn.append_to_log(DirectoryStore::kLogName, fields, by);
  return r.is_ok() ? Status::ok() : r.status();
}

json token_fields(int64_t id, const std::string& hash, const std::string& role, const std::string& village,
                  const std::string& area, const std::string& label, int64_t created_at, std::optional<int64_t> expires_at) {
  return {{"token_id", id},  {"token_sha256", hash}, {"role", role},
          {"village", village}, {"area", area},  {"label", label},
          {"created_at", created_at}, {"expires_at", expires_at ? json(*expires_at) : json(nullptr)}};
}

// An inspector's area is a registered village's town, or "all": a typo
// ("朱停镇") would give an inspector (or a token) nothing to watch, silently.
Status known_area(const std::map<std::string, Village>& villages, const std::string& area) {
  if (area == "all") return Status::ok();
  std::string towns;
  for (const auto& [id, v] : villages) {
    if (v.town == area) return Status::ok();
    if (towns.find(v.town) == std::string::npos) towns += (towns.empty() ? "" : "、") + v.town;
  }
  return not_found("no registered village is in " + area + " (towns: " + towns + "; or --area all)");
}

}  // namespace sunledger::directory_log
