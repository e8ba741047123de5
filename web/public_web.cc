// Routing of the public web's paths, and the page cache: a page is kept with
// the key it was rendered for (its village's log size; the day or minute too
// where it shows today's alerts or counts; the cosignatures stored on the
// month's checkpoint where it shows that) and rendered again only when the
// key changed, so a busy month page costs a size lookup, not a rendering.
#include "web/public_web.h"

#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>

#include "bot/complaints.h"
#include "exports/exports.h"
#include "web/dashboard.h"
#include "web/pages.h"

namespace sunledger::web {
namespace {

enum class Route { kHome, kStylesheet, kScript, kVillage, kMonth, kCsv, kNotice, kAlerts, kExport, kNoSuchPage };

struct Parsed {
  Route route = Route::kNoSuchPage;
  std::string village, month;
  int page = 1;  // of a month's lines (the month page and its notice), or of its alerts
};

// "/page/N" after a month or its notice, N from 2 (page 1 is the page's own
// path, so it is never cached twice) and of at most 6 digits; 0 when `tail`
// is not that.
int page_suffix(const std::string& tail) {
  const std::string prefix = "/page/";
  if (tail.rfind(prefix, 0) != 0) return 0;
  std::string n = tail.substr(prefix.size());
  if (n.empty() || n.size() > 6 || n[0] == '0' || n.find_first_not_of("0123456789") != std::string::npos) return 0;
  int page = std::stoi(n);
  return page >= 2 ? page : 0;
}

// "/villages/shuangjiang/2022-11.csv" -> kCsv, shuangjiang, 2022-11.
// nullopt for the machine-facing paths (the API, webhooks, health and
// metrics), whose misses the server answers in JSON; any other path a
// browser asks for that is not a page is an HTML 404 (kNoSuchPage).
std::optional<Parsed> parse_path(const std::string& path) {
  if (path == "/") return Parsed{Route::kHome, "", ""};
  if (path == "/static/site.css") return Parsed{Route::kStylesheet, "", ""};
  if (path == "/static/verify.js") return Parsed{Route::kScript, "", ""};
  for (const char* api : {"/v1/", "/webhooks/"})
    if (path.rfind(api, 0) == 0) return std::nullopt;
  if (path == "/v1" || path == "/webhooks" || path == "/healthz" || path == "/metrics") return std::nullopt;
  const std::string prefix = "/villages/";
  if (path.rfind(prefix, 0) != 0) return Parsed{};
  std::string rest = path.substr(prefix.size());
  size_t slash = rest.find('/');
  Parsed p{Route::kVillage, rest.substr(0, slash), ""};
  if (p.village.empty()) return Parsed{};
  if (slash == std::string::npos) return p;
  std::string tail = rest.substr(slash + 1);
  // "export.journal": the published books for an accountant's tools
  // (p.month carries the format's name).
  if (tail.rfind("export.", 0) == 0) {
    auto format = parse_export_format(tail.substr(7));
    if (!format || tail.substr(7) == "hledger") return Parsed{};
    p.route = Route::kExport;
    p.month = tail.substr(7);
    return p;
  }
  if (tail.size() == 11 && tail.compare(7, 4, ".csv") == 0) p.route = Route::kCsv;
  else if (tail.size() == 14 && tail.compare(7, 7, "/notice") == 0) p.route = Route::kNotice;
  else if (tail.size() == 14 && tail.compare(7, 7, "/alerts") == 0) p.route = Route::kAlerts;
  else if (tail.size() == 7) p.route = Route::kMonth;
  else if (tail.size() > 14 && tail.compare(7, 7, "/notice") == 0 && (p.page = page_suffix(tail.substr(14))) > 0)
    p.route = Route::kNotice;
  else if (tail.size() > 14 && tail.compare(7, 7, "/alerts") == 0 && (p.page = page_suffix(tail.substr(14))) > 0)
    p.route = Route::kAlerts;
  else if (tail.size() > 7 && (p.page = page_suffix(tail.substr(7))) > 0) p.route = Route::kMonth;
  else return Parsed{};
  p.month = tail.substr(0, 7);
  if (!valid_month(p.month)) return Parsed{};
  return p;
}

// The village's published months in an accountant's format (exports.h):
// like every public page, nothing of a month still open.
Result<WebPage> export_file(Ledger& ledger, const Village& v, const std::string& format_name) {
  auto format = parse_export_format(format_name);
  auto journal = published_journal(ledger, v.id);
  if (!journal.is_ok()) return journal.status();
  auto body = export_books(*journal, *format);
  if (!body.is_ok()) return body.status();
  WebPage page;
  page.content_type = export_content_type(*format);
  page.body = std::move(*body);
  page.headers = {{"X-Content-Type-Options", "nosniff"},
                  {"Content-Disposition", "attachment; filename=\"" + v.id + "." + export_extension(*format) + "\""}};
  return page;
}

WebPage stylesheet_page() {
  WebPage page;
  page.content_type = "text/css; charset=utf-8";
  page.body = stylesheet();
  page.headers = {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "max-age=3600"}};
  return page;
}

WebPage script_page() {
  WebPage page;
  page.content_type = "text/javascript; charset=utf-8";
  page.body = std::string(verify_script());
  page.headers = {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "max-age=3600"}};
  return page;
}

}  // namespace

