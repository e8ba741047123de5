// Complainants stay private on every real platform (issue #10). Each platform
// talks to the real server over loopback with payloads built from raw OpenSSL;
// a fake platform (a real HTTP server on loopback) speaks the token and send
// APIs of WeCom, DingTalk and Feishu, Telegram's sendMessage and the generic
// push hook, and records every request. Then, for every platform: a complaint
// filed in private, one filed in a group and one anonymous, handled by an
// inspector to the end, and no request to anything a group reads carries a
// receipt, a complaint's text or a reporter.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>

#include "bot/outbox.h"
#include "raw_platform_crypto.h"
#include "server_fixture.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"
#include "webhooks/ephemeral_sender.h"
#include "webhooks/http_client.h"
#include "webhooks/outbox_sender.h"

namespace sunledger {
namespace {

using nlohmann::json;
namespace raw = testing::raw;

const std::string kWeComToken = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const std::string kWeComAesKey = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
const std::string kGenericSecretRaw = "generic-test-secret-0123456789";

struct Request {
  std::string method, path, query, body;
  std::map<std::string, std::string> headers;
};

// Who a recorded request reaches: a group (anything several people read) or
// one person, by platform user id. Token calls reach nobody.
struct Addressee {
  enum Kind { kNobody, kGroup, kPerson } kind = kNobody;
  std::string who;
};

std::string query_value(const std::string& query, const std::string& key) {
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    if (pair.rfind(key + "=", 0) == 0) return pair.substr(key.size() + 1);
    start = end + 1;
  }
  return "";
}

// The chat platforms' APIs, as far as Sunledger uses them.
struct FakePlatformApis {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<Request> requests;
  std::set<std::string> valid_tokens;
  std::map<std::string, int> token_fetches;  // per platform
  int next_token = 0;

  std::string issue(const std::string& platform) {
    std::lock_guard<std::mutex> lock(mu);
    ++token_fetches[platform];
    std::string t = platform + "-token-" + std::to_string(++next_token);
    valid_tokens.insert(t);
    return t;
  }
  bool valid(const std::string& token) {
    std::lock_guard<std::mutex> lock(mu);
    return valid_tokens.count(token) > 0;
  }
  // Every token issued so far stops working, as when it expires early.
  void expire_tokens() {
    std::lock_guard<std::mutex> lock(mu);
    valid_tokens.clear();
  }

