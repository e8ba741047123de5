// A published month's alerts on its page and notice, and all of them on
// pages of their own. The alerts its statement recorded are bounded (32 KiB
// at publication), but those raised after it are not: one per bank
// withdrawal a reconciliation could not find in the books, one per reversal
// of a published line. A month page or notice shows at most kAlertsBytes of
// them and counts the rest, linking to /villages/{id}/{YYYY-MM}/alerts, where
// every alert is listed a page at a time, each page under 150 KB.
#include "bot/render.h"
#include "web/pages.h"

namespace sunledger::web {
namespace {

// One <li> per alert: those its statement recorded first, then those raised
// after publication, each with its date.
struct AlertItems {
  std::vector<MonthRow> rows;  // MonthRow::html is the item; `subsidy` unused
  size_t recorded = 0;         // rows [0, recorded) are the statement's record
};

AlertItems alert_items(const std::vector<Flag>& at_publication, const std::vector<Flag>& later_flags) {
  static const Template recorded("<li>⚠ {{text}}</li>\n");
  static const Template later("<li>⚠ <time>{{date}}</time> {{text}}</li>\n");
  AlertItems items;
  for (const auto& f : at_publication) items.rows.push_back({false, recorded.render({{"text", f.text}})});
  items.recorded = items.rows.size();
  for (const auto& f : later_flags) items.rows.push_back({false, later.render({{"date", f.raised_on}, {"text", f.text}})});
  return items;
}

// Rows [from, to) as the two lists: the statement's record (with "no alerts"
// when it recorded none and the range starts at the beginning), then the
// heading 公开后新增预警 and the later ones.
Html alerts_html(const AlertItems& items, size_t from, size_t to) {
  static const Template list(R"(<ul class="alerts">
{{items}}</ul>
)");
  static const Template later_list(R"(<h2>公开后新增预警 <span class="en">Alerts raised after publication</span></h2>
<ul class="alerts later">
{{items}}</ul>
)");
  Html recorded, later;
  for (size_t i = from; i < to; ++i) (i < items.recorded ? recorded : later) += items.rows[i].html;
  Html out;
  if (from == 0 && items.recorded == 0) out += Html::markup("<p class=\"muted\">没有预警 <span class=\"en\">No alerts</span></p>\n");
  if (!recorded.str().empty()) out += list.render({{"items", recorded}});
  if (!later.str().empty()) out += later_list.render({{"items", later}});
  return out;
}

}  // namespace

Html alerts_list(const std::vector<Flag>& flags, size_t budget, const std::string& more_href) {
  return month_alerts(flags, {}, more_href, budget);
}

Html month_alerts(const std::vector<Flag>& at_publication, const std::vector<Flag>& later, const std::string& all_alerts_url,
                  size_t budget) {
  static const Template more(R"(<p class="more">另有{{n}}条预警未在此列出{{link}} <span class="en">{{n}} more alerts are not listed here</span></p>
)");
  static const Template link(R"(,见 <a href="{{href}}">{{href}}</a>)");
  AlertItems items = alert_items(at_publication, later);
  size_t shown = 0, used = 0;
  while (shown < items.rows.size() && used + items.rows[shown].html.str().size() <= budget)
    used += items.rows[shown++].html.str().size();
  Html out = alerts_html(items, 0, shown);
  if (shown < items.rows.size())
    out += more.render({{"n", std::to_string(items.rows.size() - shown)},
                        {"link", all_alerts_url.empty() ? Html() : link.render({{"href", all_alerts_url}})}});
  return out;
}

Result<WebPage> month_alerts_page(Site& site, const Village& village, const std::string& month, int page_number) {
  static const Template page(R"(<p class="noprint"><a href="/villages/{{id}}/{{month}}">← {{name}} {{month_zh}}</a></p>
<h1>{{name}} {{month_zh}} 预警 <span class="en">Alerts of {{month}}</span></h1>
<p>公开时签名记录的预警,以及公开后新增的预警(注明日期)。<span class="en">The alerts the month's signed statement recorded at publication, then those raised after it, dated.</span></p>
{{nav}}{{alerts}}{{nav}})");
  auto m = published_month(site, village, month);
  if (!m.is_ok()) return m.status();
  AlertItems items = alert_items(m->flags, m->later);
  // Room for the layout, the headings and the navigation: the items get the rest.
  auto pages = row_pages(items.rows, kPageBytes - kLayoutBytes - 6'000);
  if (page_number < 1 || page_number > static_cast<int>(pages.size())) return not_found("no such page of the month's alerts");
  std::string base = "/villages/" + village.id + "/" + month + "/alerts";
  Html nav = pages_nav(base, page_number, static_cast<int>(pages.size()), "预警", "alerts");
  const RowPage& p = pages[page_number - 1];
  Html body = page.render({{"id", village.id},
                           {"name", village.name},
                           {"month", month},
                           {"month_zh", month_zh(month)},
                           {"nav", nav},
                           {"alerts", alerts_html(items, p.from, p.to)}});
  std::string title = village.name + " " + month_zh(month) + " 预警" +
                      (page_number > 1 ? " 第" + std::to_string(page_number) + "页" : "");
  return html_page(200, title, body);
}

}  // namespace sunledger::web
