// GET /: the deployment's towns, each village with its last published month,
// its open alerts and this month's complaint counts (counts only).
#include <map>

#include "bot/render.h"
#include "web/pages.h"

namespace sunledger::web {
namespace {

// About three alerts per village: the front page lists all of a deployment's
// villages on one page, and a village's own page lists the rest.
constexpr size_t kHomeAlertsBytes = 800;

Html last_published(const Village& v, const VillageBooks& books) {
  if (books.closed_months.empty()) return Html::markup("尚未公开 <span class=\"en\">nothing published yet</span>");
  static const Template t(R"(<a href="/villages/{{id}}/{{month}}">{{month_zh}}</a>)");
  const std::string& m = *books.closed_months.rbegin();
  return t.render({{"id", v.id}, {"month", m}, {"month_zh", month_zh(m)}});
}

Result<Html> village_card(Site& site, const Village& v, const std::string& month) {
  static const Template t(R"(<div class="village">
<h3><a href="/villages/{{id}}">{{name}}</a></h3>
<p>最近公开:{{last}} <span class="en">last published month</span></p>
<p>预警:{{alert_count}}条 <span class="en">open alerts</span></p>
{{alerts}}<p>{{month_zh}}投诉:受理{{received}}件,办结{{resolved}}件,逾期{{overdue}}件(截至今日零时) <span class="en">complaints this month, as of 00:00 today: received {{received}}, resolved {{resolved}}, overdue {{overdue}}</span></p>
</div>
)");
  auto books = site.bot.books(v.id);
  if (!books.is_ok()) return books.status();
  auto counts = site.bot.complaint_counts(v.id, month);
  if (!counts.is_ok()) return counts.status();
  const auto& flags = (*books)->published->flags;
  return t.render({{"id", v.id},
                   {"name", v.name},
                   {"last", last_published(v, **books)},
                   {"alert_count", std::to_string(flags.size())},
                   // A few per village: the front page lists every village on one page.
                   {"alerts", flags.empty() ? Html() : alerts_list(flags, kHomeAlertsBytes, "/villages/" + v.id)},
                   {"month_zh", month_zh(month)},
                   {"received", std::to_string(counts->received)},
                   {"resolved", std::to_string(counts->resolved)},
                   {"overdue", std::to_string(counts->overdue)}});
}

}  // namespace

Result<WebPage> home_page(Site& site) {
  static const Template page(R"(<h1>村务公开 <span class="en">Village accounts</span></h1>
<p class="muted">账本 {{origin}} · 今天是{{month_zh}} <span class="en">ledger {{origin}}; complaint counts are this month's</span></p>
{{towns}})");
  static const Template town(R"(<h2>{{town}}</h2>
{{villages}})");
  auto villages = site.ledger.villages();
  if (!villages.is_ok()) return villages.status();
  std::map<std::string, std::vector<Village>> by_town;
  for (const auto& v : *villages) by_town[v.town].push_back(v);
  std::string month = site.ledger.current_month();
  Html towns;
  for (const auto& [name, list] : by_town) {
    Html cards;
    for (const auto& v : list) {
      auto card = village_card(site, v, month);
      if (!card.is_ok()) return card.status();
      cards += *card;
    }
    towns += town.render({{"town", name}, {"villages", cards}});
  }
  if (by_town.empty()) towns = Html::markup("<p>还没有登记村庄。<span class=\"en\">No village registered yet.</span></p>\n");
  return html_page(200, "村务公开 Village accounts",
                   page.render({{"origin", site.ledger.origin()}, {"month_zh", month_zh(month)}, {"towns", towns}}));
}

}  // namespace sunledger::web
