// GET /villages/{id}: one village's published months (newest first), its
// balance per fund, its projects drawn as bars and its alerts, all as published.
#include "bot/render.h"
#include "web/pages.h"

namespace sunledger::web {
namespace {

Html months_table(const Village& v, const std::vector<MonthClose>& closes) {
  if (closes.empty()) return Html::markup("<p>尚未公开任何月份。<span class=\"en\">No month published yet.</span></p>\n");
  static const Template table(R"(<div class="table"><table>
<thead><tr><th>月份 <span class="en">Month</span></th><th class="num">收入 <span class="en">Income</span></th><th class="num">支出 <span class="en">Expense</span></th><th class="num">期末余额 <span class="en">Closing</span></th><th>核验码 <span class="en">Check code</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
)");
  static const Template row(R"(<tr><td><a href="/villages/{{id}}/{{month}}">{{month_zh}}</a></td><td class="num">{{income}}</td><td class="num">{{expense}}</td><td class="num">{{closing}}</td><td>{{code}}</td></tr>
)");
  Html rows;
  for (auto it = closes.rbegin(); it != closes.rend(); ++it)
    rows += row.render({{"id", v.id},
                        {"month", it->month},
                        {"month_zh", month_zh(it->month)},
                        {"income", yuan_wan(entry_fen(it->statement, "income_total"))},
                        {"expense", yuan_wan(entry_fen(it->statement, "expense_total"))},
                        {"closing", yuan_wan(entry_fen(it->statement, "closing"))},
                        {"code", checkpoint_short_form(it->checkpoint)}});
  return table.render({{"rows", rows}});
}

Html funds_table(const VillageBooks& books) {
  if (books.fund_balances.empty()) return Html::markup("<p>暂无收支记录。<span class=\"en\">No entries yet.</span></p>\n");
  static const Template table(R"(<div class="table"><table>
<thead><tr><th>资金 <span class="en">Fund</span></th><th class="num">余额 <span class="en">Balance</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
<p class="muted">截至最近公开的月份 <span class="en">as of the last published month</span></p>
)");
  static const Template row(R"(<tr><td>{{fund}}</td><td class="num">{{balance}}</td></tr>
)");
  Html rows;
  for (const auto& [fund, balance] : books.fund_balances) rows += row.render({{"fund", fund}, {"balance", yuan_wan(balance)}});
  return table.render({{"rows", rows}});
}

Html projects_chart(const VillageBooks& books) {
  if (books.projects.empty()) return Html::markup("<p>还没有登记项目。<span class=\"en\">No project registered.</span></p>\n");
  std::vector<BarRow> rows;
  for (const auto& p : books.projects)
    rows.push_back({p.name + (p.special ? "(专项资金)" : "") + (p.finished ? "(已结项)" : ""),
                    {{"批复", p.approved}, {"到账", p.received}, {"支出", p.spent}}});
  return bar_chart(rows);
}

// Oldest first, as a chart of time reads; the table above is newest first.
Html months_chart(const std::vector<MonthClose>& closes) {
  if (closes.empty()) return Html();
  std::vector<BarRow> rows;
  for (const auto& c : closes)
    rows.push_back({month_zh(c.month),
                    {{"收入", entry_fen(c.statement, "income_total")}, {"支出", entry_fen(c.statement, "expense_total")}}});
  return bar_chart(rows);
}

}  // namespace

Result<WebPage> village_page(Site& site, const Village& village) {
  static const Template page(R"(<p class="noprint"><a href="/">← 全部村庄 <span class="en">all villages</span></a></p>
<h1>{{town}} {{name}}</h1>
<h2>已公开的月份 <span class="en">Published months</span></h2>
{{months}}<h2>每月收支 <span class="en">Income and expense per month</span></h2>
{{chart}}<h2>资金余额 <span class="en">Balance per fund</span></h2>
{{funds}}<h2>项目 <span class="en">Projects: approved, received, spent</span></h2>
{{projects}}<h2>预警 <span class="en">Alerts, as published</span></h2>
{{alerts}})");
  auto all = site.bot.books(village.id);
  if (!all.is_ok()) return all.status();
  // What was published only: a line of a month still open shows nowhere here.
  const VillageBooks& books = *(*all)->published;
  auto closes = site.ledger.month_closes(village.id);
  if (!closes.is_ok()) return closes.status();
  return html_page(200, village.name + " 村务公开",
                   page.render({{"town", village.town},
                                {"name", village.name},
                                {"months", months_table(village, *closes)},
                                {"chart", months_chart(*closes)},
                                {"funds", funds_table(books)},
                                {"projects", projects_chart(books)},
                                {"alerts", alerts_list(books.flags)}}));
}

}  // namespace sunledger::web
