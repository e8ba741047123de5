// Every platform end to end over loopback: payloads built byte for byte the
// way each platform builds them, signed and encrypted here from raw OpenSSL
// primitives (checked first against the official vectors), sent to the real
// server; pushes land on a fake platform that records them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <mutex>

#include "bot/outbox.h"
#include "server_fixture.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"
#include "webhooks/outbox_sender.h"
#include "webhooks/platform_crypto.h"

namespace sunledger {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Raw primitives, written against OpenSSL directly (not the adapters' code).

std::string raw_hmac(const std::string& key, const std::string& msg) {
  unsigned char out[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string b64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string unb64(const std::string& s) {
  std::string out(s.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                          static_cast<int>(s.size()));
  size_t pad = s.size() >= 2 && s[s.size() - 1] == '=' ? (s[s.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(k[p[i] >> 4]);
    out.push_back(k[p[i] & 15]);
  }
  return out;
}

std::string raw_sha1_hex(const std::string& s) {
  unsigned char d[20];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return hex(d, 20);
}

std::string raw_sha256(const std::string& s) {
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return std::string(reinterpret_cast<char*>(d), 32);
}

std::string raw_aes_cbc(bool enc, const std::string& key, const std::string& iv, const std::string& in) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  EVP_CipherInit_ex(c, EVP_aes_256_cbc(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                    reinterpret_cast<const unsigned char*>(iv.data()), enc ? 1 : 0);
  EVP_CIPHER_CTX_set_padding(c, 0);
  std::string out(in.size() + 32, '\0');
  int n1 = 0, n2 = 0;
  EVP_CipherUpdate(c, reinterpret_cast<unsigned char*>(out.data()), &n1, reinterpret_cast<const unsigned char*>(in.data()),
                   static_cast<int>(in.size()));
  EVP_CipherFinal_ex(c, reinterpret_cast<unsigned char*>(out.data()) + n1, &n2);
  EVP_CIPHER_CTX_free(c);
  out.resize(static_cast<size_t>(n1 + n2));
  return out;
}

std::string pad(const std::string& s, size_t block) {
  size_t n = block - s.size() % block;
  return s + std::string(n, static_cast<char>(n));
}

// WXBizMsgCrypt: random(16) || len_be32 || msg || receiveid, PKCS#7 to 32, AES-256-CBC, iv = key[0:16].
std::string wecom_encrypt(const std::string& aes_key43, const std::string& msg, const std::string& receive_id) {
  std::string key = unb64(aes_key43 + "=");
  std::string plain = "0123456789abcdef";
  uint32_t n = static_cast<uint32_t>(msg.size());
  plain += std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  plain += msg + receive_id;
  return b64(raw_aes_cbc(true, key, key.substr(0, 16), pad(plain, 32)));
}

std::string wecom_decrypt(const std::string& aes_key43, const std::string& enc) {
  std::string key = unb64(aes_key43 + "=");
  std::string p = raw_aes_cbc(false, key, key.substr(0, 16), unb64(enc));
  p.resize(p.size() - static_cast<unsigned char>(p.back()));
  uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(p[16])) << 24 | static_cast<uint32_t>(static_cast<unsigned char>(p[17])) << 16 |
               static_cast<uint32_t>(static_cast<unsigned char>(p[18])) << 8 | static_cast<unsigned char>(p[19]);
  return p.substr(20, n);
}

std::string wecom_sig(std::vector<std::string> parts) {
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (auto& p : parts) joined += p;
  return raw_sha1_hex(joined);
}

std::string feishu_encrypt(const std::string& encrypt_key, const std::string& plain) {
  std::string iv = "fedcba9876543210";
  return b64(iv + raw_aes_cbc(true, raw_sha256(encrypt_key), iv, pad(plain, 16)));
}

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
  EXPECT_EQ(*platform::xml_field(x, "UserId", "From"), "u1");
  EXPECT_EQ(*platform::xml_field(x, "MsgId"), "5");
  EXPECT_FALSE(platform::xml_field(x, "Nope").has_value());
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

  httplib::Result generic(const std::string& text, const std::string& user, const std::string& mid, int64_t ts,
                          bool good_sig = true) {
    std::string body = json{{"message_id", mid}, {"chat_id", "chat-generic"}, {"chat_type", "group"},
                            {"sender_id", user}, {"sender_name", user}, {"text", text}}.dump();
    std::string sig = b64(raw_hmac(kGenericSecretRaw, mid + "." + std::to_string(ts) + "." + body));
    if (!good_sig) sig[0] = sig[0] == 'A' ? 'B' : 'A';
    return post("/webhooks/generic", body,
                {{"webhook-id", mid}, {"webhook-timestamp", std::to_string(ts)}, {"webhook-signature", "v1," + sig}});
  }

  httplib::Result telegram(const std::string& text, const std::string& user, int64_t update_id, const std::string& secret = "tg_secret-1") {
    std::string body = R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":7,"from":{"id":)" + user +
                       R"(,"first_name":"老王"},"chat":{"id":"chat-lukou-tg","type":"supergroup","title":"双江村"},"date":)" +
                       std::to_string(now) + R"(,"text":)" + json(text).dump() + "}}";
    return post("/webhooks/lukou-tg", body, {{"X-Telegram-Bot-Api-Secret-Token", secret}});
  }

  httplib::Result dingtalk(const std::string& text, const std::string& user, const std::string& mid, int64_t ts_ms,
                           const std::string& secret = "ding-app-secret") {
    std::string body = json{{"msgId", mid}, {"msgtype", "text"}, {"text", {{"content", " " + text}}},
                            {"conversationId", "chat-lukou-ding"}, {"conversationType", "2"}, {"senderStaffId", user},
                            {"senderNick", "老王"}, {"createAt", ts_ms},
                            {"sessionWebhook", fake.url("/robot/sendBySession?session=S")},
                            {"sessionWebhookExpiredTime", ts_ms + 5'400'000}}.dump();
    std::string ts = std::to_string(ts_ms);
    return post("/webhooks/lukou-ding", body, {{"timestamp", ts}, {"sign", b64(raw_hmac(secret, ts + "\n" + secret))}});
  }

  httplib::Result feishu(const std::string& text, const std::string& user, const std::string& event_id, int64_t ts,
                         bool good_sig = true) {
    json event = {{"schema", "2.0"},
                  {"header", {{"event_id", event_id}, {"event_type", "im.message.receive_v1"}, {"create_time", std::to_string(ts * 1000)},
                              {"token", "vtoken"}}},
                  {"event", {{"sender", {{"sender_id", {{"open_id", user}}}}},
                             {"message", {{"message_id", "om_1"}, {"chat_id", "chat-lukou-feishu"}, {"chat_type", "group"},
                                          {"message_type", "text"}, {"content", json{{"text", "@_user_1 " + text}}.dump()}}}}}};
    std::string body = json{{"encrypt", feishu_encrypt(kFeishuEncryptKey, event.dump())}}.dump();
    std::string nonce = "n0nce";
    std::string sig = hex(reinterpret_cast<const unsigned char*>(raw_sha256(std::to_string(ts) + nonce + kFeishuEncryptKey + body).data()), 32);
    if (!good_sig) sig[0] = sig[0] == 'a' ? 'b' : 'a';
    return post("/webhooks/lukou-feishu", body,
                {{"X-Lark-Request-Timestamp", std::to_string(ts)}, {"X-Lark-Request-Nonce", nonce}, {"X-Lark-Signature", sig}});
  }

  // The group-robot callback: encrypted XML around the message XML.
  httplib::Result wecom(const std::string& text, const std::string& user, const std::string& mid, int64_t ts,
                        bool good_sig = true) {
    std::string inner = "<xml><WebhookUrl><![CDATA[" + fake.url("/cgi-bin/webhook/send?key=K") + "]]></WebhookUrl><MsgId>" + mid +
                        "</MsgId><ChatId><![CDATA[chat-lukou-wecom]]></ChatId><ChatType>group</ChatType><From><UserId>" + user +
                        "</UserId><Name><![CDATA[老王]]></Name></From><MsgType>text</MsgType><Text><Content><![CDATA[@村务机器人 " +
                        text + "]]></Content></Text></xml>";
    std::string enc = wecom_encrypt(kWeComAesKey, inner, "");
    std::string nonce = "1372623149", tss = std::to_string(ts);
    std::string sig = wecom_sig({kWeComToken, tss, nonce, enc});
    if (!good_sig) sig[0] = sig[0] == 'a' ? 'b' : 'a';
    std::string body = "<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt><AgentID></AgentID></xml>";
    std::string path = "/webhooks/lukou-wecom?msg_signature=" + sig + "&timestamp=" + tss + "&nonce=" + nonce;
    return post(path, body, {}, "application/xml");
  }

  std::string wecom_reply_text(const std::string& response_xml) {
    std::string enc = *platform::xml_field(response_xml, "Encrypt");
    std::string ts = *platform::xml_field(response_xml, "TimeStamp");
    std::string nonce = *platform::xml_field(response_xml, "Nonce");
    EXPECT_EQ(*platform::xml_field(response_xml, "MsgSignature"), wecom_sig({kWeComToken, ts, nonce, enc}));
    return *platform::xml_field(wecom_decrypt(kWeComAesKey, enc), "Content", "Text");
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
  // URL check with the official vector; the '+' in echostr must survive.
  std::string echostr = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
  auto check = s.client().Get(("/webhooks/lukou-wecom?msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr=" +
                               echostr).c_str());
  ASSERT_EQ(check->status, 200);
  EXPECT_EQ(check->body, "1288432023552776189");
  auto bad_check = s.client().Get(("/webhooks/lukou-wecom?msg_signature=112bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr=" +
                                   echostr).c_str());
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
  std::string tss = std::to_string(now);
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

TEST_F(Platforms, MonthlyNoticeIsPushedToEveryPlatform) {
  ASSERT_NE(generic(kPost, "secretary", "n1", now)->status, 500);
  auto pub = generic("公开 2022-12", "secretary", "n2", now);
  ASSERT_NE(json::parse(pub->body)["reply"].get<std::string>().find("已推送到5个村民群"), std::string::npos) << pub->body;
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
    for (int i = 0; i < 25; ++i) Outbox::enqueue(txn, {"lukou-wecom", "chat-lukou-wecom", "n" + std::to_string(i), Audience::kGroup});
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

}  // namespace
}  // namespace sunledger
