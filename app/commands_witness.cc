// The township's witness: init, key, add-log, list-logs, forget-log, serve. The witness
// has its own data folder (--data WDIR) and never opens a ledger; see
// witness/witness.h and README "Witnesses".
#include <pthread.h>
#include <signal.h>

#include <ctime>
#include <iostream>
#include <thread>

#include "app/commands.h"
#include "bot/directory.h"
#include "webhooks/http_server.h"
#include "witness/server.h"
#include "witness/witness.h"

namespace sunledger::cli {
namespace {

int serve_witness(witness::Witness& w, const std::string& listen) {
  auto addr = parse_listen_address(listen);
  if (!addr.is_ok()) return fail(addr.status());
  if (Status s = w.claim(); !s.is_ok()) return fail(s);
  // SIGTERM and SIGINT reach only the stopper thread's sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  witness::WitnessServer server(&w);
  auto port = server.bind(addr->first, addr->second);
  if (!port.is_ok()) return fail(port.status());
  std::thread stopper([&server, &signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "sunledger: signal " << sig << ", stopping the witness\n";
    server.stop();
  });
  auto logs = w.trusted_logs();
  std::cerr << "sunledger: witness " << w.name() << " serving on http://" << addr->first << ":" << *port << " with "
            << (logs.is_ok() ? logs->size() : 0) << " trusted log key(s)\n"
            << std::flush;
  bool ok = server.listen();
  if (!ok) kill(getpid(), SIGTERM);  // wake the stopper so it can exit
  stopper.join();
  return ok ? kExitOk : kExitFailure;
}

std::string utc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void add_witness_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "witness init",
      .synopsis = "witness init --name NAME",
      .help = "Makes a witness in the data folder (its own folder, not a ledger's): witness.db and the Ed25519\n"
              "witness key (mode 0600), and prints the witness's verifier key. NAME is a schema-less URL naming\n"
              "the witness in its cosignatures (e.g. witness.lukou.example/w1).",
      .examples = {"--data ./lukou-witness witness init --name witness.lukou.example/w1"},
      .values = {"name"},
      .required = {"name"},
      .run = [](Deployment& d, const Args& a) {
        if (Status s = witness::Witness::init(d.dir, a.get("name")); !s.is_ok()) return fail(s);
        auto w = witness::Witness::open(d.dir);
        if (!w.is_ok()) return fail(w.status());
        std::cout << (*w)->verifier_key() << "\n";
        return kExitOk;
      },
      .needs_ledger = false});
  c.push_back({
      .name = "witness key",
      .synopsis = "witness key",
      .help = "Prints the witness's verifier key (name+id+base64, cosignature/v1), which logs and checkers\n"
              "are configured with.",
      .examples = {"--data ./lukou-witness witness key"},
      .run = [](Deployment& d, const Args&) {
        auto w = witness::Witness::open(d.dir);
        if (!w.is_ok()) return fail(w.status());
        std::cout << (*w)->verifier_key() << "\n";
        return kExitOk;
      },
      .needs_ledger = false});
  c.push_back({
      .name = "witness add-log",
      .synopsis = "witness add-log --origin-prefix PREFIX --key VKEY",
      .help = "Trusts every log whose checkpoint origin starts with PREFIX, signed by the log key VKEY (what\n"
              "`sunledger key show` prints on the log's server). One line covers a county's villages:\n"
              "their origins are ORIGIN/VILLAGE. A running `witness serve` sees it at once.",
      .examples = {"--data ./lukou-witness witness add-log --origin-prefix lukou.example/sunledger/ --key "
                   "'lukou.example/sunledger+1a2b3c4d+AU...'"},
      .values = {"origin-prefix", "key"},
      .required = {"origin-prefix", "key"},
      .run = [](Deployment& d, const Args& a) {
        auto w = witness::Witness::open(d.dir);
        if (!w.is_ok()) return fail(w.status());
        if (Status s = (*w)->add_log(a.get("origin-prefix"), a.get("key")); !s.is_ok()) return fail(s);
        std::cout << "trusting " << a.get("origin-prefix") << "* under " << a.get("key") << "\n";
        return kExitOk;
      },
      .needs_ledger = false});
  c.push_back({
      .name = "witness list-logs",
      .synopsis = "witness list-logs",
      .help = "Lists the trusted origin prefixes with their keys, then each log the witness has cosigned: its\n"
              "origin, size, root and when; each state `witness forget-log` removed (origin, size, who, when,\n"
              "why); and how many refused checkpoints were kept as evidence of a fork.",
      .examples = {"--data ./lukou-witness witness list-logs"},
      .run = [](Deployment& d, const Args&) {
        auto w = witness::Witness::open(d.dir);
        if (!w.is_ok()) return fail(w.status());
        auto logs = (*w)->trusted_logs();
        if (!logs.is_ok()) return fail(logs.status());
        auto states = (*w)->states();
        if (!states.is_ok()) return fail(states.status());
        auto forgotten = (*w)->forgotten_logs();
        if (!forgotten.is_ok()) return fail(forgotten.status());
        auto evidence = (*w)->evidence_count();
        if (!evidence.is_ok()) return fail(evidence.status());
        for (const auto& l : *logs) std::cout << "trust\t" << l.origin_prefix << "\t" << l.verifier_key << "\n";
        for (const auto& s : *states)
          std::cout << "log\t" << s.origin << "\t" << s.size << "\t" << base64_encode(s.root) << "\t" << utc(s.updated_at)
                    << "\n";
        for (const auto& f : *forgotten)
          std::cout << "forgotten\t" << f.origin << "\t" << f.size << "\t" << f.by << "\t" << utc(f.forgotten_at) << "\t"
                    << f.reason << "\n";
        std::cout << "evidence\t" << *evidence << "\n";
        return kExitOk;
      },
      .needs_ledger = false});
  c.push_back({
      .name = "witness forget-log",
      .synopsis = "witness forget-log --origin ORIGIN --by WHO --reason TEXT",
      .help = "Starts the log ORIGIN afresh, for when its county restored a backup older than what the witness\n"
              "cosigned and the inspectors have recorded the incident: in one transaction the witness keeps its\n"
              "state of ORIGIN (size, root, the checkpoint it cosigned) as evidence with WHO, the reason and the\n"
              "time (`witness list-logs` prints it), and removes it, so its next checkpoint of ORIGIN is taken as\n"
              "a log never seen (old 0). Prints the state it forgot. A running `witness serve` sees it at its next\n"
              "request. There is no HTTP way to do this. ORIGIN is the whole origin, as `witness list-logs` prints it.",
      .examples = {"--data ./zhuting-witness witness forget-log --origin lukou.example/sunledger/shuangjiang --by 'zhuting-wang' "
                   "--reason 'county restored the 2026-11-28 backup; recorded by the inspectors as JJW-2026-14'"},
      .values = {"origin", "by", "reason"},
      .required = {"origin", "by", "reason"},
      .run = [](Deployment& d, const Args& a) {
        auto w = witness::Witness::open(d.dir);
        if (!w.is_ok()) return fail(w.status());
        auto f = (*w)->forget_log(a.get("origin"), a.get("by"), a.get("reason"));
        if (!f.is_ok()) return fail(f.status());
        std::cout << "forgotten\t" << f->origin << "\t" << f->size << "\t" << base64_encode(f->root) << "\t"
                  << utc(f->cosigned_at) << "\n"
                  << f->checkpoint << (f->checkpoint.empty() || f->checkpoint.back() == '\n' ? "" : "\n")
                  << "kept as evidence (witness list-logs); the next checkpoint of " << f->origin
                  << " is taken as a log never seen (old 0)\n";
        return kExitOk;
      },
      .needs_ledger = false});
  c.push_back({
      .name = "witness serve",
      .synopsis = "witness serve [--listen HOST:PORT]",
      .help = "Runs the C2SP tlog-witness v1.0.0 endpoint POST /add-checkpoint (default 127.0.0.1:7380) until\n"
              "SIGTERM. Answers: 200 with the cosignature, 400 malformed, 403 no trusted signature, 404 unknown\n"
              "log, 409 with the witness's size (text/x.tlog.size), 413 too large, 422 bad consistency proof.",
      .examples = {"--data ./lukou-witness witness serve --listen 0.0.0.0:7380"},
      .values = {"listen"},
      .run = [](Deployment& d, const Args& a) {
        auto w = witness::Witness::open(d.dir);
        if (!w.is_ok()) return fail(w.status());
        return serve_witness(**w, a.get("listen", "127.0.0.1:7380"));
      },
      .needs_ledger = false});
  // The county's side: witnesses its server stopped asking (README "The
  // county's server asks its witnesses").
  c.push_back({
      .name = "witness-refusals list",
      .synopsis = "witness-refusals list",
      .help = "Lists the witnesses the server stopped submitting a log to because the witness had seen another\n"
              "history (a larger tree, another root at the same size, or a refused consistency proof): the\n"
              "witness (its key name), the log, the size the witness holds, the reason and when (local time).",
      .examples = {"witness-refusals list"},
      .run = [](Deployment& d, const Args&) {
        auto refusals = d.ledger->witness_refusals();
        if (!refusals.is_ok()) return fail(refusals.status());
        for (const auto& r : *refusals)
          std::cout << r.witness << "\t" << r.log << "\t" << r.witness_size << "\t" << r.reason << "\t"
                    << local_time(d, r.at) << "\n";
        if (refusals->empty()) std::cout << "no witness refused a log\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "witness-refusals clear",
      .synopsis = "witness-refusals clear --witness NAME --log LOG --by WHO --reason TEXT",
      .help = "Lets the server submit LOG to the witness NAME (its key name, as `witness-refusals list` prints it)\n"
              "again, once the inspectors have looked into the refusal. Records in the signed admin log who\n"
              "(WHO, as you name them) cleared it and why, and tells the village's inspectors privately. A\n"
              "running server asks the witness again at its next round.",
      .examples = {"witness-refusals clear --witness witness.zhuting.example/w1 --log shuangjiang --by 'jjw-li' "
                   "--reason 'the witness was restored from a backup of another county'"},
      .values = {"witness", "log", "by", "reason"},
      .required = {"witness", "log", "by", "reason"},
      .extends = [](const Args&) { return std::string(DirectoryStore::kLogName); },
      .run = [](Deployment& d, const Args& a) {
        if (Status s = d.bot->clear_witness_refusal(a.get("log"), a.get("witness"), a.get("by"), a.get("reason"),
                                                    cli_author());
            !s.is_ok())
          return fail(s);
        std::cout << "cleared: the server asks witness " << a.get("witness") << " about " << a.get("log")
                  << " again; recorded in the admin log\n";
        return kExitOk;
      }});
}

}  // namespace sunledger::cli
