// GET /villages/{id}/{YYYY-MM} and its .csv: a month as published, every
// line with its ledger index, subsidies with masked names only, the alerts
// its notice carried and the signed checkpoint that ends at its statement.
#include <map>

#include "bot/render.h"
#include "ledger/csv_import.h"
#include "web/pages.h"

namespace sunledger::web {
namespace {

// Which entry reversed which: a reversed line stays, struck through.
std::map<uint64_t, uint64_t> reversals_of(const std::vector<Entry>& lines) {
  std::map<uint64_t, uint64_t> by;
  for (const auto& e : lines)
    if (entry_string(e.fields, "kind") == "reversal") by[e.fields.value("target", uint64_t{0})] = e.index;
  return by;
}

Html category_rows(const nlohmann::json& by_category) {
  static const Template row(R"(<tr><td>  · {{category}}</td><td class="num">{{amount}}</td></tr>
)");
  Html rows;
  if (!by_category.is_object()) return rows;
  for (const auto& item : by_category.items())
    if (item.value().is_number_integer() && item.value().get<Fen>() != 0)
      rows += row.render({{"category", item.key()}, {"amount", yuan(item.value().get<Fen>())}});
  return rows;
}

Html checkpoint_block(Site& site, const MonthClose& close) {
  static const Template t(R"(<p>核验码 <strong>{{short}}</strong> <span class="en">check code: entries in the log / start of its root, as in the chat notice</span></p>
<p>签名 <span class="en">signed checkpoint (C2SP signed note), ending at this month's statement</span></p>
<pre class="note">{{checkpoint}}</pre>
<p>公钥 <span class="en">verifier key</span></p>
<pre class="note">{{key}}</pre>
<p class="muted">以后任何时候,这个月的签名都必须一字不差;不一样就说明账本被改过,请向乡镇纪委反映。<span class="en">This month's checkpoint never changes; if it ever does, the accounts were altered: tell the township discipline commission.</span></p>
)");
  return t.render({{"short", checkpoint_short_form(close.checkpoint)},
                   {"checkpoint", close.checkpoint},
                   {"key", site.ledger.verifier_key()}});
}

}  // namespace

Result<PublishedMonth> published_month(Site& site, const Village& village, const std::string& month) {
  auto close = site.ledger.month_close(village.id, month);
  if (!close.is_ok()) {
    // The ledger says "not closed" as a failed precondition; to a reader it is a page that does not exist.
    if (close.status().code() == Code::kFailedPrecondition) return not_found(close.status().message());
    return close.status();
  }
  auto entries = site.ledger.month_entries(village.id, month);
  if (!entries.is_ok()) return entries.status();
  auto flags = site.bot.published_flags(village.id, month);
  if (!flags.is_ok()) return flags.status();
  PublishedMonth m{std::move(*close), {}, std::move(*flags)};
  for (auto& e : *entries)
    if (e.index != m.close.statement_index) m.lines.push_back(std::move(e));
  return m;
}

WebPage month_not_published(const Village& village, const std::string& month) {
  return not_found_page(village.name + " " + month_zh(month) + "的账目还没有公开",
                        "The accounts of " + village.id + " for " + month + " are not published.");
}

Html statement_table(const nlohmann::json& s) {
  static const Template t(R"(<div class="table"><table><tbody>
<tr><th>期初余额 <span class="en">Opening balance</span></th><td class="num">{{opening}}</td></tr>
<tr><th>本月收入 <span class="en">Income</span></th><td class="num">{{income}}</td></tr>
{{income_rows}}<tr><th>本月支出 <span class="en">Expense</span></th><td class="num">{{expense}}</td></tr>
{{expense_rows}}<tr><th>期末余额 <span class="en">Closing balance</span></th><td class="num">{{closing}}</td></tr>
<tr><th>低保等补助 <span class="en">Subsidies</span></th><td class="num">{{subsidy}}({{households}}户)</td></tr>
<tr><th>记录 <span class="en">Entries</span></th><td class="num">{{count}}条 #{{first}}–#{{last}}</td></tr>
</tbody></table></div>
)");
  return t.render({{"opening", yuan(entry_fen(s, "opening"))},
                   {"income", yuan(entry_fen(s, "income_total"))},
                   {"income_rows", category_rows(s.value("income_by_category", nlohmann::json::object()))},
                   {"expense", yuan(entry_fen(s, "expense_total"))},
                   {"expense_rows", category_rows(s.value("expense_by_category", nlohmann::json::object()))},
                   {"closing", yuan(entry_fen(s, "closing"))},
                   {"subsidy", yuan(entry_fen(s, "subsidy_total"))},
                   {"households", std::to_string(s.value("subsidy_lines", 0))},
                   {"count", std::to_string(s.value("entry_count", 0))},
                   {"first", std::to_string(s.value("first_index", 0))},
                   {"last", std::to_string(s.value("last_index", 0))}});
}

Html lines_table(const std::vector<Entry>& lines) {
  static const Template table(R"(<div class="table"><table>
<thead><tr><th>#</th><th>日期 <span class="en">Date</span></th><th>收支 <span class="en">Type</span></th><th>类别 <span class="en">Category</span></th><th>摘要 <span class="en">Item</span></th><th class="num">金额(元) <span class="en">Amount</span></th><th>项目 <span class="en">Project</span></th><th>资金 <span class="en">Fund</span></th><th>对方 <span class="en">Counterparty</span></th><th>备注 <span class="en">Note</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
)");
  static const Template row(R"(<tr class="{{class}}"><td>#{{index}}</td><td>{{date}}</td><td>{{type}}</td><td>{{category}}</td><td>{{item}}</td><td class="num">{{amount}}</td><td>{{project}}</td><td>{{fund}}</td><td>{{counterparty}}</td><td>{{note}}</td></tr>
)");
  auto reversed_by = reversals_of(lines);
  Html rows;
  for (const auto& e : lines) {
    const auto& f = e.fields;
    std::string kind = entry_string(f, "kind"), note = entry_string(f, "note"), type, item = entry_string(f, "item");
    if (kind == "txn") {
      type = entry_string(f, "direction") == "income" ? "收入" : "支出";
      if (auto it = reversed_by.find(e.index); it != reversed_by.end())
        note += (note.empty() ? "" : ";") + std::string("已被#") + std::to_string(it->second) + "冲销";
    } else if (kind == "reversal") {
      type = "冲销";
      item = "冲销#" + std::to_string(f.value("target", uint64_t{0}));
      note = "原因:" + entry_string(f, "reason");
    } else if (kind == "project") {
      type = "立项";
      item = entry_string(f, "name") + (f.value("special", false) ? "(专项资金)" : "");
    } else {
      continue;  // subsidies have their own table; finishing a project moves no money
    }
    Fen amount = kind == "project" ? entry_fen(f, "approved") : entry_fen(f, "amount");
    rows += row.render({{"class", reversed_by.count(e.index) ? "reversed" : ""},
                        {"index", std::to_string(e.index)},
                        {"date", entry_string(f, "date")},
                        {"type", type},
                        {"category", entry_string(f, "category")},
                        {"item", item},
                        {"amount", format_amount(amount)},
                        {"project", entry_string(f, "project")},
                        {"fund", entry_string(f, "fund")},
                        {"counterparty", entry_string(f, "counterparty")},
                        {"note", note}});
  }
  return table.render({{"rows", rows}});
}

Html subsidies_table(const std::vector<Entry>& lines) {
  static const Template table(R"(<div class="table"><table>
<thead><tr><th>#</th><th>项目 <span class="en">Programme</span></th><th>姓名 <span class="en">Name (masked)</span></th><th class="num">金额(元) <span class="en">Amount</span></th><th class="num">人数 <span class="en">Persons</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
)");
  static const Template row(R"(<tr class="{{class}}"><td>#{{index}}</td><td>{{program}}</td><td>{{name}}</td><td class="num">{{amount}}</td><td class="num">{{persons}}</td></tr>
)");
  auto reversed_by = reversals_of(lines);
  Html rows;
  for (const auto& e : lines) {
    if (entry_string(e.fields, "kind") != "subsidy") continue;
    // The masked name only: identity numbers (even masked) stay off the page.
    rows += row.render({{"class", reversed_by.count(e.index) ? "reversed" : ""},
                        {"index", std::to_string(e.index)},
                        {"program", entry_string(e.fields, "program")},
                        {"name", entry_string(e.fields, "name_masked")},
                        {"amount", format_amount(entry_fen(e.fields, "amount"))},
                        {"persons", std::to_string(e.fields.value("persons", 1))}});
  }
  return rows.empty() ? Html() : table.render({{"rows", rows}});
}

Result<WebPage> month_page(Site& site, const Village& village, const std::string& month) {
  static const Template page(R"(<p class="noprint"><a href="/villages/{{id}}">← {{name}}</a></p>
<h1>{{name}} {{month_zh}} 账目公开 <span class="en">Accounts of {{month}}, as published</span></h1>
<p class="noprint"><a href="/villages/{{id}}/{{month}}.csv">下载表格 CSV <span class="en">download CSV</span></a> · <a href="/villages/{{id}}/{{month}}/notice">打印公开栏通知 <span class="en">printable notice</span></a></p>
<h2>汇总 <span class="en">Statement</span></h2>
{{statement}}<h2>预警 <span class="en">Alerts, as published</span></h2>
{{alerts}}<h2>明细 <span class="en">Every line, with its index in the ledger</span></h2>
{{lines}}{{subsidies}}<h2>签名 <span class="en">Signed checkpoint</span></h2>
{{checkpoint}})");
  static const Template subsidies(R"(<h2>低保等补助名单 <span class="en">Subsidies (names masked)</span></h2>
{{table}})");
  auto m = published_month(site, village, month);
  if (!m.is_ok()) return m.status();
  Html subsidy_table = subsidies_table(m->lines);
  return html_page(200, village.name + " " + month_zh(month) + " 账目公开",
                   page.render({{"id", village.id},
                                {"name", village.name},
                                {"month", month},
                                {"month_zh", month_zh(month)},
                                {"statement", statement_table(m->close.statement)},
                                {"alerts", alerts_list(m->flags)},
                                {"lines", lines_table(m->lines)},
                                {"subsidies", subsidy_table.empty() ? Html() : subsidies.render({{"table", subsidy_table}})},
                                {"checkpoint", checkpoint_block(site, m->close)}}));
}

Result<WebPage> month_csv(Site& site, const Village& village, const std::string& month) {
  auto m = published_month(site, village, month);
  if (!m.is_ok()) return m.status();
  auto reversed_by = reversals_of(m->lines);
  // The BOM makes spreadsheet programs read the file as UTF-8 (the Chinese).
  std::string out = "\xEF\xBB\xBF序号 index,日期 date,类型 type,类别 category,摘要 item,金额(元) amount,项目 project,资金 fund,"
                    "对方 counterparty,备注 note\r\n";
  for (const auto& e : m->lines) {
    const auto& f = e.fields;
    std::string kind = entry_string(f, "kind"), type, category = entry_string(f, "category"), item = entry_string(f, "item"),
                note = entry_string(f, "note"), counterparty = entry_string(f, "counterparty");
    Fen amount = entry_fen(f, "amount");
    if (kind == "txn") {
      type = entry_string(f, "direction") == "income" ? "收入" : "支出";
      if (auto it = reversed_by.find(e.index); it != reversed_by.end())
        note += (note.empty() ? "" : ";") + std::string("已被#") + std::to_string(it->second) + "冲销";
    } else if (kind == "reversal") {
      type = "冲销";  // the amount reversed, positive, as the ledger records it
      item = "冲销#" + std::to_string(f.value("target", uint64_t{0}));
      note = "原因:" + entry_string(f, "reason");
    } else if (kind == "subsidy") {
      type = "补助";
      category = entry_string(f, "program");
      item = entry_string(f, "name_masked");
      note = std::to_string(f.value("persons", 1)) + "人";
    } else if (kind == "project") {
      type = "立项";
      item = entry_string(f, "name");
      amount = entry_fen(f, "approved");
    } else {
      continue;
    }
    for (const std::string& cell : {std::to_string(e.index), entry_string(f, "date"), type, category, item, format_amount(amount),
                                    entry_string(f, "project"), entry_string(f, "fund"), counterparty})
      out += csv_cell(cell) + ",";
    out += csv_cell(note) + "\r\n";
  }
  WebPage page;
  page.content_type = "text/csv; charset=utf-8";
  page.body = std::move(out);
  page.headers = {{"Content-Disposition", "attachment; filename=\"" + village.id + "-" + month + ".csv\""},
                  {"X-Content-Type-Options", "nosniff"},
                  {"Cache-Control", "no-cache"}};
  return page;
}

}  // namespace sunledger::web
