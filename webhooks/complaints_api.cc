// /v1/complaints...: the discipline commission's view of complaints, with
// inspector bearer tokens scoped to a town or to the whole deployment.
// Officials' tokens get 403 on every route: they see counts only, in the
// monthly notice.
#include <algorithm>

#include "bot/outbox.h"
#include "ledger/csv_import.h"
#include "webhooks/internal.h"

namespace sunledger::http {

using nlohmann::json;

namespace {

struct InspectorScope {
  ApiPrincipal principal;
  std::vector<std::string> villages;
};

std::optional<InspectorScope> authorize_inspector(Bot& bot, const httplib::Request& req, httplib::Response& res) {
  std::string h = req.get_header_value("Authorization");
  if (h.rfind("Bearer ", 0) != 0) {
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "需要令牌 (a bearer token is required)");
    return std::nullopt;
  }
  auto p = bot.authenticate(h.substr(7));
  if (!p.is_ok()) {
    res.set_header("WWW-Authenticate", "Bearer");
    // Why (expired, revoked) only to whoever holds the token; a storage failure is not the token's fault.
    if (p.status().code() != Code::kPermissionDenied) send_error(res, p.status());
    else send_error(res, 401, p.status().message());
    return std::nullopt;
  }
  if (p->role != Role::kInspector) {
    send_error(res, 403, "只有纪检监察人员的令牌可以查看投诉 (only inspector tokens may read complaints)");
    return std::nullopt;
  }
  auto villages = bot.villages_in_area(p->area);
  if (!villages.is_ok()) {
    send_error(res, villages.status());
    return std::nullopt;
  }
  return InspectorScope{*p, *villages};
}

json complaint_json(const Complaint& c, const ComplaintDeadlines& d, int64_t now) {
  json events = json::array();
  for (const auto& e : c.events)
    events.push_back({{"kind", e.kind}, {"at", utc_timestamp(e.at)}, {"actor", e.actor}, {"note", e.note},
                      {"assignee", e.assignee}, {"log_index", e.log_index}});
  int64_t deadline = complaint_deadline(c, d);
  json reporter = nullptr;
  if (c.reporter) reporter = {{"bot", c.reporter->bot_id}, {"user", c.reporter->user_id}, {"name", c.reporter->name}};
  return {{"receipt", c.receipt},
          {"village", c.village},
          {"status", complaint_status_name(c.status)},
          {"text", c.text},
          {"links", c.links},
          {"anonymous", c.anonymous},
          {"reporter", reporter},
          {"filed_at", utc_timestamp(c.filed_at)},
          {"deadline", deadline ? json(utc_timestamp(deadline)) : json(nullptr)},
          {"overdue", complaint_overdue(c, d, now)},
          {"rating", c.rating},
          {"events", events}};
}

bool in_scope(const InspectorScope& s, const std::string& village) {
  return std::find(s.villages.begin(), s.villages.end(), village) != s.villages.end();
}

}  // namespace

