#include "webhooks/platform_crypto.h"

#include <algorithm>
#include <vector>

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

std::string standard_webhooks_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                                        const std::string& body) {
  auto key = base64_decode(secret.rfind("whsec_", 0) == 0 ? secret.substr(6) : secret);
  return base64_encode(hmac_sha256_raw(key.is_ok() ? *key : secret, id + "." + timestamp + "." + body));
}

std::string wecom_signature(const std::string& token, const std::string& timestamp, const std::string& nonce,
                            const std::string& encrypt) {
  std::vector<std::string> parts = {token, timestamp, nonce, encrypt};
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (const auto& p : parts) joined += p;
  return sha1_hex(joined);
}

Result<std::string> wecom_decrypt(const std::string& encoding_aes_key, const std::string& encrypt, std::string* receive_id) {
  auto key = base64_decode(encoding_aes_key + "=", true);
  if (!key.is_ok() || key->size() != 32) return invalid_argument("bad EncodingAESKey");
  auto cipher = base64_decode(encrypt);
  if (!cipher.is_ok() || cipher->empty() || cipher->size() % 16 != 0) return invalid_argument("encrypt is not base64 blocks");
  auto plain = aes256_cbc_decrypt_raw(*key, key->substr(0, 16), *cipher);
  if (!plain.is_ok()) return plain.status();
  // PKCS#7 to 32-byte blocks (WXBizMsgCrypt); pad bytes 1..32.
  auto unpadded = pkcs7_unpad(*plain, 32);
  if (!unpadded.is_ok()) return unpadded.status();
  const std::string& p = *unpadded;
  if (p.size() < 20) return invalid_argument("plaintext too short");
  uint32_t len = static_cast<uint32_t>(static_cast<unsigned char>(p[16])) << 24 |
                 static_cast<uint32_t>(static_cast<unsigned char>(p[17])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(p[18])) << 8 | static_cast<unsigned char>(p[19]);
  if (20 + static_cast<size_t>(len) > p.size()) return invalid_argument("message length beyond the plaintext");
  if (receive_id) *receive_id = p.substr(20 + len);
  return p.substr(20, len);
}

Result<std::string> wecom_encrypt(const std::string& encoding_aes_key, const std::string& message,
                                  const std::string& receive_id, const std::string& random16) {
  auto key = base64_decode(encoding_aes_key + "=", true);
  if (!key.is_ok() || key->size() != 32 || random16.size() != 16) return invalid_argument("bad EncodingAESKey");
  uint32_t len = static_cast<uint32_t>(message.size());
  std::string plain = random16;
  plain.push_back(static_cast<char>(len >> 24));
  plain.push_back(static_cast<char>(len >> 16));
  plain.push_back(static_cast<char>(len >> 8));
  plain.push_back(static_cast<char>(len));
  plain += message + receive_id;
  auto cipher = aes256_cbc_encrypt_raw(*key, key->substr(0, 16), pkcs7_pad(plain, 32));
  if (!cipher.is_ok()) return cipher.status();
  return base64_encode(*cipher);
}

std::string dingtalk_sign(const std::string& secret, const std::string& timestamp) {
  return base64_encode(hmac_sha256_raw(secret, timestamp + "\n" + secret));
}

std::string feishu_push_sign(const std::string& secret, const std::string& timestamp) {
  return base64_encode(hmac_sha256_raw(timestamp + "\n" + secret, ""));
}

Result<std::string> feishu_decrypt(const std::string& encrypt_key, const std::string& encrypt) {
  Hash key = sha256(encrypt_key);
  auto raw = base64_decode(encrypt);
  if (!raw.is_ok() || raw->size() < 32 || raw->size() % 16 != 0) return invalid_argument("encrypt is not base64 blocks");
  auto plain = aes256_cbc_decrypt_raw(as_view(key), raw->substr(0, 16), raw->substr(16));
  if (!plain.is_ok()) return plain.status();
  return pkcs7_unpad(*plain, 16);
}

}  // namespace sunledger::platform
