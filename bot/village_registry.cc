// The villages as the signed registry log has them (bot/village_registry.h).
#include "bot/village_registry.h"

#include "ledger/checkpoint.h"
#include "ledger/merkle.h"

namespace sunledger {

// The villages by the signed registry log, not by the villages table: a
// village's town decides which inspectors see its complaints, alerts and
// digests, and its name which books "账目 双江村" answers with, and the table
// is an insider's to edit (verify names such an edit, but only when it runs).
// The entries are believed when they make the root of the log's signed
// checkpoint: an edited table then changes nothing here (verify's verdict,
// which compares the table, would cut the list at the edited village and
// make it vanish). A log that does not match is used as far as verify finds
// it intact, as the admin log is. A deployment whose registry was never
// written (an older one, opened only by folders that cannot sign: one that
// can registers its villages at start, Bot::initialize) has only the table.
// An empty registry where we can sign has no village: one emptied by hand
// must not bring the table back.
Result<std::map<std::string, Village>> registered_villages(Ledger& ledger, uint64_t registry_size) {
  std::map<std::string, Village> out;
  if (registry_size == 0) {
    if (ledger.signer().sign("").is_ok()) return out;
    auto villages = ledger.villages();
    if (!villages.is_ok()) return villages.status();
    for (const auto& v : *villages) out[v.id] = v;
    return out;
  }
  auto learn = [&out](const Entry& e) {
    if (!e.fields.is_object() || entry_string(e.fields, "kind") != "village") return;
    Village v{entry_string(e.fields, "village"), entry_string(e.fields, "name"), entry_string(e.fields, "town")};
    if (!v.id.empty()) out[v.id] = std::move(v);
  };
  auto note = ledger.checkpoint(Ledger::kRegistryLog);
  if (!note.is_ok()) return note.status();
  auto cp = open_checkpoint(*note, ledger.verifier_key());
  // Not smaller than the size read before: a checkpoint of fewer villages
  // put back by hand would leave the later ones out.
  if (cp.is_ok() && cp->origin == ledger.origin() + "/" + Ledger::kRegistryLog && cp->size >= registry_size) {
    auto entries = ledger.entries(Ledger::kRegistryLog, 0, cp->size);
    if (!entries.is_ok() && entries.status().code() == Code::kUnavailable) return entries.status();
    if (entries.is_ok() && entries->size() == cp->size) {
      CompactRange range;
      for (size_t i = 0; i < entries->size(); ++i)
        if ((*entries)[i].index == i) range.append(merkle_leaf_hash((*entries)[i].leaf));
      if (range.size() == cp->size && range.root() == cp->root) {
        for (const auto& e : *entries) learn(e);
        return out;
      }
    }
  }
  auto checked = ledger.checked_entries(Ledger::kRegistryLog);
  if (!checked.is_ok()) return checked.status();
  for (const auto& e : checked->entries)
    if (e.index < checked->first_bad) learn(e);
  return out;
}

}  // namespace sunledger
