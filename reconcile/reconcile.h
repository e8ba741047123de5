// Bank reconciliation (银行对账, issue #16 item 7): a village's bank statement
// (a CSV as banks export it) matched one to one against the lines of its books
// that move 102 银行存款, the unmatched listed on both sides, and the result
// recorded as a signed "reconciliation" entry of the village's own log (its
// counts, the period, the file's SHA-256 and every bank withdrawal left
// unmatched, from which the bot raises 银行流水有支出未入账 30 days on).
//
// Depends on the ledger only (entries, the chart's double entry, the public
// write seam); owns no table: what it records is an entry of the village log,
// which verify checks like every leaf.
// Thread safety: pure functions, and functions over a Ledger (thread safe).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger {

// One line of a bank statement.
struct BankLine {
  int source_line = 0;  // its line in the file, for messages
  std::string date;     // YYYY-MM-DD
  bool in = false;      // money into the account (收入), else out of it (支出)
  Fen amount = 0;
  std::string counterparty;  // 对方户名
  std::string reference;     // 摘要
};

struct BankStatement {
  std::vector<BankLine> lines;
  std::string sha256;    // hex, of the file's bytes as given
  std::string encoding;  // "UTF-8" or "GB18030" (GBK files read as GB18030, its superset)
  std::string from, to;  // the first and last date of its lines
};

// The header rows a statement may have (either column order, exactly):
//   date,amount,direction,counterparty,reference
//   交易日期,收入金额,支出金额,对方户名,摘要
//   交易日期,交易金额,收支标志,对方户名,摘要
// A direction (收支标志) is in/收/收入/贷 or out/支/支出/借 (a bank
// statement is the bank's ledger of the account: 贷 credits it, 借 debits it).
// Dates are 2022-11-21, 2022/11/21 or 20221121, a time after them ignored;
// amounts are read by parse_amount (integer fen). The text is UTF-8, with or
// without a BOM, or GBK/GB18030 (decoded with glibc's iconv). Every bad line
// is named (第N行) in one kInvalidArgument; a file with any is not used.
// today (YYYY-MM-DD, local): a line dated later is refused.
Result<BankStatement> parse_bank_statement(std::string_view bytes, const std::string& today);

// A line of the books that moves 102 银行存款: an income or expense line whose
// fund the village maps to the bank (一般资金, 专项资金 …), neither reversed
// nor a reversal (the two cancel, and neither reached the bank as booked).
struct BookLine {
  uint64_t index = 0;  // the entry
  std::string date;
  bool in = false;  // 102 debited (money in)
  Fen amount = 0;
  std::string counterparty;
  std::string narration;  // category and item
};

// Counterparty similarity: 2 when the normalised names are equal, 1 when one
// contains the other, 0 otherwise or when either is empty. Normalised: NFKC
// and case-folded (full-width letters and digits as ASCII), spaces and
// punctuation removed, and 有限责任 / 有限 dropped (某道路工程有限公司 and
// 某道路工程公司 are the same payee to an accountant).
int counterparty_similarity(std::string_view a, std::string_view b);

// One pair: the bank line and the book line (indexes into the inputs).
struct BankMatch {
  size_t bank = 0, book = 0;
  int similarity = 0;
  int days = 0;            // |date difference|
  bool ambiguous = false;  // another candidate was just as good: check by hand
};

struct Reconciliation {
  std::vector<BankMatch> matched;        // in bank line order
  std::vector<size_t> unmatched_bank;    // bank lines not in the books
  std::vector<size_t> unmatched_book;    // book lines dated within [from, to] not in the bank
  size_t book_lines_in_period = 0;       // book lines dated within [from, to]
  size_t matched_outside_period = 0;     // pairs whose book line is dated outside [from, to]
  size_t ambiguous = 0;
};

// Matches one to one: same direction and amount, dates at most 3 days apart.
// Among candidates the more similar counterparty wins, then the closer date,
// then the earlier bank line and entry; then, so that no line is left
// unmatched that a different choice would have matched, unmatched bank lines
// take augmenting paths (the matching has the largest number of pairs).
// Book lines outside [from, to] may match (a cheque booked the day before the
// period) but are not listed as unmatched.
Reconciliation match_bank_lines(const std::vector<BankLine>& bank, const std::vector<BookLine>& books,
                                const std::string& from, const std::string& to);

inline constexpr int kMatchWindowDays = 3;
// A withdrawal still unmatched this many days after its date raises
// 银行流水有支出未入账 (bot/books.cc reads the recorded entry).
inline constexpr int kUnbookedWithdrawalDays = 30;

struct ReconcileReport {
  Village village;
  BankStatement bank;
  std::vector<BookLine> books;
  Reconciliation result;
  uint64_t books_size = 0;  // the village log's size the books were read at
};

// The village's bank lines of the books (every entry of its log, in order).
Result<std::vector<BookLine>> bank_book_lines(Ledger& ledger, const std::string& village, uint64_t* log_size = nullptr);

// Reads the file's bytes as a statement and matches it against the village's
// books; writes nothing. A malformed file is kInvalidArgument naming its lines.
Result<ReconcileReport> reconcile_books(Ledger& ledger, const std::string& village, std::string_view bank_file);

// Appends the signed "reconciliation" entry inside the caller's write:
// kind, village, from, to, bank_sha256, the counts (bank_lines, book_lines,
// matched, ambiguous, unmatched_bank, unmatched_book), books_size, and
// unmatched_out: each bank withdrawal left unmatched (line, date, amount,
// counterparty, reference), and matched_out: each withdrawal it matched
// (date, amount, counterparty, and the entry it matched), identity numbers
// masked in both. Refused (kInvalidArgument) when the entry would not fit a
// leaf (about 300 withdrawals in all): split the statement by month.
Result<uint64_t> record_reconciliation(WriteTxn& txn, const ReconcileReport& report, const Author& author);

// What the CLI prints: the period, the counts, the unmatched on both sides and
// the ambiguous pairs, Chinese first with English.
std::string reconciliation_text(const ReconcileReport& report);

}  // namespace sunledger
