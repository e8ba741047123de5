#include "bot/complaints.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

#include "bot/portable_sql.h"
#include "ledger/crypto.h"
#include "ledger/csv_import.h"
#include "ledger/identity.h"

namespace sunledger {

using nlohmann::json;

namespace {

constexpr int64_t kDay = 86400;

const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS complaints(receipt TEXT PRIMARY KEY, village TEXT NOT NULL, text TEXT NOT NULL,"
    " links TEXT NOT NULL, anonymous INTEGER NOT NULL, reporter_bot TEXT, reporter_id TEXT, reporter_name TEXT,"
    " reporter_chat TEXT, filed_at INTEGER NOT NULL, log_index INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS complaints_by_village ON complaints(village)",
    "CREATE TABLE IF NOT EXISTS complaint_events(receipt TEXT NOT NULL REFERENCES complaints(receipt), seq INTEGER NOT NULL,"
    " kind TEXT NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL, note TEXT NOT NULL, assignee TEXT NOT NULL,"
    " log_index INTEGER NOT NULL, PRIMARY KEY(receipt, seq))",
};

// Complaints and their events are append-only (verify checks them against the
// complaints log; the triggers are a second line of defence). Defined only
// here: they are created from this list and registered with the ledger from
// it, so verify knows them (see ledger/schema.h).
std::vector<SchemaTrigger> own_triggers() {
  auto out = append_only_triggers("complaints", "complaints are append-only");
  for (auto& t : append_only_triggers("complaint_events", "complaints are append-only")) out.push_back(std::move(t));
  return out;
}

// The tables, from the same list; and the one older versions kept burnt
// receipts in, which a deployment they made still holds (emptied at start by
// record_legacy_exposed_receipts, never made now).
std::vector<SchemaTable> own_tables() {
  auto out = tables_among(kSchema);
  out.push_back(schema_table("CREATE TABLE IF NOT EXISTS exposed_receipts(ref TEXT PRIMARY KEY, day INTEGER NOT NULL)"));
  out.back().legacy = true;
  return out;
}

struct StatusName {
  ComplaintStatus status;
  const char* name;
  const char* zh;
};
constexpr StatusName kStatuses[] = {
    {ComplaintStatus::kReceived, "received", "已受理"},       {ComplaintStatus::kAssigned, "assigned", "已转办"},
    {ComplaintStatus::kInvestigating, "investigating", "调查中"}, {ComplaintStatus::kResolved, "resolved", "已办结"},
    {ComplaintStatus::kRejected, "rejected", "不予受理"},     {ComplaintStatus::kReopened, "reopened", "重新办理"},
};

std::vector<std::string> parse_links(const std::string& text, const std::vector<Project>& projects) {
  std::vector<std::string> links;
  for (size_t i = 0; i < text.size(); ++i) {
    // "#123" or the full-width "＃123".
    size_t start = std::string::npos;
    if (text[i] == '#') start = i + 1;
    else if (text.compare(i, 3, "\xEF\xBC\x83") == 0) start = i + 3;
    if (start == std::string::npos) continue;
    size_t end = start;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])) && end - start < 12) ++end;
    if (end > start) links.push_back("#" + text.substr(start, end - start));
  }
  for (const auto& p : projects)
    if (text.find(p.name) != std::string::npos) links.push_back(p.name);
  std::sort(links.begin(), links.end());
  links.erase(std::unique(links.begin(), links.end()), links.end());
  return links;
}

// Crockford's base 32: no I, L, O or U, so nothing reads as something else.
constexpr const char* kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::string draw_named_receipt() {
  std::string digits;
  while (digits.size() < 12) {
    unsigned char b = static_cast<unsigned char>(random_bytes(1)[0]);
    if (b < 250) digits.push_back(static_cast<char>('0' + b % 10));  // rejection keeps digits uniform
  }
  return digits.substr(0, 4) + "-" + digits.substr(4, 4) + "-" + digits.substr(8, 4);
}

std::string draw_anonymous_receipt() {
  std::string bytes = random_bytes(20), out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i && i % 5 == 0) out.push_back('-');
    out.push_back(kCrockford[static_cast<unsigned char>(bytes[i]) % 32]);  // 256 is a multiple of 32: uniform
  }
  return out;
}

