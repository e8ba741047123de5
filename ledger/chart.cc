// The chart of accounts as shipped data, the default mapping of categories
// and funds, and the double-entry rule of one line.
#include "ledger/chart.h"

#include <map>

namespace sunledger {

namespace {

using T = AccountType;

// 《农村集体经济组织会计制度》(财会〔2023〕14号), 42 accounts. The list comes from
// one public transcription consistent with the official count: kept as a
// table so that a deployment corrects a row, not code.
const std::vector<Account>& make_chart() {
  static const std::vector<Account> chart = {
      {"101", "库存现金", T::kAsset, false, "Cash"},
      {"102", "银行存款", T::kAsset, false, "Bank"},
      {"111", "短期投资", T::kAsset, false, "ShortTermInvestments"},
      {"112", "应收款", T::kAsset, false, "Receivables"},
      {"113", "内部往来", T::kAsset, false, "InternalAccounts"},
      {"121", "库存物资", T::kAsset, false, "Inventory"},
      {"131", "消耗性生物资产", T::kAsset, false, "ConsumableBiologicalAssets"},
      {"132", "生产性生物资产", T::kAsset, false, "ProductiveBiologicalAssets"},
      {"133", "生产性生物资产累计折旧", T::kAsset, true, "BiologicalAssetsDepreciation"},
      {"134", "公益性生物资产", T::kAsset, false, "PublicBiologicalAssets"},
      {"141", "长期投资", T::kAsset, false, "LongTermInvestments"},
      {"151", "固定资产", T::kAsset, false, "FixedAssets"},
      {"152", "累计折旧", T::kAsset, true, "AccumulatedDepreciation"},
      {"153", "在建工程", T::kAsset, false, "ConstructionInProgress"},
      {"154", "固定资产清理", T::kAsset, false, "FixedAssetDisposal"},
      {"161", "无形资产", T::kAsset, false, "IntangibleAssets"},
      {"162", "累计摊销", T::kAsset, true, "AccumulatedAmortisation"},
      {"171", "长期待摊费用", T::kAsset, false, "LongTermPrepaidExpenses"},
      {"181", "待处理财产损溢", T::kAsset, false, "PendingAssetLosses"},
      {"201", "短期借款", T::kLiability, false, "ShortTermLoans"},
      {"211", "应付款", T::kLiability, false, "Payables"},
      {"212", "应付工资", T::kLiability, false, "WagesPayable"},
      {"213", "应付劳务费", T::kLiability, false, "LabourPayable"},
      {"214", "应交税费", T::kLiability, false, "TaxesPayable"},
      {"221", "长期借款及应付款", T::kLiability, false, "LongTermLoans"},
      {"231", "一事一议资金", T::kLiability, false, "OneMatterOneDiscussion"},
      {"241", "专项应付款", T::kLiability, false, "SpecialPayable"},
      {"301", "资本", T::kEquity, false, "Capital"},
      {"311", "公积公益金", T::kEquity, false, "PublicWelfareReserve"},
      {"321", "本年收益", T::kEquity, false, "CurrentYearProfit"},
      {"322", "收益分配", T::kEquity, false, "ProfitDistribution"},
      {"401", "生产(劳务)成本", T::kCost, false, "ProductionCost"},
      {"501", "经营收入", T::kRevenue, false, "OperatingIncome"},
      {"502", "投资收益", T::kRevenue, false, "InvestmentIncome"},
      {"503", "补助收入", T::kRevenue, false, "SubsidyIncome"},
      {"504", "其他收入", T::kRevenue, false, "OtherIncome"},
      {"511", "经营支出", T::kExpense, false, "OperatingExpenses"},
      {"512", "税金及附加", T::kExpense, false, "TaxesAndSurcharges"},
      {"513", "管理费用", T::kExpense, false, "AdministrativeExpenses"},
      {"514", "公益支出", T::kExpense, false, "PublicWelfareExpenses"},
      {"515", "其他支出", T::kExpense, false, "OtherExpenses"},
      {"521", "所得税费用", T::kExpense, false, "IncomeTaxExpense"},
  };
  return chart;
}

AccountMap make_default_map() {
  AccountMap m;
  // Each account's own name is a category of its side.
  for (const auto& a : chart_2023()) {
    if (a.type == T::kRevenue) m.income[a.name] = a.code;
    if (a.type == T::kExpense || a.type == T::kCost) m.expense[a.name] = a.code;
  }
  // The words township stations and village books use (the demo, the README).
  for (const char* c : {"上级拨款", "财政补助", "转移支付", "补助"}) m.income[c] = "503";
  for (const char* c : {"集体经营", "租金", "租金收入", "承包费", "发包收入", "经营"}) m.income[c] = "501";
  for (const char* c : {"分红", "投资"}) m.income[c] = "502";
  for (const char* c : {"其他", "利息", "捐赠", "罚款"}) m.income[c] = "504";
  for (const char* c : {"办公费", "招待费", "人员报酬", "误工补贴", "水电费", "差旅费", "会议费"}) m.expense[c] = "513";
  for (const char* c : {"工程款", "工程"}) m.expense[c] = "153";
  for (const char* c : {"公益", "低保", "村容整治", "保洁", "保洁费", "维修费", "慰问金"}) m.expense[c] = "514";
  for (const char* c : {"经营", "生产"}) m.expense[c] = "511";
  for (const char* c : {"税费", "税金"}) m.expense[c] = "512";
  m.expense["其他"] = "515";
  // English aliases, as the chat commands have them.
  for (const char* c : {"grants", "subsidy", "subsidies"}) m.income[c] = "503";
  for (const char* c : {"rent", "business"}) m.income[c] = "501";
  for (const char* c : {"other", "interest", "donation"}) m.income[c] = "504";
  for (const char* c : {"office", "wages", "hospitality", "utilities", "travel"}) m.expense[c] = "513";
  for (const char* c : {"works", "construction"}) m.expense[c] = "153";
  for (const char* c : {"welfare", "repairs", "cleaning"}) m.expense[c] = "514";
  m.expense["other"] = "515";
  m.expense["refund"] = "241";
  m.expense["购置"] = "151";
  // Paying back unspent special money settles what is owed.
  m.expense["退回"] = "241";
  m.fund = {{"一般资金", "102"}, {"银行存款", "102"}, {"银行", "102"}, {"现金", "101"}, {"general", "102"},
            {"bank", "102"}, {"cash", "101"}, {"special", "241"},
            {"库存现金", "101"}, {"专项资金", "241"}, {"专项", "241"}, {"一事一议", "231"},
            {"一事一议资金", "231"}};
  return m;
}

}  // namespace

const std::vector<Account>& chart_2023() { return make_chart(); }

const Account* find_account(std::string_view code_or_name) {
  // Called for every posting of an export: an index, not a scan of 42 rows.
  static const std::map<std::string, const Account*, std::less<>> index = [] {
    std::map<std::string, const Account*, std::less<>> m;
    for (const auto& a : chart_2023()) {
      m.emplace(a.code, &a);
      m.emplace(a.name, &a);
    }
    return m;
  }();
  auto it = index.find(code_or_name);
  return it == index.end() ? nullptr : it->second;
}

const char* account_type_zh(AccountType t) {
  switch (t) {
    case T::kAsset: return "资产";
    case T::kLiability: return "负债";
    case T::kEquity: return "所有者权益";
    case T::kCost: return "成本";
    case T::kRevenue: return "收入";
    case T::kExpense: return "费用";
  }
  return "";
}

const char* map_side_name(MapSide s) {
  return s == MapSide::kIncome ? "income" : s == MapSide::kExpense ? "expense" : "fund";
}

std::optional<MapSide> parse_map_side(std::string_view s) {
  if (s == "income" || s == "收入") return MapSide::kIncome;
  if (s == "expense" || s == "支出") return MapSide::kExpense;
  if (s == "fund" || s == "资金") return MapSide::kFund;
  return std::nullopt;
}

const AccountMap& default_account_map() {
  static const AccountMap m = make_default_map();
  return m;
}

const Account* AccountMap::find(MapSide s, const std::string& name) const {
  const auto& m = side(s);
  auto it = m.find(name);
  return it == m.end() ? nullptr : find_account(it->second);
}

Status check_mappable(MapSide side, const Account& a) {
  bool ok = false;
  switch (side) {
    case MapSide::kIncome: ok = a.type == T::kRevenue; break;
    case MapSide::kExpense: ok = a.type != T::kRevenue && a.type != T::kEquity && a.code != "101" && a.code != "102"; break;
    case MapSide::kFund: ok = a.code == "101" || a.code == "102" || a.type == T::kLiability; break;
  }
  if (ok) return Status::ok();
  const char* why = side == MapSide::kIncome    ? "收入类别只能对应收入类科目 (an income category maps to a revenue account)"
                    : side == MapSide::kExpense ? "支出类别不能对应收入、权益或货币资金科目 (an expense category cannot map to revenue, equity, cash or bank)"
                                                : "资金只能对应库存现金、银行存款或负债科目 (a fund maps to cash, bank or a liability)";
  return invalid_argument(a.code + " " + a.name + ": " + why);
}

namespace {

std::string known_names(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& kv : m) out += (out.empty() ? "" : "、") + kv.first;
  return out;
}

}  // namespace

