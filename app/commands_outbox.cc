// The outbox for its operator: `outbox dead` lists the pushes given up on
// (as GET /v1/outbox/dead does for inspectors, never a text or an address),
// and `outbox retry ID` puts one back in the queue, e.g. after the chat
// platform was down for a day. A running serve's sender reads the queue at
// every pass (OutboxSenderOptions::poll_interval_ms), so the retried push goes
// out within a moment beside it; on a folder no serve runs on, at its next start.
#include <iostream>

#include "app/commands.h"
#include "bot/bot.h"
#include "bot/outbox.h"
#include "webhooks/http_server.h"

namespace sunledger::cli {

namespace {

int list_dead(Deployment& d) {
  Outbox outbox(d.ledger.get());
  auto letters = outbox.dead_letters();
  if (!letters.is_ok()) return fail(letters.status());
  if (letters->empty()) {
    std::cout << "没有放弃投递的推送 (no dead letters)\n";
    return kExitOk;
  }
  std::cout << "id\tbot\taudience\treason\tattempts\tdead since\tlast error\n";
  for (const auto& l : *letters)
    std::cout << l.id << "\t" << log_safe(l.bot_id) << "\t" << (l.audience == Audience::kGroup ? "group" : "person")
              << "\t" << l.reason << "\t" << l.attempts << "\t" << local_time(d, l.dead_at) << "\t"
              << log_safe(l.last_error) << "\n";
  return kExitOk;
}

int retry(Deployment& d, const Args& a) {
  int64_t id = std::stoll(a.positional()[0]);
  std::string by = a.has("by") ? a.get("by") : cli_author().id;
  Status s = Outbox(d.ledger.get()).revive(id, d.clock.now_unix_seconds(), by);
  if (!s.is_ok()) {
    std::cerr << "sunledger outbox retry: 未重新排队 (not queued again): " << s.message() << "\n";
    return kExitFailure;
  }
  std::cout << "推送 " << id << " 已重新排队,将再次投递 (push " << id
            << " is queued again, attempts from zero; a running serve sends it within a moment, otherwise serve's "
               "next start does)\n";
  return kExitOk;
}

}  // namespace

void add_outbox_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "outbox dead",
      .synopsis = "outbox dead",
      .help = "Lists the pushes given up on (dead letters), newest first: id, bot, audience, why (attempts,\n"
              "configuration or tampered), attempts, since when and the last error; never a text or an address.",
      .examples = {"outbox dead"},
      .run = [](Deployment& d, const Args&) { return list_dead(d); }});
  c.push_back({
      .name = "outbox retry",
      .synopsis = "outbox retry ID [--by USER]",
      .help = "Puts dead letter ID back in the queue (attempts from zero, due now), e.g. once the chat platform\n"
              "that refused it is back; recorded in the signed deliveries log (\"revived\", with USER, default the\n"
              "login name). A tampered dead letter is refused: its signature does not match, it is never sent.\n"
              "An id that is not a dead letter (queued, delivered, unknown) changes nothing and exits 1.",
      .examples = {"outbox retry 42 --by county-operator"},
      .values = {"by"},
      .check = [](const Args& a) -> std::string {
        if (a.positional().size() != 1) return "needs one dead letter's id (see `sunledger outbox dead`)";
        const std::string& id = a.positional()[0];
        if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
          return "the id must be a number (see `sunledger outbox dead`)";
        return "";
      },
      // The deliveries log it appends to verifies first, as every CLI write's log.
      .extends = [](const Args&) -> std::string { return "deliveries"; },
      .run = retry,
      .takes_text = true});
  c.push_back({
      .name = "outbox clear-refused",
      .synopsis = "outbox clear-refused --entry N --by WHO --reason TEXT",
      .help = "Clears a record the deliveries log refused (admin log entry N, \"deliveries_record_refused\", which\n"
              "verify names until then), once the inspectors have looked: who (WHO, as you name them) and why\n"
              "are recorded in the signed admin log. Another entry changes nothing and exits 1.",
      .examples = {"outbox clear-refused --entry 12 --by jjw-li --reason 'the size edit was undone; push 7 checked'"},
      .values = {"entry", "by", "reason"},
      .required = {"entry", "by", "reason"},
      .check = [](const Args& a) -> std::string {
        const std::string& n = a.get("entry");
        if (n.empty() || n.size() > 18 || n.find_first_not_of("0123456789") != std::string::npos)
          return "--entry must be an admin log entry's number (as verify names it)";
        return "";
      },
      .extends = [](const Args&) { return std::string(DirectoryStore::kLogName); },
      .run = [](Deployment& d, const Args& a) {
        if (Status s = d.bot->clear_refused_record(std::stoull(a.get("entry")), a.get("by"), a.get("reason"),
                                                   cli_author());
            !s.is_ok())
          return fail(s);
        std::cout << "cleared: admin log entry " << a.get("entry") << "; recorded in the admin log\n";
        return kExitOk;
      }});
}

}  // namespace sunledger::cli
