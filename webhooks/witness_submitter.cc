#include "webhooks/witness_submitter.h"

#include <algorithm>
#include <iostream>

#include "bot/bot.h"
#include "bot/complaints.h"
#include "bot/deliveries.h"
#include "ledger/checkpoint.h"
#include "ledger/crypto.h"

namespace sunledger {

namespace {

// Whether a note carries a signature line of that name (a cosignature stored
// with it: Ledger::checkpoint merges them).
bool carries(const std::string& note, const std::string& name) {
  return note.find("\n\xE2\x80\x94 " + name + " ") != std::string::npos;
}

}  // namespace

// How an alarm names a log: a village's as its book, the others by what they
// hold (the ids are the logs' own names, which inspectors also see in verify).
std::string WitnessSubmitter::log_label(const std::string& log) const {
  if (log == deliveries::kLogName) return "推送记录账本 deliveries (the log of pushes queued, sent and given up on)";
  if (log == Complaints::kLogName) return "投诉账本 complaints (the complaint log)";
  if (log == Ledger::kRegistryLog) return "村名册账本 villages (the village registry)";
  auto village = ledger_->village(log);
  if (village.is_ok()) return "村账本 " + log;
  return "账本 " + log + " (log " + log + ")";
}

WitnessSubmitter::WitnessSubmitter(Ledger* ledger, Bot* bot, std::vector<WitnessConfig> witnesses, HttpClient* client,
                                   WitnessSubmitterOptions options)
    : ledger_(ledger), bot_(bot), witnesses_(std::move(witnesses)), client_(client), options_(std::move(options)) {}

WitnessSubmitter::~WitnessSubmitter() { stop(); }

void WitnessSubmitter::start() {
  if (thread_.joinable() || std::none_of(witnesses_.begin(), witnesses_.end(), [](const WitnessConfig& w) { return !w.retired; }))
    return;
  thread_ = std::thread([this] { run(); });
}

void WitnessSubmitter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WitnessSubmitter::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto n = round();
    if (!n.is_ok()) std::cerr << "sunledger: witnesses: " << n.status().to_string() << "\n";
    if (options_.after_round) options_.after_round();
    lock.lock();
    cv_.wait_for(lock, options_.interval, [&] { return stopping_; });
  }
}

