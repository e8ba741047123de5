// The log asks its witnesses (issue #15 item 3): every log's latest
// checkpoint (the villages', and every other log the server signs: the
// deliveries, complaint, registry and admin logs...), and each village's
// month closing checkpoints, go to every configured
// witness as a C2SP tlog-witness v1.0.0 add-checkpoint request, with the
// consistency proof from the size that witness last cosigned. A cosignature
// that verifies under the witness's key is stored with the checkpoint
// (Ledger::add_cosignature), and from then on served with it.
//
// Batching: a round every `interval` looks at every log and submits
// what changed since the witness's last cosignature, so a burst of posts
// costs each witness one request per log and interval. The complaint and
// deliveries logs go on a coarse schedule (kCoarseLogInterval): their
// growth would time each complaint filed.
// Month closes: a round first submits the closed months' checkpoints the
// witness has not seen (oldest first), so every notice's checkpoint gets
// witnessed even when later entries, or another month's close, followed it
// within the interval.
//
// Answers: 409 carries the witness's size; the request is retried once from
// it. A witness holding a larger tree than the log, or another root at the
// same size (409 again from its own size), or refusing the proof from its
// own size (422), has seen a different history: a rollback or a fork. The log
// stops submitting to it (Bot::refuse_witness: the row and a signed
// admin-log entry, kept across restarts) and the inspectors are alerted at
// once (`alarm`). A refusal row no signed entry records (put in with sqlite3)
// is alarmed once and not obeyed. Unreachable witnesses and other refusals
// (404, 403, 5xx) are logged and tried again next round.
//
// Thread safety: start() runs rounds on a thread of its own until stop().
// round() is for tests and runs on the caller's thread (never together with
// a started thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"

namespace sunledger {

class Bot;

// How often the logs whose growth times a person's act (the complaint log:
// each filing; the deliveries log: each push, a complaint's receipt among
// them) go to the witnesses: at the first round after a start, then at most
// this often (review R1). Submitted every round, each witness (and anyone on
// the path of a plain http:// witness) learned within seconds of every
// complaint filed; now it learns how many a log grew by per hour. A rollback
// of such a log is refused at its next submission, so up to this long later.
inline constexpr std::chrono::hours kCoarseLogInterval{1};

struct WitnessSubmitterOptions {
  std::chrono::milliseconds interval{3000};
  // A log unchanged since a witness cosigned it is submitted again at the
  // first round and then this often, so a log rolled back to a state the
  // witness cosigned earlier is refused without waiting for it to grow.
  std::chrono::milliseconds recheck{std::chrono::minutes(10)};
  // The complaint and deliveries logs (changed or not): at the first round,
  // then at most this often (kCoarseLogInterval; tests shorten it).
  std::chrono::milliseconds coarse{kCoarseLogInterval};
  // Raised once per (witness, log) refused: app/ wires it to the inspectors'
  // private alert (Bot::alert_inspectors). Null: logged only.
  std::function<void(const std::string& text)> alarm;
  // Called after every round of the started thread (app/ wires it to the
  // witness quorum's release of held notices, webhooks/notice_quorum.h), so
  // a notice is released in the round that stored its K-th cosignature, and
  // looked at again every round after. Null: nothing.
  std::function<void()> after_round;
};

// Borrows ledger, bot (the refusals' signed record) and client, which must outlive it.
class WitnessSubmitter {
 public:
  WitnessSubmitter(Ledger* ledger, Bot* bot, std::vector<WitnessConfig> witnesses, HttpClient* client,
                   WitnessSubmitterOptions options);
  ~WitnessSubmitter();

  void start();
  void stop();

  // One round, now: every log to every witness. Returns how many
  // cosignatures were stored.
  Result<size_t> round();

 private:
  enum class Outcome { kCosigned, kRetry, kRefused, kFailed };
  // village: the log is a village's (its month closes go first).
  Result<size_t> submit_log(const WitnessConfig& w, const std::string& log, bool village);
  std::string log_label(const std::string& log) const;
  Outcome submit(const WitnessConfig& w, const std::string& log, const std::string& note, uint64_t* known);
  void refuse(const WitnessConfig& w, const std::string& log, uint64_t witness_size, const std::string& why);
  void run();

  Ledger* ledger_;
  Bot* bot_;
  std::vector<WitnessConfig> witnesses_;
  HttpClient* client_;
  WitnessSubmitterOptions options_;
  // What each witness (by key name) holds of each log, as far as this server
  // knows: the size it last cosigned or told us in a 409. Loaded from the
  // stored cosignatures on first use.
  std::map<std::pair<std::string, std::string>, uint64_t> known_;
  std::set<std::pair<std::string, std::string>> refused_;  // (witness key name, log): not asked
  // This run's own refusals (refuse()), with whether a row of them was seen.
  std::map<std::pair<std::string, std::string>, bool> own_;
  // The rows no signed entry records, alarmed once.
  std::set<std::pair<std::string, std::string>> unrecorded_;
  // Witnesses (by configured name) whose last request could not be sent,
  // with why: said once per outage (submit()).
  std::map<std::string, std::string> unreachable_;
  // The last answer other than 200/409/422 of each (witness name, log): said once (submit()).
  std::map<std::pair<std::string, std::string>, int> answered_;
  bool loaded_ = false;
  // When each (witness key name, log) last had its unchanged checkpoint
  // submitted again (see WitnessSubmitterOptions::recheck).
  std::map<std::pair<std::string, std::string>, std::chrono::steady_clock::time_point> confirmed_;
  // When each (witness key name, coarse log) was last submitted (see
  // WitnessSubmitterOptions::coarse).
  std::map<std::pair<std::string, std::string>, std::chrono::steady_clock::time_point> coarse_sent_;
  // (witness key name, log) whose log vanished while the witness held some
  // of it: alarmed once (review R1: a log dropped whole is a rollback to 0).
  std::set<std::pair<std::string, std::string>> vanished_;
  // Whether `log` goes on the coarse schedule, and whether it is due now for `w`.
  bool coarse_due(const WitnessConfig& w, const std::string& log);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sunledger
