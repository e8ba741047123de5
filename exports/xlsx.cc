// The .xlsx export: a summary sheet (汇总) of every account's debits, credits
// and balance, then one sheet per published month with its postings.
// libxlsxwriter writes to a file only: a private temporary file, read back.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <xlsxwriter.h>

#include "exports/exports.h"

namespace sunledger {

namespace {

double yuan(Fen fen) { return static_cast<double>(fen) / 100.0; }

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
  lxw_workbook* wb = workbook_new(path);
  if (wb == nullptr) return unavailable("cannot start the xlsx workbook");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  lxw_format* money = workbook_add_format(wb);
  format_set_num_format(money, "#,##0.00");

  lxw_worksheet* summary = workbook_add_worksheet(wb, "汇总");
  header(summary, bold, {"科目编码", "科目名称", "类别", "借方合计", "贷方合计", "余额(借方为正)"});
  std::map<std::string, std::pair<Fen, Fen>> totals;  // code -> debit, credit
  for (const auto& t : j.txns)
    for (const auto& p : t.postings) (p.amount > 0 ? totals[p.account->code].first : totals[p.account->code].second) += p.amount;
  lxw_row_t row = 1;
  for (const auto& a : chart_2023()) {
    auto it = totals.find(a.code);
    if (it == totals.end()) continue;
    worksheet_write_string(summary, row, 0, a.code.c_str(), nullptr);
    worksheet_write_string(summary, row, 1, a.name.c_str(), nullptr);
    worksheet_write_string(summary, row, 2, account_type_zh(a.type), nullptr);
    worksheet_write_number(summary, row, 3, yuan(it->second.first), money);
    worksheet_write_number(summary, row, 4, yuan(-it->second.second), money);
    worksheet_write_number(summary, row, 5, yuan(it->second.first + it->second.second), money);
    ++row;
  }
  worksheet_set_column(summary, 0, 5, 16, nullptr);

  for (const auto& month : j.months) {
    lxw_worksheet* ws = workbook_add_worksheet(wb, month.c_str());
    header(ws, bold, {"日期", "凭证号", "对方", "摘要", "科目编码", "科目名称", "项目", "借方", "贷方"});
    lxw_row_t r = 1;
    for (const auto& t : j.txns) {
      if (t.month != month) continue;
      for (const auto& p : t.postings) {
        worksheet_write_string(ws, r, 0, t.date.c_str(), nullptr);
        worksheet_write_number(ws, r, 1, static_cast<double>(t.index), nullptr);
        worksheet_write_string(ws, r, 2, t.payee.c_str(), nullptr);
        worksheet_write_string(ws, r, 3, t.narration.c_str(), nullptr);
        worksheet_write_string(ws, r, 4, p.account->code.c_str(), nullptr);
        worksheet_write_string(ws, r, 5, p.account->name.c_str(), nullptr);
        worksheet_write_string(ws, r, 6, p.project.c_str(), nullptr);
        if (p.amount > 0) worksheet_write_number(ws, r, 7, yuan(p.amount), money);
        else worksheet_write_number(ws, r, 8, yuan(-p.amount), money);
        ++r;
      }
    }
    worksheet_set_column(ws, 0, 8, 14, nullptr);
  }
  if (lxw_error e = workbook_close(wb); e != LXW_NO_ERROR)
    return unavailable(std::string("xlsx export failed: ") + lxw_strerror(e));
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sunledger
