#include "bot/deliveries.h"

#include "bot/deliveries_fields.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>

#include "bot/outbox.h"
#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/crypto.h"

namespace sunledger::deliveries {

using nlohmann::json;
using namespace fields;

namespace {

const Author kSender{"sunledger", "system", "outbox"};

// What one entry of the log records delivered, added to `out`.
void learn(Delivered& out, const json& f) {
  for (const auto& p : pushes_of(f)) out.insert(p.first, p.second);
  for (const auto& [first, last] : imported_of(f))
    for (int64_t id = first; id <= last; ++id) out.imported.insert(id);
}

}  // namespace

namespace fields {

// A delivery entry's fingerprint under `key` ("push", or a released notice's
// "held"), with its id.
std::optional<std::pair<int64_t, uint64_t>> fingerprint_of(const json& f, const char* key) {
  auto id = f.find("outbox_id");
  auto fp = f.find(key);
  if (id == f.end() || !id->is_number_integer() || fp == f.end() || !fp->is_string()) return std::nullopt;
  auto value = parse_fingerprint(fp->get_ref<const std::string&>());
  if (!value) return std::nullopt;
  return std::make_pair(id->get<int64_t>(), *value);
}

// Every (id, fingerprint) an entry records: its push's, and the one a
// released notice was queued with (entries before that field: none).
std::vector<std::pair<int64_t, uint64_t>> pushes_of(const json& f) {
  std::vector<std::pair<int64_t, uint64_t>> out;
  for (const char* key : {"push", "held"})
    if (auto p = fingerprint_of(f, key)) out.push_back(*p);
  return out;
}

// The import entry's ids, as ranges.
std::vector<std::pair<int64_t, int64_t>> imported_of(const json& f) {
  std::vector<std::pair<int64_t, int64_t>> out;
  auto many = f.find("outbox_ids");
  if (many != f.end() && many->is_array())
    for (const auto& r : *many)
      if (r.is_array() && r.size() == 2 && r[0].is_number_integer() && r[1].is_number_integer())
        out.emplace_back(r[0].get<int64_t>(), r[1].get<int64_t>());
  return out;
}

}  // namespace fields

std::string fingerprint_hex(uint64_t fp) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(fp));
  return out;
}

std::optional<uint64_t> parse_fingerprint(const std::string& hex) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
  if (hex.empty() || ec != std::errc() || end != hex.data() + hex.size()) return std::nullopt;
  return value;
}

uint64_t fingerprint(const std::string& signature) {
  Hash h = sha256(signature);
  uint64_t out = 0;
  for (int i = 0; i < 8; ++i) out = (out << 8) | h[static_cast<size_t>(i)];
  return out;
}

bool Delivered::contains(int64_t id, uint64_t fp) const {
  if (imported.contains(id)) return true;
  auto it = std::lower_bound(pushes_.begin(), pushes_.end(), std::make_pair(id, fp));
  return it != pushes_.end() && it->first == id && it->second == fp;
}

bool Delivered::contains_push(int64_t id, const std::string& signature, const std::string& held_push) const {
  if (contains(id, fingerprint(signature))) return true;
  if (held_push.empty()) return false;
  // A malformed value matches nothing: the row's signature covers it, so
  // such a row is tampered and dies as that.
  auto held = parse_fingerprint(held_push);
  return held && contains(id, *held);
}

void Delivered::merge(const Delivered& other) {
  for (const auto& [id, fp] : other.pushes_) insert(id, fp);
  for (const auto& [first, last] : other.imported.ranges())
    for (int64_t id = first; id <= last; ++id) imported.insert(id);
}

void Delivered::insert(int64_t id, uint64_t fp) {
  auto key = std::make_pair(id, fp);
  auto it = std::lower_bound(pushes_.begin(), pushes_.end(), key);  // mostly the end: ids go out in order
  if (it == pushes_.end() || *it != key) pushes_.insert(it, key);
}

bool IdRanges::contains(int64_t id) const {
  auto it = ranges_.upper_bound(id);
  return it != ranges_.begin() && std::prev(it)->second >= id;
}

void IdRanges::insert(int64_t id) {
  if (contains(id)) return;
  auto next = ranges_.find(id + 1);
  auto it = ranges_.upper_bound(id);
  if (it != ranges_.begin() && std::prev(it)->second == id - 1) {
    auto prev = std::prev(it);
    prev->second = next != ranges_.end() ? next->second : id;
    if (next != ranges_.end()) ranges_.erase(next);
    return;
  }
  int64_t last = id;
  if (next != ranges_.end()) {
    last = next->second;
    ranges_.erase(next);
  }
  ranges_[id] = last;
}

