#include "webhooks/notice_quorum.h"

#include <iostream>

#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/tlog_proof.h"
#include "webhooks/http_server.h"

namespace sunledger {

namespace {

std::string names(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& n : v) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

NoticeQuorum::NoticeQuorum(Ledger* ledger, int quorum, const std::vector<WitnessConfig>& witnesses)
    : ledger_(ledger), quorum_(quorum), outbox_(ledger) {
  for (const auto& w : witnesses)
    if (!w.retired) keys_.push_back(w.key);
}

size_t NoticeQuorum::count_on_note(const std::string& note) const {
  size_t n = 0;
  for (const auto& key : keys_)
    if (verify_cosignature(note, key).is_ok()) ++n;
  return n;
}

std::vector<std::string> NoticeQuorum::cosigners(const std::string& text) const {
  auto block = parse_tlog_proof(text);
  if (!block.is_ok()) return {};
  // The log's own signature first: cosignatures on a note the log never
  // signed vouch for nothing.
  if (!open_checkpoint(block->checkpoint, ledger_->verifier_key()).is_ok()) return {};
  std::vector<std::string> out;
  for (const auto& key : keys_)
    if (verify_cosignature(block->checkpoint, key).is_ok()) out.push_back(key.substr(0, key.find('+')));
  return out;
}

bool NoticeQuorum::carries_quorum(const std::string& text) const {
  if (quorum_ <= 0) return true;
  return cosigners(text).size() >= static_cast<size_t>(quorum_);
}

// A dead letter the deliveries log refused to record: said here and to
// on_record_refused_ (serve alarms the inspectors on it, review R1); the
// refusal itself has serve check the ledger at once (Ledger::set_on_refused_write).
void NoticeQuorum::said_refused(const OutboxMessage& m, const std::string& refused) {
  if (refused.empty()) return;
  std::string line = "held push " + std::to_string(m.id) + " via " + log_safe(m.bot_id) +
                     " was given up on but the deliveries log refused to record it (" + log_safe(refused) + ")";
  std::cerr << "sunledger: " << line << "\n";
  if (on_record_refused_) on_record_refused_(line);
}

Result<size_t> NoticeQuorum::release_round() {
  if (quorum_ <= 0) return size_t{0};
  auto held = outbox_.held_notices();
  if (!held.is_ok()) return held.status();
  size_t released = 0;
  int64_t now = ledger_->clock().now_unix_seconds();
  delivered_.reset();  // deliveries since the last round count
  for (const auto& m : *held) {
    // A row not signed by this deployment (its text, village or month
    // edited by hand) is never signed again here, and is a dead letter now:
    // the sender never sees a held row, and left held it would stay its
    // chat's head for ever, silently holding back every later push.
    if (!outbox_.authentic(m)) {
      std::string refused;
      Status dead = outbox_.mark_dead(m.id, now, DeadReason::kTampered,
                                      "a held notice not signed by this deployment (edited by hand?)", false, "", &refused);
      said_refused(m, refused);
      if (!dead.is_ok()) return dead;
      std::cerr << "sunledger: held push " << m.id << " via " << m.bot_id
                << " is not signed by this deployment: TAMPERED, never sent (a dead letter)\n";
      continue;
    }
    auto r = try_release(m, now);
    if (!r.is_ok()) return r.status();
    if (*r) ++released;
  }
  return released;
}

Result<bool> NoticeQuorum::try_release(const OutboxMessage& m, int64_t now) {
  // Released already, with the quorum in its text: the sender's to deliver.
  if (m.released_at != 0 && carries_quorum(m.text)) return false;
  auto close = ledger_->month_close(m.held_village, m.held_month);
  if (!close.is_ok()) {
    say_held(m, 0, "its month's close cannot be read: " + close.status().message());
    return false;
  }
  // The month's checkpoint with the cosignatures stored for it, each checked
  // under its configured key (Ledger::month_close); counted again here under
  // the non-retired witnesses' keys only.
  size_t have = count_on_note(close->checkpoint);
  // The text's block: the month's statement, in a checkpoint of this log at
  // the month's size or later (a notice released on a later one and put
  // back to held by the sender carries that one). It is rewritten whole.
  auto block = parse_tlog_proof(m.text);
  std::string old_block = block.is_ok() ? format_tlog_proof(*block) : "";
  size_t start = block.is_ok() ? m.text.rfind(old_block) : std::string::npos;
  Result<Checkpoint> carried =
      block.is_ok() ? open_checkpoint(block->checkpoint, ledger_->verifier_key()) : Result<Checkpoint>(block.status());
  auto month_cp = open_checkpoint(close->checkpoint, ledger_->verifier_key());
  if (start == std::string::npos || !carried.is_ok() || !month_cp.is_ok() || carried->origin != month_cp->origin ||
      carried->size < month_cp->size || block->index != close->statement_index ||
      block->extra != close->statement_leaf) {
    say_held(m, have, "its text carries no proof block of the month's statement, so it cannot carry the cosignatures");
    return false;
  }
  TlogProof rewritten{close->statement_leaf, close->statement_index, close->statement_proof, close->checkpoint};
  std::string which = "its checkpoint";
  if (have < static_cast<size_t>(quorum_)) {
    // A witness carried past the month's checkpoint before it cosigned it
    // (another node, or this one after a restart, submitted a later one
    // first) never cosigns it: it never goes back. A later checkpoint the
    // quorum cosigned proves the statement as well, with the statement's
    // inclusion proof at that size.
    auto later = ledger_->later_cosigned_inclusion(m.held_village, close->statement_index, close->tree_size, keys_,
                                                   static_cast<size_t>(quorum_));
    if (!later.is_ok()) {
      if (later.status().code() != Code::kNotFound)
        say_held(m, have, "later checkpoints cannot be read: " + later.status().message());
      else
        say_held(m, have);
      return false;
    }
    rewritten.proof = later->proof;
    rewritten.checkpoint = later->checkpoint;
    have = count_on_note(later->checkpoint);
    which = "a later checkpoint of its log (size " + std::to_string(later->size) + ", the month's " +
            std::to_string(close->tree_size) + ")";
  }
  // Checked as a villager's `check --proof` will check it, before it is
  // signed: a proof built from a nodes row edited by hand must not go out
  // under this deployment's signature.
  if (auto checked = verify_tlog_proof(rewritten, ledger_->verifier_key(), {}); !checked.is_ok()) {
    say_held(m, have, "the proof built for it does not verify (" + checked.status().message() + "; run `sunledger verify`)");
    return false;
  }
  std::string text = m.text.substr(0, start) + format_tlog_proof(rewritten) + m.text.substr(start + old_block.size());
  if (!carries_quorum(text)) {
    say_held(m, have, "the re-rendered notice does not carry them");
    return false;
  }
  // Signed by this deployment, but delivered already: the row was put back
  // from a copy taken while it was held. Released, it would be signed again
  // over a text with the cosignatures stored since, and so go out as a push
  // the deliveries log does not know by its new signature.
  auto replayed = delivered_already(m);
  if (!replayed.is_ok()) return replayed.status();
  if (*replayed) {
    std::string refused;
    Status dead = outbox_.mark_dead(m.id, now, DeadReason::kTampered,
                                    "delivered already (the deliveries log records it); its row was put back", false,
                                    "", &refused);
    said_refused(m, refused);
    if (!dead.is_ok()) return dead;
    std::cerr << "sunledger: held push " << m.id << " via " << m.bot_id
              << " was delivered already and its row put back: REPLAYED, TAMPERED, never released nor sent again "
                 "(a dead letter)\n";
    std::lock_guard<std::mutex> lock(mu_);
    said_.erase(m.id);
    return false;
  }
  auto changed = outbox_.release(m, text, now);
  if (!changed.is_ok()) return changed.status();
  if (!*changed) return false;  // delivered, given up on or edited meanwhile: looked at next round
  std::cerr << "sunledger: monthly notice of " << m.held_village << " " << m.held_month << " (push " << m.id << " via "
            << m.bot_id << ") released to its group: " << names(cosigners(text)) << " cosigned " << which << " (" << have
            << " of the " << quorum_ << " required; held since " << utc_timestamp(m.created_at) << ")\n";
  std::lock_guard<std::mutex> lock(mu_);
  said_.erase(m.id);
  return true;
}

Result<bool> NoticeQuorum::delivered_already(const OutboxMessage& m) {
  if (!delivered_) {
    auto r = deliveries::recorded(*ledger_);
    if (!r.is_ok()) return r.status();  // not knowing what went out, release nothing
    delivered_ = std::move(*r);
  }
  return delivered_->contains_push(m.id, m.signature, m.held_push);
}

void NoticeQuorum::say_held(const OutboxMessage& m, size_t have, const std::string& why) {
  std::string line = "monthly notice of " + m.held_village + " " + m.held_month + " (push " + std::to_string(m.id) +
                     " via " + m.bot_id + ") held since " + utc_timestamp(m.created_at) + ": " + std::to_string(have) +
                     " of the " + std::to_string(quorum_) + " witnesses required cosigned its checkpoint" +
                     (why.empty() ? "; it goes to the group once they have" : "; " + why);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (said_[m.id] == line) return;  // said once per change, not every round
    said_[m.id] = line;
  }
  std::cerr << "sunledger: " << line << "\n";
}

}  // namespace sunledger
