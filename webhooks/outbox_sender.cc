#include "webhooks/outbox_sender.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "ledger/crypto.h"
#include "webhooks/http_server.h"
#include "webhooks/metrics.h"
#include "webhooks/notice_quorum.h"

namespace sunledger {

namespace {

// What decides whether a bot can deliver a push at all: its platform, where
// it pushes and which private channel it has. Secrets count only as set or
// not, and the whole is hashed, so a dead letter never holds one. A push dead
// for a configuration reason is tried again only once this changes.
std::string delivery_config(const BotConfig& c) {
  std::string s = std::to_string(static_cast<int>(c.platform));
  for (const std::string* field : {&c.push_url, &c.api_base, &c.corp_id, &c.agent_id, &c.app_key, &c.robot_code, &c.app_id})
    s += '\0' + *field;
  for (const std::string* secret : {&c.push_secret, &c.corp_secret, &c.app_secret, &c.bot_token})
    s += secret->empty() ? "\0-" : "\0+";
  return hex_encode(sha256(s)).substr(0, 16);
}

}  // namespace

OutboxSender::OutboxSender(Ledger* ledger, const std::map<std::string, PlatformAdapter*>& adapters, HttpClient* client,
                           OutboxSenderOptions options, Metrics* metrics)
    : ledger_(ledger), outbox_(ledger), adapters_(adapters), client_(client), options_(options), metrics_(metrics) {
  for (const auto& [bot, adapter] : adapters_) {
    auto lane = std::make_unique<Lane>();
    lane->bot = bot;
    lane->adapter = adapter;
    lanes_.push_back(std::move(lane));
  }
  if (metrics_) {
    // Shown from the first scrape, zero until something happens.
    // No count of pushes delivered or failed, and no queue depth: /metrics is
    // public, and a receipt or status push would time a complaint's filing or
    // an inspector's step. Those are at GET /v1/outbox/dead, for inspectors.
    metrics_->add_counter("pushes_dead_letter_total", 0);
    metrics_->add_gauge("outbox_dead_letters", "Pushes given up on (dead letters), listed at GET /v1/outbox/dead.",
                        [ledger] {
                          auto n = Outbox(ledger).dead_count();
                          return n.is_ok() ? static_cast<double>(*n) : -1.0;
                        });
  }
}

OutboxSender::~OutboxSender() { stop(); }

bool OutboxSender::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

void OutboxSender::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  start_bots(ledger_->clock().now_unix_seconds());
  for (auto& l : lanes_) {
    Lane* lane = l.get();
    lane->thread = std::thread([this, lane] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stop_) {
        lock.unlock();
        pass(*lane);
        lock.lock();
        cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms), [&] { return stop_ || lane->poked; });
        lane->poked = false;
      }
    });
  }
}

// Dead letters recorded from here on (bot/deliveries.h): the rows dead
// before are listed first. Then the bots no longer configured and the ones
// whose configuration changed.
void OutboxSender::start_bots(int64_t now) {
  if (Status s = deliveries::start_dead_record(*ledger_); !s.is_ok())
    std::fprintf(stderr, "sunledger: the deliveries log could not list the dead letters before this version: %s\n",
                 s.to_string().c_str());
  // A bot removed from bots.json: its rows can go nowhere.
  if (auto bots = outbox_.pending_bots(); bots.is_ok()) {
    for (const auto& bot : *bots) {
      if (adapters_.count(bot)) continue;
      std::string refused;
      auto ids = outbox_.kill_bot(bot, now, "no such bot in the config", &refused);
      if (!refused.empty()) record_refused("the pushes via " + log_safe(bot) + " were given up on (no such bot)", refused);
      if (!ids.is_ok()) continue;
      for (int64_t id : *ids)
        std::fprintf(stderr, "sunledger: push %lld via %s is a dead letter: no such bot in the config\n",
                     static_cast<long long>(id), bot.c_str());
      if (metrics_) metrics_->add_counter("pushes_dead_letter_total", ids->size());
    }
  }
  // The configuration may have changed since they were given up on: one more try.
  for (auto& lane : lanes_) {
    std::string refused;
    auto n = outbox_.revive_configuration_dead(lane->bot, now, delivery_config(lane->adapter->config()), &refused);
    if (!refused.empty())
      record_refused("the pushes via " + log_safe(lane->bot) + " were to be queued again (left dead)", refused);
    if (n.is_ok() && *n > 0)
      std::fprintf(stderr, "sunledger: %lld push(es) via %s that its configuration could not deliver are queued again\n",
                   static_cast<long long>(*n), lane->bot.c_str());
  }
}

