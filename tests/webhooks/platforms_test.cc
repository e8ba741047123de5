// Every platform end to end over loopback: payloads built byte for byte the
// way each platform builds them, signed and encrypted here from raw OpenSSL
// primitives (checked first against the official vectors), sent to the real
// server; pushes land on a fake platform that records them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <functional>
#include <mutex>

#include "bot/outbox.h"
#include "raw_platform_crypto.h"
#include "server_fixture.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"
#include "webhooks/outbox_sender.h"
#include "webhooks/platform_crypto.h"

namespace sunledger {
namespace {

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
std::string hex(const unsigned char* p, size_t n) { return raw::hex(std::string(reinterpret_cast<const char*>(p), n)); }

// The official WeCom sample's values (WXBizMsgCrypt3.py).
const std::string kWeComToken = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const std::string kWeComAesKey = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
const std::string kWeComCorpId = "ww1436e0e65a779aee";

TEST(OfficialVectors, WeComUrlCheck) {
  std::string echostr = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
  EXPECT_EQ(wecom_sig({kWeComToken, "1476416373", "47744683", echostr}), "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb");
  EXPECT_EQ(platform::wecom_signature(kWeComToken, "1476416373", "47744683", echostr),
            "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb");
  EXPECT_EQ(wecom_decrypt(kWeComAesKey, echostr), "1288432023552776189");
  std::string rid;
  EXPECT_EQ(*platform::wecom_decrypt(kWeComAesKey, echostr, &rid), "1288432023552776189");
  EXPECT_EQ(rid, kWeComCorpId);
  // Our encryption round-trips through the test's independent decryption.
  auto enc = platform::wecom_encrypt(kWeComAesKey, "回复", kWeComCorpId, "ABCDEFGHIJKLMNOP");
  EXPECT_EQ(wecom_decrypt(kWeComAesKey, *enc), "回复");
}

TEST(OfficialVectors, DingTalkSign) {
  EXPECT_EQ(b64(raw_hmac("SECxxxx", "1577262236757\nSECxxxx")), "WorKG9DpV70JNnyXa6ZD2p0sinQW7vkMBavKANZM1o4=");
  EXPECT_EQ(platform::dingtalk_sign("SECxxxx", "1577262236757"), "WorKG9DpV70JNnyXa6ZD2p0sinQW7vkMBavKANZM1o4=");
}

TEST(OfficialVectors, FeishuDecrypt) {
  EXPECT_EQ(*platform::feishu_decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="), "hello world");
  EXPECT_EQ(*platform::feishu_decrypt("test key", feishu_encrypt("test key", "你好")), "你好");
  EXPECT_FALSE(platform::feishu_decrypt("wrong key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=").is_ok());
}

TEST(PlatformHelpers, XmlAndMentions) {
  std::string x = "<xml><From><UserId><![CDATA[u1]]></UserId></From><Text><Content><![CDATA[@bot 账目]]></Content></Text><MsgId>5</MsgId></xml>";
  auto doc = platform::parse_xml(x);
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->name, "xml");
  EXPECT_EQ(*platform::xml_text(*doc->child("From"), "UserId"), "u1");
  EXPECT_EQ(*platform::xml_text(*doc, "MsgId"), "5");
  EXPECT_EQ(*platform::xml_text(*doc, "Nope"), "");
  EXPECT_FALSE(platform::xml_text(*doc, "Nope", true).is_ok());
  EXPECT_FALSE(platform::xml_text(*doc, "From").is_ok()) << "an element holding elements is no text field";
  EXPECT_EQ(platform::strip_mentions("@村务机器人 账目 2022-11"), "账目 2022-11");
  EXPECT_EQ(platform::strip_mentions("@_user_1 查账"), "查账");
  EXPECT_EQ(platform::strip_mentions("账目"), "账目");
}

// ---------------------------------------------------------------------------
// A fake chat platform: a real HTTP server on loopback that records pushes.

struct RecordedPush {
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;
  std::string body;
};

struct FakePlatform {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<RecordedPush> pushes;
  std::atomic<int> fail_next{0};

