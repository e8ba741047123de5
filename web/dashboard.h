// Private to web/: the inspector's dashboard (/inspect). inspect.cc routes,
// signs in and out, checks the session and the CSRF token, and acts;
// inspect_pages.cc renders. Complaint texts and reporters appear on these
// pages only, never on a public one.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "web/pages.h"

namespace sunledger::web {

// Who is looking, and what they may see: the villages of their areas
// (Bot::villages_in_area, the rule of 待办 and /v1/complaints).
struct Viewer {
  DashboardUser user;
  std::vector<std::string> villages;
  std::string csrf;  // the token every form of this session carries
};

// The queue's filters, from the query (the JSON API's names and values).
struct QueueQuery {
  std::string village;  // "" all of the viewer's
  std::optional<ComplaintStatus> status;
  bool overdue = false;
};

// The sign-in page: with link_token, the button that uses the one-time link
// (a GET never uses it: chat apps open links to preview them); without, how
// to get a link and the API token form. message: a refusal to show first.
WebPage sign_in_page(int status, const std::string& link_token, const std::string& csrf, const std::string& message);
// A page that says one thing (a refusal, a missing page) and where to go.
WebPage dashboard_message(int status, const std::string& zh, const std::string& en, const std::string& back,
                          const Viewer* viewer = nullptr);

// The bar above every page of a session: where to go, who is signed in, sign-out.
Html nav(const Viewer& v);

Result<WebPage> queue_page(Site& site, const Viewer& viewer, const QueueQuery& query);
// message: what the last action did, or why it was refused (shown above the form).
Result<WebPage> complaint_page(Site& site, const Viewer& viewer, const Complaint& c, int status,
                               const std::string& message, bool error);
// only_town: that town alone, with a chart per village ("" every town; the
// villages' charts then only when the area is one town). kNotFound for a
// town outside the area.
Result<WebPage> stats_page(Site& site, const Viewer& viewer, const std::string& only_town);
// The alerts of the area's villages, each published month's as its month
// page shows them: those its statement signed, then those raised since, dated
// (web/inspect_alerts.cc).
Result<WebPage> alerts_page(Site& site, const Viewer& viewer);
// The complaints of the query as the JSON API's CSV, with a BOM for spreadsheets.
Result<WebPage> queue_csv(Site& site, const Viewer& viewer, const QueueQuery& query);

// GET and POST of /inspect and the paths under it; nullopt for any other.
// on_outbox_write (may be null) is told after a transition queued a push.
std::optional<WebPage> dashboard(Site& site, const WebRequest& request, const std::function<void()>& on_outbox_write);

// The viewer's complaints matching the query, overdue first.
Result<std::vector<Complaint>> queue_list(Site& site, const Viewer& viewer, const QueueQuery& query);

}  // namespace sunledger::web
