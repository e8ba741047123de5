// The text exports: the hledger journal, the beancount file and the CSV.
#include <map>
#include <set>

#include "exports/exports.h"

namespace sunledger {

namespace {

// Replaces what would end or split a field of the format (hledger reads ';'
// as a comment, '|' between payee and note, ':' between account parts, and
// two spaces as the end of an account name) with full-width forms.
std::string journal_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == ';') out += "；";
    else if (c == '|') out += "｜";
    else if (c == ':') out += "：";
    else if (c == '\t' || c == '\r' || c == '\n') out += ' ';
    else if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    else out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

const char* hledger_root(AccountType t) {
  switch (t) {
    case AccountType::kAsset: return "资产";
    case AccountType::kLiability: return "负债";
    case AccountType::kEquity: return "所有者权益";
    case AccountType::kCost: return "成本";
    case AccountType::kRevenue: return "收入";
    case AccountType::kExpense: return "费用";
  }
  return "";
}

const char* hledger_type(AccountType t) {
  switch (t) {
    case AccountType::kAsset:
    case AccountType::kCost: return "A";
    case AccountType::kLiability: return "L";
    case AccountType::kEquity: return "E";
    case AccountType::kRevenue: return "R";
    case AccountType::kExpense: return "X";
  }
  return "";
}

std::string hledger_account(const Account& a, const std::string& project = "") {
  std::string out = std::string(hledger_root(a.type)) + ":" + a.code + " " + a.name;
  if (!project.empty()) out += ":" + journal_text(project);
  return out;
}

std::string payee_of(const JournalTxn& t) {
  std::string p = journal_text(t.payee);
  return p.empty() ? "未注明对方" : p;
}

const char* beancount_root(AccountType t) {
  switch (t) {
    case AccountType::kAsset:
    case AccountType::kCost: return "Assets";
    case AccountType::kLiability: return "Liabilities";
    case AccountType::kEquity: return "Equity";
    case AccountType::kRevenue: return "Income";
    case AccountType::kExpense: return "Expenses";
  }
  return "";
}

std::string beancount_account(const Account& a) { return std::string(beancount_root(a.type)) + ":" + a.code + "-" + a.ascii; }

std::string bean_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out + "\"";
}

// Projects of special-fund sub-accounts get ASCII names P1, P2 … in order of
// first use; their Chinese names go in the open directive's metadata.
std::map<std::string, std::string> project_ids(const PublishedJournal& j) {
  std::map<std::string, std::string> ids;
  for (const auto& t : j.txns)
    for (const auto& p : t.postings)
      if (!p.project.empty() && !ids.count(p.project)) ids.emplace(p.project, "P" + std::to_string(ids.size() + 1));
  return ids;
}

std::string csv_cell(std::string_view s);

// A cell a spreadsheet will not run as a formula, quoted when it must be,
// appended to out (most cells need neither: copied as they are).
void append_csv_cell(std::string& out, std::string_view s) {
  if (s.empty() || ((s[0] != '=' && s[0] != '+' && s[0] != '-' && s[0] != '@' && s[0] != '\t' && s[0] != '\r') &&
                    s.find_first_of(",\"\r\n") == std::string_view::npos)) {
    out += s;
    return;
  }
  out += csv_cell(s);
}

