// RFC 9162 section 2.1 Merkle trees: hashing, proofs from stored subtree
// hashes, and proof verification.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace sunledger {

Hash merkle_leaf_hash(std::string_view leaf);              // SHA-256(0x00 || leaf)
Hash merkle_node_hash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
Hash merkle_empty_root();                                   // SHA-256("")

// Where the hashes of perfect subtrees come from. Level L, index i is the
// subtree over leaves [i * 2^L, (i + 1) * 2^L); level 0 is the leaf hash.
class SubtreeHashSource {
 public:
  virtual ~SubtreeHashSource() = default;
  virtual Result<Hash> perfect_subtree(int level, uint64_t index) = 0;
};

// Answers tree heads and proofs for any size up to the log's size with
// O(log n) subtree look-ups: a tree over n leaves is a handful of perfect
// subtrees, each stored once when its last leaf was appended.
// Borrows `source` (it must outlive the tree). Not thread-safe: one tree per
// thread, as each reads through its source's prepared statement.
class MerkleTree {
 public:
  MerkleTree(SubtreeHashSource* source, uint64_t log_size) : source_(source), log_size_(log_size) {}

  Result<Hash> root(uint64_t size);
  // PATH(index, D[0:size]) from RFC 9162 2.1.3.1, nearest the leaf first.
  Result<std::vector<Hash>> inclusion_proof(uint64_t index, uint64_t size);
  // PROOF(from, D[0:to]) from RFC 9162 2.1.4.1; empty when from == to.
  Result<std::vector<Hash>> consistency_proof(uint64_t from, uint64_t to);

 private:
  Result<Hash> range_hash(uint64_t begin, uint64_t end);

  SubtreeHashSource* source_;
  uint64_t log_size_;
};

// The right edge of a tree: the perfect subtrees whose sizes are the set bits
// of the tree size, largest first. Enough to append a leaf and to compute the
// root without reading anything else. A value type without locks: the
// ledger's writer owns each log's range and copies it for a rollback.
class CompactRange {
 public:
  struct NewNode {
    int level;
    uint64_t index;
    Hash hash;
  };

  CompactRange() = default;
  static Result<CompactRange> decode(uint64_t size, std::string_view packed);
  std::string encode() const;  // the frontier hashes concatenated

  uint64_t size() const { return size_; }
  // Appends one leaf hash; returns every perfect subtree it completed
  // (level 0 first), which the caller stores.
  std::vector<NewNode> append(const Hash& leaf_hash);
  Hash root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> frontier_;  // largest subtree first
};

// Verifiers. Hashes arrive as raw bytes so that a wrong length is a failed
// verification, not an exception.
bool verify_inclusion(uint64_t index, uint64_t size, std::string_view leaf_hash,
                      const std::vector<std::string>& proof, std::string_view root);
bool verify_consistency(uint64_t size1, uint64_t size2, std::string_view root1, std::string_view root2,
                        const std::vector<std::string>& proof);

}  // namespace sunledger
