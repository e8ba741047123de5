// The corrections accountants expect (issue #16 item 2): an opening balance
// per fund, a transfer between funds, and the return (退回) of unspent special
// funds. Each is an entry kind of its own, posted with the income and
// expense lines (chat, CSV, HTTP), and a balanced transaction on the chart.

#include "ledger/chart.h"
#include "ledger/leaf_fields.h"
#include "ledger/ledger_internal.h"

namespace sunledger {

const char* correction_kind_zh(const std::string& kind) {
  if (kind == kOpeningBalanceKind) return "期初余额";
  if (kind == kTransferKind) return "转账";
  if (kind == kSpecialReturnKind) return "退回";
  return "";
}

namespace {

// The account that holds a fund's money: the fund's own (101, 102), or 102
// 银行存款 for a fund mapped to a liability (专项资金 → 241: held in the bank, owed).
const Account* money_account(const Account* fund) {
  if (fund == nullptr) return nullptr;
  return fund->type == AccountType::kAsset ? fund : find_account("102");
}

Status unknown_fund(const AccountMap& map, const std::string& fund) {
  std::string known;
  for (const auto& [name, code] : map.fund) known += (known.empty() ? "" : "、") + name;
  return invalid_argument("资金“" + fund + "”没有对应的会计科目,已知的资金:" + known + " (fund " + fund +
                          " maps to no account; known funds: " + known + ")");
}

}  // namespace

Result<std::vector<Posting>> correction_postings(const AccountMap& map, const std::string& kind, Fen amount,
                                                 const std::string& fund_name, const std::string& to_fund,
                                                 const std::string& project) {
  std::string from = fund_name.empty() ? (kind == kSpecialReturnKind ? "专项资金" : kDefaultFund) : fund_name;
  const Account* fund = map.find(MapSide::kFund, from);
  if (fund == nullptr) return unknown_fund(map, from);
  if (kind == kOpeningBalanceKind) {
    // Money held and owed (a special fund) opens as owed; money of the
    // village's own opens against its undistributed earnings (322 收益分配).
    if (fund->type == AccountType::kLiability)
      return std::vector<Posting>{{money_account(fund), "", amount}, {fund, project, -amount}};
    return std::vector<Posting>{{fund, "", amount}, {find_account("322"), "", -amount}};
  }
  if (kind == kTransferKind) {
    if (to_fund.empty()) return invalid_argument("转账要写明转入的资金(到:银行存款) (a transfer names the fund it goes to)");
    if (to_fund == from) return invalid_argument("转出和转入是同一个资金“" + from + "” (a transfer between a fund and itself)");
    const Account* to = map.find(MapSide::kFund, to_fund);
    if (to == nullptr) return unknown_fund(map, to_fund);
    return std::vector<Posting>{{money_account(to), "", amount}, {money_account(fund), "", -amount}};
  }
  if (kind == kSpecialReturnKind) {
    if (fund->type != AccountType::kLiability)
      return invalid_argument("退回的是专项资金:资金“" + from + "”对应的是" + fund->code + " " + fund->name +
                              ",不是专项应付款等负债科目 (a return pays back special funds, a liability)");
    if (project.empty()) return invalid_argument("退回要写明是哪个专项项目的资金(项目:名称) (a return names its special project)");
    return std::vector<Posting>{{fund, project, amount}, {money_account(fund), "", -amount}};
  }
  return invalid_argument("unknown correction kind " + kind);
}

namespace ledger_internal {

using nlohmann::json;

Status check_correction(const TransactionLine& line, const AccountMap& map, bool money_before,
                        const std::optional<bool>& project_special) {
  if (line.kind == kOpeningBalanceKind && money_before && line.date.substr(4) != "-01-01")
    return failed_precondition("期初余额只能在本村第一笔收支之前录入,或记在年初(1月1日);已有收支的,请记为 " +
                               line.date.substr(0, 4) + "-01-01 之后的年初余额,或用收入/支出更正 (an opening balance comes "
                               "before any other money entry of the village, or is dated January 1st)");
  if (line.kind == kSpecialReturnKind && project_special && !*project_special)
    return invalid_argument("项目“" + line.project + "”不是专项资金项目,没有专项资金可退回 (only a special project's funds are returned)");
  auto postings = correction_postings(map, line.kind, line.amount, line.fund, line.to_fund, line.project);
  if (!postings.is_ok() || line.kind != kTransferKind) return postings.status();
  // Two names of one account (一般资金 and 银行存款, both 102), or two
  // liabilities whose money both sits in 102: Dr 102 / Cr 102, nothing moved
  // on the chart while the statement would show the names' balances apart.
  // Checked here, on posting, not in correction_postings: the journal still
  // books one an older version accepted. A liability to the village's own
  // money (专项资金 → 一般资金) stays: it is the diversion the alerts show.
  const Account* from = map.find(MapSide::kFund, line.fund.empty() ? std::string(kDefaultFund) : line.fund);
  const Account* to = map.find(MapSide::kFund, line.to_fund);
  const Account* held = (*postings)[0].account;
  if (from->code == to->code)
    return invalid_argument("转出的“" + (line.fund.empty() ? std::string(kDefaultFund) : line.fund) + "”和转入的“" +
                            line.to_fund + "”是同一个会计科目" + held->code + " " + held->name +
                            ",这笔转账不会移动任何钱 (both funds are account " + held->code +
                            ": a transfer between them moves nothing)");
  if (from->type == AccountType::kLiability && to->type == AccountType::kLiability)
    return invalid_argument("“" + line.fund + "”(" + from->code + " " + from->name + ")和“" + line.to_fund + "”(" +
                            to->code + " " + to->name + ")的钱都存在" + held->code + " " + held->name +
                            ",在两种应付款之间转账不移动任何钱;改变资金用途须经批准,请按批复记账 (both funds are "
                            "liabilities held in " + held->code + ": a transfer between them moves nothing)");
  return Status::ok();
}

Fen special_money_change(std::string_view kind, bool income, Fen amount) {
  if (kind == "txn") return income ? amount : -amount;
  if (kind == kOpeningBalanceKind) return amount;
  if (kind == kSpecialReturnKind) return -amount;
  return 0;
}

Fen unspent_special(sql::Statement& q, int64_t log_id, const std::string& project) {
  using F = LeafFields;
  LeafFields f;
  Fen unspent = 0;
  q.bind(1, log_id);
  while (q.step()) {
    std::string_view col = q.column_blob_view(0);
    if (!f.parse(col) ||
        f.string(F::kProject) != project)
      continue;
    std::string_view kind = f.string(F::kKind);
    bool income = f.string(F::kDirection) == "income";
    // A reversal repeats the direction and amount of the line it undoes.
    if (kind == "reversal")
      unspent -= f.string(F::kTargetKind) == "txn" ? special_money_change("txn", income, f.fen(F::kAmount)) : 0;
    else
      unspent += special_money_change(kind, income, f.fen(F::kAmount));
  }
  q.reset();
  return unspent;
}

std::string correction_not_reversible(uint64_t target, const std::string& kind, const json& original) {
  // As chat takes an amount: "6800" or "6800.50".
  Fen fen = entry_fen(original, "amount");
  std::string cents = std::to_string(fen % 100);
  std::string amount = std::to_string(fen / 100) + (fen % 100 == 0 ? "" : "." + std::string(cents.size() == 1 ? "0" : "") + cents);
  std::string fund = entry_string(original, "fund");
  std::string head = "第" + std::to_string(target) + "条是" + correction_kind_zh(kind) + ",不能冲销:";
  if (kind == kTransferKind)
    return head + "请记一笔反方向的转账撤回它:转账 " + amount + " 从:" + entry_string(original, "to_fund") + " 到:" +
           (fund.empty() ? std::string(kDefaultFund) : fund) +
           " (a transfer is not reversed with 冲销; post the transfer back)";
  if (kind == kSpecialReturnKind)
    return head + "退回的钱已经付出;如果款项又回到了村里,请记一笔收入:收入 上级拨款 " + amount + " 退回款重新到账 项目:" +
           entry_string(original, "project") + " 资金:" + fund +
           " (a return is not reversed with 冲销; money that came back is income again)";
  return head + "期初余额是账本的起点;录错了请在下一个年初(1月1日)记一笔期初余额,或用收入/支出更正差额 "
                "(an opening balance is not reversed with 冲销; correct it at a year's start or with an income or expense line)";
}

json correction_fields(const std::string& village, const TransactionLine& line) {
  json f = {{"kind", line.kind},
            {"village", village},
            {"date", line.date},
            {"month", line.date.substr(0, 7)},
            {"category", line.category},
            {"item", line.item},
            {"amount", line.amount},
            {"project", line.project},
            {"fund", line.fund.empty() && line.kind == kSpecialReturnKind ? std::string("专项资金") : line.fund},
            {"counterparty", line.counterparty},
            {"note", line.note}};
  if (line.kind == kTransferKind) f["to_fund"] = line.to_fund;
  if (line.repeat) f["repeat"] = true;  // an auditor sees who said a double was meant
  return f;
}

}  // namespace ledger_internal
}  // namespace sunledger