Result<std::vector<Posting>> postings_for(const AccountMap& map, bool income, const std::string& category,
                                          const std::string& fund_name, const std::string& project, bool special_project,
                                          Fen amount) {
  MapSide side = income ? MapSide::kIncome : MapSide::kExpense;
  const Account* cat = map.find(side, category);
  if (cat == nullptr)
    return invalid_argument(std::string(income ? "收入" : "支出") + "类别“" + category + "”没有对应的会计科目,已知的类别:" +
                            known_names(map.side(side)) + "(category has no account in the 2023 chart; a township administrator adds one with `sunledger accounts map`)");
  std::string fname = fund_name.empty() ? kDefaultFund : fund_name;
  const Account* fund = map.find(MapSide::kFund, fname);
  if (fund == nullptr)
    return invalid_argument("资金“" + fname + "”没有对应的会计科目,已知的资金:" + known_names(map.fund) +
                            "(fund has no account; a township administrator adds one with `sunledger accounts map`)");
  std::vector<Posting> out;
  if (fund->type != T::kLiability) {
    out.push_back({income ? fund : cat, "", amount});
    out.push_back({income ? cat : fund, "", -amount});
    return out;
  }
  // Money held for a purpose sits in the bank and is owed until spent on it.
  const Account* bank = find_account("102");
  if (income) {
    out.push_back({bank, "", amount});
    out.push_back({fund, project, -amount});
    return out;
  }
  out.push_back({cat, cat->type == T::kLiability ? project : "", amount});
  out.push_back({bank, "", -amount});
  if (special_project && cat->type != T::kLiability) {
    out.push_back({fund, project, amount});
    out.push_back({find_account(cat->type == T::kExpense ? "503" : "311"), "", -amount});
  }
  return out;
}

}  // namespace sunledger
