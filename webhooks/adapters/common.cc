// What the adapters share: the push-success rule, mention stripping, and the
// factory that picks a bot's adapter.
#include <cctype>

#include "webhooks/adapters/common.h"
#include "webhooks/internal.h"

namespace sunledger {

namespace adapters {

std::optional<json> parse_body(const std::string& body) { return http::parse_json_bounded(body, 16); }

std::string jstring(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
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

std::optional<std::string> xml_field(const std::string& xml, const std::string& tag, const std::string& within) {
  std::string scope = xml;
  if (!within.empty()) {
    auto inner = xml_field(xml, within);
    if (!inner) return std::nullopt;
    scope = *inner;
  }
  std::string open = "<" + tag + ">", close = "</" + tag + ">";
  size_t a = scope.find(open);
  if (a == std::string::npos) return std::nullopt;
  a += open.size();
  size_t b = scope.find(close, a);
  if (b == std::string::npos) return std::nullopt;
  std::string v = scope.substr(a, b - a);
  const std::string cdata_open = "<![CDATA[", cdata_close = "]]>";
  if (v.rfind(cdata_open, 0) == 0 && v.size() >= cdata_open.size() + cdata_close.size() &&
      v.compare(v.size() - cdata_close.size(), cdata_close.size(), cdata_close) == 0)
    v = v.substr(cdata_open.size(), v.size() - cdata_open.size() - cdata_close.size());
  return v;
}

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
