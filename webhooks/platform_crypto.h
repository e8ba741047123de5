// The primitives the chat platforms sign and encrypt with (OpenSSL 3).
// Functions without state: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace sunledger::platform {

std::string sha1_hex(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_raw(std::string_view key, std::string_view data);
// AES-256-CBC without OpenSSL's padding (callers pad the platform's way).
Result<std::string> aes256_cbc_encrypt_raw(std::string_view key, std::string_view iv, std::string_view plaintext);
Result<std::string> aes256_cbc_decrypt_raw(std::string_view key, std::string_view iv, std::string_view ciphertext);
// PKCS#7 to a block size (WeCom pads to 32, Feishu to 16).
std::string pkcs7_pad(std::string_view data, size_t block);
Result<std::string> pkcs7_unpad(std::string_view data, size_t block);
std::string url_encode(std::string_view s);
std::string url_decode(std::string_view s);

// Standard Webhooks: base64(HMAC-SHA256(base64decode(secret without whsec_), id.timestamp.body)).
std::string standard_webhooks_signature(const std::string& whsec_secret, const std::string& id, const std::string& timestamp,
                                        const std::string& body);
// WeCom: sha1 hex of the sorted concatenation of token, timestamp, nonce, encrypt.
std::string wecom_signature(const std::string& token, const std::string& timestamp, const std::string& nonce,
                            const std::string& encrypt);
Result<std::string> wecom_decrypt(const std::string& encoding_aes_key, const std::string& encrypt, std::string* receive_id);
Result<std::string> wecom_encrypt(const std::string& encoding_aes_key, const std::string& message,
                                  const std::string& receive_id, const std::string& random16);
// DingTalk: base64(HMAC-SHA256(key=secret, msg=timestamp + "\n" + secret)).
std::string dingtalk_sign(const std::string& secret, const std::string& timestamp);
// Feishu custom bot: base64(HMAC-SHA256(key=timestamp + "\n" + secret, msg="")).
std::string feishu_push_sign(const std::string& secret, const std::string& timestamp);
Result<std::string> feishu_decrypt(const std::string& encrypt_key, const std::string& encrypt);

}  // namespace sunledger::platform
