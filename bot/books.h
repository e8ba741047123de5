// What the bot knows about a village's books, computed from its ledger
// entries: project totals, fund balances and the flags it raises by itself.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger {

struct ProjectStats {
  std::string name;
  Fen approved = 0;
  bool special = false;
  Fen received = 0;  // income booked to the project
  Fen spent = 0;     // expenses booked to the project (net of reversals)
  bool finished = false;  // 结项
  Fen returned = 0;  // unspent special funds paid back (退回), net of reversals
  // The entry after which its figures last changed, and its recorded_at (see Flag::raised_by).
  uint64_t changed_by = 0;
  std::string changed_at;
  uint64_t finished_by = 0;  // the 结项 entry (or the statement that published it)
  std::string finished_at;
};

enum class FlagKind {
  kSpecialFundsDiverted,  // special-purpose money paid to another project
  kOverBudget,            // a project spent more than approved
  kCashExpense,           // a cash expense above the limit
  kMonthNotPublished,     // a month with entries not published by the deadline
  kReversalOfPublished,   // a reversal of an entry in an already-published month
  kUnspentSpecialFunds,   // a finished special project whose unspent money is not accounted for
  kBankWithdrawalUnbooked,  // a bank withdrawal still not in the books 30 days on (reconcile/)
};

struct Flag {
  FlagKind kind;
  std::string village;
  std::string month;  // where it applies (the entry's month, or the unpublished month)
  std::optional<uint64_t> entry;
  std::string text;   // Chinese first, English in parentheses
  // The entry after which the flag took its present form in the books (in
  // the published books: the statement that published its line), and that
  // entry's recorded_at: an alert about a published month raised after its
  // statement is told apart, and dated, by these (issue #16).
  uint64_t raised_by = 0;
  std::string raised_at;
  // The local date of raised_at, filled by Bot::month_alerts for the alerts
  // raised after a month's publication ("" otherwise).
  std::string raised_on;
};

// A flag kind's name in a statement's recorded alerts ("cash_expense", ...).
const char* flag_kind_name(FlagKind kind);
std::optional<FlagKind> parse_flag_kind(const std::string& name);

// The alerts of a published month (Bot::month_alerts).
struct MonthAlerts {
  // The statement recorded its alerts when it was signed (statements signed
  // since issue #16); older statements show what they showed before.
  bool recorded = false;
  std::vector<Flag> at_publication;  // exactly as its statement recorded them
  std::vector<Flag> later;           // 公开后新增预警: raised after the statement, each with raised_on
};

// The alerts a statement records, as the JSON array its leaf carries
// ([{kind, month, entry?, text}]), at most `budget` bytes of it; what does
// not fit is counted in a last item of kind "omitted".
nlohmann::json recorded_alerts_json(const std::vector<Flag>& flags, size_t budget);
// The alerts a statement recorded; nullopt when it records none (an older statement).
std::optional<std::vector<Flag>> recorded_alerts(const nlohmann::json& statement, const std::string& village);

struct BooksOptions {
  Fen cash_limit = 5'000 * 100;
  int publish_by_day = 15;
  std::string today;  // local date, YYYY-MM-DD
  // The books as the public sees them (PublishedBooksBuilder): a private
  // person's name in an alert is masked (VillageBooks::public_texts).
  bool public_view = false;
};

struct VillageBooks {
  std::string village;
  std::string village_name;
  std::vector<ProjectStats> projects;        // in registration order
  std::map<std::string, Fen> fund_balances;  // every non-reversed line, published or not
  std::set<std::string> closed_months;
  std::map<std::string, int> open_month_lines;  // month -> lines not yet published
  std::vector<Flag> flags;
  // The text the public sees for each flag text that differs from it: a bank
  // withdrawal's counterparty who is a private person, masked (张*). The
  // published books (web pages, notices, what a statement signs) carry the
  // masked text already; these books keep the full name for inspectors and
  // the village's officials, and a group chat shows the masked one.
  std::map<std::string, std::string> public_texts;
  // The books as the public may see them (web pages, a month's notice): the
  // entries of published months only, and today's "not published by its
  // deadline" flags (which name a month, no figure). A line posted into a
  // month not yet published changes nothing here (no balance, no project
  // bar, no alert) until its month is published. Null in itself.
  std::shared_ptr<const VillageBooks> published;
  uint64_t size = 0;
};

