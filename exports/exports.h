// The published books of a village in the formats accountants use: an
// hledger journal, a beancount file, a CSV with a BOM (for Excel and WPS)
// and an .xlsx workbook with a sheet per month and a summary. Each line is
// the balanced transaction ledger/chart.h makes of it; only published
// (closed) months are exported, as on the public pages.
//
// The journal itself (published_journal) is ledger/chart.h's.
// Thread safety: the functions keep no state.
#pragma once

#include <optional>
#include <set>
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

// The formats, from a journal (pure functions: the benchmark times these).
std::string to_hledger(const PublishedJournal& j);
std::string to_beancount(const PublishedJournal& j);
std::string to_csv(const PublishedJournal& j);
Result<std::string> to_xlsx(const PublishedJournal& j);
// The name Excel accepts for a sheet wanted as `wanted` (xlsx.cc): at most 31
// characters, none of []:*?/\, no apostrophe at either end, and unique
// ignoring case among `taken` (which it joins).
std::string excel_sheet_name(std::string_view wanted, std::set<std::string>& taken);

Result<std::string> export_books(const PublishedJournal& j, ExportFormat f);

// "300000.00", "-6800.00": the plain decimal both tools read.
std::string plain_amount(Fen fen);

}  // namespace sunledger