// A route table (135 lines): one handler per route, the longest under 40
// lines, kept together so the API reads as one list.
void register_complaints_api(httplib::Server& server, Ledger& ledger, Bot& bot, std::function<void()> on_outbox_write) {
  auto list = [&](const httplib::Request& req, httplib::Response& res, const InspectorScope& scope)
      -> std::optional<std::vector<Complaint>> {
    ComplaintFilter f;
    f.villages = scope.villages;
    if (req.has_param("village")) {
      std::string v = req.get_param_value("village");
      if (!in_scope(scope, v)) {
        send_json(res, 200, {{"complaints", json::array()}});
        return std::nullopt;
      }
      f.villages = {v};
    }
    if (req.has_param("status")) {
      auto st = parse_complaint_status(req.get_param_value("status"));
      if (!st) {
        send_error(res, 400, "status 应为 received, assigned, investigating, resolved, rejected 或 reopened");
        return std::nullopt;
      }
      f.status = st;
    }
    if (req.has_param("overdue")) {
      std::string o = req.get_param_value("overdue");
      if (o != "true" && o != "false") {
        send_error(res, 400, "overdue 应为 true 或 false");
        return std::nullopt;
      }
      f.overdue_only = o == "true";
    }
    if (f.villages.empty()) return std::vector<Complaint>{};
    auto r = bot.complaints().list(f);
    if (!r.is_ok()) {
      send_error(res, r.status());
      return std::nullopt;
    }
    return *r;
  };

  server.Get("/v1/complaints/stats", [&](const httplib::Request& req, httplib::Response& res) {
    auto scope = authorize_inspector(bot, req, res);
    if (!scope) return;
    auto stats = bot.complaints().stats(scope->villages);
    if (!stats.is_ok()) return send_error(res, stats.status());
    json out = json::array();
    for (const auto& s : *stats)
      out.push_back({{"village", s.village}, {"received", s.received}, {"resolved", s.resolved}, {"rejected", s.rejected},
                     {"open", s.open}, {"overdue", s.overdue}, // Nothing to measure is null, never a 0 that reads as "resolved at once" or "nobody satisfied".
                     {"median_days_to_resolve", s.resolved ? json(s.median_days_to_resolve) : json(nullptr)},
                     // Only a resolved complaint can be reopened: before any, there is no rate.
                     {"reopen_rate", s.resolved || s.reopened ? json(static_cast<double>(s.reopened) / s.received) : json(nullptr)},
                     {"satisfaction_rate", s.rated ? json(static_cast<double>(s.satisfied) / s.rated) : json(nullptr)}});
    send_json(res, 200, {{"stats", out}});
  });

  server.Get("/v1/complaints.csv", [&, list](const httplib::Request& req, httplib::Response& res) {
    auto scope = authorize_inspector(bot, req, res);
    if (!scope) return;
    auto cs = list(req, res, *scope);
    if (!cs) return;
    std::string out = complaints_csv(*cs, bot.complaints().deadlines(), ledger.clock().now_unix_seconds());
    res.set_content(out, "text/csv; charset=utf-8");
  });

  // Pushes given up on (dead letters): which bot, to whom in kind (a group or a
  // person), how often tried and why, never the text nor the address.
  server.Get("/v1/outbox/dead", [&](const httplib::Request& req, httplib::Response& res) {
    auto scope = authorize_inspector(bot, req, res);
    if (!scope) return;
    auto dead = Outbox(&ledger).dead_letters();
    if (!dead.is_ok()) return send_error(res, dead.status());
    json out = json::array();
    for (const auto& d : *dead)
      out.push_back({{"id", d.id}, {"bot", d.bot_id}, {"audience", d.audience == Audience::kGroup ? "group" : "person"},
                     {"attempts", d.attempts}, {"reason", d.reason}, {"last_error", d.last_error},
                     {"created_at", utc_timestamp(d.created_at)}, {"dead_at", utc_timestamp(d.dead_at)}});
    auto pending = Outbox(&ledger).depth();
    if (!pending.is_ok()) return send_error(res, pending.status());
    send_json(res, 200, {{"pending", *pending}, {"dead_letters", out}});
  });

  // Monthly notices not yet sent to their groups (issue #15): with
  // `serve --witness-quorum K`, those waiting for the witnesses, and since
  // when. Public facts (the village and month were published); never the
  // text nor the group.
  server.Get("/v1/outbox/held", [&](const httplib::Request& req, httplib::Response& res) {
    auto scope = authorize_inspector(bot, req, res);
    if (!scope) return;
    auto held = Outbox(&ledger).held_notices();
    if (!held.is_ok()) return send_error(res, held.status());
    json out = json::array();
    for (const auto& m : *held)
      out.push_back({{"id", m.id}, {"bot", m.bot_id}, {"village", m.held_village}, {"month", m.held_month},
                     {"held_since", utc_timestamp(m.created_at)},
                     {"released_at", m.released_at ? json(utc_timestamp(m.released_at)) : json(nullptr)}});
    send_json(res, 200, {{"held_notices", out}});
  });

  server.Get("/v1/complaints", [&, list](const httplib::Request& req, httplib::Response& res) {
    auto scope = authorize_inspector(bot, req, res);
    if (!scope) return;
    auto cs = list(req, res, *scope);
    if (!cs) return;
    int64_t now = ledger.clock().now_unix_seconds();
    json out = json::array();
    for (const auto& c : *cs) out.push_back(complaint_json(c, bot.complaints().deadlines(), now));
    send_json(res, 200, {{"complaints", out}});
  });

  server.Get(R"(/v1/complaints/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    auto scope = authorize_inspector(bot, req, res);
    if (!scope) return;
    auto receipt = Complaints::normalise_receipt(req.matches[1]);
    auto c = receipt ? bot.complaints().get(*receipt) : Result<Complaint>(not_found(""));
    // Outside the inspector's area reads the same as unknown.
    if (!c.is_ok() || !in_scope(*scope, c->village)) return send_error(res, 404, "没有这个投诉 (no such complaint)");
    send_json(res, 200, complaint_json(*c, bot.complaints().deadlines(), ledger.clock().now_unix_seconds()));
  });

  server.Post(R"(/v1/complaints/([^/]+)/transitions)", [&, on_outbox_write](const httplib::Request& req, httplib::Response& res) {
    auto scope = authorize_inspector(bot, req, res);
    if (!scope) return;
    auto receipt = Complaints::normalise_receipt(req.matches[1]);
    auto current = receipt ? bot.complaints().get(*receipt) : Result<Complaint>(not_found(""));
    if (!current.is_ok() || !in_scope(*scope, current->village)) return send_error(res, 404, "没有这个投诉 (no such complaint)");
    auto body = parse_json_strict(req.body);
    if (!body.is_ok()) return send_error(res, 400, body.status().message());
    if (!body->is_object() || !body->contains("to") || !(*body)["to"].is_string())
      return send_error(res, 400, "应为 {\"to\",\"note\",\"assignee\"} (expected {\"to\",\"note\",\"assignee\"})");
    auto to = parse_complaint_status((*body)["to"].get<std::string>());
    if (!to || *to == ComplaintStatus::kReceived || *to == ComplaintStatus::kReopened)
      return send_error(res, 400, "to 应为 assigned, investigating, resolved 或 rejected");
    auto str = [&](const char* k) {
      auto it = body->find(k);
      return it != body->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string actor = "api:" + (scope->principal.label.empty() ? std::string("inspector") : scope->principal.label);
    auto c = bot.transition_complaint(*receipt, *to, str("note"), str("assignee"), actor);
    if (!c.is_ok()) return send_error(res, c.status());
    if (on_outbox_write) on_outbox_write();
    send_json(res, 200, complaint_json(*c, bot.complaints().deadlines(), ledger.clock().now_unix_seconds()));
  });
}

}  // namespace sunledger::http
