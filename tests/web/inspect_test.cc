// The inspector's dashboard (/inspect) through a real HTTP server on the demo
// data, wired as app/serve.cc wires it: sign-in by the bot's one-time link
// and by API token, sessions and their cookie, CSRF, the queue, a complaint's
// transitions, the CSV, the statistics, sign-out, and who may see what.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <regex>

#include "dashboard_fixture.h"
#include "ledger/crypto.h"

namespace sunledger {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using testing::Dashboard;

TEST(WebInspect, AnInspectorSignsInByTheOneTimeLinkFromPrivateChat) {
  Dashboard d;
  std::string reply = d.say("zhuting-inspector", "登录");
  // No public address in the bot's options: the path alone.
  EXPECT_TRUE(has(reply, "\n/inspect/login?t=")) << reply;
  EXPECT_TRUE(has(reply, "10分钟内有效")) << reply;
  std::string token = Dashboard::link_token(reply);
  ASSERT_FALSE(token.empty());
  auto signed_in = d.use_link(token);
  ASSERT_TRUE(signed_in);
  ASSERT_EQ(signed_in->status, 303) << signed_in->body;
  std::string session = Dashboard::cookie_pair(Dashboard::set_cookie(*signed_in, "sl_session"));
  auto queue = d.get("/inspect", session);
  ASSERT_TRUE(queue);
  EXPECT_EQ(queue->status, 200);
  for (const char* part : {"generic/zhuting-inspector", "黄龙村", "双江村", "朱亭村", "逾期", "/inspect/complaints/"})
    EXPECT_TRUE(has(queue->body, part)) << part;
  EXPECT_LT(queue->body.size(), 150u * 1024);
  EXPECT_TRUE(has(queue->body, "width=device-width"));
  // The English alias works the same.
  EXPECT_FALSE(Dashboard::link_token(d.say("district-inspector", "login")).empty());
  // Only the digest is stored: the token itself is nowhere in the database.
  bool stored = false;
  Status s = d.ledger().read([&](Ledger::ReadTxn& txn) -> Status {
    auto& q = txn.sql().statement("SELECT key FROM sign_in_links UNION ALL SELECT key FROM dashboard_sessions");
    while (q.step())
      if (q.column_text(0) == token) stored = true;
    return Status::ok();
  });
  ASSERT_TRUE(s.is_ok());
  EXPECT_FALSE(stored);
}

TEST(WebInspect, ALinkWorksOnceAndForTenMinutes) {
  Dashboard d;
  std::string token = Dashboard::link_token(d.say("zhuting-inspector", "登录"));
  ASSERT_EQ(d.use_link(token)->status, 303);
  auto again = d.use_link(token);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 403);
  EXPECT_TRUE(has(again->body, "已用过或已过期")) << again->body;
  EXPECT_TRUE(Dashboard::set_cookie(*again, "sl_session").empty());

  std::string late = Dashboard::link_token(d.say("zhuting-inspector", "登录"));
  d.clock().advance(10 * 60 + 1);
  auto expired = d.use_link(late);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 403);
  EXPECT_TRUE(Dashboard::set_cookie(*expired, "sl_session").empty());
  // Opening the link (GET) uses nothing: chat apps open links to preview them.
  std::string fresh = Dashboard::link_token(d.say("zhuting-inspector", "登录"));
  ASSERT_EQ(d.get("/inspect/login?t=" + fresh)->status, 200);
  ASSERT_EQ(d.get("/inspect/login?t=" + fresh)->status, 200);
  EXPECT_EQ(d.use_link(fresh)->status, 303);
}

