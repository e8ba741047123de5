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

namespace {

// Whether a data folder may hold the demo: new, empty, or holding the demo
// already. A folder with anything else in it is somebody's data.
Status demo_folder_problem(Deployment& d) {
  if (!std::filesystem::exists(d.dir)) return Status::ok();
  if (d.is_demo()) return Status::ok();
  // Empty but for the lock files any command leaves (in-use.lock, which
  // this command holds, and serve.lock).
  std::error_code ec;
  bool empty = true;
  for (const auto& f : std::filesystem::directory_iterator(d.dir, ec)) {
    std::string name = f.path().filename().string();
    if (name != "in-use.lock" && name != "serve.lock") empty = false;
  }
  if (!ec && empty) return Status::ok();
  if (d.database_exists()) {
    // A demo folder made before the marker existed: the demo's origin and villages.
    auto origin = Ledger::stored_origin(d.db_path());
    if (origin.is_ok() && *origin == kDemoOrigin) {
      if (Status s = d.open(); s.is_ok() && d.ledger->village("shuangjiang").is_ok() && d.ledger->village("longchuan").is_ok())
        return write_private_file(d.demo_marker_path(), kDemoMarkerText);
    }
  }
  return failed_precondition("数据目录 " + d.dir + " 里已有不是演示的数据,演示不会写入它。(the data folder " + d.dir +
                             " holds data that is not the demo's: the demo never writes into it; use "
                             "`sunledger --data ./demo-data demo`)");
}

// What a newcomer needs to talk to the demo: the bot, the chats, who is who.
// Without a server (--no-serve) there is no "running demo" and no push below.
std::string demo_guide(Deployment& d, bool serving) {
  std::ostringstream out;
  out << "\n演示数据 (demo data) in " << d.dir << ":\n"
      << "  bot: " << kDemoBotId << " (platform generic; its secret is in " << d.bots_path() << ")\n"
      << "  village groups (chat ids):\n";
  if (auto groups = d.bot->list_groups(); groups.is_ok())
    for (const auto& g : *groups) {
      auto v = d.ledger->village(g.village);
      out << "    " << g.chat_id << "\t" << (v.is_ok() ? v->name : g.village) << " (village " << g.village << ")\n";
    }
  out << "  officials and inspectors (user ids):\n";
  if (auto members = d.bot->list_members(kDemoBotId); members.is_ok())
    for (const auto& m : *members)
      out << "    " << m.user_id << "\t" << role_name(m.role) << " of "
          << (m.role == Role::kOfficial ? m.village : m.area) << "\n";
  out << "  villagers: any other user id, in a village group (e.g. shuangjiang-villager-li)\n"
      << (serving ? "Try (in another terminal, beside the running demo):\n" : "Try:\n")
      << "  sunledger " << data_option(d.dir) << " ask --bot generic --chat shuangjiang-group --user villager-1 账目\n"
      << "  sunledger " << data_option(d.dir) << " ask --bot generic --chat p --private --user district-inspector 待办\n"
      << "  sunledger " << data_option(d.dir)
      << " ask --bot generic --chat p --private --user district-inspector 登录   # the inspector's dashboard, /inspect\n";
  if (serving && !d.public_url.empty())
    out << "The public web pages (every village's published accounts, charts, printable notices): " << d.public_url
        << "/\n";
  if (serving)
    out << "Pushes (monthly notices, receipts, status updates) are printed below as they would reach a group or a\n"
        << "person: [→ 双江村村民群] …; one queued on an earlier day shows that day: [→ 私信 … · 2022-12-08]. The\n"
        << "demo's story left its December 2022 status updates queued, so they come first.\n";
  out << "\n";
  return out.str();
}

}  // namespace

