// The bank statement (reconcile/): every line read is a valid one, every
// refusal names a reason, and the matcher's pairs keep its rules (one to one,
// the same direction and amount, dates at most 3 days apart).
#include <cstdlib>
#include <set>
#include <string>

#include "ledger/clock.h"
#include "reconcile/reconcile.h"

namespace {

int64_t day(const std::string& date) {
  auto d = sunledger::parse_date(date);
  if (!d.is_ok()) std::abort();
  return sunledger::days_from_civil(d->year, static_cast<unsigned>(d->month), static_cast<unsigned>(d->day));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sunledger;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto st = parse_bank_statement(text, "2030-01-01");
  if (!st.is_ok()) {
    if (st.status().message().empty()) std::abort();
    return 0;
  }
  // The statement matched against itself as if it were the books.
  std::vector<BookLine> books;
  for (const auto& l : st->lines) {
    if (l.amount <= 0 || l.amount > kMaxAmountFen || l.date < st->from || l.date > st->to) std::abort();
    books.push_back({static_cast<uint64_t>(l.source_line), l.date, l.in, l.amount, l.counterparty, l.reference});
  }
  auto r = match_bank_lines(st->lines, books, st->from, st->to);
  std::set<size_t> banks, booked;
  for (const auto& m : r.matched) {
    const auto& b = st->lines[m.bank];
    const auto& k = books[m.book];
    if (!banks.insert(m.bank).second || !booked.insert(m.book).second) std::abort();
    if (b.in != k.in || b.amount != k.amount || std::llabs(day(b.date) - day(k.date)) > kMatchWindowDays) std::abort();
  }
  // Every line has its own twin: all of them pair up.
  if (!r.unmatched_bank.empty() || r.matched.size() + r.unmatched_bank.size() != st->lines.size()) std::abort();
  (void)reconciliation_text(ReconcileReport{{"v", "村", "镇"}, *st, books, r, 0});
  return 0;
}