TEST(WebInspect, ARedeliveredLoginIsToldToAskAgainAndGetsNoLink) {
  Dashboard d;
  InboundMessage m{"generic", "zhuting-inspector", false, "zhuting-inspector", "", "登录", "redelivered-1",
                   d.clock().now_unix_seconds()};
  auto first = d.bot().handle(m);
  ASSERT_TRUE(first.is_ok());
  EXPECT_TRUE(first->ephemeral);  // delivered from memory, never through the outbox
  std::string token = Dashboard::link_token(first->text);
  ASSERT_FALSE(token.empty());
  auto again = d.bot().handle(m);
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_TRUE(Dashboard::link_token(again->text).empty()) << again->text;
  EXPECT_TRUE(has(again->text, "再发送“登录”")) << again->text;
  // The first link still works, once.
  EXPECT_EQ(d.use_link(token)->status, 303);
}

TEST(WebInspect, GroupChatsOfficialsAndVillagersGetNoLink) {
  Dashboard d;
  std::string group = d.say("zhuting-inspector", "登录", "shuangjiang-group");
  EXPECT_TRUE(has(group, "私信")) << group;
  EXPECT_TRUE(Dashboard::link_token(group).empty());
  std::string official = d.say("shuangjiang-secretary", "登录");
  EXPECT_TRUE(has(official, "只有纪检监察人员可以使用")) << official;
  EXPECT_TRUE(Dashboard::link_token(official).empty());
  std::string villager = d.say("shuangjiang-villager-li", "login");
  EXPECT_TRUE(Dashboard::link_token(villager).empty()) << villager;
  // 帮助 lists it for inspectors, marked private.
  EXPECT_TRUE(has(d.say("zhuting-inspector", "帮助 2") + d.say("zhuting-inspector", "帮助"), "登录"));
}

TEST(WebInspect, AnInspectorsApiTokenSignsInAndAnOfficialsIsRefused) {
  Dashboard d;
  auto official = d.bot().create_token(ApiPrincipal{Role::kOfficial, "shuangjiang", "", "会计站"});
  auto inspector = d.bot().create_token(ApiPrincipal{Role::kInspector, "", "朱亭镇", "镇纪委"});
  ASSERT_TRUE(official.is_ok() && inspector.is_ok());
  auto form = d.get("/inspect/login");
  ASSERT_TRUE(form);
  std::string pre = Dashboard::cookie_pair(Dashboard::set_cookie(*form, "sl_signin"));
  std::string csrf = Dashboard::csrf(form->body);
  auto refused = d.post("/inspect/token", {{"token", *official}, {"csrf", csrf}}, pre);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_TRUE(has(refused->body, "村干部的令牌")) << refused->body;
  EXPECT_TRUE(Dashboard::set_cookie(*refused, "sl_session").empty());
  auto wrong = d.post("/inspect/token", {{"token", "sl_not-a-token-at-all"}, {"csrf", csrf}}, pre);
  EXPECT_EQ(wrong->status, 403);
  // Without the form's token nothing is looked at.
  auto no_csrf = d.post("/inspect/token", {{"token", *inspector}}, pre);
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_TRUE(Dashboard::set_cookie(*no_csrf, "sl_session").empty());
  auto ok = d.post("/inspect/token", {{"token", *inspector}, {"csrf", csrf}}, pre);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 303) << ok->body;
  std::string session = Dashboard::cookie_pair(Dashboard::set_cookie(*ok, "sl_session"));
  auto queue = d.get("/inspect", session);
  EXPECT_EQ(queue->status, 200);
  EXPECT_TRUE(has(queue->body, "镇纪委"));
  // A revoked token's session ends at once.
  auto tokens = d.bot().list_tokens();
  ASSERT_TRUE(tokens.is_ok());
  for (const auto& t : *tokens)
    if (t.principal.label == "镇纪委") {
      ASSERT_TRUE(d.bot().revoke_token(t.id).is_ok());
    }
  auto after = d.get("/inspect", session);
  EXPECT_EQ(after->status, 303);
}

