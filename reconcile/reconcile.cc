// The books' side of a reconciliation (the lines that move 102 银行存款, from
// the chart's double entry), the signed entry that records a reconciliation,
// and the report people read.
#include <set>

#include "ledger/chart.h"
#include "ledger/identity.h"
#include "reconcile/reconcile.h"

namespace sunledger {

using nlohmann::json;

Result<std::vector<BookLine>> bank_book_lines(Ledger& ledger, const std::string& village, uint64_t* log_size) {
  auto size = ledger.log_size(village);
  if (!size.is_ok()) return size.status();
  if (log_size) *log_size = *size;
  JournalBuilder journal;
  constexpr uint64_t kChunk = 5000;
  for (uint64_t from = 0; from < *size; from += kChunk) {
    auto entries = ledger.entries(village, from, std::min(*size, from + kChunk));
    if (!entries.is_ok()) return entries.status();
    for (const auto& e : *entries) journal.apply(e);
  }
  // A reversal and the line it reverses cancel: neither is a movement of
  // the bank account as booked.
  std::set<uint64_t> reversed;
  for (const auto& t : journal.transactions())
    if (t.reverses) reversed.insert(*t.reverses);
  std::vector<BookLine> lines;
  for (const auto& t : journal.transactions()) {
    if (t.reverses || reversed.count(t.index)) continue;
    Fen bank = 0;
    for (const auto& p : t.postings)
      if (p.account->code == "102") bank += p.amount;
    if (bank == 0) continue;
    lines.push_back({t.index, t.date, bank > 0, bank > 0 ? bank : -bank, t.payee, t.narration});
  }
  return lines;
}

Result<ReconcileReport> reconcile_books(Ledger& ledger, const std::string& village, std::string_view bank_file) {
  ReconcileReport r;
  auto v = ledger.village(village);
  if (!v.is_ok()) return v.status();
  r.village = *v;
  std::string today = format_date(local_date(ledger.clock().now_unix_seconds(), ledger.utc_offset_minutes()));
  auto bank = parse_bank_statement(bank_file, today);
  if (!bank.is_ok()) return bank.status();
  r.bank = std::move(*bank);
  auto books = bank_book_lines(ledger, village, &r.books_size);
  if (!books.is_ok()) return books.status();
  r.books = std::move(*books);
  r.result = match_bank_lines(r.bank.lines, r.books, r.bank.from, r.bank.to);
  return r;
}

Result<uint64_t> record_reconciliation(WriteTxn& txn, const ReconcileReport& report, const Author& author) {
  json out = json::array();
  for (size_t b : report.result.unmatched_bank) {
    const BankLine& l = report.bank.lines[b];
    if (l.in) continue;
    // The entry is public and permanent: an identity number a bank wrote into
    // a name or 摘要 (代发 to a person often carries one) is masked, as no
    // signed entry may hold one (ledger/validate.cc refuses them in lines).
    out.push_back({{"line", l.source_line}, {"date", l.date}, {"amount", l.amount},
                   {"counterparty", redact_resident_ids(l.counterparty)}, {"reference", redact_resident_ids(l.reference)}});
  }
  const Reconciliation& m = report.result;
  // The withdrawals it matched, each with the entry it matched: the only
  // evidence that clears a withdrawal an earlier reconciliation left
  // unmatched (bot/books.cc). A statement that merely spans a withdrawal's
  // date, without it, says nothing about it and clears nothing.
  json matched = json::array();
  for (const auto& p : m.matched) {
    const BankLine& l = report.bank.lines[p.bank];
    if (l.in) continue;
    // Whether the booking names whom the bank paid: the matcher pairs by
    // amount and date and only prefers a similar name, so a booking of the
    // same amount to someone else would otherwise clear the alert (the money
    // in the books, under another name). A bank line naming nobody (取现)
    // cannot be told apart by name.
    bool same = l.counterparty.empty() || counterparty_similarity(l.counterparty, report.books[p.book].counterparty) > 0;
    matched.push_back({{"date", l.date}, {"amount", l.amount}, {"counterparty", redact_resident_ids(l.counterparty)},
                       {"entry", report.books[p.book].index}, {"counterparty_matches", same}});
  }
  json f = {{"kind", "reconciliation"},
            {"village", report.village.id},
            {"from", report.bank.from},
            {"to", report.bank.to},
            {"bank_sha256", report.bank.sha256},
            {"bank_lines", report.bank.lines.size()},
            {"book_lines", m.book_lines_in_period},
            {"matched", m.matched.size()},
            {"ambiguous", m.ambiguous},
            {"unmatched_bank", m.unmatched_bank.size()},
            {"unmatched_book", m.unmatched_book.size()},
            {"books_size", report.books_size},
            {"unmatched_out", std::move(out)},
            {"matched_out", std::move(matched)}};
  // The author and time the log adds take well under 1 KiB.
  auto bytes = canonical_json(f);
  if (!bytes.is_ok()) return bytes.status();
  if (bytes->size() > kMaxLeafBytes - 1024)
    return invalid_argument("未对账:银行支出太多,一条对账记录记不下;请按月分开对账 (too many withdrawals for one "
                            "reconciliation entry; reconcile the statement a month at a time)");
  return txn.append_to_log(report.village.id, f, author);
}

namespace {

std::string bank_line_text(const BankLine& l) {
  std::string s = "第" + std::to_string(l.source_line) + "行 " + l.date + " " + (l.in ? "收入" : "支出") + " " +
                  format_yuan(l.amount);
  if (!l.counterparty.empty()) s += " " + l.counterparty;
  if (!l.reference.empty()) s += " " + l.reference;
  return s;
}

std::string book_line_text(const BookLine& l) {
  std::string s = "#" + std::to_string(l.index) + " " + l.date + " " + (l.in ? "收入" : "支出") + " " + format_yuan(l.amount);
  if (!l.counterparty.empty()) s += " " + l.counterparty;
  if (!l.narration.empty()) s += " " + l.narration;
  return s;
}

}  // namespace

std::string reconciliation_text(const ReconcileReport& r) {
  const Reconciliation& m = r.result;
  std::string s = "【" + r.village.name + " 银行对账】" + r.bank.from + " 至 " + r.bank.to + " (bank reconciliation)\n";
  s += "银行流水" + std::to_string(r.bank.lines.size()) + "笔,账上银行存款" + std::to_string(m.book_lines_in_period) +
       "笔,对上" + std::to_string(m.matched.size()) + "笔";
  // A book line dated up to 3 days outside the statement's period may match
  // (a cheque booked the day before): said, or the counts seem not to add up.
  if (m.matched_outside_period > 0)
    s += "(其中" + std::to_string(m.matched_outside_period) + "笔账上日期在对账期外)";
  s += " (bank lines " + std::to_string(r.bank.lines.size()) + ", book lines " + std::to_string(m.book_lines_in_period) +
       ", matched " + std::to_string(m.matched.size());
  if (m.matched_outside_period > 0)
    s += ", " + std::to_string(m.matched_outside_period) + " of them to book lines dated outside the period";
  s += ")\n";
  s += "银行有、账上没有 (bank lines not in the books): " + std::to_string(m.unmatched_bank.size()) + "\n";
  for (size_t b : m.unmatched_bank) s += "  " + bank_line_text(r.bank.lines[b]) + "\n";
  s += "账上有、银行没有 (book lines not in the bank): " + std::to_string(m.unmatched_book.size()) + "\n";
  for (size_t k : m.unmatched_book) s += "  " + book_line_text(r.books[k]) + "\n";
  if (m.ambiguous > 0) {
    s += "有同样合适的其他对应,请人工核对 (matched among equally good candidates; check by hand): " +
         std::to_string(m.ambiguous) + "\n";
    for (const auto& p : m.matched)
      if (p.ambiguous) s += "  " + bank_line_text(r.bank.lines[p.bank]) + " ↔ " + book_line_text(r.books[p.book]) + "\n";
  }
  return s;
}

}  // namespace sunledger
