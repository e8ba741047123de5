// The fixture of the platform tests (platforms_test.cc, wecom_platform_test.cc):
// every platform end to end over loopback, payloads built byte for byte the
// way each platform builds them, signed and encrypted here from raw OpenSSL
// primitives (checked first against the official vectors), sent to the real
// server; pushes land on a fake platform that records them. A named
// namespace, not an anonymous one: GoogleTest requires one fixture type for
// the suite across both files.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <functional>
#include <mutex>

#include "bot/outbox.h"
#include "fake_platform.h"
#include "raw_platform_crypto.h"
#include "server_fixture.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"
#include "webhooks/outbox_sender.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::platforms_testing {

using nlohmann::json;

// The raw primitives (OpenSSL directly, not the adapters' code) live in
// raw_platform_crypto.h, shared with the privacy tests.
namespace raw = testing::raw;
const auto raw_hmac = raw::hmac_sha256;
const auto b64 = raw::b64;
const auto raw_sha256 = raw::sha256;
const auto wecom_encrypt = raw::wecom_encrypt;
const auto wecom_decrypt = raw::wecom_decrypt;
const auto wecom_sig = raw::wecom_sig;
const auto feishu_encrypt = raw::feishu_encrypt;
inline std::string hex(const unsigned char* p, size_t n) { return raw::hex(std::string(reinterpret_cast<const char*>(p), n)); }

// The official WeCom sample's values (WXBizMsgCrypt3.py).
const std::string kWeComToken = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const std::string kWeComAesKey = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
const std::string kWeComCorpId = "ww1436e0e65a779aee";

using testing::FakePlatform;
using testing::RecordedPush;

const std::string kGenericSecretRaw = "generic-test-secret-0123456789";
const std::string kFeishuEncryptKey = "feishu encrypt key";

struct Platforms : ::testing::Test {
  testing::TestLedger t;
  std::unique_ptr<Bot> bot;
  FakePlatform fake;
  std::vector<BotConfig> configs;
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  WebhookWiring wiring;
  std::unique_ptr<HttpClient> client = make_http_client(5);
  testing::RunningServer s;
  int64_t now = 0;

