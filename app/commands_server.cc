// Commands that run the bot: ask (one message), serve and demo.
#include "app/commands.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/args.h"
#include "app/data_folder.h"
#include "demo/demo.h"
#include "bot/bot.h"
#include "ledger/crypto.h"
#include "ledger/csv_import.h"
#include "ledger/merkle.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"
#include "webhooks/ephemeral_sender.h"
#include "webhooks/http_client.h"
#include "webhooks/http_server.h"
#include "webhooks/outbox_sender.h"
#include "app/serve.h"

namespace sunledger::cli {

using nlohmann::json;

void add_server_commands(std::vector<Command>& c) {
  c.push_back({"ask", "ask --bot BOT --chat CHAT --user USER [--private] [--message-id ID] TEXT",
               "Sends one chat message to the bot, as a platform would, and prints the reply (and any pushes).\n"
               "For trying commands and for scripts; writes are real. Use a newline in TEXT for multi-line commands.",
               {"bot", "chat", "user", "message-id"}, {"private"},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "chat", "user"}); !m.empty()) return usage_error("ask", "missing " + m);
                 if (a.positional().empty()) return usage_error("ask", "missing the message text");
                 std::string text;
                 for (const auto& p : a.positional()) text += (text.empty() ? "" : " ") + p;
                 // As serve does: nothing is answered from, or signed on top of, a ledger that
                 // fails verification (the server alerts the inspectors; ask does not repeat it).
                 check_integrity(d, "before ask", false);
                 InboundMessage m{a.get("bot"), a.get("chat"), !a.has("private"), a.get("user"), a.get("user"), text,
                                  a.get("message-id"), d.clock.now_unix_seconds()};
                 auto r = d.bot->handle(m);
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << r->text;
                 for (const auto& p : r->pushes) std::cout << "\n[push to " << p.bot_id << "/" << p.chat_id << "]\n" << p.text;
                 return kExitOk;
               },
               true, true});
  c.push_back({"serve", "serve [--listen HOST:PORT] [--config bots.json] [--rate-limit N] [--assign-days 5] [--resolve-days 60] [--skip-verify]",
               "Serves the chat webhooks (/webhooks/{bot-id}), the HTTP API, /healthz and /metrics (default\n"
               "127.0.0.1:8080) and delivers the outbox, until SIGTERM. The bots come from --config, else from\n"
               "bots.json in the data folder if there is one. --rate-limit: chat commands one sender may send a\n"
               "minute (default 20; 0 turns the limit off, for load tests). --assign-days and --resolve-days set this\n"
               "deployment's complaint deadlines (defaults 5 and 60 days). Before listening, and every hour, it\n"
               "verifies the whole ledger; a ledger that fails is served read-only with a warning on every answer,\n"
               "/healthz answers 503 and the inspectors are told. --skip-verify skips the check at start (an\n"
               "emergency only). One serve per data folder: a second one refuses, naming the first one's pid.",
               {"listen", "config", "rate-limit", "assign-days", "resolve-days"}, {"skip-verify"},
               [](Deployment& d, const Args& a) {
                 return serve(d, a.get("listen", "127.0.0.1:8080"), a.get("config"), a.has("skip-verify"));
               }});
  c.push_back({"demo", "demo [--listen HOST:PORT] [--no-serve]",
               "Creates the data folder if needed, loads the Lukou district demo data (the Shuangjiang case among\n"
               "it) unless already loaded, then serves like `sunledger serve`.",
               {"listen"}, {"no-serve"},
               [](Deployment& d, const Args& a) {
                 if (!std::filesystem::exists(d.db_path())) {
                   if (Status s = initialize(d, "sunledger.example/lukou", kChinaStandardTimeOffsetMinutes); !s.is_ok())
                     return fail(s);
                 }
                 if (Status s = d.open(); !s.is_ok()) return fail(s);
                 DemoTime demo_time{[&d](int64_t t) { d.clock.fixed = t; }, [&d] { d.clock.fixed.reset(); }};
                 auto loaded = load_demo_data(*d.ledger, *d.bot, d.salt, demo_time);
                 if (!loaded.is_ok()) return fail(loaded.status());
                 std::cerr << (*loaded ? "sunledger: demo data loaded into " : "sunledger: demo data already present in ")
                           << d.dir << "\n";
                 if (!std::filesystem::exists(d.bots_path())) {
                   // The demo's generic bot, with a fresh secret for signing test requests.
                   std::string secret = "whsec_" + base64_encode(random_bytes(24));
                   nlohmann::json cfg = {{"bots", {{{"id", kDemoBotId}, {"platform", "generic"}, {"secret", secret}}}}};
                   if (Status s = write_private_file(d.bots_path(), cfg.dump(2) + "\n"); !s.is_ok()) return fail(s);
                   std::cerr << "sunledger: wrote " << d.bots_path() << " (the generic webhook's secret is in it)\n";
                 }
                 if (a.has("no-serve")) return kExitOk;
                 return serve(d, a.get("listen", "127.0.0.1:8080"), "");
               },
               false});
}

}  // namespace sunledger::cli