Result<size_t> WitnessSubmitter::round() {
  // Before the first judgement: the rows an older version made, listed once
  // in the signed admin log, so they are not taken for rows put in by hand.
  if (!loaded_)
    if (Status s = bot_->list_witness_refusals_before(); !s.is_ok())
      std::cerr << "sunledger: witnesses: the refusals made before this version could not be listed: " << s.to_string()
                << "\n";
  // Read every round: `witness-refusals clear` (another process) removes a
  // refusal, and the witness is asked again from what it cosigned.
  auto refusals = bot_->witness_refusals();
  if (!refusals.is_ok()) return refusals.status();
  std::set<std::pair<std::string, std::string>> refused, rows;
  for (const auto& r : refusals->recorded) refused.insert({r.witness, r.log});
  rows = refused;
  // A row no signed admin-log entry records was put in (or edited) by hand
  // with sqlite3, which needs no key: obeyed, it silenced the witness that
  // would refuse a rolled-back log, unannounced (review R1). Never obeyed:
  // alarmed once, and the witness is asked all the same.
  std::set<std::pair<std::string, std::string>> unrecorded;
  for (const auto& r : refusals->unrecorded) unrecorded.insert({r.witness, r.log});
  for (auto it = unrecorded_.begin(); it != unrecorded_.end();)  // cleared: alarmed again if put back
    it = unrecorded.count(*it) ? std::next(it) : unrecorded_.erase(it);
  for (const auto& r : refusals->unrecorded) {
    rows.insert({r.witness, r.log});
    if (!unrecorded_.insert({r.witness, r.log}).second) continue;
    std::string text = "【见证人报警 (witness alarm)】" + log_label(r.log) + ":数据库里有一条停止向见证人“" + r.witness +
                       "”提交的记录,但这不是本服务器记录的拒绝,签名的管理日志里没有它(数据库被人直接改过?)。本服务器不理会它,"
                       "照常向这个见证人提交。请用 sunledger witness-refusals list 和 sunledger verify 核对。(a refusal of "
                       "this witness that no signed admin-log entry records: the database was changed by hand? It is "
                       "not obeyed: the server keeps asking the witness)";
    std::cerr << "sunledger: ALARM: " << text << "\n";
    if (options_.alarm) options_.alarm(text);
  }
  // This run's own refusals hold while a row of them stands (recorded, or
  // one put in by hand before them, which keeps its place), or while none
  // was ever seen (the write refused: a ledger that failed verification):
  // asked again every round, the witness would be alarmed about every round.
  // A row seen and then gone was cleared: the witness is asked again.
  for (auto it = own_.begin(); it != own_.end();) {
    bool stands = rows.count(it->first) != 0;
    if (!stands && it->second) {
      it = own_.erase(it);
      continue;
    }
    it->second = it->second || stands;
    refused.insert(it->first);
    ++it;
  }
  // Cleared: its size is read again from the cosignatures, and it is asked
  // at this round even when the log is unchanged and carries its cosignature
  // (a restored backup does), since after `witness forget-log` it holds none.
  if (loaded_)
    for (const auto& was : refused_)
      if (!refused.count(was)) {
        known_.erase(was);
        confirmed_.erase(was);
      }
  refused_ = std::move(refused);
  loaded_ = true;
  // Every log the server signs, not only the villages': the deliveries log
  // (what went out, what was queued and given up on), the complaint log, the
  // registry and the others. Copied back to an earlier state with sqlite3,
  // such a log forgets what came after and still verifies; a witness holding
  // its larger tree is what tells (review R2).
  auto villages = ledger_->villages();
  if (!villages.is_ok()) return villages.status();
  auto names = ledger_->log_names();
  if (!names.is_ok()) return names.status();
  std::set<std::string> village_ids;
  for (const auto& v : *villages) village_ids.insert(v.id);
  // A log a witness cosigned that is no longer there was dropped whole (its
  // logs row, entries and cosignatures deleted with sqlite3): rolled back to
  // nothing, which no submission can show the witness. Alarmed once.
  std::set<std::string> present(names->begin(), names->end());
  for (const auto& w : witnesses_)
    for (const auto& [key, size] : known_)
      if (!w.retired && key.first == w.key_name() && size > 0 && !present.count(key.second) &&
          vanished_.insert(key).second)
        refuse(w, key.second, size, "它持有" + std::to_string(size) + "条的账本,本服务器上却已不见 (the log is gone: "
                                    "dropped whole, a rollback to nothing)");
  size_t stored = 0;
  for (const auto& w : witnesses_)
    for (const auto& log : *names) {
      if (w.retired) break;
      if (refused_.count({w.key_name(), log})) continue;
      if (!coarse_due(w, log)) continue;
      auto n = submit_log(w, log, village_ids.count(log) != 0);
      if (!n.is_ok()) return n.status();  // our own storage: the next round tries again
      stored += *n;
    }
  return stored;
}

bool WitnessSubmitter::coarse_due(const WitnessConfig& w, const std::string& log) {
  if (log != Complaints::kLogName && log != deliveries::kLogName) return true;
  auto key = std::make_pair(w.key_name(), log);
  auto now = std::chrono::steady_clock::now();
  auto last = coarse_sent_.find(key);
  if (last != coarse_sent_.end() && now - last->second < options_.coarse) return false;
  coarse_sent_[key] = now;
  return true;
}