namespace {

// The rows given up on as this write sees them, as ranges ("dead_before"),
// with the time ("at"): what verify believes dead without an entry of their
// own (see the header).
// Those without a signature (an older version's) are listed apart too
// ("unsigned"): every other listed row must still verify, so a later push
// given a listed id cannot pass for one (review R1), not even with its
// signature cleared by hand.
void add_dead_before(WriteTxn& txn, json& f) {
  IdRanges dead, unsigned_ids;
  auto& q = txn.sql().statement(
      "SELECT id, coalesce(length(sig), 0) = 0 FROM outbox WHERE dead_at IS NOT NULL AND delivered_at IS NULL ORDER BY id");
  while (q.step()) {
    dead.insert(q.column_int64(0));
    if (q.column_int(1) != 0) unsigned_ids.insert(q.column_int64(0));
  }
  auto as_json = [](const IdRanges& ids) {
    json ranges = json::array();
    for (const auto& [first, last] : ids.ranges()) ranges.push_back({first, last});
    return ranges;
  };
  f["dead_before"] = as_json(dead);
  f["unsigned"] = as_json(unsigned_ids);
  f["at"] = txn.now();
}

// The log's first entry, once: the rows delivered before the log existed (an
// older version), so a copy of one put back is caught like any other, and the
// rows dead then. Whatever entry starts the log (a delivery, a queued notice,
// a dead letter, serve's start) writes it first, or those rows would read as
// unrecorded. `delivering` is the row this write marks delivered (its own
// entry follows), 0 for none.
Status start_log(WriteTxn& txn, int64_t delivering) {
  auto size = txn.log_size(kLogName);
  if (!size.is_ok()) return size.status();
  if (*size != 0) return Status::ok();
  IdRanges before;
  auto& q = txn.sql().statement("SELECT id FROM outbox WHERE delivered_at IS NOT NULL AND id != ? ORDER BY id");
  q.bind(1, delivering);
  while (q.step()) before.insert(q.column_int64(0));
  json ranges = json::array();
  for (const auto& [first, last] : before.ranges()) ranges.push_back({first, last});
  json f = {{"kind", "imported"}, {"outbox_ids", ranges}};
  add_dead_before(txn, f);
  auto imported = txn.append_to_log(kLogName, f, kSender, true);
  return imported.is_ok() ? Status::ok() : imported.status();
}

// An entry naming row `outbox_id` by the fingerprint of `signature` under
// `key` (its kind too), after the log's first entry.
Status record_row(WriteTxn& txn, const char* key, int64_t outbox_id, const std::string& signature, json extra = {}) {
  if (Status s = start_log(txn, 0); !s.is_ok()) return s;
  json f = {{"kind", key}, {"outbox_id", outbox_id}, {key, fingerprint_hex(fingerprint(signature))}};
  if (extra.is_object()) f.update(extra);
  auto r = txn.append_to_log(kLogName, f, kSender, true);
  return r.is_ok() ? Status::ok() : r.status();
}

}  // namespace

Status record_queued(WriteTxn& txn, int64_t outbox_id, const std::string& signature, bool notice) {
  // Not "push": every reader takes that key as delivered.
  if (notice) return record_row(txn, "queued", outbox_id, signature);
  return record_row(txn, "queued", outbox_id, signature, {{"what", "push"}});
}

Status record_dead(WriteTxn& txn, int64_t outbox_id, const std::string& signature, const std::string& reason,
                   const std::string& config) {
  return record_row(txn, "dead", outbox_id, signature, {{"reason", reason}, {"config", config}});
}

Status record_revived(WriteTxn& txn, int64_t outbox_id, const std::string& signature, const std::string& by) {
  if (!by.empty()) return record_row(txn, "revived", outbox_id, signature, {{"by", by}});
  return record_row(txn, "revived", outbox_id, signature);
}

