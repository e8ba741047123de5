// Reading a village's published books into a journal, and the dispatch by format.
#include "exports/exports.h"

#include <algorithm>

namespace sunledger {

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  if (name == "hledger" || name == "journal") return ExportFormat::kHledger;
  if (name == "beancount") return ExportFormat::kBeancount;
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "xlsx") return ExportFormat::kXlsx;
  return std::nullopt;
}

const char* export_extension(ExportFormat f) {
  switch (f) {
    case ExportFormat::kHledger: return "journal";
    case ExportFormat::kBeancount: return "beancount";
    case ExportFormat::kCsv: return "csv";
    case ExportFormat::kXlsx: return "xlsx";
  }
  return "";
}

const char* export_content_type(ExportFormat f) {
  switch (f) {
    case ExportFormat::kHledger:
    case ExportFormat::kBeancount: return "text/plain; charset=utf-8";
    case ExportFormat::kCsv: return "text/csv; charset=utf-8";
    case ExportFormat::kXlsx: return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  }
  return "application/octet-stream";
}

std::string plain_amount(Fen fen) {
  bool negative = fen < 0;
  // Fen fits in int64 and amounts are far below its range: negating is safe.
  uint64_t v = negative ? static_cast<uint64_t>(-fen) : static_cast<uint64_t>(fen);
  std::string cents = std::to_string(v % 100);
  return (negative ? "-" : "") + std::to_string(v / 100) + "." + (cents.size() == 1 ? "0" : "") + cents;
}

Result<PublishedJournal> published_journal(Ledger& ledger, const std::string& village, const std::string& from,
                                           const std::string& to) {
  if ((!from.empty() && !valid_month(from)) || (!to.empty() && !valid_month(to)))
    return invalid_argument("月份格式应为 2022-11 (months are YYYY-MM)");
  auto v = ledger.village(village);
  if (!v.is_ok()) return v.status();
  PublishedJournal j;
  j.village = *v;
  // Closed first, then the entries: a month closed by then is final (its
  // lines can no longer change), so what is read of it is complete.
  auto closes = ledger.month_closes(village);
  if (!closes.is_ok()) return closes.status();
  for (const auto& c : *closes)
    if ((from.empty() || c.month >= from) && (to.empty() || c.month <= to)) j.months.push_back(c.month);
  std::sort(j.months.begin(), j.months.end());
  if (j.months.empty()) return j;
  auto size = ledger.log_size(village);
  if (!size.is_ok()) return size.status();
  auto entries = ledger.entries(village, 0, *size);
  if (!entries.is_ok()) return entries.status();
  JournalBuilder b;
  b.keep_months(j.months);
  for (const auto& e : *entries) b.apply(e);
  j.txns = b.transactions();
  std::stable_sort(j.txns.begin(), j.txns.end(), [](const JournalTxn& x, const JournalTxn& y) { return x.date < y.date; });
  return j;
}

Result<std::string> export_books(const PublishedJournal& j, ExportFormat f) {
  switch (f) {
    case ExportFormat::kHledger: return to_hledger(j);
    case ExportFormat::kBeancount: return to_beancount(j);
    case ExportFormat::kCsv: return to_csv(j);
    case ExportFormat::kXlsx: return to_xlsx(j);
  }
  return invalid_argument("unknown export format");
}

}  // namespace sunledger