Result<size_t> WitnessSubmitter::submit_log(const WitnessConfig& w, const std::string& log, bool village) {
  auto key = std::make_pair(w.key_name(), log);
  if (!known_.count(key)) {
    auto cosigned = ledger_->cosigned_size(log, w.key_name());
    if (!cosigned.is_ok()) return cosigned.status();
    known_[key] = *cosigned;
  }
  uint64_t& known = known_[key];
  auto note = ledger_->checkpoint(log);
  if (!note.is_ok()) return note.status();
  auto cp = open_checkpoint(*note, ledger_->verifier_key());
  if (!cp.is_ok()) return cp.status();
  if (cp->size == 0) return size_t{0};
  if (cp->size == known && carries(*note, w.key_name())) {
    // Nothing new. Asked again all the same at the first round after a start
    // and every `recheck` after: a log copied back with sqlite3 to a state
    // the witness cosigned before (its logs row, entries, subtree hashes and
    // cosignatures) looks unchanged here, and only the witness knows it holds
    // more. It answers 409 with its larger size (refused and alarmed below),
    // or cosigns the same checkpoint again (nothing new is stored).
    auto now = std::chrono::steady_clock::now();
    auto last = confirmed_.find(key);
    if (last != confirmed_.end() && now - last->second < options_.recheck) return size_t{0};
    confirmed_[key] = now;
    (void)submit(w, log, *note, &known);
    return size_t{0};
  }
  size_t stored = 0;
  // The months' closing checkpoints the witness has not seen first, oldest
  // first: the notices carry them (and a server with a witness quorum holds
  // each notice until they are cosigned). A witness never cosigns a size
  // below one it holds, so a close left behind would wait forever.
  std::vector<MonthClose> closes;  // only a village's log closes months
  if (village) {
    auto read = ledger_->month_closes(log);
    if (!read.is_ok()) return read.status();
    closes = std::move(*read);
  }
  for (const auto& close : closes) {
    if (close.tree_size <= known || close.tree_size >= cp->size || carries(close.checkpoint, w.key_name())) continue;
    Outcome o = submit(w, log, close.checkpoint, &known);
    if (o == Outcome::kCosigned) ++stored;
    if (o == Outcome::kRefused || o == Outcome::kFailed) return stored;
  }
  if (submit(w, log, *note, &known) == Outcome::kCosigned) ++stored;
  return stored;
}

// Long (about 75 lines): one request and the retries a 409 asks for, with
// each answer's meaning read where it is handled.
WitnessSubmitter::Outcome WitnessSubmitter::submit(const WitnessConfig& w, const std::string& log,
                                                   const std::string& given, uint64_t* known) {
  std::string note = given;
  auto cp = open_checkpoint(note, ledger_->verifier_key());
  if (!cp.is_ok()) return Outcome::kFailed;
  // A witness holding more than the note read here is a fork only when the
  // log itself holds less: another server sharing the database (issue #17)
  // may have appended and had it cosigned since. Then the log's checkpoint
  // now is what is submitted, never an alarm.
  auto caught_up = [&](uint64_t held) {
    auto now = ledger_->checkpoint(log);
    if (!now.is_ok()) return false;
    auto fresh = open_checkpoint(*now, ledger_->verifier_key());
    if (!fresh.is_ok() || fresh->size < held) return false;
    note = *now;
    cp = std::move(fresh);
    return true;
  };
  for (int attempt = 0; attempt < 3; ++attempt) {
    uint64_t old = *known;
    if (old > cp->size && caught_up(old)) continue;
    if (old > cp->size) {
      refuse(w, log, old, "它持有" + std::to_string(old) + "条的账本,比本服务器的" + std::to_string(cp->size) +
                              "条还多 (it holds a larger tree than the log)");
      return Outcome::kRefused;
    }
    std::string body = "old " + std::to_string(old) + "\n";
    if (old > 0 && old < cp->size) {
      auto proof = ledger_->consistency_proof(log, old, cp->size);
      if (!proof.is_ok()) return Outcome::kFailed;
      for (const auto& h : *proof) body += base64_encode(h) + "\n";
    }
    body += "\n" + note;
    OutboundRequest req;
    req.url = w.url + "/add-checkpoint";
    req.body = body;
    req.content_type = "text/plain; charset=utf-8";
    auto r = client_->send(req);
    if (!r.is_ok()) {
      // Said once per outage, not once per log every round: a witness down
      // for an hour would otherwise fill the log with one line per village
      // every few seconds and bury everything else.
      std::string why = r.status().to_string();
      auto& last = unreachable_[w.name];
      if (last != why)
        std::cerr << "sunledger: witness " << w.name << " cannot be reached (" << why
                  << "); tried again every round, said again when it answers or fails otherwise\n";
      last = why;
      return Outcome::kFailed;
    }
    if (auto it = unreachable_.find(w.name); it != unreachable_.end()) {
      std::cerr << "sunledger: witness " << w.name << " answers again\n";
      unreachable_.erase(it);
    }
    if (r->status == 200) {
      answered_.erase({w.name, log});
      if (Status s = ledger_->add_cosignature(log, note + r->body, w.key); !s.is_ok()) {
        std::cerr << "sunledger: witness " << w.name << ": its answer holds no valid cosignature: " << s.to_string() << "\n";
        return Outcome::kFailed;
      }
      *known = cp->size;
      return Outcome::kCosigned;
    }
    if (r->status == 409) {
      std::string text = r->body.substr(0, r->body.find('\n'));
      if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) {
        std::cerr << "sunledger: witness " << w.name << ": 409 without a size\n";
        return Outcome::kFailed;
      }
      uint64_t held = std::stoull(text);
      if (held > cp->size && caught_up(held)) {
        *known = held;
        continue;
      }
      if (held > cp->size) {
        refuse(w, log, held, "它持有" + std::to_string(held) + "条的账本,比本服务器的" + std::to_string(cp->size) +
                                 "条还多 (it holds a larger tree than the log)");
        return Outcome::kRefused;
      }
      if (held == old) {  // its own size, and still refused: another root at that size
        refuse(w, log, held, "它持有的" + std::to_string(held) + "条账本和本服务器的不一样 (another root at the same size)");
        return Outcome::kRefused;
      }
      *known = held;  // retried from the size it holds
      continue;
    }
    if (r->status == 422) {
      refuse(w, log, old, "本服务器从它持有的" + std::to_string(old) +
                              "条到今天的一致性证明,它核对不上 (it refused the consistency proof from its own size)");
      return Outcome::kRefused;
    }
    // Said once per answer and log, not every round: a witness that trusts
    // only the villages' origins answers 404 for the other logs each time.
    int& said = answered_[{w.name, log}];
    if (said != r->status)
      std::cerr << "sunledger: witness " << w.name << " answered " << r->status << " for " << log << ": "
                << r->body.substr(0, 200)
                << (r->status == 404 ? " (it trusts no origin prefix covering this log: `witness add-log "
                                       "--origin-prefix ORIGIN/` covers every log of the server)"
                                     : "")
                << "; tried again every round, said again when the answer changes\n";
    said = r->status;
    return Outcome::kFailed;
  }
  return Outcome::kRetry;
}

