// The dashboard's pages: sign-in, the queue, one complaint with its timeline
// and the form for its next transition, the statistics with their charts,
// and the CSV. Every stored text goes through a template slot (escaped).
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "bot/render.h"
#include "web/dashboard.h"

namespace sunledger::web {
namespace {

// Queues longer than this are cut (the page stays well under 150 KB); the
// filters and the CSV reach the rest.
constexpr size_t kMaxRows = 100;

const ComplaintStatus kStatuses[] = {ComplaintStatus::kReceived,  ComplaintStatus::kAssigned,
                                     ComplaintStatus::kInvestigating, ComplaintStatus::kResolved,
                                     ComplaintStatus::kRejected,  ComplaintStatus::kReopened};
// What an inspector may move a complaint to (the API's "to").
const ComplaintStatus kTargets[] = {ComplaintStatus::kAssigned, ComplaintStatus::kInvestigating,
                                    ComplaintStatus::kResolved, ComplaintStatus::kRejected};

Html selected(bool yes) { return yes ? Html::markup(" selected") : Html(); }

std::string day(Site& site, int64_t t) { return format_date(local_date(t, site.ledger.utc_offset_minutes())); }
std::string month_of(Site& site, int64_t t) {
  CivilDate d = local_date(t, site.ledger.utc_offset_minutes());
  return format_month(d.year, d.month);
}

// The start of a text, cut at a character boundary (UTF-8).
std::string excerpt(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t cut = bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

std::string event_zh(const std::string& kind) {
  if (kind == "filed") return "已受理 (filed)";
  if (kind == "satisfied") return "评价:满意 (rated satisfied)";
  if (kind == "unsatisfied") return "评价:不满意 (rated unsatisfied)";
  if (kind == Complaints::kReceiptExposed) return "编号在群里公开,已停用 (receipt posted in a group)";
  if (auto s = parse_complaint_status(kind)) return std::string(complaint_status_zh(*s)) + " (" + kind + ")";
  return kind;
}

Result<std::map<std::string, Village>> village_map(Site& site) {
  auto list = site.ledger.villages();
  if (!list.is_ok()) return list.status();
  std::map<std::string, Village> out;
  for (auto& v : *list) out.emplace(v.id, std::move(v));
  return out;
}

std::string village_name(const std::map<std::string, Village>& villages, const std::string& id) {
  auto it = villages.find(id);
  return it == villages.end() ? id : it->second.town + it->second.name;
}

std::string count(Fen n) { return std::to_string(n) + "件"; }

}  // namespace

Html nav(const Viewer& v) {
  static const Template t(R"(<nav class="dash">
<a href="/inspect">待办 <span class="en">Queue</span></a>
<a href="/inspect/alerts">预警 <span class="en">Alerts</span></a>
<a href="/inspect/stats">统计 <span class="en">Statistics</span></a>
<a href="/inspect/complaints.csv">CSV</a>
<span class="muted">{{who}}</span>
<form method="post" action="/inspect/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">退出 <span class="en">Sign out</span></button></form>
</nav>
)");
  return t.render({{"who", v.user.shown}, {"csrf", v.csrf}});
}

WebPage sign_in_page(int status, const std::string& link_token, const std::string& csrf, const std::string& message) {
  static const Template with_link(R"(<h1>检查台登录 <span class="en">Inspector's dashboard: sign in</span></h1>
{{message}}<form class="act" method="post" action="/inspect/login">
<input type="hidden" name="t" value="{{t}}"><input type="hidden" name="csrf" value="{{csrf}}">
<p>这个链接只能用一次,10分钟内有效。<span class="en">This link works once, within 10 minutes.</span></p>
<button type="submit">登录 <span class="en">Sign in</span></button>
</form>
)");
  static const Template without(R"(<h1>检查台登录 <span class="en">Inspector's dashboard: sign in</span></h1>
{{message}}<p>纪检监察人员请私信机器人发送“登录”,打开它回复的链接(10分钟内有效,只能用一次)。<span class="en">Inspectors: send 登录 (login) to the bot in private chat and open the link it answers with (valid 10 minutes, once).</span></p>
<h2>用 API 令牌登录 <span class="en">Sign in with an API token</span></h2>
<form class="act" method="post" action="/inspect/token">
<input type="hidden" name="csrf" value="{{csrf}}">
<label>纪检监察人员的令牌 <span class="en">Inspector's API token</span><input type="password" name="token" autocomplete="off" required></label>
<button type="submit">登录 <span class="en">Sign in</span></button>
</form>
<p class="muted">村干部的令牌不能登录。<span class="en">Officials' tokens cannot sign in here.</span></p>
)");
  static const Template error("<p class=\"error\">{{text}}</p>\n");
  Html shown = message.empty() ? Html() : error.render({{"text", message}});
  const Template& t = link_token.empty() ? without : with_link;
  return dashboard_page(status, "检查台登录 Dashboard sign-in",
                        t.render({{"message", shown}, {"t", link_token}, {"csrf", csrf}}));
}

WebPage dashboard_message(int status, const std::string& zh, const std::string& en, const std::string& back,
                          const Viewer* viewer) {
  static const Template t(R"({{nav}}<h1>{{zh}}</h1>
<p class="en">{{en}}</p>
<p><a href="{{back}}">返回 <span class="en">Back</span></a></p>
)");
  return dashboard_page(status, zh, t.render({{"nav", viewer ? nav(*viewer) : Html()}, {"zh", zh}, {"en", en}, {"back", back}}));
}

Result<std::vector<Complaint>> queue_list(Site& site, const Viewer& viewer, const QueueQuery& query) {
  ComplaintFilter f;
  f.villages = viewer.villages;
  if (!query.village.empty()) {
    // Outside the viewer's area: nothing, as the API answers.
    if (!std::binary_search(viewer.villages.begin(), viewer.villages.end(), query.village))
      return std::vector<Complaint>{};
    f.villages = {query.village};
  }
  f.status = query.status;
  f.overdue_only = query.overdue;
  if (f.villages.empty()) return std::vector<Complaint>{};
  auto list = site.bot.complaints().list(f);
  if (!list.is_ok()) return list.status();
  int64_t now = site.ledger.clock().now_unix_seconds();
  const auto& d = site.bot.complaints().deadlines();
  std::stable_sort(list->begin(), list->end(), [&](const Complaint& a, const Complaint& b) {
    return complaint_overdue(a, d, now) > complaint_overdue(b, d, now);
  });
  return list;
}

Result<WebPage> queue_page(Site& site, const Viewer& viewer, const QueueQuery& query) {
  static const Template page(R"({{nav}}<h1>投诉 <span class="en">Complaints</span></h1>
<form class="filters" method="get" action="/inspect">
<label>村 <span class="en">Village</span><select name="village"><option value="">全部 (all)</option>
{{village_options}}</select></label>
<label>状态 <span class="en">Status</span><select name="status"><option value="">全部 (all)</option>
{{status_options}}</select></label>
<label class="check"><input type="checkbox" name="overdue" value="true"{{overdue}}>只看逾期 <span class="en">overdue only</span></label>
<button type="submit">筛选 <span class="en">Filter</span></button>
</form>
<p>{{count}}件 <span class="en">complaints</span>{{cut}} · <a href="{{csv}}">下载 CSV <span class="en">download</span></a></p>
<div class="table"><table>
<thead><tr><th>编号 <span class="en">Receipt</span></th><th>村 <span class="en">Village</span></th><th>状态 <span class="en">Status</span></th><th>受理 <span class="en">Filed</span></th><th>期限 <span class="en">Deadline</span></th><th>内容 <span class="en">Text</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
)");
  static const Template option(R"(<option value="{{value}}"{{sel}}>{{label}}</option>
)");
  static const Template row(R"(<tr><td><a href="/inspect/complaints/{{receipt}}">{{receipt}}</a></td><td>{{village}}</td><td>{{status}}</td><td>{{filed}}</td><td{{overdue_class}}>{{deadline}}{{overdue}}</td><td>{{text}}</td></tr>
)");
  auto villages = village_map(site);
  if (!villages.is_ok()) return villages.status();
  auto list = queue_list(site, viewer, query);
  if (!list.is_ok()) return list.status();
  Html village_options, status_options, rows;
  for (const auto& id : viewer.villages)
    village_options += option.render({{"value", id}, {"sel", selected(id == query.village)},
                                      {"label", village_name(*villages, id)}});
  for (ComplaintStatus s : kStatuses)
    status_options += option.render({{"value", complaint_status_name(s)}, {"sel", selected(query.status == s)},
                                     {"label", std::string(complaint_status_zh(s)) + " (" + complaint_status_name(s) + ")"}});
  int64_t now = site.ledger.clock().now_unix_seconds();
  const auto& d = site.bot.complaints().deadlines();
  for (size_t i = 0; i < list->size() && i < kMaxRows; ++i) {
    const Complaint& c = (*list)[i];
    bool overdue = complaint_overdue(c, d, now);
    int64_t deadline = complaint_deadline(c, d);
    rows += row.render({{"receipt", c.receipt},
                        {"village", village_name(*villages, c.village)},
                        {"status", complaint_status_zh(c.status)},
                        {"filed", day(site, c.filed_at)},
                        {"deadline", deadline ? day(site, deadline) : "—"},
                        {"overdue_class", overdue ? Html::markup(" class=\"overdue\"") : Html()},
                        {"overdue", overdue ? Html::markup(" ⚠逾期 <span class=\"en\">overdue</span>") : Html()},
                        {"text", excerpt(c.text, 90)}});
  }
  if (list->empty())
    rows = Html::markup("<tr><td colspan=\"6\">没有符合条件的投诉。<span class=\"en\">No complaint matches.</span></td></tr>\n");
  std::string csv = "/inspect/complaints.csv?village=" + query.village + "&status=" +
                    (query.status ? complaint_status_name(*query.status) : "") + (query.overdue ? "&overdue=true" : "");
  Html cut;
  if (list->size() > kMaxRows) {
    static const Template t("(只显示前{{n}}件,请筛选或下载 CSV <span class=\"en\">first {{n}} shown; filter or download the CSV</span>)");
    cut = t.render({{"n", std::to_string(kMaxRows)}});
  }
  return dashboard_page(200, "投诉 Complaints",
                        page.render({{"nav", nav(viewer)},
                                     {"village_options", village_options},
                                     {"status_options", status_options},
                                     {"overdue", query.overdue ? Html::markup(" checked") : Html()},
                                     {"count", std::to_string(list->size())},
                                     {"cut", cut},
                                     {"csv", csv},
                                     {"rows", rows}}));
}

Result<WebPage> complaint_page(Site& site, const Viewer& viewer, const Complaint& c, int status,
                               const std::string& message, bool error) {
  static const Template page(R"({{nav}}<h1>投诉 {{receipt}} <span class="en">Complaint</span></h1>
{{message}}<div class="table"><table>
<tr><th>村 <span class="en">Village</span></th><td>{{village}}</td></tr>
<tr><th>状态 <span class="en">Status</span></th><td>{{status}}</td></tr>
<tr><th>反映人 <span class="en">Reporter</span></th><td>{{reporter}}</td></tr>
<tr><th>受理 <span class="en">Filed</span></th><td>{{filed}}</td></tr>
<tr><th>期限 <span class="en">Deadline</span></th><td{{overdue_class}}>{{deadline}}{{overdue}}</td></tr>
<tr><th>关联 <span class="en">Links</span></th><td>{{links}}</td></tr>
</table></div>
<h2>内容 <span class="en">Text</span></h2>
<p class="complaint-text">{{text}}</p>
<h2>办理记录 <span class="en">Timeline</span></h2>
<ol>
{{events}}</ol>
{{form}})");
  static const Template event(R"(<li>{{day}} {{kind}}{{actor}}{{assignee}}{{note}}</li>
)");
  static const Template form(R"(<h2>办理 <span class="en">Next step</span></h2>
<form class="act" method="post" action="/inspect/complaints/{{receipt}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<label>改为 <span class="en">Move to</span><select name="to" required>
{{options}}</select></label>
<label>处理人或单位(转办时必填) <span class="en">Handler (required to assign)</span><input type="text" name="assignee" maxlength="200"></label>
<label>说明、结论或理由(办结、驳回时必填) <span class="en">Note, finding or reason (required to resolve or reject)</span><textarea name="note" rows="4" maxlength="2000"></textarea></label>
<button type="submit">保存 <span class="en">Save</span></button>
</form>
)");
  static const Template option(R"(<option value="{{value}}">{{label}}</option>
)");
  static const Template flash("<p class=\"{{class}}\">{{text}}</p>\n");
  auto villages = village_map(site);
  if (!villages.is_ok()) return villages.status();
  int64_t now = site.ledger.clock().now_unix_seconds();
  const auto& d = site.bot.complaints().deadlines();
  Html events;
  for (const auto& e : c.events)
    events += event.render({{"day", day(site, e.at)},
                            {"kind", event_zh(e.kind)},
                            {"actor", e.actor.empty() ? "" : "(" + (e.actor == "reporter" ? std::string("反映人 reporter") : e.actor) + ")"},
                            {"assignee", e.assignee.empty() ? "" : " 处理人 (handler):" + e.assignee},
                            {"note", e.note.empty() ? "" : " " + e.note}});
  // The transitions the bot's rules allow from here (check_transition, with
  // the required texts taken as given: the form asks for them).
  Html options;
  for (ComplaintStatus to : kTargets)
    if (check_transition(c.status, to, "-", "-").is_ok())
      options += option.render({{"value", complaint_status_name(to)},
                                {"label", std::string(complaint_status_zh(to)) + " (" + complaint_status_name(to) + ")"}});
  std::string links;
  for (const auto& l : c.links) links += (links.empty() ? "" : "、") + l;
  std::string reporter = c.anonymous || !c.reporter
                             ? "匿名 (anonymous)"
                             : c.reporter->name + "(" + c.reporter->bot_id + "/" + c.reporter->user_id + ")";
  bool overdue = complaint_overdue(c, d, now);
  int64_t deadline = complaint_deadline(c, d);
  return dashboard_page(
      status, "投诉 " + c.receipt,
      page.render({{"nav", nav(viewer)},
                   {"receipt", c.receipt},
                   {"message", message.empty() ? Html()
                                               : flash.render({{"class", error ? "error" : "flash"}, {"text", message}})},
                   {"village", village_name(*villages, c.village)},
                   {"status", std::string(complaint_status_zh(c.status)) + " (" + complaint_status_name(c.status) + ")"},
                   {"reporter", reporter},
                   {"filed", day(site, c.filed_at)},
                   {"deadline", deadline ? day(site, deadline) : "—"},
                   {"overdue_class", overdue ? Html::markup(" class=\"overdue\"") : Html()},
                   {"overdue", overdue ? Html::markup(" ⚠逾期 <span class=\"en\">overdue</span>") : Html()},
                   {"links", links.empty() ? "—" : links},
                   {"text", c.text},
                   {"events", events},
                   {"form", options.empty() ? Html::markup("<p class=\"muted\">已办结,没有下一步。<span class=\"en\">Closed: no next step.</span></p>\n")
                                            : form.render({{"receipt", c.receipt}, {"csrf", viewer.csrf}, {"options", options}})}}));
}

Result<WebPage> queue_csv(Site& site, const Viewer& viewer, const QueueQuery& query) {
  auto list = queue_list(site, viewer, query);
  if (!list.is_ok()) return list.status();
  WebPage page;
  page.content_type = "text/csv; charset=utf-8";
  // A BOM, so spreadsheet programs read the Chinese.
  page.body = "\xEF\xBB\xBF" +
              complaints_csv(*list, site.bot.complaints().deadlines(), site.ledger.clock().now_unix_seconds());
  page.headers = {{"Content-Disposition", "attachment; filename=\"complaints.csv\""},
                  {"X-Content-Type-Options", "nosniff"},
                  {"Cache-Control", "no-store"}};
  return page;
}

namespace {

// Received and resolved per month (local), oldest first, as chart rows.
std::vector<BarRow> monthly_rows(Site& site, const std::vector<Complaint>& list) {
  std::map<std::string, std::pair<Fen, Fen>> months;
  for (const auto& c : list) {
    ++months[month_of(site, c.filed_at)].first;
    if (c.status == ComplaintStatus::kResolved && c.resolved_at) ++months[month_of(site, c.resolved_at)].second;
  }
  std::vector<BarRow> rows;
  for (const auto& [m, n] : months) rows.push_back({month_zh(m), {{"受理 received", n.first}, {"办结 resolved", n.second}}});
  // The last 12 months with any: a chart a phone can read.
  if (rows.size() > 12) rows.erase(rows.begin(), rows.end() - 12);
  return rows;
}

std::string median_text(const ComplaintStats& s) {
  if (s.resolved == 0) return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s.median_days_to_resolve);
  return buf;
}

}  // namespace

Result<WebPage> stats_page(Site& site, const Viewer& viewer, const std::string& only_town) {
  static const Template page(R"({{nav}}<h1>统计 <span class="en">Statistics</span></h1>
<p class="muted">按受理月份统计受理数,按办结月份统计办结数;办结天数为受理到办结的中位数。<span class="en">Received by month filed, resolved by month resolved; median days from filing to resolution.</span></p>
{{towns}})");
  static const Template town(R"(<h2>{{town}}</h2>
<div class="table"><table>
<thead><tr><th>村 <span class="en">Village</span></th><th class="num">受理 <span class="en">Received</span></th><th class="num">办结 <span class="en">Resolved</span></th><th class="num">在办 <span class="en">Open</span></th><th class="num">逾期 <span class="en">Overdue</span></th><th class="num">办结天数中位数 <span class="en">Median days</span></th></tr></thead>
<tbody>
{{rows}}</tbody></table></div>
{{charts}})");
  static const Template row(R"(<tr><td>{{name}}</td><td class="num">{{received}}</td><td class="num">{{resolved}}</td><td class="num">{{open}}</td><td class="num">{{overdue}}</td><td class="num">{{median}}</td></tr>
)");
  static const Template chart(R"(<h3>{{title}} <span class="en">received and resolved per month</span></h3>
{{svg}})");
  static const Template per_village(R"(<p><a href="/inspect/stats?town={{town}}">{{town}}各村的图表 <span class="en">charts per village</span></a></p>
)");
  auto villages = village_map(site);
  if (!villages.is_ok()) return villages.status();
  ComplaintFilter f;
  f.villages = viewer.villages;
  std::vector<Complaint> all;
  if (!f.villages.empty()) {
    auto list = site.bot.complaints().list(f);
    if (!list.is_ok()) return list.status();
    all = std::move(*list);
  }
  int64_t now = site.ledger.clock().now_unix_seconds();
  const auto& d = site.bot.complaints().deadlines();
  // town -> village -> its complaints (every village of the area, with or without).
  std::map<std::string, std::map<std::string, std::vector<Complaint>>> by_town;
  for (const auto& id : viewer.villages) {
    auto it = villages->find(id);
    by_town[it == villages->end() ? "" : it->second.town][id];
  }
  // Every town's table and chart; each village's chart for one town at a
  // time when there are several (a district's would pass 150 KB).
  bool village_charts = by_town.size() == 1 || !only_town.empty();
  if (!only_town.empty()) {
    if (!by_town.count(only_town)) return not_found("");
    for (auto it = by_town.begin(); it != by_town.end();) it = it->first == only_town ? std::next(it) : by_town.erase(it);
  }
  for (auto& c : all) {
    auto it = villages->find(c.village);
    auto town_it = by_town.find(it == villages->end() ? "" : it->second.town);
    if (town_it != by_town.end()) town_it->second[c.village].push_back(std::move(c));
  }
  Html towns;
  for (const auto& [town_name, village_lists] : by_town) {
    Html rows, charts;
    std::vector<Complaint> town_all;
    auto add_row = [&](const std::string& name, const std::vector<Complaint>& list) {
      ComplaintStats s = complaint_stats(list, d, now);
      rows += row.render({{"name", name},
                          {"received", std::to_string(s.received)},
                          {"resolved", std::to_string(s.resolved)},
                          {"open", std::to_string(s.open)},
                          {"overdue", std::to_string(s.overdue)},
                          {"median", median_text(s)}});
    };
    for (const auto& [id, list] : village_lists) {
      auto it = villages->find(id);
      std::string name = it == villages->end() ? id : it->second.name;
      add_row(name, list);
      town_all.insert(town_all.end(), list.begin(), list.end());
      if (village_charts && !list.empty()) charts += chart.render({{"title", name}, {"svg", bar_chart(monthly_rows(site, list), count)}});
    }
    add_row("合计 (town total)", town_all);
    Html town_chart;
    if (!town_all.empty())
      town_chart = chart.render({{"title", town_name + " 合计"}, {"svg", bar_chart(monthly_rows(site, town_all), count)}});
    if (village_charts) town_chart += charts;
    else town_chart += per_village.render({{"town", town_name}});
    towns += town.render({{"town", town_name}, {"rows", rows}, {"charts", town_chart}});
  }
  if (by_town.empty()) towns = Html::markup("<p>您的辖区没有村。<span class=\"en\">No village in your area.</span></p>\n");
  return dashboard_page(200, "统计 Statistics", page.render({{"nav", nav(viewer)}, {"towns", towns}}));
}

}  // namespace sunledger::web
