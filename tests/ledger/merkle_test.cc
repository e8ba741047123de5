#include "ledger/merkle.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "test_support.h"

namespace sunledger {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string b64(const json& j) {
  if (j.is_null()) return "";
  auto d = base64_decode(j.get<std::string>());
  EXPECT_TRUE(d.is_ok()) << j;
  return d.is_ok() ? *d : "";
}

std::vector<std::string> proof_of(const json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& p : j) out.push_back(b64(p));
  return out;
}

std::vector<fs::path> vectors(const std::string& kind) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(SUNLEDGER_TEST_DATA) / "merkle" / kind))
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MerkleVectors, EveryInclusionVector) {
  auto files = vectors("inclusion");
  ASSERT_GE(files.size(), 80u);
  for (const auto& f : files) {
    json v = json::parse(testing::read_file(f.string()));
    bool ok = verify_inclusion(v["leafIdx"].get<uint64_t>(), v["treeSize"].get<uint64_t>(), b64(v["leafHash"]),
                               proof_of(v["proof"]), b64(v["root"]));
    EXPECT_EQ(ok, !v["wantErr"].get<bool>()) << f << ": " << v["desc"];
  }
}

TEST(MerkleVectors, EveryConsistencyVector) {
  auto files = vectors("consistency");
  ASSERT_GE(files.size(), 90u);
  for (const auto& f : files) {
    json v = json::parse(testing::read_file(f.string()));
    bool ok = verify_consistency(v["size1"].get<uint64_t>(), v["size2"].get<uint64_t>(), b64(v["root1"]),
                                 b64(v["root2"]), proof_of(v["proof"]));
    EXPECT_EQ(ok, !v["wantErr"].get<bool>()) << f << ": " << v["desc"];
  }
}

// The leaves and roots of the table in tests/data/merkle/README.md.
const std::vector<std::string> kLeavesHex = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                             "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kRootsHex = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

// Perfect subtrees kept in a map, filled the way the ledger fills its table.
class MapSource : public SubtreeHashSource {
 public:
  std::map<std::pair<int, uint64_t>, Hash> nodes;
  int lookups = 0;
  Result<Hash> perfect_subtree(int level, uint64_t index) override {
    ++lookups;
    auto it = nodes.find({level, index});
    if (it == nodes.end()) return not_found("no node");
    return it->second;
  }
};

// RFC 9162's recursive definition, straight from the text, as the reference.
Hash reference_mth(const std::vector<std::string>& leaves, size_t b, size_t e) {
  if (e - b == 0) return merkle_empty_root();
  if (e - b == 1) return merkle_leaf_hash(leaves[b]);
  size_t k = 1;
  while (k * 2 < e - b) k *= 2;
  return merkle_node_hash(reference_mth(leaves, b, b + k), reference_mth(leaves, b + k, e));
}

struct Built {
  std::vector<std::string> leaves;
  MapSource source;
  CompactRange range;
};

void build(Built& t, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    t.leaves.push_back("leaf-" + std::to_string(i));
    for (const auto& node : t.range.append(merkle_leaf_hash(t.leaves.back())))
      t.source.nodes[{node.level, node.index}] = node.hash;
  }
}

TEST(MerkleTree, KnownRootsForSizesZeroToEight) {
  MapSource source;
  CompactRange range;
  for (size_t size = 0; size <= 8; ++size) {
    MerkleTree tree(&source, size);
    EXPECT_EQ(hex_encode(*tree.root(size)), kRootsHex[size]) << "size " << size;
    EXPECT_EQ(hex_encode(range.root()), kRootsHex[size]) << "compact range, size " << size;
    if (size < 8)
      for (const auto& node : range.append(merkle_leaf_hash(*hex_decode(kLeavesHex[size]))))
        source.nodes[{node.level, node.index}] = node.hash;
  }
}

TEST(MerkleTree, ProofsForEveryPastSizeVerify) {
  Built t;
  build(t, 70);
  MerkleTree tree(&t.source, 70);
  for (uint64_t size = 1; size <= 70; ++size) {
    Hash root = *tree.root(size);
    ASSERT_EQ(root, reference_mth(t.leaves, 0, size)) << size;
    for (uint64_t i = 0; i < size; ++i) {
      auto proof = tree.inclusion_proof(i, size);
      ASSERT_TRUE(proof.is_ok());
      std::vector<std::string> p;
      for (const auto& h : *proof) p.emplace_back(as_view(h));
      EXPECT_TRUE(verify_inclusion(i, size, as_view(merkle_leaf_hash(t.leaves[i])), p, as_view(root)))
          << i << "/" << size;
      // A proof for another leaf must fail.
      if (size > 1) {
        EXPECT_FALSE(verify_inclusion(i, size, as_view(merkle_leaf_hash("other")), p, as_view(root)));
      }
    }
    for (uint64_t from = 1; from <= size; ++from) {
      auto proof = tree.consistency_proof(from, size);
      ASSERT_TRUE(proof.is_ok());
      std::vector<std::string> p;
      for (const auto& h : *proof) p.emplace_back(as_view(h));
      EXPECT_TRUE(verify_consistency(from, size, as_view(*tree.root(from)), as_view(root), p)) << from << "->" << size;
    }
  }
}

TEST(MerkleTree, ProofsUseLogarithmicLookups) {
  Built t;
  build(t, 1000);
  MerkleTree tree(&t.source, 1000);
  t.source.lookups = 0;
  ASSERT_TRUE(tree.inclusion_proof(617, 999).is_ok());
  EXPECT_LE(t.source.lookups, 2 * 10 + 2);
  t.source.lookups = 0;
  ASSERT_TRUE(tree.consistency_proof(333, 999).is_ok());
  EXPECT_LE(t.source.lookups, 3 * 10 + 2);
}

TEST(MerkleTree, RefusesImpossibleRequests) {
  Built t;
  build(t, 5);
  MerkleTree tree(&t.source, 5);
  EXPECT_FALSE(tree.root(6).is_ok());
  EXPECT_FALSE(tree.inclusion_proof(5, 5).is_ok());
  EXPECT_FALSE(tree.inclusion_proof(0, 6).is_ok());
  EXPECT_FALSE(tree.consistency_proof(0, 3).is_ok());
  EXPECT_FALSE(tree.consistency_proof(4, 3).is_ok());
  EXPECT_FALSE(tree.consistency_proof(3, 6).is_ok());
  EXPECT_TRUE(tree.consistency_proof(3, 3)->empty());
}

TEST(CompactRange, EncodesAndDecodes) {
  Built t;
  build(t, 13);
  auto back = CompactRange::decode(13, t.range.encode());
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->root(), t.range.root());
  EXPECT_FALSE(CompactRange::decode(12, t.range.encode()).is_ok());
}

}  // namespace
}  // namespace sunledger
