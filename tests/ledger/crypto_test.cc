#include "ledger/crypto.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <thread>
#include <vector>

namespace sunledger {
namespace {

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(hex_encode(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_encode(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256({"a", "bc"}), sha256("abc"));
}

TEST(HmacSha256, Rfc4231Case2) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// hmac_sha256 keeps keyed contexts per thread (see crypto.cc): whatever the
// keys, their order and the threads, it must give what OpenSSL's one-shot
// HMAC gives.
std::string one_shot(const std::string& key, const std::string& data) {
  Hash out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return hex_encode(out);
}

TEST(HmacSha256, Rfc4231Cases) {
  // Case 1, case 6 (a key longer than SHA-256's block, hashed first).
  EXPECT_EQ(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex_encode(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, SameAsOpenSslsOneShotForEveryKeyOrderAndThread) {
  // More keys than a thread keeps (4), the empty key and empty data among them,
  // asked in an order that evicts and brings back each.
  std::vector<std::string> keys = {"", "k", "whsec-secret-1", "salt-0123456789abcdef", std::string(64, 'x'),
                                   std::string(65, 'y'), "k2", std::string("\0nul", 4)};
  std::vector<std::string> data = {"", "a", "msg_1.1700000000.{\"text\":\"账目 2022-11\"}", std::string(1000, 'z')};
  auto check = [&](int seed) {
    for (int round = 0; round < 50; ++round)
      for (size_t i = 0; i < keys.size(); ++i) {
        const std::string& k = keys[(i * 3 + static_cast<size_t>(round + seed)) % keys.size()];
        const std::string& d = data[(i + static_cast<size_t>(round)) % data.size()];
        ASSERT_EQ(hex_encode(hmac_sha256(k, d)), one_shot(k, d)) << "key size " << k.size() << ", data size " << d.size();
      }
  };
  check(0);
  std::vector<std::thread> threads;
  for (int t = 1; t <= 4; ++t) threads.emplace_back(check, t);
  for (auto& t : threads) t.join();
  // A different key of the same length never reuses another's context.
  EXPECT_NE(hmac_sha256("key-a", "m"), hmac_sha256("key-b", "m"));
}

TEST(Base64, RoundTripsAndRefusesMalformed) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d.is_ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("Zm9").is_ok());
  EXPECT_FALSE(base64_decode("Zm=v").is_ok());
  EXPECT_FALSE(base64_decode("Zm9v!A==").is_ok());
  EXPECT_FALSE(base64_decode("Zh==").is_ok());  // stray bits under padding
  EXPECT_FALSE(hash_from_base64("Zm9vYmFy").is_ok());
}

TEST(Hex, RoundTrips) {
  EXPECT_EQ(hex_encode(std::string("\x01\xab", 2)), "01ab");
  EXPECT_EQ(*hex_decode("01AB"), std::string("\x01\xab", 2));
  EXPECT_FALSE(hex_decode("0").is_ok());
  EXPECT_FALSE(hex_decode("zz").is_ok());
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secrets"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(RandomBytes, AreRandom) {
  EXPECT_EQ(random_bytes(16).size(), 16u);
  EXPECT_NE(random_bytes(16), random_bytes(16));
}

}  // namespace
}  // namespace sunledger