void OutboxSender::record_refused(const std::string& what, const std::string& refused) {
  std::string line = what + " but the deliveries log refused to record it (" + log_safe(refused) + ")";
  std::fprintf(stderr, "sunledger: %s; checking the ledger now\n", line.c_str());
  if (options_.on_record_refused) options_.on_record_refused(line);
}

Status OutboxSender::give_up(const OutboxMessage& m, int64_t now, DeadReason reason, const std::string& error,
                             bool attempted, const std::string& config) {
  std::string refused;
  Status s = outbox_.mark_dead(m.id, now, reason, error, attempted, config, &refused);
  if (!refused.empty())
    record_refused("push " + std::to_string(m.id) + " via " + log_safe(m.bot_id) + " was given up on", refused);
  return s;
}

void OutboxSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& lane : lanes_)
    if (lane->thread.joinable()) lane->thread.join();
}

void OutboxSender::notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& lane : lanes_) lane->poked = true;
  }
  cv_.notify_all();
}

bool OutboxSender::rate_limited(Lane& lane, int64_t now) {
  auto& times = lane.sent;
  while (!times.empty() && times.front() <= now - 60) times.pop_front();
  return static_cast<int>(times.size()) >= lane.adapter->pushes_per_minute();
}

size_t OutboxSender::deliver_due() {
  size_t delivered = 0;
  for (auto& lane : lanes_) delivered += pass(*lane);
  return delivered;
}

size_t OutboxSender::pass(Lane& lane) {
  std::lock_guard<std::mutex> pass_lock(lane.pass_mu);
  size_t delivered = 0;
  // Each query returns the head of every chat whose next attempt is due; every
  // row handed out is then delivered, retried later or given up on, so the
  // next query moves on. Stops when nothing is due or the bot's rate limit is
  // reached (its rows wait for the window; other bots' lanes go on).
  while (!stopping()) {
    int64_t now = ledger_->clock().now_unix_seconds();
    if (rate_limited(lane, now)) break;
    auto due = this->due(lane, now);
    if (!due.is_ok()) {
      std::fprintf(stderr, "sunledger: outbox read failed: %s\n", due.status().to_string().c_str());
      break;
    }
    if (due->empty()) break;
    bool go_on = true;
    for (const auto& m : *due) {
      if (stopping() || rate_limited(lane, ledger_->clock().now_unix_seconds())) {
        go_on = false;
        break;
      }
      bool ok = false;
      if (!deliver_one(lane, m, &ok)) {
        go_on = false;
        break;
      }
      if (ok) ++delivered;
    }
    if (!go_on) break;
  }
  return delivered;
}

Result<std::vector<OutboxMessage>> OutboxSender::due(Lane& lane, int64_t now) {
  auto heads = outbox_.heads_for_bot(lane.bot, holds_notices());
  if (!heads.is_ok()) return heads.status();
  std::vector<OutboxMessage> out;
  for (auto& m : *heads) {
    if (out.size() >= options_.batch) break;
    auto it = lane.retry_at.find(m.id);
    // Not tried by this process: due at once, whatever the row says.
    if (it == lane.retry_at.end() || Outbox::is_due(it->second, now)) out.push_back(std::move(m));
  }
  return out;
}

std::optional<bool> OutboxSender::logged_as_delivered(const OutboxMessage& m) {
  std::lock_guard<std::mutex> lock(logged_mu_);
  if (!logged_loaded_) {
    auto r = deliveries::recorded(*ledger_);
    if (!r.is_ok()) {
      std::fprintf(stderr, "sunledger: the deliveries log cannot be read: %s\n", r.status().to_string().c_str());
      return std::nullopt;
    }
    logged_ = std::move(*r);
    logged_loaded_ = true;
  }
  // A released notice is known by the signature it was queued with too.
  if (logged_.contains_push(m.id, m.signature, m.held_push)) return true;
  // Before it goes out: what other processes delivered since the memory was
  // read (a node on the same PostgreSQL database that sent this row, which
  // an insider then put back), from the log's new entries only.
  if (Status s = deliveries::catch_up(*ledger_, logged_); !s.is_ok()) {
    std::fprintf(stderr, "sunledger: the deliveries log cannot be read: %s\n", s.to_string().c_str());
    return std::nullopt;
  }
  return logged_.contains_push(m.id, m.signature, m.held_push);
}