  FakePlatformApis() {
    auto record = [this](const httplib::Request& req) {
      std::lock_guard<std::mutex> lock(mu);
      Request r{req.method, req.path, req.target.find('?') == std::string::npos ? "" : req.target.substr(req.target.find('?') + 1),
                req.body, {}};
      for (const auto& [k, v] : req.headers) r.headers[k] = v;
      requests.push_back(r);
    };
    auto ok = [](httplib::Response& res, const json& j) { res.set_content(j.dump(), "application/json"); };
    server.Get("/cgi-bin/gettoken", [=, this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.get_param_value("corpid") != "ww-corp" || req.get_param_value("corpsecret") != "wecom-app-secret")
        return ok(res, {{"errcode", 40013}, {"errmsg", "invalid corpid"}});
      ok(res, {{"errcode", 0}, {"access_token", issue("wecom")}, {"expires_in", 7200}});
    });
    server.Post(R"(/.*)", [=, this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      json body = json::parse(req.body, nullptr, false);
      if (req.path == "/cgi-bin/message/send") {
        if (!valid(req.get_param_value("access_token"))) return ok(res, {{"errcode", 42001}, {"errmsg", "access_token expired"}});
        return ok(res, {{"errcode", 0}, {"errmsg", "ok"}, {"invaliduser", ""}});
      }
      if (req.path == "/v1.0/oauth2/accessToken") {
        if (body.value("appKey", "") != "ding-app-key" || body.value("appSecret", "") != "ding-app-secret") {
          res.status = 400;
          return ok(res, {{"code", "invalidClientIdOrSecret"}});
        }
        return ok(res, {{"accessToken", issue("dingtalk")}, {"expireIn", 7200}});
      }
      if (req.path == "/v1.0/robot/oToMessages/batchSend") {
        if (!valid(req.get_header_value("x-acs-dingtalk-access-token"))) {
          res.status = 401;
          return ok(res, {{"code", "InvalidAuthentication"}, {"message", "token expired"}});
        }
        return ok(res, {{"processQueryKey", "pq-1"}});
      }
      if (req.path == "/open-apis/auth/v3/tenant_access_token/internal") {
        if (body.value("app_id", "") != "cli_feishu" || body.value("app_secret", "") != "feishu-app-secret")
          return ok(res, {{"code", 10014}, {"msg", "app secret invalid"}});
        return ok(res, {{"code", 0}, {"tenant_access_token", issue("feishu")}, {"expire", 7200}});
      }
      if (req.path == "/open-apis/im/v1/messages") {
        std::string auth = req.get_header_value("Authorization");
        if (auth.rfind("Bearer ", 0) != 0 || !valid(auth.substr(7))) return ok(res, {{"code", 99991663}, {"msg", "invalid token"}});
        return ok(res, {{"code", 0}, {"data", {{"message_id", "om_x"}}}});
      }
      ok(res, {{"errcode", 0}, {"ok", true}, {"code", 0}});
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakePlatformApis() {
    server.stop();
    thread.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::vector<Request> recorded() {
    std::lock_guard<std::mutex> lock(mu);
    return requests;
  }

  // Reads a recorded request as the platform would route it.
  static Addressee addressee(const Request& r) {
    json b = json::parse(r.body, nullptr, false);
    if (r.path == "/cgi-bin/gettoken" || r.path == "/v1.0/oauth2/accessToken" ||
        r.path == "/open-apis/auth/v3/tenant_access_token/internal")
      return {};
    if (r.path == "/cgi-bin/message/send") return {Addressee::kPerson, b.value("touser", "")};
    if (r.path == "/v1.0/robot/oToMessages/batchSend") return {Addressee::kPerson, b["userIds"][0].get<std::string>()};
    if (r.path == "/robot/sendBySession") {
      std::string s = query_value(r.query, "session");
      if (s.rfind("dm-", 0) == 0) return {Addressee::kPerson, s.substr(3)};
      return {Addressee::kGroup, s};
    }
    if (r.path == "/open-apis/im/v1/messages") {
      if (query_value(r.query, "receive_id_type") == "open_id") return {Addressee::kPerson, b.value("receive_id", "")};
      return {Addressee::kGroup, b.value("receive_id", "")};
    }
    if (r.path.size() > 12 && r.path.compare(r.path.size() - 12, 12, "/sendMessage") == 0) {
      std::string chat = b["chat_id"].is_string() ? b["chat_id"].get<std::string>() : std::to_string(b["chat_id"].get<int64_t>());
      if (chat.rfind("-100", 0) == 0) return {Addressee::kGroup, chat};
      return {Addressee::kPerson, chat};
    }
    if (r.path == "/push") {
      if (b.value("chat_type", "") == "private") return {Addressee::kPerson, b.value("chat_id", "")};
      return {Addressee::kGroup, b.value("chat_id", "")};
    }
    // Group robots' webhooks: WeCom webhook/send, DingTalk robot/send, Feishu bot/v2/hook.
    return {Addressee::kGroup, r.path};
  }
};

// What one platform's callback answered in the HTTP response (the passive
// reply of WeCom, Telegram and the generic hook; empty for the others).
struct Answer {
  int status = 0;
  std::string text;
};

std::string between(const std::string& s, const std::string& a, const std::string& b) {
  size_t i = s.find(a);
  if (i == std::string::npos) return "";
  i += a.size();
  size_t j = s.find(b, i);
  return j == std::string::npos ? "" : s.substr(i, j - i);
}

struct Privacy : ::testing::Test {
  testing::TestLedger t;
  FakePlatformApis fake;
  std::unique_ptr<Bot> bot;
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  WebhookWiring wiring;
  std::unique_ptr<HttpClient> client = make_http_client(5);
  std::unique_ptr<EphemeralSender> ephemeral;
  testing::RunningServer s;
  int64_t now = 0;
  int next = 0;
  ~Privacy() override {
    s.stop();
    if (ephemeral) ephemeral->stop();
  }

  void SetUp() override {
    now = t.clock.now_unix_seconds();
    std::string f = fake.base();
    std::string cfg = R"({"bots": [
      {"id": "wecom", "platform": "wecom", "token": ")" + kWeComToken + R"(", "encoding_aes_key": ")" + kWeComAesKey +
                      R"(", "receive_id": "", "push_url": ")" + f + R"(/cgi-bin/webhook/send?key=K",
       "corp_id": "ww-corp", "agent_id": 1000002, "corp_secret": "wecom-app-secret", "api_base": ")" + f + R"("},
      {"id": "wecom-robot", "platform": "wecom", "token": ")" + kWeComToken + R"(", "encoding_aes_key": ")" + kWeComAesKey +
                      R"(", "receive_id": "", "push_url": ")" + f + R"(/cgi-bin/webhook/send?key=ROBOT"},
      {"id": "dingtalk", "platform": "dingtalk", "app_secret": "ding-app-secret", "push_url": ")" + f +
                      R"(/robot/send?access_token=T", "push_secret": "SECxxxx", "app_key": "ding-app-key",
       "robot_code": "ding-robot", "api_base": ")" + f + R"(", "session_webhook_hosts": [")" + f + R"("]},
      {"id": "feishu", "platform": "feishu", "verification_token": "vtoken", "push_url": ")" + f +
                      R"(/open-apis/bot/v2/hook/H", "app_id": "cli_feishu", "app_secret": "feishu-app-secret",
       "api_base": ")" + f + R"("},
      {"id": "telegram", "platform": "telegram", "secret_token": "tg_secret-1", "bot_token": "123:ABC", "api_base": ")" + f + R"("},
      {"id": "generic", "platform": "generic", "secret": "whsec_)" + raw::b64(kGenericSecretRaw) + R"(", "push_url": ")" + f + R"(/push"}
    ]})";
    auto loaded = load_bots_config(cfg);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    auto reach = std::make_shared<std::set<std::string>>();
    for (const auto& c : *loaded) {
      adapters.push_back(make_adapter(c));
      wiring.adapters[c.id] = adapters.back().get();
      if (adapters.back()->reaches_persons()) reach->insert(c.id);
    }
    EXPECT_EQ(*reach, (std::set<std::string>{"wecom", "dingtalk", "feishu", "telegram", "generic"}));
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    o.reaches_person = [reach](const std::string& id) { return reach->count(id) > 0; };
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    for (const auto& c : *loaded) {
      ASSERT_TRUE(bot->bind_group("shuangjiang", c.id, group_chat(c.id)).is_ok());
      ASSERT_TRUE(bot->add_member({c.id, "1009", "", Role::kInspector, "朱亭镇"}).is_ok());
    }
    ephemeral = std::make_unique<EphemeralSender>(client.get(), &t.clock);
    wiring.send_ephemeral = [this](PlatformAdapter* a, const Push& p) { ephemeral->send(a, p); };
    s.start(t.ledger.get(), bot.get(), {}, wiring);
  }

