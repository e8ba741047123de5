#include "ledger/csv_import.h"

#include <cctype>

#include <array>
#include <utility>

#include "ledger/identity.h"

namespace sunledger {
namespace {

constexpr std::array<const char*, 9> kColumns = {"date", "type", "category", "item", "amount",
                                                 "project", "fund", "counterparty", "note"};
// The same columns as township accountants' spreadsheets title them (issue
// #16): either header row is accepted, never a mix.
constexpr std::array<const char*, 9> kColumnsZh = {"日期", "类型", "类别", "摘要", "金额", "项目", "资金", "对方", "备注"};
constexpr const char* kHeaderHelp =
    "date,type,category,item,amount,project,fund,counterparty,note[,repeat] 或 日期,类型,类别,摘要,金额,项目,资金,对方,备注[,重复]";
// An optional tenth column marks a line identical to a recent one as intended.
constexpr const char* kRepeatColumn = "repeat";
constexpr const char* kRepeatColumnZh = "重复";
constexpr size_t kMaxRows = 10'000;

// Splits RFC 4180 records. Returns false, with the line and the reason, on an
// unterminated quote or on text after a closing quote.
struct Record {
  int line = 0;
  std::vector<std::string> fields;
};

bool split_records(std::string_view text, std::vector<Record>* out, int* bad_line, std::string* reason) {
  size_t i = 0;
  int line = 1;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // spreadsheet BOM
  while (i < text.size()) {
    Record rec;
    rec.line = line;
    std::string field;
    bool in_quotes = false, record_done = false;
    while (i < text.size() && !record_done) {
      char c = text[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          in_quotes = false;
          ++i;
          // Only a delimiter may follow a closing quote. `"x"y` is no CSV
          // field: quietly storing `xy` would book something nobody wrote.
          bool at_end = i == text.size() || text[i] == ',' || text[i] == '\n' ||
                        (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n');
          if (!at_end) {
            *bad_line = line;
            *reason = "引号后面还有文字;字段中的引号请写成两个 \"\" (text after a closing quote; write a quote inside a quoted field as \"\")";
            return false;
          }
          continue;
        }
        if (c == '\n') ++line;
        field.push_back(c);
        ++i;
        continue;
      }
      if (c == '"' && field.empty()) {
        in_quotes = true;
        ++i;
      } else if (c == ',') {
        rec.fields.push_back(std::move(field));
        field.clear();
        ++i;
      } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        i += 2;
        record_done = true;
      } else if (c == '\n') {
        ++i;
        record_done = true;
      } else {
        field.push_back(c);
        ++i;
      }
    }
    if (in_quotes) {
      *bad_line = rec.line;
      *reason = "引号没有闭合 (unterminated quote)";
      return false;
    }
    rec.fields.push_back(std::move(field));
    ++line;
    bool blank = rec.fields.size() == 1 && rec.fields[0].find_first_not_of(" \t\r") == std::string::npos;
    if (!blank) out->push_back(std::move(rec));
  }
  return true;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

// Long (about 70 lines): one pass over the rows that reads each column in
// the header's order and collects every row's errors (an accountant fixes a
// file in one go); its column readers are the helpers above.
EntriesImport parse_entries_csv(std::string_view text) {
  EntriesImport result;
  std::vector<Record> records;
  int bad_line = 0;
  std::string reason;
  if (!split_records(text, &records, &bad_line, &reason)) {
    result.errors.push_back({bad_line, reason});
    return result;
  }
  if (records.empty()) {
    result.errors.push_back({1, std::string("文件为空,第一行应为表头 ") + kHeaderHelp + " (empty file)"});
    return result;
  }
  const auto& header = records[0].fields;
  auto header_is = [&header](const std::array<const char*, 9>& names, const char* repeat) {
    bool ok = header.size() == names.size() || (header.size() == names.size() + 1 && trim(header.back()) == repeat);
    for (size_t i = 0; ok && i < names.size(); ++i) ok = trim(header[i]) == names[i];
    return ok;
  };
  if (!header_is(kColumns, kRepeatColumn) && !header_is(kColumnsZh, kRepeatColumnZh)) {
    result.errors.push_back({records[0].line, std::string("表头应为 ") + kHeaderHelp + " (wrong header row)"});
    return result;
  }
  if (records.size() == 1) {
    result.errors.push_back({records[0].line, "只有表头,没有账目 (no rows after the header)"});
    return result;
  }
  if (records.size() - 1 > kMaxRows) {
    result.errors.push_back({records[0].line, "一次最多导入10000行 (at most 10,000 rows per file)"});
    return result;
  }
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.fields.size() != header.size()) {
      std::string n = std::to_string(header.size());
      result.errors.push_back({rec.line, "应有" + n + "列,实际" + std::to_string(rec.fields.size()) +
                                             "列;含逗号的金额请加引号 (expected " + n + " columns; quote amounts with commas)"});
      continue;
    }
    TransactionLine line;
    line.source_line = rec.line;
    line.date = trim(rec.fields[0]);
    std::string type = trim(rec.fields[1]);
    if (type == "income" || type == "收入") line.income = true;
    else if (type == "expense" || type == "支出") line.income = false;
    else if (type == "opening" || type == "期初余额") line.kind = kOpeningBalanceKind;
    else if (type == "transfer" || type == "转账") line.kind = kTransferKind;
    else if (type == "return" || type == "退回") line.kind = kSpecialReturnKind;
    else {
      // Quoted fields are masked: a file with shifted columns may put an
      // identity number here, and errors reach the API's answer and logs.
      result.errors.push_back({rec.line, "类型“" + redact_resident_ids(type) +
                                             "”应为 收入、支出、期初余额、转账 或 退回 (type must be income, expense, opening, "
                                             "transfer or return)"});
      continue;
    }
    line.category = trim(rec.fields[2]);
    line.item = trim(rec.fields[3]);
    auto amount = parse_amount(rec.fields[4]);
    if (!amount.is_ok()) {
      result.errors.push_back({rec.line, amount.status().message()});
      continue;
    }
    line.amount = *amount;
    line.project = trim(rec.fields[5]);
    line.fund = trim(rec.fields[6]);
    line.counterparty = trim(rec.fields[7]);
    // A transfer's 对方 is the fund the money goes to (资金 the one it leaves).
    if (line.kind == kTransferKind) line.to_fund = std::exchange(line.counterparty, "");
    line.note = trim(rec.fields[8]);
    if (rec.fields.size() > kColumns.size()) {
      std::string repeat = trim(rec.fields[9]);
      if (repeat == "确认" || repeat == "是" || repeat == "yes" || repeat == "confirm") line.repeat = true;
      else if (!repeat.empty()) {
        result.errors.push_back({rec.line, "“重复”列只能留空或写“确认” (the repeat column is empty or 确认/yes)"});
        continue;
      }
    }
    // A correction names no category, and may name no item: its kind is both.
    if (!line.kind.empty() && line.category.empty()) line.category = correction_kind_zh(line.kind);
    if (!line.kind.empty() && line.item.empty()) line.item = line.category;
    if (Status s = validate_transaction(line); !s.is_ok()) {
      result.errors.push_back({rec.line, redact_resident_ids(s.message())});  // the date error quotes the field
      continue;
    }
    result.lines.push_back(std::move(line));
  }
  return result;
}

