// Pushes the bot sends by itself: the daily overdue digest and integrity
// alarms, to inspectors privately.
#include "bot/bot_impl.h"

namespace sunledger {

using nlohmann::json;

Result<size_t> Bot::push_overdue_digest() {
  Impl& I = *impl_;
  int offset = I.ledger->utc_offset_minutes();
  int64_t now = I.ledger->clock().now_unix_seconds();
  std::string today = local_day(now, offset);
  // serve calls this every minute: once today's digest is out, stop before
  // listing every overdue complaint and taking a write slot. The check inside
  // the write below stays, for two servers racing on one database.
  bool sent_today = false;
  Status seen = I.ledger->read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.statement("SELECT value FROM bot_state WHERE key='overdue_digest_date'");
    sent_today = q.executeStep() && q.getColumn(0).getString() == today;
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
    SQLite::Statement last(txn.db(), "SELECT value FROM bot_state WHERE key='overdue_digest_date'");
    if (last.executeStep() && last.getColumn(0).getString() == today) return Status::ok();
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
    SQLite::Statement mark(txn.db(), "INSERT INTO bot_state(key, value) VALUES('overdue_digest_date', ?) "
                                     "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    mark.bind(1, today);
    mark.exec();
    return Status::ok();
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
