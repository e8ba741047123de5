// The platforms' signatures and ciphers written against OpenSSL directly,
// independent of webhooks/platform_crypto: tests build payloads with these,
// so a bug in our code cannot cancel out in its own test.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sunledger::testing::raw {

inline std::string hmac_sha256(const std::string& key, const std::string& msg) {
  unsigned char out[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

inline std::string b64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

inline std::string unb64(const std::string& s) {
  std::string out(s.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
  size_t pad = s.size() >= 2 && s[s.size() - 1] == '=' ? (s[s.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

inline std::string hex(const std::string& s) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(k[c >> 4]);
    out.push_back(k[c & 15]);
  }
  return out;
}

inline std::string sha1_hex(const std::string& s) {
  unsigned char d[20];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return hex(std::string(reinterpret_cast<char*>(d), 20));
}

inline std::string sha256(const std::string& s) {
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return std::string(reinterpret_cast<char*>(d), 32);
}

inline std::string aes_cbc(bool enc, const std::string& key, const std::string& iv, const std::string& in) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  EVP_CipherInit_ex(c, EVP_aes_256_cbc(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                    reinterpret_cast<const unsigned char*>(iv.data()), enc ? 1 : 0);
  EVP_CIPHER_CTX_set_padding(c, 0);
  std::string out(in.size() + 32, '\0');
  int n1 = 0, n2 = 0;
  EVP_CipherUpdate(c, reinterpret_cast<unsigned char*>(out.data()), &n1, reinterpret_cast<const unsigned char*>(in.data()),
                   static_cast<int>(in.size()));
  EVP_CipherFinal_ex(c, reinterpret_cast<unsigned char*>(out.data()) + n1, &n2);
  EVP_CIPHER_CTX_free(c);
  out.resize(static_cast<size_t>(n1 + n2));
  return out;
}

inline std::string pkcs7(const std::string& s, size_t block) {
  size_t n = block - s.size() % block;
  return s + std::string(n, static_cast<char>(n));
}

// WXBizMsgCrypt: random(16) || len_be32 || msg || receiveid, PKCS#7 to 32, AES-256-CBC, iv = key[0:16].
inline std::string wecom_encrypt(const std::string& aes_key43, const std::string& msg, const std::string& receive_id) {
  std::string key = unb64(aes_key43 + "=");
  std::string plain = "0123456789abcdef";
  uint32_t n = static_cast<uint32_t>(msg.size());
  plain += std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  plain += msg + receive_id;
  return b64(aes_cbc(true, key, key.substr(0, 16), pkcs7(plain, 32)));
}

inline std::string wecom_decrypt(const std::string& aes_key43, const std::string& enc) {
  std::string key = unb64(aes_key43 + "=");
  std::string p = aes_cbc(false, key, key.substr(0, 16), unb64(enc));
  p.resize(p.size() - static_cast<unsigned char>(p.back()));
  uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(p[16])) << 24 |
               static_cast<uint32_t>(static_cast<unsigned char>(p[17])) << 16 |
               static_cast<uint32_t>(static_cast<unsigned char>(p[18])) << 8 | static_cast<unsigned char>(p[19]);
  return p.substr(20, n);
}

inline std::string wecom_sig(std::vector<std::string> parts) {
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (auto& p : parts) joined += p;
  return sha1_hex(joined);
}

inline std::string feishu_encrypt(const std::string& encrypt_key, const std::string& plain) {
  std::string iv = "fedcba9876543210";
  return b64(iv + aes_cbc(true, sha256(encrypt_key), iv, pkcs7(plain, 16)));
}

}  // namespace sunledger::testing::raw
