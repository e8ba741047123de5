#include "webhooks/config.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ledger/crypto.h"

namespace sunledger {

using nlohmann::json;

const char* platform_name(Platform p) {
  switch (p) {
    case Platform::kWeCom: return "wecom";
    case Platform::kDingTalk: return "dingtalk";
    case Platform::kFeishu: return "feishu";
    case Platform::kTelegram: return "telegram";
    case Platform::kGeneric: return "generic";
  }
  return "generic";
}

namespace {

struct FieldSpec {
  const char* name;
  std::string BotConfig::*member;
  bool required;
  bool secret;  // may be env:NAME
};

const std::map<std::string, std::pair<Platform, std::vector<FieldSpec>>>& platform_fields() {
  static const std::map<std::string, std::pair<Platform, std::vector<FieldSpec>>> kFields = {
      {"wecom",
       {Platform::kWeCom,
        {{"token", &BotConfig::token, true, true},
         {"encoding_aes_key", &BotConfig::encoding_aes_key, true, true},
         {"receive_id", &BotConfig::receive_id, false, false},
         {"push_url", &BotConfig::push_url, false, true},
         {"corp_id", &BotConfig::corp_id, false, false},
         {"agent_id", &BotConfig::agent_id, false, false},
         {"corp_secret", &BotConfig::corp_secret, false, true},
         {"api_base", &BotConfig::api_base, false, false}}}},
      {"dingtalk",
       {Platform::kDingTalk,
        {{"app_secret", &BotConfig::app_secret, true, true},
         {"push_url", &BotConfig::push_url, false, true},
         {"push_secret", &BotConfig::push_secret, false, true},
         {"app_key", &BotConfig::app_key, false, false},
         {"robot_code", &BotConfig::robot_code, false, false},
         {"api_base", &BotConfig::api_base, false, false}}}},
      {"feishu",
       {Platform::kFeishu,
        {{"verification_token", &BotConfig::verification_token, true, true},
         {"encrypt_key", &BotConfig::encrypt_key, false, true},
         {"push_url", &BotConfig::push_url, false, true},
         {"push_secret", &BotConfig::push_secret, false, true},
         {"app_id", &BotConfig::app_id, false, false},
         {"app_secret", &BotConfig::app_secret, false, true},
         {"api_base", &BotConfig::api_base, false, false}}}},
      {"telegram",
       {Platform::kTelegram,
        {{"secret_token", &BotConfig::secret_token, true, true},
         {"bot_token", &BotConfig::bot_token, true, true},
         {"api_base", &BotConfig::api_base, false, false}}}},
      {"generic",
       {Platform::kGeneric,
        {{"secret", &BotConfig::secret, true, true}, {"push_url", &BotConfig::push_url, false, true}}}},
  };
  return kFields;
}

bool valid_url(const std::string& u) { return u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0; }

// Fields that only work together: all set, or none.
Status all_or_none(const std::string& where, const BotConfig& c,
                   std::initializer_list<std::pair<const char*, std::string BotConfig::*>> fields) {
  size_t set = 0;
  std::string names;
  for (const auto& [name, member] : fields) {
    set += !(c.*member).empty();
    names += std::string(names.empty() ? "" : ", ") + name;
  }
  if (set != 0 && set != fields.size())
    return invalid_argument("bots config: " + where + ": fields " + names + " go together (the app API for private messages)");
  return Status::ok();
}

const char* default_api_base(Platform p) {
  switch (p) {
    case Platform::kWeCom: return "https://qyapi.weixin.qq.com";
    case Platform::kDingTalk: return "https://api.dingtalk.com";
    case Platform::kFeishu: return "https://open.feishu.cn";
    case Platform::kTelegram: return "https://api.telegram.org";
    case Platform::kGeneric: return "";
  }
  return "";
}

}  // namespace

bool BotConfig::has_private_channel() const {
  switch (platform) {
    case Platform::kWeCom: return !corp_id.empty() && !agent_id.empty() && !corp_secret.empty();
    case Platform::kDingTalk: return !app_key.empty() && !robot_code.empty() && !app_secret.empty();
    case Platform::kFeishu: return !app_id.empty() && !app_secret.empty();
    case Platform::kTelegram: return !bot_token.empty();
    case Platform::kGeneric: return !push_url.empty();
  }
  return false;
}

bool BotConfig::takes_private_messages() const {
  return platform != Platform::kWeCom || has_private_channel();
}

bool BotConfig::reaches_groups() const {
  switch (platform) {
    case Platform::kFeishu: return !push_url.empty() || (!app_id.empty() && !app_secret.empty());
    case Platform::kTelegram: return !bot_token.empty();
    default: return !push_url.empty();
  }
}

namespace {

Status config_error(const std::string& where, const std::string& what) {
  return invalid_argument("bots config: " + where + ": " + what);
}

// An "env:NAME" secret, read from `env` (tests) or the process environment.
Result<std::string> resolve_env(const std::string& where, const char* field, const std::string& var,
                                const std::map<std::string, std::string>* env) {
  std::string value;
  if (env) {
    if (auto it = env->find(var); it != env->end()) value = it->second;
  } else if (const char* v = std::getenv(var.c_str())) {
    value = v;
  }
  if (value.empty()) return config_error(where, "field \"" + std::string(field) + "\": environment variable " + var + " is not set");
  return value;
}

// The platform's string fields (secrets resolved when asked), the DingTalk
// host list, and no field the platform does not have.
Status read_fields(const json& b, const std::string& where, const std::vector<FieldSpec>& fields,
                   const std::map<std::string, std::string>* env, bool resolve_secrets, BotConfig& c) {
  for (const auto& f : fields) {
    if (!b.contains(f.name)) {
      if (f.required) return config_error(where, "field \"" + std::string(f.name) + "\" is missing");
      continue;
    }
    std::string v;
    if (std::string(f.name) == "agent_id" && b[f.name].is_number_unsigned()) {
      v = std::to_string(b[f.name].get<uint64_t>());  // WeCom shows the AgentId as a number
    } else if (!b[f.name].is_string()) {
      return config_error(where, "field \"" + std::string(f.name) + "\" must be a string");
    } else {
      v = b[f.name].get<std::string>();
    }
    if (f.secret && v.rfind("env:", 0) == 0 && resolve_secrets) {
      auto resolved = resolve_env(where, f.name, v.substr(4), env);
      if (!resolved.is_ok()) return resolved.status();
      v = std::move(*resolved);
    }
    if (f.required && v.empty()) return config_error(where, "field \"" + std::string(f.name) + "\" is empty");
    c.*(f.member) = v;
  }
  if (b.contains("session_webhook_hosts")) {
    const json& hosts = b["session_webhook_hosts"];
    if (c.platform != Platform::kDingTalk || !hosts.is_array() || hosts.empty())
      return config_error(where, "field \"session_webhook_hosts\" is a non-empty list of hosts (dingtalk only)");
    for (const auto& h : hosts) {
      if (!h.is_string() || h.get<std::string>().empty())
        return config_error(where, "field \"session_webhook_hosts\" holds host names or origins");
      c.session_webhook_hosts.push_back(h.get<std::string>());
    }
  }
  for (const auto& [key, value] : b.items()) {
    bool known = key == "id" || key == "platform" || key == "session_webhook_hosts";
    for (const auto& f : fields) known |= key == f.name;
    if (!known) return config_error(where, "unknown field \"" + key + "\"");
  }
  return Status::ok();
}

// What each platform needs of the values read. An "env:NAME" reference is
// checked only once resolved (CLI commands that need only the bot ids never
// resolve it, and need not have it set).
Status check_platform_rules(const std::string& where, bool resolve_secrets, BotConfig& c) {
  if (resolve_secrets && c.platform == Platform::kWeCom) {
    auto k = base64_decode(c.encoding_aes_key + "=", true);
    if (c.encoding_aes_key.size() != 43 || !k.is_ok() || k->size() != 32)
      return config_error(where, "field \"encoding_aes_key\" must be the 43-character key WeCom shows");
  }
  if (resolve_secrets && c.platform == Platform::kGeneric &&
      (c.secret.rfind("whsec_", 0) != 0 || !base64_decode(c.secret.substr(6)).is_ok() || c.secret.size() < 16))
    return config_error(where, "field \"secret\" must be whsec_ followed by base64");
  if (c.api_base.empty()) c.api_base = default_api_base(c.platform);
  if (!c.api_base.empty() && !valid_url(c.api_base)) return config_error(where, "field \"api_base\" must be an http(s) URL");
  while (!c.api_base.empty() && c.api_base.back() == '/') c.api_base.pop_back();
  if (c.platform == Platform::kWeCom) {
    if (Status s = all_or_none(where, c, {{"corp_id", &BotConfig::corp_id}, {"agent_id", &BotConfig::agent_id},
                                          {"corp_secret", &BotConfig::corp_secret}});
        !s.is_ok())
      return s;
    if (!c.agent_id.empty() && (c.agent_id.size() > 12 || c.agent_id.find_first_not_of("0123456789") != std::string::npos))
      return config_error(where, "field \"agent_id\" must be the app's AgentId (digits)");
  }
  if (c.platform == Platform::kDingTalk)
    if (Status s = all_or_none(where, c, {{"app_key", &BotConfig::app_key}, {"robot_code", &BotConfig::robot_code}}); !s.is_ok())
      return s;
  if (c.platform == Platform::kFeishu)
    if (Status s = all_or_none(where, c, {{"app_id", &BotConfig::app_id}, {"app_secret", &BotConfig::app_secret}}); !s.is_ok())
      return s;
  if (resolve_secrets && c.platform == Platform::kTelegram &&
      (c.secret_token.size() > 256 ||
       c.secret_token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos))
    return config_error(where, "field \"secret_token\" must be 1-256 of A-Z a-z 0-9 _ -");
  if (resolve_secrets && !c.push_url.empty() && !valid_url(c.push_url))
    return config_error(where, "field \"push_url\" must be an http(s) URL");
  return Status::ok();
}

// One entry of "bots": its id and platform, then its fields and rules.
Result<BotConfig> read_bot(const json& b, size_t n, std::set<std::string>& ids,
                           const std::map<std::string, std::string>* env, bool resolve_secrets) {
  std::string where = "bots[" + std::to_string(n) + "]";
  if (!b.is_object()) return invalid_argument("bots config: " + where + " is not an object");
  if (!b.contains("id") || !b["id"].is_string() || b["id"].get<std::string>().empty())
    return config_error(where, "field \"id\" is missing");
  BotConfig c;
  c.id = b["id"].get<std::string>();
  where = "bot \"" + c.id + "\"";
  for (char ch : c.id)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'))
      return config_error(where, "field \"id\" may use letters, digits, - and _ only");
  if (!ids.insert(c.id).second) return config_error(where, "the id is used twice");
  if (!b.contains("platform") || !b["platform"].is_string()) return config_error(where, "field \"platform\" is missing");
  auto pf = platform_fields().find(b["platform"].get<std::string>());
  if (pf == platform_fields().end())
    return config_error(where, "field \"platform\" must be wecom, dingtalk, feishu, telegram or generic");
  c.platform = pf->second.first;
  if (Status s = read_fields(b, where, pf->second.second, env, resolve_secrets, c); !s.is_ok()) return s;
  if (Status s = check_platform_rules(where, resolve_secrets, c); !s.is_ok()) return s;
  return c;
}

// Where a file that is not JSON goes wrong, as an editor shows it (line and
// column), so a trailing comma is found without guessing.
std::string json_syntax_error(const std::string& text) {
  try {
    json parsed = json::parse(text);  // throws, with the byte where it fails
    (void)parsed;
  } catch (const json::parse_error& e) {
    size_t at = e.byte > 0 ? e.byte - 1 : 0, line = 1, column = 1;
    for (size_t i = 0; i < at && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    return "not valid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
           " (a missing or extra comma, quote or bracket?)";
  } catch (const std::exception&) {
  }
  return "not valid JSON";
}

}  // namespace

Result<std::vector<BotConfig>> load_bots_config(const std::string& text, const std::map<std::string, std::string>* env,
                                                bool resolve_secrets) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return invalid_argument("bots config: " + json_syntax_error(text));
  if (!j.is_object() || !j.contains("bots") || !j["bots"].is_array())
    return invalid_argument("bots config: expected {\"bots\": [...]}");
  std::vector<BotConfig> out;
  std::set<std::string> ids;
  for (size_t n = 0; n < j["bots"].size(); ++n) {
    auto c = read_bot(j["bots"][n], n, ids, env, resolve_secrets);
    if (!c.is_ok()) return c.status();
    out.push_back(std::move(*c));
  }
  return out;
}

std::vector<std::string> unset_env_secrets(const std::string& text) {
  std::vector<std::string> out;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("bots") || !j["bots"].is_array()) return out;
  for (const auto& b : j["bots"]) {
    if (!b.is_object() || !b.contains("platform") || !b["platform"].is_string()) continue;
    auto pf = platform_fields().find(b["platform"].get<std::string>());
    if (pf == platform_fields().end()) continue;
    std::string id = b.contains("id") && b["id"].is_string() ? b["id"].get<std::string>() : "?";
    for (const auto& f : pf->second.second) {
      if (!f.secret || !b.contains(f.name) || !b[f.name].is_string()) continue;
      std::string v = b[f.name].get<std::string>();
      if (v.rfind("env:", 0) != 0) continue;
      const char* set = std::getenv(v.substr(4).c_str());
      if (set == nullptr || *set == '\0')
        out.push_back("bot \"" + id + "\": field \"" + f.name + "\": environment variable " + v.substr(4) + " is not set");
    }
  }
  return out;
}