std::string csv_cell(std::string_view s) {
  std::string v(s);
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r')) v = "'" + v;
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string to_hledger(const PublishedJournal& j) {
  std::string out;
  out.reserve(256 + j.txns.size() * 200);
  out += "; " + j.village.name + " (" + j.village.id + ") " + j.village.town + " — Sunledger export of the published months";
  if (!j.months.empty()) out += " " + j.months.front() + " to " + j.months.back();
  out += "\n; 《农村集体经济组织会计制度》(财会〔2023〕14号) chart of accounts; each entry's index in the village's signed log is its code (#N)\n\n";
  out += "decimal-mark .\ncommodity CNY 1,000.00\n\n";
  std::set<std::string> sub_accounts, payees;
  for (const auto& t : j.txns) {
    payees.insert(payee_of(t));
    for (const auto& p : t.postings)
      if (!p.project.empty()) sub_accounts.insert(hledger_account(*p.account, p.project) + "  ; type: " + hledger_type(p.account->type));
  }
  for (const auto& a : chart_2023()) out += "account " + hledger_account(a) + "  ; type: " + hledger_type(a.type) + "\n";
  for (const auto& s : sub_accounts) out += "account " + s + "\n";
  out += "\n";
  for (const auto& p : payees) out += "payee " + p + "\n";
  // Each account's name made once, not once per posting.
  std::map<const Account*, std::string> names;
  for (const auto& a : chart_2023()) names[&a] = "    " + hledger_account(a) + "  CNY ";
  // Appended piece by piece: the export benchmark counts every temporary string.
  for (const auto& t : j.txns) {
    out += '\n';
    out += t.date;
    out += " (#";
    out += std::to_string(t.index);
    out += ") ";
    out += payee_of(t);
    out += " | ";
    out += journal_text(t.narration);
    out += '\n';
    for (const auto& p : t.postings) {
      if (p.project.empty()) out += names[p.account];
      else out += "    " + hledger_account(*p.account, p.project) + "  CNY ";
      out += plain_amount(p.amount);
      out += '\n';
    }
  }
  return out;
}

std::string to_beancount(const PublishedJournal& j) {
  std::string out;
  out.reserve(256 + j.txns.size() * 200);
  out += "; " + j.village.name + " (" + j.village.id + ") " + j.village.town + " — Sunledger export of the published months\n";
  out += "option \"title\" " + bean_string(j.village.name + " " + j.village.id) + "\noption \"operating_currency\" \"CNY\"\n\n";
  auto ids = project_ids(j);
  for (const auto& a : chart_2023())
    out += "1970-01-01 open " + beancount_account(a) + " CNY\n  name: " + bean_string(a.name) + "\n";
  std::set<std::pair<std::string, std::string>> subs;  // (account, project)
  for (const auto& t : j.txns)
    for (const auto& p : t.postings)
      if (!p.project.empty()) subs.emplace(beancount_account(*p.account), p.project);
  for (const auto& [account, project] : subs)
    out += "1970-01-01 open " + account + ":" + ids[project] + " CNY\n  project: " + bean_string(project) + "\n";
  std::map<const Account*, std::string> names;  // each account's name made once
  for (const auto& a : chart_2023()) names[&a] = "  " + beancount_account(a);
  for (const auto& t : j.txns) {
    out += '\n';
    out += t.date;
    out += " * ";
    if (!t.payee.empty()) {
      out += bean_string(t.payee);
      out += ' ';
    }
    out += bean_string(t.narration);
    out += "\n  entry: ";
    out += std::to_string(t.index);
    out += '\n';
    for (const auto& p : t.postings) {
      out += names[p.account];
      if (!p.project.empty()) {
        out += ':';
        out += ids[p.project];
      }
      out += "  ";
      out += plain_amount(p.amount);
      out += " CNY\n";
    }
  }
  return out;
}

std::string to_csv(const PublishedJournal& j) {
  // The BOM tells Excel and WPS the file is UTF-8.
  std::string out = "\xEF\xBB\xBF日期,凭证号,对方,摘要,科目编码,科目名称,项目,借方,贷方\r\n";
  out.reserve(64 + j.txns.size() * 240);
  std::string head;
  for (const auto& t : j.txns) {
    // What every posting row of the transaction starts with, made once.
    head = t.date;
    head += ',';
    head += std::to_string(t.index);
    head += ',';
    append_csv_cell(head, t.payee);
    head += ',';
    append_csv_cell(head, t.narration);
    head += ',';
    for (const auto& p : t.postings) {
      out += head;
      out += p.account->code;
      out += ',';
      out += p.account->name;
      out += ',';
      append_csv_cell(out, p.project);
      out += ',';
      if (p.amount > 0) out += plain_amount(p.amount);
      out += ',';
      if (p.amount < 0) out += plain_amount(-p.amount);
      out += "\r\n";
    }
  }
  return out;
}

}  // namespace sunledger
