// POST /v1/villages/{id}/...: the township accounting station's software
// posting a village's books with an official's bearer token. The logic is the
// bot's and the ledger's, shared with the chat commands.
#include <string>
#include <utility>

#include "ledger/csv_import.h"
#include "webhooks/internal.h"

namespace sunledger::http {

using nlohmann::json;

namespace {

std::optional<std::string> bearer_token(const httplib::Request& req) {
  std::string h = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (h.size() <= prefix.size() || h.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return h.substr(prefix.size());
}

// Checks the token and that it may write to this village. Answers the
// request itself (401/403) and returns nullopt when it may not.
std::optional<ApiPrincipal> authorize_official(Bot& bot, const httplib::Request& req, httplib::Response& res,
                                               const std::string& village) {
  auto token = bearer_token(req);
  if (!token) {
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "需要令牌 (a bearer token is required)");
    return std::nullopt;
  }
  auto p = bot.authenticate(*token);
  if (!p.is_ok()) {
    res.set_header("WWW-Authenticate", "Bearer");
    // Why (expired, revoked) only to whoever holds the token; a storage failure is not the token's fault.
    if (p.status().code() != Code::kPermissionDenied) send_error(res, p.status());
    else send_error(res, 401, p.status().message());
    return std::nullopt;
  }
  if (p->role != Role::kOfficial || p->village != village) {
    send_error(res, 403, "此令牌不能写入这个村的账目 (this token may not write to this village)");
    return std::nullopt;
  }
  return *p;
}

// Splits the ledger's "第N行: reason" lines back into structured row errors.
json row_errors(const std::string& message) {
  json errors = json::array();
  size_t start = 0;
  while (start < message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(start, end - start);
    start = end + 1;
    int number = 0;
    const std::string di = "第", hang = "行: ";
    size_t h = line.find(hang);
    if (line.rfind(di, 0) == 0 && h != std::string::npos) {
      try {
        number = std::stoi(line.substr(di.size(), h - di.size()));
        line = line.substr(h + hang.size());
      } catch (...) {
        number = 0;
      }
    }
    errors.push_back({{"line", number}, {"reason", line}});
  }
  return errors;
}

Author api_author(const ApiPrincipal& p) { return Author{p.label.empty() ? "api" : "api:" + p.label, "official", "http"}; }

std::string field(const json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return "\x01";  // neither: reported as invalid by the validators
}

EntriesImport parse_entries_json(const json& rows) {
  EntriesImport out;
  if (!rows.is_array() || rows.empty()) {
    out.errors.push_back({1, "应为非空的 JSON 数组 (expected a non-empty JSON array of entries)"});
    return out;
  }
  if (rows.size() > 10'000) {
    out.errors.push_back({1, "一次最多10000行 (at most 10,000 entries per request)"});
    return out;
  }
  int n = 0;
  for (const auto& row : rows) {
    ++n;
    if (!row.is_object()) {
      out.errors.push_back({n, "每一项应为对象 (each entry must be an object)"});
      continue;
    }
    TransactionLine t;
    t.source_line = n;
    t.date = field(row, "date");
    // The types of the CSV's type column, corrections included (issue #16).
    std::string type = field(row, "type");
    if (type == "income" || type == "收入") t.income = true;
    else if (type == "expense" || type == "支出") t.income = false;
    else if (type == "opening" || type == "期初余额") t.kind = kOpeningBalanceKind;
    else if (type == "transfer" || type == "转账") t.kind = kTransferKind;
    else if (type == "return" || type == "退回") t.kind = kSpecialReturnKind;
    else {
      out.errors.push_back({n, "type 应为 收入、支出、期初余额、转账 或 退回 (type must be income, expense, opening, "
                               "transfer or return)"});
      continue;
    }
    auto amount = parse_amount(field(row, "amount"));
    if (!amount.is_ok()) {
      out.errors.push_back({n, amount.status().message()});
      continue;
    }
    t.amount = *amount;
    t.category = field(row, "category");
    t.item = field(row, "item");
    t.project = field(row, "project");
    t.fund = field(row, "fund");
    t.counterparty = field(row, "counterparty");
    t.note = field(row, "note");
    // A transfer's fund is the one it leaves; the one it goes to is to_fund,
    // or counterparty as in the CSV's 对方 column.
    if (t.kind == kTransferKind) {
      t.to_fund = field(row, "to_fund");
      if (t.to_fund.empty()) t.to_fund = std::exchange(t.counterparty, "");
    }
    auto repeat = row.find("repeat");
    if (repeat != row.end() && !repeat->is_null()) {
      std::string r = field(row, "repeat");
      if ((repeat->is_boolean() && repeat->get<bool>()) || r == "确认" || r == "是" || r == "yes" || r == "confirm") {
        t.repeat = true;
      } else if (!(repeat->is_boolean() || r.empty())) {
        out.errors.push_back({n, "repeat 只能是 true 或“确认” (repeat is true or 确认)"});
        continue;
      }
    }
    // A correction names no category, and may name no item: its kind is both.
    if (!t.kind.empty() && t.category.empty()) t.category = correction_kind_zh(t.kind);
    if (!t.kind.empty() && t.item.empty()) t.item = t.category;
    if (Status s = validate_transaction(t); !s.is_ok()) {
      out.errors.push_back({n, s.message()});
      continue;
    }
    out.lines.push_back(std::move(t));
  }
  return out;
}

}  // namespace

// A route table (72 lines): one short handler per route, kept together so the
// write API reads as one list.
void register_write_api(httplib::Server& server, Ledger& ledger, Bot& bot) {
  server.Post(R"(/v1/villages/([^/]+)/entries)", [&](const httplib::Request& req, httplib::Response& res) {
    std::string village = req.matches[1];
    auto p = authorize_official(bot, req, res, village);
    if (!p) return;
    EntriesImport parsed;
    std::string type = req.get_header_value("Content-Type");
    if (type.rfind("application/json", 0) == 0) {
      auto j = parse_json_strict(req.body);
      if (!j.is_ok()) return send_error(res, 400, j.status().message());
      parsed = parse_entries_json(*j);
    } else if (type.rfind("text/csv", 0) == 0) {
      parsed = parse_entries_csv(req.body);
    } else {
      return send_error(res, 415, "请用 text/csv 或 application/json (send text/csv or application/json)");
    }
    if (!parsed.errors.empty()) {
      json errors = json::array();
      for (const auto& e : parsed.errors) errors.push_back({{"line", e.line}, {"reason", e.reason}});
      return send_json(res, 400, {{"error", "没有写入任何记录 (nothing was written)"}, {"errors", errors}});
    }
    auto r = bot.post_entries(village, parsed.lines, api_author(*p));
    if (!r.is_ok()) {
      if (r.status().code() == Code::kInvalidArgument || r.status().code() == Code::kFailedPrecondition)
        return send_json(res, status_for(r.status().code()),
                         {{"error", "没有写入任何记录 (nothing was written)"}, {"code", code_name(r.status().code())},
                          {"errors", row_errors(r.status().message())}});
      return send_error(res, r.status());
    }
    send_json(res, 200, {{"indexes", r->indexes}, {"checkpoint", r->checkpoint}});
  });

  server.Post(R"(/v1/villages/([^/]+)/projects)", [&](const httplib::Request& req, httplib::Response& res) {
    std::string village = req.matches[1];
    auto p = authorize_official(bot, req, res, village);
    if (!p) return;
    auto j = parse_json_strict(req.body);
    if (!j.is_ok()) return send_error(res, 400, j.status().message());
    if (!j->is_object()) return send_error(res, 400, "应为 JSON 对象 {\"name\",\"approved\",\"special\"} (expected a JSON object)");
    auto approved = parse_amount(field(*j, "approved"));
    if (!approved.is_ok()) return send_error(res, approved.status());
    auto special = j->find("special");
    if (special != j->end() && !special->is_boolean()) return send_error(res, 400, "special 应为 true 或 false (special must be a boolean)");
    ProjectRegistration project{field(*j, "name"), *approved, special != j->end() && special->get<bool>()};
    auto r = bot.register_project(village, project, api_author(*p));
    if (!r.is_ok()) return send_error(res, r.status());
    send_json(res, 200, {{"index", r->indexes[0]}, {"checkpoint", r->checkpoint}});
  });

  server.Post(R"(/v1/villages/([^/]+)/months/([^/]+)/publish)", [&](const httplib::Request& req, httplib::Response& res) {
    std::string village = req.matches[1];
    auto p = authorize_official(bot, req, res, village);
    if (!p) return;
    std::string month = req.matches[2];
    auto r = bot.publish(village, month, api_author(*p));
    if (!r.is_ok()) {
      // Months close in order: a month after the one that must close first
      // gets its own code and names that month, for the caller to act on.
      if (r.status().code() == Code::kFailedPrecondition)
        if (auto next = ledger.month_to_close(village); next.is_ok() && *next && month > **next)
          return send_json(res, 409, {{"error", r.status().message()}, {"code", "month_out_of_order"},
                                      {"month_to_close", **next}});
      return send_error(res, r.status());
    }
    json unreachable = json::array();
    for (const auto& u : r->groups_unreachable)
      unreachable.push_back({{"bot", u.bot_id}, {"groups", u.groups}, {"problem", u.problem}});
    send_json(res, 200, {{"month", r->close.month}, {"statement", r->close.statement},
                         {"statement_index", r->close.statement_index}, {"checkpoint", r->close.checkpoint},
                         {"groups_notified", r->groups_notified}, {"groups_unreachable", unreachable},
                         // serve --witness-quorum K: the notice waits for K witnesses' cosignatures (0: sent at once).
                         {"waiting_for_witnesses", r->waiting_for_witnesses}, {"notice", r->notice}});
  });
}

}  // namespace sunledger::http