// As deliveries::record wrote it: the push, and a released notice's pre-release fingerprint.
void OutboxSender::note_logged(const OutboxMessage& m) {
  std::lock_guard<std::mutex> lock(logged_mu_);
  logged_.insert(m.id, deliveries::fingerprint(m.signature));
  if (m.held_village.empty()) return;  // held_push is a notice's only
  if (auto held = deliveries::parse_fingerprint(m.held_push)) logged_.insert(m.id, *held);
}

// A row that must not be sent (replayed, tampered) or need not be (sent by
// this process already) is settled here: whether its record was written.
// Nothing when it is to be sent.
std::optional<bool> OutboxSender::settle_unsent(Lane& lane, const OutboxMessage& m) {
  auto logged = logged_as_delivered(m);
  if (!logged) return false;  // not knowing what went out, send nothing
  if (*logged) {
    // Genuine and signed, but the deliveries log records it sent: its row
    // was put back from a copy taken before (a replay, across restarts too).
    // Never sent twice; a dead letter for tampering, and verify names it.
    Status recorded = give_up(m, ledger_->clock().now_unix_seconds(), DeadReason::kTampered,
                              "delivered already (the deliveries log records it); its row was put back", false);
    std::fprintf(stderr, "sunledger: push %lld via %s was delivered already and its row put back: REPLAYED, TAMPERED, "
                 "not sent again\n", static_cast<long long>(m.id), m.bot_id.c_str());
    if (metrics_) metrics_->add_counter("pushes_dead_letter_total");
    if (!recorded.is_ok()) std::fprintf(stderr, "sunledger: outbox record failed: %s\n", recorded.to_string().c_str());
    return recorded.is_ok();
  }
  if (lane.delivered.contains(m.id, deliveries::fingerprint(m.signature))) {
    // This process sent it, but could not mark it delivered then: marked now.
    // A refusal of its entry is said as record_outcome says one (review R1).
    std::string refused;
    Status recorded = outbox_.mark_delivered(m, ledger_->clock().now_unix_seconds(), &refused);
    if (!refused.empty())
      record_refused("push " + std::to_string(m.id) + " via " + log_safe(m.bot_id) + " went out", refused);
    if (recorded.is_ok()) note_logged(m);
    else std::fprintf(stderr, "sunledger: outbox record failed: %s\n", recorded.to_string().c_str());
    return recorded.is_ok();
  }
  if (!outbox_.authentic(m)) {
    // Written or changed by someone without the key: the bot would post it in
    // its own name. Never sent, never revived; logged without text or address.
    Status recorded = give_up(m, ledger_->clock().now_unix_seconds(), DeadReason::kTampered,
                              "not queued by this deployment (its signature does not match)", false);
    std::fprintf(stderr, "sunledger: push %lld via %s is not signed by this deployment: TAMPERED, never sent\n",
                 static_cast<long long>(m.id), m.bot_id.c_str());
    if (metrics_) metrics_->add_counter("pushes_dead_letter_total");
    if (!recorded.is_ok()) std::fprintf(stderr, "sunledger: outbox record failed: %s\n", recorded.to_string().c_str());
    return recorded.is_ok();
  }
  return std::nullopt;
}

bool OutboxSender::holds_notices() const { return options_.quorum && options_.quorum->quorum() > 0; }

// A monthly notice that does not carry the witness quorum in its own text
// is not sent, released or not: the released mark is a column anyone with
// sqlite3 can write. It goes back to held (so it is not handed out again at
// once) and the quorum's round releases it once the witnesses cosigned.
std::optional<bool> OutboxSender::settle_unwitnessed(const OutboxMessage& m) {
  if (!holds_notices() || m.held_village.empty() || options_.quorum->carries_quorum(m.text)) return std::nullopt;
  Status recorded = outbox_.unrelease(m.id);
  std::fprintf(stderr, "sunledger: push %lld via %s (monthly notice of %s %s) is marked released but its text carries "
               "%zu of the %d witnesses' cosignatures required: not sent, held again (the mark was written by hand?)\n",
               static_cast<long long>(m.id), m.bot_id.c_str(), log_safe(m.held_village).c_str(),
               log_safe(m.held_month).c_str(), options_.quorum->cosigners(m.text).size(), options_.quorum->quorum());
  if (!recorded.is_ok()) std::fprintf(stderr, "sunledger: outbox record failed: %s\n", recorded.to_string().c_str());
  return recorded.is_ok();
}

