// GET /v1/...: what anyone may read to check the village books themselves.
#include <algorithm>

#include "ledger/crypto.h"
#include "ledger/merkle.h"
#include "webhooks/internal.h"

namespace sunledger::http {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxEntriesPerPage = 1000;

json entry_json(const Entry& e) {
  json j = e.fields.is_object() ? e.fields : json::object();
  j["index"] = e.index;
  j["leaf"] = base64_encode(e.leaf);
  return j;
}

json hashes_json(const std::vector<Hash>& hashes) {
  json a = json::array();
  for (const auto& h : hashes) a.push_back(base64_encode(h));
  return a;
}

// Reads a required or defaulted numeric query parameter.
bool query_number(const httplib::Request& req, httplib::Response& res, const char* name,
                  std::optional<uint64_t> fallback, uint64_t* out) {
  if (!req.has_param(name)) {
    if (fallback) {
      *out = *fallback;
      return true;
    }
    send_error(res, 400, std::string("缺少参数 ") + name + " (missing query parameter " + name + ")");
    return false;
  }
  auto v = parse_uint(req.get_param_value(name));
  if (!v) {
    send_error(res, 400, std::string("参数 ") + name + " 应为非负整数 (" + name + " must be a non-negative integer)");
    return false;
  }
  *out = *v;
  return true;
}

}  // namespace

