// Private to web/: the pages, each rendered from the ledger's and the bot's
// public reads through templates (web/html.h). Pure functions of what they
// read; safe from any thread (the ledger and the bot are).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bot/bot.h"
#include "ledger/ledger.h"
#include "web/html.h"
#include "web/public_web.h"

namespace sunledger::web {

struct Site {
  Ledger& ledger;
  Bot& bot;
  const WebOptions& options;
};

// The stylesheet every page links (screen, 360 px phones, and print).
const std::string& stylesheet();
// web/verify.js, compiled in (web/embed.cmake): the month page's check of its
// signature, inclusion proofs and totals in the visitor's browser.
std::string_view verify_script();
// A whole HTML page in the site's layout, with the security headers.
WebPage html_page(int status, const std::string& title, const Html& body, const std::string& body_class = "");
// A page that says what is missing, Chinese first, English second.
WebPage not_found_page(const std::string& zh, const std::string& en);
// A page of the inspector's dashboard (/inspect): the same layout, forms
// allowed to post to this server only (form-action 'self'), never cached.
WebPage dashboard_page(int status, const std::string& title, const Html& body);
WebPage unavailable_page(const Status& status);

// "142,400.00元", as a notice prints a line's amount.
Html yuan(Fen fen);
// "142,400.00元(14.24万元)" from 10,000 yuan up, as the notice in chat and
// bot/render print a statement's figures, balances and projects
// (format_yuan_with_wan): one form for the same figure wherever it is read.
Html yuan_wan(Fen fen);
// A list of alerts ("no alerts" when there are none) of at most `budget`
// bytes: an alert raised per bank withdrawal or per reversal has no upper
// count, and every page stays under 150 KB. The alerts left out are counted,
// with a link to `more_href` when given. month_alerts with no later ones.
constexpr size_t kAlertsBytes = 40'000;
Html alerts_list(const std::vector<Flag>& flags, size_t budget = kAlertsBytes, const std::string& more_href = "");
// The month page's policy: its one script (/static/verify.js) may run and
// read this server's API; every other page runs no script at all.
WebPage verifying_page(WebPage page);
// One bar chart: rows of labelled bars, each row a group of values drawn
// against the largest value of the chart.
struct BarRow {
  std::string label;
  std::vector<std::pair<std::string, Fen>> bars;  // legend, amount
};
// `format` writes each amount beside its bar (yuan when null; the
// dashboard's charts count complaints).
Html bar_chart(const std::vector<BarRow>& rows, std::string (*format)(Fen) = nullptr);
// The QR code of `text` as inline SVG (libqrencode), empty when it cannot be drawn.
Html qr_svg(const std::string& text);

// A published month as the month page, its CSV and its notice show it.
struct PublishedMonth {
  MonthClose close;
  std::vector<Entry> lines;  // the month's entries but the statement, and the projects registered in it, in log order
  std::vector<Flag> flags;   // the alerts its notice carried (its statement's record)
  std::vector<Flag> later;   // alerts about it raised after its publication, dated
};
// The alerts a month page or notice shows (web/alerts.cc): those its
// statement recorded, then those raised after publication under 公开后新增预警
// with their dates, at most `budget` bytes; the rest counted with a link to
// `all_alerts_url` (the month's alerts pages; none when empty).
Html month_alerts(const std::vector<Flag>& at_publication, const std::vector<Flag>& later, const std::string& all_alerts_url,
                  size_t budget = kAlertsBytes);
// GET /villages/{id}/{YYYY-MM}/alerts[/page/N]: every alert of a published
// month, a page at a time; kNotFound for a month not published or a page
// beyond the last.
Result<WebPage> month_alerts_page(Site& site, const Village& village, const std::string& month, int page = 1);
// kNotFound when the month is not published.
Result<PublishedMonth> published_month(Site& site, const Village& village, const std::string& month);
WebPage month_not_published(const Village& village, const std::string& month);
Html statement_table(const nlohmann::json& statement);

// A month's lines and subsidies as table rows, one per shown entry in log
// order (checks: the month page's verification column and each row's
// data-index), split into pages so that every page stays under 150 KB
// however many lines a month has: a month of thousands of lines, or of long
// texts escaped, is read (and printed) a page at a time, each page with the
// whole statement, alerts and checkpoint, so each checks itself in full.
struct MonthRow {
  bool subsidy = false;
  Html html;
};
std::vector<MonthRow> month_rows(const std::vector<Entry>& lines, int utc_offset_minutes, bool checks);
struct RowPage {
  size_t from = 0, to = 0;  // rows [from, to)
};
// Rows in pages of at most `budget` bytes each (a row larger than the budget
// is a page of its own); one empty page when there are no rows.
std::vector<RowPage> row_pages(const std::vector<MonthRow>& rows, size_t budget);
struct MonthTables {
  Html lines;      // the lines table (always, even empty)
  Html subsidies;  // the subsidies table, "" when the page has none
};
MonthTables month_tables(const std::vector<MonthRow>& rows, RowPage page, bool checks);
// Page 1 is `base` itself, page N `base/page/N`.
std::string page_path(const std::string& base, int page);
// "明细第2/5页" (what: 明细 / lines, or what a paged list holds) and links to
// the first, previous, next and last pages; "" for one page.
Html pages_nav(const std::string& base, int page, int pages, const char* what_zh = "明细", const char* what_en = "lines");
// The whole page stays under kPageBytes: the head of the layout is at most
// kLayoutBytes, and the rows get what the rest leaves (kMinRowBytes at least).
constexpr size_t kPageBytes = 140'000, kLayoutBytes = 4'000, kMinRowBytes = 20'000;
struct PagedBody {
  Html html;
  int pages = 1;
};
// Page `page` of a month's rows, rendered by `render` (its tables and its
// navigation); nullopt for a page beyond the last.
std::optional<PagedBody> paged_body(const std::vector<MonthRow>& rows, int page, bool checks,
                                    const std::function<Html(const MonthTables&, const Html& nav)>& render,
                                    const std::string& base);

Result<WebPage> home_page(Site& site);
Result<WebPage> village_page(Site& site, const Village& village);
// kNotFound (with a page saying so) for a month that is not published.
Result<WebPage> month_page(Site& site, const Village& village, const std::string& month, int page = 1);
Result<WebPage> month_csv(Site& site, const Village& village, const std::string& month);
// page: as the month page, the lines a page at a time (each printed with the statement).
Result<WebPage> notice_page(Site& site, const Village& village, const std::string& month, int page = 1);

}  // namespace sunledger::web
