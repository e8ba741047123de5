// The entries CSV that `sunledger post` and POST /v1/villages/{id}/entries take:
// a header row `date,type,category,item,amount,project,fund,counterparty,note`
// (or the same in Chinese: `日期,类型,类别,摘要,金额,项目,资金,对方,备注`), optionally a tenth column
// `repeat`/`重复` (确认 marks a line identical to a recent one as intended), and one row per income or expense
// line (RFC 4180 quoting); and the cell
// writer of every CSV the server answers with.
// Pure functions: no state, safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger {

struct RowError {
  int line = 0;  // 1-based line in the file
  std::string reason;
};

struct EntriesImport {
  std::vector<TransactionLine> lines;
  std::vector<RowError> errors;  // every bad row; when non-empty nothing may be written
};

// Parses and validates every row; collects all errors rather than stopping at
// the first, so a township accountant can fix a file in one pass.
EntriesImport parse_entries_csv(std::string_view text);

// One cell of a CSV we serve: quoted when it holds a comma, quote or line
// break, and prefixed with ' when a spreadsheet would run it as a formula
// (it starts with =, +, -, @, tab or CR) unless it is a negative number
// (-1,234.50): stored text is whatever people typed.
std::string csv_cell(const std::string& raw);

// The RFC 4180 records of a CSV text (a leading UTF-8 BOM skipped, blank
// lines left out), each with the 1-based line it starts on: for other CSV
// files the ledger's modules read (a bank statement). False, with *error
// naming the line, on an unterminated quote or text after a closing quote.
struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};
bool split_csv(std::string_view text, std::vector<CsvRecord>* out, RowError* error);

// Joins row errors into the message people see: one "第N行: reason" per line.
std::string describe_row_errors(const std::vector<RowError>& errors);

}  // namespace sunledger
