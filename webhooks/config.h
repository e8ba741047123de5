// bots.json: the chat bots a deployment serves, one per platform account.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace sunledger {

enum class Platform { kWeCom, kDingTalk, kFeishu, kTelegram, kGeneric };

const char* platform_name(Platform p);

struct BotConfig {
  std::string id;
  Platform platform = Platform::kGeneric;
  // Every field a platform uses; unused ones stay empty. Field names follow
  // bots.json (deployment scripts depend on them).
  std::string token;             // wecom
  std::string encoding_aes_key;  // wecom (43 characters)
  std::string receive_id;        // wecom ("" for robots, the corp id for apps)
  std::string app_secret;        // dingtalk (inbound signature)
  std::string verification_token;  // feishu
  std::string encrypt_key;         // feishu
  std::string secret_token;      // telegram
  std::string bot_token;         // telegram
  std::string api_base;          // telegram (default https://api.telegram.org)
  std::string secret;            // generic: whsec_<base64>
  std::string push_url;          // wecom, dingtalk, feishu, generic
  std::string push_secret;       // dingtalk (SEC...), feishu
};

// Reads the config; a secret written "env:NAME" is read from the
// environment. Any problem names the bot and the field.
Result<std::vector<BotConfig>> load_bots_config(const std::string& json_text,
                                                const std::map<std::string, std::string>* env_override = nullptr);
Result<std::vector<BotConfig>> load_bots_config_file(const std::string& path);

}  // namespace sunledger
