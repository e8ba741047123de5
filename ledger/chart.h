// The 2023 chart of accounts of a village collective (《农村集体经济组织会计制度》,
// 财会〔2023〕14号), the mapping of the ledger's free-text categories and funds
// onto it, and the double-entry transaction each income or expense line
// becomes. The chart is shipped data (chart.cc); a village adjusts the mapping
// with signed "account_map" entries in its own log, so every change to how
// its published books are presented is in the audit trail.
//
// Thread safety: the chart and the default mapping are immutable after first
// use; a JournalBuilder is a value used on one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ledger/leaf_fields.h"
#include "ledger/ledger.h"
#include "ledger/money.h"

namespace sunledger {

enum class AccountType { kAsset, kLiability, kEquity, kCost, kRevenue, kExpense };

struct Account {
  std::string code;   // "102"
  std::string name;   // 银行存款
  AccountType type;
  bool contra = false;  // 累计折旧 and the like: an asset account with a credit balance
  std::string ascii;    // "Bank": beancount needs ASCII components
};

// The 42 accounts, in code order.
const std::vector<Account>& chart_2023();
// An account by its code ("102") or its name (银行存款); null when none.
const Account* find_account(std::string_view code_or_name);
// 资产, 负债, 所有者权益, 成本, 收入, 费用.
const char* account_type_zh(AccountType t);

// What a mapping entry maps: an income category, an expense category or a fund.
enum class MapSide { kIncome, kExpense, kFund };
const char* map_side_name(MapSide s);  // "income", "expense", "fund"
std::optional<MapSide> parse_map_side(std::string_view s);

// The fund of a line that names none.
inline constexpr const char* kDefaultFund = "一般资金";

// Category and fund names to account codes.
struct AccountMap {
  std::map<std::string, std::string> income, expense, fund;
  std::map<std::string, std::string>& side(MapSide s) {
    return s == MapSide::kIncome ? income : s == MapSide::kExpense ? expense : fund;
  }
  const std::map<std::string, std::string>& side(MapSide s) const {
    return s == MapSide::kIncome ? income : s == MapSide::kExpense ? expense : fund;
  }
  // The account of a name, or null.
  const Account* find(MapSide s, const std::string& name) const;
};

// The mapping every village starts from (chart.cc): the categories the
// township's stations use, each account's own name, and the usual funds.
const AccountMap& default_account_map();

// Which accounts a mapping may name: revenue accounts for income categories;
// expense, cost, asset (capitalised spending such as 在建工程) and liability
// accounts (paying back 专项应付款) for expense categories; cash, bank or a
// liability holding money (专项应付款, 一事一议资金) for funds.
Status check_mappable(MapSide side, const Account& account);

// Maps an income or expense category, or a fund, of the village to an
// account of the chart (code or name), as a signed "account_map" entry of
// the village's log, inside the caller's write.
Result<uint64_t> map_account(WriteTxn& txn, const std::string& village, MapSide side, const std::string& name,
                             const std::string& account, const Author& author);
// The village's mapping: the default with its own account_map entries over it.
Result<AccountMap> village_account_map(Ledger& ledger, const std::string& village);

// One leg of a transaction: a debit (amount > 0) or credit (amount < 0).
struct Posting {
  const Account* account = nullptr;
  std::string project;  // sub-account of a special-fund liability, or empty
  Fen amount = 0;
};

struct JournalTxn {
  uint64_t index = 0;     // the entry
  std::string date;       // YYYY-MM-DD
  std::string month;
  std::string payee;      // the counterparty ("" when none)
  std::string narration;  // category and item
  std::optional<uint64_t> reverses;
  std::vector<Posting> postings;  // sums to zero
};

// Turns a village's entries, fed in log order, into balanced transactions.
// Income:  Dr fund asset / Cr income account.
// Expense: Dr expense account / Cr fund asset.
// A fund mapped to a liability (专项资金 → 241 专项应付款) is money held in
// 102 银行存款 and owed: income is Dr 102 / Cr 241:project; spending is
// Dr expense / Cr 102, and only spending on a registered special project also
// settles what is owed (Dr 241:project / Cr 311 公积公益金 when the spending
// is capitalised, Cr 503 补助收入 when it is an expense). A reversal posts the
// opposite of what it reverses. Subsidy lists, projects and statements
// carry no money of the village's books and post nothing.
class JournalBuilder {
 public:
  void apply(const Entry& e);
  // The same from an entry's stored leaf bytes (Ledger::ReadTxn::leaves).
  void apply_leaf(uint64_t index, std::string_view leaf);
  const std::vector<JournalTxn>& transactions() const { return txns_; }
  std::vector<JournalTxn> take_transactions() { return std::move(txns_); }
  const AccountMap& mapping() const { return map_; }
  // The entries of which months to keep (others still update the mapping and
  // projects); an empty set keeps every month.
  void keep_months(std::vector<std::string> months) { keep_ = std::move(months); }

 private:
  AccountMap map_ = default_account_map();
  std::map<std::string, bool> special_projects_;
  struct Booked {
    std::vector<Posting> postings;
    std::string date;
  };
  std::unordered_map<uint64_t, Booked> posted_;  // by entry, for reversals
  LeafFields fields_;  // the reader of the entry being applied
  std::vector<JournalTxn> txns_;
  std::vector<std::string> keep_;
};

// The postings of one line under a mapping (what JournalBuilder books);
// an error names a category or fund the mapping does not know.
Result<std::vector<Posting>> postings_for(const AccountMap& map, bool income, const std::string& category,
                                          const std::string& fund, const std::string& project, bool special_project,
                                          Fen amount);

// The postings of a correction (issue #16): an opening balance is Dr the
// fund's account / Cr 322 收益分配 (a fund mapped to a liability: Dr 102 /
// Cr the liability under the project); a transfer Dr the money account of
// to_fund / Cr that of fund (a liability's money is in 102); a return of
// special funds Dr the fund's liability under the project / Cr 102.
Result<std::vector<Posting>> correction_postings(const AccountMap& map, const std::string& kind, Fen amount,
                                                 const std::string& fund, const std::string& to_fund,
                                                 const std::string& project);

// The year statement by account (年度收支决算): each account's debits and
// credits within the year and its balance at the year's end.
struct AccountTotal {
  const Account* account = nullptr;
  Fen debit = 0, credit = 0;  // within the year
  Fen balance = 0;            // at its end, debit positive
};
struct YearStatement {
  std::string year;
  std::vector<AccountTotal> accounts;  // every account that moved, in code order
  Fen income = 0, expense = 0;         // revenue credits net, expense debits net
  uint64_t transactions = 0;
};
YearStatement year_statement(const std::vector<JournalTxn>& txns, const std::string& year);

// A village's published books as transactions, months from..to (YYYY-MM,
// either may be empty) that are also published.
struct PublishedJournal {
  Village village;
  std::vector<std::string> months;  // published months exported, in order
  std::vector<JournalTxn> txns;     // sorted by date, then entry
};
Result<PublishedJournal> published_journal(Ledger& ledger, const std::string& village, const std::string& from = "",
                                           const std::string& to = "");

// The year statement by account (年度收支决算) as chat and the CLI show it,
// from the published months up to the year's end; kFailedPrecondition when
// none of the year's months is published.
Result<std::string> year_statement_text(Ledger& ledger, const std::string& village, const std::string& year);


}  // namespace sunledger
