// The inspector's dashboard on a real HttpServer (127.0.0.1, port 0) over the
// demo deployment, wired as app/serve.cc wires it, with what a test needs to
// sign in as the bot's one-time link does and to post its forms.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <regex>
#include <string>

#include "../webhooks/server_fixture.h"
#include "demo_fixture.h"
#include "web/public_web.h"

namespace sunledger::testing {

struct Dashboard {
  DemoDeployment demo;
  std::atomic<int> outbox_writes{0};
  web::PublicWeb pages;
  RunningServer server;
  int message_no = 0;

  explicit Dashboard(const std::string& public_url = "https://lukou.example")
      : pages(demo.t.ledger.get(), demo.bot.get(), {public_url}, [this] { ++outbox_writes; }) {
    server.start(demo.t.ledger.get(), demo.bot.get(), {}, {}, {}, [this](HttpServer& http) {
      http.serve_pages([this](const std::string& path) -> std::optional<PageAnswer> {
        auto page = pages.get(path);
        if (!page) return std::nullopt;
        return PageAnswer{page->status, page->content_type, page->body, page->headers};
      });
      http.serve_form_pages("/inspect", [this](const FormRequest& r) -> std::optional<PageAnswer> {
        auto page = pages.inspect(web::WebRequest{r.method, r.path, r.params, r.cookie});
        if (!page) return std::nullopt;
        return PageAnswer{page->status, page->content_type, page->body, page->headers};
      });
    });
  }

  Ledger& ledger() { return *demo.t.ledger; }
  Bot& bot() { return *demo.bot; }
  ManualClock& clock() { return demo.t.clock; }

  // What the bot answers `text` from `user`, privately or in a group chat.
  std::string say(const std::string& user, const std::string& text, const std::string& group_chat = "") {
    InboundMessage m{"generic", group_chat.empty() ? user : group_chat, !group_chat.empty(), user, user, text,
                     "inspect-test-" + std::to_string(++message_no), clock().now_unix_seconds()};
    auto r = bot().handle(m);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? r->text : "";
  }

  // The one-time token in a 登录 reply ("" when there is none).
  static std::string link_token(const std::string& reply) {
    std::smatch m;
    static const std::regex re("/inspect/login\\?t=([a-p]{64})");
    return std::regex_search(reply, m, re) ? m[1].str() : "";
  }

  httplib::Result get(const std::string& path, const std::string& cookie = "") {
    auto c = server.client();
    httplib::Headers h;
    if (!cookie.empty()) h.emplace("Cookie", cookie);
    return c.Get(path.c_str(), h);
  }
  httplib::Result post(const std::string& path, const httplib::Params& form, const std::string& cookie = "") {
    auto c = server.client();
    httplib::Headers h;
    if (!cookie.empty()) h.emplace("Cookie", cookie);
    return c.Post(path.c_str(), h, form);
  }

  // The Set-Cookie header that sets `name`, whole ("" when none).
  static std::string set_cookie(const httplib::Response& res, const std::string& name) {
    auto range = res.headers.equal_range("Set-Cookie");
    for (auto it = range.first; it != range.second; ++it)
      if (it->second.rfind(name + "=", 0) == 0) return it->second;
    return "";
  }
  static std::string cookie_pair(const std::string& set_cookie) { return set_cookie.substr(0, set_cookie.find(';')); }
  static std::string csrf(const std::string& body) {
    std::smatch m;
    static const std::regex re("name=\"csrf\" value=\"([0-9a-f]{64})\"");
    return std::regex_search(body, m, re) ? m[1].str() : "";
  }

  // Opens the link as a browser does (the page, then its button); the answer to the POST.
  httplib::Result use_link(const std::string& token) {
    auto page = get("/inspect/login?t=" + token);
    EXPECT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    std::string pre = cookie_pair(set_cookie(*page, "sl_signin"));
    EXPECT_FALSE(pre.empty());
    return post("/inspect/login", {{"t", token}, {"csrf", csrf(page->body)}}, pre);
  }

  // Signs `user` in by the chat link; the session cookie ("sl_session=…").
  std::string sign_in(const std::string& user = "zhuting-inspector") {
    std::string token = link_token(say(user, "登录"));
    EXPECT_FALSE(token.empty());
    auto r = use_link(token);
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 303) << r->body;
    EXPECT_EQ(r->get_header_value("Location"), "/inspect");
    return cookie_pair(set_cookie(*r, "sl_session"));
  }

  // A page of the session, and its CSRF token.
  std::string csrf_of(const std::string& path, const std::string& session) {
    auto r = get(path, session);
    EXPECT_TRUE(r);
    return r ? csrf(r->body) : "";
  }

  std::string receipt_in(const std::string& village, ComplaintStatus status) {
    ComplaintFilter f;
    f.villages = {village};
    f.status = status;
    auto list = bot().complaints().list(f);
    EXPECT_TRUE(list.is_ok());
    return list.is_ok() && !list->empty() ? list->front().receipt : "";
  }
};

}  // namespace sunledger::testing