  FakePlatform() {
    server.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      RecordedPush p{req.path, req.target.find('?') == std::string::npos ? "" : req.target.substr(req.target.find('?') + 1), {}, req.body};
      for (const auto& [k, v] : req.headers) p.headers[k] = v;
      pushes.push_back(p);
      if (fail_next > 0) {
        --fail_next;
        res.status = 500;
        return;
      }
      res.set_content(R"({"errcode":0,"ok":true})", "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakePlatform() {
    server.stop();
    thread.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  std::vector<RecordedPush> recorded() {
    std::lock_guard<std::mutex> lock(mu);
    return pushes;
  }
};

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

TEST_F(Platforms, Generic) {
  auto q = generic("账目", "villager", "g1", now);
  ASSERT_EQ(q->status, 200) << q->body;
  EXPECT_NE(json::parse(q->body)["reply"].get<std::string>().find("账目公开"), std::string::npos);
  auto p = generic(kPost, "secretary", "g2", now);
  ASSERT_EQ(p->status, 200);
  EXPECT_NE(json::parse(p->body)["reply"].get<std::string>().find("已记账1笔"), std::string::npos);
  auto replay = generic(kPost, "secretary", "g2", now);
  EXPECT_EQ(json::parse(replay->body), json::parse(p->body));
  EXPECT_EQ(size(), 3u);
  EXPECT_EQ(generic("账目", "villager", "g3", now, false)->status, 401);
  EXPECT_EQ(generic("账目", "villager", "g4", now - 301)->status, 401);
  EXPECT_EQ(generic("账目", "villager", "g5", now + 301)->status, 401);
  std::string body = "{not json";
  std::string sig = b64(raw_hmac(kGenericSecretRaw, "g6." + std::to_string(now) + "." + body));
  EXPECT_EQ(post("/webhooks/generic", body, {{"webhook-id", "g6"}, {"webhook-timestamp", std::to_string(now)}, {"webhook-signature", "v1," + sig}})->status, 400);
  EXPECT_EQ(post("/webhooks/generic", std::string(70'000, 'x'), {})->status, 413);
  EXPECT_EQ(post("/webhooks/unknown-bot", "{}", {})->status, 404);
  EXPECT_EQ(size(), 3u);
}

TEST_F(Platforms, Telegram) {
  auto q = telegram("/accounts", "42", 1001);
  ASSERT_EQ(q->status, 200) << q->body;
  auto j = json::parse(q->body);
  EXPECT_EQ(j["method"], "sendMessage");
  EXPECT_EQ(j["chat_id"], "chat-lukou-tg");
  EXPECT_NE(j["text"].get<std::string>().find("账目公开"), std::string::npos);
  auto p = telegram(kPost, "777", 1002);
  ASSERT_EQ(p->status, 200) << p->body;
  EXPECT_NE(json::parse(p->body)["text"].get<std::string>().find("已记账"), std::string::npos) << p->body;
  EXPECT_EQ(json::parse(telegram(kPost, "777", 1002)->body), json::parse(p->body));
  EXPECT_EQ(size(), 3u);
  EXPECT_EQ(telegram("/accounts", "42", 1003, "wrong")->status, 401);
  EXPECT_EQ(post("/webhooks/lukou-tg", "[1,2", {{"X-Telegram-Bot-Api-Secret-Token", "tg_secret-1"}})->status, 400);
  // Updates that are not text messages are acknowledged and ignored.
  EXPECT_EQ(post("/webhooks/lukou-tg", R"({"update_id":5,"edited_message":{}})", {{"X-Telegram-Bot-Api-Secret-Token", "tg_secret-1"}})->status, 200);
  EXPECT_EQ(post("/webhooks/lukou-tg", std::string(70'000, 'x'), {{"X-Telegram-Bot-Api-Secret-Token", "tg_secret-1"}})->status, 413);
}

TEST_F(Platforms, DingTalk) {
  int64_t ms = now * 1000;
  // DingTalk signs the timestamp only: each message has its own.
  auto q = dingtalk("账目", "villager", "d1", ms);
  ASSERT_EQ(q->status, 200) << q->body;
  auto p = dingtalk(kPost, "secretary", "d2", ms + 1);
  ASSERT_EQ(p->status, 200);
  EXPECT_EQ(dingtalk(kPost, "secretary", "d2", ms + 1)->status, 200);  // a redelivery of the same bytes
  EXPECT_EQ(size(), 3u);
  // Replies go to the sessionWebhook through the outbox.
  EXPECT_EQ(deliver_pushes(), 3u);
  auto rec = fake.recorded();
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec[0].path, "/robot/sendBySession");
  EXPECT_NE(json::parse(rec[0].body)["text"]["content"].get<std::string>().find("账目公开"), std::string::npos);
  EXPECT_NE(json::parse(rec[1].body)["text"]["content"].get<std::string>().find("已记账"), std::string::npos);
  EXPECT_EQ(rec[1].body, rec[2].body);  // the redelivery got the same reply
  EXPECT_EQ(dingtalk("账目", "villager", "d3", ms, "wrong")->status, 401);
  EXPECT_EQ(dingtalk("账目", "villager", "d4", ms - 3601 * 1000)->status, 401);
  std::string ts = std::to_string(ms + 7);
  EXPECT_EQ(post("/webhooks/lukou-ding", "nope", {{"timestamp", ts}, {"sign", b64(raw_hmac("ding-app-secret", ts + "\nding-app-secret"))}})->status, 400);
  EXPECT_EQ(post("/webhooks/lukou-ding", std::string(70'000, 'x'), {})->status, 413);
}

TEST_F(Platforms, Feishu) {
  // The URL check, encrypted, answered at once.
  std::string challenge = json{{"encrypt", feishu_encrypt(kFeishuEncryptKey, R"({"challenge":"ch-123","token":"vtoken","type":"url_verification"})")}}.dump();
  auto c = post("/webhooks/lukou-feishu", challenge, {});
  ASSERT_EQ(c->status, 200) << c->body;
  EXPECT_EQ(json::parse(c->body)["challenge"], "ch-123");
  std::string bad_challenge = json{{"encrypt", feishu_encrypt(kFeishuEncryptKey, R"({"challenge":"x","token":"nope","type":"url_verification"})")}}.dump();
  EXPECT_EQ(post("/webhooks/lukou-feishu", bad_challenge, {})->status, 401);

  ASSERT_EQ(feishu("账目", "ou_villager", "ev1", now)->status, 200);
  ASSERT_EQ(feishu(kPost, "secretary", "ev2", now)->status, 200);
  ASSERT_EQ(feishu(kPost, "secretary", "ev2", now)->status, 200);
  EXPECT_EQ(size(), 3u);
  EXPECT_EQ(deliver_pushes(), 3u);
  auto rec = fake.recorded();
  ASSERT_EQ(rec.size(), 3u);
  auto body = json::parse(rec[0].body);
  EXPECT_EQ(rec[0].path, "/open-apis/bot/v2/hook/H");
  EXPECT_EQ(body["msg_type"], "text");
  EXPECT_NE(body["content"]["text"].get<std::string>().find("账目公开"), std::string::npos);
  // The custom bot signature: base64(HMAC(key = timestamp + "\n" + secret, msg = "")).
  EXPECT_EQ(body["sign"], b64(raw_hmac(body["timestamp"].get<std::string>() + "\nfeishu-secret", "")));
  EXPECT_EQ(feishu("账目", "ou_villager", "ev3", now, false)->status, 401);
  EXPECT_EQ(feishu("账目", "ou_villager", "ev4", now - 3601)->status, 401);
  EXPECT_EQ(post("/webhooks/lukou-feishu", R"({"encrypt":"bm90IGVuY3J5cHRlZA=="})", {})->status, 401);
}

TEST_F(Platforms, WeCom) {
  // URL check with a fresh check string (the official vector's timestamp is
  // years old, see WeComUrlCheckEchoesOnlyAUrlCheck); pick one whose
  // echostr has a '+', which must survive the query string.
  std::string plain, echostr;
  for (int i = 0; echostr.find('+') == std::string::npos; ++i) {
    plain = std::to_string(1288432023552776189LL + i);
    echostr = wecom_encrypt(kWeComAesKey, plain, kWeComCorpId);
  }
  std::string tss = std::to_string(now);
  auto check = s.client().Get(("/webhooks/lukou-wecom?msg_signature=" + wecom_sig({kWeComToken, tss, "47744683", echostr}) +
                               "&timestamp=" + tss + "&nonce=47744683&echostr=" + echostr).c_str());
  ASSERT_EQ(check->status, 200);
  EXPECT_EQ(check->body, plain);
  auto bad_check = s.client().Get(("/webhooks/lukou-wecom?msg_signature=112bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=" + tss +
                                   "&nonce=47744683&echostr=" + echostr).c_str());
  EXPECT_EQ(bad_check->status, 401);

  auto q = wecom("账目", "villager", "w1", now);
  ASSERT_EQ(q->status, 200) << q->body;
  EXPECT_NE(wecom_reply_text(q->body).find("账目公开"), std::string::npos);
  auto p = wecom(kPost, "secretary", "w2", now);
  EXPECT_NE(wecom_reply_text(p->body).find("已记账1笔"), std::string::npos);
  EXPECT_NE(wecom_reply_text(wecom(kPost, "secretary", "w2", now)->body).find("已记账1笔"), std::string::npos);
  EXPECT_EQ(size(), 3u);
  EXPECT_EQ(wecom("账目", "villager", "w3", now, false)->status, 401);
  EXPECT_EQ(wecom("账目", "villager", "w4", now - 3601)->status, 401);
  std::string junk = "not-base64!!";
  EXPECT_EQ(post("/webhooks/lukou-wecom?msg_signature=" + wecom_sig({kWeComToken, tss, "n", junk}) + "&timestamp=" + tss + "&nonce=n",
                 "<xml><Encrypt><![CDATA[" + junk + "]]></Encrypt></xml>", {}, "application/xml")->status, 401);
  EXPECT_EQ(post("/webhooks/lukou-wecom", std::string(70'000, 'x'), {}, "application/xml")->status, 413);
}

// The AI bot (智能机器人) mode: encrypted JSON in, encrypted JSON passive reply out.
TEST_F(Platforms, WeComAiBotJson) {
  auto send = [&](const std::string& text, const std::string& user, const std::string& mid) {
    std::string inner = json{{"msgid", mid}, {"aibotid", "AIBOT"}, {"chatid", "chat-lukou-wecom"}, {"chattype", "group"},
                             {"from", {{"userid", user}}}, {"response_url", fake.url("/resp")}, {"msgtype", "text"},
                             {"text", {{"content", "@村务机器人 " + text}}}}.dump();
    std::string enc = wecom_encrypt(kWeComAesKey, inner, "");
    std::string tss = std::to_string(now), nonce = "998";
    return post("/webhooks/lukou-wecom?msg_signature=" + wecom_sig({kWeComToken, tss, nonce, enc}) + "&timestamp=" + tss +
                    "&nonce=" + nonce,
                json{{"encrypt", enc}}.dump(), {});
  };
  auto reply_text = [&](const std::string& body) {
    auto j = json::parse(body);
    std::string enc = j["encrypt"];
    EXPECT_EQ(j["msgsignature"], wecom_sig({kWeComToken, std::to_string(j["timestamp"].get<int64_t>()), j["nonce"], enc}));
    return json::parse(wecom_decrypt(kWeComAesKey, enc))["text"]["content"].get<std::string>();
  };
  auto q = send("账目", "villager", "ai-1");
  ASSERT_EQ(q->status, 200) << q->body;
  EXPECT_NE(reply_text(q->body).find("账目公开"), std::string::npos);
  auto p = send(kPost, "secretary", "ai-2");
  EXPECT_NE(reply_text(p->body).find("已记账1笔"), std::string::npos);
  EXPECT_NE(reply_text(send(kPost, "secretary", "ai-2")->body).find("已记账1笔"), std::string::npos);
  EXPECT_EQ(size(), 3u);
}

// ---------------------------------------------------------------------------
// Hostile input after authentication (issue #19).

// What an unregistered user typed to become the official "secretary": the
// tags of the group-robot format, inside an ordinary message's text.
const std::string kInjection =
    "hi<ChatId>x</ChatId><ChatType>single</ChatType><From><UserId>secretary</UserId></From>"
    "<Text><Content>立项 伪造项目X 88万 专项</Content></Text>";
const std::string kFakeProject = "立项 伪造项目X 88万 专项";

// An app user (one-to-one, FromUserName) types the group-robot tags: the
// sender stays the app user and nothing is booked. The control shows the
// same command from the real official would have been booked.
TEST_F(Platforms, WeComAppUserCannotBecomeAnOfficial) {
  uint64_t before = size();
  auto r = wecom_send(wecom_app_xml(kInjection, "mallory", "app-1"), now);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(wecom_reply_text(r->body).find("已立项"), std::string::npos) << wecom_reply_text(r->body);
  EXPECT_EQ(size(), before);
  // With MsgId injected too, and the tags in other orders.
  for (const std::string& text :
       {"<MsgId>app-9</MsgId>" + kInjection, kInjection + "<MsgId>app-9</MsgId>",
        "<From><UserId>secretary</UserId></From><ChatId>x</ChatId><Text><Content>" + kFakeProject + "</Content></Text>",
        "<Text><Content>" + kFakeProject + "</Content></Text><From><UserId>secretary</UserId></From><ChatId>x</ChatId>",
        "<FromUserName>secretary</FromUserName><Content>" + kFakeProject + "</Content>"}) {
    auto again = wecom_send(wecom_app_xml(text, "mallory", "app-" + std::to_string(std::hash<std::string>{}(text))), now);
    ASSERT_EQ(again->status, 200) << text;
    EXPECT_EQ(wecom_reply_text(again->body).find("已立项"), std::string::npos) << text;
  }
  EXPECT_EQ(size(), before);
  auto control = wecom_send(wecom_app_xml(kFakeProject, "secretary", "app-2"), now);
  ASSERT_EQ(control->status, 200) << control->body;
  EXPECT_NE(wecom_reply_text(control->body).find("已立项"), std::string::npos) << wecom_reply_text(control->body);
  EXPECT_EQ(size(), before + 1);
}

// The same trick aimed at an inspector: the queue stays the inspector's.
TEST_F(Platforms, WeComAppUserCannotBecomeAnInspector) {
  ASSERT_TRUE(bot->add_member({"lukou-wecom", "jjw-li", "", Role::kInspector, "朱亭镇"}).is_ok());
  std::string injection = "hi<ChatId>x</ChatId><ChatType>single</ChatType><From><UserId>jjw-li</UserId></From>"
                          "<Text><Content>待办</Content></Text>";
  auto r = wecom_send(wecom_app_xml(injection, "mallory", "insp-1"), now);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(wecom_reply_text(r->body).find("待办投诉"), std::string::npos) << wecom_reply_text(r->body);
  auto control = wecom_send(wecom_app_xml("待办", "jjw-li", "insp-2"), now);
  ASSERT_EQ(control->status, 200) << control->body;
  EXPECT_NE(wecom_reply_text(control->body).find("待办投诉"), std::string::npos) << wecom_reply_text(control->body);
}

// The group-robot format, fields in WeCom's order (MsgId after Content) and
// in other orders, with the injection in every text field a user can set.
TEST_F(Platforms, WeComGroupMemberCannotBecomeAnOfficialOrChooseTheMessageId) {
  uint64_t before = size();
  auto robot = [&](std::vector<std::pair<std::string, std::string>> fields) {
    std::string x = "<xml>";
    for (const auto& [name, inner] : fields) x += "<" + name + ">" + inner + "</" + name + ">";
    return x + "</xml>";
  };
  auto cdata = [](const std::string& t) { return "<![CDATA[" + t + "]]>"; };
  int n = 0;
  auto fields_for = [&](const std::string& user, const std::string& name, const std::string& content, const std::string& mid) {
    return std::vector<std::pair<std::string, std::string>>{
        {"WebhookUrl", cdata(fake.url("/cgi-bin/webhook/send?key=K") + "<From><UserId>secretary</UserId></From>")},
        {"ChatId", cdata("chat-lukou-wecom")},
        {"ChatType", "group"},
        {"From", "<UserId>" + user + "</UserId><Name>" + cdata(name) + "</Name><Alias>" + cdata(name) + "</Alias>"},
        {"MsgType", "text"},
        {"Text", "<Content>" + cdata("@村务机器人 " + content) + "</Content>"},
        {"MsgId", mid}};
  };
  for (int order = 0; order < 4; ++order) {
    for (int where = 0; where < 2; ++where) {
      std::string mid = "grp-" + std::to_string(++n);
      // The injection in the content, or in the display name with the command as content.
      auto f = where == 0 ? fields_for("mallory", "马", kInjection + "<MsgId>w-taken</MsgId>", mid)
                          : fields_for("mallory", kInjection + "<MsgId>w-taken</MsgId>", kFakeProject, mid);
      if (order == 1) std::rotate(f.begin(), f.end() - 1, f.end());          // MsgId first
      if (order == 2) std::reverse(f.begin(), f.end());                      // everything reversed
      if (order == 3) std::swap(f[3], f[5]);                                 // Text before From
      auto r = wecom_send(robot(f), now);
      ASSERT_EQ(r->status, 200) << r->body;
      EXPECT_EQ(wecom_reply_text(r->body).find("已立项"), std::string::npos) << "order " << order << " where " << where;
    }
  }
  EXPECT_EQ(size(), before);
  // The message id is the envelope's: an injected <MsgId> of someone else's
  // message does not fetch (or suppress) that message's stored reply.
  auto post_reply = wecom_reply_text(wecom(kPost, "secretary", "w-taken", now)->body);
  ASSERT_NE(post_reply.find("已记账1笔"), std::string::npos) << post_reply;
  auto q = wecom("账目<MsgId>w-taken</MsgId>", "mallory", "grp-own", now);
  ASSERT_EQ(q->status, 200);
  EXPECT_EQ(wecom_reply_text(q->body).find("已记账"), std::string::npos) << wecom_reply_text(q->body);
  // Control: the official's own 立项 in the real field order is booked.
  auto ok = wecom_send(robot(fields_for("secretary", "老王", kFakeProject, "grp-ok")), now);
  EXPECT_NE(wecom_reply_text(ok->body).find("已立项"), std::string::npos) << wecom_reply_text(ok->body);
  EXPECT_EQ(size(), before + 2);
}

// The envelope decides the format; fields come from their one place or the
// message is refused (400), never guessed.
TEST_F(Platforms, WeComRefusesAmbiguousMessages) {
  auto status = [&](const std::string& inner) { return wecom_send(inner, now)->status; };
  std::string good = wecom_robot_xml("账目", "villager", "amb-0");
  EXPECT_EQ(status(good), 200);
  // Two MsgIds, two senders, two contents, two From elements.
  EXPECT_EQ(status("<xml><MsgId>a</MsgId>" + good.substr(5)), 400);
  EXPECT_EQ(status("<xml><ChatId>c</ChatId><From><UserId>mallory</UserId><UserId>secretary</UserId></From><MsgType>text</MsgType>"
                   "<Text><Content>账目</Content></Text><MsgId>amb-1</MsgId></xml>"), 400);
  EXPECT_EQ(status("<xml><ChatId>c</ChatId><From><UserId>mallory</UserId></From><MsgType>text</MsgType>"
                   "<Text><Content>账目</Content><Content>立项 x 1万</Content></Text><MsgId>amb-2</MsgId></xml>"), 400);
  EXPECT_EQ(status("<xml><ChatId>c</ChatId><From><UserId>mallory</UserId></From><From><UserId>secretary</UserId></From>"
                   "<MsgType>text</MsgType><Text><Content>账目</Content></Text><MsgId>amb-3</MsgId></xml>"), 400);
  EXPECT_EQ(status(wecom_app_xml("账目", "mallory", "amb-4").replace(5, 0, "<FromUserName>secretary</FromUserName>")), 400);
  // Both formats at once, or neither.
  EXPECT_EQ(status(wecom_app_xml("账目", "mallory", "amb-5").replace(5, 0, "<From><UserId>secretary</UserId></From>")), 400);
  EXPECT_EQ(status("<xml><MsgType>text</MsgType><Content>账目</Content><MsgId>amb-6</MsgId></xml>"), 400);
  // A sender that is not text, a DOCTYPE, an entity, a wrong root.
  EXPECT_EQ(status("<xml><ChatId>c</ChatId><From><UserId><b>secretary</b></UserId></From><MsgType>text</MsgType>"
                   "<Text><Content>账目</Content></Text><MsgId>amb-7</MsgId></xml>"), 400);
  std::string entity_sender = "<xml><ToUserName>ww</ToUserName><FromUserName>&u;</FromUserName><MsgType>text</MsgType>"
                              "<Content>账目</Content><MsgId>amb-8</MsgId></xml>";
  EXPECT_EQ(status("<!DOCTYPE xml [<!ENTITY u \"secretary\">]>" + entity_sender), 400);
  EXPECT_EQ(status(entity_sender), 400);
  EXPECT_EQ(status("<msg>" + good.substr(5, good.size() - 11) + "</msg>"), 400);
  // Not a text message: acknowledged and ignored.
  auto image = wecom_send("<xml><ChatId>c</ChatId><From><UserId>u</UserId></From><MsgType>image</MsgType><MsgId>amb-10</MsgId></xml>", now);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(image->body, "");
  // The envelope itself: two Encrypt elements.
  std::string enc = wecom_encrypt(kWeComAesKey, good, "");
  std::string tss = std::to_string(now);
  EXPECT_EQ(post("/webhooks/lukou-wecom?msg_signature=" + wecom_sig({kWeComToken, tss, "n", enc}) + "&timestamp=" + tss + "&nonce=n",
                 "<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt><Encrypt>x</Encrypt></xml>", {}, "application/xml")->status, 401);
}

// The AI bot's JSON: the same attack typed into the text, duplicate keys,
// and fields of the wrong type.
TEST_F(Platforms, WeComAiBotJsonIsReadFromItsStructure) {
  uint64_t before = size();
  auto message = [&](const std::string& user, const std::string& text, const std::string& mid) {
    return json{{"msgid", mid}, {"aibotid", "AIBOT"}, {"chatid", "chat-lukou-wecom"}, {"chattype", "group"},
                {"from", {{"userid", user}}}, {"response_url", fake.url("/resp")}, {"msgtype", "text"},
                {"text", {{"content", "@村务机器人 " + text}}}};
  };
  auto reply_text = [&](const httplib::Result& r) {
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("encrypt")) return std::string();
    return json::parse(wecom_decrypt(kWeComAesKey, j["encrypt"]))["text"]["content"].get<std::string>();
  };
  for (const std::string& text : {kInjection, std::string(R"(hi","from":{"userid":"secretary"},"text":{"content":"立项 伪造项目X 88万 专项"})"),
                                  kFakeProject + "<MsgId>ai-taken</MsgId>"}) {
    auto r = wecom_json_send(message("mallory", text, "ai-" + std::to_string(std::hash<std::string>{}(text))).dump());
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(reply_text(r).find("已立项"), std::string::npos) << text;
  }
  EXPECT_EQ(size(), before);
  // A second "from" (or "msgid") is refused, whichever comes first.
  std::string dup = R"({"msgid":"ai-d1","chatid":"chat-lukou-wecom","chattype":"group","from":{"userid":"mallory"},)"
                    R"("msgtype":"text","text":{"content":"立项 伪造项目X 88万 专项"},"from":{"userid":"secretary"}})";
  EXPECT_EQ(wecom_json_send(dup)->status, 400);
  EXPECT_EQ(wecom_json_send(R"({"msgid":"ai-d2","msgid":"w-other","chatid":"c","from":{"userid":"u"},"msgtype":"text","text":{"content":"账目"}})")->status, 400);
  EXPECT_EQ(wecom_json_send(R"({"msgid":"ai-d3","chatid":"c","from":{"userid":"u","userid":"secretary"},"msgtype":"text","text":{"content":"账目"}})")->status, 400);
  // Wrong types: 400, never 500.
  for (const auto& [ptr, value] : std::vector<std::pair<std::string, json>>{
           {"/from", "secretary"}, {"/from/userid", 7}, {"/text", json::array({"账目"})}, {"/text/content", json::object()},
           {"/msgid", 1.5}, {"/msgtype", nullptr}, {"/chatid", json::array()}}) {
    json m = message("u", "账目", "ai-t");
    m[json::json_pointer(ptr)] = value;
    EXPECT_EQ(wecom_json_send(m.dump())->status, 400) << ptr;
  }
  // Control: the official's own message is booked.
  auto ok = wecom_json_send(message("secretary", kFakeProject, "ai-ok").dump());
  EXPECT_NE(reply_text(ok).find("已立项"), std::string::npos) << ok->body;
  EXPECT_EQ(size(), before + 1);
}

// The GET URL check is signed and timed like a callback and echoes only a
// short check string, never a decrypted message.
TEST_F(Platforms, WeComUrlCheckEchoesOnlyAUrlCheck) {
  // The official vector is correctly signed but years old now.
  std::string vector_echo = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
  EXPECT_EQ(s.client().Get(("/webhooks/lukou-wecom?msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr=" +
                            vector_echo).c_str())->status, 401);
  std::string check = wecom_encrypt(kWeComAesKey, "5927113051632830946", "");
  EXPECT_EQ(wecom_url_check(check, now)->status, 200);
  EXPECT_EQ(wecom_url_check(check, now)->body, "5927113051632830946");
  EXPECT_EQ(wecom_url_check(check, 1)->status, 401);
  EXPECT_EQ(wecom_url_check(check, now - 3601)->status, 401);
  EXPECT_EQ(wecom_url_check(check, now + 3601)->status, 401);
  // A captured callback's Encrypt replayed as echostr: refused, not decrypted.
  std::string callback = wecom_encrypt(kWeComAesKey, wecom_app_xml("匿名投诉 双江村 账目不对", "wangwu", "cb-1"), "");
  auto replay = wecom_url_check(callback, now);
  EXPECT_EQ(replay->status, 401);
  EXPECT_EQ(replay->body.find("wangwu"), std::string::npos);
  std::string ai = wecom_encrypt(kWeComAesKey, R"({"msgid":"1","from":{"userid":"wangwu"}})", "");
  EXPECT_EQ(wecom_url_check(ai, now)->status, 401);
  // One of the server's own encrypted replies replayed as echostr.
  auto q = wecom("账目", "villager", "cb-2", now);
  ASSERT_EQ(q->status, 200);
  auto x = platform::parse_xml(q->body);
  ASSERT_TRUE(x.is_ok());
  EXPECT_EQ(wecom_url_check(*platform::xml_text(*x, "Encrypt", true), now)->status, 401);
  // At most 64 bytes.
  EXPECT_EQ(wecom_url_check(wecom_encrypt(kWeComAesKey, std::string(64, '7'), ""), now)->status, 200);
  EXPECT_EQ(wecom_url_check(wecom_encrypt(kWeComAesKey, std::string(65, '7'), ""), now)->status, 401);
}

TEST_F(Platforms, TelegramIgnoresOtherBotsCommandsAndSenderlessUpdates) {
  uint64_t before = size();
  auto answer = [&](const std::string& text, int64_t id) {
    auto r = telegram(text, "42", id);
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body);
  };
  EXPECT_EQ(answer("/余额@SomeOtherBot", 2001), json::object());
  EXPECT_EQ(answer("/balance@SomeOtherBot 2022-11", 2002), json::object());
  // Addressed to this bot (its config id, without regard to case), or to no bot: answered.
  EXPECT_EQ(answer("/余额@LUKOU-TG", 2003)["method"], "sendMessage");
  EXPECT_EQ(answer("/余额", 2004)["method"], "sendMessage");
  // An official's post addressed to another bot is not booked.
  EXPECT_EQ(json::parse(telegram("/记账@SomeOtherBot 2022-12\n支出 办公费 350 打印纸", "777", 2005)->body), json::object());
  // No "from" (channel posts, anonymous admins): ignored, not one shared identity "".
  json anonymous = telegram_json(kPost, "777", 2006);
  anonymous["message"].erase("from");
  auto r = telegram_raw(anonymous.dump());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body), json::object());
  // An anonymous admin: the placeholder sender GroupAnonymousBot, shared by all of them.
  json on_behalf = telegram_json(kPost, "1087968824", 2007);
  on_behalf["message"]["sender_chat"] = {{"id", -100123}, {"type", "supergroup"}, {"title", "双江村"}};
  r = telegram_raw(on_behalf.dump());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body), json::object());
  EXPECT_EQ(size(), before);
}

TEST_F(Platforms, TelegramAndFeishuTypeErrorsAre400) {
  json date_string = telegram_json("/余额", "42", 3001);
  date_string["message"]["date"] = std::to_string(now);
  auto r = telegram_raw(date_string.dump());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(telegram_raw(R"({"update_id":3002,"message":[]})")->status, 400);
  EXPECT_EQ(telegram_raw(R"({"update_id":"3003"})")->status, 400);
  EXPECT_EQ(telegram_raw(R"({"update_id":3004,"message":{"text":"/余额","from":{"id":1}}})")->status, 400);
  EXPECT_EQ(telegram_raw(R"({"update_id":3005,"update_id":3006})")->status, 400);
  json event_array = feishu_json("账目", "ou_villager", "ev-t1", now);
  event_array["event"] = json::array({event_array["event"]});
  EXPECT_EQ(feishu_raw(event_array.dump(), now)->status, 400);
  json header_string = feishu_json("账目", "ou_villager", "ev-t2", now);
  header_string["header"] = "im.message.receive_v1";
  EXPECT_EQ(feishu_raw(header_string.dump(), now)->status, 400);
  json content_dup = feishu_json("账目", "ou_villager", "ev-t3", now);
  content_dup["event"]["message"]["content"] = R"({"text":"账目","text":"立项 x 1万"})";
  EXPECT_EQ(feishu_raw(content_dup.dump(), now)->status, 400);
  EXPECT_EQ(feishu_raw(R"({"schema":"2.0","header":{"event_id":"a","event_id":"b","event_type":"im.message.receive_v1"}})", now)->status, 400);
}

// Every field of every platform's message replaced by every JSON type: the
// answer is 200 (ignored) or 400, never a 500 (nor a dropped connection).
TEST_F(Platforms, NoMalformedAuthenticatedBodyAnswers500) {
  const std::vector<json> replacements = {json(nullptr), json(true), json(-1), json(1.5), json("s"), json::array(),
                                          json::object(), json(UINT64_MAX)};
  auto paths = [](const json& j) {
    std::vector<std::string> out;
    std::function<void(const json&, const std::string&)> walk = [&](const json& v, const std::string& at) {
      if (!at.empty()) out.push_back(at);
      if (v.is_object())
        for (const auto& [k, child] : v.items()) walk(child, at + "/" + k);
    };
    walk(j, "");
    return out;
  };
  int sent = 0;
  auto sweep = [&](const std::string& platform, const json& valid, const std::function<httplib::Result(const json&, int)>& send) {
    for (const auto& ptr : paths(valid)) {
      for (const auto& value : replacements) {
        json m = valid;
        m[json::json_pointer(ptr)] = value;
        auto r = send(m, ++sent);
        ASSERT_TRUE(r) << platform << " " << ptr << " = " << value.dump();
        // DingTalk's signature does not cover the body: a reply address off
        // DingTalk's hosts, or expired, is treated as unauthenticated.
        bool dingtalk_reply_address = platform == "dingtalk" && (ptr == "/sessionWebhook" || ptr == "/sessionWebhookExpiredTime");
        EXPECT_TRUE(r->status == 200 || r->status == 400 || (dingtalk_reply_address && r->status == 401))
            << platform << " " << ptr << " = " << value.dump() << ": " << r->status;
      }
    }
  };
  sweep("generic", generic_json("账目", "villager", "x"), [&](const json& m, int i) {
    return generic_raw(m.dump(), "sweep-" + std::to_string(i), now);
  });
  sweep("telegram", telegram_json("/余额", "42", 1), [&](const json& m, int) { return telegram_raw(m.dump()); });
  sweep("dingtalk", dingtalk_json("账目", "villager", "x", now * 1000), [&](const json& m, int i) { return dingtalk_raw(m.dump(), now * 1000 + i); });
  sweep("feishu", feishu_json("账目", "ou_villager", "x", now), [&](const json& m, int) { return feishu_raw(m.dump(), now); });
  json ai = {{"msgid", "x"}, {"chatid", "chat-lukou-wecom"}, {"chattype", "group"}, {"from", {{"userid", "villager"}}},
             {"msgtype", "text"}, {"text", {{"content", "账目"}}}};
  sweep("wecom-json", ai, [&](const json& m, int) { return wecom_json_send(m.dump()); });
  EXPECT_GT(sent, 300);
}

TEST_F(Platforms, MonthlyNoticeIsPushedToEveryPlatform) {
  ASSERT_NE(generic(kPost, "secretary", "n1", now)->status, 500);
  auto pub = generic("公开 2022-12", "secretary", "n2", now);
  ASSERT_NE(json::parse(pub->body)["reply"].get<std::string>().find("将推送到5个村民群"), std::string::npos) << pub->body;
  EXPECT_EQ(deliver_pushes(), 5u);
  auto rec = fake.recorded();
  std::map<std::string, RecordedPush> by_path;
  for (const auto& r : rec) by_path[r.path] = r;
  ASSERT_EQ(by_path.size(), 5u);
  EXPECT_NE(json::parse(by_path["/cgi-bin/webhook/send"].body)["text"]["content"].get<std::string>().find("三务公开"), std::string::npos);
  EXPECT_EQ(by_path["/cgi-bin/webhook/send"].query, "key=K");
  // DingTalk's custom robot: timestamp and sign in the query string.
  const auto& ding = by_path["/robot/send"];
  auto ts_pos = ding.query.find("timestamp="), sign_pos = ding.query.find("&sign=");
  ASSERT_NE(sign_pos, std::string::npos);
  std::string ts = ding.query.substr(ts_pos + 10, sign_pos - ts_pos - 10);
  EXPECT_EQ(platform::url_decode(ding.query.substr(sign_pos + 6)), b64(raw_hmac("SECxxxx", ts + "\nSECxxxx")));
  EXPECT_EQ(json::parse(by_path["/bot123:ABC/sendMessage"].body)["chat_id"], "chat-lukou-tg");
  // Generic pushes are signed the Standard Webhooks way.
  const auto& g = by_path["/push"];
  EXPECT_EQ(g.headers.at("webhook-signature"),
            "v1," + b64(raw_hmac(kGenericSecretRaw, g.headers.at("webhook-id") + "." + g.headers.at("webhook-timestamp") + "." + g.body)));
  EXPECT_EQ(json::parse(g.body)["chat_id"], "chat-generic");
  // Delivered once: nothing more to send.
  EXPECT_EQ(deliver_pushes(), 0u);
}

// A crash between delivery and its record: the push is sent again after the
// restart, with the same webhook-id so the receiver can drop it.
TEST_F(Platforms, PendingPushSurvivesARestartAndRepeatsWithTheSameId) {
  ASSERT_TRUE(t.ledger->write([](WriteTxn& txn) { return Outbox::enqueue(txn, {"generic", "chat-generic", "通知", Audience::kGroup}); }).is_ok());
  // The first sender delivers but "dies" before recording it.
  struct DiesAfterSending : HttpClient {
    HttpClient* real;
    Result<HttpResult> send(const OutboundRequest& r) override {
      auto res = real->send(r);
      return unavailable("process killed before the delivery was recorded");
    }
  } dying;
  dying.real = client.get();
  {
    OutboxSender first(t.ledger.get(), wiring.adapters, &dying);
    EXPECT_EQ(first.deliver_due(), 0u);
  }
  // The platform was down for the next try: retried with backoff.
  fake.fail_next = 1;
  t.clock.advance(5);
  EXPECT_EQ(deliver_pushes(), 0u);
  t.clock.advance(5);
  EXPECT_EQ(deliver_pushes(), 1u);
  auto rec = fake.recorded();
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec[0].headers.at("webhook-id"), rec[2].headers.at("webhook-id"));
  EXPECT_EQ(rec[0].body, rec[2].body);
  t.clock.advance(3600);
  EXPECT_EQ(deliver_pushes(), 0u);
  EXPECT_EQ(fake.recorded().size(), 3u);
}

TEST_F(Platforms, RateLimitHoldsPushesForTheNextMinute) {
  ASSERT_TRUE(t.ledger->write([](WriteTxn& txn) {
    for (int i = 0; i < 25; ++i)
      if (Status s = Outbox::enqueue(txn, {"lukou-wecom", "chat-lukou-wecom", "n" + std::to_string(i), Audience::kGroup}); !s.is_ok())
        return s;
    return Status::ok();
  }).is_ok());
  OutboxSender sender(t.ledger.get(), wiring.adapters, client.get());
  EXPECT_EQ(sender.deliver_due(), 20u);  // WeCom group robots take 20 a minute
  EXPECT_EQ(sender.deliver_due(), 0u);
  t.clock.advance(61);
  EXPECT_EQ(sender.deliver_due(), 5u);
}

TEST(BotsConfig, NamesTheBotAndTheField) {
  auto err = [](const std::string& cfg) {
    auto r = load_bots_config(cfg);
    return r.is_ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(err("{}").find("bots"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"a","platform":"wecom","token":"t"}]})").find("bot \"a\": field \"encoding_aes_key\""), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"a","platform":"wecom","token":"t","encoding_aes_key":"short"}]})").find("encoding_aes_key"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"a","platform":"irc"}]})").find("platform"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"nope"}]})").find("\"secret\""), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0","extra":1}]})").find("unknown field \"extra\""), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"env:NOT_SET_ANYWHERE"}]})").find("NOT_SET_ANYWHERE"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0","push_url":"ftp://x"}]})").find("push_url"), std::string::npos);
  EXPECT_NE(err(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0"},{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0"}]})").find("twice"), std::string::npos);
  std::map<std::string, std::string> env = {{"TG_SECRET", "abc_DEF-1"}, {"TG_TOKEN", "1:x"}};
  auto ok = load_bots_config(R"({"bots":[{"id":"t","platform":"telegram","secret_token":"env:TG_SECRET","bot_token":"env:TG_TOKEN"}]})", &env);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)[0].secret_token, "abc_DEF-1");
  EXPECT_EQ((*ok)[0].api_base, "https://api.telegram.org");
  EXPECT_STREQ(platform_name(Platform::kFeishu), "feishu");
}