void derive(Complaint& c) {
  c.status = ComplaintStatus::kReceived;
  for (const auto& e : c.events) {
    if (e.kind == "satisfied" || e.kind == "unsatisfied") {
      c.rating = e.kind;
      continue;
    }
    if (e.kind == Complaints::kReceiptExposed) {
      c.receipt_exposed = true;
      continue;
    }
    if (auto s = parse_complaint_status(e.kind)) c.status = *s;
    if (e.kind == "resolved") c.resolved_at = e.at;
    if (e.kind == "reopened") c.reopened_at = e.at;
    if (e.kind == "reopened") c.rating = "";
  }
}

}  // namespace

const char* complaint_status_name(ComplaintStatus s) {
  for (const auto& n : kStatuses)
    if (n.status == s) return n.name;
  return "received";
}

const char* complaint_status_zh(ComplaintStatus s) {
  for (const auto& n : kStatuses)
    if (n.status == s) return n.zh;
  return "已受理";
}

std::optional<ComplaintStatus> parse_complaint_status(const std::string& s) {
  if (s == "filed") return ComplaintStatus::kReceived;
  for (const auto& n : kStatuses)
    if (s == n.name || s == n.zh) return n.status;
  return std::nullopt;
}

int64_t complaint_deadline(const Complaint& c, const ComplaintDeadlines& d) {
  switch (c.status) {
    case ComplaintStatus::kReceived: return c.filed_at + d.assign_days * kDay;
    case ComplaintStatus::kAssigned:
    case ComplaintStatus::kInvestigating: return (c.reopened_at ? c.reopened_at : c.filed_at) + d.resolve_days * kDay;
    case ComplaintStatus::kReopened: return c.reopened_at + d.assign_days * kDay;
    case ComplaintStatus::kResolved:
    case ComplaintStatus::kRejected: return 0;
  }
  return 0;
}

bool complaint_overdue(const Complaint& c, const ComplaintDeadlines& d, int64_t now) {
  int64_t deadline = complaint_deadline(c, d);
  return deadline != 0 && now > deadline;
}

Status check_transition(ComplaintStatus from, ComplaintStatus to, const std::string& note, const std::string& assignee) {
  static const std::map<ComplaintStatus, std::set<ComplaintStatus>> kAllowed = {
      {ComplaintStatus::kReceived, {ComplaintStatus::kAssigned, ComplaintStatus::kRejected}},
      {ComplaintStatus::kAssigned, {ComplaintStatus::kInvestigating, ComplaintStatus::kRejected}},
      {ComplaintStatus::kInvestigating, {ComplaintStatus::kResolved, ComplaintStatus::kRejected}},
      {ComplaintStatus::kReopened, {ComplaintStatus::kAssigned, ComplaintStatus::kInvestigating}},
  };
  auto it = kAllowed.find(from);
  if (it == kAllowed.end() || !it->second.count(to))
    return failed_precondition(std::string("不能从“") + complaint_status_zh(from) + "”改为“" + complaint_status_zh(to) +
                               "” (transition " + complaint_status_name(from) + " -> " + complaint_status_name(to) +
                               " is not allowed)");
  if (to == ComplaintStatus::kAssigned && assignee.empty())
    return invalid_argument("转办需要写明处理人或单位 (an assignment needs a handler)");
  if (to == ComplaintStatus::kResolved && note.empty()) return invalid_argument("办结需要写明结论 (resolving needs a finding)");
  if (to == ComplaintStatus::kRejected && note.empty()) return invalid_argument("驳回需要写明理由 (rejecting needs a reason)");
  if (note.size() > 2000 || assignee.size() > 200) return invalid_argument("说明太长 (note too long)");
  return Status::ok();
}

int64_t Complaints::local_day_start(int64_t t) const {
  int offset = ledger_->utc_offset_minutes();
  return local_midnight(local_date(t, offset), offset);
}

Complaints::Complaints(Ledger* ledger, std::string salt, ComplaintDeadlines deadlines)
    : ledger_(ledger), salt_(std::move(salt)), deadlines_(deadlines) {
  ledger_->expect_triggers(own_triggers());
  ledger_->expect_indexes(indexes_among(kSchema));
  ledger_->expect_tables(own_tables());
}

void Complaints::create_schema(sql::Session& db) {
  // The triggers come with their tables, never at a later start: one dropped
  // by hand stays missing and verify names it.
  std::vector<SchemaTrigger> with_new_tables;
  for (auto& t : own_triggers())
    if (!db.table_exists(t.table)) with_new_tables.push_back(std::move(t));
  for (const char* sql : kSchema) db.exec(sql);
  create_triggers(db, with_new_tables);
}

