// The layout every page shares, its stylesheet and security headers, and the
// small pieces several pages draw (amounts, alerts).
#include "web/pages.h"

namespace sunledger::web {
namespace {

// Styles come from /static/site.css only ('self'): no inline style or script
// runs, and nothing is fetched from anywhere else.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";
// The inspector's dashboard posts its forms to this server, and nowhere else.
constexpr const char* kDashboardPolicy =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

constexpr const char* kStylesheet = R"css(*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1a1a1a;background:#fafaf7}
header.site,footer.site{padding:.6rem 1rem;background:#7a1f1f;color:#fff}
header.site a{color:#fff;text-decoration:none;font-weight:600}
footer.site{background:#eee;color:#444;font-size:.85rem;margin-top:2rem}
main{max-width:60rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.4rem;margin:1rem 0 .5rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem;border-bottom:2px solid #7a1f1f}
.en{color:#666;font-size:.85em;font-weight:normal}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .4rem;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.alerts{border-left:4px solid #c00;background:#fff3f3;padding:.5rem 1rem;margin:.5rem 0;list-style:none}
.alerts li{margin:.3rem 0}
.muted{color:#666}
pre.note{white-space:pre-wrap;word-break:break-all;background:#f0f0ea;padding:.5rem;font-size:.8rem}
.village{background:#fff;border:1px solid #ddd;padding:.5rem .8rem;margin:.5rem 0}
.village h3{margin:.2rem 0;font-size:1.05rem}
svg.bars{width:100%;height:auto;max-width:30rem}
svg.qr{width:35mm;height:35mm}
.url{word-break:break-all}
nav.dash{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center;margin:.6rem 0}
nav.dash form{display:inline;margin:0}
form.filters,form.act{display:flex;flex-wrap:wrap;gap:.4rem .8rem;align-items:flex-end;background:#fff;border:1px solid #ddd;padding:.6rem;margin:.5rem 0}
form.act{flex-direction:column;align-items:stretch}
label{display:flex;flex-direction:column;font-size:.9rem}
label.check{flex-direction:row;gap:.3rem;align-items:center}
input,select,textarea,button{font:inherit;max-width:100%}
button{padding:.3rem .9rem}
.overdue{color:#b00000;font-weight:600}
.complaint-text{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #ddd;padding:.5rem}
.flash{border-left:4px solid #2a7a3a;background:#f0f8f0;padding:.4rem .8rem}
.error{border-left:4px solid #c00;background:#fff3f3;padding:.4rem .8rem}
.reversed{text-decoration:line-through;color:#888}
@media (max-width:480px){body{font-size:15px}th,td{padding:.25rem}}
.notice section{margin-bottom:1.5rem}
td.check,th.check{text-align:center;white-space:nowrap}
.verified-ok{color:#11691f;font-weight:600}
.verified-bad{color:#b00000;font-weight:600}
#consistency textarea{width:100%;font:.8rem monospace}
#verify-problems:empty{display:none}
@media print{
@page{size:A4;margin:15mm}
body{background:#fff;font-size:11pt}
header.site,footer.site,.noprint{display:none}
main{max-width:none;padding:0}
.notice section+section{break-before:page}
tr,li{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
)css";

const Template& layout() {
  static const Template t(R"(<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<link rel="stylesheet" href="/static/site.css">
</head>
<body class="{{class}}">
<header class="site"><a href="/">村务公开 <span class="en">Village accounts</span></a></header>
<main>
{{body}}
</main>
<footer class="site">本站内容来自签名账本,每一条都可以用公钥核验。<span class="en">Everything here comes from the signed ledger and can be checked with the verifier key.</span></footer>
</body>
</html>
)");
  return t;
}

}  // namespace

const std::string& stylesheet() {
  static const std::string css = kStylesheet;
  return css;
}

WebPage html_page(int status, const std::string& title, const Html& body, const std::string& body_class) {
  WebPage page;
  page.status = status;
  page.content_type = "text/html; charset=utf-8";
  page.body = layout().render({{"title", title}, {"class", body_class}, {"body", body}}).str();
  page.headers = {{"Content-Security-Policy", kContentSecurityPolicy},
                  {"X-Content-Type-Options", "nosniff"},
                  {"Referrer-Policy", "no-referrer"},
                  {"Cache-Control", "no-cache"}};
  return page;
}

WebPage dashboard_page(int status, const std::string& title, const Html& body) {
  WebPage page = html_page(status, title, body, "dashboard");
  for (auto& [name, value] : page.headers) {
    if (name == "Content-Security-Policy") value = kDashboardPolicy;
    // Complaint texts and reporters: never kept by a browser's or a proxy's cache.
    if (name == "Cache-Control") value = "no-store";
  }
  return page;
}

WebPage not_found_page(const std::string& zh, const std::string& en) {
  static const Template t(R"(<h1>{{zh}}</h1>
<p class="en">{{en}}</p>
<p><a href="/">返回首页</a> <span class="en">Back to the list of villages</span></p>
)");
  return html_page(404, zh, t.render({{"zh", zh}, {"en", en}}));
}

WebPage unavailable_page(const Status& status) {
  static const Template t(R"(<h1>暂时无法读取账本,请稍后再试</h1>
<p class="en">The ledger cannot be read right now; try again shortly.</p>
)");
  // The status is for the log, not the page: it may name tables or files.
  (void)status;
  // Never 404: a page that exists but cannot be read now is worth retrying.
  return html_page(503, "暂时无法读取账本", t.render({}));
}

Html yuan(Fen fen) {
  static const Template t("{{amount}}元");
  return t.render({{"amount", format_amount(fen)}});
}

Html yuan_wan(Fen fen) {
  static const Template t("{{amount}}");
  return t.render({{"amount", format_yuan_with_wan(fen)}});
}

// The month page runs one script, /static/verify.js, which reads the proofs
// from this server's read API: script-src and connect-src 'self' there, and
// on no other page.
WebPage verifying_page(WebPage page) {
  static constexpr const char* kVerifyingPolicy =
      "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; "
      "form-action 'none'; frame-ancestors 'none'";
  for (auto& [name, value] : page.headers)
    if (name == "Content-Security-Policy") value = kVerifyingPolicy;
  return page;
}

}  // namespace sunledger::web