TEST(WebInspect, NothingUnderInspectWithoutASession) {
  Dashboard d;
  std::string receipt = d.receipt_in("huanglong", ComplaintStatus::kReceived);
  for (const std::string& path : {std::string("/inspect"), std::string("/inspect/"), std::string("/inspect/stats"),
                                  std::string("/inspect/complaints.csv"), "/inspect/complaints/" + receipt,
                                  std::string("/inspect/anything")}) {
    for (const std::string& cookie : {std::string(), std::string("sl_session=") + std::string(64, 'a')}) {
      auto r = d.get(path, cookie);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 303) << path;
      EXPECT_EQ(r->get_header_value("Location"), "/inspect/login") << path;
      EXPECT_FALSE(has(r->body, receipt)) << path;
      auto p = d.post(path, {{"to", "assigned"}, {"assignee", "x"}}, cookie);
      EXPECT_EQ(p->status, 401) << path;
    }
  }
  auto c = d.bot().complaints().get(receipt);
  EXPECT_EQ(c->status, ComplaintStatus::kReceived);
}

TEST(WebInspect, APostWithoutTheRightCsrfTokenIsRefusedAndChangesNothing) {
  Dashboard d;
  std::string session = d.sign_in();
  std::string receipt = d.receipt_in("huanglong", ComplaintStatus::kReceived);
  std::string path = "/inspect/complaints/" + receipt;
  std::string csrf = d.csrf_of(path, session);
  ASSERT_EQ(csrf.size(), 64u);
  std::string wrong = csrf;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  for (const httplib::Params& form : {httplib::Params{{"to", "assigned"}, {"assignee", "镇纪委"}},
                                      httplib::Params{{"to", "assigned"}, {"assignee", "镇纪委"}, {"csrf", wrong}},
                                      httplib::Params{{"to", "assigned"}, {"assignee", "镇纪委"}, {"csrf", ""}}}) {
    auto r = d.post(path, form, session);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_TRUE(has(r->body, "没有做任何改动")) << r->body;
  }
  // Another session's token is not this one's.
  std::string other = d.sign_in("district-inspector");
  auto r = d.post(path, {{"to", "assigned"}, {"assignee", "镇纪委"}, {"csrf", d.csrf_of("/inspect", other)}}, session);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(d.bot().complaints().get(receipt)->status, ComplaintStatus::kReceived);
  // Sign-out without it ends nothing.
  EXPECT_EQ(d.post("/inspect/logout", {}, session)->status, 403);
  EXPECT_EQ(d.get("/inspect", session)->status, 200);
}

