// Every platform end to end over loopback (the fixture: platforms_fixture.h);
// WeCom's own cases are in wecom_platform_test.cc.
#include "platforms_fixture.h"

namespace sunledger::platforms_testing {
namespace {

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

}  // namespace
}  // namespace sunledger::platforms_testing