// Records what the platform said of one attempt: delivered, dead (the
// configuration cannot deliver it, or too many attempts), or retried later.
Status OutboxSender::record_outcome(Lane& lane, const OutboxMessage& m, const Status& outcome, int64_t now) {
  Status recorded;
  lane.retry_at.erase(m.id);
  if (outcome.is_ok()) {
    lane.delivered.insert(m.id, deliveries::fingerprint(m.signature));
    std::string refused;
    recorded = outbox_.mark_delivered(m, now, &refused);
    if (recorded.is_ok()) note_logged(m);
    if (!refused.empty())
      record_refused("push " + std::to_string(m.id) + " via " + log_safe(m.bot_id) + " went out", refused);
  } else if (outcome.code() == Code::kFailedPrecondition) {
    // This bot's configuration cannot deliver it (no push_url, no private
    // channel): retrying will not help until the configuration changes.
    recorded = give_up(m, now, DeadReason::kConfiguration, outcome.message(), true,
                       delivery_config(lane.adapter->config()));
    // Logged without the message text or address: only the bot and the row.
    // The adapter's reason names the missing setting (never an address or a text).
    std::fprintf(stderr,
                 "sunledger: push %lld via %s is a dead letter: the bot's configuration cannot deliver it (%s); not "
                 "retried until serve starts with a configuration that changed it\n",
                 static_cast<long long>(m.id), m.bot_id.c_str(), log_safe(outcome.message()).c_str());
    if (metrics_) metrics_->add_counter("pushes_dead_letter_total");
  } else if (m.attempts + 1 >= options_.max_attempts) {
    recorded = give_up(m, now, DeadReason::kAttempts, outcome.message());
    std::fprintf(stderr, "sunledger: push %lld via %s is a dead letter after %d attempts (%s)\n",
                 static_cast<long long>(m.id), m.bot_id.c_str(), m.attempts + 1, code_name(outcome.code()));
    if (metrics_) metrics_->add_counter("pushes_dead_letter_total");
  } else {
    lane.retry_at[m.id] = now + Outbox::retry_backoff(m.attempts);
    recorded = outbox_.mark_failed(m.id, lane.retry_at[m.id], outcome.message());
    std::fprintf(stderr, "sunledger: push %lld via %s failed (attempt %d): %s\n", static_cast<long long>(m.id),
                 m.bot_id.c_str(), m.attempts + 1, code_name(outcome.code()));
  }
  return recorded;
}

std::optional<bool> OutboxSender::shared_storage() {
  int known = shared_.load();
  if (known != 0) return known == 2;
  auto shared = outbox_.shared_storage();
  if (!shared.is_ok()) return std::nullopt;
  shared_.store(*shared ? 2 : 1);
  return *shared;
}

bool OutboxSender::deliver_one(Lane& lane, const OutboxMessage& m, bool* delivered) {
  *delivered = false;
  // Another node's sender reads the same heads: only the node holding the
  // claim sends (or settles) the row; the others pass over it.
  auto shared = shared_storage();
  if (!shared) return false;
  if (*shared) {
    auto claimed = outbox_.claim(m.id, ledger_->clock().now_unix_seconds());
    if (!claimed.is_ok()) {
      std::fprintf(stderr, "sunledger: outbox claim failed: %s\n", claimed.status().to_string().c_str());
      return false;
    }
    if (!*claimed) {
      // Looked at again in a second (not at once: this pass would spin on
      // it): delivered by then, or its node died and the claim is free.
      lane.retry_at[m.id] = ledger_->clock().now_unix_seconds() + 1;
      return true;
    }
  }
  if (auto settled = settle_unsent(lane, m)) return *settled;
  if (auto settled = settle_unwitnessed(m)) return *settled;
  int64_t started = ledger_->clock().now_unix_seconds();
  lane.sent.push_back(started);
  Status outcome = lane.adapter->deliver(m, started, *client_);
  // Backoff counts from the end of the attempt, not from when the pass began:
  // a target that held the attempt for its whole deadline is not tried again
  // at once.
  int64_t now = ledger_->clock().now_unix_seconds();
  *delivered = outcome.is_ok();
  Status recorded = record_outcome(lane, m, outcome, now);
  if (!recorded.is_ok()) {
    std::fprintf(stderr, "sunledger: outbox record failed: %s\n", recorded.to_string().c_str());
    return false;
  }
  return true;
}

}  // namespace sunledger