std::string Complaints::commit_hash(const std::string& what, const std::string& value) const {
  return hex_encode(hmac_sha256(salt_, what + std::string(1, '\0') + value));
}

std::optional<std::string> Complaints::normalise_receipt(const std::string& text) {
  // Named: 12 digits. Anonymous: 20 characters of Crockford's base 32, read
  // the way Crockford defines it (case-insensitive, O as 0, I and L as 1).
  std::string chars;
  bool all_digits = true;
  for (char ch : text) {
    if (ch == '-' || ch == ' ') continue;
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (u == 'O') u = '0';
    if (u == 'I' || u == 'L') u = '1';
    if (std::strchr(kCrockford, u) == nullptr || u == '\0') return std::nullopt;
    all_digits &= u >= '0' && u <= '9';
    chars.push_back(u);
  }
  if (chars.size() == 12 && all_digits) return chars.substr(0, 4) + "-" + chars.substr(4, 4) + "-" + chars.substr(8, 4);
  if (chars.size() == 20)
    return chars.substr(0, 5) + "-" + chars.substr(5, 5) + "-" + chars.substr(10, 5) + "-" + chars.substr(15, 5);
  return std::nullopt;
}

Result<uint64_t> Complaints::append_event(WriteTxn& txn, const Complaint& c, const ComplaintEvent& e) {
  json f = {{"kind", "complaint"},
            {"event", e.kind},
            {"ref", commit_hash("receipt", c.receipt)},
            {"complaint_village", c.village},
            {"at", utc_timestamp(e.at)},
            {"note_hash", commit_hash("note", e.note)},
            {"assignee_hash", commit_hash("assignee", e.assignee)},
            {"actor_hash", commit_hash("actor", e.actor)}};
  if (e.kind == "filed") {
    f["text_hash"] = commit_hash("text", c.text);
    f["anonymous"] = c.anonymous;
    f["reporter_hash"] = c.reporter ? json(commit_hash("reporter", c.reporter->bot_id + "\n" + c.reporter->user_id)) : json(nullptr);
    // The name shown to inspectors and the address of status pushes are
    // committed too: edited, they would send updates elsewhere.
    if (c.reporter) f["reporter_contact_hash"] = commit_hash("reporter_contact", c.reporter->name + "\n" + c.reporter->chat_id);
    f["links"] = c.links;
  }
  // An anonymous filing is kept to the day, in the entry as in the table.
  bool coarse = (e.kind == "filed" && c.anonymous) || e.kind == kReceiptExposed;
  return txn.append_to_log(kLogName, f, Author{"sunledger", "system", "complaints"}, coarse);
}