  static std::string group_chat(const std::string& bot_id) {
    if (bot_id == "telegram") return "-1001234";
    if (bot_id == "dingtalk") return "cid-group";
    return "group-" + bot_id;
  }

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers,
                       const std::string& type = "application/json") {
    return s.client().Post(path.c_str(), headers, body, type.c_str());
  }

  // One message from `user` on `bot_id`, in the village group or in private chat.
  Answer say(const std::string& bot_id, const std::string& user, const std::string& text, bool group) {
    std::string mid = "m" + std::to_string(++next);
    if (bot_id == "wecom" || bot_id == "wecom-robot") {
      std::string inner =
          group ? "<xml><WebhookUrl><![CDATA[x]]></WebhookUrl><From><UserId>" + user + "</UserId><Name><![CDATA[" + user +
                      "]]></Name></From><ChatId><![CDATA[" + group_chat(bot_id) +
                      "]]></ChatId><ChatType>group</ChatType><MsgType>text</MsgType><Text><Content><![CDATA[" + text +
                      "]]></Content></Text><MsgId>" + mid + "</MsgId></xml>"
                : "<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><FromUserName><![CDATA[" + user +
                      "]]></FromUserName><CreateTime>" + std::to_string(now) +
                      "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + text + "]]></Content><MsgId>" +
                      mid + "</MsgId><AgentID>1000002</AgentID></xml>";
      std::string enc = raw::wecom_encrypt(kWeComAesKey, inner, "");
      std::string nonce = "1372623149", ts = std::to_string(now);
      std::string sig = raw::wecom_sig({kWeComToken, ts, nonce, enc});
      auto r = post("/webhooks/" + bot_id + "?msg_signature=" + sig + "&timestamp=" + ts + "&nonce=" + nonce,
               "<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>", {},
               "application/xml");
      if (!r || r->status != 200 || r->body.empty()) return {r ? r->status : -1, ""};
      std::string plain = raw::wecom_decrypt(kWeComAesKey, between(r->body, "<Encrypt><![CDATA[", "]]>"));
      return {r->status, between(plain, "<Content><![CDATA[", "]]></Content>")};
    }
    if (bot_id == "dingtalk") {
      int64_t ms = now * 1000 + next;  // DingTalk signs the timestamp only: one per message
      json body = {{"msgId", mid}, {"msgtype", "text"}, {"text", {{"content", text}}},
                   {"conversationId", group ? group_chat(bot_id) : "cid-dm-" + user}, {"conversationType", group ? "2" : "1"},
                   {"senderStaffId", user}, {"senderNick", user}, {"createAt", ms},
                   {"sessionWebhook", fake.base() + "/robot/sendBySession?session=" + (group ? "grp" : "dm-" + user)},
                   {"sessionWebhookExpiredTime", ms + 5'400'000}};
      std::string ts = std::to_string(ms);
      auto r = post("/webhooks/dingtalk", body.dump(),
               {{"timestamp", ts}, {"sign", raw::b64(raw::hmac_sha256("ding-app-secret", ts + "\nding-app-secret"))}});
      return {r ? r->status : -1, ""};
    }
    if (bot_id == "feishu") {
      json event = {{"schema", "2.0"},
                    {"header", {{"event_id", mid}, {"event_type", "im.message.receive_v1"},
                                {"create_time", std::to_string(now * 1000)}, {"token", "vtoken"}}},
                    {"event", {{"sender", {{"sender_id", {{"open_id", user}}}}},
                               {"message", {{"message_id", "om_" + mid}, {"chat_id", group ? group_chat(bot_id) : "oc-dm-" + user},
                                            {"chat_type", group ? "group" : "p2p"}, {"message_type", "text"},
                                            {"content", json{{"text", text}}.dump()}}}}}};
      auto r = post("/webhooks/feishu", event.dump(), {});
      return {r ? r->status : -1, ""};
    }
    if (bot_id == "telegram") {
      json update = {{"update_id", 5000 + next},
                     {"message", {{"message_id", next}, {"from", {{"id", std::stoll(user)}, {"first_name", "村民"}}},
                                  {"chat", {{"id", group ? std::stoll(group_chat(bot_id)) : std::stoll(user)},
                                            {"type", group ? "supergroup" : "private"}}},
                                  {"date", now}, {"text", text}}}};
      auto r = post("/webhooks/telegram", update.dump(), {{"X-Telegram-Bot-Api-Secret-Token", "tg_secret-1"}});
      if (!r || r->status != 200) return {r ? r->status : -1, ""};
      json j = json::parse(r->body);
      return {r->status, j.value("text", "")};
    }
    json body = {{"message_id", mid}, {"chat_id", group ? group_chat(bot_id) : "dm-" + user},
                 {"chat_type", group ? "group" : "private"}, {"sender_id", user}, {"sender_name", user}, {"text", text}};
    std::string ts = std::to_string(now);
    std::string sig = raw::b64(raw::hmac_sha256(kGenericSecretRaw, mid + "." + ts + "." + body.dump()));
    auto r = post("/webhooks/generic", body.dump(), {{"webhook-id", mid}, {"webhook-timestamp", ts}, {"webhook-signature", "v1," + sig}});
    if (!r || r->status != 200) return {r ? r->status : -1, ""};
    json j = json::parse(r->body);
    return {r->status, j["reply"].is_string() ? j["reply"].get<std::string>() : ""};
  }

  // Delivers until the outbox is empty, letting each bot's per-minute limit pass.
  void deliver_all() {
    OutboxSender sender(t.ledger.get(), wiring.adapters, client.get());
    for (int i = 0; i < 10 && *Outbox(t.ledger.get()).depth() > 0; ++i) {
      sender.deliver_due();
      t.clock.advance(61);
    }
  }

  std::string receipt_of(const std::string& text_fragment) {
    auto all = bot->complaints().list({});
    for (const auto& c : *all)
      if (c.text.find(text_fragment) != std::string::npos) return c.receipt;
    return "";
  }

  // Everything the platform received for `who` privately, joined.
  std::string private_to(const std::string& who, size_t from = 0) {
    std::string out;
    auto rec = fake.recorded();
    for (size_t i = from; i < rec.size(); ++i) {
      Addressee a = FakePlatformApis::addressee(rec[i]);
      if (a.kind == Addressee::kPerson && a.who == who) out += rec[i].body + "\n";
    }
    return out;
  }
};

