// GET /villages/{id}/{YYYY-MM} and its .csv: a month as published, every
// line with its ledger index, subsidies with masked names only, the alerts
// its notice carried and the signed checkpoint that ends at its statement.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>

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
      rows += row.render({{"category", item.key()}, {"amount", yuan_wan(item.value().get<Fen>())}});
  return rows;
}

Html checkpoint_block(Site& site, const MonthClose& close) {
  static const Template t(R"(<p>核验码 <strong>{{short}}</strong> <span class="en">check code: entries in the log / start of its root, as in the chat notice</span></p>
<p>签名 <span class="en">signed checkpoint (C2SP signed note), ending at this month's statement</span></p>
<pre class="note" id="checkpoint">{{checkpoint}}</pre>
<p>公钥 <span class="en">verifier key</span></p>
<pre class="note" id="verifier-key">{{key}}</pre>
<p class="muted">以后任何时候,这个月的签名都必须一字不差;不一样就说明账本被改过,请向乡镇纪委反映。<span class="en">This month's checkpoint never changes; if it ever does, the accounts were altered: tell the township discipline commission.</span></p>
)");
  return t.render({{"short", checkpoint_short_form(close.checkpoint)},
                   {"checkpoint", close.checkpoint},
                   {"key", site.ledger.verifier_key()}});
}

// The local day an entry was recorded (its recorded_at is UTC, to the
// second or the day): a reversal has no date of its own, and a reader adding
// up a month's lines needs one on every row.
std::string recorded_day(const nlohmann::json& f, int utc_offset_minutes) {
  std::string at = entry_string(f, "recorded_at");  // 2022-12-05T08:00:00Z
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (std::sscanf(at.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &se) != 6) return "";
  int64_t t = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + se;
  return format_date(local_date(t, utc_offset_minutes));
}

// What a row of the month's lines shows, the same on the page and in the
// CSV: a reversal cancels its line, so its amount carries the minus sign and
// its type says what it reversed (a positive amount under 冲销 was added to
// the month's expense by readers of the CSV).
struct LineView {
  std::string date, type, category, item, note;
  std::string amount;
  bool shown = true;
};

LineView line_view(const Entry& e, const std::map<uint64_t, uint64_t>& reversed_by, int utc_offset_minutes) {
  const auto& f = e.fields;
  LineView v;
  std::string kind = entry_string(f, "kind");
  v.date = entry_string(f, "date");
  v.category = entry_string(f, "category");
  v.item = entry_string(f, "item");
  v.note = entry_string(f, "note");
  Fen amount = entry_fen(f, "amount");
  std::string direction = entry_string(f, "direction") == "income" ? "收入" : "支出";
  if (kind == "txn") {
    v.type = direction;
    if (auto it = reversed_by.find(e.index); it != reversed_by.end())
      v.note += (v.note.empty() ? "" : ";") + std::string("已被#") + std::to_string(it->second) + "冲销";
  } else if (kind == "reversal") {
    v.type = "冲销" + direction;
    v.item = "冲销#" + std::to_string(f.value("target", uint64_t{0}));
    v.note = "原因:" + entry_string(f, "reason");
    v.date = recorded_day(f, utc_offset_minutes);
    amount = -amount;
  } else if (kind == "project") {
    v.type = "立项";
    v.item = entry_string(f, "name") + (f.value("special", false) ? "(专项资金)" : "");
    v.note = "批准金额,不是收支 (approved amount, not income or expense)";
    v.date = recorded_day(f, utc_offset_minutes);
    amount = entry_fen(f, "approved");
  } else if (kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind) {
    v.type = correction_kind_zh(kind);
    v.category = kind == kTransferKind ? entry_string(f, "fund") + "→" + entry_string(f, "to_fund") : entry_string(f, "fund");
    if (!entry_string(f, "project").empty()) v.item += "(" + entry_string(f, "project") + ")";
    v.note = (v.note.empty() ? "" : v.note + ";") + std::string("不是收支 (not income or expense)");
  } else {
    v.shown = false;  // subsidies have their own table; finishing a project moves no money
  }
  v.amount = format_amount(amount);
  return v;
}

