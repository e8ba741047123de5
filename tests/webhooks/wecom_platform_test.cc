// WeCom end to end over loopback: its XML callbacks, the AI bot's JSON, and
// who a WeCom user may claim to be (the fixture: platforms_fixture.h).
#include "platforms_fixture.h"

namespace sunledger::platforms_testing {
namespace {

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

}  // namespace
}  // namespace sunledger::platforms_testing
