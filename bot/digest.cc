// Pushes the bot sends by itself: the daily overdue digest and integrity
// alarms, to inspectors privately.
#include "bot/bot_impl.h"
#include "bot/portable_sql.h"

namespace sunledger {

using nlohmann::json;

namespace {
constexpr const char* kDigestMark = "overdue_digest_date";
}  // namespace

Result<size_t> Bot::push_overdue_digest() {
  Impl& I = *impl_;
  int offset = I.ledger->utc_offset_minutes();
  int64_t now = I.ledger->clock().now_unix_seconds();
  std::string today = local_day(now, offset);
  // serve calls this every minute: once today's digest is out, stop before
  // listing every overdue complaint and taking a write slot. The check inside
  // the write below stays, for two servers racing on one database.
  // The mark is signed (bot/signed_rows.h): set to today by hand, it would
  // keep the day's overdue complaints from every inspector.
  const std::string& key = I.ledger->signer().public_key();
  bool sent_today = false;
  Status seen = I.ledger->read([&](Ledger::ReadTxn& r) -> Status {
    sent_today = signed_rows::state(r.sql(), key, kDigestMark) == today;
    return Status::ok();
  });
  if (!seen.is_ok()) return seen;
  if (sent_today) return size_t{0};
  auto d = I.directory();
  if (!d.is_ok()) return d.status();
  if (!(*d)->trusted) return size_t{0};  // complaints go only to inspectors a verified admin log names
  ComplaintFilter f;
  f.overdue_only = true;
  auto overdue = I.complaints.list(f);
  if (!overdue.is_ok()) return overdue.status();
  size_t queued = 0;
  Status s = I.ledger->write([&](WriteTxn& txn) -> Status {
    queued = 0;
    // Two nodes sending at the same moment: the second waits here for the
    // first's commit and then reads today's mark, instead of both reading
    // yesterday's and queuing the digest twice. Nothing on SQLite (one writer).
    txn.sql().lock_name_until_commit(bot_sql::kStateLock, kDigestMark);
    if (signed_rows::state(txn.sql(), key, kDigestMark) == today) return Status::ok();
    for (const auto& [who, memberships] : (*d)->members) {
      for (const auto& m : memberships) {
        // Only privately: a bot that cannot reach one person sends no digest.
        if (m.role != Role::kInspector || !I.reaches_person(m.bot_id)) continue;
        std::string text;
        for (const auto& c : *overdue) {
          auto v = (*d)->villages.find(c.village);
          if (v == (*d)->villages.end() || !area_covers(m.area, v->second)) continue;
          text += c.receipt + " " + v->second.name + " " + complaint_status_zh(c.status) + " 期限" +
                  local_day(complaint_deadline(c, I.options.complaint_deadlines), offset) + "\n";
        }
        if (text.empty()) continue;
        std::string digest = "【" + today + " 逾期投诉 (overdue complaints)】\n" + text + "发送“待办”查看全部。\n";
        if (Status st = Outbox::enqueue(txn, {m.bot_id, m.user_id, digest.substr(0, 2000), Audience::kPerson}); !st.is_ok())
          return st;
        ++queued;
      }
    }
    return signed_rows::put_state(txn, kDigestMark, today);
  });
  if (!s.is_ok()) return s;
  return queued;
}


Result<size_t> Bot::alert_inspectors(const std::string& text) {
  auto d = impl_->directory();
  if (!d.is_ok()) return d.status();
  size_t queued = 0;
  Status s = impl_->ledger->write([&](WriteTxn& txn) -> Status {
    queued = 0;
    for (const auto& [who, memberships] : (*d)->members)
      for (const auto& m : memberships) {
        if (m.role != Role::kInspector || !impl_->reaches_person(m.bot_id)) continue;
        if (Status st = Outbox::enqueue(txn, {m.bot_id, m.user_id, text, Audience::kPerson}); !st.is_ok()) return st;
        ++queued;
        break;  // once per person and bot
      }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return queued;
}

}  // namespace sunledger
