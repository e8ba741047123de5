// GET /villages/{id}/{YYYY-MM}/notice: the month as an A4 notice for the
// 公开栏 board. The stylesheet's print rules put each section on its own
// page; the QR code takes a phone to the month page, where it can be checked.
#include "bot/render.h"
#include "web/pages.h"

namespace sunledger::web {

Result<WebPage> notice_page(Site& site, const Village& village, const std::string& month) {
  static const Template page(R"(<p class="noprint"><a href="/villages/{{id}}/{{month}}">← {{name}} {{month_zh}}</a> · 用浏览器打印(A4)<span class="en">print from the browser (A4)</span></p>
<section>
<h1>{{town}}{{name}} {{month_zh}} 三务公开 <span class="en">Village accounts, {{month}}</span></h1>
{{statement}}<h2>预警 <span class="en">Alerts</span></h2>
{{alerts}}<p>{{month_zh}}投诉:受理{{received}}件,办结{{resolved}}件;截至{{today}}零时,在办{{open}}件,逾期{{overdue}}件 <span class="en">complaints: received and resolved in {{month}}; open and overdue; all as of 00:00 on {{today}}</span></p>
<h2>核验 <span class="en">Check</span></h2>
<p>核验码 <strong>{{short}}</strong>:与群里的公开通知、“核验 {{month}}”的回答相同。<span class="en">The check code matches the group notice and the answer to 核验 {{month}}.</span></p>
{{qr}}<p>扫码查看每一笔并核验签名 <span class="en">scan to see every line and check the signature</span>:<br>{{url}}</p>
<h2>离线证明 <span class="en">Offline proof</span></h2>
<pre class="note">
{{proof}}</pre>
</section>
<section>
<h2>明细 <span class="en">Every line</span></h2>
{{lines}}</section>
{{subsidies}})");
  static const Template subsidies(R"(<section>
<h2>低保等补助名单 <span class="en">Subsidies (names masked)</span></h2>
{{table}}</section>
)");
  auto m = published_month(site, village, month);
  if (!m.is_ok()) return m.status();
  auto counts = site.bot.complaint_counts(village.id, month);
  if (!counts.is_ok()) return counts.status();
  std::string url = site.options.public_url + "/villages/" + village.id + "/" + month;
  Html subsidy_table = subsidies_table(m->lines);
  return html_page(200, village.name + " " + month_zh(month) + " 三务公开",
                   page.render({{"id", village.id},
                                {"town", village.town},
                                {"name", village.name},
                                {"month", month},
                                {"month_zh", month_zh(month)},
                                {"statement", statement_table(m->close.statement)},
                                {"alerts", alerts_list(m->flags)},
                                {"received", std::to_string(counts->received)},
                                {"resolved", std::to_string(counts->resolved)},
                                {"open", std::to_string(counts->open)},
                                {"overdue", std::to_string(counts->overdue)},
                                // Counted as of today's start, not the month's end: a notice printed
                                // later says the day its counts are of (Bot::complaint_counts).
                                {"today", format_date(local_date(site.ledger.clock().now_unix_seconds(),
                                                                 site.ledger.utc_offset_minutes()))},
                                {"short", checkpoint_short_form(m->close.checkpoint)},
                                {"proof", render_proof_block(m->close)},
                                {"qr", qr_svg(url)},
                                {"url", url},
                                {"lines", lines_table(m->lines, site.ledger.utc_offset_minutes())},
                                {"subsidies", subsidy_table.empty() ? Html() : subsidies.render({{"table", subsidy_table}})}}),
                   "notice");
}

}  // namespace sunledger::web