TEST(WebInspect, AComplaintMovesThroughItsTransitionsFromTheDashboard) {
  Dashboard d;
  std::string session = d.sign_in();
  std::string receipt = d.receipt_in("huanglong", ComplaintStatus::kReceived);
  std::string path = "/inspect/complaints/" + receipt;
  auto page = d.get(path, session);
  ASSERT_EQ(page->status, 200);
  // The reporter and the text, on this page only; the next steps the rules allow.
  EXPECT_TRUE(has(page->body, "反映人")) << page->body;
  EXPECT_TRUE(has(page->body, "value=\"assigned\"") && has(page->body, "value=\"rejected\""));
  EXPECT_FALSE(has(page->body, "value=\"resolved\""));
  std::string csrf = Dashboard::csrf(page->body);
  // A step the rules refuse is said, and nothing changes.
  auto refused = d.post(path, {{"to", "resolved"}, {"note", "查实"}, {"csrf", csrf}}, session);
  EXPECT_EQ(refused->status, 409);
  EXPECT_TRUE(has(refused->body, "不能从“已受理”改为“已办结”")) << refused->body;
  auto missing = d.post(path, {{"to", "assigned"}, {"csrf", csrf}}, session);
  EXPECT_EQ(missing->status, 400);
  EXPECT_TRUE(has(missing->body, "处理人"));
  EXPECT_EQ(d.bot().complaints().get(receipt)->status, ComplaintStatus::kReceived);

  int writes = d.outbox_writes.load();
  struct Step {
    const char* to;
    const char* assignee;
    const char* note;
    ComplaintStatus status;
  };
  for (const Step& s : {Step{"assigned", "黄龙村监委", "请核查", ComplaintStatus::kAssigned},
                        Step{"investigating", "", "已约谈会计", ComplaintStatus::kInvestigating},
                        Step{"resolved", "", "已督促公开11月账目", ComplaintStatus::kResolved}}) {
    auto r = d.post(path, {{"to", s.to}, {"assignee", s.assignee}, {"note", s.note}, {"csrf", csrf}}, session);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 303) << s.to << r->body;
    EXPECT_EQ(r->get_header_value("Location"), path + "?done=1");
    auto c = d.bot().complaints().get(receipt);
    EXPECT_EQ(c->status, s.status) << s.to;
    EXPECT_EQ(c->events.back().actor, "zhuting-inspector");
    EXPECT_EQ(c->events.back().note, s.note);
  }
  EXPECT_GT(d.outbox_writes.load(), writes);
  auto done = d.get(path + "?done=1", session);
  for (const char* part : {"已保存", "黄龙村监委", "已约谈会计", "已督促公开11月账目", "已办结,没有下一步"})
    EXPECT_TRUE(has(done->body, part)) << part;
  // The queue's filters, and the CSV of the same list.
  auto resolved = d.get("/inspect?status=resolved&village=huanglong", session);
  EXPECT_TRUE(has(resolved->body, receipt));
  auto open = d.get("/inspect?status=received&village=huanglong", session);
  EXPECT_FALSE(has(open->body, receipt));
  auto csv = d.get("/inspect/complaints.csv?village=huanglong", session);
  ASSERT_EQ(csv->status, 200);
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv->body.rfind("\xEF\xBB\xBF" "receipt,village,status", 0), 0u);
  EXPECT_TRUE(has(csv->body, receipt + ",huanglong,resolved"));
  EXPECT_EQ(d.get("/inspect?status=bogus", session)->status, 400);
}

TEST(WebInspect, SignOutEndsTheSession) {
  Dashboard d;
  std::string session = d.sign_in();
  std::string csrf = d.csrf_of("/inspect", session);
  auto out = d.post("/inspect/logout", {{"csrf", csrf}}, session);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 303);
  EXPECT_EQ(out->get_header_value("Location"), "/inspect/login");
  EXPECT_TRUE(has(Dashboard::set_cookie(*out, "sl_session"), "Max-Age=0"));
  // The old cookie, sent again, opens nothing.
  EXPECT_EQ(d.get("/inspect", session)->status, 303);
  EXPECT_EQ(d.post("/inspect/logout", {{"csrf", csrf}}, session)->status, 401);
}

TEST(WebInspect, SessionCookieAttributesAndHeaders) {
  {
    Dashboard d("https://lukou.example");
    std::string token = Dashboard::link_token(d.say("zhuting-inspector", "登录"));
    auto r = d.use_link(token);
    std::string c = Dashboard::set_cookie(*r, "sl_session");
    for (const char* part : {"; Path=/inspect", "; Max-Age=28800", "; HttpOnly", "; SameSite=Strict", "; Secure"})
      EXPECT_TRUE(has(c, part)) << part << " in " << c;
    auto page = d.get("/inspect", Dashboard::cookie_pair(c));
    std::string csp = page->get_header_value("Content-Security-Policy");
    EXPECT_TRUE(has(csp, "form-action 'self'")) << csp;
    EXPECT_FALSE(has(csp, "unsafe-inline"));
    EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
    EXPECT_FALSE(has(page->body, "<script"));
    EXPECT_FALSE(has(page->body, "style=\""));
    // The public pages keep form-action 'none'.
    EXPECT_TRUE(has(d.get("/")->get_header_value("Content-Security-Policy"), "form-action 'none'"));
  }
  {
    Dashboard d("http://127.0.0.1:8080");
    std::string c = Dashboard::set_cookie(*d.use_link(Dashboard::link_token(d.say("zhuting-inspector", "登录"))), "sl_session");
    EXPECT_TRUE(has(c, "HttpOnly") && has(c, "SameSite=Strict"));
    EXPECT_FALSE(has(c, "Secure")) << c;
  }
  // A session lasts 8 hours.
  Dashboard d;
  std::string session = d.sign_in();
  d.clock().advance(8 * 3600 - 10);
  EXPECT_EQ(d.get("/inspect", session)->status, 200);
  d.clock().advance(20);
  EXPECT_EQ(d.get("/inspect", session)->status, 303);
}

