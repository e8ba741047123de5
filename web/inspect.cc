// The inspector's dashboard: routing, sign-in and sign-out, the session and
// CSRF checks, and the one action (a complaint's next transition). Pages are
// rendered in inspect_pages.cc.
//
// The session token lives in an HttpOnly, SameSite=Strict cookie limited to
// /inspect (Secure when the public address is https), 8 hours; the server
// keeps its SHA-256 only (bot/sign_in.h). Every form carries a CSRF token
// derived from the secret its cookie holds (HMAC-SHA256), so it needs no
// storage: the session's for the dashboard's forms, a sign-in cookie's for
// the sign-in forms, which come before any session.
#include <algorithm>
#include <cstdio>

#include "ledger/crypto.h"
#include "web/dashboard.h"
#include "web/public_web.h"

namespace sunledger::web {
namespace {

constexpr const char* kSessionCookie = "sl_session";
constexpr const char* kSignInCookie = "sl_signin";

std::string param(const WebRequest& r, const char* name) {
  auto it = r.params.find(name);
  return it == r.params.end() ? std::string() : it->second;
}

// The value of one cookie in a Cookie header ("a=1; b=2"), "" when absent.
std::string cookie_value(const std::string& header, const std::string& name) {
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(at, end - at);
    size_t b = part.find_first_not_of(' ');
    if (b != std::string::npos) part = part.substr(b);
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=')
      return part.substr(name.size() + 1);
    at = end + 1;
  }
  return "";
}

std::string csrf_for(const std::string& secret) {
  return hex_encode(hmac_sha256(secret, "sunledger dashboard form"));
}

bool csrf_ok(const WebRequest& r, const std::string& secret) {
  std::string sent = param(r, "csrf");
  return !secret.empty() && !sent.empty() && constant_time_equal(sent, csrf_for(secret));
}

std::string cookie(const Site& site, const std::string& name, const std::string& value, int64_t max_age) {
  bool https = site.options.public_url.rfind("https://", 0) == 0;
  return name + "=" + value + "; Path=/inspect; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Strict" +
         (https ? "; Secure" : "");
}

WebPage redirect(const std::string& to) {
  WebPage page = dashboard_page(303, "→", Html());
  page.headers.emplace_back("Location", to);
  return page;
}

WebPage csrf_refused(const Viewer* viewer) {
  return dashboard_message(403, "表单已失效或不是从本站提交的,没有做任何改动。请返回页面重新提交。",
                           "The form's security token is missing or wrong; nothing was changed. Go back and submit "
                           "it again.",
                           viewer ? "/inspect" : "/inspect/login", viewer);
}

// The sign-in cookie: kept when the browser has one, so two tabs both work.
std::string sign_in_secret(const WebRequest& r, bool* fresh) {
  std::string s = cookie_value(r.cookie, kSignInCookie);
  *fresh = s.size() != 64;
  return *fresh ? hex_encode(random_bytes(32)) : s;
}

WebPage sign_in(const Site& site, const WebRequest& r, int status, const std::string& link_token,
                const std::string& message) {
  bool fresh = false;
  std::string secret = sign_in_secret(r, &fresh);
  WebPage page = sign_in_page(status, link_token, csrf_for(secret), message);
  if (fresh) page.headers.emplace_back("Set-Cookie", cookie(site, kSignInCookie, secret, InspectorSignIn::kLinkSeconds));
  return page;
}

WebPage signed_in(const Site& site, const DashboardSession& s) {
  WebPage page = redirect("/inspect");
  page.headers.emplace_back("Set-Cookie", cookie(site, kSessionCookie, s.token, InspectorSignIn::kSessionSeconds));
  page.headers.emplace_back("Set-Cookie", cookie(site, kSignInCookie, "", 0));
  return page;
}

std::string areas_of(const DashboardUser& user) {
  std::string out;
  for (const auto& a : user.areas) out += (out.empty() ? "" : ", ") + a;
  return out;
}

// POST /inspect/login (the one-time link) and /inspect/token (an API token).
WebPage sign_in_post(Site& site, const WebRequest& r, bool with_link) {
  std::string secret = cookie_value(r.cookie, kSignInCookie);
  std::string link = with_link ? param(r, "t") : "";
  if (!csrf_ok(r, secret))
    return sign_in(site, r, 403, link,
                   "表单已失效,请重新提交(需要允许本站的 Cookie)。(the form expired or cookies are blocked; submit it again)");
  auto s = with_link ? site.bot.sign_in().redeem_link(link) : site.bot.sign_in().sign_in_with_api_token(param(r, "token"));
  if (!s.is_ok()) {
    if (s.status().code() != Code::kPermissionDenied) {
      std::fprintf(stderr, "sunledger: dashboard sign-in: %s\n", s.status().to_string().c_str());
      return unavailable_page(s.status());
    }
    // Who tried is unknown (a link or token that opens nothing names nobody); why is logged.
    std::fprintf(stderr, "sunledger: dashboard sign-in refused (%s): %s\n", with_link ? "one-time link" : "API token",
                 s.status().message().c_str());
    return sign_in(site, r, 403, "", s.status().message());
  }
  // An audit line: who and how, never the link, the token or the session.
  std::fprintf(stderr, "sunledger: dashboard: %s signed in (%s, areas: %s)\n", s->user.shown.c_str(),
               with_link ? "one-time link" : "API token", areas_of(s->user).c_str());
  return signed_in(site, *s);
}

Result<Viewer> viewer_of(Site& site, const DashboardUser& user, const std::string& session_token) {
  Viewer v{user, {}, csrf_for(session_token)};
  for (const auto& area : user.areas) {
    auto villages = site.bot.villages_in_area(area);
    if (!villages.is_ok()) return villages.status();
    v.villages.insert(v.villages.end(), villages->begin(), villages->end());
  }
  std::sort(v.villages.begin(), v.villages.end());
  v.villages.erase(std::unique(v.villages.begin(), v.villages.end()), v.villages.end());
  return v;
}

bool in_scope(const Viewer& v, const std::string& village) {
  return std::binary_search(v.villages.begin(), v.villages.end(), village);
}

// The queue's filters; an unknown status is a 400 page (what the API says).
std::optional<QueueQuery> queue_query(const WebRequest& r, std::string* problem) {
  QueueQuery q;
  q.village = param(r, "village");
  if (std::string s = param(r, "status"); !s.empty()) {
    q.status = parse_complaint_status(s);
    if (!q.status) {
      *problem = "status 应为 received, assigned, investigating, resolved, rejected 或 reopened";
      return std::nullopt;
    }
  }
  q.overdue = param(r, "overdue") == "true";
  return q;
}

WebPage or_unavailable(const char* what, Result<WebPage> page) {
  if (page.is_ok()) return std::move(*page);
  std::fprintf(stderr, "sunledger: dashboard %s: %s\n", what, page.status().to_string().c_str());
  return unavailable_page(page.status());
}

const char* kNoSuchComplaint = "没有这个投诉";

// GET and POST /inspect/complaints/{receipt}: outside the viewer's area
// reads as unknown, as in chat and the API.
WebPage complaint_route(Site& site, const WebRequest& r, const Viewer& viewer, const std::string& typed,
                        const std::function<void()>& on_outbox_write) {
  auto receipt = Complaints::normalise_receipt(typed);
  auto c = receipt ? site.bot.complaints().get(*receipt) : Result<Complaint>(not_found(""));
  if (!c.is_ok() && c.status().code() != Code::kNotFound) return or_unavailable("complaint", c.status());
  if (!c.is_ok() || !in_scope(viewer, c->village))
    return dashboard_message(404, kNoSuchComplaint, "No such complaint.", "/inspect", &viewer);
  if (r.method != "POST") {
    bool done = param(r, "done") == "1";
    return or_unavailable("complaint", complaint_page(site, viewer, *c, 200, done ? "已保存。(saved)" : "", false));
  }
  if (!csrf_ok(r, cookie_value(r.cookie, kSessionCookie))) return csrf_refused(&viewer);
  // The API's transitions, by the bot's one function and rules.
  auto to = parse_complaint_status(param(r, "to"));
  if (!to || *to == ComplaintStatus::kReceived || *to == ComplaintStatus::kReopened)
    return or_unavailable("complaint", complaint_page(site, viewer, *c, 400,
                                                      "请选择新的状态 (choose the new status)", true));
  auto moved = site.bot.transition_complaint(c->receipt, *to, param(r, "note"), param(r, "assignee"), viewer.user.actor);
  if (!moved.is_ok()) {
    Code code = moved.status().code();
    if (code != Code::kFailedPrecondition && code != Code::kInvalidArgument)
      return or_unavailable("transition", moved.status());
    return or_unavailable("complaint", complaint_page(site, viewer, *c, code == Code::kInvalidArgument ? 400 : 409,
                                                      moved.status().message(), true));
  }
  if (on_outbox_write) on_outbox_write();
  // After a POST, a GET: reloading the page never sends the form again.
  return redirect("/inspect/complaints/" + moved->receipt + "?done=1");
}

}  // namespace

