// The directory's commands: groups, members, API tokens and the admin log.
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

namespace sunledger::cli {

using nlohmann::json;

void add_directory_commands(std::vector<Command>& c) {
  c.push_back({"group bind", "group bind --village ID --bot BOT --chat CHAT [--rebind]",
               "Binds a chat group of a bot to a village: everyone in the group is a villager of that village.\n"
               "BOT is the id of the bot in bots.json; CHAT is the platform's group id. A chat bound to another\n"
               "village is moved only with --rebind.",
               {"village", "bot", "chat"}, {"rebind"},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "bot", "chat"}); !m.empty()) return usage_error("group bind", "missing " + m);
                 if (!verified_before_write(d, DirectoryStore::kLogName, "group bind")) return kExitFailure;
                 if (Status s = known_bot(d, a.get("bot")); !s.is_ok()) return fail(s);
                 if (Status s = d.bot->bind_group(a.get("village"), a.get("bot"), a.get("chat"), a.has("rebind"), cli_author()); !s.is_ok())
                   return fail(s);
                 std::cout << "bound " << a.get("bot") << "/" << a.get("chat") << " to " << a.get("village") << "\n";
                 return kExitOk;
               }});
  c.push_back({"group list", "group list", "Lists every bound chat: village, bot and chat id.", {}, {},
               [](Deployment& d, const Args&) {
                 auto groups = d.bot->list_groups();
                 if (!groups.is_ok()) return fail(groups.status());
                 for (const auto& g : *groups) std::cout << g.village << "\t" << g.bot_id << "\t" << g.chat_id << "\n";
                 return kExitOk;
               }});
  c.push_back({"group unbind", "group unbind --bot BOT --chat CHAT",
               "Unbinds a chat: from the next message on (a running server too) it belongs to no village.",
               {"bot", "chat"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "chat"}); !m.empty()) return usage_error("group unbind", "missing " + m);
                 // Taking authority away is never refused, even on a ledger that failed
                 // verification: it is what an administrator does first after a break-in.
                 if (Status s = d.bot->unbind_group(a.get("bot"), a.get("chat"), cli_author()); !s.is_ok()) return fail(s);
                 std::cout << "unbound " << a.get("bot") << "/" << a.get("chat") << "\n";
                 return kExitOk;
               }});
  c.push_back({"member list", "member list [--bot BOT]", "Lists officials and inspectors: bot, user, role, village or area.",
               {"bot"}, {},
               [](Deployment& d, const Args& a) {
                 auto members = d.bot->list_members(a.get("bot"));
                 if (!members.is_ok()) return fail(members.status());
                 for (const auto& m : *members)
                   std::cout << m.bot_id << "\t" << m.user_id << "\t" << role_name(m.role) << "\t"
                             << (m.role == Role::kOfficial ? m.village : m.area) << "\n";
                 return kExitOk;
               }});
  c.push_back({"member remove", "member remove --bot BOT --user USER",
               "Removes every role of that user on that bot, at once (a running server too).", {"bot", "user"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "user"}); !m.empty()) return usage_error("member remove", "missing " + m);
                 // Taking authority away is never refused, even on a ledger that failed
                 // verification: it is what an administrator does first after a break-in.
                 auto n = d.bot->remove_member(a.get("bot"), a.get("user"), cli_author());
                 if (!n.is_ok()) return fail(n.status());
                 std::cout << "removed " << *n << " role(s) of " << a.get("user") << " on " << a.get("bot") << "\n";
                 return kExitOk;
               }});
  c.push_back({"member add", "member add --bot BOT --user USER --role official|inspector [--village ID] [--area TOWN|all]",
               "Gives a chat user a role: an official of one village (--village), or an inspector of the discipline\n"
               "commission watching a town or the whole deployment (--area 朱亭镇, --area all).",
               {"village", "bot", "user", "role", "area"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"bot", "user", "role"}); !m.empty()) return usage_error("member add", "missing " + m);
                 if (!verified_before_write(d, DirectoryStore::kLogName, "member add")) return kExitFailure;
                 auto role = parse_role(a.get("role"));
                 if (!role || *role == Role::kVillager) return usage_error("member add", "--role must be official or inspector");
                 Membership m{a.get("bot"), a.get("user"), a.get("village"), *role, a.get("area")};
                 if (Status s = known_bot(d, a.get("bot")); !s.is_ok()) return fail(s);
                 if (Status s = d.bot->add_member(m, cli_author()); !s.is_ok()) return fail(s);
                 std::cout << a.get("user") << " is now " << role_name(*role) << "\n";
                 return kExitOk;
               }});
  c.push_back({"token list", "token list", "Lists API tokens (never the tokens themselves): id, role, scope, label, expiry, revoked.",
               {}, {},
               [](Deployment& d, const Args&) {
                 auto tokens = d.bot->list_tokens();
                 if (!tokens.is_ok()) return fail(tokens.status());
                 for (const auto& t : *tokens)
                   std::cout << "id: " << t.id << "\t" << role_name(t.principal.role) << "\t"
                             << (t.principal.role == Role::kOfficial ? t.principal.village : t.principal.area) << "\t"
                             << t.principal.label << "\texpires " << (t.expires_at ? utc_timestamp(t.expires_at) : "never")
                             << (t.revoked_at ? "\trevoked " + utc_timestamp(t.revoked_at) : "") << "\n";
                 return kExitOk;
               }});
  c.push_back({"token revoke", "token revoke --id N", "Revokes a token at once: it gets 401 from the next request on.",
               {"id"}, {},
               [](Deployment& d, const Args& a) {
                 auto id = number_option(a, "id");
                 if (!id.is_ok()) return usage_error("token revoke", id.status().message());
                 if (Status s = d.bot->revoke_token(static_cast<int64_t>(*id), cli_author()); !s.is_ok()) return fail(s);
                 std::cout << "revoked token " << *id << "\n";
                 return kExitOk;
               }});
  c.push_back({"token create", "token create --role official --village ID | --role inspector --area TOWN|all [--label TEXT] [--expires DAYS]",
               "Creates a bearer token for the HTTP API and prints it once, then its id as `id: N` (for token\n"
               "revoke); only its SHA-256 is stored. An official token writes to its own village only. It expires\n"
               "after --expires days (default 365); an expired token gets 401 saying so.",
               {"role", "village", "area", "label", "expires"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"role"}); !m.empty()) return usage_error("token create", "missing " + m);
                 if (!verified_before_write(d, DirectoryStore::kLogName, "token create")) return kExitFailure;
                 auto role = parse_role(a.get("role"));
                 if (!role || *role == Role::kVillager) return usage_error("token create", "--role must be official or inspector");
                 int days = 365;
                 if (a.has("expires")) {
                   auto n = number_option(a, "expires");
                   if (!n.is_ok() || *n < 1 || *n > 3650) return usage_error("token create", "--expires must be 1 to 3650 days");
                   days = static_cast<int>(*n);
                 }
                 auto t = d.bot->create_token({*role, a.get("village"), a.get("area"), a.get("label")}, days, cli_author());
                 if (!t.is_ok()) return fail(t.status());
                 std::cout << t->token << "\nid: " << t->id << "\n";
                 return kExitOk;
               }});
  c.push_back({"admin log", "admin log",
               "Prints the signed admin log: every change of groups, members and tokens, with when, who (the\n"
               "operating-system account that ran the CLI) and what. `verify` rebuilds the directory from it.",
               {}, {},
               [](Deployment& d, const Args&) {
                 auto size = d.ledger->log_size("admin");
                 if (!size.is_ok()) {
                   if (size.status().code() == Code::kNotFound) return kExitOk;  // nothing changed yet
                   return fail(size.status());
                 }
                 auto entries = d.ledger->entries("admin", 0, *size);
                 if (!entries.is_ok()) return fail(entries.status());
                 for (const auto& e : *entries) {
                   nlohmann::json what = e.fields;
                   for (const char* k : {"author", "recorded_at", "kind", "op"}) what.erase(k);
                   std::cout << e.index << "\t" << entry_string(e.fields, "recorded_at") << "\t"
                             << e.fields["author"].value("id", "") << "\t" << entry_string(e.fields, "op") << "\t"
                             << what.dump() << "\n";
                 }
                 return kExitOk;
               }});
}

}  // namespace sunledger::cli
