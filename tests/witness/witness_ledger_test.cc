// The witness and a real Sunledger ledger: the ledger's own checkpoints and
// consistency proofs are cosigned as it grows, and a fork made the way an
// operator would make one (a copy of the database, the same key, a different
// entry at the same index) is refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "ledger/ledger.h"
#include "witness/witness.h"
#include "witness_support.h"

namespace sunledger::testing {
namespace {


struct LedgerWitness : ::testing::Test {
  TestLedger t{"lukou.example/sunledger"};
  TempDir tmp;
  std::string wdir = tmp.file("witness");
  std::string wkey;
  WitnessProcess server;

  void SetUp() override {
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    auto init = run_command(sunledger(wdir, "witness init --name witness.zhuting.example/w1"));
    ASSERT_EQ(init.exit_code, 0) << init.output;
    wkey = first_line(init.output);
    auto add = run_command(sunledger(wdir, "witness add-log --origin-prefix lukou.example/sunledger/ --key '" +
                                               t.ledger->verifier_key() + "'"));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    server.start(wdir);
  }

  // The request a log sends: its latest checkpoint and the proof from `old`.
  static std::string request(Ledger& l, uint64_t old, uint64_t* size) {
    auto cp = l.checkpoint("shuangjiang");
    EXPECT_TRUE(cp.is_ok());
    auto opened = open_checkpoint(*cp, l.verifier_key());
    EXPECT_TRUE(opened.is_ok());
    *size = opened->size;
    std::string body = "old " + std::to_string(old) + "\n";
    if (old > 0 && old < opened->size) {
      auto proof = l.consistency_proof("shuangjiang", old, opened->size);
      EXPECT_TRUE(proof.is_ok());
      for (const auto& h : *proof) body += base64_encode(h) + "\n";
    }
    return body + "\n" + *cp;
  }
  static void post(Ledger& l, const std::string& item) {
    auto r = l.post_transactions("shuangjiang", {txn("2022-12-01", false, "办公费", item, 10000)}, official());
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
};

TEST_F(LedgerWitness, TheLedgersCheckpointsAreCosignedAsItGrows) {
  uint64_t witnessed = 0;
  for (int round = 0; round < 4; ++round) {
    post(*t.ledger, "打印纸 " + std::to_string(round));
    uint64_t size = 0;
    std::string body = request(*t.ledger, witnessed, &size);
    auto r = server.post(body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    std::string note = body.substr(body.find("\n\n") + 2);
    auto ts = witness::verify_cosignature(r->body, note.substr(0, note.rfind("\n\n") + 1), wkey);
    EXPECT_TRUE(ts.is_ok()) << ts.status().to_string();
    witnessed = size;
  }
  EXPECT_GE(witnessed, 4u);
}

TEST_F(LedgerWitness, ACopiedDatabaseWrittenDifferentlyIsRefused) {
  post(*t.ledger, "打印纸");
  uint64_t witnessed = 0;
  auto r = server.post(request(*t.ledger, 0, &witnessed));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  // The operator stops the server and copies its database, then writes a
  // different entry into each copy with the same key.
  t.ledger.reset();
  TempDir copy;
  for (const auto& e : std::filesystem::directory_iterator(t.dir.path()))
    std::filesystem::copy(e.path(), copy.path() / e.path().filename());
  auto open = [&](const std::string& db) { return Ledger::open(t.options({}, db)); };
  auto honest = open(t.db_path());
  auto forked = open(copy.file("sunledger.db"));
  ASSERT_TRUE(honest.is_ok() && forked.is_ok());
  post(**honest, "墨盒");
  post(**forked, "墨盒 (改)");
  uint64_t honest_size = 0, forked_size = 0;
  std::string honest_request = request(**honest, witnessed, &honest_size);
  std::string forked_request = request(**forked, witnessed, &forked_size);
  ASSERT_EQ(honest_size, forked_size);
  r = server.post(honest_request);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  // The fork at the same size: 409. Grown further, with its own proof: 422.
  r = server.post(request(**forked, honest_size, &forked_size));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << r->body;
  post(**forked, "信封");
  r = server.post(request(**forked, honest_size, &forked_size));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422) << r->body;
  auto logs = run_command(sunledger(wdir, "witness list-logs")).output;
  EXPECT_NE(logs.find("evidence\t2"), std::string::npos) << logs;
}

TEST_F(LedgerWitness, ASecondServeOnTheSameFolderIsRefused) {
  auto second = run_command(sunledger(wdir, "witness serve --listen 127.0.0.1:0"));
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("another witness process"), std::string::npos) << second.output;
}

}  // namespace
}  // namespace sunledger::testing
