// The ledger's commands: init, villages, projects, posting, reversing,
// closing a month, checkpoints, proofs, verify and backup.
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
#include <regex>
#include <sstream>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/database_option.h"
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

// A month as YYYY-MM.
std::string month_problem(const Args& a) {
  return valid_month(a.get("month")) ? "" : "--month must be YYYY-MM (e.g. 2022-11), not \"" + a.get("month") + "\"";
}

}  // namespace

// A command table, not a procedure: one entry per CLI command (name, usage,
// help, examples, options, run), each run under ~25 lines, kept together so
// the CLI reads as one list of the ledger's commands (init, key, village, project, post, close, verify, proof …).
void add_ledger_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "init",
      .synopsis = "init --origin NAME [--utc-offset MINUTES]",
      .help = "Creates the database, the Ed25519 log key (mode 0600) and the identity salt in the data folder,\n"
              "and prints the verifier key. The origin names this deployment in every checkpoint\n"
              "(e.g. lukou.example/sunledger). Months are reckoned at UTC+8 unless --utc-offset says otherwise.\n"
              "With the global --db postgresql://USER@HOST/DATABASE (before `init`, else $SUNLEDGER_DB) the tables\n"
              "go into that empty PostgreSQL database instead of DIR/sunledger.db; the key and salt stay in the\n"
              "folder, which records the address (without its password) in DIR/database for later commands.",
      .examples = {"--data ./lukou init --origin lukou.example/sunledger",
                   "--data ./lukou --db postgresql://sunledger@/sunledger init --origin lukou.example/sunledger"},
      .values = {"origin", "utc-offset"},
      .required = {"origin"},
      .check = [](const Args& a) -> std::string {
        if (!a.has("utc-offset")) return "";
        std::string v = a.get("utc-offset");
        size_t digits = v.find_first_not_of("-+") == std::string::npos ? 0 : v.find_first_not_of("-+");
        if (v.empty() || digits > 1 || v.size() - digits > 4 || v.find_first_not_of("0123456789", digits) != std::string::npos)
          return "--utc-offset must be a number of minutes (480 for UTC+8)";
        return "";
      },
      .run = [](Deployment& d, const Args& a) {
        int offset = a.has("utc-offset") ? std::stoi(a.get("utc-offset")) : kChinaStandardTimeOffsetMinutes;
        if (Status s = initialize(d, a.get("origin"), offset); !s.is_ok()) return fail(s);
        if (Status s = d.open(); !s.is_ok()) return fail(s);
        // A new deployment has no witness refusal an older version made: its
        // list, empty, is signed now. Left to serve's first start, a row put
        // in by hand before it was listed as an older version's and obeyed
        // (review R15).
        if (Status s = d.bot->list_witness_refusals_before(); !s.is_ok()) return fail(s);
        std::cout << d.ledger->verifier_key() << "\n";
        return kExitOk;
      },
      .needs_ledger = false});
  c.push_back({
      .name = "key show",
      .synopsis = "key show",
      .help = "Prints the verifier key (name+id+base64 key) that checks every checkpoint.",
      .examples = {"--data ./lukou key show"},
      .run = [](Deployment& d, const Args&) {
        std::cout << d.ledger->verifier_key() << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "village add",
      .synopsis = "village add --id ID --name NAME --town TOWN",
      .help = "Registers a village and starts its signed log; prints the log's first checkpoint.",
      .examples = {"village add --id shuangjiang --name 双江村 --town 朱亭镇"},
      .values = {"id", "name", "town"},
      .required = {"id", "name", "town"},
      .extends = [](const Args&) { return std::string(Ledger::kRegistryLog); },
      .run = [](Deployment& d, const Args& a) {
        if (Status s = d.ledger->add_village({a.get("id"), a.get("name"), a.get("town")}); !s.is_ok()) return fail(s);
        std::cout << *d.ledger->checkpoint(a.get("id"));
        return kExitOk;
      }});
  c.push_back({
      .name = "village list",
      .synopsis = "village list",
      .help = "Lists the villages: id, town, name and the size of each log.",
      .examples = {"village list"},
      .run = [](Deployment& d, const Args&) {
        auto vs = d.ledger->villages();
        if (!vs.is_ok()) return fail(vs.status());
        for (const auto& v : *vs)
          std::cout << v.id << "\t" << v.town << "\t" << v.name << "\t" << d.ledger->log_size(v.id).value() << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "project add",
      .synopsis = "project add --village ID --name NAME --approved AMOUNT [--special]",
      .help = "Registers a project and its approved budget (amounts as people write them: 300000, 30万).\n"
              "--special marks special-purpose funds that may be spent on this project only.",
      .examples = {"project add --village shuangjiang --name 水利建设 --approved 300000 --special",
                   "project add --village shuangjiang --name 道路拓宽 --approved 20万"},
      .values = {"village", "name", "approved"},
      .flags = {"special"},
      .required = {"village", "name", "approved"},
      .extends = [](const Args& a) { return a.get("village"); },
      .run = [](Deployment& d, const Args& a) {
        auto amount = parse_amount(a.get("approved"));
        if (!amount.is_ok()) return fail(amount.status());
        auto r = d.ledger->register_project(a.get("village"), {a.get("name"), *amount, a.has("special")}, cli_author());
        if (!r.is_ok()) return fail(r.status());
        std::cout << "#" << r->indexes[0] << "\n" << r->checkpoint;
        return kExitOk;
      }});
  c.push_back({
      .name = "post",
      .synopsis = "post --village ID --file entries.csv",
      .help = "Appends income and expense lines from a CSV file with the header\n"
              "  date,type,category,item,amount,project,fund,counterparty,note\n"
              "(type is income or expense). All rows or none: a bad row is named by its line and nothing is written.\n"
              "A project named in a row must be registered first (project add).",
      .examples = {"post --village shuangjiang --file entries.csv"},
      .values = {"village", "file"},
      .required = {"village", "file"},
      .extends = [](const Args& a) { return a.get("village"); },
      .run = [](Deployment& d, const Args& a) {
        std::ifstream in(a.get("file"), std::ios::binary);
        if (!in) return fail(not_found("无法读取文件 (cannot read) " + a.get("file")));
        std::stringstream ss;
        ss << in.rdbuf();
        auto parsed = parse_entries_csv(ss.str());
        if (!parsed.errors.empty()) {
          // The rows that did parse still face the ledger's own checks (a project not registered, a closed
          // month): run them in a transaction that is always rolled back, so one run names every bad row.
          std::vector<RowError> errors = parsed.errors;
          if (!parsed.lines.empty()) {
            const Status kRolledBack = internal_error("rolled back");
            Status checked = d.ledger->write([&](WriteTxn& txn) -> Status {
              auto r = txn.post_transactions(a.get("village"), parsed.lines, cli_author());
              return r.is_ok() ? kRolledBack : r.status();
            });
            static const std::regex row(R"(^第(\d+)行: (.*)$)");
            std::istringstream lines(checked.is_ok() ? "" : checked.message());
            for (std::string l; std::getline(lines, l);)
              if (std::smatch m; std::regex_match(l, m, row)) errors.push_back({std::stoi(m[1]), m[2]});
            std::stable_sort(errors.begin(), errors.end(),
                             [](const RowError& x, const RowError& y) { return x.line < y.line; });
          }
          return fail(invalid_argument("未记账 (nothing was written):\n" + describe_row_errors(errors)));
        }
        auto r = d.ledger->post_transactions(a.get("village"), parsed.lines, cli_author());
        if (!r.is_ok()) return fail(invalid_argument("未记账 (nothing was written):\n" + r.status().message()));
        std::cout << "appended " << count_of(r->indexes.size(), "entry", "entries") << ": #" << r->indexes.front();
        if (r->indexes.size() > 1) std::cout << " to #" << r->indexes.back();
        std::cout << "\n" << r->checkpoint;
        return kExitOk;
      }});
  c.push_back({
      .name = "reverse",
      .synopsis = "reverse --village ID --index I --reason TEXT",
      .help = "Appends a reversal of entry I; the original stays in the log. A reversal of an entry in a closed\n"
              "month lands in the open month.",
      .examples = {"reverse --village shuangjiang --index 3 --reason 挪用专项资金,退回"},
      .values = {"village", "index", "reason"},
      .required = {"village", "index", "reason"},
      .numbers = {"index"},
      .extends = [](const Args& a) { return a.get("village"); },
      .run = [](Deployment& d, const Args& a) {
        auto r = d.ledger->reverse(a.get("village"), *number_option(a, "index"), a.get("reason"), cli_author());
        if (!r.is_ok()) return fail(r.status());
        std::cout << "#" << r->indexes[0] << "\n" << r->checkpoint;
        return kExitOk;
      }});
  c.push_back({
      .name = "close",
      .synopsis = "close --village ID --month YYYY-MM [--no-notice] [--public-url URL]",
      .help = "Closes (publishes) the month: appends its statement (opening balance, totals by category and project,\n"
              "closing balance), prints the signed checkpoint that seals it, and queues the monthly notice to every\n"
              "chat group bound to the village, as the chat command 公开 and the API do (a running server delivers\n"
              "it). --no-notice closes without notifying the groups. Months close in order, one after another from\n"
              "the first month with entries, a month without entries too: a later month is refused, naming the\n"
              "month to close first, so that no skipped month is sealed without a statement anybody saw.\n"
              "--public-url: as serve's; the notice then ends with the month's web page, as a notice published in\n"
              "chat on a server given --public-url does.",
      .examples = {"close --village shuangjiang --month 2022-11", "close --village shuangjiang --month 2022-11 --no-notice",
                   "close --village shuangjiang --month 2022-11 --public-url https://lukou.example.cn"},
      .values = {"village", "month", "public-url"},
      .flags = {"no-notice"},
      .required = {"village", "month"},
      .check = month_problem,
      .extends = [](const Args& a) { return a.get("village"); },
      .run = [](Deployment& d, const Args& a) {
        if (a.has("no-notice")) {
          auto r = d.ledger->close_month(a.get("village"), a.get("month"), cli_author());
          if (!r.is_ok()) return fail(r.status());
          std::cout << r->checkpoint;  // exactly the checkpoint, for scripts
          return kExitOk;
        }
        auto p = d.bot->publish(a.get("village"), a.get("month"), cli_author());
        if (!p.is_ok()) return fail(p.status());
        std::cout << p->close.checkpoint;
        if (p->groups_notified > 0 || p->groups_unreachable.empty())
          std::cerr << "月度公开通知已排队推送到" << p->groups_notified << "个村民群 (monthly notice queued for "
                    << p->groups_notified << (p->groups_notified == 1 ? " group" : " groups")
                    << "; a running server delivers it)\n";
        std::cerr << Bot::unreachable_groups_text(*p);
        return kExitOk;
      }});
  c.push_back({
      .name = "checkpoint",
      .synopsis = "checkpoint --village ID",
      .help = "Prints the village's latest signed checkpoint.",
      .examples = {"checkpoint --village shuangjiang"},
      .values = {"village"},
      .required = {"village"},
      .run = [](Deployment& d, const Args& a) {
        auto v = d.ledger->village(a.get("village"));
        if (!v.is_ok()) return fail(v.status());
        std::cout << *d.ledger->checkpoint(v->id);
        return kExitOk;
      }});
  c.push_back({
      .name = "proof inclusion",
      .synopsis = "proof inclusion --village ID --index I --size N",
      .help = "Prints, as JSON with base64 hashes, the proof that entry I is in the tree of size N.",
      .examples = {"proof inclusion --village shuangjiang --index 3 --size 6"},
      .values = {"village", "index", "size"},
      .required = {"village", "index", "size"},
      .numbers = {"index", "size"},
      .run = [](Deployment& d, const Args& a) {
        uint64_t idx = *number_option(a, "index"), size = *number_option(a, "size");
        auto v = d.ledger->village(a.get("village"));
        if (!v.is_ok()) return fail(v.status());
        auto proof = d.ledger->inclusion_proof(v->id, idx, size);
        if (!proof.is_ok()) return fail(proof.status());
        auto entry = d.ledger->entries(v->id, idx, idx + 1);
        auto root = d.ledger->root(v->id, size);
        if (!entry.is_ok() || !root.is_ok()) return fail(internal_error("lookup failed"));
        json out = {{"village", v->id}, {"index", idx}, {"tree_size", size},
                    {"leaf_hash", base64_encode(merkle_leaf_hash((*entry)[0].leaf))},
                    {"root", base64_encode(*root)}, {"proof", hashes_json(*proof)}};
        std::cout << out.dump(2) << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "proof consistency",
      .synopsis = "proof consistency --village ID --from M --to N",
      .help = "Prints, as JSON with base64 hashes, the proof that the tree of size M is a prefix of size N.",
      .examples = {"proof consistency --village shuangjiang --from 2 --to 6"},
      .values = {"village", "from", "to"},
      .required = {"village", "from", "to"},
      .numbers = {"from", "to"},
      .run = [](Deployment& d, const Args& a) {
        uint64_t from = *number_option(a, "from"), to = *number_option(a, "to");
        auto v = d.ledger->village(a.get("village"));
        if (!v.is_ok()) return fail(v.status());
        auto proof = d.ledger->consistency_proof(v->id, from, to);
        if (!proof.is_ok()) return fail(proof.status());
        json out = {{"village", v->id}, {"from", from}, {"to", to},
                    {"root_from", base64_encode(*d.ledger->root(v->id, from))},
                    {"root_to", base64_encode(*d.ledger->root(v->id, to))}, {"proof", hashes_json(*proof)}};
        std::cout << out.dump(2) << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "verify",
      .synopsis = "verify [--village ID]",
      .help = "Recomputes every leaf, subtree hash and tree head from the stored bytes and checks every kept\n"
              "checkpoint's signature. Exit 0 when intact; exit 1 naming the log and the first bad entry.",
      .examples = {"verify", "verify --village shuangjiang", "--data /backups/2026-11-28 verify"},
      .values = {"village"},
      .run = [](Deployment& d, const Args& a) {
        auto r = d.ledger->verify(a.get("village"));
        if (!r.is_ok()) return fail(r.status());
        std::vector<VerifyProblem> problems = r->problems;
        if (a.get("village").empty() && d.salt.size() < 32) {
          auto filed = d.bot->complaint_entries();
          if (!filed.is_ok()) return fail(filed.status());
          if (*filed > 0)
            std::cout << "complaints not checked: this folder has no id-salt (their commitments are keyed by it)\n";
        }
        if (a.get("village").empty()) {
          // The same check serve runs: every log, the directory against the admin log, and
          // (beside the id-salt) the complaints against theirs.
          auto all = d.bot->verify_deployment();
          if (!all.is_ok()) return fail(all.status());
          problems = *all;
        }
        for (const auto& p : problems) std::cout << tampered_line(p) << "\n";
        if (!problems.empty()) return kExitFailure;
        std::cout << "intact: " << count_of(r->logs_checked, "log", "logs") << ", "
                  << count_of(r->entries_checked, "entry", "entries") << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "backup",
      .synopsis = "backup --to DIR [--config bots.json]",
      .help = "Writes a consistent online copy of the database (SQLite's backup API), the verifier key and the bots\n"
              "configuration (bots.json from the data folder, or --config; copied as written, so \"env:NAME\"\n"
              "secrets stay references) into DIR, while the server goes on writing. `sunledger --data DIR verify`\n"
              "checks the copy. The log key and the id-salt are not copied: keep a copy of each offline, and put them back\n"
              "beside the database to restore (see README, \"Backup and restore\").",
      .examples = {"--data ./lukou backup --to /backups/2026-11-28"},
      .values = {"to", "config"},
      .required = {"to"},
      .run = [](Deployment& d, const Args& a) {
        if (d.on_postgresql())
          return fail(sqlite_only("backup", d.db, "back up the database with pg_dump (pg_dump -Fc -f FILE ADDRESS) "
                                  "and keep a copy of the data folder's log-key.pem, id-salt and bots.json"));
        std::string to = a.get("to");
        std::string config = a.get("config");
        if (config.empty() && std::filesystem::exists(d.bots_path())) config = d.bots_path();
        std::string config_text;
        if (!config.empty()) {
          std::ifstream cin(config, std::ios::binary);
          if (!cin) return fail(not_found("无法读取 (cannot read) " + config));
          std::stringstream ss;
          ss << cin.rdbuf();
          config_text = ss.str();
        }
        std::error_code ec;
        std::filesystem::create_directories(to, ec);
        if (ec) return fail(unavailable("cannot create " + to + ": " + ec.message()));
        ::chmod(to.c_str(), 0700);
        if (std::filesystem::exists(to + "/sunledger.db"))
          return fail(already_exists(to + " already holds a backup (sunledger.db): choose a new folder"));
        if (Status s = d.ledger->backup(to + "/sunledger.db"); !s.is_ok()) return fail(s);
        std::ofstream out(to + "/verifier-key");
        out << d.ledger->verifier_key() << "\n";
        if (!out) return fail(unavailable("cannot write " + to + "/verifier-key"));
        std::cout << "backed up to " << to << "\n";
        if (!config.empty()) {
          std::filesystem::remove(to + "/bots.json", ec);
          if (Status s = write_private_file(to + "/bots.json", config_text); !s.is_ok()) return fail(s);
          std::cout << "copied " << config << " to " << to << "/bots.json (env: secrets stay references)\n";
        }
        return kExitOk;
      }});
}

}  // namespace sunledger::cli
