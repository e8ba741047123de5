// /logs/{log}/...: the C2SP tiles served over HTTP: the bytes the ledger
// holds, recomputing to the checkpoint, with the caching rules, and nothing
// for a hostile or out-of-tree path or a log the public may not read.
#include <gtest/gtest.h>

#include <cstring>

#include "ledger/merkle.h"
#include "ledger/tlog_tiles.h"
#include "server_fixture.h"

namespace sunledger {
namespace {

using testing::official;
using testing::txn;

struct TilesApi : ::testing::Test {
  testing::TestLedger t;
  testing::RunningServer s;

  void SetUp() override {
    Ledger& L = *t.ledger;
    ASSERT_TRUE(L.add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    std::vector<TransactionLine> lines;
    for (int i = 0; i < 260; ++i) lines.push_back(txn("2022-11-03", i % 3 == 0, i % 3 == 0 ? "上级拨款" : "办公费", "第" + std::to_string(i) + "笔", 500 + i));
    ASSERT_TRUE(L.post_transactions("shuangjiang", lines, official()).is_ok());
    ASSERT_TRUE(L.write([](WriteTxn& w) {
      return w.append_to_log("complaints", nlohmann::json{{"kind", "complaint"}, {"commitment", "abc"}}, official(), true).status();
    }).is_ok());
    s.start(&L);
  }
};

TEST_F(TilesApi, TilesRecomputeToTheServedCheckpoint) {
  auto c = s.client();
  auto cp = c.Get("/logs/shuangjiang/checkpoint");
  ASSERT_TRUE(cp);
  ASSERT_EQ(cp->status, 200);
  EXPECT_EQ(cp->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(cp->get_header_value("Cache-Control"), "public, max-age=5");
  auto opened = open_checkpoint(cp->body, t.ledger->verifier_key());
  ASSERT_TRUE(opened.is_ok());
  ASSERT_EQ(opened->size, 260u);
  CompactRange range;
  for (const TileId& tile : tiles_for_size(opened->size, true)) {
    auto r = c.Get("/logs/shuangjiang/" + tile_path(tile));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << tile_path(tile);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/octet-stream");
    EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(r->body, *t.ledger->tile("shuangjiang", tile));
    if (tile.level != kEntriesLevel) continue;
    std::string_view b = r->body;
    while (!b.empty()) {
      size_t len = static_cast<unsigned char>(b[0]) << 8 | static_cast<unsigned char>(b[1]);
      range.append(merkle_leaf_hash(b.substr(2, len)));
      b.remove_prefix(2 + len);
    }
  }
  EXPECT_EQ(range.root(), opened->root);
  // The level-1 tile (one hash, over the first full level-0 tile) and the partial at 5.
  EXPECT_EQ(c.Get("/logs/shuangjiang/tile/1/000.p/1")->status, 200);
  EXPECT_EQ(c.Get("/logs/shuangjiang/tile/0/000.p/5")->body.size(), 5u * 32);
}

TEST_F(TilesApi, NothingBeyondTheTreeNorForHostilePathsOrPrivateLogs) {
  auto c = s.client();
  for (const char* p : {"/logs/shuangjiang/tile/0/001.p/6", "/logs/shuangjiang/tile/0/001", "/logs/shuangjiang/tile/1/000",
                        "/logs/shuangjiang/tile/1/000.p/2", "/logs/shuangjiang/tile/2/000.p/1",
                        "/logs/shuangjiang/tile/entries/002.p/1", "/logs/nowhere/checkpoint", "/logs/nowhere/tile/0/000.p/1",
                        "/logs/villages/checkpoint", "/logs/villages/tile/0/000.p/1", "/logs/admin/checkpoint"}) {
    auto r = c.Get(p);
    ASSERT_TRUE(r) << p;
    EXPECT_EQ(r->status, 404) << p;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store") << p;
  }
  for (const char* p : {"/logs/shuangjiang/tile/0/0000", "/logs/shuangjiang/tile/0/x000/000",
                        "/logs/shuangjiang/tile/0/../../v1/key", "/logs/shuangjiang/tile/0/000.p/256",
                        "/logs/shuangjiang/tile/0/000.p/0", "/logs/shuangjiang/tile/64/000", "/logs/shuangjiang/tile/0/%2e%2e/000",
                        "/logs/shuangjiang/tile/01/000", "/logs/shuangjiang/tile/0/000.p/01"}) {
    auto r = c.Get(p);
    ASSERT_TRUE(r) << p;
    EXPECT_TRUE(r->status == 400 || r->status == 404) << p << " " << r->status;
    EXPECT_NE(r->get_header_value("Content-Type"), "application/octet-stream") << p;
  }
}

// The complaint log is not public: its entries would time each named filing
// and link a reporter's filings (a privacy review of the tiles); the public
// sees complaint counts as of 00:00 today only.
TEST_F(TilesApi, TheComplaintLogIsNotPublic) {
  auto c = s.client();
  ASSERT_TRUE(t.ledger->checkpoint("complaints").is_ok());  // the log exists and has an entry
  for (const char* p : {"/logs/complaints/checkpoint", "/logs/complaints/tile/entries/000.p/1", "/logs/complaints/tile/0/000.p/1"}) {
    auto r = c.Get(p);
    ASSERT_TRUE(r) << p;
    EXPECT_EQ(r->status, 404) << p;
    EXPECT_EQ(r->body.find("complaint\""), std::string::npos) << p;
  }
}

}  // namespace
}  // namespace sunledger
