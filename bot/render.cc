#include "bot/render.h"

#include "ledger/tlog_proof.h"

#include <map>

#include "ledger/crypto.h"

namespace sunledger {
namespace {

void append_categories(std::string& out, const nlohmann::json& by_category) {
  if (!by_category.is_object()) return;
  for (const auto& [category, amount] : by_category.items())
    if (amount.is_number_integer() && amount.get<Fen>() != 0)
      out += "  · " + category + " " + format_yuan_with_wan(amount.get<Fen>()) + "\n";
}

std::string flags_block(const std::vector<Flag>& flags) {
  if (flags.empty()) return "";
  std::string out = "⚠ 预警 (alerts):\n";
  for (const auto& f : flags) out += "- " + f.text + "\n";
  return out;
}

}  // namespace

std::string checkpoint_short_form(const std::string& note) {
  size_t a = note.find('\n');
  size_t b = a == std::string::npos ? a : note.find('\n', a + 1);
  size_t c = b == std::string::npos ? b : note.find('\n', b + 1);
  if (c == std::string::npos) return "?";
  std::string size = note.substr(a + 1, b - a - 1);
  auto root = base64_decode(note.substr(b + 1, c - b - 1));
  if (!root.is_ok()) return size;
  return size + "/" + hex_encode(root->substr(0, 4));
}

std::string month_zh(const std::string& month) {
  if (month.size() != 7) return month;
  int m = std::stoi(month.substr(5, 2));
  return month.substr(0, 4) + "年" + std::to_string(m) + "月";
}

std::string paginate(const std::string& header, const std::vector<std::string>& lines, int page, size_t max_bytes,
                     const std::string& next_page_hint) {
  // Reserve room for the footer ("第12/34页 ..." plus the hint).
  const size_t footer_room = 60 + next_page_hint.size();
  size_t budget = max_bytes > header.size() + footer_room ? max_bytes - header.size() - footer_room : 200;
  std::vector<std::string> pages;
  std::string cur;
  for (const auto& l : lines) {
    std::string line = l.size() > budget ? l.substr(0, budget - 4) + "…\n" : l;
    if (!cur.empty() && cur.size() + line.size() > budget) {
      pages.push_back(cur);
      cur.clear();
    }
    cur += line;
  }
  if (!cur.empty() || pages.empty()) pages.push_back(cur);
  int total = static_cast<int>(pages.size());
  if (page < 1) page = 1;
  std::string beyond;
  if (page > total) {
    // Asked for a page that does not exist: say so rather than silently showing another.
    beyond = "只有" + std::to_string(total) + "页,下面是第" + std::to_string(total) + "页。(there are only " +
             std::to_string(total) + " page(s); this is the last)\n";
    page = total;
  }
  std::string out = header + beyond + pages[static_cast<size_t>(page - 1)];
  if (total > 1) {
    out += "第" + std::to_string(page) + "/" + std::to_string(total) + "页";
    // The hint opens a quote (发送“明细 2022-11) that the page number closes;
    // a hint that is a whole command already (发送“项目 名称”) is shown as is.
    const std::string close_quote = "\xE2\x80\x9D";  // ”
    bool whole = next_page_hint.size() >= 3 && next_page_hint.compare(next_page_hint.size() - 3, 3, close_quote) == 0;
    if (page < total && whole) out += "," + next_page_hint + "查看";
    else if (page < total) out += "," + next_page_hint + " " + std::to_string(page + 1) + close_quote + "查看下一页";
    out += "\n";
  }
  return out;
}

std::string later_flags_block(const std::vector<Flag>& later) {
  if (later.empty()) return "";
  std::string out = "⚠ 公开后新增预警 (alerts raised after publication):\n";
  for (const auto& f : later) out += "- " + (f.raised_on.empty() ? std::string() : f.raised_on + " ") + f.text + "\n";
  return out;
}

std::string render_statement(const std::string& village_name, const MonthClose& close, const std::vector<Flag>& flags,
                             const std::vector<Flag>& later) {
  const auto& s = close.statement;
  std::string out = "【" + village_name + " " + month_zh(close.month) + " 账目公开】\n";
  out += "期初余额:" + format_yuan_with_wan(entry_fen(s, "opening")) + "\n";
  out += "本月收入:" + format_yuan_with_wan(entry_fen(s, "income_total")) + "\n";
  append_categories(out, s.value("income_by_category", nlohmann::json::object()));
  out += "本月支出:" + format_yuan_with_wan(entry_fen(s, "expense_total")) + "\n";
  append_categories(out, s.value("expense_by_category", nlohmann::json::object()));
  if (entry_fen(s, "opening_balances") != 0)
    out += "录入期初余额:" + format_yuan_with_wan(entry_fen(s, "opening_balances")) + "(不是收入 / not income)\n";
  if (entry_fen(s, "returned") != 0)
    out += "退回专项资金:" + format_yuan_with_wan(entry_fen(s, "returned")) + "(不是支出 / not an expense)\n";
  if (entry_fen(s, "transfers") != 0) out += "资金间转账:" + format_yuan_with_wan(entry_fen(s, "transfers")) + "\n";
  out += "期末余额:" + format_yuan_with_wan(entry_fen(s, "closing")) + "\n";
  if (entry_fen(s, "subsidy_total") != 0)
    out += "低保等补助发放:" + format_yuan_with_wan(entry_fen(s, "subsidy_total")) + "(" +
           std::to_string(s.value("subsidy_lines", 0)) + "户)\n";
  out += "共" + std::to_string(s.value("entry_count", 0)) + "条记录";
  if (s.value("first_index", -1) >= 0)
    out += "(第#" + std::to_string(s.value("first_index", 0)) + "至#" + std::to_string(s.value("last_index", 0)) + "条)";
  out += "\n";
  out += flags_block(flags);
  out += later_flags_block(later);
  out += "核验码:" + checkpoint_short_form(close.checkpoint) + "(发送“核验 " + close.month + "”查看完整签名)\n";
  return out;
}

std::vector<std::string> render_detail_lines(const std::vector<Entry>& entries, int direction_filter) {
  std::map<uint64_t, uint64_t> reversed_by;
  for (const auto& e : entries)
    if (entry_string(e.fields, "kind") == "reversal") reversed_by[e.fields.value("target", uint64_t{0})] = e.index;
  std::vector<std::string> lines;
  for (const auto& e : entries) {
    const auto& f = e.fields;
    std::string kind = entry_string(f, "kind");
    if (kind == "txn") {
      bool income = entry_string(f, "direction") == "income";
      if ((direction_filter > 0 && !income) || (direction_filter < 0 && income)) continue;
      std::string line = "#" + std::to_string(e.index) + " " + entry_string(f, "date").substr(5) + " " + (income ? "收入" : "支出") +
                         " " + entry_string(f, "category") + " " + entry_string(f, "item") + " " + format_yuan(entry_fen(f, "amount"));
      if (!entry_string(f, "project").empty()) line += " [项目:" + entry_string(f, "project") + "]";
      if (!entry_string(f, "fund").empty()) line += " [资金:" + entry_string(f, "fund") + "]";
      if (!entry_string(f, "counterparty").empty()) line += " [对方:" + entry_string(f, "counterparty") + "]";
      if (!entry_string(f, "note").empty()) line += " [备注:" + entry_string(f, "note") + "]";
      if (auto it = reversed_by.find(e.index); it != reversed_by.end())
        line += " (已被#" + std::to_string(it->second) + "冲销)";
      lines.push_back(line + "\n");
    } else if (kind == kOpeningBalanceKind || kind == kTransferKind || kind == kSpecialReturnKind) {
      if (direction_filter != 0) continue;  // neither income nor expense
      std::string line = "#" + std::to_string(e.index) + " " + entry_string(f, "date").substr(5) + " " + correction_kind_zh(kind) +
                         " " + format_yuan(entry_fen(f, "amount")) + " [资金:" + entry_string(f, "fund");
      if (kind == kTransferKind) line += "→" + entry_string(f, "to_fund");
      line += "]";
      if (!entry_string(f, "project").empty()) line += " [项目:" + entry_string(f, "project") + "]";
      if (!entry_string(f, "counterparty").empty()) line += " [对方:" + entry_string(f, "counterparty") + "]";
      lines.push_back(line + "\n");
    } else if (kind == "reversal") {
      bool income = entry_string(f, "direction") == "income";
      if ((direction_filter > 0 && !income) || (direction_filter < 0 && income)) continue;
      lines.push_back("#" + std::to_string(e.index) + " 冲销#" + std::to_string(f.value("target", uint64_t{0})) + " " +
                      format_yuan(-entry_fen(f, "amount")) + " 原因:" + entry_string(f, "reason") + "\n");
    }
  }
  return lines;
}

std::string render_project(const ProjectStats& p, const std::vector<Flag>& flags) {
  std::string out = "【项目】" + p.name + (p.special ? "(专项资金)" : "") + (p.finished ? "(已结项)" : "") + "\n";
  out += "  批复:" + format_yuan_with_wan(p.approved) + "\n";
  out += "  到账:" + format_yuan_with_wan(p.received) + "\n";
  out += "  支出:" + format_yuan_with_wan(p.spent) + "\n";
  out += "  结余:" + format_yuan_with_wan(p.received - p.spent) + "\n";
  for (const auto& f : flags)
    if (f.text.find("“" + p.name + "”") != std::string::npos) out += "  ⚠ " + f.text + "\n";
  return out;
}

std::string render_balance(const VillageBooks& books) {
  std::string out = "【" + books.village_name + " 资金余额】(含尚未公开的月份 / including unpublished months)\n";
  if (books.fund_balances.empty()) out += "暂无收支记录 (no entries yet)\n";
  Fen total = 0;
  for (const auto& [fund, balance] : books.fund_balances) {
    out += "  " + fund + ":" + format_yuan_with_wan(balance) + "\n";
    total += balance;
  }
  if (books.fund_balances.size() > 1) out += "  合计:" + format_yuan_with_wan(total) + "\n";
  return out;
}

std::vector<std::string> render_subsidy_lines(const std::vector<Entry>& entries) {
  std::map<uint64_t, bool> reversed;
  for (const auto& e : entries)
    if (entry_string(e.fields, "kind") == "reversal") reversed[e.fields.value("target", uint64_t{0})] = true;
  std::vector<std::string> lines;
  for (const auto& e : entries) {
    if (entry_string(e.fields, "kind") != "subsidy" || reversed.count(e.index)) continue;
    // Masked name only: identity numbers and phone numbers are never shown.
    lines.push_back(entry_string(e.fields, "program") + " " + entry_string(e.fields, "name_masked") + " " +
                    format_yuan(entry_fen(e.fields, "amount")) + "(" + std::to_string(e.fields.value("persons", 1)) + "人)\n");
  }
  return lines;
}

std::string render_verify(const std::string& village_name, const MonthClose& close, const std::string& verifier_key) {
  // The short code first: it is the one 账目 and the monthly notice print,
  // so a villager can match them without reading the signature.
  return "【" + village_name + " " + month_zh(close.month) + " 核验】\n核验码:" + checkpoint_short_form(close.checkpoint) +
         "(记录条数/签名开头,与账目和公开通知里的核验码相同)(check code: entry count / start of the root, as in 账目 and the "
         "notice)\n完整签名 (signed checkpoint):\n" + close.checkpoint + "\n公钥 (verifier key):\n" +
         verifier_key +
         "\n核对方法 (how to check):\n"
         "1. 保存这条消息(截图或收藏)。以后任何时候再发送“核验 " + close.month +
         "”,签名都必须和您保存的一字不差;不一样就说明账本被改过,请向乡镇纪委反映。(keep this message: the answer to 核验 " +
         close.month + " must never change; if it ever does, the accounts were altered: tell the township discipline commission)\n"
         "2. 签名里的条数只增不减:以后每个月的签名都包含本月的全部记录。(the count only grows: every later checkpoint contains "
         "all of this month's entries)\n"
         "3. 懂技术的人可以用上面的公钥核对签名(C2SP 签名笔记格式);整本账可以请乡镇管理员核验。(anyone technical can check the "
         "signature with the key above; the township administrator can verify the whole ledger)\n";
}

std::string render_notice(const std::string& village_name, const MonthClose& close, const std::vector<Flag>& flags) {
  const auto& s = close.statement;
  std::string out = "【" + village_name + " " + month_zh(close.month) + " 三务公开】\n";
  out += "期初余额 " + format_yuan_with_wan(entry_fen(s, "opening")) + ",本月收入 " + format_yuan_with_wan(entry_fen(s, "income_total")) +
         ",支出 " + format_yuan_with_wan(entry_fen(s, "expense_total")) + ",期末余额 " + format_yuan_with_wan(entry_fen(s, "closing")) +
         "。\n";
  out += flags_block(flags);
  out += "核验码:" + checkpoint_short_form(close.checkpoint) + "\n";
  out += "发送“账目 " + close.month + "”看汇总,“明细 " + close.month + "”看每一笔,“核验 " + close.month +
         "”看签名。有疑问请在群里提出或私信本机器人反映。\n";
  return out;
}

std::string render_proof_block(const MonthClose& close) {
  // Without the leaf and its proof (a close read through month_closes) there is nothing to prove offline.
  if (close.statement_leaf.empty() || close.tree_size != close.statement_index + 1) return "";
  TlogProof p{close.statement_leaf, close.statement_index, close.statement_proof, close.checkpoint};
  return "离线证明:请保存以下整段文字,以后不靠服务器也能证明本月公开的账目(sunledger check --proof)"
         "(offline proof of this statement: keep the whole block; `sunledger check --proof` verifies it with the log's key alone)\n" +
         format_tlog_proof(p);
}

}  // namespace sunledger