// The verification column of the month page (see lines_table).
Html check_head() { return Html::markup("<th class=\"check\">核验 <span class=\"en\">Check</span></th>"); }
Html check_cell() { return Html::markup("<td class=\"check\"></td>"); }
Html check_index(uint64_t index) {
  static const Template t(" data-index=\"{{index}}\"");
  return t.render({{"index", std::to_string(index)}});
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
  auto alerts = site.bot.month_alerts(village.id, month);
  if (!alerts.is_ok()) return alerts.status();
  PublishedMonth m{std::move(*close), {}, std::move(alerts->at_publication), std::move(alerts->later)};
  for (const auto& e : **entries)
    if (e.index != m.close.statement_index) m.lines.push_back(e);
  // Projects belong to no month: those registered after the statement before
  // this one and before this one's were first published with this month, and
  // are shown among its lines (a project registered while old months were
  // being back-filled shows with the month published next, not today's).
  auto closes = site.ledger.month_closes(village.id);
  if (!closes.is_ok()) return closes.status();
  std::optional<uint64_t> previous;
  for (const auto& c : *closes)
    if (c.statement_index < m.close.statement_index && (!previous || c.statement_index > *previous)) previous = c.statement_index;
  auto projects = site.ledger.projects(village.id);
  if (!projects.is_ok()) return projects.status();
  for (const auto& p : *projects) {
    if (p.index > m.close.statement_index || (previous && p.index < *previous)) continue;
    auto e = site.ledger.entries(village.id, p.index, p.index + 1);
    if (!e.is_ok()) return e.status();
    if (e->size() == 1) m.lines.push_back(std::move((*e)[0]));
  }
  std::sort(m.lines.begin(), m.lines.end(), [](const Entry& a, const Entry& b) { return a.index < b.index; });
  return m;
}

WebPage month_not_published(const Village& village, const std::string& month) {
  return not_found_page(village.name + " " + month_zh(month) + "的账目还没有公开",
                        "The accounts of " + village.name + " for " + month + " are not published yet.");
}

Html statement_table(const nlohmann::json& s) {
  static const Template t(R"(<div class="table"><table><tbody>
<tr><th>期初余额 <span class="en">Opening balance</span></th><td class="num" data-field="opening">{{opening}}</td></tr>
<tr><th>本月收入 <span class="en">Income</span></th><td class="num" data-field="income_total">{{income}}</td></tr>
{{income_rows}}<tr><th>本月支出 <span class="en">Expense</span></th><td class="num" data-field="expense_total">{{expense}}</td></tr>
{{expense_rows}}<tr><th>期末余额 <span class="en">Closing balance</span></th><td class="num" data-field="closing">{{closing}}</td></tr>
<tr><th>低保等补助 <span class="en">Subsidies</span></th><td class="num" data-field="subsidy_total">{{subsidy}}({{households}}户)</td></tr>
<tr><th>记录 <span class="en">Entries</span></th><td class="num">{{count}}条 #{{first}}–#{{last}}</td></tr>
</tbody></table></div>
)");
  return t.render({{"opening", yuan_wan(entry_fen(s, "opening"))},
                   {"income", yuan_wan(entry_fen(s, "income_total"))},
                   {"income_rows", category_rows(s.value("income_by_category", nlohmann::json::object()))},
                   {"expense", yuan_wan(entry_fen(s, "expense_total"))},
                   {"expense_rows", category_rows(s.value("expense_by_category", nlohmann::json::object()))},
                   {"closing", yuan_wan(entry_fen(s, "closing"))},
                   {"subsidy", yuan_wan(entry_fen(s, "subsidy_total"))},
                   {"households", std::to_string(s.value("subsidy_lines", 0))},
                   {"count", std::to_string(s.value("entry_count", 0))},
                   {"first", std::to_string(s.value("first_index", 0))},
                   {"last", std::to_string(s.value("last_index", 0))}});
}

// With checks (the month page), each row carries its ledger index and, first
// (in sight on a phone, where the table scrolls), an empty cell where
// /static/verify.js writes ✓ or ✗ once it has checked the row's entry against
// the signed checkpoint; the printed notice has neither.
std::vector<MonthRow> month_rows(const std::vector<Entry>& lines, int utc_offset_minutes, bool checks) {
  static const Template line(R"(<tr class="{{class}}"{{data}}>{{check}}<td>#{{index}}</td><td>{{date}}</td><td>{{type}}</td><td>{{category}}</td><td>{{item}}</td><td class="num">{{amount}}</td><td>{{project}}</td><td>{{fund}}</td><td>{{counterparty}}</td><td>{{note}}</td></tr>
)");
  static const Template subsidy(R"(<tr class="{{class}}"{{data}}>{{check}}<td>#{{index}}</td><td>{{program}}</td><td>{{name}}</td><td class="num">{{amount}}</td><td class="num">{{persons}}</td></tr>
)");
  auto reversed_by = reversals_of(lines);
  std::vector<MonthRow> rows;
  for (const auto& e : lines) {
    const char* row_class = reversed_by.count(e.index) ? "reversed" : "";
    if (entry_string(e.fields, "kind") == "subsidy") {
      // The masked name only: identity numbers (even masked) stay off the page.
      rows.push_back({true, subsidy.render({{"class", row_class},
                                            {"data", checks ? check_index(e.index) : Html()},
                                            {"check", checks ? check_cell() : Html()},
                                            {"index", std::to_string(e.index)},
                                            {"program", entry_string(e.fields, "program")},
                                            {"name", entry_string(e.fields, "name_masked")},
                                            {"amount", format_amount(entry_fen(e.fields, "amount"))},
                                            {"persons", std::to_string(e.fields.value("persons", 1))}})});
      continue;
    }
    LineView v = line_view(e, reversed_by, utc_offset_minutes);
    if (!v.shown) continue;
    rows.push_back({false, line.render({{"class", row_class},
                                        {"data", checks ? check_index(e.index) : Html()},
                                        {"check", checks ? check_cell() : Html()},
                                        {"index", std::to_string(e.index)},
                                        {"date", v.date},
                                        {"type", v.type},
                                        {"category", v.category},
                                        {"item", v.item},
                                        {"amount", v.amount},
                                        {"project", entry_string(e.fields, "project")},
                                        {"fund", entry_string(e.fields, "fund")},
                                        {"counterparty", entry_string(e.fields, "counterparty")},
                                        {"note", v.note}})});
  }
  return rows;
}

