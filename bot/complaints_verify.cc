// Complaints::verify: every complaint row and event checked against the
// complaints log, both ways (as directory_verify.cc does for the directory).
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "bot/complaints.h"
#include "ledger/clock.h"
#include "ledger/crypto.h"

namespace sunledger {

using nlohmann::json;

// Long (about 75 lines): the complaints log's entries and the complaint rows
// are read and compared in one snapshot (read apart, a complaint filed in
// between would look added by hand); the comparison of one complaint is
// in the helpers of complaints.cc.
Result<std::vector<VerifyProblem>> Complaints::verify() {
  std::vector<VerifyProblem> problems;
  // The entries too are read in the snapshot the rows are read in: read
  // before it, a complaint another node (or the CLI) filed in between had
  // a row and no entry, and a node starting beside a busy one refused every
  // write as tampered.
  std::map<uint64_t, json> by_index;
  std::set<uint64_t> covered;
  auto bad = [&](uint64_t index, const std::string& why) { problems.push_back({kLogName, index, why}); };
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    Status leaves = r.leaves(kLogName, 0, [&](uint64_t idx, std::string_view leaf) {
      by_index[idx] = json::parse(leaf.begin(), leaf.end(), nullptr, false);
    });
    if (!leaves.is_ok()) return leaves;
    auto& q = r.sql().statement("SELECT receipt, log_index FROM complaints ORDER BY log_index");
    std::vector<std::pair<std::string, uint64_t>> rows;
    while (q.step()) rows.emplace_back(q.column_text(0), static_cast<uint64_t>(q.column_int64(1)));
    for (const auto& [receipt, filed_index] : rows) {
      auto c = read_complaint(r.sql(), receipt);
      if (!c.is_ok()) return c.status();
      std::string ref = commit_hash("receipt", c->receipt);
      // The events are read in the order of seq, and their order decides the
      // status: it must be the order of the log (each entry once, filing first).
      std::optional<uint64_t> previous;
      for (const auto& e : c->events) {
        if (previous && e.log_index <= *previous)
          bad(e.log_index, "complaint " + c->receipt + ": its events are not in the order of its log (entry " +
                               std::to_string(e.log_index) + " comes after entry " + std::to_string(*previous) + ")");
        previous = e.log_index;
        auto it = by_index.find(e.log_index);
        covered.insert(e.log_index);
        if (it == by_index.end()) {
          bad(e.log_index, "complaint " + c->receipt + ": its log entry is missing");
          continue;
        }
        const json& f = it->second;
        bool ok = f.value("ref", "") == ref && f.value("event", "") == e.kind && f.value("note_hash", "") == commit_hash("note", e.note) &&
                  f.value("assignee_hash", "") == commit_hash("assignee", e.assignee) &&
                  f.value("actor_hash", "") == commit_hash("actor", e.actor) && f.value("complaint_village", "") == c->village &&
                  f.value("at", "") == utc_timestamp(e.at);
        if (e.kind == "filed") {
          json reporter = c->reporter ? json(commit_hash("reporter", c->reporter->bot_id + "\n" + c->reporter->user_id)) : json(nullptr);
          ok = ok && e.log_index == filed_index && f.value("text_hash", "") == commit_hash("text", c->text) &&
               f.value("reporter_hash", json()) == reporter && f.value("anonymous", !c->anonymous) == c->anonymous;
          // Derived columns of the complaint row: the filing time (deadlines and
          // overdue lists run from it), the links, the reporter's contact.
          ok = ok && c->filed_at == e.at && f.value("links", json::array()) == json(c->links);
          if (c->reporter && f.contains("reporter_contact_hash"))
            ok = ok && f["reporter_contact_hash"] == commit_hash("reporter_contact", c->reporter->name + "\n" + c->reporter->chat_id);
          else if (c->reporter && !f.contains("reporter_contact_hash"))
            ;  // filed before contacts were committed: nothing to compare against
          else if (!c->reporter && f.contains("reporter_contact_hash"))
            ok = false;
        }
        if (!ok) bad(e.log_index, "complaint " + c->receipt + ": stored " + e.kind + " does not match its log entry");
      }
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  // Every log entry needs its row: a deleted complaint or event leaves its entry behind.
  for (const auto& [index, fields] : by_index)
    if (!covered.count(index)) bad(index, "a complaint event in the log has no stored complaint (deleted?)");
  std::sort(problems.begin(), problems.end(), [](const VerifyProblem& a, const VerifyProblem& b) {
    return a.first_bad_index < b.first_bad_index;
  });
  return problems;
}

}  // namespace sunledger