Result<Complaint> Complaints::file(WriteTxn& txn, const std::string& village, const std::string& text,
                                   const std::optional<Reporter>& reporter) {
  if (text.empty()) return invalid_argument("请写明投诉内容 (the complaint needs a text)");
  if (text.size() > 4000) return invalid_argument("投诉内容太长,最多4000字节 (at most 4,000 bytes)");
  if (!canonical_json(json(text)).is_ok()) return invalid_argument("投诉内容含有无效字符 (invalid characters)");
  auto projects = ledger_->projects(village);
  if (!projects.is_ok()) return projects.status();
  Complaint c;
  c.village = village;
  // Inspectors read the text; an identity number in it (the reporter's, a
  // neighbour's) is kept masked like everywhere else.
  c.text = redact_resident_ids(text);
  c.links = parse_links(c.text, *projects);  // from the masked text: "#" before a number would keep its digits
  c.anonymous = !reporter.has_value();
  c.reporter = reporter;
  // An anonymous filing keeps only its (UTC) day: with a time to the second,
  // the row could be matched to the platform's delivery of the message.
  // Local midnight, so the day shown to the reporter is the day they filed.
  c.filed_at = c.anonymous ? local_day_start(txn.now()) : txn.now();
  // Random, not sequential: a receipt number says nothing about how many
  // complaints there are or who filed before. A named complaint's receipt
  // only works for its reporter, so 12 digits are enough; an anonymous one is
  // the bearer secret itself and gets 100 bits.
  for (int attempt = 0; attempt < 10; ++attempt) {
    c.receipt = c.anonymous ? draw_anonymous_receipt() : draw_named_receipt();
    auto& q = txn.sql().statement("SELECT 1 FROM complaints WHERE receipt=?");
    q.bind(1, c.receipt);
    bool taken = q.step();
    q.reset();
    if (!taken) break;
    if (attempt == 9) return internal_error("could not draw a free receipt number");
  }
  ComplaintEvent filed{"filed", c.filed_at, "reporter", "", "", 0};
  auto idx = append_event(txn, c, filed);
  if (!idx.is_ok()) return idx.status();
  filed.log_index = *idx;
  auto& ins = txn.sql().statement(
      "INSERT INTO complaints(receipt, village, text, links, anonymous, reporter_bot, reporter_id, reporter_name,"
      " reporter_chat, filed_at, log_index) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  ins.bind(1, c.receipt);
  ins.bind(2, c.village);
  ins.bind(3, c.text);
  ins.bind(4, json(c.links).dump());
  ins.bind(5, c.anonymous ? 1 : 0);
  if (reporter) {
    ins.bind(6, reporter->bot_id);
    ins.bind(7, reporter->user_id);
    ins.bind(8, reporter->name);
    ins.bind(9, reporter->chat_id);
  }
  ins.bind(10, c.filed_at);
  ins.bind(11, static_cast<int64_t>(*idx));
  ins.exec();
  auto& ev = txn.sql().statement("INSERT INTO complaint_events(receipt, seq, kind, at, actor, note, assignee, log_index) VALUES(?,?,?,?,?,?,?,?)");
  ev.bind(1, c.receipt);
  ev.bind(2, 0);
  ev.bind(3, filed.kind);
  ev.bind(4, filed.at);
  ev.bind(5, filed.actor);
  ev.bind(6, filed.note);
  ev.bind(7, filed.assignee);
  ev.bind(8, static_cast<int64_t>(*idx));
  ev.exec();
  c.events.push_back(filed);
  return c;
}

Result<Complaint> Complaints::read_complaint(sql::Session& db, const std::string& receipt) {
  auto& q = db.statement(
      "SELECT receipt, village, text, links, anonymous, reporter_bot, reporter_id, reporter_name, reporter_chat,"
      " filed_at FROM complaints WHERE receipt=?");
  q.bind(1, receipt);
  // A wrong receipt and an unknown one get the same answer.
  if (!q.step()) return not_found("没有找到这个编号的投诉,请核对编号 (no complaint with this receipt)");
  Complaint c;
  c.receipt = q.column_text(0);
  c.village = q.column_text(1);
  c.text = q.column_text(2);
  json links = json::parse(q.column_text(3), nullptr, false);
  if (links.is_array())
    for (const auto& l : links)
      if (l.is_string()) c.links.push_back(l.get<std::string>());
  c.anonymous = q.column_int(4) != 0;
  if (!c.anonymous)
    c.reporter = Reporter{q.column_text(5), q.column_text(6), q.column_text(7),
                          q.column_text(8)};
  c.filed_at = q.column_int64(9);
  auto& ev = db.statement("SELECT kind, at, actor, note, assignee, log_index FROM complaint_events WHERE receipt=? ORDER BY seq");
  ev.bind(1, receipt);
  while (ev.step())
    c.events.push_back({ev.column_text(0), ev.column_int64(1), ev.column_text(2),
                        ev.column_text(3), ev.column_text(4),
                        static_cast<uint64_t>(ev.column_int64(5))});
  derive(c);
  return c;
}

namespace {

// The complaint as a change inside `txn` must decide from it. Nodes sharing
// a PostgreSQL database (issue #17): its row is locked first, so a change
// made meanwhile through another node (a transition, a rating) has committed
// before this one reads the status and the events it decides from and
// numbers its event after (READ COMMITTED: each statement sees what
// committed before it). SQLite has one writer: nothing can be meanwhile.
void hold_for_change(WriteTxn& txn, const std::string& receipt) {
  if (txn.sql().dialect() != sql::Session::Dialect::kPostgresql) return;
  // Its lock first, which a batch holding others does not wait for
  // (sql::Session::lock_until_commit): waiting for the row while holding a
  // log's lock could close a cycle with a node that holds the row and waits
  // for that log. Every change takes it, so the row below is free by then.
  // Named by the receipt, in a class of its own.
  txn.sql().lock_name_until_commit(bot_sql::kComplaintLock, receipt);
  auto& q = txn.sql().statement("SELECT 1 FROM complaints WHERE receipt=? FOR UPDATE");
  q.bind(1, receipt);
  while (q.step()) {
  }
  q.reset();
}

}  // namespace

Result<Complaint> Complaints::load(WriteTxn& txn, const std::string& receipt) {
  hold_for_change(txn, receipt);
  return read_complaint(txn.sql(), receipt);
}

namespace {
Status add_event(WriteTxn& txn, const std::string& receipt, size_t seq, const ComplaintEvent& e) {
  auto& ev = txn.sql().statement("INSERT INTO complaint_events(receipt, seq, kind, at, actor, note, assignee, log_index) VALUES(?,?,?,?,?,?,?,?)");
  ev.bind(1, receipt);
  ev.bind(2, static_cast<int64_t>(seq));
  ev.bind(3, e.kind);
  ev.bind(4, e.at);
  ev.bind(5, e.actor);
  ev.bind(6, e.note);
  ev.bind(7, e.assignee);
  ev.bind(8, static_cast<int64_t>(e.log_index));
  ev.exec();
  return Status::ok();
}
}  // namespace

Status Complaints::record_event(WriteTxn& txn, Complaint& c, ComplaintEvent e) {
  auto idx = append_event(txn, c, e);
  if (!idx.is_ok()) return idx.status();
  e.log_index = *idx;
  if (Status s = add_event(txn, c.receipt, c.events.size(), e); !s.is_ok()) return s;
  c.events.push_back(std::move(e));
  return Status::ok();
}

Result<Complaint> Complaints::transition(WriteTxn& txn, const std::string& receipt, ComplaintStatus to,
                                         const std::string& note, const std::string& assignee, const std::string& actor) {
  hold_for_change(txn, receipt);
  auto c = read_complaint(txn.sql(), receipt);
  if (!c.is_ok()) return c.status();
  if (Status s = check_transition(c->status, to, note, assignee); !s.is_ok()) return s;
  // Notes are served to reporters and exported: no identity number in them.
  ComplaintEvent e{complaint_status_name(to), txn.now(), actor, redact_resident_ids(note), redact_resident_ids(assignee), 0};
  if (Status s = record_event(txn, *c, e); !s.is_ok()) return s;
  derive(*c);
  return c;
}

Result<Complaint> Complaints::rate(WriteTxn& txn, const std::string& receipt, bool satisfied, const std::string& reason) {
  hold_for_change(txn, receipt);
  auto c = read_complaint(txn.sql(), receipt);
  if (!c.is_ok()) return c.status();
  if (c->status != ComplaintStatus::kResolved)
    return failed_precondition("这件投诉还没有办结,办结后才能评价 (only a resolved complaint can be rated)");
  if (!c->rating.empty()) return failed_precondition("这件投诉已经评价过了 (already rated)");
  if (!satisfied && reason.empty()) return invalid_argument("请写明不满意的原因 (say why)");
  if (reason.size() > 2000) return invalid_argument("原因太长 (reason too long)");
  ComplaintEvent e{satisfied ? "satisfied" : "unsatisfied", txn.now(), "reporter", redact_resident_ids(reason), "", 0};
  if (Status s = record_event(txn, *c, e); !s.is_ok()) return s;
  // "Unsatisfied" within the window reopens the complaint for the inspectors.
  if (!satisfied && txn.now() <= c->resolved_at + deadlines_.rating_days * kDay) {
    ComplaintEvent reopen{"reopened", txn.now(), "reporter", redact_resident_ids(reason), "", 0};
    if (Status s = record_event(txn, *c, reopen); !s.is_ok()) return s;
  }
  derive(*c);
  return c;
}

Result<Complaint> Complaints::expose_receipt(WriteTxn& txn, const std::string& receipt) {
  hold_for_change(txn, receipt);
  auto c = read_complaint(txn.sql(), receipt);
  if (!c.is_ok()) return c.status();
  if (!c->anonymous || c->receipt_exposed) return c;
  // Kept to the day, like the filing: the group saw when it was posted, the
  // log need not say it to the second.
  ComplaintEvent e{kReceiptExposed, local_day_start(txn.now()), "system", "", "", 0};
  if (Status s = record_event(txn, *c, e); !s.is_ok()) return s;
  derive(*c);
  return c;
}

Result<Complaint> Complaints::get(const std::string& receipt) {
  std::optional<Complaint> out;
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    auto c = read_complaint(r.sql(), receipt);
    if (!c.is_ok()) return c.status();
    out = std::move(*c);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return std::move(*out);
}

Result<std::vector<Complaint>> Complaints::list(const ComplaintFilter& filter) {
  std::vector<Complaint> out;
  int64_t now = ledger_->clock().now_unix_seconds();
  Status s = ledger_->read([&](Ledger::ReadTxn& r) -> Status {
    // In filing order: complaints filed the same second (or day, when anonymous) follow the log, never their
    // random receipts, so a queue reads the same every time.
    auto& q = r.sql().statement("SELECT receipt, village FROM complaints ORDER BY filed_at, log_index");
    std::vector<std::string> receipts;
    while (q.step()) {
      std::string village = q.column_text(1);
      if (!filter.villages.empty() && std::find(filter.villages.begin(), filter.villages.end(), village) == filter.villages.end())
        continue;
      receipts.push_back(q.column_text(0));
    }
    for (const auto& receipt : receipts) {
      auto c = read_complaint(r.sql(), receipt);
      if (!c.is_ok()) return c.status();
      if (filter.status && c->status != *filter.status) continue;
      if (filter.overdue_only && !complaint_overdue(*c, deadlines_, now)) continue;
      if (filter.open_only && (c->status == ComplaintStatus::kResolved || c->status == ComplaintStatus::kRejected)) continue;
      out.push_back(std::move(*c));
    }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

ComplaintStats complaint_stats(const std::vector<Complaint>& list, const ComplaintDeadlines& d, int64_t now) {
  ComplaintStats s;
  std::vector<double> days;
  for (const auto& c : list) {
    ++s.received;
    if (c.status == ComplaintStatus::kResolved) {
      ++s.resolved;
      days.push_back(static_cast<double>(c.resolved_at - c.filed_at) / kDay);
    } else if (c.status == ComplaintStatus::kRejected) {
      ++s.rejected;
    } else {
      ++s.open;
    }
    if (complaint_overdue(c, d, now)) ++s.overdue;
    if (c.reopened_at) ++s.reopened;
    for (const auto& e : c.events) {
      if (e.kind == "satisfied" || e.kind == "unsatisfied") ++s.rated;
      if (e.kind == "satisfied") ++s.satisfied;
    }
  }
  if (!days.empty()) {
    std::sort(days.begin(), days.end());
    s.median_days_to_resolve =
        days.size() % 2 ? days[days.size() / 2] : (days[days.size() / 2 - 1] + days[days.size() / 2]) / 2;
  }
  return s;
}

Result<std::vector<ComplaintStats>> Complaints::stats(const std::vector<std::string>& villages) {
  ComplaintFilter f;
  f.villages = villages;
  auto all = list(f);
  if (!all.is_ok()) return all.status();
  int64_t now = ledger_->clock().now_unix_seconds();
  std::map<std::string, std::vector<Complaint>> by_village;
  for (auto& c : *all) by_village[c.village].push_back(std::move(c));
  std::vector<ComplaintStats> out;
  for (const auto& [village, list] : by_village) {
    out.push_back(complaint_stats(list, deadlines_, now));
    out.back().village = village;
  }
  return out;
}

std::string complaints_csv(const std::vector<Complaint>& list, const ComplaintDeadlines& d, int64_t now) {
  std::string out = "receipt,village,status,filed_at,deadline,overdue,anonymous,reporter,text,links,last_note\r\n";
  for (const auto& c : list) {
    int64_t deadline = complaint_deadline(c, d);
    std::string links;
    for (const auto& l : c.links) links += (links.empty() ? "" : " ") + l;
    out += csv_cell(c.receipt) + "," + csv_cell(c.village) + "," + complaint_status_name(c.status) + "," +
           utc_timestamp(c.filed_at) + "," + (deadline ? utc_timestamp(deadline) : "") + "," +
           (complaint_overdue(c, d, now) ? "true" : "false") + "," + (c.anonymous ? "true" : "false") + "," +
           csv_cell(c.reporter ? c.reporter->bot_id + "/" + c.reporter->user_id : "") + "," + csv_cell(c.text) + "," +
           csv_cell(links) + "," + csv_cell(c.events.empty() ? std::string() : c.events.back().note) + "\r\n";
  }
  return out;
}

}  // namespace sunledger