Status start_dead_record(Ledger& ledger) {
  return ledger.write([&](WriteTxn& txn) -> Status {
    auto size = txn.log_size(kLogName);
    if (!size.is_ok()) return size.status();
    if (*size == 0) return start_log(txn, 0);
    bool listed = false;
    Status read = txn.committed_leaves(kLogName, 0, [&](uint64_t, std::string_view leaf) {
      if (listed || leaf.find("\"dead_before\"") == std::string_view::npos) return;
      json f = json::parse(leaf.begin(), leaf.end(), nullptr, false);
      listed = f.is_object() && f.contains("dead_before");
    });
    if (!read.is_ok() || listed) return read;
    // A log an older version started: the list, once, before anything is
    // given up on under this version.
    json f = {{"kind", "dead_before"}};
    add_dead_before(txn, f);
    auto r = txn.append_to_log(kLogName, f, kSender, true);
    return r.is_ok() ? Status::ok() : r.status();
  });
}

Status record(WriteTxn& txn, int64_t outbox_id, const std::string& signature, const std::string& held_push) {
  if (Status s = start_log(txn, outbox_id); !s.is_ok()) return s;
  // The day only: the entry need not time the push (see the header).
  json f = {{"kind", "delivered"}, {"outbox_id", outbox_id}, {"push", fingerprint_hex(fingerprint(signature))}};
  // A released notice: the signature it was queued (held) with too, so a
  // copy of the held row is known delivered whatever it is signed with later.
  if (auto held = parse_fingerprint(held_push)) f["held"] = fingerprint_hex(*held);
  auto r = txn.append_to_log(kLogName, f, kSender, true);
  return r.is_ok() ? Status::ok() : r.status();
}

Result<Delivered> recorded(Ledger& ledger) {
  Delivered out;
  auto checked = ledger.checked_entries(kLogName);
  if (!checked.is_ok()) {
    if (checked.status().code() != Code::kNotFound) return checked.status();
    out.verified = CompactRange();  // nothing delivered since this version: an empty log
    return out;
  }
  CompactRange range;
  for (const auto& e : checked->entries) {
    if (e.index >= checked->first_bad) break;
    learn(out, e.fields);
    range.append(merkle_leaf_hash(e.leaf));
  }
  if (checked->intact) out.verified = std::move(range);
  return out;
}

Status catch_up(Ledger& ledger, Delivered& delivered) {
  auto note = ledger.checkpoint(kLogName);
  if (!note.is_ok() && note.status().code() != Code::kNotFound) return note.status();
  // What the whole-log read below is remembered by: the checkpoint's body,
  // marked so that a blank or missing one is remembered too.
  std::string at = "@" + (note.is_ok() ? note_body(*note) : std::string());
  if (delivered.verified) {
    if (!note.is_ok() && delivered.verified->size() == 0) return Status::ok();  // still no log
    auto cp = note.is_ok() ? open_checkpoint(*note, ledger.verifier_key()) : Result<Checkpoint>(note.status());
    if (cp.is_ok() && cp->origin == ledger.origin() + "/" + kLogName) {
      uint64_t from = delivered.verified->size();
      if (cp->size == from && cp->root == delivered.verified->root()) return Status::ok();
      auto fresh = cp->size > from ? ledger.entries(kLogName, from, cp->size) : Result<std::vector<Entry>>(
                                                                                    not_found("smaller than read"));
      if (!fresh.is_ok() && fresh.status().code() == Code::kUnavailable) return fresh.status();
      if (fresh.is_ok()) {
        CompactRange range = *delivered.verified;
        bool whole = fresh->size() == cp->size - from;
        for (size_t i = 0; whole && i < fresh->size(); ++i) {
          whole = (*fresh)[i].index == from + i;
          range.append(merkle_leaf_hash((*fresh)[i].leaf));
        }
        // Only entries the signed checkpoint covers are believed (see above):
        // one forged without the key must not hold a push back.
        if (whole && range.root() == cp->root) {
          for (const auto& e : *fresh) learn(delivered, e.fields);
          delivered.verified = std::move(range);
          return Status::ok();
        }
      }
    }
  } else if (at == delivered.reread_at) {
    return Status::ok();  // read whole at this checkpoint already: nothing signed since
  }
  // Not intact, rolled back, its row or entries edited: the whole log again,
  // as far as it matches its checkpoints, added to what was known.
  auto again = recorded(ledger);
  if (!again.is_ok()) return again.status();
  delivered.merge(*again);
  delivered.verified = std::move(again->verified);
  delivered.reread_at = delivered.verified ? "" : at;
  return Status::ok();
}

}  // namespace sunledger::deliveries
