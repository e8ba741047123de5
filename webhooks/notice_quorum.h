// `serve --witness-quorum K` (issue #15): a month's notice reaches the groups
// only once K of the configured, non-retired witnesses cosigned the month's
// closing checkpoint, the one its tlog-proof block carries, and it then
// carries their cosignatures.
//
// How: every monthly notice is queued (in the month close's transaction)
// naming its village and month (OutboxMessage::held_village). After each of
// the witness submitter's rounds, release_round() looks at every held notice
// again: when the month's checkpoint carries K cosignatures that verify under
// the configured keys, the notice's proof block gets them (the checkpoint
// replaced by the cosigned one), the row is signed again and marked released
// in one transaction. A witness carried past the month's checkpoint before
// it cosigned it (another node, or this one after a restart, submitted a
// later one first) never cosigns it; then the smallest later checkpoint K
// witnesses cosigned does (Ledger::later_cosigned_inclusion): the block is
// rewritten with it and the statement's inclusion proof at its size. The sender never trusts that mark: before sending a
// notice it checks, in the text it is about to send, the log's signature
// and K witnesses' cosignatures under their configured keys (carries_quorum).
// Held notices are said on stderr, with since when, each time the count of
// cosignatures changes (and once at every start). A held row the deliveries
// log records delivered (a copy taken while it was held, put back after its
// delivery) is never released: a dead letter for tampering (bot/deliveries.h).
//
// Thread safety: carries_quorum() from any thread (no state); release_round()
// from one thread at a time (the submitter's).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bot/deliveries.h"
#include "bot/outbox.h"
#include "ledger/ledger.h"
#include "webhooks/config.h"

namespace sunledger {

// Borrows the ledger, which must outlive it.
class NoticeQuorum {
 public:
  // witnesses: the configuration's; the retired ones do not count.
  NoticeQuorum(Ledger* ledger, int quorum, const std::vector<WitnessConfig>& witnesses);

  int quorum() const { return quorum_; }
  // Called (on the releasing thread) when a held notice was given up on but
  // the deliveries log refused to record it, with a line saying which push
  // and why: serve alerts the inspectors and checks the ledger, as for the
  // sender's (OutboxSenderOptions::on_record_refused). Before release_round runs.
  void set_on_record_refused(std::function<void(const std::string& what)> f) { on_record_refused_ = std::move(f); }

  // The names of the counted witnesses whose cosignature verifies on the
  // checkpoint of the text's tlog-proof block; none when the text has no
  // block or its checkpoint is not signed by this log's key.
  std::vector<std::string> cosigners(const std::string& text) const;
  // Whether a notice may go out: K counted witnesses cosigned its checkpoint
  // (always true for K = 0).
  bool carries_quorum(const std::string& text) const;

  // Releases every held notice whose month's checkpoint is now cosigned by
  // K counted witnesses; says the others on stderr. Returns how many were
  // released (the caller wakes the sender).
  Result<size_t> release_round();

 private:
  size_t count_on_note(const std::string& note) const;
  void said_refused(const OutboxMessage& m, const std::string& refused);
  // Re-renders and releases one notice; false when it still waits.
  Result<bool> try_release(const OutboxMessage& m, int64_t now);
  void say_held(const OutboxMessage& m, size_t have, const std::string& why = "");
  // Whether the deliveries log records the notice delivered already.
  Result<bool> delivered_already(const OutboxMessage& m);

  Ledger* ledger_;
  int quorum_;
  std::vector<std::string> keys_;  // the counted witnesses' verifier keys
  Outbox outbox_;
  std::mutex mu_;
  std::map<int64_t, std::string> said_;  // by row: what was last said of it
  // The deliveries log as read in this round (only once a release is due:
  // most rounds release nothing), so one round releasing many months reads it once.
  std::optional<deliveries::Delivered> delivered_;
  std::function<void(const std::string&)> on_record_refused_;
};

}  // namespace sunledger