TEST(WebInspect, StoredTextIsEscaped) {
  Dashboard d;
  const std::string script = "<script>alert(1)</script>";
  std::optional<Complaint> filed;
  Status s = d.ledger().write([&](WriteTxn& txn) -> Status {
    auto c = d.bot().complaints().file(txn, "zhuting", script + " 账目不清",
                                       Reporter{"generic", "villager-x", "<b onmouseover=alert(2)>王</b>", "villager-x"});
    if (!c.is_ok()) return c.status();
    filed = *c;
    return Status::ok();
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  std::string session = d.sign_in();
  for (const std::string& path : {std::string("/inspect"), "/inspect/complaints/" + filed->receipt}) {
    auto r = d.get(path, session);
    ASSERT_EQ(r->status, 200);
    EXPECT_TRUE(has(r->body, "&lt;script&gt;alert(1)&lt;/script&gt;")) << path;
    EXPECT_FALSE(has(r->body, script)) << path;
    EXPECT_FALSE(has(r->body, "<b onmouseover")) << path;
  }
  // A note and a handler typed into the form are stored text too.
  std::string path = "/inspect/complaints/" + filed->receipt;
  auto moved = d.post(path, {{"to", "assigned"}, {"assignee", script}, {"note", "<img src=x>"}, {"csrf", d.csrf_of(path, session)}},
                      session);
  ASSERT_EQ(moved->status, 303);
  auto page = d.get(path, session);
  EXPECT_FALSE(has(page->body, script));
  EXPECT_FALSE(has(page->body, "<img src=x>"));
  EXPECT_TRUE(has(page->body, "&lt;img src=x&gt;"));
  // The public pages never show it.
  for (const char* p : {"/", "/villages/zhuting"}) EXPECT_FALSE(has(d.get(p)->body, "alert(1)")) << p;
}

TEST(WebInspect, AnInspectorOfOneTownNeitherSeesNorActsOnAnothersComplaints) {
  Dashboard d;
  std::string nanzhou;
  {
    ComplaintFilter f;
    f.villages = {"nanzhou"};
    auto list = d.bot().complaints().list(f);
    ASSERT_TRUE(list.is_ok());
    ASSERT_FALSE(list->empty());
    nanzhou = list->front().receipt;
  }
  auto before = d.bot().complaints().get(nanzhou);
  std::string session = d.sign_in("zhuting-inspector");
  EXPECT_FALSE(has(d.get("/inspect", session)->body, nanzhou));
  EXPECT_FALSE(has(d.get("/inspect?village=nanzhou", session)->body, nanzhou));
  EXPECT_FALSE(has(d.get("/inspect/complaints.csv", session)->body, nanzhou));
  EXPECT_FALSE(has(d.get("/inspect/stats", session)->body, "南洲"));
  auto page = d.get("/inspect/complaints/" + nanzhou, session);
  EXPECT_EQ(page->status, 404);
  EXPECT_FALSE(has(page->body, nanzhou));
  auto act = d.post("/inspect/complaints/" + nanzhou,
                    {{"to", "investigating"}, {"note", "x"}, {"csrf", d.csrf_of("/inspect", session)}}, session);
  EXPECT_EQ(act->status, 404);
  EXPECT_EQ(d.bot().complaints().get(nanzhou)->events.size(), before->events.size());
  // The district's inspector sees it.
  std::string district = d.sign_in("district-inspector");
  EXPECT_EQ(d.get("/inspect/complaints/" + nanzhou, district)->status, 200);
  EXPECT_TRUE(has(d.get("/inspect", district)->body, nanzhou));
}

TEST(WebInspect, ASessionOrLinkRowWrittenByHandOpensNothing) {
  Dashboard d;
  // An insider with write access to the database, and a secret of their choosing.
  const std::string secret(64, 'c');
  const std::string key = hex_encode(sha256(secret));
  int64_t far = d.clock().now_unix_seconds() + 3600;
  Status s = d.ledger().write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement(
        "INSERT INTO dashboard_sessions(key, kind, bot, user, token_id, created_at, expires_at, sig) "
        "VALUES(?, 'member', 'generic', 'district-inspector', 0, 0, ?, 'forged')");
    q.bind(1, key);
    q.bind(2, far);
    q.exec();
    auto& l = txn.sql().statement(
        "INSERT INTO sign_in_links(key, bot, user, expires_at, sig) VALUES(?, 'generic', 'district-inspector', ?, 'forged')");
    l.bind(1, key);
    l.bind(2, far);
    l.exec();
    return Status::ok();
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(d.get("/inspect", "sl_session=" + secret)->status, 303);
  EXPECT_EQ(d.use_link(secret)->status, 403);
  // A genuine session whose expiry is pushed back by hand has ended all the same.
  std::string session = d.sign_in();
  d.clock().advance(8 * 3600 + 1);
  s = d.ledger().write([&](WriteTxn& txn) -> Status {
    auto& q = txn.sql().statement("UPDATE dashboard_sessions SET expires_at = expires_at + 86400");
    q.exec();
    return Status::ok();
  });
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(d.get("/inspect", session)->status, 303);
}

TEST(WebInspect, ARemovedInspectorIsSignedOutAtOnce) {
  Dashboard d;
  std::string session = d.sign_in();
  ASSERT_EQ(d.get("/inspect", session)->status, 200);
  auto removed = d.bot().remove_member("generic", "zhuting-inspector");
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(d.get("/inspect", session)->status, 303);
  EXPECT_EQ(d.post("/inspect/logout", {{"csrf", "x"}}, session)->status, 401);
}

TEST(WebInspect, StatisticsPerTownAndVillageAsCharts) {
  Dashboard d;
  std::string session = d.sign_in("district-inspector");
  auto r = d.get("/inspect/stats", session);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  for (const char* part : {"朱亭镇", "南洲镇", "双江村", "黄龙村", "<svg class=\"bars\"", "受理 received", "办结 resolved",
                           "办结天数中位数", "合计", "2022年12月"})
    EXPECT_TRUE(has(r->body, part)) << part;
  EXPECT_LT(r->body.size(), 150u * 1024);
  // Every town's table and chart; each village's chart one town at a time.
  EXPECT_TRUE(has(r->body, "href=\"/inspect/stats?town=朱亭镇\""));
  EXPECT_FALSE(has(r->body, "<h3>双江村 "));
  auto town = d.get("/inspect/stats?town=朱亭镇", session);
  ASSERT_EQ(town->status, 200);
  EXPECT_TRUE(has(town->body, "<h3>双江村 ")) << town->body;
  EXPECT_FALSE(has(town->body, "南洲镇"));
  // A town inspector's one town shows its villages' charts at once; another town is not theirs.
  std::string zhuting = d.sign_in("zhuting-inspector");
  EXPECT_TRUE(has(d.get("/inspect/stats", zhuting)->body, "<h3>双江村 "));
  EXPECT_EQ(d.get("/inspect/stats?town=南洲镇", zhuting)->status, 404);
  // Shuangjiang's complaint: filed 2 December, resolved on the 20th (17.6 days, as the API counts).
  std::regex shuangjiang("<td>双江村</td><td class=\"num\">\\d+</td><td class=\"num\">1</td>[\\s\\S]*?<td class=\"num\">17\\.6</td>");
  EXPECT_TRUE(std::regex_search(r->body, shuangjiang)) << r->body;
}

}  // namespace
}  // namespace sunledger