std::vector<RowPage> row_pages(const std::vector<MonthRow>& rows, size_t budget) {
  std::vector<RowPage> pages{{0, 0}};
  size_t used = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    size_t n = rows[i].html.str().size();
    if (used > 0 && used + n > budget) {
      pages.push_back({i, i});
      used = 0;
    }
    pages.back().to = i + 1;
    used += n;
  }
  return pages;
}

MonthTables month_tables(const std::vector<MonthRow>& rows, RowPage page, bool checks) {
  static const Template lines(R"(<div class="table"><table>
<thead><tr>{{check_head}}<th>#</th><th>日期 <span class="en">Date</span></th><th>收支 <span class="en">Type</span></th><th>类别 <span class="en">Category</span></th><th>摘要 <span class="en">Item</span></th><th class="num">金额(元) <span class="en">Amount</span></th><th>项目 <span class="en">Project</span></th><th>资金 <span class="en">Fund</span></th><th>对方 <span class="en">Counterparty</span></th><th>备注 <span class="en">Note</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
)");
  static const Template subsidies(R"(<div class="table"><table>
<thead><tr>{{check_head}}<th>#</th><th>项目 <span class="en">Programme</span></th><th>姓名 <span class="en">Name (masked)</span></th><th class="num">金额(元) <span class="en">Amount</span></th><th class="num">人数 <span class="en">Persons</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
)");
  Html line_rows, subsidy_rows;
  for (size_t i = page.from; i < page.to && i < rows.size(); ++i) (rows[i].subsidy ? subsidy_rows : line_rows) += rows[i].html;
  Html head = checks ? check_head() : Html();
  return {lines.render({{"rows", line_rows}, {"check_head", head}}),
          subsidy_rows.empty() ? Html() : subsidies.render({{"rows", subsidy_rows}, {"check_head", head}})};
}

std::string page_path(const std::string& base, int page) {
  return page <= 1 ? base : base + "/page/" + std::to_string(page);
}

Html pages_nav(const std::string& base, int page, int pages, const char* what_zh, const char* what_en) {
  if (pages <= 1) return Html();
  static const Template nav(R"(<nav class="pages"><p>{{what_zh}}第{{page}}/{{pages}}页 <span class="en">{{what_en}}, page {{page}} of {{pages}}</span><span class="noprint">{{links}}</span></p></nav>
)");
  static const Template link(R"( <a href="{{href}}">{{text}}</a>)");
  Html links;
  auto add = [&](int to, const char* text) {
    if (to >= 1 && to <= pages && to != page) links += link.render({{"href", page_path(base, to)}, {"text", text}});
  };
  add(1, "« 第1页 first");
  if (page - 1 > 1) add(page - 1, "‹ 上一页 previous");
  if (page + 1 < pages) add(page + 1, "下一页 next ›");
  add(pages, "末页 last »");
  return nav.render({{"what_zh", what_zh}, {"what_en", what_en}, {"page", std::to_string(page)}, {"pages", std::to_string(pages)}, {"links", links}});
}

std::optional<PagedBody> paged_body(const std::vector<MonthRow>& rows, int page, bool checks,
                                    const std::function<Html(const MonthTables&, const Html& nav)>& render,
                                    const std::string& base) {
  // What the page takes without its rows (the layout's head included, with
  // room for the largest navigation): the rows get the rest of the budget.
  size_t fixed = render(month_tables(rows, RowPage{}, checks), pages_nav(base, 99'999, 99'999)).str().size() + kLayoutBytes;
  size_t budget = kPageBytes > fixed + kMinRowBytes ? kPageBytes - fixed : kMinRowBytes;
  auto pages = row_pages(rows, budget);
  if (page < 1 || page > static_cast<int>(pages.size())) return std::nullopt;
  int n = static_cast<int>(pages.size());
  Html nav = pages_nav(base, page, n);
  return PagedBody{render(month_tables(rows, pages[page - 1], checks), nav), n};
}

