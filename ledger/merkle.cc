#include "ledger/merkle.h"

#include <algorithm>
#include <bit>

namespace sunledger {
namespace {

uint64_t largest_power_of_two_below(uint64_t n) {  // n >= 2
  return std::bit_floor(n - 1);
}

bool is_power_of_two(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

Hash to_hash(std::string_view s) {
  Hash h{};
  std::copy(s.begin(), s.end(), h.begin());
  return h;
}

}  // namespace

Hash merkle_leaf_hash(std::string_view leaf) {
  static const char kZero = 0x00;
  return sha256({std::string_view(&kZero, 1), leaf});
}

Hash merkle_node_hash(const Hash& left, const Hash& right) {
  static const char kOne = 0x01;
  return sha256({std::string_view(&kOne, 1), as_view(left), as_view(right)});
}

Hash merkle_empty_root() { return sha256(std::string_view()); }

// MTH(D[begin:end]). Every range RFC 9162's recursion visits starts at a
// multiple of its largest power-of-two part, so the left halves are stored
// perfect subtrees and only the right edge needs combining.
Result<Hash> MerkleTree::range_hash(uint64_t begin, uint64_t end) {
  std::vector<Hash> lefts;
  while (!is_power_of_two(end - begin)) {
    uint64_t k = largest_power_of_two_below(end - begin);
    auto left = source_->perfect_subtree(std::countr_zero(k), begin >> std::countr_zero(k));
    if (!left.is_ok()) return left.status();
    lefts.push_back(*left);
    begin += k;
  }
  int level = std::countr_zero(end - begin);
  auto acc = source_->perfect_subtree(level, begin >> level);
  if (!acc.is_ok()) return acc.status();
  Hash h = *acc;
  for (auto it = lefts.rbegin(); it != lefts.rend(); ++it) h = merkle_node_hash(*it, h);
  return h;
}

Result<Hash> MerkleTree::root(uint64_t size) {
  if (size > log_size_) return invalid_argument("tree size " + std::to_string(size) + " is beyond the log size " + std::to_string(log_size_));
  if (size == 0) return merkle_empty_root();
  return range_hash(0, size);
}

Result<std::vector<Hash>> MerkleTree::inclusion_proof(uint64_t index, uint64_t size) {
  if (size > log_size_) return invalid_argument("tree size " + std::to_string(size) + " is beyond the log size " + std::to_string(log_size_));
  if (index >= size) return invalid_argument("index " + std::to_string(index) + " is not below tree size " + std::to_string(size));
  std::vector<Hash> top_down;
  uint64_t begin = 0, end = size;
  while (end - begin > 1) {
    uint64_t k = largest_power_of_two_below(end - begin);
    Result<Hash> sibling = index < begin + k ? range_hash(begin + k, end) : range_hash(begin, begin + k);
    if (!sibling.is_ok()) return sibling.status();
    top_down.push_back(*sibling);
    if (index < begin + k) end = begin + k;
    else begin += k;
  }
  std::reverse(top_down.begin(), top_down.end());
  return top_down;
}

Result<std::vector<Hash>> MerkleTree::consistency_proof(uint64_t from, uint64_t to) {
  if (to > log_size_) return invalid_argument("tree size " + std::to_string(to) + " is beyond the log size " + std::to_string(log_size_));
  if (from == 0 || from > to) return invalid_argument("a consistency proof needs 0 < from <= to");
  std::vector<Hash> top_down;
  if (from == to) return top_down;
  // SUBPROOF(m, D[begin:end], whole) iteratively; m is relative to begin.
  uint64_t begin = 0, end = to, m = from;
  bool whole = true;
  while (m != end - begin) {
    uint64_t k = largest_power_of_two_below(end - begin);
    if (m <= k) {
      auto right = range_hash(begin + k, end);
      if (!right.is_ok()) return right.status();
      top_down.push_back(*right);
      end = begin + k;
    } else {
      auto left = range_hash(begin, begin + k);
      if (!left.is_ok()) return left.status();
      top_down.push_back(*left);
      begin += k;
      m -= k;
      whole = false;
    }
  }
  if (!whole) {
    auto sub = range_hash(begin, end);
    if (!sub.is_ok()) return sub.status();
    top_down.push_back(*sub);
  }
  std::reverse(top_down.begin(), top_down.end());
  return top_down;
}

Result<CompactRange> CompactRange::decode(uint64_t size, std::string_view packed) {
  size_t count = static_cast<size_t>(std::popcount(size));
  if (packed.size() != count * 32) return data_loss("stored frontier does not match the tree size");
  CompactRange r;
  r.size_ = size;
  for (size_t i = 0; i < count; ++i) r.frontier_.push_back(to_hash(packed.substr(i * 32, 32)));
  return r;
}

std::string CompactRange::encode() const {
  std::string out;
  out.reserve(frontier_.size() * 32);
  for (const Hash& h : frontier_) out.append(as_view(h));
  return out;
}

std::vector<CompactRange::NewNode> CompactRange::append(const Hash& leaf_hash) {
  std::vector<NewNode> created;
  uint64_t index = size_;
  Hash h = leaf_hash;
  int level = 0;
  created.push_back({0, index, h});
  // Each trailing one bit of the old size is a left sibling waiting for us.
  while (index & 1) {
    h = merkle_node_hash(frontier_.back(), h);
    frontier_.pop_back();
    ++level;
    index >>= 1;
    created.push_back({level, index, h});
  }
  frontier_.push_back(h);
  ++size_;
  return created;
}

Hash CompactRange::root() const {
  if (frontier_.empty()) return merkle_empty_root();
  Hash h = frontier_.back();
  for (size_t i = frontier_.size() - 1; i-- > 0;) h = merkle_node_hash(frontier_[i], h);
  return h;
}

bool verify_inclusion(uint64_t index, uint64_t size, std::string_view leaf_hash,
                      const std::vector<std::string>& proof, std::string_view root) {
  if (index >= size || leaf_hash.size() != 32 || root.size() != 32) return false;
  for (const auto& p : proof)
    if (p.size() != 32) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = to_hash(leaf_hash);
  for (const auto& p : proof) {
    if (sn == 0) return false;
    Hash ph = to_hash(p);
    if ((fn & 1) || fn == sn) {
      r = merkle_node_hash(ph, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = merkle_node_hash(r, ph);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && constant_time_equal(as_view(r), root);
}

bool verify_consistency(uint64_t size1, uint64_t size2, std::string_view root1, std::string_view root2,
                        const std::vector<std::string>& proof) {
  if (size1 == 0 || size1 > size2) return false;
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (proof.empty() || root1.size() != 32 || root2.size() != 32) return false;
  for (const auto& p : proof)
    if (p.size() != 32) return false;
  std::vector<std::string> path;
  if (is_power_of_two(size1)) path.emplace_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = to_hash(path[0]), sr = fr;
  for (size_t i = 1; i < path.size(); ++i) {
    if (sn == 0) return false;
    Hash c = to_hash(path[i]);
    if ((fn & 1) || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && constant_time_equal(as_view(fr), root1) && constant_time_equal(as_view(sr), root2);
}

}  // namespace sunledger