// JSON bodies escape nothing in Chinese text, but a receipt or an id may sit in
// any field: search the raw bytes and their JSON-unescaped form alike.
bool contains(const std::string& body, const std::string& needle) {
  if (needle.empty()) return false;
  if (body.find(needle) != std::string::npos) return true;
  json j = json::parse(body, nullptr, false);
  return !j.is_discarded() && j.dump(-1, ' ', false, json::error_handler_t::replace).find(needle) != std::string::npos;
}

class EveryPlatform : public Privacy, public ::testing::WithParamInterface<std::string> {};

TEST_P(EveryPlatform, ReportersAndInspectorsAreReachedPrivatelyAndGroupsLearnNothing) {
  const std::string b = GetParam();
  // Platform user ids: Telegram's are numbers.
  const std::string named = b == "telegram" ? "2001" : "villager-zhang";
  const std::string in_group = b == "telegram" ? "2002" : "villager-li";
  const std::string anon = b == "telegram" ? "2003" : "villager-wang";
  const std::string inspector = "1009";
  const std::string text_a = "水利专项资金三十万只用了十五万七千六", text_b = "村道拓宽的钱从哪里来", text_c = "保洁费每月都虚报";

  // Villagers are seen in the group first, so private complaints know their village.
  for (const auto& u : {named, in_group, anon}) ASSERT_EQ(say(b, u, "账目", true).status, 200);
  size_t first = fake.recorded().size();

  Answer a = say(b, named, "投诉 " + text_a, false);
  ASSERT_EQ(a.status, 200);
  Answer g = say(b, in_group, "投诉 " + text_b, true);
  ASSERT_EQ(g.status, 200);
  Answer c = say(b, anon, "匿名投诉 " + text_c, false);
  ASSERT_EQ(c.status, 200);
  // The anonymous reply never touches the database: where the platform has no
  // passive reply it goes out from memory, once.
  if (b == "dingtalk" || b == "feishu") {
    for (int i = 0; i < 200 && private_to(anon, first).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(contains(private_to(anon, first), receipt_of(text_c))) << b;
  } else {
    EXPECT_TRUE(contains(c.text, receipt_of(text_c))) << b << ": " << c.text;
  }
  // (That it never passed through the outbox, raw bytes included, is
  // AttackReview.AnonymousReplyDeliveredThroughOutboxRemainsInRawDatabaseBytes.)
  std::string ra = receipt_of(text_a), rb = receipt_of(text_b), rc = receipt_of(text_c);
  ASSERT_FALSE(ra.empty());
  ASSERT_FALSE(rb.empty()) << "the group complaint was not filed";
  ASSERT_FALSE(rc.empty());
  // The group's reply (passive, where the platform has one) holds neither receipt nor text.
  EXPECT_FALSE(contains(g.text, rb));
  EXPECT_FALSE(contains(g.text, text_b));

  // The inspector reads each complaint (with the reporter's name) in private
  // chat, then moves it to the end.
  for (const auto& r : {ra, rb, rc}) {
    Answer shown = say(b, inspector, "查看 " + r, false);
    ASSERT_EQ(shown.status, 200);
    ASSERT_EQ(say(b, inspector, "转办 " + r + " 朱亭镇纪委 请核查", false).status, 200);
    ASSERT_EQ(say(b, inspector, "调查 " + r + " 调取账本", false).status, 200);
    ASSERT_EQ(say(b, inspector, "办结 " + r + " 属实,已责令退回", false).status, 200);
  }
  deliver_all();
  EXPECT_EQ(*Outbox(t.ledger.get()).depth(), 0);

  // Every reporter push went privately to the reporter's user id ...
  std::string to_named = private_to(named, first), to_group_reporter = private_to(in_group, first);
  EXPECT_TRUE(contains(to_group_reporter, rb)) << "the receipt of a group complaint goes to its reporter privately";
  for (const auto& [who, receipt, body] :
       {std::tuple{named, ra, to_named}, std::tuple{in_group, rb, to_group_reporter}}) {
    EXPECT_TRUE(contains(body, "已转办")) << who << ": " << body;
    EXPECT_TRUE(contains(body, "已办结")) << who;
    EXPECT_TRUE(contains(body, receipt)) << who;
  }
  // ... the anonymous reporter got nothing pushed (replies to their own
  // private message aside, on platforms that reply through the API).
  std::string to_anon = private_to(anon, first);
  EXPECT_FALSE(contains(to_anon, "已转办"));
  // The inspector's answers that name reporters went to the inspector alone,
  // on the platforms whose replies travel through the API.
  if (b == "dingtalk" || b == "feishu") {
    EXPECT_TRUE(contains(private_to(inspector, first), "反映人")) << b;
  }

  // Nothing a group reads carries a receipt, a complaint's text or a reporter.
  for (const auto& r : fake.recorded()) {
    Addressee who = FakePlatformApis::addressee(r);
    if (who.kind != Addressee::kGroup) continue;
    for (const auto& secret : {ra, rb, rc, text_a, text_b, text_c, named, in_group, anon, std::string("反映人")})
      EXPECT_FALSE(contains(r.body, secret)) << b << ": " << secret << " reached a group at " << r.path << ": " << r.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Platforms, EveryPlatform, ::testing::Values("wecom", "dingtalk", "feishu", "telegram", "generic"));

TEST_F(Privacy, ABotWithoutAPrivateChannelLeaksNothingAndSaysWhy) {
  const std::string b = "wecom-robot";
  ASSERT_EQ(say(b, "villager-zhang", "账目", true).status, 200);
  size_t first = fake.recorded().size();
  Answer g = say(b, "villager-zhang", "投诉 村道拓宽的钱从哪里来", true);
  ASSERT_EQ(g.status, 200);
  EXPECT_NE(g.text.find("没有登记"), std::string::npos) << g.text;
  EXPECT_EQ(receipt_of("村道拓宽"), "");
  Answer anon = say(b, "villager-zhang", "匿名投诉 村道拓宽的钱从哪里来", true);
  EXPECT_NE(anon.text.find("没有登记"), std::string::npos) << anon.text;
  // Privately it is filed, and the reporter is told to ask for news.
  Answer p = say(b, "villager-zhang", "投诉 水利专项资金去向不明", false);
  EXPECT_NE(p.text.find("无法主动私信通知您"), std::string::npos) << p.text;
  std::string r = receipt_of("水利专项资金去向不明");
  ASSERT_FALSE(r.empty());
  ASSERT_EQ(say(b, "1009", "转办 " + r + " 纪委 核查", false).status, 200);
  t.clock.advance(61 * 86400);
  EXPECT_EQ(*bot->push_overdue_digest(), 5u);  // one per bot that reaches its inspector; none via the robot
  deliver_all();
  now = t.clock.now_unix_seconds();  // platforms stamp their callbacks with the time they send them
  auto all = fake.recorded();
  for (size_t i = first; i < all.size(); ++i) {
    const Request& req = all[i];
    EXPECT_EQ(req.query.find("key=ROBOT"), std::string::npos) << "something was pushed through the robot: " << req.body;
  }
  std::string progress = say(b, "villager-zhang", "进度 " + r, false).text;
  EXPECT_NE(progress.find("已转办"), std::string::npos) << progress;
}

TEST_F(Privacy, ExpiredAccessTokensAreFetchedAgain) {
  for (const std::string b : {"wecom", "dingtalk", "feishu"}) {
    ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) {
      return Outbox::enqueue(txn, {b, "inspector-1", "第一条 " + b, Audience::kPerson});
    }).is_ok());
    deliver_all();
    EXPECT_EQ(fake.token_fetches[b], 1) << b;
    // A second push reuses the cached token.
    ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) {
      return Outbox::enqueue(txn, {b, "inspector-1", "第二条 " + b, Audience::kPerson});
    }).is_ok());
    deliver_all();
    EXPECT_EQ(fake.token_fetches[b], 1) << b;
    // The platform expires it early: the adapter fetches a new one and the push goes through.
    fake.expire_tokens();
    ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) {
      return Outbox::enqueue(txn, {b, "inspector-1", "第三条 " + b, Audience::kPerson});
    }).is_ok());
    deliver_all();
    EXPECT_EQ(fake.token_fetches[b], 2) << b;
    EXPECT_EQ(*Outbox(t.ledger.get()).depth(), 0) << b;
    EXPECT_TRUE(contains(private_to("inspector-1"), "第三条 " + b)) << b;
  }
  // Past its lifetime a token is fetched again without waiting for a refusal.
  t.clock.advance(7200);
  ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) { return Outbox::enqueue(txn, {"wecom", "inspector-1", "第四条", Audience::kPerson}); }).is_ok());
  deliver_all();
  EXPECT_EQ(fake.token_fetches["wecom"], 3);
}

