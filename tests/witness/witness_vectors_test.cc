// litewitness's add-checkpoint test (tests/data/witness/litewitness.txt, from
// Torchwood) replayed against `sunledger witness serve` with the same witness
// key and the same Sigsum log key: the same answers (but 404 for an unknown
// log, per tlog-witness v1.0.0), cosignatures that verify under the key in the
// vectors' witness_key.pem, and the final size the vectors expect.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdio>
#include <regex>

#include "witness/witness.h"
#include "witness_support.h"

namespace sunledger::testing {
namespace {

struct Case {
  std::string body;
  int status = 0;
  std::string assertion;  // the hurl [Asserts] line
};

// The text of a txtar section ("-- name --" up to the next section).
std::string section(const std::string& txtar, const std::string& name) {
  size_t at = txtar.find("-- " + name + " --\n");
  EXPECT_NE(at, std::string::npos) << name;
  at = txtar.find('\n', at) + 1;
  size_t end = txtar.find("\n-- ", at);
  return txtar.substr(at, end == std::string::npos ? std::string::npos : end + 1 - at);
}

std::vector<Case> cases(const std::string& hurl) {
  std::vector<Case> out;
  const std::string open = "POST http://localhost:7380/add-checkpoint\n```\n";
  for (size_t at = hurl.find(open); at != std::string::npos; at = hurl.find(open, at)) {
    at += open.size();
    size_t close = hurl.find("```\n", at);
    Case c;
    c.body = hurl.substr(at, close - at);
    size_t http = hurl.find("HTTP ", close);
    c.status = std::stoi(hurl.substr(http + 5, 3));
    size_t asserts = hurl.find("[Asserts]\n", http) + 10;
    c.assertion = hurl.substr(asserts, hurl.find('\n', asserts) - asserts);
    out.push_back(c);
    at = close;
  }
  return out;
}

// An unencrypted OpenSSH Ed25519 private key: (public key, 32-byte seed).
std::pair<std::string, std::string> openssh_ed25519(const std::string& pem) {
  std::string b64;
  std::istringstream in(pem);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("-----", 0) != 0) b64 += line;
  auto blob = base64_decode(b64);
  EXPECT_TRUE(blob.is_ok());
  std::string_view b = *blob;
  size_t p = std::string_view("openssh-key-v1").size() + 1;
  auto u32 = [&] {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(b[p++]);
    return v;
  };
  auto str = [&] {
    uint32_t n = u32();
    std::string s(b.substr(p, n));
    p += n;
    return s;
  };
  EXPECT_EQ(str(), "none");  // cipher
  EXPECT_EQ(str(), "none");  // kdf
  str();                     // kdf options
  EXPECT_EQ(u32(), 1u);
  str();  // public key blob
  std::string priv = str();
  b = priv;
  p = 0;
  EXPECT_EQ(u32(), u32());  // check integers
  EXPECT_EQ(str(), "ssh-ed25519");
  std::string pub = str();
  std::string seed_and_pub = str();
  EXPECT_EQ(seed_and_pub.size(), 64u);
  EXPECT_EQ(seed_and_pub.substr(32), pub);
  return {pub, seed_and_pub.substr(0, 32)};
}

void write_pkcs8(const std::string& path, const std::string& seed) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  ASSERT_NE(key, nullptr);
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(f);
  EVP_PKEY_free(key);
  ::chmod(path.c_str(), 0600);
}

TEST(WitnessVectors, LitewitnessAddCheckpoint) {
  std::string txtar = read_file(std::string(SUNLEDGER_TEST_DATA) + "/witness/litewitness.txt");
  auto [witness_pub, witness_seed] = openssh_ed25519(section(txtar, "witness_key.pem"));
  // litewitness selects its key by the SHA-256 of the public key.
  EXPECT_EQ(hex_encode(sha256(witness_pub)), "e933707e0e36c30f01d94b5d81e742da373679d88eb0f85f959ccd80b83b992a");

  // The Sigsum log: key ffdc…; origin sigsum.org/v1/tree/hex(SHA-256(key)),
  // which also names the key in its signatures.
  auto log_pub = hex_decode("ffdc2d4d98e4124d3feaf788c0c2f9abfd796083d1f0495437f302ec79cf100f");
  ASSERT_TRUE(log_pub.is_ok());
  std::string origin = "sigsum.org/v1/tree/" + hex_encode(sha256(*log_pub));
  EXPECT_EQ(origin, "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562");
  std::string log_vkey = verifier_key(origin, *log_pub);

  TempDir tmp;
  std::string wdir = tmp.file("w");
  ASSERT_EQ(run_command(sunledger(wdir, "witness init --name example.com/witness")).exit_code, 0);
  // The vectors' witness key in place of the generated one.
  std::filesystem::remove(wdir + "/witness-key.pem");
  write_pkcs8(wdir + "/witness-key.pem", witness_seed);
  auto add = run_command(sunledger(wdir, "witness add-log --origin-prefix " + origin + " --key '" + log_vkey + "'"));
  ASSERT_EQ(add.exit_code, 0) << add.output;
  std::string wkey = run_command(sunledger(wdir, "witness key")).output;
  wkey.pop_back();
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", witness::cosignature_key_id("example.com/witness", witness_pub));
  EXPECT_EQ(wkey, "example.com/witness+" + std::string(hex) + "+" + base64_encode(std::string(1, '\x04') + witness_pub));

  WitnessProcess server;
  server.start(wdir);
  auto all = cases(section(txtar, "add-checkpoint.hurl"));
  ASSERT_EQ(all.size(), 9u);
  int cosigned = 0;
  for (const auto& c : all) {
    auto r = server.post(c.body);
    ASSERT_TRUE(r);
    bool unknown_log = c.assertion.find("unknown log") != std::string::npos;
    EXPECT_EQ(r->status, unknown_log ? 404 : c.status) << c.body << "→ " << r->body;
    if (c.status == 200) {
      EXPECT_NE(r->body.find("\xE2\x80\x94 example.com/witness "), std::string::npos);
      std::string note = c.body.substr(c.body.find("\n\n") + 2);
      note = note.substr(0, note.rfind("\n\n") + 1);
      auto ts = witness::verify_cosignature(r->body, note, wkey);
      EXPECT_TRUE(ts.is_ok()) << ts.status().to_string();
      ++cosigned;
    }
    std::smatch m;
    if (std::regex_match(c.assertion, m, std::regex(R"(body == "(\d+)\\n")"))) {
      EXPECT_EQ(r->body, m[1].str() + "\n");
      EXPECT_EQ(r->get_header_value("Content-Type"), "text/x.tlog.size");
    }
  }
  EXPECT_EQ(cosigned, 3);
  ASSERT_EQ(server.stop(), 0);
  auto logs = run_command(sunledger(wdir, "witness list-logs")).output;
  EXPECT_NE(logs.find("log\t" + origin + "\t5\tQrtXrQZCCvpIgsSmOsah7HdICzMLLyDfxToMql9WTjY=\t"), std::string::npos) << logs;
}

}  // namespace
}  // namespace sunledger::testing
