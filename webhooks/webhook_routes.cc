// /webhooks/{bot-id}: every platform's callback, through its adapter, to the
// bot and back.
#include <cstdio>

#include "webhooks/adapter.h"
#include "webhooks/http_edge.h"
#include "webhooks/internal.h"
#include "webhooks/platform_crypto.h"

namespace sunledger::http {

namespace {

// httplib turns '+' into a space in query values; WeCom's echostr is base64
// and its '+' must survive, so the raw target is parsed here.
std::map<std::string, std::string> raw_query(const std::string& target) {
  std::map<std::string, std::string> out;
  size_t q = target.find('?');
  if (q == std::string::npos) return out;
  std::string s = target.substr(q + 1);
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('&', start);
    if (end == std::string::npos) end = s.size();
    std::string pair = s.substr(start, end - start);
    size_t eq = pair.find('=');
    if (!pair.empty())
      out[platform::url_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : platform::url_decode(pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

void send(httplib::Response& res, const WebhookResponse& w) {
  res.status = w.status;
  res.set_content(w.body, w.content_type.c_str());
}

// decode() returns errors as values; should a library still throw on some
// body nobody foresaw (a type error deep in nlohmann/json), it is a malformed
// body and answered 400, not a 500 that invites the platform to retry it.
// The fuzzer calls decode() directly, so such a throw is still found there.
Result<DecodedWebhook> decode_guarded(PlatformAdapter& adapter, const WebhookRequest& w, int64_t now) {
  try {
    return adapter.decode(w, now);
  } catch (const std::exception& e) {
    return invalid_argument(std::string("decode threw: ") + e.what());
  }
}

}  // namespace

void register_webhooks(httplib::Server& server, Ledger& ledger, Bot& bot, const WebhookWiring& wiring) {
  auto handler = [&ledger, &bot, wiring](const httplib::Request& req, httplib::Response& res) {
    std::string id = req.matches[1];
    auto it = wiring.adapters.find(id);
    if (it == wiring.adapters.end()) return send_error(res, 404, "没有这个机器人 (no such bot)");
    PlatformAdapter& adapter = *it->second;
    WebhookRequest w;
    w.method = req.method;
    w.query = raw_query(req.target);
    // Found in the edge's index of the head, not httplib's map (issue #18).
    w.header = [&req](const std::string& name) { return EdgeServer::header_value(req, name); };
    w.body = req.body;
    int64_t now = ledger.clock().now_unix_seconds();
    auto decoded = decode_guarded(adapter, w, now);
    if (!decoded.is_ok()) {
      // No detail for the caller; the reason goes to the log (never secrets or
      // text). It may quote what the client sent (a field name, an event
      // type): control characters are escaped so it cannot forge log lines.
      std::fprintf(stderr, "sunledger: webhook %s rejected: %s\n", id.c_str(),
                   log_safe(decoded.status().message()).c_str());
      if (decoded.status().code() == Code::kPermissionDenied) return send_error(res, 401, "unauthorized");
      return send_error(res, 400, "bad request");
    }
    if (decoded->kind != DecodedWebhook::Kind::kMessage) return send(res, decoded->response);
    auto reply = bot.handle(decoded->message);
    if (!reply.is_ok()) {
      std::fprintf(stderr, "sunledger: webhook %s: %s\n", id.c_str(), log_safe(reply.status().to_string()).c_str());
      // The same message id from another chat or sender: no stored reply for it.
      if (reply.status().code() == Code::kAlreadyExists) return send_error(res, 409, "消息编号重复 (message id already used)");
      // 503 makes the platform deliver again later; the dedupe record keeps that safe.
      return send_error(res, reply.status().code() == Code::kUnavailable ? 503 : 500, "暂时无法处理,请稍后再试 (try again later)");
    }
    // A group id is no secret and the administrator needs it to bind the group.
    if (reply->unbound_group)
      std::fprintf(stderr,
                   "sunledger: webhook %s: message from a group bound to no village, chat id %s; bind it with: "
                   "%s group bind --village VILLAGE_ID --bot %s --chat %s\n",
                   id.c_str(), log_safe(decoded->message.chat_id).c_str(), log_safe(wiring.cli).c_str(), id.c_str(),
                   log_safe(decoded->message.chat_id).c_str());
    std::optional<Push> active;
    WebhookResponse out = adapter.encode_reply(*decoded, reply->text, now, &active);
    if (active && reply->ephemeral) {
      // An anonymous receipt never goes near the database: delivered once, from memory.
      if (wiring.send_ephemeral) wiring.send_ephemeral(&adapter, *active);
      else std::fprintf(stderr, "sunledger: webhook %s: a reply that is never stored had no way out\n", id.c_str());
      active.reset();
    }
    if (active) {
      Status s = ledger.write([&](WriteTxn& txn) { return Outbox::enqueue(txn, *active); });
      if (!s.is_ok()) std::fprintf(stderr, "sunledger: webhook %s: reply not queued: %s\n", id.c_str(), s.to_string().c_str());
    }
    if ((active || !reply->pushes.empty()) && wiring.on_outbox_write) wiring.on_outbox_write();
    send(res, out);
  };
  server.Post(R"(/webhooks/([^/]+))", handler);
  server.Get(R"(/webhooks/([^/]+))", handler);
}

}  // namespace sunledger::http
