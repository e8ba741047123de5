#include "ledger/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace sunledger {
namespace {

// OpenSSL without SHA-256 or without randomness is a broken installation,
// not an error a caller could handle: no receipt, key or hash may be made
// from it, so the process stops (no exception crosses the module).
[[noreturn]] void crypto_failure(const char* what) {
  std::fprintf(stderr, "sunledger: fatal: %s\n", what);
  std::abort();
}

const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) crypto_failure("OpenSSL has no SHA256");
    return m;
  }();
  return md;
}

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Hash sha256(std::initializer_list<std::string_view> parts) {
  // One context per thread, reused: allocation costs as much as hashing a leaf.
  thread_local MdCtx ctx;
  Hash out{};
  unsigned len = 0;
  if (ctx.ctx == nullptr || EVP_DigestInit_ex2(ctx.ctx, sha256_md(), nullptr) != 1)
    crypto_failure("EVP_DigestInit_ex2 failed");
  for (auto p : parts) EVP_DigestUpdate(ctx.ctx, p.data(), p.size());
  EVP_DigestFinal_ex(ctx.ctx, out.data(), &len);
  return out;
}

Hash sha256(std::string_view data) { return sha256({data}); }

namespace {

// OpenSSL 3's one-shot HMAC() looks the algorithm up, builds a context and
// hashes the key on every call: most of its cost for a webhook's short
// signed text (4% of server CPU under signed queries). Instead the algorithm
// is fetched once, and each thread keeps a context keyed with each of the
// last few keys it used (a bot's webhook secret, the identity salt); a MAC
// re-initialises one in place (EVP_MAC_init without a key restarts from the
// keyed state: no copy of the context made and freed per MAC, 4,200 of the
// 15,600 instructions a webhook's HMAC took, issue #18). The contexts are
// the thread's own and hmac_sha256 never calls itself, so one is never in
// use twice. The keys are secrets already held in this process's memory; a
// slot's copy is wiped when it is reused or the thread ends.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct KeyedHmacs {
  struct Slot {
    std::string key;
    EVP_MAC_CTX* ctx = nullptr;
    void clear() {
      EVP_MAC_CTX_free(ctx);
      ctx = nullptr;
      OPENSSL_cleanse(key.data(), key.size());
      key.clear();
    }
  };
  std::array<Slot, 4> slots;
  size_t next = 0;
  ~KeyedHmacs() {
    for (auto& s : slots) s.clear();
  }
};

// A context keyed with `key`, owned by this thread's cache; nullptr when
// OpenSSL refuses (an empty key, for one): the caller falls back to HMAC().
EVP_MAC_CTX* keyed_hmac(std::string_view key) {
  thread_local KeyedHmacs cache;
  for (auto& s : cache.slots)
    if (s.ctx != nullptr && s.key == key) return s.ctx;
  if (key.empty() || hmac_algorithm() == nullptr) return nullptr;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
  if (ctx == nullptr) return nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return nullptr;
  }
  auto& slot = cache.slots[cache.next++ % cache.slots.size()];
  slot.clear();
  slot.key.assign(key);
  slot.ctx = ctx;
  return ctx;
}

}  // namespace

Hash hmac_sha256(std::string_view key, std::string_view data) {
  Hash out{};
  EVP_MAC_CTX* ctx = keyed_hmac(key);
  size_t len = 0;
  bool done = ctx != nullptr && EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
              EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
              EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
  if (done) return out;
  unsigned one_shot_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &one_shot_len);
  return out;
}

std::string_view as_view(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }
std::string_view as_view(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out.push_back(kB64[v >> 6 & 63]);
    out.push_back(kB64[v & 63]);
  }
  if (data.size() - i == 1) {
    uint32_t v = byte(i) << 16;
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out += "==";
  } else if (data.size() - i == 2) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out.push_back(kB64[v >> 18 & 63]);
    out.push_back(kB64[v >> 12 & 63]);
    out.push_back(kB64[v >> 6 & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text, bool allow_stray_bits) {
  if (text.size() % 4 != 0) return invalid_argument("base64 length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return invalid_argument("base64 padding in the middle");
      v[k] = b64_value(c);
      if (v[k] < 0) return invalid_argument("invalid base64 character");
    }
    uint32_t w = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<char>(w >> 16 & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>(w >> 8 & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(w & 0xFF));
    // Non-canonical encodings (stray bits under the padding) are refused so that
    // one value has exactly one text form.
    if (!allow_stray_bits && ((pad == 1 && (w & 0xFF) != 0) || (pad == 2 && (w & 0xFFFF) != 0)))
      return invalid_argument("non-canonical base64");
  }
  return out;
}

Result<Hash> hash_from_base64(std::string_view text) {
  auto raw = base64_decode(text);
  if (!raw.is_ok()) return raw.status();
  if (raw->size() != 32) return invalid_argument("a hash must be 32 bytes");
  Hash h{};
  std::copy(raw->begin(), raw->end(), h.begin());
  return h;
}

std::string hex_encode(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Result<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return invalid_argument("hex length is odd");
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = val(text[i]), lo = val(text[i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument("invalid hex character");
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    crypto_failure("RAND_bytes failed: no randomness");
  return out;
}

namespace {
struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};
constexpr size_t kGcmNonce = 12, kGcmTag = 16;
}  // namespace

Result<std::string> aead_seal(std::string_view key, std::string_view plaintext) {
  if (key.size() != 32) return invalid_argument("AEAD key must be 32 bytes");
  std::string nonce(kGcmNonce, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(kGcmNonce)) != 1)
    return internal_error("RAND_bytes failed");
  CipherCtx c;
  std::string out = nonce;
  out.resize(kGcmNonce + plaintext.size() + kGcmTag);
  int n = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data()) + kGcmNonce;
  if (!c.ctx || EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                                   reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(c.ctx, o, &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(c.ctx, o + n, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, kGcmTag, o + plaintext.size()) != 1)
    return internal_error("AES-GCM encryption failed");
  return out;
}

Result<std::string> aead_open(std::string_view key, std::string_view sealed) {
  if (key.size() != 32) return invalid_argument("AEAD key must be 32 bytes");
  if (sealed.size() < kGcmNonce + kGcmTag) return permission_denied("sealed data too short");
  size_t len = sealed.size() - kGcmNonce - kGcmTag;
  CipherCtx c;
  std::string out(len, '\0');
  std::string tag(sealed.substr(kGcmNonce + len));
  int n = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!c.ctx || EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                                   reinterpret_cast<const unsigned char*>(sealed.data())) != 1 ||
      EVP_DecryptUpdate(c.ctx, o, &n, reinterpret_cast<const unsigned char*>(sealed.data()) + kGcmNonce,
                        static_cast<int>(len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kGcmTag, tag.data()) != 1)
    return internal_error("AES-GCM decryption failed");
  if (EVP_DecryptFinal_ex(c.ctx, o + n, &fin) != 1) return permission_denied("sealed data does not open with this key");
  return out;
}

}  // namespace sunledger
