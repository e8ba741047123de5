// The signed record of the witnesses the server stopped asking (review R1,
// session 12): a witness_refusals row needs no key, so one put in with
// sqlite3 while serve was stopped used to be obeyed at the next start, and
// the witness, the one that would have refused a rolled-back log, was never
// asked again with no one told. Now every refusal the server makes is an
// admin-log entry ("witness_refused") in the same write as its row, the rows
// an older version made are listed once ("witness_refusals_before"), and a
// row neither records is named by verify, alarmed and not obeyed.
// The same file keeps the other refusal the server signs there: a record the
// deliveries log refused ("deliveries_record_refused"), named by verify until
// cleared, so a crash between that refusal and its alarm hides nothing.
#include <set>

#include "bot/directory.h"
#include "bot/directory_log.h"

namespace sunledger {

using nlohmann::json;
using directory_log::log_change;

namespace {

// The server itself, when it records a refusal or lists the older ones.
const Author kServer{"sunledger", "system", "serve"};

json refusal_fields(const WitnessRefusal& r) {
  return {{"log", r.log}, {"witness", r.witness}, {"witness_size", r.witness_size}, {"reason", r.reason},
          {"refused_at", r.at}};
}

WitnessRefusal refusal_of(const json& f) {
  WitnessRefusal r{entry_string(f, "log"), entry_string(f, "witness"), 0, entry_string(f, "reason"), 0};
  if (auto it = f.find("witness_size"); it != f.end() && it->is_number_unsigned()) r.witness_size = it->get<uint64_t>();
  if (auto it = f.find("refused_at"); it != f.end() && it->is_number_integer()) r.at = it->get<int64_t>();
  return r;
}

bool same(const WitnessRefusal& a, const WitnessRefusal& b) {
  return a.log == b.log && a.witness == b.witness && a.witness_size == b.witness_size && a.reason == b.reason &&
         a.at == b.at;
}

std::string describe(const WitnessRefusal& r) {
  return "witness " + r.witness + " refused log " + r.log + " (holding " + std::to_string(r.witness_size) + ", at " +
         utc_timestamp(r.at) + ": " + r.reason + ")";
}

}  // namespace

void DirectoryState::apply_refusal(const std::string& op, const Entry& e) {
  const json& f = e.fields;
  if (op == "witness_refused") {
    WitnessRefusal r = refusal_of(f);
    refusals[{r.log, r.witness}] = {r, e.index};
  } else if (op == "witness_refusals_before") {
    // Only the first list counts: a later one (which needs the key) could
    // otherwise pass rows put in by hand since then for older ones.
    if (refusals_listed) return;
    refusals_listed = true;
    auto list = f.find("refusals");
    if (list == f.end() || !list->is_array()) return;
    for (const auto& item : *list) {
      if (!item.is_object()) continue;
      WitnessRefusal r = refusal_of(item);
      refusals[{r.log, r.witness}] = {r, e.index};
    }
  } else if (op == "deliveries_record_refused") {
    refused_records[e.index] = entry_string(f, "what");
  } else if (op == "clear_deliveries_record_refused") {
    if (auto it = f.find("entry"); it != f.end() && it->is_number_unsigned()) refused_records.erase(it->get<uint64_t>());
  } else if (op == "clear_witness_refusal") {
    // Who let the server ask a refused witness again, and why
    // (record_cleared_refusal); no row of the directory changes.
    refusals.erase({entry_string(f, "log"), entry_string(f, "witness")});
  }
}

Status DirectoryStore::record_refusal(WriteTxn& txn, const WitnessRefusal& r) {
  json f = refusal_fields(r);
  f["op"] = "witness_refused";
  return log_change(txn, std::move(f), kServer);
}

Status DirectoryStore::record_cleared_refusal(WriteTxn& txn, const WitnessRefusal& r, const std::string& by,
                                              const std::string& reason, const Author& author) {
  return log_change(txn,
                    {{"op", "clear_witness_refusal"}, {"log", r.log}, {"witness", r.witness},
                     {"witness_size", r.witness_size}, {"refused_reason", r.reason}, {"refused_at", r.at},
                     {"by", by}, {"reason", reason}},
                    author);
}

Status DirectoryStore::record_refused_record(WriteTxn& txn, const std::string& what, const std::string& error) {
  return log_change(txn, {{"op", "deliveries_record_refused"}, {"what", what}, {"error", error.substr(0, 300)}},
                    kServer);
}

Status DirectoryStore::clear_refused_record(uint64_t entry, const std::string& by, const std::string& reason,
                                            const Author& author) {
  if (by.empty() || reason.empty()) return invalid_argument("请写明是谁、为什么清除 (say who clears it and why)");
  return ledger_->write([&](WriteTxn& txn) -> Status {
    auto logged = logged_state(txn);
    if (!logged.is_ok()) return logged.status();
    auto it = (*logged)->refused_records.find(entry);
    if (it == (*logged)->refused_records.end())
      return not_found("管理日志第" + std::to_string(entry) + "条不是未清除的推送记录拒绝 (admin log entry " +
                       std::to_string(entry) + " records no uncleared refusal of the deliveries log)");
    return log_change(txn,
                      {{"op", "clear_deliveries_record_refused"}, {"entry", entry}, {"what", it->second},
                       {"by", by}, {"reason", reason}},
                      author);
  });
}

Status DirectoryStore::list_refusals_before() {
  return ledger_->list_witness_refusals([&](WriteTxn& txn, const std::vector<WitnessRefusal>& rows) -> Status {
    auto logged = logged_state(txn);
    if (!logged.is_ok()) return logged.status();
    if ((*logged)->refusals_listed) return Status::ok();
    json list = json::array();
    for (const auto& r : rows) list.push_back(refusal_fields(r));
    return log_change(txn, {{"op", "witness_refusals_before"}, {"refusals", list}, {"at", txn.now()}}, kServer);
  });
}

WitnessRefusalCheck DirectoryStore::judge_refusals(const DirectoryState& st, const std::vector<WitnessRefusal>& rows) {
  WitnessRefusalCheck out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : rows) {
    seen.insert({r.log, r.witness});
    auto it = st.refusals.find({r.log, r.witness});
    if (it != st.refusals.end() ? same(it->second.first, r) : !st.refusals_listed) out.recorded.push_back(r);
    else out.unrecorded.push_back(r);
  }
  for (const auto& [key, recorded] : st.refusals)
    if (!seen.count(key)) out.gone.emplace_back(recorded.second, recorded.first);
  return out;
}

