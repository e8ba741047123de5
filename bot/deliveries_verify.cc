// deliveries::verify (bot/deliveries.h): the outbox against the signed
// deliveries log, both ways, every queued push against its row, and every
// undelivered row's dead_at against the dead letters recorded.
#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "bot/deliveries.h"
#include "bot/deliveries_fields.h"
#include "bot/outbox.h"
#include "ledger/checkpoint.h"

namespace sunledger::deliveries {

using nlohmann::json;
using namespace fields;

namespace {

// A push's "queued" entry: its id, the fingerprint of the signature it was
// queued with, the entry's index, and whether it is a monthly notice (entries
// without "what" are: only notices were recorded so before).
struct Queued {
  int64_t id;
  uint64_t fingerprint;
  uint64_t entry;
  bool notice;
};

bool queued_notice(const json& f) {
  auto what = f.find("what");
  return what == f.end() || !what->is_string() || what->get_ref<const std::string&>() != "push";
}

// What the log says of rows given up on (see the header): the last
// "dead"/"revived" entry of each (id, fingerprint), and the first list of the
// rows dead before these entries existed. Only entries the log's signed
// checkpoint covers count: one added without the key is not believed.
struct DeadLetters {
  struct Last {
    bool dead = false;
    uint64_t entry = 0;
    std::string reason;                 // a "dead" entry's
    std::optional<std::string> config;  // a "dead" entry's, since review R1 (older ones: none)
  };
  std::map<std::pair<int64_t, uint64_t>, Last> last;
  bool listed = false;                 // a "dead_before" list exists
  std::map<int64_t, int64_t> before;   // its ranges: first id -> last id
  int64_t listed_at = 0;
  bool lists_unsigned = false;         // the list says which had no signature (lists since review R1)
  std::map<int64_t, int64_t> unsigned_ids;

