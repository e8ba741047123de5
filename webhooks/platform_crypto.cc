#include "webhooks/platform_crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ledger/crypto.h"

namespace sunledger::platform {
namespace {

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

Result<std::string> aes_cbc(bool encrypt, std::string_view key, std::string_view iv, std::string_view in) {
  if (key.size() != 32 || iv.size() != 16) return invalid_argument("AES-256-CBC needs a 32-byte key and 16-byte IV");
  if (in.size() % 16 != 0) return invalid_argument("ciphertext is not a whole number of blocks");
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(in.size() + 16, '\0');
  int n1 = 0, n2 = 0;
  bool ok = ctx != nullptr &&
            EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                              reinterpret_cast<const unsigned char*>(iv.data()), encrypt ? 1 : 0) == 1 &&
            EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
            EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n1,
                             reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())) == 1 &&
            EVP_CipherFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n1, &n2) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return invalid_argument("AES-256-CBC failed");
  out.resize(static_cast<size_t>(n1 + n2));
  return out;
}

}  // namespace

std::string sha1_hex(std::string_view data) { return digest_hex(EVP_sha1(), data); }
std::string sha256_hex(std::string_view data) { return digest_hex(EVP_sha256(), data); }

std::string hmac_sha256_raw(std::string_view key, std::string_view data) {
  Hash h = hmac_sha256(key, data);
  return std::string(as_view(h));
}

Result<std::string> aes256_cbc_encrypt_raw(std::string_view key, std::string_view iv, std::string_view plaintext) {
  return aes_cbc(true, key, iv, plaintext);
}

Result<std::string> aes256_cbc_decrypt_raw(std::string_view key, std::string_view iv, std::string_view ciphertext) {
  return aes_cbc(false, key, iv, ciphertext);
}

std::string pkcs7_pad(std::string_view data, size_t block) {
  size_t pad = block - data.size() % block;
  std::string out(data);
  out.append(pad, static_cast<char>(pad));
  return out;
}

Result<std::string> pkcs7_unpad(std::string_view data, size_t block) {
  if (data.empty()) return invalid_argument("empty plaintext");
  size_t pad = static_cast<unsigned char>(data.back());
  if (pad < 1 || pad > block || pad > data.size()) return invalid_argument("bad padding");
  for (size_t i = data.size() - pad; i < data.size(); ++i)
    if (static_cast<unsigned char>(data[i]) != pad) return invalid_argument("bad padding");
  return std::string(data.substr(0, data.size() - pad));
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto h = hex_decode(s.substr(i + 1, 2));
      if (h.is_ok()) {
        out += *h;
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace sunledger::platform