Result<WitnessRefusalCheck> DirectoryStore::witness_refusals() {
  // The rows and the log's size in one snapshot, the log replayed to that
  // size: a refusal recorded or cleared a moment later changes both.
  auto at = ledger_->witness_refusals_at(kLogName);
  if (!at.is_ok()) return at.status();
  auto state = replay(at->log_size, true);
  if (!state.is_ok()) return state.status();
  return judge_refusals(**state, at->rows);
}

std::vector<VerifyProblem> DirectoryStore::refusal_problems(const DirectoryState& st,
                                                            const std::vector<WitnessRefusal>& rows, uint64_t n) {
  std::vector<VerifyProblem> out;
  WitnessRefusalCheck check = judge_refusals(st, rows);
  for (const auto& r : check.unrecorded) {
    auto it = st.refusals.find({r.log, r.witness});
    if (it == st.refusals.end())
      out.push_back({kLogName, n,
                     "witness_refusals: " + describe(r) +
                         ", but no admin log entry records it: put in with sqlite3? (the server asks that witness "
                         "all the same)"});
    else
      out.push_back({kLogName, it->second.second,
                     "witness_refusals: " + describe(r) + ", but the admin log recorded " + describe(it->second.first) +
                         ": edited with sqlite3? (the server asks that witness all the same)"});
  }
  for (const auto& [entry, what] : st.refused_records)
    out.push_back({kLogName, entry,
                   "deliveries_record_refused: the deliveries log refused to record " + what +
                       ", which was changed without its entry (the log's stored state edited by hand?); named until "
                       "the inspectors clear it: sunledger outbox clear-refused --entry " + std::to_string(entry) +
                       " --by WHO --reason TEXT"});
  for (const auto& [entry, r] : check.gone)
    out.push_back({kLogName, entry,
                   "witness_refusals: the admin log records that " + describe(r) +
                       ", but its row is gone and no entry cleared it: deleted with sqlite3?"});
  return out;
}

}  // namespace sunledger