// A WeCom group robot (no corp app) takes no private message; every other
// platform's bot, and WeCom with its app, does.
TEST(BotsConfig, OnlyAWeComGroupRobotTakesNoPrivateMessages) {
  const std::string aes(43, 'a');
  auto robot = load_bots_config(R"({"bots":[{"id":"w","platform":"wecom","token":"t","encoding_aes_key":")" + aes + R"("}]})");
  ASSERT_TRUE(robot.is_ok()) << robot.status().to_string();
  EXPECT_FALSE((*robot)[0].takes_private_messages());
  auto app = load_bots_config(R"({"bots":[{"id":"w","platform":"wecom","token":"t","encoding_aes_key":")" + aes +
                              R"(","corp_id":"ww1","agent_id":"1000002","corp_secret":"s"}]})");
  ASSERT_TRUE(app.is_ok()) << app.status().to_string();
  EXPECT_TRUE((*app)[0].takes_private_messages());
  auto generic = load_bots_config(R"({"bots":[{"id":"g","platform":"generic","secret":"whsec_c2VjcmV0c2VjcmV0"}]})");
  ASSERT_TRUE(generic.is_ok()) << generic.status().to_string();
  EXPECT_TRUE((*generic)[0].takes_private_messages());
}

// A bots.json with a trailing comma is named as not JSON, where it goes wrong.
TEST(BotsConfig, ASyntaxErrorIsNamedWithItsLineAndColumn) {
  auto r = load_bots_config("{\n  \"bots\": [\n    {\"id\": \"g\", \"platform\": \"generic\",}\n  ]\n}\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("not valid JSON at line 3, column"), std::string::npos) << r.status().message();
  auto shape = load_bots_config("[1]");
  ASSERT_FALSE(shape.is_ok());
  EXPECT_NE(shape.status().message().find("expected {\"bots\": [...]}"), std::string::npos) << shape.status().message();
}

}  // namespace
}  // namespace sunledger
