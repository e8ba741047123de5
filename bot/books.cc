#include "bot/books.h"

#include <algorithm>
#include <cstdio>

namespace sunledger {
namespace {

std::string jstr(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Fen jfen(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<Fen>() : 0;
}

bool is_special_fund(const std::string& fund) { return fund.find("专项") != std::string::npos; }

}  // namespace

bool is_cash_expense(const nlohmann::json& e) {
  for (const char* key : {"fund", "counterparty", "note"})
    if (jstr(e, key).find("现金") != std::string::npos) return true;
  return false;
}

VillageBooks analyse_books(const Village& village, const std::vector<Entry>& entries, const BooksOptions& options) {
  VillageBooks b;
  b.village = village.id;
  b.village_name = village.name;
  b.size = entries.size();
  std::map<std::string, size_t> project_index;
  std::set<uint64_t> reversed;
  for (const auto& e : entries) {
    std::string kind = jstr(e.fields, "kind");
    if (kind == "reversal") reversed.insert(e.fields.value("target", uint64_t{0}));
    if (kind == "statement") b.closed_months.insert(jstr(e.fields, "month"));
  }

  // Special-purpose money paid out of one project's earmark to a
  // non-special project, kept to attribute it in the flag's text.
  struct Diversion {
    uint64_t index;
    std::string to_project;
    std::string month;
    Fen amount;
  };
  std::vector<Diversion> diversions;

  for (const auto& e : entries) {
    const auto& f = e.fields;
    std::string kind = jstr(f, "kind");
    if (kind == "project") {
      project_index[jstr(f, "name")] = b.projects.size();
      b.projects.push_back({jstr(f, "name"), jfen(f, "approved"), f.value("special", false), 0, 0});
    } else if (kind == "txn") {
      if (!b.closed_months.count(jstr(f, "month"))) ++b.open_month_lines[jstr(f, "month")];
      if (reversed.count(e.index)) continue;
      bool income = jstr(f, "direction") == "income";
      Fen amount = jfen(f, "amount");
      std::string fund = jstr(f, "fund").empty() ? "一般资金" : jstr(f, "fund");
      b.fund_balances[fund] += income ? amount : -amount;
      std::string project = jstr(f, "project");
      auto it = project_index.find(project);
      if (it != project_index.end()) (income ? b.projects[it->second].received : b.projects[it->second].spent) += amount;
      if (!income && is_special_fund(fund) && (it == project_index.end() || !b.projects[it->second].special))
        diversions.push_back({e.index, project, jstr(f, "month"), amount});
      if (!income && is_cash_expense(f) && amount > options.cash_limit)
        b.flags.push_back({FlagKind::kCashExpense, village.id, jstr(f, "month"), e.index,
                           "大额现金支出:第#" + std::to_string(e.index) + "条 " + jstr(f, "item") + " " +
                               format_yuan(amount) + ",超过现金限额" + format_yuan(options.cash_limit) +
                               " (cash expense above the limit)"});
    } else if (kind == "reversal") {
      if (f.value("target_closed", false))
        b.flags.push_back({FlagKind::kReversalOfPublished, village.id, jstr(f, "target_month"), e.index,
                           "冲销已公开月份的账目:第#" + std::to_string(e.index) + "条冲销了" + jstr(f, "target_month") +
                               "的第#" + std::to_string(f.value("target", uint64_t{0})) + "条,原因:" + jstr(f, "reason") +
                               " (reversal of an entry in a published month)"});
    }
  }

  // Attribute diverted special money to the special projects that received
  // more special funds than they spent.
  for (const auto& d : diversions) {
    std::string from;
    for (const auto& p : b.projects)
      if (p.special && p.received > p.spent) from += (from.empty() ? "" : "、") + p.name;
    std::string to = d.to_project.empty() ? "未列项目的支出" : d.to_project;
    std::string text = "专项资金挪用:第#" + std::to_string(d.index) + "条从专项资金支付" + format_yuan_with_wan(d.amount) +
                       "给“" + to + "”";
    if (!from.empty()) text += ",该款应专用于“" + from + "”";
    text += " (special-purpose funds paid to another project)";
    b.flags.push_back({FlagKind::kSpecialFundsDiverted, village.id, d.month, d.index, text});
  }
  for (const auto& p : b.projects) {
    if (p.spent > p.approved)
      b.flags.push_back({FlagKind::kOverBudget, village.id, "", std::nullopt,
                         "项目超支:“" + p.name + "”已支出" + format_yuan(p.spent) + ",超过批复金额" +
                             format_yuan(p.approved) + " (project spending exceeds its approved budget)"});
    if (p.special && p.received > p.spent && !diversions.empty())
      b.flags.push_back({FlagKind::kSpecialFundsDiverted, village.id, "", std::nullopt,
                         "专项资金去向不明:“" + p.name + "”专项资金到账" + format_yuan_with_wan(p.received) + ",用于本项目" +
                             format_yuan_with_wan(p.spent) + ",其余" + format_yuan_with_wan(p.received - p.spent) +
                             "未用于本项目 (special funds not spent on their project)"});
  }
  // Months with entries that were not published by the deadline.
  for (const auto& [month, lines] : b.open_month_lines) {
    if (b.closed_months.count(month) || lines == 0) continue;
    int y = std::stoi(month.substr(0, 4)), m = std::stoi(month.substr(5, 2));
    char deadline[40];
    std::snprintf(deadline, sizeof deadline, "%04d-%02d-%02d", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1,
                  options.publish_by_day);
    if (options.today > deadline)
      b.flags.push_back({FlagKind::kMonthNotPublished, village.id, month, std::nullopt,
                         village.name + " " + month + " 的账目逾期未公开(应于" + deadline + "前公开) (month " + month +
                             " not published by " + deadline + ")"});
  }
  return b;
}

}  // namespace sunledger