std::optional<WebPage> dashboard(Site& site, const WebRequest& r, const std::function<void()>& on_outbox_write) {
  const std::string& p = r.path;
  if (p != "/inspect" && p.rfind("/inspect/", 0) != 0) return std::nullopt;
  bool post = r.method == "POST";
  // The sign-in pages: the only ones without a session.
  if (p == "/inspect/login" || p == "/inspect/token") {
    if (post) return sign_in_post(site, r, p == "/inspect/login");
    return sign_in(site, r, 200, p == "/inspect/login" ? param(r, "t") : "", "");
  }
  std::string token = cookie_value(r.cookie, kSessionCookie);
  auto user = site.bot.sign_in().session(token);
  if (!user.is_ok()) {
    if (user.status().code() != Code::kPermissionDenied) return or_unavailable("session", user.status());
    if (post) {
      WebPage page = dashboard_message(401, "请先登录,没有做任何改动。", "Sign in first; nothing was changed.",
                                       "/inspect/login");
      return page;
    }
    return redirect("/inspect/login");
  }
  auto viewer = viewer_of(site, *user, token);
  if (!viewer.is_ok()) return or_unavailable("session", viewer.status());
  const Viewer& v = *viewer;
  if (p == "/inspect/logout") {
    if (!post) return redirect("/inspect");
    if (!csrf_ok(r, token)) return csrf_refused(&v);
    if (Status s = site.bot.sign_in().end_session(token); !s.is_ok()) return or_unavailable("sign-out", s);
    std::fprintf(stderr, "sunledger: dashboard: %s signed out\n", v.user.shown.c_str());
    WebPage page = redirect("/inspect/login");
    page.headers.emplace_back("Set-Cookie", cookie(site, kSessionCookie, "", 0));
    return page;
  }
  const std::string complaints_prefix = "/inspect/complaints/";
  if (p.rfind(complaints_prefix, 0) == 0 && p.size() > complaints_prefix.size())
    return complaint_route(site, r, v, p.substr(complaints_prefix.size()), on_outbox_write);
  if (post) return csrf_ok(r, token) ? dashboard_message(404, "没有这个页面", "No such page.", "/inspect", &v)
                                     : csrf_refused(&v);
  if (p == "/inspect" || p == "/inspect/" || p == "/inspect/complaints.csv") {
    std::string problem;
    auto q = queue_query(r, &problem);
    if (!q) return dashboard_message(400, problem, "Unknown status.", "/inspect", &v);
    if (p == "/inspect/complaints.csv") return or_unavailable("csv", queue_csv(site, v, *q));
    return or_unavailable("queue", queue_page(site, v, *q));
  }
  if (p == "/inspect/alerts") return or_unavailable("alerts", alerts_page(site, v));
  if (p == "/inspect/stats") {
    auto page = stats_page(site, v, param(r, "town"));
    if (!page.is_ok() && page.status().code() == Code::kNotFound)
      return dashboard_message(404, "您的辖区没有这个镇", "No such town in your area.", "/inspect/stats", &v);
    return or_unavailable("stats", std::move(page));
  }
  return dashboard_message(404, "没有这个页面", "No such page.", "/inspect", &v);
}

}  // namespace sunledger::web