  void add(const json& f, uint64_t idx) {
    for (const char* key : {"dead", "revived"})
      if (auto p = fingerprint_of(f, key)) {
        Last l{std::string(key) == "dead", idx, "", std::nullopt};
        if (auto r = f.find("reason"); r != f.end() && r->is_string()) l.reason = r->get<std::string>();
        if (auto c = f.find("config"); c != f.end() && c->is_string()) l.config = c->get<std::string>();
        last[*p] = l;
      }
    auto list = f.find("dead_before");
    if (listed || list == f.end() || !list->is_array()) return;
    listed = true;
    for (const auto& r : *list)
      if (r.is_array() && r.size() == 2 && r[0].is_number_integer() && r[1].is_number_integer())
        before[r[0].get<int64_t>()] = r[1].get<int64_t>();
    auto at = f.find("at");
    listed_at = at != f.end() && at->is_number_integer() ? at->get<int64_t>() : 0;
    auto none = f.find("unsigned");
    lists_unsigned = none != f.end() && none->is_array();
    if (lists_unsigned)
      for (const auto& r : *none)
        if (r.is_array() && r.size() == 2 && r[0].is_number_integer() && r[1].is_number_integer())
          unsigned_ids[r[0].get<int64_t>()] = r[1].get<int64_t>();
  }
  static bool in(const std::map<int64_t, int64_t>& ranges, int64_t id) {
    auto it = ranges.upper_bound(id);
    return it != ranges.begin() && std::prev(it)->second >= id;
  }
  // Whether a row without an entry of its own was dead before: in the first
  // list, created by then, and still the row listed: signed by this
  // deployment as it stands (`authentic`), or unsigned and listed so. A
  // later push given a listed row's id, stopped by hand and its created_at
  // set back, no longer verifies (review R1); a list older than that review
  // says nothing of unsigned rows, and then they pass (README).
  template <typename Authentic>
  bool dead_before(int64_t id, int64_t created_at, bool is_signed, const Authentic& authentic) const {
    if (!in(before, id) || created_at > listed_at) return false;
    if (is_signed) return authentic();
    return !lists_unsigned || in(unsigned_ids, id);
  }
  // The log's last word on a row, by either of its fingerprints (a released
  // notice's held_push too): the later entry.
  std::optional<Last> of(int64_t id, uint64_t fp, std::optional<uint64_t> held) const {
    std::optional<Last> out;
    for (auto key : {std::optional<uint64_t>(fp), held}) {
      if (!key) continue;
      auto it = last.find({id, *key});
      if (it != last.end() && (!out || it->second.entry > out->entry)) out = it->second;
    }
    return out;
  }
};

// The size the log's stored checkpoint signs (0 when it does not open).
uint64_t signed_size(Ledger& ledger, Ledger::ReadTxn& r) {
  auto& q = r.sql().statement("SELECT checkpoint FROM logs WHERE name=?");
  q.bind(1, kLogName);
  if (!q.step()) return 0;
  auto cp = open_checkpoint(q.column_text(0), ledger.verifier_key());
  return cp.is_ok() ? cp->size : 0;
}

}  // namespace

// Long (about 100 lines): one snapshot, the log read once, then each row
// against what it says; split, the snapshot would have to be passed around.
Result<std::vector<VerifyProblem>> verify(Ledger& ledger) {
  std::vector<VerifyProblem> problems;
  // The log's entries and the outbox in one snapshot: read apart, a push
  // delivered in between would look put back or unrecorded. The entries'
  // hashes and checkpoint are Ledger::verify's to check.
  Status s = ledger.read([&](Ledger::ReadTxn& r) -> Status {
    std::map<std::pair<int64_t, uint64_t>, uint64_t> entry_of;  // (id, fingerprint) -> entry
    std::map<int64_t, std::pair<int64_t, uint64_t>> imported;   // first id -> (last id, entry)
    std::vector<Queued> queued;                                  // pushes queued, in entry order
    DeadLetters dead;
    Outbox outbox(&ledger);
    uint64_t size = 0;
    uint64_t covered = signed_size(ledger, r);
    Status read = r.leaves(kLogName, 0, [&](uint64_t idx, std::string_view leaf) {
      json f = json::parse(leaf.begin(), leaf.end(), nullptr, false);
      size = idx + 1;
      if (!f.is_object()) return;
      for (const auto& p : pushes_of(f)) entry_of.emplace(p, idx);
      for (const auto& [first, last] : imported_of(f)) imported[first] = {last, idx};
      if (auto q = fingerprint_of(f, "queued")) queued.push_back({q->first, q->second, idx, queued_notice(f)});
      if (idx < covered) dead.add(f, idx);
    });
    if (!read.is_ok()) return read;
    auto find = [&](int64_t id, uint64_t fp) -> std::optional<uint64_t> {
      if (auto it = entry_of.find({id, fp}); it != entry_of.end()) return it->second;
      auto it = imported.upper_bound(id);
      if (it == imported.begin() || std::prev(it)->second.first < id) return std::nullopt;
      return std::prev(it)->second.second;
    };
    auto bad = [&](uint64_t idx, const std::string& why) { problems.push_back({kLogName, idx, why}); };
    auto& q = r.sql().statement(
        "SELECT id, delivered_at IS NOT NULL, sig, coalesce(held_push, ''), dead_at IS NOT NULL, created_at,"
        " coalesce(dead_reason, ''), coalesce(dead_config, '') FROM outbox ORDER BY id");
    while (q.step()) {
      int64_t id = q.column_int64(0);
      bool delivered = q.column_int(1) != 0;
      std::string signature = q.column_blob(2);
      uint64_t fp = fingerprint(signature);
      auto held = parse_fingerprint(q.column_text(3));
      std::string push = "outbox: push " + std::to_string(id);
      auto entry = size == 0 ? std::nullopt : find(id, fp);
      // A released notice's copy put back under another signature than the
      // one it went out with: known by the one it was queued with.
      if (!entry && held && size != 0) entry = find(id, *held);
      if (entry && !delivered) {
        bad(*entry, push + " was delivered (entry " + std::to_string(*entry) +
                        ") but its row is not marked delivered: put back from a copy taken before its delivery?");
        continue;
      }
      if (!entry && delivered && size != 0)
        bad(size, push + " is marked delivered but no entry of the log records it (entries removed, or the log rolled back?)");
      if (delivered) continue;
      // Not delivered: given up on only as the log says (review R2: dead_at
      // is not signed).
      auto last = dead.of(id, fp, held);
      if (q.column_int(4) != 0) {
        if (last && !last->dead)
          bad(last->entry, push + " is a dead letter, but the log's last entry on it (" + std::to_string(last->entry) +
                               ") has it revived: given up on by hand (dead_at set with sqlite3)?");
        else if (last && (q.column_text(6) != last->reason || (last->config && q.column_text(7) != *last->config)))
          bad(last->entry, push + " is a dead letter for '" + q.column_text(6) + "', but the log's last entry on it (" +
                               std::to_string(last->entry) + ") records it given up on for '" + last->reason +
                               "' under another configuration or reason: relabelled by hand (dead_reason or "
                               "dead_config set with sqlite3), so that it is never revived?");
        else if (!last && dead.listed &&
                 !dead.dead_before(id, q.column_int64(5), !signature.empty(), [&] { return outbox.authentic_row(r, id); }))
          bad(size, push + " is a dead letter, but no entry of the log records it given up on: stopped by hand "
                           "(dead_at set with sqlite3)?");
      } else if (last && last->dead) {
        bad(last->entry, push + " is queued, but the log's last entry on it (" + std::to_string(last->entry) +
                             ") has it given up on: put back in the queue by hand?");
      }
      // next_attempt_at is not judged (review R1): the sender never believes
      // a wait longer than its longest backoff (Outbox::is_due), nor one of a
      // row it has not tried since it started, so the column holds nothing
      // back; a clock stepped back would otherwise read as tampering.
    }
    // Every push queued must still be queued, or delivered: a row deleted by
    // hand would otherwise take it with it unsaid (issue #15: a held notice
    // is never lost; nor is a reporter's update or an inspectors' alarm). Its row is known by the signature it
    // was queued with (its own, or a released notice's held_push): SQLite gives
    // a deleted last row's id to the next push.
    // The log dropped whole (its logs row, entries, subtree hashes and
    // cosignatures deleted with sqlite3) leaves nothing above to judge rows
    // by (review R1). Every monthly notice queued since the log existed was
    // recorded in it, so a signed one without a log names the log missing.
    if (size == 0) {
      auto& notices = r.sql().statement(
          "SELECT id FROM outbox WHERE held_village IS NOT NULL AND coalesce(length(sig), 0) > 0 ORDER BY id LIMIT 1");
      notices.reset();
      if (notices.step())
        bad(0, "the log is missing, but the outbox holds monthly notice " + std::to_string(notices.column_int64(0)) +
                   ", which it recorded: dropped whole with sqlite3?");
      notices.reset();
    }
    auto& row = r.sql().statement("SELECT sig, coalesce(held_push, '') FROM outbox WHERE id=?");
    for (const auto& n : queued) {
      row.reset();
      row.bind(1, n.id);
      bool exists = row.step();
      bool same = exists && (fingerprint(row.column_blob(0)) == n.fingerprint ||
                             parse_fingerprint(row.column_text(1)) == n.fingerprint);
      if (same || find(n.id, n.fingerprint)) continue;  // its row is there, or an entry records it delivered
      bad(n.entry, std::string("outbox: ") + (n.notice ? "monthly notice " : "push ") + std::to_string(n.id) +
                       " was queued (entry " + std::to_string(n.entry) +
                       ") but its row is " + (exists ? "another push now" : "gone") + ": deleted by hand?");
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return problems;
}

}  // namespace sunledger::deliveries
