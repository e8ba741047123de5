// C2SP tiles from the ledger: path encoding, which tiles a tree has, tiles
// recomputing to the signed root (full and partial), nothing past the tree,
// the leaf cap; and tlog-proof blocks and cosignatures.
#include <gtest/gtest.h>

#include <cstring>

#include "ledger/merkle.h"
#include "ledger/tlog_proof.h"
#include "ledger/tlog_tiles.h"
#include "test_support.h"

namespace sunledger {
namespace {

using testing::TestLedger;

TEST(TilePaths, EncodesAsTheSpecSays) {
  EXPECT_EQ(tile_path({0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(tile_path({0, 0, 256}), "tile/0/000");
  EXPECT_EQ(tile_path({2, 1000, 17}), "tile/2/x001/000.p/17");
  EXPECT_EQ(tile_path({kEntriesLevel, 5, 3}), "tile/entries/005.p/3");
  for (const TileId& t : {TileId{0, 1234067, 256}, TileId{63, 0, 1}, TileId{kEntriesLevel, 999, 255},
                          TileId{1, UINT64_MAX, 256}}) {
    auto back = parse_tile_path(tile_path(t));
    ASSERT_TRUE(back.has_value()) << tile_path(t);
    EXPECT_EQ(*back, t);
  }
}

TEST(TilePaths, RefusesEveryOtherSpelling) {
  for (const char* p : {"tile/0/1", "tile/0/0001", "tile/0/x000/001", "tile/00/000", "tile/64/000", "tile/-1/000",
                        "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07", "tile/0/000.p/", "tile/0/001/002",
                        "tile/0/x001", "tile/0/../000", "tile/0/000/", "tile//000", "tile/entries/x1/000",
                        "tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/00a", "tile/0/000?x", "tile/data/000",
                        "tile/0/000.p/5/6", "tile/0", "checkpoint", ""})
    EXPECT_FALSE(parse_tile_path(p).has_value()) << p;
}

TEST(TilePaths, TilesOfATreeAsTheSpecsExample) {
  // 70,000: 273 full level-0 tiles, one partial of 112, one full level-1 tile,
  // one partial of 17, one partial level-2 tile of 1.
  auto tiles = tiles_for_size(70000, false);
  int full0 = 0;
  std::vector<TileId> partial;
  for (const auto& t : tiles) {
    if (t.level == 0 && t.width == 256) ++full0;
    else partial.push_back(t);
  }
  EXPECT_EQ(full0, 273);
  ASSERT_EQ(partial.size(), 4u);
  EXPECT_EQ(partial[0], (TileId{0, 273, 112}));
  EXPECT_EQ(partial[1], (TileId{1, 0, 256}));
  EXPECT_EQ(partial[2], (TileId{1, 1, 17}));
  EXPECT_EQ(partial[3], (TileId{2, 0, 1}));
  auto at256 = tiles_for_size(256, true);
  ASSERT_EQ(at256.size(), 3u);
  EXPECT_EQ(at256[2], (TileId{1, 0, 1}));
  EXPECT_TRUE(tiles_for_size(0, true).empty());
  EXPECT_TRUE(tile_within({0, 0, 5}, 5));
  EXPECT_FALSE(tile_within({0, 0, 6}, 5));
  EXPECT_FALSE(tile_within({1, 0, 1}, 255));
  EXPECT_TRUE(tile_within({1, 0, 1}, 256));
}

// Recomputes a tree's root from its tiles the way a client would: level-0
// tiles from the bundles' leaves, each level's tiles from the one below.
Hash root_from_tiles(Ledger& ledger, const std::string& log, uint64_t size) {
  CompactRange range;
  for (const TileId& t : tiles_for_size(size, true)) {
    if (t.level != kEntriesLevel) continue;
    auto bundle = ledger.tile(log, t);
    auto hashes = ledger.tile(log, {0, t.index, t.width});
    EXPECT_TRUE(bundle.is_ok() && hashes.is_ok());
    std::string_view b = *bundle;
    for (int i = 0; i < t.width; ++i) {
      size_t len = static_cast<unsigned char>(b[0]) << 8 | static_cast<unsigned char>(b[1]);
      Hash h = merkle_leaf_hash(b.substr(2, len));
      EXPECT_EQ(std::memcmp(h.data(), hashes->data() + 32 * i, 32), 0);
      b.remove_prefix(2 + len);
      range.append(h);
    }
    EXPECT_TRUE(b.empty());
  }
  return range.root();
}

TEST(LedgerTiles, RecomputeToTheSignedRootFullAndPartial) {
  TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"sj", "双江村", "朱亭镇"}).is_ok());
  std::vector<TransactionLine> lines;
  for (int i = 0; i < 300; ++i)
    lines.push_back(testing::txn("2022-11-0" + std::to_string(1 + i % 9), i % 2 == 0, i % 2 == 0 ? "上级拨款" : "办公费", "项" + std::to_string(i), 100 + i));
  ASSERT_TRUE(t.ledger->post_transactions("sj", lines, testing::official()).is_ok());
  auto size = t.ledger->log_size("sj");
  ASSERT_TRUE(size.is_ok());
  ASSERT_EQ(*size, 300u);
  auto cp = open_checkpoint(*t.ledger->checkpoint("sj"), t.ledger->verifier_key());
  ASSERT_TRUE(cp.is_ok());
  EXPECT_EQ(root_from_tiles(*t.ledger, "sj", 300), cp->root);
  // Any earlier size's partial tiles give that size's root.
  EXPECT_EQ(root_from_tiles(*t.ledger, "sj", 7), *t.ledger->root("sj", 7));
  // The level-1 tile is the hash of the full level-0 tile.
  auto l1 = t.ledger->tile("sj", {1, 0, 1});
  ASSERT_TRUE(l1.is_ok());
  EXPECT_EQ(*l1, std::string(as_view(*t.ledger->root("sj", 256))));
  // Beyond the tree: not found (a tile is never served before it exists).
  EXPECT_EQ(t.ledger->tile("sj", {0, 1, 45}).status().code(), Code::kNotFound);
  EXPECT_EQ(t.ledger->tile("sj", {0, 1, 256}).status().code(), Code::kNotFound);
  EXPECT_EQ(t.ledger->tile("sj", {1, 0, 2}).status().code(), Code::kNotFound);
  EXPECT_EQ(t.ledger->tile("sj", {2, 0, 1}).status().code(), Code::kNotFound);
  EXPECT_EQ(t.ledger->tile("nowhere", {0, 0, 1}).status().code(), Code::kNotFound);
  EXPECT_TRUE(t.ledger->tile("sj", {0, 1, 44}).is_ok());
}

TEST(LedgerTiles, LeavesStayBelow64KiB) {
  TestLedger t;
  std::string big(70000, 'a');
  Status s = t.ledger->write([&](WriteTxn& txn) {
    auto r = txn.append_to_log("bulky", nlohmann::json{{"kind", "note"}, {"text", big}}, testing::official());
    return r.status();
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("64 KiB"), std::string::npos) << s.message();
  Status ok = t.ledger->write([&](WriteTxn& txn) {
    return txn.append_to_log("bulky", nlohmann::json{{"kind", "note"}, {"text", std::string(60000, 'a')}}, testing::official()).status();
  });
  EXPECT_TRUE(ok.is_ok()) << ok.message();
}

TEST(TlogProof, MonthCloseCarriesAProofThatVerifiesAndSurvivesChatDamage) {
  TestLedger t;
  ASSERT_TRUE(t.ledger->add_village({"sj", "双江村", "朱亭镇"}).is_ok());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(t.ledger->post_transactions("sj", {testing::txn("2022-11-02", i != 3, i != 3 ? "上级拨款" : "办公费", "x", 1000 + i)}, testing::official()).is_ok());
  auto closed = t.ledger->close_month("sj", "2022-11", testing::official());
  ASSERT_TRUE(closed.is_ok());
  auto read = t.ledger->month_close("sj", "2022-11");
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read->statement_proof, closed->statement_proof);
  EXPECT_EQ(read->statement_leaf, closed->statement_leaf);
  ASSERT_FALSE(closed->statement_proof.empty());
  TlogProof p{closed->statement_leaf, closed->statement_index, closed->statement_proof, closed->checkpoint};
  std::string block = format_tlog_proof(p);
  EXPECT_EQ(block.rfind("c2sp.org/tlog-proof@v1\nextra ", 0), 0u);
  auto v = verify_tlog_proof(*parse_tlog_proof(block), t.ledger->verifier_key(), {});
  ASSERT_TRUE(v.is_ok()) << v.status().message();
  EXPECT_EQ(v->leaf, closed->statement_leaf);
  // A chat's damage: text around it, CR LF, indentation, a lost blank line, added blank lines.
  std::string damaged = "【双江村】\r\n  ";
  for (char c : block) damaged += c == '\n' ? std::string(" \r\n\xE3\x80\x80") : std::string(1, c);
  damaged += "\r\n有疑问请反映\r\n";
  auto parsed = parse_tlog_proof(damaged);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_TRUE(verify_tlog_proof(*parsed, t.ledger->verifier_key(), {}).is_ok());
  std::string lost_blank = block;
  lost_blank.erase(lost_blank.find("\n\n"), 1);
  EXPECT_TRUE(verify_tlog_proof(*parse_tlog_proof(lost_blank), t.ledger->verifier_key(), {}).is_ok());
  // Tampering: another leaf (a changed total), another index, a changed proof hash.
  TlogProof other = p;
  other.extra.replace(other.extra.find("\"income_total\":"), 16, "\"income_total\":9");
  EXPECT_FALSE(verify_tlog_proof(other, t.ledger->verifier_key(), {}).is_ok());
  other = p;
  other.index -= 1;
  EXPECT_FALSE(verify_tlog_proof(other, t.ledger->verifier_key(), {}).is_ok());
  other = p;
  other.proof[0][0] ^= 1;
  EXPECT_FALSE(verify_tlog_proof(other, t.ledger->verifier_key(), {}).is_ok());
  // Another key's checkpoint, or a witness that never cosigned.
  testing::TempDir d;
  auto stranger = Ed25519KeyFile::create(d.file("k.pem"), "test.sunledger");
  EXPECT_FALSE(verify_tlog_proof(p, verifier_key("test.sunledger", (*stranger)->public_key()), {}).is_ok());
}

// A cosignature/v1 line made by hand from the spec, with an Ed25519 key.
TEST(Cosignature, VerifiesTheSpecsMessageAndRefusesOthers) {
  testing::TempDir d;
  auto w = Ed25519KeyFile::create(d.file("w.pem"), "witness.example");
  ASSERT_TRUE(w.is_ok());
  std::string pub = (*w)->public_key();
  std::string vkey = "witness.example+00000000+" + base64_encode(std::string(1, '\x04') + pub);
  std::string body = "example.com/log\n5\n" + base64_encode(merkle_empty_root()) + "\n";
  uint64_t time = 1679315147;
  auto sig = (*w)->sign("cosignature/v1\ntime " + std::to_string(time) + "\n" + body);
  ASSERT_TRUE(sig.is_ok());
  Hash id = sha256({"witness.example", "\n", std::string(1, '\x04'), pub});
  std::string ts;
  for (int i = 7; i >= 0; --i) ts += static_cast<char>((time >> (8 * i)) & 0xff);
  std::string line = "\xE2\x80\x94 witness.example " + base64_encode(std::string(as_view(id).substr(0, 4)) + ts + *sig) + "\n";
  std::string note = body + "\n\xE2\x80\x94 example.com/log AAAA\n" + line;
  uint64_t got = 0;
  EXPECT_TRUE(verify_cosignature(note, vkey, &got).is_ok());
  EXPECT_EQ(got, time);
  std::string altered = note;
  altered[altered.find('5')] = '6';
  EXPECT_FALSE(verify_cosignature(altered, vkey).is_ok());
  // The same key as a note signer (type 0x01) is not a cosigner key.
  EXPECT_FALSE(verify_cosignature(note, verifier_key("witness.example", pub)).is_ok());
}

}  // namespace
}  // namespace sunledger
