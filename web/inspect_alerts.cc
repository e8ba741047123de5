// GET /inspect/alerts: the alerts of the villages of the inspector's area,
// each published month's as its month page shows them: what its statement
// signed when it was published (frozen), then apart and dated the alerts
// about it raised since (公开后新增预警, issue #16 item 3). The same reads as
// the public month page (Bot::month_alerts), so the two never disagree;
// above them, the bank withdrawals not in the books whose counterparty the
// public sees masked (a private person), named in full.
#include "bot/render.h"
#include "web/dashboard.h"

namespace sunledger::web {

namespace {

// A village's months are listed newest first, this many at most: an
// inspector follows what is current; older months are on the public pages.
constexpr size_t kMonthsPerVillage = 12;
constexpr size_t kInspectorAlertsBytes = 4'000;

}  // namespace

Result<WebPage> alerts_page(Site& site, const Viewer& viewer) {
  static const Template page(R"({{nav}}<h1>预警 <span class="en">Alerts</span></h1>
<p class="muted">每个已公开月份:公开时随月报签名的预警(不再改变),以及公开后新增的预警(注明日期)。<span class="en">Per published month: the alerts signed with its statement (frozen), then those raised after its publication, dated.</span></p>
{{villages}})");
  static const Template village(R"(<h2>{{town}} {{name}} <a href="/villages/{{id}}"><span class="en">public page</span></a></h2>
{{bank}}{{months}})");
  // The public pages show a private person paid from the village's account
  // as 张*; the inspector needs the name to follow the money up.
  static const Template bank(R"(<h3>银行流水有支出未入账(对方户名完整显示)<span class="en">Bank withdrawals not in the books, counterparties in full</span></h3>
{{alerts}})");
  static const Template month(R"(<h3><a href="/villages/{{id}}/{{month}}">{{month_zh}}</a> 公开时的预警 <span class="en">as published</span></h3>
{{alerts}})");
  static const Template none(R"(<p class="muted">已公开的月份没有预警 <span class="en">No alerts in the published months</span></p>
)");
  Html villages;
  for (const auto& id : viewer.villages) {
    auto v = site.ledger.village(id);
    if (!v.is_ok()) return v.status();
    auto closes = site.ledger.month_closes(id);
    if (!closes.is_ok()) return closes.status();
    Html months;
    size_t shown = 0;
    for (auto it = closes->rbegin(); it != closes->rend() && shown < kMonthsPerVillage; ++it, ++shown) {
      auto alerts = site.bot.month_alerts(id, it->month);
      if (!alerts.is_ok()) return alerts.status();
      if (alerts->at_publication.empty() && alerts->later.empty()) continue;
      // A few per month, the rest on the month's public alerts pages: the
      // dashboard page stays under 150 KB for a whole area.
      Html list = month_alerts(alerts->at_publication, alerts->later, "/villages/" + id + "/" + it->month + "/alerts",
                               kInspectorAlertsBytes);
      months += month.render({{"id", id}, {"month", it->month}, {"month_zh", month_zh(it->month)}, {"alerts", list}});
    }
    if (months.empty()) months = none.render({});
    auto books = site.bot.books(id);
    if (!books.is_ok()) return books.status();
    std::vector<Flag> withdrawals;
    for (const auto& f : (*books)->flags)
      if (f.kind == FlagKind::kBankWithdrawalUnbooked && (*books)->public_texts.count(f.text)) withdrawals.push_back(f);
    Html named = withdrawals.empty() ? Html() : bank.render({{"alerts", alerts_list(withdrawals, kInspectorAlertsBytes)}});
    villages += village.render({{"town", v->town}, {"name", v->name}, {"id", id}, {"bank", named}, {"months", months}});
  }
  return dashboard_page(200, "预警 Alerts", page.render({{"nav", nav(viewer)}, {"villages", villages}}));
}

}  // namespace sunledger::web
