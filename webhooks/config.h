// bots.json: the chat bots a deployment serves, one per platform account.
// Plain values and functions without state: safe from any thread.
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
  std::string app_secret;        // dingtalk (inbound signature and app API), feishu (app API)
  std::string verification_token;  // feishu
  std::string encrypt_key;         // feishu
  std::string secret_token;      // telegram
  std::string bot_token;         // telegram
  std::string secret;            // generic: whsec_<base64>
  std::string push_url;          // wecom, dingtalk, feishu, generic: a group robot's webhook (one group)
  std::string push_secret;       // dingtalk (SEC...), feishu
  // The platform's app API, for messages to one person (and, on Feishu, to any
  // group by chat id). Optional; without it the bot reaches no one privately.
  std::string corp_id;           // wecom
  std::string agent_id;          // wecom (the app's AgentId, digits)
  std::string corp_secret;       // wecom (the app's Secret)
  std::string app_key;           // dingtalk
  std::string robot_code;        // dingtalk
  std::string app_id;            // feishu
  // Where the platform's API lives; each platform has its public default
  // (tests point it at a fake platform on loopback).
  std::string api_base;
  // dingtalk: the hosts a sessionWebhook may point at (https only), or whole
  // origins ("http://127.0.0.1:8081", for tests). Default: DingTalk's own.
  std::vector<std::string> session_webhook_hosts;

  // Whether the app API for one person is configured.
  bool has_private_channel() const;
  // Whether its pushes can reach a group at all: a group robot's push_url
  // (WeCom, DingTalk, Feishu, generic), Feishu's app, Telegram's bot token.
  bool reaches_groups() const;
  // Whether people can write to the bot one to one. A WeCom group robot
  // (no corp app configured) lives only in its group: no private message
  // ever reaches it, so advice to "send it privately" could not be followed.
  bool takes_private_messages() const;
};

// Reads the config; a secret written "env:NAME" is read from the
// environment. Any problem names the bot and the field.
// With resolve_secrets false, "env:NAME" secrets stay as written and secret
// formats are not checked: enough to know what each bot can reach (CLI
// commands that never talk to a platform), without needing the secrets.
Result<std::vector<BotConfig>> load_bots_config(const std::string& json_text,
                                                const std::map<std::string, std::string>* env_override = nullptr,
                                                bool resolve_secrets = true);
Result<std::vector<BotConfig>> load_bots_config_file(const std::string& path, bool resolve_secrets = true);
// Every "env:NAME" secret of a bots.json whose variable is unset or empty,
// as "bot \"ID\": field \"F\": environment variable NAME is not set" (the
// loader stops at the first; a check before going live names them all).
// Empty for text that is not a bots.json.
std::vector<std::string> unset_env_secrets(const std::string& json_text);

// A witness the server asks to cosign its logs' checkpoints (C2SP
// tlog-witness v1.0.0): the top-level "witnesses" list of the same file,
// [{"name": "…", "url": "http://host:port", "key": "VERIFIER-KEY"}]. url is
// the witness's submission prefix (its add-checkpoint is url +
// "/add-checkpoint"); key its cosignature/v1 verifier key
// ("name+hexid+base64(0x04 ‖ key)"), whose name is the one in its
// cosignatures; name is how the server's messages call it.
struct WitnessConfig {
  std::string name;
  std::string url;
  std::string key;
  // "retired": true: no longer asked, but its key still checks the
  // cosignatures it made (the server serves, and verify accepts, only
  // cosignatures of configured witnesses: one dropped from the list would
  // make every row it signed a forgery to verify).
  bool retired = false;
  // The name the witness signs with (the key's, before its first '+').
  std::string key_name() const { return key.substr(0, key.find('+')); }
};

// The file's witnesses (none when it has no "witnesses"). Any problem names
// the witness and the field: an url that is not http(s), a key that is not a
// cosignature/v1 verifier key, a name or key given twice.
Result<std::vector<WitnessConfig>> load_witnesses_config(const std::string& json_text);
Result<std::vector<WitnessConfig>> load_witnesses_config_file(const std::string& path);

}  // namespace sunledger
