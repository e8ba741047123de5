// Private to web/: the pages, each rendered from the ledger's and the bot's
// public reads through templates (web/html.h). Pure functions of what they
// read; safe from any thread (the ledger and the bot are).
#pragma once

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

// "142,400.00" as a village notice prints it, and "元" beside it.
Html yuan(Fen fen);
Html alerts_list(const std::vector<Flag>& flags);
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
  std::vector<Flag> flags;   // the alerts its notice carried
};
// kNotFound when the month is not published.
Result<PublishedMonth> published_month(Site& site, const Village& village, const std::string& month);
WebPage month_not_published(const Village& village, const std::string& month);
Html statement_table(const nlohmann::json& statement);
// checks: the month page's verification column and each row's data-index.
Html lines_table(const std::vector<Entry>& lines, int utc_offset_minutes, bool checks = false);
Html subsidies_table(const std::vector<Entry>& lines, bool checks = false);  // "" when the month has none

Result<WebPage> home_page(Site& site);
Result<WebPage> village_page(Site& site, const Village& village);
// kNotFound (with a page saying so) for a month that is not published.
Result<WebPage> month_page(Site& site, const Village& village, const std::string& month);
Result<WebPage> month_csv(Site& site, const Village& village, const std::string& month);
Result<WebPage> notice_page(Site& site, const Village& village, const std::string& month);

}  // namespace sunledger::web