Result<std::vector<BotConfig>> load_bots_config_file(const std::string& path, bool resolve_secrets) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read bots config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return load_bots_config(ss.str(), nullptr, resolve_secrets);
}

Result<std::vector<WitnessConfig>> load_witnesses_config(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return invalid_argument("bots config: " + json_syntax_error(text));
  std::vector<WitnessConfig> out;
  if (!j.is_object() || !j.contains("witnesses")) return out;
  if (!j["witnesses"].is_array()) return invalid_argument("bots config: \"witnesses\" must be a list");
  std::set<std::string> names, keys;
  for (size_t n = 0; n < j["witnesses"].size(); ++n) {
    const json& w = j["witnesses"][n];
    std::string where = "bots config: witness " + std::to_string(n + 1);
    if (!w.is_object()) return invalid_argument(where + ": expected {\"name\", \"url\", \"key\"}");
    WitnessConfig c;
    for (auto [field, member] : {std::pair{"name", &WitnessConfig::name}, std::pair{"url", &WitnessConfig::url},
                                 std::pair{"key", &WitnessConfig::key}}) {
      if (!w.contains(field) || !w[field].is_string() || w[field].get<std::string>().empty())
        return invalid_argument(where + ": field \"" + field + "\" is missing or not a string");
      c.*member = w[field].get<std::string>();
    }
    where = "bots config: witness \"" + c.name + "\"";
    for (const auto& [k, v] : w.items())
      if (k != "name" && k != "url" && k != "key" && k != "retired")
        return invalid_argument(where + ": unknown field \"" + k + "\"");
    if (w.contains("retired")) {
      if (!w["retired"].is_boolean()) return invalid_argument(where + ": field \"retired\" must be true or false");
      c.retired = w["retired"].get<bool>();
    }
    if (!valid_url(c.url)) return invalid_argument(where + ": field \"url\" must start with http:// or https://");
    while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();
    // name+hexid+base64(0x04 || 32-byte key): a cosignature/v1 verifier key.
    size_t p1 = c.key.find('+'), p2 = p1 == std::string::npos ? p1 : c.key.find('+', p1 + 1);
    auto blob = p2 == std::string::npos ? Result<std::string>(invalid_argument("")) : base64_decode(c.key.substr(p2 + 1));
    if (p1 == 0 || p2 == std::string::npos || p2 - p1 != 9 || !blob.is_ok() || blob->size() != 33 || (*blob)[0] != 0x04)
      return invalid_argument(where + ": field \"key\" is not a witness's cosignature/v1 verifier key "
                              "(what `sunledger witness key` prints: name+hexid+base64)");
    if (!names.insert(c.name).second) return invalid_argument(where + ": the name is given twice");
    if (!keys.insert(c.key_name()).second)
      return invalid_argument(where + ": another witness signs with the same key name " + c.key_name());
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<WitnessConfig>> load_witnesses_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read bots config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return load_witnesses_config(ss.str());
}

}  // namespace sunledger
