// `serve --check` reaching the configured witnesses: one harmless request to
// each one's submission prefix, to tell a witness that answers and knows this
// log from one that is down or configured wrong, before serve relies on it.
#include <string>
#include <vector>

#include "app/serve_internal.h"
#include "bot/deliveries.h"
#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/merkle.h"
#include "webhooks/http_client.h"

namespace sunledger::cli {

namespace {

// The probe: `old 0`, no proof, and a size-0 checkpoint of one of this
// server's logs (the first village's, or ORIGIN/serve-check when there is
// none) whose only signature line names the log key, by its name and key id,
// over 64 zero bytes. A tlog-witness checks the origin against the logs it
// trusts (404 when it trusts none that covers it) and then the log key's
// signature (403 when it does not verify) before it reads or changes any
// state: the answer says whether the witness is there and trusts this log's
// origin, and nothing is cosigned, recorded or kept as evidence (a witness
// keeps only validly signed checkpoints it refused).
std::string probe(Deployment& d, std::string log) {
  if (log.empty()) {
    auto villages = d.ledger->villages();
    log = villages.is_ok() && !villages->empty() ? villages->front().id : "serve-check";
  }
  Checkpoint cp{d.ledger->origin() + "/" + log, 0, merkle_empty_root()};
  std::string vkey = d.ledger->verifier_key();  // name+hexid+base64
  size_t plus = vkey.find('+');
  auto id = hex_decode(vkey.substr(plus + 1, 8));
  std::string signature = (id.is_ok() ? *id : std::string(4, '\0')) + std::string(64, '\0');
  return "old 0\n\n" + checkpoint_body(cp) + "\n\xE2\x80\x94 " + vkey.substr(0, plus) + " " + base64_encode(signature) +
         "\n";
}

}  // namespace

std::vector<WitnessReach> reach_witnesses(Deployment& d, const std::vector<WitnessConfig>& witnesses) {
  std::vector<WitnessReach> out;
  auto client = make_http_client(HttpClientOptions{5000, 4096});
  const std::string body = probe(d, "");
  // The server's other logs go to the witnesses too (the deliveries log
  // rolled back is refused by them): a witness trusting the villages' origins
  // one by one would answer 404 for those.
  const std::string other = probe(d, deliveries::kLogName);
  auto send = [&](const WitnessConfig& w, const std::string& probe_body) {
    OutboundRequest req;
    req.url = w.url + "/add-checkpoint";
    req.body = probe_body;
    req.content_type = "text/plain; charset=utf-8";
    return client->send(req);
  };
  for (const auto& w : witnesses) {
    if (w.retired) continue;
    auto r = send(w, body);
    std::string who = "witness \"" + w.name + "\" (" + w.key_name() + ") at " + w.url;
    auto r2 = r.is_ok() && r->status == 403 ? send(w, other) : r;
    if (r.is_ok() && r->status == 403 && (!r2.is_ok() || r2->status != 403)) {
      out.push_back({false, who + " trusts the villages' logs but not " + d.ledger->origin() + "/" +
                                deliveries::kLogName + " (the server's other logs go to it too): run `sunledger witness "
                                "add-log --origin-prefix " + d.ledger->origin() + "/ --key '" + d.ledger->verifier_key() +
                                "'` on the witness"});
    } else if (!r.is_ok()) {
      out.push_back({false, who + " is unreachable: " + r.status().message() +
                                      " (the server cannot have its checkpoints cosigned)"});
    } else if (r->status == 403) {
      out.push_back({true, who + " answers and trusts this server's logs (a probe with a broken signature was "
                                        "refused with 403, as it must be)"});
    } else if (r->status == 404) {
      out.push_back({false, who + " answers but does not know this server's logs: run `sunledger witness add-log "
                                         "--origin-prefix " + d.ledger->origin() + "/ --key '" + d.ledger->verifier_key() +
                                         "'` on the witness"});
    } else {
      out.push_back({false, who + " answered HTTP " + std::to_string(r->status) +
                                       " to POST /add-checkpoint, not what a tlog-witness answers (is url its "
                                       "submission prefix?): " + r->body.substr(0, 120)});
    }
  }
  return out;
}

}  // namespace sunledger::cli