TEST_F(Privacy, DingTalkPairsAreAcceptedOnceAndSessionWebhooksOnlyOnDingTalk) {
  int64_t ms = now * 1000;
  std::string ts = std::to_string(ms);
  std::string sign = raw::b64(raw::hmac_sha256("ding-app-secret", ts + "\nding-app-secret"));
  auto body = [&](const std::string& mid, const std::string& text, const std::string& session, int64_t expires) {
    return json{{"msgId", mid}, {"msgtype", "text"}, {"text", {{"content", text}}}, {"conversationId", "cid-dm-x"},
                {"conversationType", "1"}, {"senderStaffId", "x"}, {"senderNick", "x"}, {"createAt", ms},
                {"sessionWebhook", session}, {"sessionWebhookExpiredTime", expires}}.dump();
  };
  std::string ok_session = fake.base() + "/robot/sendBySession?session=dm-x";
  std::string first = body("d1", "账目", ok_session, ms + 60'000);
  EXPECT_EQ(post("/webhooks/dingtalk", first, {{"timestamp", ts}, {"sign", sign}})->status, 200);
  // The same bytes again: a redelivery, answered (dedupe keeps it harmless).
  EXPECT_EQ(post("/webhooks/dingtalk", first, {{"timestamp", ts}, {"sign", sign}})->status, 200);
  // The captured pair with another body: refused.
  EXPECT_EQ(post("/webhooks/dingtalk", body("d2", "余额", ok_session, ms + 60'000), {{"timestamp", ts}, {"sign", sign}})->status, 401);
  // A sessionWebhook anywhere but the configured hosts, or expired: refused.
  auto fresh = [&](int64_t delta) {
    std::string t2 = std::to_string(ms + delta);
    return httplib::Headers{{"timestamp", t2}, {"sign", raw::b64(raw::hmac_sha256("ding-app-secret", t2 + "\nding-app-secret"))}};
  };
  EXPECT_EQ(post("/webhooks/dingtalk", body("d3", "账目", "http://127.0.0.2:9/steal", ms + 60'000), fresh(1))->status, 401);
  EXPECT_EQ(post("/webhooks/dingtalk", body("d4", "账目", fake.base() + "@evil.example/x", ms + 60'000), fresh(2))->status, 401);
  EXPECT_EQ(post("/webhooks/dingtalk", body("d5", "账目", ok_session, ms - 1), fresh(3))->status, 401);
  // With the default hosts, loopback is not DingTalk.
  auto strict = load_bots_config(R"({"bots":[{"id":"d","platform":"dingtalk","app_secret":"ding-app-secret"}]})");
  auto adapter = make_adapter((*strict)[0]);
  WebhookRequest w;
  w.method = "POST";
  w.header = [&](const std::string& name) { return name == "timestamp" ? std::to_string(ms + 9) : name == "sign" ? fresh(9).find("sign")->second : ""; };
  w.body = body("d6", "账目", "http://127.0.0.1:" + std::to_string(fake.port) + "/robot/sendBySession", ms + 60'000);
  EXPECT_EQ(adapter->decode(w, now).status().code(), Code::kPermissionDenied);
  w.header = [&](const std::string& name) { return name == "timestamp" ? std::to_string(ms + 11) : name == "sign" ? fresh(11).find("sign")->second : ""; };
  w.body = body("d6", "账目", "https://oapi.dingtalk.com/robot/sendBySession?session=s", ms + 60'000);
  EXPECT_TRUE(adapter->decode(w, now).is_ok());
  w.body = body("d7", "账目", "https://oapi.dingtalk.com.evil.example/robot", ms + 60'000);
  w.header = [&](const std::string& name) { return name == "timestamp" ? std::to_string(ms + 10) : name == "sign" ? fresh(10).find("sign")->second : ""; };
  EXPECT_EQ(adapter->decode(w, now).status().code(), Code::kPermissionDenied);
}

TEST_F(Privacy, AStoredReplyIsReturnedOnlyToTheSameSenderInTheSameChat) {
  ASSERT_TRUE(bot->add_member({"generic", "secretary", "shuangjiang", Role::kOfficial, ""}).is_ok());
  ASSERT_TRUE(bot->add_member({"generic", "deputy", "shuangjiang", Role::kOfficial, ""}).is_ok());
  auto send = [&](const std::string& chat, const std::string& sender, const std::string& mid) {
    json body = {{"message_id", mid}, {"chat_id", chat}, {"chat_type", "private"}, {"sender_id", sender},
                 {"sender_name", sender}, {"text", "记账 2022-12\n支出 办公费 350 打印纸"}};
    std::string ts = std::to_string(now);
    std::string sig = raw::b64(raw::hmac_sha256(kGenericSecretRaw, mid + "." + ts + "." + body.dump()));
    return post("/webhooks/generic", body.dump(), {{"webhook-id", mid}, {"webhook-timestamp", ts}, {"webhook-signature", "v1," + sig}});
  };
  auto first = send("dm-secretary", "secretary", "same-id");
  ASSERT_EQ(first->status, 200);
  EXPECT_NE(first->body.find("已记账"), std::string::npos);
  EXPECT_EQ(send("dm-secretary", "secretary", "same-id")->body, first->body);  // a redelivery
  auto other_sender = send("dm-secretary", "deputy", "same-id");
  EXPECT_EQ(other_sender->status, 409);
  EXPECT_EQ(other_sender->body.find("已记账"), std::string::npos);
  auto other_chat = send("dm-deputy", "secretary", "same-id");
  EXPECT_EQ(other_chat->status, 409);
  EXPECT_EQ(*t.ledger->log_size("shuangjiang"), 1u);
}


// The join an insider with sqlite3 would try after an anonymous filing: every
// column of every table, searched for the sender's id, chat id and message id.
TEST_F(Privacy, AnAnonymousFilingLeavesNoTraceOfItsSender) {
  const std::string sender = "whistle9f3k", text = "村里保洁费每月都虚报两千";
  // Through the generic hook (passive reply) and DingTalk (reply through the outbox).
  json body = {{"message_id", "mid7q2zx"}, {"chat_id", "dmchat5kq"}, {"chat_type", "private"}, {"sender_id", sender},
               {"sender_name", sender}, {"text", "匿名投诉 双江村 " + text}};
  std::string ts = std::to_string(now);
  std::string sig = raw::b64(raw::hmac_sha256(kGenericSecretRaw, std::string("mid7q2zx.") + ts + "." + body.dump()));
  auto r = post("/webhooks/generic", body.dump(), {{"webhook-id", "mid7q2zx"}, {"webhook-timestamp", ts}, {"webhook-signature", "v1," + sig}});
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("唯一凭证"), std::string::npos) << r->body;
  // Raw bytes of the database and its WAL: the sender, chat and message ids never reached them.
  std::string bytes = testing::read_file(t.db_path()) + testing::read_file(t.db_path() + "-wal");
  for (const std::string& id : {sender, std::string("dmchat5kq"), std::string("mid7q2zx")})
    EXPECT_EQ(bytes.find(id), std::string::npos) << id;
  ASSERT_EQ(say("dingtalk", sender, "匿名投诉 双江村 " + text + "(钉钉)", false).status, 200);
  deliver_all();
  EXPECT_EQ(*Outbox(t.ledger.get()).depth(), 0);

  SQLite::Database db(t.db_path(), SQLite::OPEN_READONLY);
  std::vector<std::string> tables;
  {
    SQLite::Statement q(db, "SELECT name FROM sqlite_master WHERE type='table'");
    while (q.executeStep()) tables.push_back(q.getColumn(0).getString());
  }
  int columns_searched = 0;
  for (const auto& table : tables) {
    SQLite::Statement q(db, "SELECT * FROM \"" + table + "\"");
    while (q.executeStep()) {
      for (int c = 0; c < q.getColumnCount(); ++c) {
        ++columns_searched;
        auto col = q.getColumn(c);
        std::string v = col.isBlob() ? std::string(static_cast<const char*>(col.getBlob()), static_cast<size_t>(col.getBytes()))
                                     : col.getString();
        for (const std::string& id : {sender, std::string("dmchat5kq"), std::string("mid7q2zx"), std::string("cid-dm-") + sender})
          EXPECT_EQ(v.find(id), std::string::npos) << table << "." << q.getColumnName(c) << " holds " << id;
      }
    }
  }
  EXPECT_GT(columns_searched, 100);
  // Filing times are kept to the day, in the table and in the signed entry.
  SQLite::Statement filed(db, "SELECT filed_at FROM complaints WHERE anonymous=1");
  int anonymous = 0;
  int64_t offset = int64_t{t.ledger->utc_offset_minutes()} * 60;
  while (filed.executeStep()) {
    ++anonymous;
    EXPECT_EQ((filed.getColumn(0).getInt64() + offset) % 86400, 0);  // local midnight
  }
  EXPECT_EQ(anonymous, 2);
  auto entries = t.ledger->entries("complaints", 0, *t.ledger->log_size("complaints"));
  ASSERT_TRUE(entries.is_ok());
  std::string midnight = utc_timestamp(86400 - offset).substr(10);  // "T16:00:00Z" at UTC+8
  for (const auto& e : *entries) {
    EXPECT_NE(e.fields.value("recorded_at", "").find(midnight), std::string::npos) << e.fields.dump();
    EXPECT_NE(e.fields.value("at", "").find(midnight), std::string::npos) << e.fields.dump();
  }
  // No metric is about complaints, and the ledger's count did not move with two filings.
  auto m = s.client().Get("/metrics");
  std::istringstream lines(m->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_EQ(line.find("complaint"), std::string::npos) << line;
    if (line.rfind("ledger_entries ", 0) == 0 || line.rfind("sunledger_ledger_entries ", 0) == 0) {
      EXPECT_EQ(line.substr(line.find(' ') + 1), "0") << line;
    }
  }
  EXPECT_NE(m->body.find("ledger_entries"), std::string::npos);
}

}  // namespace
}  // namespace sunledger
