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

namespace {

std::string role_problem(const Args& a) {
  auto role = parse_role(a.get("role"));
  if (!role || *role == Role::kVillager) return "--role must be official or inspector";
  if (*role == Role::kOfficial && !a.has("village")) return "--role official needs --village ID (the village it acts for)";
  if (*role == Role::kInspector && !a.has("area")) return "--role inspector needs --area TOWN or --area all";
  if (*role == Role::kOfficial && a.has("area")) return "--area is for inspectors; an official has --village";
  if (*role == Role::kInspector && a.has("village")) return "--village is for officials; an inspector has --area";
  return "";
}

}  // namespace

// A command table, not a procedure: one entry per CLI command (name, usage,
// help, examples, options, run), each run under ~25 lines, kept together so
// the CLI reads as one list of the directory's commands (group, member, token).
void add_directory_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "group bind",
      .synopsis = "group bind --village ID --bot BOT --chat CHAT [--rebind]",
      .help = "Binds a chat group of a bot to a village: everyone in the group is a villager of that village.\n"
              "BOT is the id of the bot in bots.json; CHAT is the platform's group id (an unbound group's message\n"
              "is answered with this exact line, and the server log shows it too). A chat bound to another village\n"
              "is moved only with --rebind. Only the bot ids of bots.json are read: its env: secrets need not be set.",
      .examples = {"group bind --village shuangjiang --bot lukou-wecom --chat wrkSFfCgAAxxxx"},
      .values = {"village", "bot", "chat"},
      .flags = {"rebind"},
      .required = {"village", "bot", "chat"},
      .extends = [](const Args&) { return std::string(DirectoryStore::kLogName); },
      .run = [](Deployment& d, const Args& a) {
        if (Status s = known_bot(d, a.get("bot")); !s.is_ok()) return fail(s);
        if (Status s = d.bot->bind_group(a.get("village"), a.get("bot"), a.get("chat"), a.has("rebind"), cli_author()); !s.is_ok())
          return fail(s);
        std::cout << "bound " << a.get("bot") << "/" << a.get("chat") << " to " << a.get("village") << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "group list",
      .synopsis = "group list",
      .help = "Lists every bound chat: village, bot and chat id.",
      .examples = {"group list"},
      .run = [](Deployment& d, const Args&) {
        auto groups = d.bot->list_groups();
        if (!groups.is_ok()) return fail(groups.status());
        for (const auto& g : *groups) std::cout << g.village << "\t" << g.bot_id << "\t" << g.chat_id << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "group unbind",
      .synopsis = "group unbind --bot BOT --chat CHAT",
      .help = "Unbinds a chat: from the next message on (a running server too) it belongs to no village.",
      .examples = {"group unbind --bot lukou-wecom --chat wrkSFfCgAAxxxx"},
      .values = {"bot", "chat"},
      .required = {"bot", "chat"},
      .run = [](Deployment& d, const Args& a) {
        if (Status s = d.bot->unbind_group(a.get("bot"), a.get("chat"), cli_author()); !s.is_ok()) return fail(s);
        std::cout << "unbound " << a.get("bot") << "/" << a.get("chat") << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "member add",
      .synopsis = "member add --bot BOT --user USER --role official --village ID | --role inspector --area TOWN|all",
      .help = "Gives a chat user a role: an official of one village (--village), or an inspector of the discipline\n"
              "commission watching a town or the whole deployment (--area 朱亭镇, --area all). USER is the\n"
              "platform's user id.",
      .examples = {"member add --bot lukou-wecom --user zhangsan --village shuangjiang --role official",
                   "member add --bot lukou-wecom --user jjw-li --role inspector --area 朱亭镇"},
      .values = {"village", "bot", "user", "role", "area"},
      .required = {"bot", "user", "role"},
      .check = role_problem,
      .extends = [](const Args&) { return std::string(DirectoryStore::kLogName); },
      .run = [](Deployment& d, const Args& a) {
        Role role = *parse_role(a.get("role"));
        Membership m{a.get("bot"), a.get("user"), a.get("village"), role, a.get("area")};
        if (Status s = known_bot(d, a.get("bot")); !s.is_ok()) return fail(s);
        bool added = false;
        if (Status s = d.bot->add_member(m, cli_author(), &added); !s.is_ok()) return fail(s);
        std::string where = " of " + (role == Role::kOfficial || a.get("area").empty() ? a.get("village") : a.get("area"));
        if (added) std::cout << a.get("user") << " is now " << role_name(role) << "\n";
        else std::cout << a.get("user") << " is already " << role_name(role) << where << " on " << a.get("bot") << ": nothing changed\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "member list",
      .synopsis = "member list [--bot BOT]",
      .help = "Lists officials and inspectors: bot, user, role, village or area.",
      .examples = {"member list", "member list --bot lukou-wecom"},
      .values = {"bot"},
      .run = [](Deployment& d, const Args& a) {
        auto members = d.bot->list_members(a.get("bot"));
        if (!members.is_ok()) return fail(members.status());
        for (const auto& m : *members)
          std::cout << m.bot_id << "\t" << m.user_id << "\t" << role_name(m.role) << "\t"
                    << (m.role == Role::kOfficial ? m.village : m.area) << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "member remove",
      .synopsis = "member remove --bot BOT --user USER",
      .help = "Removes every role of that user on that bot, at once (a running server too).",
      .examples = {"member remove --bot lukou-wecom --user zhangsan"},
      .values = {"bot", "user"},
      .required = {"bot", "user"},
      .run = [](Deployment& d, const Args& a) {
        auto n = d.bot->remove_member(a.get("bot"), a.get("user"), cli_author());
        if (!n.is_ok()) return fail(n.status());
        std::cout << "removed " << count_of(*n, "role", "roles") << " of " << a.get("user") << " on " << a.get("bot") << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "token create",
      .synopsis = "token create --role official --village ID | --role inspector --area TOWN|all [--label TEXT] [--expires DAYS]",
      .help = "Creates a bearer token for the HTTP API and prints it once, then its id as `id: N` (for token\n"
              "revoke); only its SHA-256 is stored. An official token writes to its own village only; an inspector\n"
              "token reads the complaints of its area. It expires after --expires days (default 365); an expired or\n"
              "revoked token gets 401 saying so.",
      .examples = {"token create --role official --village shuangjiang --label 朱亭镇会计站",
                   "token create --role inspector --area 朱亭镇 --expires 90"},
      .values = {"role", "village", "area", "label", "expires"},
      .required = {"role"},
      .numbers = {"expires"},
      .check = [](const Args& a) -> std::string {
        if (std::string p = role_problem(a); !p.empty()) return p;
        if (a.has("expires") && (*number_option(a, "expires") < 1 || *number_option(a, "expires") > 3650))
          return "--expires must be 1 to 3650 days";
        return "";
      },
      .extends = [](const Args&) { return std::string(DirectoryStore::kLogName); },
      .run = [](Deployment& d, const Args& a) {
        int days = a.has("expires") ? static_cast<int>(*number_option(a, "expires")) : 365;
        auto t = d.bot->create_token({*parse_role(a.get("role")), a.get("village"), a.get("area"), a.get("label")}, days,
                                     cli_author());
        if (!t.is_ok()) return fail(t.status());
        std::cout << t->token << "\nid: " << t->id << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "token list",
      .synopsis = "token list",
      .help = "Lists API tokens (never the tokens themselves): id, role, scope, label, expiry, revoked (local time).",
      .examples = {"token list"},
      .run = [](Deployment& d, const Args&) {
        auto tokens = d.bot->list_tokens();
        if (!tokens.is_ok()) return fail(tokens.status());
        for (const auto& t : *tokens)
          std::cout << "id: " << t.id << "\t" << role_name(t.principal.role) << "\t"
                    << (t.principal.role == Role::kOfficial ? t.principal.village : t.principal.area) << "\t"
                    << t.principal.label << "\texpires " << (t.expires_at ? local_time(d, t.expires_at) : "never")
                    << (t.revoked_at ? "\trevoked " + local_time(d, t.revoked_at) : "") << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "token revoke",
      .synopsis = "token revoke --id N",
      .help = "Revokes a token at once: it gets 401 (令牌已被吊销 / token revoked) from the next request on.",
      .examples = {"token revoke --id 1"},
      .values = {"id"},
      .required = {"id"},
      .numbers = {"id"},
      .run = [](Deployment& d, const Args& a) {
        auto id = *number_option(a, "id");
        if (Status s = d.bot->revoke_token(static_cast<int64_t>(id), cli_author()); !s.is_ok()) return fail(s);
        std::cout << "revoked token " << id << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "admin log",
      .synopsis = "admin log",
      .help = "Prints the signed admin log: every change of groups, members and tokens, with when (local time),\n"
              "who (the operating-system account that ran the CLI) and what. `verify` rebuilds the directory from it.",
      .examples = {"admin log"},
      .run = [](Deployment& d, const Args&) {
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
          // Times as the rest of the CLI prints them: local, to the minute
          // ("at" too: the list of older refusals init signs has one).
          for (auto& [key, value] : what.items())
            if ((key == "at" || (key.size() > 3 && key.compare(key.size() - 3, 3, "_at") == 0)) &&
                value.is_number_integer() && value.get<int64_t>() > 0)
              value = local_time(d, value.get<int64_t>());
          std::string when = local_time_of(d, entry_string(e.fields, "recorded_at"));
          std::cout << e.index << "\t" << when << "\t" << e.fields["author"].value("id", "") << "\t"
                    << entry_string(e.fields, "op") << "\t" << what.dump() << "\n";
        }
        return kExitOk;
      }});
}

}  // namespace sunledger::cli
