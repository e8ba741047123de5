// check_log: the log rebuilt from its tiles, nothing taken on trust; and
// check_proof: one tlog-proof block.
#include "checker/checker.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "checker/statement_sums.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "ledger/tlog_proof.h"
#include "ledger/tlog_tiles.h"

namespace sunledger {

namespace {

// Every perfect subtree hash of the rebuilt tree, by level, in the order
// CompactRange completes them: enough to answer any proof, and to compare
// with the tiles of every level.
class RebuiltTree final : public SubtreeHashSource {
 public:
  void append(const Hash& leaf_hash) {
    for (const auto& n : range_.append(leaf_hash)) {
      if (levels_.size() <= static_cast<size_t>(n.level)) levels_.resize(n.level + 1);
      levels_[n.level].push_back(n.hash);
    }
  }
  uint64_t size() const { return range_.size(); }
  Hash root() const { return range_.root(); }
  Result<Hash> perfect_subtree(int level, uint64_t index) override {
    if (static_cast<size_t>(level) >= levels_.size() || index >= levels_[level].size())
      return internal_error("subtree not rebuilt");
    return levels_[level][index];
  }
  // The hashes a tile must hold, concatenated.
  std::string tile(const TileId& t) const {
    std::string out;
    const auto& level = levels_[static_cast<size_t>(t.level * kTileHeight)];
    for (int i = 0; i < t.width; ++i) out.append(reinterpret_cast<const char*>(level[t.index * kTileWidth + i].data()), 32);
    return out;
  }