// Builds a village's books entry by entry, so the bot only reads what was
// appended since it last looked (a busy village's log grows by thousands of
// entries a day; re-reading it on every question would not scale).
// Not thread-safe: the bot keeps one per village behind that village's
// mutex, and hands out the immutable VillageBooks snapshots, which any
// number of threads may read.
class BooksBuilder {
 public:
  explicit BooksBuilder(Village village) : village_(std::move(village)) {}
  void apply(const Entry& e);
  // Applies e as if it took effect at `as_of` (the published books take a
  // month's lines in at its statement): the flags it raises are dated there.
  void apply(const Entry& e, const Entry& as_of);
  uint64_t size() const { return size_; }
  // The books as of the entries applied so far; flags use options.today.
  VillageBooks snapshot(const BooksOptions& options) const;

 private:
  struct Line {
    bool income = false;
    Fen amount = 0;
    std::string project, fund, month, item;
    bool cash = false;
    uint64_t raised_by = 0;
    std::string raised_at;
    std::string to_fund;  // a transfer out of the special funds: where the money went
  };
  void count(const Line& l, int sign);

  Village village_;
  uint64_t size_ = 0;
  std::vector<ProjectStats> projects_;
  std::map<std::string, size_t> project_index_;
  std::map<std::string, Fen> fund_balances_;
  std::set<std::string> closed_months_;
  std::map<std::string, int> month_lines_;
  std::set<uint64_t> reversed_;
  // Only the lines that raise a flag are kept (by index), so memory follows
  // the flags, not the length of the log, and a snapshot does not walk it.
  std::map<uint64_t, Line> cash_lines_;
  std::map<uint64_t, Line> diversion_lines_;
  std::vector<Flag> reversal_flags_;
  // The bank withdrawals left unmatched by the reconciliations so far
  // (reconcile/reconcile.h records them). One is cleared only by evidence
  // about it: a later reconciliation that matched the same withdrawal (date,
  // amount, counterparty as recorded) to an entry posted after the latest
  // reconciliation that found it unmatched (bot/books.cc, apply_reconciliation).
  struct BankWithdrawal {
    std::string date, counterparty, reference;
    Fen amount = 0;
    uint64_t reconciliation = 0;  // the entry that recorded it
    uint64_t raised_by = 0;       // as Flag::raised_by
    std::string raised_at;
    // The log's size the latest reconciliation that found it unmatched read
    // the books at: only an entry from here on can be its booking.
    uint64_t books_size = 0;
  };
  void apply_reconciliation(const Entry& e);
  std::vector<BankWithdrawal> bank_withdrawals_;
  // Withdrawals cleared, by the entry that booked them: reversing that entry
  // brings the alert back.
  std::multimap<uint64_t, BankWithdrawal> cleared_withdrawals_;
  // Each entry a reconciliation matched to a withdrawal, and that
  // withdrawal's key: an entry booked for one withdrawal never clears another.
  std::map<uint64_t, std::string> matched_entries_;
  // When diversion_lines_ last became non-empty.
  uint64_t diverted_since_ = 0;
  std::string diverted_at_;
  // The entry being applied, and the one it takes effect at.
  uint64_t as_of_ = 0;
  std::string as_of_at_;
};

// A village's books as published: fed every entry in log order, it takes in
// those of no month (registrations) at once and those of a month when that
// month's statement comes, so nothing of a month still open shows (its
// officials may still correct it; 余额 and 预警 in chat show them). Months
// close in order, so the lines waiting are those of open months.
// Not thread-safe, like BooksBuilder.
class PublishedBooksBuilder {
 public:
  explicit PublishedBooksBuilder(Village village) : builder_(std::move(village)) {}
  void apply(const Entry& e);
  // The published books; with `through` a month, as its statement would
  // leave them (the lines of months up to it taken in): its notice's flags.
  VillageBooks snapshot(const BooksOptions& options, const std::string& through = "") const;

 private:
  BooksBuilder builder_;
  std::vector<Entry> waiting_;  // lines of months not published yet, in log order
};

// Applies every entry; the same as a BooksBuilder fed them one by one.
VillageBooks analyse_books(const Village& village, const std::vector<Entry>& entries, const BooksOptions& options);

// The flags a month's notice carries: those of that month or of no month,
// except the month's own "not published" (publishing it answers that one).
std::vector<Flag> notice_flags(const std::vector<Flag>& flags, const std::string& month);

// A cash expense: its fund, counterparty or note says 现金 (cash).
bool is_cash_expense(const nlohmann::json& entry);

}  // namespace sunledger
