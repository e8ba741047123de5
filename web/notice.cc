// GET /villages/{id}/{YYYY-MM}/notice: the month as an A4 notice for the
// 公开栏 board. The stylesheet's print rules put each section on its own
// page; the QR code takes a phone to the month page, where it can be checked.
#include "bot/render.h"
#include "web/pages.h"

namespace sunledger::web {

Result<WebPage> notice_page(Site& site, const Village& village, const std::string& month, int page_number) {
  static const Template page(R"(<p class="noprint"><a href="/villages/{{id}}/{{month}}">← {{name}} {{month_zh}}</a> · 用浏览器打印(A4)<span class="en">print from the browser (A4)</span></p>
<section>
<h1>{{town}}{{name}} {{month_zh}} 三务公开 <span class="en">Village accounts, {{month}}</span></h1>
{{statement}}<h2>预警 <span class="en">Alerts</span></h2>
{{alerts}}<p>{{month_zh}}投诉:受理{{received}}件,办结{{resolved}}件;截至{{today}}零时,在办{{open}}件,逾期{{overdue}}件 <span class="en">complaints: received and resolved in {{month}}; open and overdue; all as of 00:00 on {{today}}</span></p>
<h2>核验 <span class="en">Check</span></h2>
<p>核验码 <strong>{{short}}</strong>:与群里的公开通知、“核验 {{month}}”的回答相同。<span class="en">The check code matches the group notice and the answer to 核验 {{month}}.</span></p>
{{qr}}<p>扫码查看每一笔并核验签名 <span class="en">scan to see every line and check the signature</span>:<br><span class="url">{{url}}</span></p>
<h2>离线证明 <span class="en">Offline proof</span></h2>
<pre class="note">
{{proof}}</pre>
</section>
<section>
<h2>明细 <span class="en">Every line</span></h2>
{{nav}}{{lines}}</section>
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
  Html statement = statement_table(m->close.statement), alerts = month_alerts(m->flags, m->later, url + "/alerts"), qr = qr_svg(url);
  std::string proof = render_proof_block(m->close);  // shown as text in a <pre>
  // Counted as of today's start, not the month's end: a notice printed
  // later says the day its counts are of (Bot::complaint_counts).
  std::string today = format_date(local_date(site.ledger.clock().now_unix_seconds(), site.ledger.utc_offset_minutes()));
  auto render = [&](const MonthTables& tables, const Html& nav) {
    return page.render({{"id", village.id},
                        {"town", village.town},
                        {"name", village.name},
                        {"month", month},
                        {"month_zh", month_zh(month)},
                        {"statement", statement},
                        {"alerts", alerts},
                        {"received", std::to_string(counts->received)},
                        {"resolved", std::to_string(counts->resolved)},
                        {"open", std::to_string(counts->open)},
                        {"overdue", std::to_string(counts->overdue)},
                        {"today", today},
                        {"short", checkpoint_short_form(m->close.checkpoint)},
                        {"proof", proof},
                        {"qr", qr},
                        {"url", url},
                        {"nav", nav},
                        {"lines", tables.lines},
                        {"subsidies", tables.subsidies.empty() ? Html() : subsidies.render({{"table", tables.subsidies}})}});
  };
  auto body = paged_body(month_rows(m->lines, site.ledger.utc_offset_minutes(), false), page_number, false, render,
                         "/villages/" + village.id + "/" + month + "/notice");
  if (!body) return not_found("no such page of the notice");
  std::string title = village.name + " " + month_zh(month) + " 三务公开" +
                      (page_number > 1 ? " 第" + std::to_string(page_number) + "页" : "");
  return html_page(200, title, body->html, "notice");
}

}  // namespace sunledger::web