// A route table (98 lines): one short handler per route, each under 30
// lines, kept together so the API reads as one list.
void register_read_api(httplib::Server& server, Ledger& ledger, Bot* bot) {
  server.Get("/v1/key", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(ledger.verifier_key() + "\n", "text/plain; charset=utf-8");
  });

  server.Get("/v1/villages", [&](const httplib::Request&, httplib::Response& res) {
    auto vs = ledger.villages();
    if (!vs.is_ok()) return send_error(res, vs.status());
    json out = json::array();
    for (const auto& v : *vs) {
      auto size = ledger.log_size(v.id);
      out.push_back({{"id", v.id}, {"name", v.name}, {"town", v.town}, {"size", size.is_ok() ? *size : 0}});
    }
    send_json(res, 200, {{"villages", out}});
  });

  server.Get(R"(/v1/villages/([^/]+)/checkpoint)", [&](const httplib::Request& req, httplib::Response& res) {
    auto v = ledger.village(req.matches[1]);
    if (!v.is_ok()) return send_error(res, v.status());
    auto cp = ledger.checkpoint(v->id);
    if (!cp.is_ok()) return send_error(res, cp.status());
    res.set_content(*cp, "text/plain; charset=utf-8");
  });

  server.Get(R"(/v1/villages/([^/]+)/entries)", [&](const httplib::Request& req, httplib::Response& res) {
    auto v = ledger.village(req.matches[1]);
    if (!v.is_ok()) return send_error(res, v.status());
    auto size = ledger.log_size(v->id);
    if (!size.is_ok()) return send_error(res, size.status());
    uint64_t from = 0, to = 0;
    if (!query_number(req, res, "from", 0, &from)) return;
    if (!query_number(req, res, "to", std::min(*size, from + kMaxEntriesPerPage), &to)) return;
    // As Certificate Transparency's get-entries: a `to` beyond the log gives
    // what exists (the answer's `to` and `size` say how far that is).
    // A `from` past the end is named as such first (with `to` left out, it
    // used to read "from 100 is after to 4", a `to` nobody gave).
    if (from > *size)
      return send_error(res, 400, "范围超出账本:本村账本共" + std::to_string(*size) + "条,from 最大为" + std::to_string(*size) +
                                      " (from " + std::to_string(from) + " is beyond the log of size " +
                                      std::to_string(*size) + "; entries are numbered from 0)");
    if (from > to)
      return send_error(res, 400, "范围无效:from 大于 to (from " + std::to_string(from) + " is after to " + std::to_string(to) + ")");
    to = std::min(to, *size);
    to = std::min(to, from + kMaxEntriesPerPage);
    auto entries = ledger.entries(v->id, from, to);
    if (!entries.is_ok()) return send_error(res, entries.status());
    json list = json::array();
    for (const auto& e : *entries) list.push_back(entry_json(e));
    json out = {{"village", v->id}, {"from", from}, {"to", to}, {"size", *size}, {"entries", list}};
    if (to < *size) out["next"] = to;
    send_json(res, 200, out);
  });

  server.Get(R"(/v1/villages/([^/]+)/proof/inclusion)", [&](const httplib::Request& req, httplib::Response& res) {
    auto v = ledger.village(req.matches[1]);
    if (!v.is_ok()) return send_error(res, v.status());
    uint64_t index = 0, size = 0;
    if (!query_number(req, res, "index", std::nullopt, &index) || !query_number(req, res, "size", std::nullopt, &size))
      return;
    auto proof = ledger.inclusion_proof(v->id, index, size);
    if (!proof.is_ok()) return send_error(res, proof.status());
    auto root = ledger.root(v->id, size);
    auto entry = ledger.entries(v->id, index, index + 1);
    if (!root.is_ok() || !entry.is_ok() || entry->empty()) return send_error(res, internal_error("proof lookup failed"));
    send_json(res, 200, {{"village", v->id}, {"index", index}, {"tree_size", size},
                         {"leaf_hash", base64_encode(merkle_leaf_hash((*entry)[0].leaf))},
                         {"root", base64_encode(*root)}, {"proof", hashes_json(*proof)}});
  });

  server.Get(R"(/v1/villages/([^/]+)/proof/consistency)", [&](const httplib::Request& req, httplib::Response& res) {
    auto v = ledger.village(req.matches[1]);
    if (!v.is_ok()) return send_error(res, v.status());
    uint64_t from = 0, to = 0;
    if (!query_number(req, res, "from", std::nullopt, &from) || !query_number(req, res, "to", std::nullopt, &to)) return;
    auto proof = ledger.consistency_proof(v->id, from, to);
    if (!proof.is_ok()) return send_error(res, proof.status());
    auto r1 = ledger.root(v->id, from), r2 = ledger.root(v->id, to);
    if (!r1.is_ok() || !r2.is_ok()) return send_error(res, internal_error("root lookup failed"));
    send_json(res, 200, {{"village", v->id}, {"from", from}, {"to", to}, {"root_from", base64_encode(*r1)},
                         {"root_to", base64_encode(*r2)}, {"proof", hashes_json(*proof)}});
  });

  server.Get(R"(/v1/villages/([^/]+)/months/([^/]+))", [&ledger, bot](const httplib::Request& req, httplib::Response& res) {
    auto v = ledger.village(req.matches[1]);
    if (!v.is_ok()) return send_error(res, v.status());
    std::string month = req.matches[2];
    if (!valid_month(month)) return send_error(res, 400, "月份格式应为 2022-11 (month must be YYYY-MM)");
    auto mc = ledger.month_close(v->id, month);
    if (!mc.is_ok()) {
      if (mc.status().code() == Code::kFailedPrecondition) return send_error(res, 404, mc.status().message());
      return send_error(res, mc.status());
    }
    auto entries = ledger.month_entries(v->id, month);
    if (!entries.is_ok()) return send_error(res, entries.status());
    json lines = json::array();
    for (const auto& e : **entries)
      if (e.index != mc->statement_index) lines.push_back(entry_json(e));
    json out{{"village", v->id}, {"month", month}, {"statement", mc->statement},
             {"statement_index", mc->statement_index}, {"tree_size", mc->tree_size},
             {"checkpoint", mc->checkpoint}, {"lines", lines}};
    // The statement's own "alerts" are what it recorded when it was signed;
    // alerts about the month raised since are listed apart, dated (issue #16).
    if (bot != nullptr && mc->statement.contains("alerts")) {
      auto alerts = bot->month_alerts(v->id, month);
      if (!alerts.is_ok()) return send_error(res, alerts.status());
      json later = json::array();
      for (const auto& f : alerts->later) {
        json a{{"kind", flag_kind_name(f.kind)}, {"month", f.month}, {"text", f.text}, {"date", f.raised_on},
               {"raised_by", f.raised_by}};
        if (f.entry) a["entry"] = *f.entry;
        later.push_back(std::move(a));
      }
      out["alerts_after_publication"] = std::move(later);
    }
    send_json(res, 200, out);
  });
}

}  // namespace sunledger::http
