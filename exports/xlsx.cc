// The .xlsx export: a summary sheet (汇总) of every account's debits, credits
// and balance, then one sheet per published month with its postings.
// libxlsxwriter writes to a file only: a private temporary file, read back.
// Written for speed (issue #16's export target): constant_memory mode streams
// each row to the sheet's temporary file with its strings inline, instead of
// keeping every cell in memory and every string in a shared-strings tree;
// dates and account codes are numbers (a date a spreadsheet can sort and add
// to, in yyyy-mm-dd), and each month's lines are found in one pass.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <xlsxwriter.h>

#include "exports/exports.h"
#include "ledger/clock.h"

namespace sunledger {

namespace {

double yuan(Fen fen) { return static_cast<double>(fen) / 100.0; }

// A YYYY-MM-DD date (the books' dates are valid) as a spreadsheet's day
// number: days since 1899-12-30, what Excel and LibreOffice count from.
double serial_date(const std::string& date) {
  auto num = [&date](size_t at, size_t n) {
    unsigned v = 0;
    for (size_t i = at; i < at + n && i < date.size(); ++i) v = v * 10 + static_cast<unsigned>(date[i] - '0');
    return v;
  };
  static const int64_t kEpoch = days_from_civil(1899, 12, 30);
  return static_cast<double>(days_from_civil(static_cast<int>(num(0, 4)), num(5, 2), num(8, 2)) - kEpoch);
}

double code_number(const std::string& code) { return std::strtod(code.c_str(), nullptr); }

void header(lxw_worksheet* ws, lxw_format* bold, const std::vector<const char*>& titles) {
  for (size_t c = 0; c < titles.size(); ++c) worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c), titles[c], bold);
}

}  // namespace

Result<std::string> to_xlsx(const PublishedJournal& j) {
  char path[] = "/tmp/sunledger-export-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return unavailable("cannot create a temporary file for the xlsx export");
  close(fd);
  struct Remove {
    const char* p;
    ~Remove() { std::remove(p); }
  } remove_it{path};
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;
  lxw_workbook* wb = workbook_new_opt(path, &options);
  if (wb == nullptr) return unavailable("cannot start the xlsx workbook");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  lxw_format* money = workbook_add_format(wb);
  format_set_num_format(money, "#,##0.00");
  lxw_format* day = workbook_add_format(wb);
  format_set_num_format(day, "yyyy-mm-dd");

  lxw_worksheet* summary = workbook_add_worksheet(wb, "汇总");
  worksheet_set_column(summary, 0, 5, 16, nullptr);
  header(summary, bold, {"科目编码", "科目名称", "类别", "借方合计", "贷方合计", "余额(借方为正)"});
  std::map<std::string, std::pair<Fen, Fen>> totals;  // code -> debit, credit
  for (const auto& t : j.txns)
    for (const auto& p : t.postings) (p.amount > 0 ? totals[p.account->code].first : totals[p.account->code].second) += p.amount;
  lxw_row_t row = 1;
  for (const auto& a : chart_2023()) {
    auto it = totals.find(a.code);
    if (it == totals.end()) continue;
    worksheet_write_number(summary, row, 0, code_number(a.code), nullptr);
    worksheet_write_string(summary, row, 1, a.name.c_str(), nullptr);
    worksheet_write_string(summary, row, 2, account_type_zh(a.type), nullptr);
    worksheet_write_number(summary, row, 3, yuan(it->second.first), money);
    worksheet_write_number(summary, row, 4, yuan(-it->second.second), money);
    worksheet_write_number(summary, row, 5, yuan(it->second.first + it->second.second), money);
    ++row;
  }

  std::map<std::string, std::vector<const JournalTxn*>> by_month;
  for (const auto& t : j.txns) by_month[t.month].push_back(&t);
  for (const auto& month : j.months) {
    lxw_worksheet* ws = workbook_add_worksheet(wb, month.c_str());
    worksheet_set_column(ws, 0, 8, 14, nullptr);
    header(ws, bold, {"日期", "凭证号", "对方", "摘要", "科目编码", "科目名称", "项目", "借方", "贷方"});
    lxw_row_t r = 1;
    for (const JournalTxn* t : by_month[month]) {
      double date = serial_date(t->date);
      for (const auto& p : t->postings) {
        worksheet_write_number(ws, r, 0, date, day);
        worksheet_write_number(ws, r, 1, static_cast<double>(t->index), nullptr);
        // Empty cells are not written: an empty inline string is still a cell.
        if (!t->payee.empty()) worksheet_write_string(ws, r, 2, t->payee.c_str(), nullptr);
        if (!t->narration.empty()) worksheet_write_string(ws, r, 3, t->narration.c_str(), nullptr);
        worksheet_write_number(ws, r, 4, code_number(p.account->code), nullptr);
        worksheet_write_string(ws, r, 5, p.account->name.c_str(), nullptr);
        if (!p.project.empty()) worksheet_write_string(ws, r, 6, p.project.c_str(), nullptr);
        if (p.amount > 0) worksheet_write_number(ws, r, 7, yuan(p.amount), money);
        else worksheet_write_number(ws, r, 8, yuan(-p.amount), money);
        ++r;
      }
    }
  }
  if (lxw_error e = workbook_close(wb); e != LXW_NO_ERROR)
    return unavailable(std::string("xlsx export failed: ") + lxw_strerror(e));
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sunledger