struct PublicWeb::Impl {
  Ledger* ledger;
  Bot* bot;
  WebOptions options;
  std::function<void()> on_outbox_write;
  std::atomic<uint64_t> renders{0};
  std::mutex mu;
  struct Cached {
    std::string key;
    std::shared_ptr<const WebPage> page;
  };
  std::map<std::string, Cached> cache;  // by path; only pages that answered 200

  std::string today() const {
    return format_date(local_date(ledger->clock().now_unix_seconds(), ledger->utc_offset_minutes()));
  }
  // Every village's log and the complaints log, and the minute: what the
  // front page shows changes with any of them (a complaint becomes overdue
  // at its own second, so the minute bounds how late the count may be).
  Result<std::string> home_key() {
    auto villages = ledger->villages();
    if (!villages.is_ok()) return villages.status();
    std::string key = std::to_string(ledger->clock().now_unix_seconds() / 60);
    for (const auto& v : *villages) {
      auto size = ledger->log_size(v.id);
      if (!size.is_ok()) return size.status();
      key += "|" + v.id + ":" + std::to_string(*size);
    }
    auto complaints = complaints_key();
    if (!complaints.is_ok()) return complaints.status();
    return key + "|" + *complaints;
  }
  // The complaints log's size and the minute: what a page's complaint counts
  // change with. A deployment where nobody has complained yet has no
  // complaints log at all: that is size 0, not a failure (the front page of
  // every such deployment answered "try again later").
  Result<std::string> complaints_key() {
    auto complaints = ledger->log_size(Complaints::kLogName);
    uint64_t n = 0;
    if (complaints.is_ok()) n = *complaints;
    else if (complaints.status().code() != Code::kNotFound) return complaints.status();
    return "c:" + std::to_string(n) + "|m:" + std::to_string(ledger->clock().now_unix_seconds() / 60);
  }
  // The cosignatures stored on the month's checkpoint, which the month page
  // and the notice show: witnesses answer seconds after the month closes,
  // when the log need not grow again, so its size alone kept a page without
  // them. "-" for a month not closed (the page says so).
  void add_cosignatures_key(Result<std::string>& key, const std::string& village, const std::string& month) {
    if (!key.is_ok()) return;
    auto mark = ledger->month_cosignatures_mark(village, month);
    if (mark.is_ok()) key = *key + "|w:" + *mark;
    else if (mark.status().code() == Code::kNotFound) key = *key + "|w:-";
    else key = mark.status();
  }
  WebPage serve(const std::string& path, const Result<std::string>& key,
                const std::function<Result<WebPage>()>& render, const std::function<WebPage()>& not_found);
  WebPage route(const std::string& path, const Parsed& p);
};

WebPage PublicWeb::Impl::serve(const std::string& path, const Result<std::string>& key,
                               const std::function<Result<WebPage>()>& render, const std::function<WebPage()>& not_found) {
  if (!key.is_ok()) {
    std::fprintf(stderr, "sunledger: page %s: %s\n", path.c_str(), key.status().to_string().c_str());
    return unavailable_page(key.status());
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(path);
    if (it != cache.end() && it->second.key == *key) return *it->second.page;
  }
  ++renders;
  auto page = render();
  if (!page.is_ok()) {
    if (page.status().code() == Code::kNotFound) return not_found();
    std::fprintf(stderr, "sunledger: page %s: %s\n", path.c_str(), page.status().to_string().c_str());
    return unavailable_page(page.status());
  }
  auto kept = std::make_shared<const WebPage>(std::move(*page));
  std::lock_guard<std::mutex> lock(mu);
  cache[path] = Cached{*key, kept};
  return *kept;
}

