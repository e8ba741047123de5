#include "ledger/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_support.h"

namespace sunledger {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;

struct KeyFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<Ed25519KeyFile> key;
  void SetUp() override {
    auto k = Ed25519KeyFile::create(dir.file("key.pem"), "lukou.example/sunledger");
    ASSERT_TRUE(k.is_ok()) << k.status().to_string();
    key = std::move(*k);
  }
  Checkpoint sample() const {
    return Checkpoint{"lukou.example/sunledger/shuangjiang", 42, sha256("root")};
  }
};

TEST_F(KeyFixture, KeyFileIsPrivateAndReloads) {
  struct stat st{};
  ASSERT_EQ(::stat(dir.file("key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = Ed25519KeyFile::load(dir.file("key.pem"), "lukou.example/sunledger");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ((*again)->public_key(), key->public_key());
  EXPECT_EQ(read_file(dir.file("key.pem")).find("-----BEGIN PRIVATE KEY-----"), 0u);
}

TEST_F(KeyFixture, RefusesToOverwriteOrLoadAnExposedKey) {
  EXPECT_EQ(Ed25519KeyFile::create(dir.file("key.pem"), "x").status().code(), Code::kAlreadyExists);
  ::chmod(dir.file("key.pem").c_str(), 0644);
  EXPECT_EQ(Ed25519KeyFile::load(dir.file("key.pem"), "x").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(Ed25519KeyFile::load(dir.file("nope.pem"), "x").status().code(), Code::kNotFound);
  write_file(dir.file("junk.pem"), "not a key");
  ::chmod(dir.file("junk.pem").c_str(), 0600);
  EXPECT_EQ(Ed25519KeyFile::load(dir.file("junk.pem"), "x").status().code(), Code::kDataLoss);
  EXPECT_FALSE(Ed25519KeyFile::create(dir.file("k2.pem"), "has space").is_ok());
}

TEST_F(KeyFixture, CheckpointHasTheC2spShape) {
  auto note = sign_checkpoint(sample(), *key);
  ASSERT_TRUE(note.is_ok());
  std::string body = "lukou.example/sunledger/shuangjiang\n42\n" + base64_encode(sha256("root")) + "\n";
  ASSERT_EQ(note->substr(0, body.size()), body);
  std::string sig_line = note->substr(body.size());
  std::string prefix = "\n\xE2\x80\x94 lukou.example/sunledger ";
  ASSERT_EQ(sig_line.substr(0, prefix.size()), prefix);
  auto blob = base64_decode(sig_line.substr(prefix.size(), sig_line.size() - prefix.size() - 1));
  ASSERT_TRUE(blob.is_ok());
  ASSERT_EQ(blob->size(), 68u);
  // Key id computed independently of note_key_id.
  std::string id_input = "lukou.example/sunledger\n\x01" + key->public_key();
  EXPECT_EQ(blob->substr(0, 4), std::string(as_view(sha256(id_input)).substr(0, 4)));
  EXPECT_TRUE(ed25519_verify(key->public_key(), body, blob->substr(4)));
}

TEST_F(KeyFixture, VerifierKeyFormat) {
  std::string vk = verifier_key(key->key_name(), key->public_key());
  std::string id_hex = hex_encode(as_view(sha256("lukou.example/sunledger\n\x01" + key->public_key())).substr(0, 4));
  EXPECT_EQ(vk, "lukou.example/sunledger+" + id_hex + "+" + base64_encode("\x01" + key->public_key()));
}

TEST_F(KeyFixture, OpenCheckpointVerifiesAndRejectsTampering) {
  auto note = sign_checkpoint(sample(), *key);
  std::string vk = verifier_key(key->key_name(), key->public_key());
  auto cp = open_checkpoint(*note, vk);
  ASSERT_TRUE(cp.is_ok()) << cp.status().to_string();
  EXPECT_EQ(cp->size, 42u);
  EXPECT_EQ(cp->root, sha256("root"));
  EXPECT_EQ(cp->origin, "lukou.example/sunledger/shuangjiang");

  std::string tampered = *note;
  tampered.replace(tampered.find("\n42\n"), 4, "\n43\n");
  EXPECT_EQ(open_checkpoint(tampered, vk).status().code(), Code::kDataLoss);

  TempDir other;
  auto k2 = Ed25519KeyFile::create(other.file("k.pem"), "lukou.example/sunledger");
  EXPECT_FALSE(open_checkpoint(*note, verifier_key(key->key_name(), (*k2)->public_key())).is_ok());
  EXPECT_FALSE(open_checkpoint("garbage", vk).is_ok());
  EXPECT_FALSE(open_checkpoint(*note, "not-a-key").is_ok());
}

// The signature must verify with stock OpenSSL over the checkpoint text.
TEST_F(KeyFixture, OpensslPkeyutlVerifiesTheSignature) {
  auto note = sign_checkpoint(sample(), *key);
  std::string body = checkpoint_body(sample());
  size_t sp = note->rfind(' ');
  auto blob = base64_decode(note->substr(sp + 1, note->size() - sp - 2));
  ASSERT_TRUE(blob.is_ok());
  write_file(dir.file("pub.pem"), key->public_key_pem());
  write_file(dir.file("body.txt"), body);
  write_file(dir.file("sig.bin"), blob->substr(4));
  std::string cmd = "openssl pkeyutl -verify -pubin -inkey " + dir.file("pub.pem") + " -rawin -in " +
                    dir.file("body.txt") + " -sigfile " + dir.file("sig.bin");
  auto r = testing::run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Signature Verified Successfully"), std::string::npos) << r.output;
  write_file(dir.file("body.txt"), body + "x");
  EXPECT_NE(testing::run_command(cmd).exit_code, 0);
}

}  // namespace
}  // namespace sunledger