void WitnessSubmitter::refuse(const WitnessConfig& w, const std::string& log, uint64_t witness_size,
                              const std::string& why) {
  refused_.insert({w.key_name(), log});
  // The row and its signed admin-log entry in one write. Written, it stands
  // from now on: gone at the next round, the inspectors cleared it (taken for
  // a refused write, a clear within the interval was ignored for the whole
  // run: review R15).
  // The 409's size and the 422 are not signed: on plain HTTP anyone between
  // the server and the witness can forge them (review R15). The alarm and
  // the signed reason say so, and name the check that settles it: the size
  // the witness itself holds, read at the township.
  const std::string reason = why + "。见证人的这个回答没有签名,可能是路上伪造的:请到见证人那里(乡镇)运行 sunledger witness "
                                   "list-logs 核对它持有的条数 (the witness's answer is unsigned and could be forged on "
                                   "the way: `witness list-logs` at the township shows the size it holds)";
  Status s = bot_->refuse_witness(log, w.key_name(), witness_size, reason);
  // Stands only if its row is there: a log dropped whole has no row to hold
  // one, and the alarm's own push may start that log again at the next
  // round, which must not read as the inspectors' clear.
  bool written = false;
  if (s.is_ok())
    if (auto rows = bot_->witness_refusals(); rows.is_ok())
      for (const auto& r : rows->recorded) written = written || (r.witness == w.key_name() && r.log == log);
  own_.emplace(std::make_pair(w.key_name(), log), written);
  if (!s.is_ok())
    std::cerr << "sunledger: witness " << w.name << ": could not record the refusal: " << s.to_string() << "\n";
  std::string text = "【见证人报警 (witness alarm)】" + log_label(log) + ":见证人“" + w.name + "”(" + w.key_name() + ", " + w.url + ")" + reason +
                     "。若它确实持有这些条数,说明账本被回滚,或者给不同的人看了不同的账(分叉)。本服务器已停止向它提交。请核对见证人的"
                     "记录和 sunledger check 的结果。(if the witness does hold that, it has seen another history of "
                     "this log: a rollback or a fork; the server stopped submitting to it)";
  std::cerr << "sunledger: ALARM: " << text << "\n";
  if (options_.alarm) options_.alarm(text);
}

}  // namespace sunledger