Result<WebPage> month_page(Site& site, const Village& village, const std::string& month, int page_number) {
  static const Template page(R"(<p class="noprint"><a href="/villages/{{id}}">← {{name}}</a></p>
<h1>{{name}} {{month_zh}} 账目公开 <span class="en">Accounts of {{month}}, as published</span></h1>
<p class="noprint"><a href="/villages/{{id}}/{{month}}.csv">下载表格 CSV <span class="en">download CSV</span></a> · <a href="/villages/{{id}}/{{month}}/notice">打印公开栏通知 <span class="en">printable notice</span></a></p>
<h2>汇总 <span class="en">Statement</span></h2>
{{statement}}<h2>预警 <span class="en">Alerts, as published</span></h2>
{{alerts}}<h2>明细 <span class="en">Every line, with its index in the ledger</span></h2>
{{nav}}{{lines}}{{subsidies}}{{nav}}<h2>签名 <span class="en">Signed checkpoint</span></h2>
{{checkpoint}}<h2>在浏览器里核验 <span class="en">Verify in this browser</span></h2>
<section id="verify" data-village="{{id}}" data-month="{{month}}" data-statement="{{statement_index}}" data-size="{{tree_size}}">
<p id="verify-summary">本页的核验脚本没有运行;也可以用 <code>sunledger verify</code> 或公开的 /v1 接口自己核验。<span class="en">The verification script has not run; the accounts can also be checked with <code>sunledger verify</code> or the public /v1 read API.</span></p>
<ul id="verify-problems"></ul>
</section>
<section id="consistency" hidden>
<h3>核对旧签名 <span class="en">Check an old checkpoint</span></h3>
<p>把以前群公告里的签名(三行正文、空一行、以“—”开头的签名行)粘贴到这里,检查现在的账本是否包含它当时的全部记录、一条没改。<span class="en">Paste a checkpoint from an old group notice (its three lines, a blank line, the line starting with “—”) to check that today's ledger still holds every entry it covered, unchanged.</span></p>
<textarea id="consistency-note" rows="6" spellcheck="false" aria-label="旧签名 old checkpoint"></textarea>
<p><button type="button" id="consistency-check">核对 <span class="en">Check</span></button></p>
<p id="consistency-result" aria-live="polite"></p>
</section>
<script src="/static/verify.js" defer></script>
)");
  static const Template subsidies(R"(<h2>低保等补助名单 <span class="en">Subsidies (names masked)</span></h2>
{{table}})");
  auto m = published_month(site, village, month);
  if (!m.is_ok()) return m.status();
  Html statement = statement_table(m->close.statement), alerts = month_alerts(m->flags, m->later, "/villages/" + village.id + "/" + month + "/alerts"),
       checkpoint = checkpoint_block(site, m->close);
  auto render = [&](const MonthTables& tables, const Html& nav) {
    return page.render({{"id", village.id},
                        {"name", village.name},
                        {"month", month},
                        {"month_zh", month_zh(month)},
                        {"statement", statement},
                        {"alerts", alerts},
                        {"nav", nav},
                        {"lines", tables.lines},
                        {"subsidies", tables.subsidies.empty() ? Html() : subsidies.render({{"table", tables.subsidies}})},
                        {"checkpoint", checkpoint},
                        {"statement_index", std::to_string(m->close.statement_index)},
                        {"tree_size", std::to_string(m->close.tree_size)}});
  };
  auto body = paged_body(month_rows(m->lines, site.ledger.utc_offset_minutes(), true), page_number, true, render,
                         "/villages/" + village.id + "/" + month);
  if (!body) return not_found("no such page of the month's lines");
  std::string title = village.name + " " + month_zh(month) + " 账目公开" +
                      (page_number > 1 ? " 第" + std::to_string(page_number) + "页" : "");
  return verifying_page(html_page(200, title, body->html));
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
    LineView v = line_view(e, reversed_by, site.ledger.utc_offset_minutes());
    if (entry_string(f, "kind") == "subsidy") {  // in the CSV too, as rows of their own
      v = {entry_string(f, "date"), "补助", entry_string(f, "program"), entry_string(f, "name_masked"),
           std::to_string(f.value("persons", 1)) + "人", format_amount(entry_fen(f, "amount")), true};
    }
    if (!v.shown) continue;
    for (const std::string& cell : {std::to_string(e.index), v.date, v.type, v.category, v.item, v.amount,
                                    entry_string(f, "project"), entry_string(f, "fund"), entry_string(f, "counterparty")})
      out += csv_cell(cell) + ",";
    out += csv_cell(v.note) + "\r\n";
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
