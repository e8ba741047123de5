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

void add_ledger_commands(std::vector<Command>& c) {
  c.push_back({"init", "init --origin NAME [--utc-offset MINUTES]",
               "Creates the database, the Ed25519 log key (mode 0600) and the identity salt in the data folder,\n"
               "and prints the verifier key. The origin names this deployment in every checkpoint\n"
               "(e.g. lukou.example/sunledger). Months are reckoned at UTC+8 unless --utc-offset says otherwise.",
               {"origin", "utc-offset"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"origin"}); !m.empty()) return usage_error("init", "missing " + m);
                 int offset = kChinaStandardTimeOffsetMinutes;
                 if (a.has("utc-offset")) {
                   try {
                     offset = std::stoi(a.get("utc-offset"));
                   } catch (...) {
                     return usage_error("init", "--utc-offset must be a number of minutes");
                   }
                 }
                 if (Status s = initialize(d, a.get("origin"), offset); !s.is_ok()) return fail(s);
                 if (Status s = d.open(); !s.is_ok()) return fail(s);
                 std::cout << d.ledger->verifier_key() << "\n";
                 return kExitOk;
               },
               false});
  c.push_back({"key show", "key show", "Prints the verifier key (name+id+base64 key) that checks every checkpoint.", {}, {},
               [](Deployment& d, const Args&) {
                 std::cout << d.ledger->verifier_key() << "\n";
                 return kExitOk;
               }});
  c.push_back({"village add", "village add --id ID --name NAME --town TOWN",
               "Registers a village and starts its signed log (e.g. --id shuangjiang --name 双江村 --town 朱亭镇).",
               {"id", "name", "town"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"id", "name", "town"}); !m.empty()) return usage_error("village add", "missing " + m);
                 if (!verified_before_write(d, "villages", "village add")) return kExitFailure;
                 if (Status s = d.ledger->add_village({a.get("id"), a.get("name"), a.get("town")}); !s.is_ok()) return fail(s);
                 std::cout << *d.ledger->checkpoint(a.get("id"));
                 return kExitOk;
               }});
  c.push_back({"village list", "village list", "Lists the villages with the size of each log.", {}, {},
               [](Deployment& d, const Args&) {
                 auto vs = d.ledger->villages();
                 if (!vs.is_ok()) return fail(vs.status());
                 for (const auto& v : *vs)
                   std::cout << v.id << "\t" << v.town << "\t" << v.name << "\t" << d.ledger->log_size(v.id).value() << "\n";
                 return kExitOk;
               }});
  c.push_back({"project add", "project add --village ID --name NAME --approved AMOUNT [--special]",
               "Registers a project and its approved budget (amounts as people write them: 300000, 30万).\n"
               "--special marks special-purpose funds that may be spent on this project only.",
               {"village", "name", "approved"}, {"special"},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "name", "approved"}); !m.empty())
                   return usage_error("project add", "missing " + m);
                 if (!verified_before_write(d, a.get("village"), "project add")) return kExitFailure;
                 auto amount = parse_amount(a.get("approved"));
                 if (!amount.is_ok()) return fail(amount.status());
                 auto r = d.ledger->register_project(a.get("village"), {a.get("name"), *amount, a.has("special")}, cli_author());
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << "#" << r->indexes[0] << "\n" << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"post", "post --village ID --file entries.csv",
               "Appends income and expense lines from a CSV file with the header\n"
               "  date,type,category,item,amount,project,fund,counterparty,note\n"
               "(type is income or expense). All rows or none: a bad row is named by its line and nothing is written.",
               {"village", "file"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "file"}); !m.empty()) return usage_error("post", "missing " + m);
                 if (!verified_before_write(d, a.get("village"), "post")) return kExitFailure;
                 std::ifstream in(a.get("file"), std::ios::binary);
                 if (!in) return fail(not_found("cannot read " + a.get("file")));
                 std::stringstream ss;
                 ss << in.rdbuf();
                 auto parsed = parse_entries_csv(ss.str());
                 if (!parsed.errors.empty()) return fail(invalid_argument("nothing was written:\n" + describe_row_errors(parsed.errors)));
                 auto r = d.ledger->post_transactions(a.get("village"), parsed.lines, cli_author());
                 if (!r.is_ok()) return fail(invalid_argument("nothing was written:\n" + r.status().message()));
                 std::cout << "appended " << r->indexes.size() << " entries: #" << r->indexes.front() << " to #"
                           << r->indexes.back() << "\n"
                           << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"reverse", "reverse --village ID --index I --reason TEXT",
               "Appends a reversal of entry I; the original stays in the log. A reversal of an entry in a closed\n"
               "month lands in the open month.",
               {"village", "index", "reason"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "index", "reason"}); !m.empty()) return usage_error("reverse", "missing " + m);
                 if (!verified_before_write(d, a.get("village"), "reverse")) return kExitFailure;
                 auto idx = number_option(a, "index");
                 if (!idx.is_ok()) return usage_error("reverse", idx.status().message());
                 auto r = d.ledger->reverse(a.get("village"), *idx, a.get("reason"), cli_author());
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << "#" << r->indexes[0] << "\n" << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"close", "close --village ID --month YYYY-MM",
               "Closes the month: appends its statement (opening balance, totals by category and project,\n"
               "closing balance) and prints the signed checkpoint that seals it.",
               {"village", "month"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "month"}); !m.empty()) return usage_error("close", "missing " + m);
                 if (!verified_before_write(d, a.get("village"), "close")) return kExitFailure;
                 auto r = d.ledger->close_month(a.get("village"), a.get("month"), cli_author());
                 if (!r.is_ok()) return fail(r.status());
                 std::cout << r->checkpoint;
                 return kExitOk;
               }});
  c.push_back({"checkpoint", "checkpoint --village ID", "Prints the village's latest signed checkpoint.", {"village"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village"}); !m.empty()) return usage_error("checkpoint", "missing " + m);
                 auto v = d.ledger->village(a.get("village"));
                 if (!v.is_ok()) return fail(v.status());
                 std::cout << *d.ledger->checkpoint(v->id);
                 return kExitOk;
               }});
  c.push_back({"proof inclusion", "proof inclusion --village ID --index I --size N",
               "Prints, as JSON with base64 hashes, the proof that entry I is in the tree of size N.",
               {"village", "index", "size"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "index", "size"}); !m.empty())
                   return usage_error("proof inclusion", "missing " + m);
                 auto idx = number_option(a, "index");
                 auto size = number_option(a, "size");
                 if (!idx.is_ok()) return usage_error("proof inclusion", idx.status().message());
                 if (!size.is_ok()) return usage_error("proof inclusion", size.status().message());
                 auto v = d.ledger->village(a.get("village"));
                 if (!v.is_ok()) return fail(v.status());
                 auto proof = d.ledger->inclusion_proof(v->id, *idx, *size);
                 if (!proof.is_ok()) return fail(proof.status());
                 auto entry = d.ledger->entries(v->id, *idx, *idx + 1);
                 auto root = d.ledger->root(v->id, *size);
                 if (!entry.is_ok() || !root.is_ok()) return fail(internal_error("lookup failed"));
                 json out = {{"village", v->id}, {"index", *idx}, {"tree_size", *size},
                             {"leaf_hash", base64_encode(merkle_leaf_hash((*entry)[0].leaf))},
                             {"root", base64_encode(*root)}, {"proof", hashes_json(*proof)}};
                 std::cout << out.dump(2) << "\n";
                 return kExitOk;
               }});
  c.push_back({"proof consistency", "proof consistency --village ID --from M --to N",
               "Prints, as JSON with base64 hashes, the proof that the tree of size M is a prefix of size N.",
               {"village", "from", "to"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"village", "from", "to"}); !m.empty())
                   return usage_error("proof consistency", "missing " + m);
                 auto from = number_option(a, "from");
                 auto to = number_option(a, "to");
                 if (!from.is_ok()) return usage_error("proof consistency", from.status().message());
                 if (!to.is_ok()) return usage_error("proof consistency", to.status().message());
                 auto v = d.ledger->village(a.get("village"));
                 if (!v.is_ok()) return fail(v.status());
                 auto proof = d.ledger->consistency_proof(v->id, *from, *to);
                 if (!proof.is_ok()) return fail(proof.status());
                 json out = {{"village", v->id}, {"from", *from}, {"to", *to},
                             {"root_from", base64_encode(*d.ledger->root(v->id, *from))},
                             {"root_to", base64_encode(*d.ledger->root(v->id, *to))}, {"proof", hashes_json(*proof)}};
                 std::cout << out.dump(2) << "\n";
                 return kExitOk;
               }});
  c.push_back({"verify", "verify [--village ID]",
               "Recomputes every leaf, subtree hash and tree head from the stored bytes and checks every kept\n"
               "checkpoint's signature. Exit 0 when intact; exit 1 naming the log and the first bad entry.",
               {"village"}, {},
               [](Deployment& d, const Args& a) {
                 auto r = d.ledger->verify(a.get("village"));
                 if (!r.is_ok()) return fail(r.status());
                 std::vector<VerifyProblem> problems = r->problems;
                 if (a.get("village").empty() && d.salt.size() < 32) {
                   std::cout << "complaints not checked: this folder has no id-salt (their commitments are keyed by it)\n";
                 } else if (a.get("village").empty()) {
                   // The same check serve runs: every log, and the complaints against theirs.
                   auto all = d.bot->verify_deployment();
                   if (!all.is_ok()) return fail(all.status());
                   problems = *all;
                 }
                 for (const auto& p : problems)
                   std::cout << "TAMPERED " << p.log << " first bad entry #" << p.first_bad_index << ": " << p.reason << "\n";
                 if (!problems.empty()) return kExitFailure;
                 std::cout << "intact: " << r->logs_checked << " logs, " << r->entries_checked << " entries\n";
                 return kExitOk;
               }});
  c.push_back({"backup", "backup --to DIR",
               "Writes a consistent online copy of the database (SQLite's backup API) and the verifier key into DIR,\n"
               "while the server goes on writing. `sunledger --data DIR verify` checks the copy. The log key and the\n"
               "id-salt are not copied: keep them apart, and put them back beside the database to restore.",
               {"to"}, {},
               [](Deployment& d, const Args& a) {
                 if (auto m = a.missing({"to"}); !m.empty()) return usage_error("backup", "missing " + m);
                 std::string to = a.get("to");
                 std::error_code ec;
                 std::filesystem::create_directories(to, ec);
                 if (ec) return fail(unavailable("cannot create " + to + ": " + ec.message()));
                 ::chmod(to.c_str(), 0700);
                 if (Status s = d.ledger->backup(to + "/sunledger.db"); !s.is_ok()) return fail(s);
                 std::ofstream out(to + "/verifier-key");
                 out << d.ledger->verifier_key() << "\n";
                 if (!out) return fail(unavailable("cannot write " + to + "/verifier-key"));
                 std::cout << "backed up to " << to << "\n";
                 return kExitOk;
               }});
}

}  // namespace sunledger::cli