  void SetUp() override {
    now = t.clock.now_unix_seconds();
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {testing::txn("2022-11-02", true, "上级拨款", "到账", 5'000'000)},
                                            testing::official()).is_ok());
    ASSERT_TRUE(t.ledger->close_month("shuangjiang", "2022-11", testing::official()).is_ok());
    std::string cfg = R"({"bots": [
      {"id": "lukou-wecom", "platform": "wecom", "token": ")" + kWeComToken + R"(", "encoding_aes_key": ")" + kWeComAesKey +
                      R"(", "receive_id": "", "push_url": ")" + fake.url("/cgi-bin/webhook/send?key=K") + R"("},
      {"id": "lukou-ding", "platform": "dingtalk", "app_secret": "ding-app-secret", "push_url": ")" +
                      fake.url("/robot/send?access_token=T") + R"(", "push_secret": "SECxxxx",
       "session_webhook_hosts": [")" + fake.url("") + R"("]},
      {"id": "lukou-feishu", "platform": "feishu", "verification_token": "vtoken", "encrypt_key": ")" + kFeishuEncryptKey +
                      R"(", "push_url": ")" + fake.url("/open-apis/bot/v2/hook/H") + R"(", "push_secret": "feishu-secret"},
      {"id": "lukou-tg", "platform": "telegram", "secret_token": "tg_secret-1", "bot_token": "123:ABC", "api_base": ")" +
                      fake.url("") + R"("},
      {"id": "generic", "platform": "generic", "secret": "whsec_)" + b64(kGenericSecretRaw) + R"(", "push_url": ")" +
                      fake.url("/push") + R"("}
    ]})";
    auto loaded = load_bots_config(cfg);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    configs = *loaded;
    for (const auto& c : configs) {
      adapters.push_back(make_adapter(c));
      wiring.adapters[c.id] = adapters.back().get();
      ASSERT_TRUE(bot->bind_group("shuangjiang", c.id, "chat-" + c.id).is_ok());
      ASSERT_TRUE(bot->add_member({c.id, "secretary", "shuangjiang", Role::kOfficial, ""}).is_ok());
      ASSERT_TRUE(bot->add_member({c.id, "777", "shuangjiang", Role::kOfficial, ""}).is_ok());  // Telegram ids are numbers
    }
    s.start(t.ledger.get(), bot.get(), {}, wiring);
  }

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers,
                       const std::string& type = "application/json") {
    return s.client().Post(path.c_str(), headers, body, type.c_str());
  }

  size_t deliver_pushes() {
    OutboxSender sender(t.ledger.get(), wiring.adapters, client.get());
    return sender.deliver_due();
  }

  // --- payload builders, one per platform -------------------------------

  httplib::Result generic_raw(const std::string& body, const std::string& mid, int64_t ts, bool good_sig = true) {
    std::string sig = b64(raw_hmac(kGenericSecretRaw, mid + "." + std::to_string(ts) + "." + body));
    if (!good_sig) sig[0] = sig[0] == 'A' ? 'B' : 'A';
    return post("/webhooks/generic", body,
                {{"webhook-id", mid}, {"webhook-timestamp", std::to_string(ts)}, {"webhook-signature", "v1," + sig}});
  }

  json generic_json(const std::string& text, const std::string& user, const std::string& mid) {
    return json{{"message_id", mid}, {"chat_id", "chat-generic"}, {"chat_type", "group"},
                {"sender_id", user}, {"sender_name", user}, {"text", text}};
  }

  httplib::Result generic(const std::string& text, const std::string& user, const std::string& mid, int64_t ts,
                          bool good_sig = true) {
    return generic_raw(generic_json(text, user, mid).dump(), mid, ts, good_sig);
  }

  httplib::Result telegram_raw(const std::string& body, const std::string& secret = "tg_secret-1") {
    return post("/webhooks/lukou-tg", body, {{"X-Telegram-Bot-Api-Secret-Token", secret}});
  }

  json telegram_json(const std::string& text, const std::string& user, int64_t update_id) {
    return json::parse(R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":7,"from":{"id":)" + user +
                       R"(,"first_name":"老王"},"chat":{"id":"chat-lukou-tg","type":"supergroup","title":"双江村"},"date":)" +
                       std::to_string(now) + R"(,"text":)" + json(text).dump() + "}}");
  }

  httplib::Result telegram(const std::string& text, const std::string& user, int64_t update_id, const std::string& secret = "tg_secret-1") {
    return telegram_raw(telegram_json(text, user, update_id).dump(), secret);
  }

  json dingtalk_json(const std::string& text, const std::string& user, const std::string& mid, int64_t ts_ms) {
    return json{{"msgId", mid}, {"msgtype", "text"}, {"text", {{"content", " " + text}}},
                {"conversationId", "chat-lukou-ding"}, {"conversationType", "2"}, {"senderStaffId", user},
                {"senderNick", "老王"}, {"createAt", ts_ms},
                {"sessionWebhook", fake.url("/robot/sendBySession?session=S")},
                {"sessionWebhookExpiredTime", ts_ms + 5'400'000}};
  }

  httplib::Result dingtalk_raw(const std::string& body, int64_t ts_ms, const std::string& secret = "ding-app-secret") {
    std::string ts = std::to_string(ts_ms);
    return post("/webhooks/lukou-ding", body, {{"timestamp", ts}, {"sign", b64(raw_hmac(secret, ts + "\n" + secret))}});
  }

  httplib::Result dingtalk(const std::string& text, const std::string& user, const std::string& mid, int64_t ts_ms,
                           const std::string& secret = "ding-app-secret") {
    return dingtalk_raw(dingtalk_json(text, user, mid, ts_ms).dump(), ts_ms, secret);
  }

  json feishu_json(const std::string& text, const std::string& user, const std::string& event_id, int64_t ts) {
    return {{"schema", "2.0"},
            {"header", {{"event_id", event_id}, {"event_type", "im.message.receive_v1"}, {"create_time", std::to_string(ts * 1000)},
                        {"token", "vtoken"}}},
            {"event", {{"sender", {{"sender_id", {{"open_id", user}}}}},
                       {"message", {{"message_id", "om_1"}, {"chat_id", "chat-lukou-feishu"}, {"chat_type", "group"},
                                    {"message_type", "text"}, {"content", json{{"text", "@_user_1 " + text}}.dump()}}}}}};
  }

  // Encrypts the event and signs the body the way Feishu does.
  httplib::Result feishu_raw(const std::string& plain, int64_t ts, bool good_sig = true) {
    std::string body = json{{"encrypt", feishu_encrypt(kFeishuEncryptKey, plain)}}.dump();
    std::string nonce = "n0nce";
    std::string sig = hex(reinterpret_cast<const unsigned char*>(raw_sha256(std::to_string(ts) + nonce + kFeishuEncryptKey + body).data()), 32);
    if (!good_sig) sig[0] = sig[0] == 'a' ? 'b' : 'a';
    return post("/webhooks/lukou-feishu", body,
                {{"X-Lark-Request-Timestamp", std::to_string(ts)}, {"X-Lark-Request-Nonce", nonce}, {"X-Lark-Signature", sig}});
  }

  httplib::Result feishu(const std::string& text, const std::string& user, const std::string& event_id, int64_t ts,
                         bool good_sig = true) {
    return feishu_raw(feishu_json(text, user, event_id, ts).dump(), ts, good_sig);
  }

  // The group-robot callback: encrypted XML around the message XML, fields in
  // the order WeCom sends them (MsgId after the content).
  std::string wecom_robot_xml(const std::string& text, const std::string& user, const std::string& mid) {
    return "<xml><WebhookUrl><![CDATA[" + fake.url("/cgi-bin/webhook/send?key=K") +
           "]]></WebhookUrl><ChatId><![CDATA[chat-lukou-wecom]]></ChatId><PostId><![CDATA[bpkSFfCgAAWeiHos2p6lJbG3]]></PostId>"
           "<ChatType>group</ChatType><From><UserId>" + user + "</UserId><Name><![CDATA[老王]]></Name><Alias><![CDATA[" + user +
           "]]></Alias></From><MsgType>text</MsgType><Text><Content><![CDATA[@村务机器人 " + text +
           "]]></Content></Text><MsgId>" + mid + "</MsgId></xml>";
  }

  // A self-built app's callback: one-to-one, FromUserName is the sender.
  std::string wecom_app_xml(const std::string& text, const std::string& user, const std::string& mid) {
    return "<xml><ToUserName><![CDATA[" + kWeComCorpId + "]]></ToUserName><FromUserName><![CDATA[" + user +
           "]]></FromUserName><CreateTime>" + std::to_string(now) + "</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           "<Content><![CDATA[" + text + "]]></Content><MsgId>" + mid + "</MsgId><AgentID>1000002</AgentID></xml>";
  }

  // Encrypts and signs any plaintext the way WeCom does and posts it.
  httplib::Result wecom_send(const std::string& inner, int64_t ts, bool good_sig = true) {
    std::string enc = wecom_encrypt(kWeComAesKey, inner, "");
    std::string nonce = "1372623149", tss = std::to_string(ts);
    std::string sig = wecom_sig({kWeComToken, tss, nonce, enc});
    if (!good_sig) sig[0] = sig[0] == 'a' ? 'b' : 'a';
    std::string body = "<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt><AgentID></AgentID></xml>";
    std::string path = "/webhooks/lukou-wecom?msg_signature=" + sig + "&timestamp=" + tss + "&nonce=" + nonce;
    return post(path, body, {}, "application/xml");
  }

  httplib::Result wecom(const std::string& text, const std::string& user, const std::string& mid, int64_t ts,
                        bool good_sig = true) {
    return wecom_send(wecom_robot_xml(text, user, mid), ts, good_sig);
  }

  // The AI bot's JSON, encrypted, inside {"encrypt": ...}.
  httplib::Result wecom_json_send(const std::string& inner) {
    std::string enc = wecom_encrypt(kWeComAesKey, inner, "");
    std::string tss = std::to_string(now), nonce = "998";
    return post("/webhooks/lukou-wecom?msg_signature=" + wecom_sig({kWeComToken, tss, nonce, enc}) + "&timestamp=" + tss +
                    "&nonce=" + nonce,
                json{{"encrypt", enc}}.dump(), {});
  }

  httplib::Result wecom_url_check(const std::string& echostr, int64_t ts) {
    std::string tss = std::to_string(ts), nonce = "47744683";
    return s.client().Get(("/webhooks/lukou-wecom?msg_signature=" + wecom_sig({kWeComToken, tss, nonce, echostr}) +
                           "&timestamp=" + tss + "&nonce=" + nonce + "&echostr=" + platform::url_encode(echostr)).c_str());
  }

  // The passive reply's text, read with the real XML parser; "" when there is none.
  std::string wecom_reply_text(const std::string& response_xml) {
    if (response_xml.empty()) return "";
    auto x = platform::parse_xml(response_xml);
    EXPECT_TRUE(x.is_ok()) << response_xml;
    if (!x.is_ok()) return "";
    std::string enc = *platform::xml_text(*x, "Encrypt", true);
    std::string ts = *platform::xml_text(*x, "TimeStamp", true);
    std::string nonce = *platform::xml_text(*x, "Nonce", true);
    EXPECT_EQ(*platform::xml_text(*x, "MsgSignature", true), wecom_sig({kWeComToken, ts, nonce, enc}));
    auto inner = platform::parse_xml(wecom_decrypt(kWeComAesKey, enc));
    EXPECT_TRUE(inner.is_ok());
    if (!inner.is_ok()) return "";
    if (const auto* text = inner->child("Text")) return *platform::xml_text(*text, "Content", true);
    return *platform::xml_text(*inner, "Content", true);
  }

  uint64_t size() { return *t.ledger->log_size("shuangjiang"); }
};

const std::string kPost = "记账 2022-12\n支出 办公费 350 打印纸";

}  // namespace sunledger::platforms_testing
