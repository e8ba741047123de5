// What the adapters share: the push-success rule, mention stripping, and the
// factory that picks a bot's adapter.
#include <cctype>

#include "webhooks/adapters/common.h"
#include "webhooks/internal.h"

namespace sunledger {

namespace adapters {

Result<json> parse_json_body(const std::string& body) { return http::parse_json_strict(body, 16); }

std::optional<json> parse_body(const std::string& body) { return http::parse_json_bounded(body, 16); }

std::string jstring(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

JsonFields::JsonFields(const json& j, std::string where)
    : JsonFields(&j, std::move(where), std::make_shared<std::string>()) {}

JsonFields::JsonFields(const json* j, std::string where, std::shared_ptr<std::string> error)
    : j_(j), where_(std::move(where)), error_(std::move(error)) {
  if (!j_->is_object()) {
    if (error_->empty()) *error_ = where_ + " must be a JSON object";
    j_ = &empty_object();
  }
}

const json& JsonFields::empty_object() {
  static const json empty = json::object();
  return empty;
}

void JsonFields::fail(const char* key, const char* what) {
  if (error_->empty()) *error_ = "field \"" + where_ + "." + key + "\" " + what;
}

bool JsonFields::has(const char* key) const { return j_->find(key) != j_->end(); }

const json* JsonFields::member(const char* key, bool required) {
  auto it = j_->find(key);
  if (it == j_->end()) {
    if (required) fail(key, "is missing");
    return nullptr;
  }
  return &*it;
}

std::string JsonFields::str(const char* key, bool required) {
  const json* v = member(key, required);
  if (v == nullptr) return "";
  if (!v->is_string()) {
    fail(key, "must be a string");
    return "";
  }
  return v->get_ref<const std::string&>();
}

std::string JsonFields::id(const char* key, bool required) {
  const json* v = member(key, required);
  if (v == nullptr) return "";
  if (v->is_string()) return v->get_ref<const std::string&>();
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  fail(key, "must be a string or an integer");
  return "";
}

int64_t JsonFields::integer(const char* key, int64_t fallback, bool required) {
  const json* v = member(key, required);
  if (v == nullptr) return fallback;
  // An unsigned beyond int64 would wrap: refused like any other non-integer.
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    fail(key, "is out of range");
    return fallback;
  }
  if (!v->is_number_integer()) {
    fail(key, "must be an integer");
    return fallback;
  }
  return v->get<int64_t>();
}

JsonFields JsonFields::object(const char* key, bool required) {
  const json* v = member(key, required);
  std::string where = where_ + "." + key;
  if (v == nullptr) return JsonFields(&empty_object(), std::move(where), error_);
  return JsonFields(v, std::move(where), error_);
}

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(s);
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

WebhookResponse json_response(const json& body, int status) {
  return WebhookResponse{status, "application/json; charset=utf-8", dump(body)};
}

std::string text_message(const std::string& text) { return dump(json{{"msgtype", "text"}, {"text", {{"content", text}}}}); }

}  // namespace adapters

using nlohmann::json;

namespace platform {

std::string strip_mentions(const std::string& text) {
  std::string t = text;
  // Feishu writes mentions as @_user_1 anywhere in the text.
  for (size_t p; (p = t.find("@_user_")) != std::string::npos;) {
    size_t e = p + 7;
    while (e < t.size() && std::isdigit(static_cast<unsigned char>(t[e]))) ++e;
    t.erase(p, e - p);
  }
  // Leading "@Bot " mentions (a space, an ideographic space or U+2005 ends them).
  for (;;) {
    size_t start = t.find_first_not_of(" \t");
    if (start == std::string::npos || t[start] != '@') break;
    size_t end = start + 1;
    while (end < t.size() && t[end] != ' ' && t[end] != '\n' && t.compare(end, 3, "\xE3\x80\x80") != 0 &&
           t.compare(end, 3, "\xE2\x80\x85") != 0)
      ++end;
    t.erase(0, end);
    if (t.compare(0, 3, "\xE3\x80\x80") == 0 || t.compare(0, 3, "\xE2\x80\x85") == 0) t.erase(0, 3);
  }
  size_t start = t.find_first_not_of(" \t\n");
  return start == std::string::npos ? "" : t.substr(start);
}

}  // namespace platform

std::unique_ptr<PlatformAdapter> make_adapter(const BotConfig& c) {
  switch (c.platform) {
    case Platform::kWeCom: return adapters::make_wecom_adapter(c);
    case Platform::kDingTalk: return adapters::make_dingtalk_adapter(c);
    case Platform::kFeishu: return adapters::make_feishu_adapter(c);
    case Platform::kTelegram: return adapters::make_telegram_adapter(c);
    case Platform::kGeneric: return adapters::make_generic_adapter(c);
  }
  return nullptr;
}

}  // namespace sunledger
