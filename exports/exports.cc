// Reading a village's published books into a journal, and the dispatch by format.
#include "exports/exports.h"


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
