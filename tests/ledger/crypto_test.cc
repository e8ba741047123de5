#include "ledger/crypto.h"

#include <gtest/gtest.h>

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