 private:
  CompactRange range_;
  std::vector<std::vector<Hash>> levels_;
};

// Evidence: a checkpoint note, indented under the finding it supports.
std::string indented(const std::string& note) {
  std::string out;
  size_t at = 0;
  while (at < note.size()) {
    size_t eol = note.find('\n', at);
    if (eol == std::string::npos) eol = note.size();
    out += "    " + note.substr(at, eol - at) + (eol + 1 < note.size() ? "\n" : "");
    at = eol + 1;
  }
  return out;
}

struct Run {
  const TileFetch& fetch;
  CheckReport& report;
  bool failed = false;
  void good(const std::string& line) { report.lines.push_back("ok: " + line); }
  void bad(const std::string& line) {
    report.lines.push_back("FAIL: " + line);
    failed = true;
  }
  Result<std::string> get(const std::string& path) {
    auto a = fetch(path);
    if (!a.is_ok()) return unavailable("GET " + path + ": " + a.status().message());
    if (a->status != 200) return unavailable("GET " + path + ": HTTP " + std::to_string(a->status));
    return std::move(a->body);
  }
};

// Reads a bundle's entries; false (with the problem) when it is malformed.
bool split_bundle(std::string_view bundle, int width, std::vector<std::string_view>& out, std::string& problem) {
  out.clear();
  while (!bundle.empty()) {
    if (bundle.size() < 2) break;
    size_t len = static_cast<unsigned char>(bundle[0]) << 8 | static_cast<unsigned char>(bundle[1]);
    if (bundle.size() < 2 + len) break;
    out.push_back(bundle.substr(2, len));
    bundle.remove_prefix(2 + len);
  }
  if (!bundle.empty() || out.size() != static_cast<size_t>(width)) {
    problem = "holds " + std::to_string(out.size()) + " whole entries, not " + std::to_string(width);
    return false;
  }
  return true;
}

void check_signatures(Run& run, const std::string& note, const CheckOptions& o, Checkpoint* cp) {
  auto opened = open_checkpoint(note, o.log_key);
  if (!opened.is_ok()) return run.bad("checkpoint signature: " + opened.status().message());
  *cp = *opened;
  run.good("checkpoint of " + cp->origin + " at size " + std::to_string(cp->size) + ", signed by " +
           o.log_key.substr(0, o.log_key.find('+')));
  for (const auto& w : o.witness_keys) {
    uint64_t time = 0;
    if (Status s = verify_cosignature(note, w, &time); !s.is_ok()) run.bad(s.message());
    else run.good("cosigned by witness " + w.substr(0, w.find('+')) + " (time " + std::to_string(time) + ")");
  }
}

// The tree from the entry bundles: each bundle against its level-0 tile,
// every statement added up, then the tiles above and the root.
void rebuild(Run& run, const Checkpoint& cp, RebuiltTree& tree, checker_internal::StatementSums& sums) {
  std::vector<std::string_view> leaves;
  std::vector<std::string> problems;
  uint64_t tiles = 0;
  for (const TileId& t : tiles_for_size(cp.size, true)) {
    if (t.level != kEntriesLevel) continue;
    TileId hashes_id{0, t.index, t.width};
    auto bundle = run.get(tile_path(t));
    auto hashes = run.get(tile_path(hashes_id));
    if (!bundle.is_ok() || !hashes.is_ok()) return run.bad((bundle.is_ok() ? hashes : bundle).status().message());
    std::string problem;
    if (!split_bundle(*bundle, t.width, leaves, problem)) return run.bad(tile_path(t) + " " + problem);
    if (hashes->size() != static_cast<size_t>(t.width) * 32)
      return run.bad(tile_path(hashes_id) + " is " + std::to_string(hashes->size()) + " bytes, not " +
                     std::to_string(t.width * 32));
    for (size_t i = 0; i < leaves.size(); ++i) {
      uint64_t index = t.index * kTileWidth + i;
      Hash h = merkle_leaf_hash(leaves[i]);
      if (std::memcmp(h.data(), hashes->data() + i * 32, 32) != 0)
        return run.bad("entry #" + std::to_string(index) + " does not hash to its leaf in " + tile_path(hashes_id));
      tree.append(h);
      sums.add(index, leaves[i], problems);
    }
    tiles += 2;
  }
  for (const TileId& t : tiles_for_size(cp.size, false)) {
    if (t.level == 0) continue;
    auto hashes = run.get(tile_path(t));
    if (!hashes.is_ok()) return run.bad(hashes.status().message());
    if (*hashes != tree.tile(t)) return run.bad(tile_path(t) + " does not match the tree rebuilt from the entries");
    ++tiles;
  }
  run.report.entries = tree.size();
  if (tree.root() != cp.root)
    return run.bad("the tree rebuilt from " + std::to_string(tree.size()) + " entries has root " +
                   base64_encode(tree.root()) + ", not the signed " + base64_encode(cp.root));
  run.good("tree rebuilt from " + std::to_string(tree.size()) + " entries (" + std::to_string(tiles) +
           " tiles and bundles): its root is the signed root");
  for (const auto& p : problems) run.bad(p);
  run.report.statements = sums.statements().size();
  if (problems.empty())
    run.good(std::to_string(sums.statements().size()) + " month statements add up to their months' entries, net of reversals");
}

// Each statement's inclusion in the checkpoint, by a proof from the tiles.
void check_inclusions(Run& run, const Checkpoint& cp, RebuiltTree& tree,
                      const checker_internal::StatementSums& sums) {
  MerkleTree merkle(&tree, tree.size());
  size_t proven = 0;
  for (const auto& [month, index] : sums.statements()) {
    auto proof = merkle.inclusion_proof(index, cp.size);
    auto leaf = tree.perfect_subtree(0, index);
    if (!proof.is_ok() || !leaf.is_ok()) return run.bad("no inclusion proof for statement #" + std::to_string(index));
    std::vector<std::string> path;
    for (const auto& h : *proof) path.emplace_back(as_view(h));
    if (!verify_inclusion(index, cp.size, as_view(*leaf), path, as_view(cp.root)))
      run.bad("statement #" + std::to_string(index) + " (" + month + ") is not included in the checkpoint");
    else ++proven;
  }
  if (proven > 0) run.good(std::to_string(proven) + " statements proven included in the checkpoint");
}

// The checkpoint seen last must be a prefix of this one.
void check_previous(Run& run, const std::string& note, const Checkpoint& cp, RebuiltTree& tree,
                    const CheckOptions& o) {
  if (o.previous_checkpoint.empty()) return run.good("no earlier checkpoint in the state file: this one is kept");
  auto prev = open_checkpoint(o.previous_checkpoint, o.log_key);
  if (!prev.is_ok()) return run.bad("the state file's checkpoint: " + prev.status().message());
  std::string evidence = "\n  seen before:\n" + indented(o.previous_checkpoint) + "\n  served now:\n" + indented(note);
  if (prev->origin != cp.origin) return run.bad("the state file holds a checkpoint of another log, " + prev->origin);
  if (prev->size > cp.size)
    return run.bad("ROLLBACK: the log shrank from " + std::to_string(prev->size) + " to " + std::to_string(cp.size) +
                   " entries; both checkpoints carry the log's valid signature:" + evidence);
  MerkleTree merkle(&tree, tree.size());
  auto old_root = merkle.root(prev->size);
  if (!old_root.is_ok() || *old_root != prev->root)
    return run.bad("REWRITE: the first " + std::to_string(prev->size) +
                   " entries are not the ones signed before; both checkpoints carry the log's valid signature:" + evidence);
  run.good("consistent with the checkpoint seen last (size " + std::to_string(prev->size) + ")");
}

}  // namespace

CheckReport check_log(const TileFetch& fetch, const CheckOptions& o) {
  CheckReport report;
  Run run{fetch, report};
  auto note = run.get("checkpoint");
  if (!note.is_ok()) {
    run.bad(note.status().message());
    return report;
  }
  report.checkpoint = *note;
  Checkpoint cp;
  check_signatures(run, *note, o, &cp);
  if (run.failed) return report;
  RebuiltTree tree;
  checker_internal::StatementSums sums;
  rebuild(run, cp, tree, sums);
  if (tree.size() != cp.size) return report;  // the tree is incomplete: nothing more to compare
  check_inclusions(run, cp, tree, sums);
  check_previous(run, *note, cp, tree, o);
  report.ok = !run.failed;
  return report;
}

CheckReport check_proof(const std::string& text, const CheckOptions& o) {
  CheckReport report;
  TileFetch none;
  Run run{none, report};
  auto block = parse_tlog_proof(text);
  if (!block.is_ok()) {
    run.bad(block.status().message());
    return report;
  }
  report.checkpoint = block->checkpoint;
  auto v = verify_tlog_proof(*block, o.log_key, o.witness_keys);
  if (!v.is_ok()) {
    run.bad(v.status().message());
    return report;
  }
  run.good("checkpoint of " + v->checkpoint.origin + " at size " + std::to_string(v->checkpoint.size) +
           ", signed by " + o.log_key.substr(0, o.log_key.find('+')));
  for (const auto& w : v->witnesses) run.good("cosigned by witness " + w);
  run.good("entry #" + std::to_string(block->index) + " is included in it");
  auto s = nlohmann::json::parse(v->leaf, nullptr, false);
  if (s.is_object() && s.value("kind", "") == "statement") {
    auto fen = [&](const char* k) { return s.contains(k) && s[k].is_number_integer() ? s[k].get<int64_t>() : 0; };
    auto yuan = [](int64_t f) {
      std::string sign = f < 0 ? "-" : "";
      uint64_t a = f < 0 ? 0 - static_cast<uint64_t>(f) : static_cast<uint64_t>(f);
      std::string cents = std::to_string(a % 100);
      return sign + std::to_string(a / 100) + "." + (cents.size() < 2 ? "0" : "") + cents;
    };
    run.good("it is the statement of " + s.value("village", std::string()) + " for " + s.value("month", std::string()) +
             ": opening " + yuan(fen("opening")) + ", income " + yuan(fen("income_total")) + ", expense " +
             yuan(fen("expense_total")) + ", closing " + yuan(fen("closing")) + " yuan");
  }
  report.entries = 1;
  report.ok = true;
  return report;
}

}  // namespace sunledger
