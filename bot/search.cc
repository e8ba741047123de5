// 搜索 / search: a villager looking for every payment to one company, or every
// line of one project, across all the published months at once (issue #16).
// Published months only, as 明细 shows: a line still unpublished is its
// officials' to correct first.
#include "bot/bot_impl.h"

namespace sunledger {

namespace {

// The fields a search may name, Chinese first; "" searches them all.
struct SearchField {
  const char* zh;
  const char* en;
  const char* field;
};
constexpr SearchField kSearchFields[] = {
    {"对方", "counterparty", "counterparty"}, {"项目", "project", "project"}, {"类别", "category", "category"},
    {"摘要", "item", "item"},                {"资金", "fund", "fund"},       {"备注", "note", "note"},
};

bool matches(const nlohmann::json& f, const char* field, const std::string& text) {
  if (field) return entry_string(f, field).find(text) != std::string::npos;
  for (const auto& s : kSearchFields)
    if (entry_string(f, s.field).find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

Result<std::string> Bot::Impl::search(const Context& ctx) {
  if (Status s = need_village(ctx); !s.is_ok()) return s;
  const char* usage = "请写要找的内容,例如“搜索 对方:某道路工程公司”或“搜索 水渠”。(e.g. search counterparty:某公司)";
  if (ctx.args.empty()) return say(usage);
  int page = 1;
  std::vector<std::string> words = ctx.args;
  const std::string& last = words.back();
  if (words.size() > 1 && last.size() <= 4 && last.find_first_not_of("0123456789") == std::string::npos) {
    page = std::stoi(last);
    words.pop_back();
  }
  std::string query;
  for (const auto& w : words) query += (query.empty() ? "" : " ") + w;
  // 对方:某公司, with a full-width colon too (what a Chinese keyboard types).
  const char* field = nullptr;
  const char* field_zh = nullptr;
  std::string text = query;
  for (const char* colon : {":", "\xEF\xBC\x9A"}) {
    size_t at = query.find(colon);
    if (at == std::string::npos) continue;
    std::string name = query.substr(0, at);
    for (const auto& s : kSearchFields)
      if (name == s.zh || name == s.en) field = s.field, field_zh = s.zh;
    if (!field)
      return say("不能按“" + name + "”搜索,可以用:对方、项目、类别、摘要、资金、备注。(search by counterparty, project, "
                 "category, item, fund or note)");
    text = query.substr(at + std::string(colon).size());
    text.erase(0, text.find_first_not_of(' '));  // 对方: 某公司
    break;
  }
  if (text.empty()) return say(usage);
  // Said back the one way, however it was typed (search counterparty:…, 对方：…).
  query = field ? std::string(field_zh) + ":" + text : text;
  auto b = village_books(*ctx.village);
  if (!b.is_ok()) return b.status();
  std::vector<std::string> lines;
  for (const auto& month : (*b)->closed_months) {
    auto entries = ledger->month_entries(ctx.village->id, month);
    if (!entries.is_ok()) return entries.status();
    // A matching line, and the reversal of one (which shows why it no
    // longer counts): the month's lines render with their reversals.
    std::set<uint64_t> hit;
    std::vector<Entry> kept;
    for (const auto& e : **entries) {
      std::string kind = entry_string(e.fields, "kind");
      bool take = kind == "txn" ? matches(e.fields, field, text)
                                : kind == "reversal" && hit.count(e.fields.value("target", uint64_t{0})) > 0;
      if (!take) continue;
      hit.insert(e.index);
      kept.push_back(e);
    }
    if (kept.empty()) continue;
    lines.push_back("— " + month_zh(month) + " —\n");
    for (auto& l : render_detail_lines(kept, 0)) lines.push_back(std::move(l));
  }
  if (lines.empty())
    return say("已公开的账目里没有找到“" + query + "”。(nothing found in the published accounts)");
  return paginate("【" + ctx.village->name + " 搜索“" + query + "”】\n", lines, page, options.max_reply_bytes,
                  "发送“搜索 " + query);
}

}  // namespace sunledger