WebPage PublicWeb::Impl::route(const std::string& path, const Parsed& p) {
  Site site{*ledger, *bot, options};
  auto no_such_page = [] { return not_found_page("没有这个页面", "No such page."); };
  if (p.route == Route::kStylesheet) return stylesheet_page();
  if (p.route == Route::kScript) return script_page();
  if (p.route == Route::kHome) return serve(path, home_key(), [&site] { return home_page(site); }, no_such_page);
  if (p.route == Route::kNoSuchPage) return no_such_page();
  auto village = ledger->village(p.village);
  if (!village.is_ok()) {
    if (village.status().code() == Code::kNotFound) return not_found_page("没有这个村", "No such village.");
    return unavailable_page(village.status());
  }
  const Village& v = *village;
  const std::string& month = p.month;
  auto size = ledger->log_size(v.id);
  Result<std::string> key = size.is_ok() ? Result<std::string>(std::to_string(*size)) : Result<std::string>(size.status());
  // A page of lines beyond the last is no page; any page of a month not
  // published says the month is not.
  auto unpublished = [this, &v, &month, &p] {
    auto close = ledger->month_close(v.id, month);
    if (p.page > 1 && close.is_ok()) return not_found_page("没有这一页", "No such page of this month's lines.");
    return month_not_published(v, month);
  };
  switch (p.route) {
    case Route::kVillage:
      // Its alerts include months not published by their deadline: they change with the day.
      if (key.is_ok()) key = *key + "|" + today();
      return serve(path, key, [&site, &v] { return village_page(site, v); }, no_such_page);
    // A month's alerts raised after publication include bank withdrawals
    // still not in the books 30 days on: they change with the day too.
    case Route::kMonth:
      if (key.is_ok()) key = *key + "|" + today();
      add_cosignatures_key(key, v.id, month);
      return serve(path, key, [&] { return month_page(site, v, month, p.page); }, unpublished);
    case Route::kAlerts:
      if (key.is_ok()) key = *key + "|" + today();
      return serve(path, key, [&] { return month_alerts_page(site, v, month, p.page); }, unpublished);
    case Route::kCsv: return serve(path, key, [&] { return month_csv(site, v, month); }, unpublished);
    case Route::kExport: return serve(path, key, [&] { return export_file(*ledger, v, month); }, no_such_page);
    case Route::kNotice: {
      // The notice prints the complaint counts too: they change with the
      // complaints log and the clock, not with the village's log.
      auto complaints = complaints_key();
      if (!complaints.is_ok()) key = complaints.status();
      else if (key.is_ok()) key = *key + "|" + *complaints;
      add_cosignatures_key(key, v.id, month);
      return serve(path, key, [&] { return notice_page(site, v, month, p.page); }, unpublished);
    }
    default: return no_such_page();
  }
}

PublicWeb::PublicWeb(Ledger* ledger, Bot* bot, WebOptions options, std::function<void()> on_outbox_write)
    : impl_(std::make_unique<Impl>()) {
  impl_->ledger = ledger;
  impl_->on_outbox_write = std::move(on_outbox_write);
  impl_->bot = bot;
  impl_->options = std::move(options);
  while (!impl_->options.public_url.empty() && impl_->options.public_url.back() == '/') impl_->options.public_url.pop_back();
}

PublicWeb::~PublicWeb() = default;

std::optional<WebPage> PublicWeb::get(const std::string& path) {
  // "/villages/shuangjiang/" is the village page: one trailing slash is an
  // easy typo, and it is cached under the page's own path (no second copy).
  std::string page = path.size() > 1 && path.back() == '/' ? path.substr(0, path.size() - 1) : path;
  auto parsed = parse_path(page);
  if (!parsed) return std::nullopt;
  return impl_->route(page, *parsed);
}

std::optional<WebPage> PublicWeb::inspect(const WebRequest& request) {
  // Never cached: every answer depends on who asks, and on now.
  Site site{*impl_->ledger, *impl_->bot, impl_->options};
  return dashboard(site, request, impl_->on_outbox_write);
}

uint64_t PublicWeb::renders() const { return impl_->renders.load(); }

}  // namespace sunledger::web