std::string describe_row_errors(const std::vector<RowError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "\n";
    out += "第" + std::to_string(e.line) + "行: " + e.reason;
  }
  return out;
}

namespace {
// -1,234.50: a negative amount is a number to a spreadsheet, never a formula,
// and must stay one so a column of amounts adds up (a reversal's).
bool negative_number(const std::string& v) {
  if (v.size() < 2 || v[0] != '-' || !std::isdigit(static_cast<unsigned char>(v[1]))) return false;
  size_t i = 1;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == ',')) ++i;
  if (i < v.size() && v[i] == '.') {
    size_t frac = ++i;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
    if (i == frac) return false;
  }
  return i == v.size();
}
}  // namespace

std::string csv_cell(const std::string& raw) {
  bool formula = !raw.empty() && std::string("=+-@\t\r").find(raw[0]) != std::string::npos && !negative_number(raw);
  std::string v = formula ? "'" + raw : raw;
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += "\"\"";
    else out.push_back(c);
  }
  return out + "\"";
}

bool split_csv(std::string_view text, std::vector<CsvRecord>* out, RowError* error) {
  std::vector<Record> records;
  if (!split_records(text, &records, &error->line, &error->reason)) return false;
  out->reserve(records.size());
  for (auto& r : records) out->push_back({r.line, std::move(r.fields)});
  return true;
}

}  // namespace sunledger
