// The primitives the chat platforms sign and encrypt with (OpenSSL 3).
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

}  // namespace sunledger::platform