// A command table, not a procedure: one entry per CLI command (name, usage,
// help, examples, options, run), each run under ~25 lines, kept together so
// the CLI reads as one list of the server's commands (serve, demo, ask, backup …).
void add_server_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "ask",
      .synopsis = "ask --bot BOT --chat CHAT --user USER [--private] [--message-id ID] TEXT",
      .help = "Sends one chat message to the bot, as a platform would, and prints the reply (and any pushes).\n"
              "For trying commands and for scripts; writes are real. Use a newline in TEXT for multi-line commands.\n"
              "--private sends it as a private chat with the bot (CHAT is then any id of that chat).",
      .examples = {"ask --bot generic --chat shuangjiang-group --user villager-1 账目",
                   "ask --bot generic --chat p --private --user district-inspector 预警"},
      .values = {"bot", "chat", "user", "message-id"},
      .flags = {"private"},
      .required = {"bot", "chat", "user"},
      .check = [](const Args& a) -> std::string { return a.positional().empty() ? "missing the message text" : ""; },
      .run = [](Deployment& d, const Args& a) {
        std::string text;
        for (const auto& p : a.positional()) text += (text.empty() ? "" : " ") + p;
        // As serve does: nothing is answered from, or signed on top of, a ledger that
        // fails verification (the server alerts the inspectors; ask does not repeat it).
        // A bot nobody configured answers nothing in a real chat; its "bind
        // this group" hint would name a bind that is refused too.
        if (Status s = known_bot(d, a.get("bot")); !s.is_ok()) return fail(s);
        check_integrity(d, "before ask", false);
        InboundMessage m{a.get("bot"), a.get("chat"), !a.has("private"), a.get("user"), a.get("user"), text,
                         a.get("message-id"), d.clock.now_unix_seconds()};
        auto r = d.bot->handle(m);
        if (!r.is_ok()) return fail(r.status());
        std::cout << r->text;
        // Queued, not sent: a running server delivers them, and only where the
        // bot can push (the reply names groups it cannot reach).
        for (const auto& p : r->pushes) std::cout << "\n[queued for " << p.bot_id << "/" << p.chat_id << "]\n" << p.text;
        return kExitOk;
      },
      .takes_text = true});
  c.push_back({
      .name = "serve",
      .synopsis = "serve [--listen HOST:PORT] [--config bots.json] [--public-url URL] [--rate-limit N] [--assign-days 5] "
                  "[--resolve-days 60] [--witness-quorum K] [--shared-database] [--skip-verify] [--check]",
      .help = "Serves the chat webhooks (/webhooks/{bot-id}), the HTTP API, /healthz, /metrics and the public web\n"
              "pages (/, /villages/...) (default 127.0.0.1:8080) and delivers the outbox, until SIGTERM.\n"
              "--public-url: where the public reaches the server (https://...), printed as the QR code of each\n"
              "month's notice and named by 帮助 and every monthly notice (without it: the QR code names\n"
              "http://HOST:PORT as listened on, and chat names no address). The bots come from --config, else from\n"
              "bots.json in the data folder if there is one. --rate-limit: chat commands one sender may send a\n"
              "minute (default 20; 0 turns the limit off, for load tests). --assign-days and --resolve-days set this\n"
              "deployment's complaint deadlines (defaults 5 and 60 days). --witness-quorum K: a month's notice goes\n"
              "to the groups only once K of the configured witnesses (not retired) cosigned the month's checkpoint,\n"
              "and carries their cosignatures; publishing says it waits (default 0: at once; more than the witnesses\n"
              "configured: serve refuses to start). Before listening, and every hour, it verifies the whole ledger;\n"
              "a ledger that fails is served read-only with a warning on every answer, /healthz answers 503 and the\n"
              "inspectors are told. --skip-verify skips the check at start (an\n"
              "emergency only). One serve per data folder: a second one refuses, naming the first one's pid.\n"
              "The database is the folder's: DIR/sunledger.db, or the PostgreSQL database `init --db` or `migrate`\n"
              "recorded in DIR/database (serve needs no --db; a global --db naming another database is refused).\n"
              "--shared-database (PostgreSQL): several servers, on one machine or more, share the folder's database\n"
              "(each started with it; one started without it serves alone and refuses them, as they refuse it).\n"
              "--check checks everything serve needs and exits without listening: the configuration (secrets\n"
              "included), the data folder's permissions, the listen address, the ledger, and the groups and\n"
              "members bound to bots; it prints what each bot can do (answer, push to groups, reach one person\n"
              "privately). Exit 0 when ready to go live, 1 naming each problem.",
      .examples = {"--data ./lukou serve --listen 127.0.0.1:8080 --public-url https://lukou.example.cn",
                   "--data ./lukou serve --check --public-url https://lukou.example.cn",
                   "--data ./lukou serve --config /etc/sunledger/bots.json"},
      .values = {"listen", "config", "public-url", "rate-limit", "assign-days", "resolve-days", "witness-quorum"},
      .flags = {"skip-verify", "check", "shared-database"},
      .run = [](Deployment& d, const Args& a) {
        d.shared_database = a.has("shared-database");
        if (a.has("check")) return check_serve(d, a.get("listen", "127.0.0.1:8080"), a.get("config"), a.has("skip-verify"));
        return serve(d, a.get("listen", "127.0.0.1:8080"), a.get("config"), a.has("skip-verify"));
      }});
  c.push_back({
      .name = "demo",
      .synopsis = "demo [--listen HOST:PORT] [--public-url URL] [--no-serve]",
      .help = "Creates the data folder if needed, loads the Lukou district demo data (the Shuangjiang case among\n"
              "it) unless already loaded, prints the demo's bot, chats and users, then serves like `sunledger\n"
              "serve`. The demo's bot (\"generic\") delivers its pushes to the terminal: each monthly notice,\n"
              "receipt and status update is printed as it would reach a group or a person, e.g.\n"
              "  [→ 双江村村民群] 【双江村 2022年11月 三务公开】…\n"
              "A folder that holds anything but the demo is refused (the demo never writes into real data).\n"
              "Its web pages are at the listened address, which 帮助 and the notices name (--public-url: another).",
      .examples = {"demo", "--data ./demo-data demo --listen 127.0.0.1:8081", "--data ./demo-data demo --no-serve"},
      .values = {"listen", "public-url"},
      .flags = {"no-serve"},
      .check = [](const Args& a) -> std::string {
        return a.has("no-serve") && (a.has("listen") || a.has("public-url")) ? "--no-serve serves nothing: leave out --listen and --public-url" : "";
      },
      .run = [](Deployment& d, const Args& a) {
        if (Status s = demo_folder_problem(d); !s.is_ok()) return fail(s);
        // Before anything is written: a demo that cannot serve makes no folder.
        std::string listen = a.get("listen", "127.0.0.1:8080");
        if (!a.has("no-serve"))
          if (Status s = serve_can_start(d, listen); !s.is_ok()) return fail(s);
        if (!d.database_exists()) {
          if (Status s = initialize(d, kDemoOrigin, kChinaStandardTimeOffsetMinutes); !s.is_ok()) return fail(s);
        }
        if (!std::filesystem::exists(d.demo_marker_path()))
          if (Status s = write_private_file(d.demo_marker_path(), kDemoMarkerText); !s.is_ok()) return fail(s);
        // The demo's pages are on this machine: 帮助 and the notices name them
        // (a port chosen by the system, 0, is not known until serve binds).
        if (d.public_url.empty() && !listen.ends_with(":0")) d.public_url = "http://" + listen;
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
        if (!a.has("no-serve")) std::ofstream(d.demo_url_path(), std::ios::trunc) << d.public_url << "\n";
        std::cout << demo_guide(d, !a.has("no-serve")) << std::flush;
        if (a.has("no-serve")) return kExitOk;
        return serve(d, listen, "");
      },
      .needs_ledger = false});
}

}  // namespace sunledger::cli
