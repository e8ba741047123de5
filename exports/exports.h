// The published books of a village in the formats accountants use: an
// hledger journal, a beancount file, a CSV with a BOM (for Excel and WPS)
// and an .xlsx workbook with a sheet per month and a summary. Each line is
// the balanced transaction ledger/chart.h makes of it; only published
// (closed) months are exported, as on the public pages.
//
// Thread safety: the functions keep no state; the Ledger is thread safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/chart.h"
#include "ledger/ledger.h"

namespace sunledger {

enum class ExportFormat { kHledger, kBeancount, kCsv, kXlsx };

// "hledger"/"journal", "beancount", "csv", "xlsx".
std::optional<ExportFormat> parse_export_format(std::string_view name);
const char* export_extension(ExportFormat f);    // "journal", "beancount", "csv", "xlsx"
const char* export_content_type(ExportFormat f);

// A village's published books as transactions, months from..to (YYYY-MM,
// either may be empty) that are also published.
struct PublishedJournal {
  Village village;
  std::vector<std::string> months;  // published months exported, in order
  std::vector<JournalTxn> txns;     // sorted by date, then entry
};
Result<PublishedJournal> published_journal(Ledger& ledger, const std::string& village, const std::string& from = "",
                                           const std::string& to = "");

// The formats, from a journal (pure functions: the benchmark times these).
std::string to_hledger(const PublishedJournal& j);
std::string to_beancount(const PublishedJournal& j);
std::string to_csv(const PublishedJournal& j);
Result<std::string> to_xlsx(const PublishedJournal& j);

Result<std::string> export_books(const PublishedJournal& j, ExportFormat f);

// The year statement by account (年度收支决算) as chat and the CLI show it,
// from the published months up to the year's end; kFailedPrecondition when
// none of the year's months is published.
Result<std::string> year_statement_text(Ledger& ledger, const std::string& village, const std::string& year);

// "300000.00", "-6800.00": the plain decimal both tools read.
std::string plain_amount(Fen fen);

}  // namespace sunledger
