// Hashing, encodings and randomness shared by every module (OpenSSL 3 underneath).
// Thread safe. Nothing here throws: an OpenSSL that cannot hash or produce
// randomness stops the process (see crypto.cc), since no key, receipt or
// hash may be made without them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace sunledger {

using Hash = std::array<uint8_t, 32>;
using Bytes = std::vector<uint8_t>;

// SHA-256 over the concatenation of the parts. The EVP_MD is fetched once per
// process: an implicit fetch per call doubles the cost of a small hash.
Hash sha256(std::string_view data);
Hash sha256(std::initializer_list<std::string_view> parts);

// HMAC-SHA256, for webhook signatures and keyed hashes of personal data.
Hash hmac_sha256(std::string_view key, std::string_view data);

std::string_view as_view(const Hash& h);
std::string_view as_view(const Bytes& b);

std::string base64_encode(std::string_view data);
inline std::string base64_encode(const Hash& h) { return base64_encode(as_view(h)); }
// Strict standard base64 with padding; anything else is an error. Some
// platforms issue keys whose last character carries stray bits (WeCom's
// EncodingAESKey): allow_stray_bits accepts those.
Result<std::string> base64_decode(std::string_view text, bool allow_stray_bits = false);
Result<Hash> hash_from_base64(std::string_view text);

std::string hex_encode(std::string_view data);
inline std::string hex_encode(const Hash& h) { return hex_encode(as_view(h)); }
Result<std::string> hex_decode(std::string_view text);

// Compares secrets without leaking, through timing, where they first differ.
// Lengths are not secret (a MAC's length is public), so unequal lengths return early.
bool constant_time_equal(std::string_view a, std::string_view b);

// AES-256-GCM with a random 96-bit nonce: nonce ‖ ciphertext ‖ 16-byte tag.
// For data kept only so the holder of a secret context can read it back
// (a stored reply only the same sender, chat and message id can open).
// The key is 32 bytes (e.g. an HMAC-SHA256 output).
Result<std::string> aead_seal(std::string_view key, std::string_view plaintext);
// kPermissionDenied when the key is wrong or the bytes were altered.
Result<std::string> aead_open(std::string_view key, std::string_view sealed);

// Cryptographically secure random bytes (RAND_bytes).
std::string random_bytes(size_t n);

}  // namespace sunledger
