// Matching bank lines to book lines one to one: candidates by direction,
// amount and a 3-day window; the best pairs first (counterparty, then date);
// then augmenting paths, so that a greedy choice never leaves a line
// unmatched that another choice would have matched.
#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>

#include "ledger/clock.h"
#include "reconcile/reconcile.h"

namespace sunledger {
namespace {

int64_t day_number(const std::string& date) {
  auto d = parse_date(date);
  return d.is_ok() ? days_from_civil(d->year, static_cast<unsigned>(d->month), static_cast<unsigned>(d->day)) : 0;
}

std::string normalised(std::string_view name) {
  if (name.empty()) return "";
  utf8proc_uint8_t* mapped = nullptr;
  auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(name.data()), static_cast<utf8proc_ssize_t>(name.size()),
                        &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                                                UTF8PROC_CASEFOLD | UTF8PROC_IGNORE));
  if (n < 0) return std::string(name);
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
  std::string out;
  for (utf8proc_ssize_t i = 0; i < n;) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t len = utf8proc_iterate(mapped + i, n - i, &cp);
    if (len <= 0) break;
    auto cat = utf8proc_category(cp);
    bool drop = cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
                (cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO);
    if (!drop) out.append(reinterpret_cast<const char*>(mapped + i), static_cast<size_t>(len));
    i += len;
  }
  for (std::string_view legal : {"有限责任", "有限"})
    for (size_t at = out.find(legal); at != std::string::npos; at = out.find(legal, at)) out.erase(at, legal.size());
  return out;
}

int similarity_of_normalised(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return 0;
  if (a == b) return 2;
  return a.find(b) != std::string::npos || b.find(a) != std::string::npos ? 1 : 0;
}

struct Candidate {
  size_t book = 0;
  int similarity = 0;
  int days = 0;
};

// Better first: the more similar counterparty, then the closer date, then the earlier entry.
bool better(const Candidate& a, const Candidate& b) {
  if (a.similarity != b.similarity) return a.similarity > b.similarity;
  if (a.days != b.days) return a.days < b.days;
  return a.book < b.book;
}

constexpr size_t kNone = SIZE_MAX;
// Augmenting paths are searched with a budget: a statement of thousands of
// equal amounts on the same days would otherwise cost quadratic time for
// lines that cannot be matched anyway. Spent, the greedy pairs stand.
constexpr size_t kAugmentBudget = 20'000'000;

struct Augmenter {
  const std::vector<std::vector<Candidate>>& cand;
  std::vector<size_t>& bank_of_book;
  std::vector<size_t>& book_of_bank;
  std::vector<uint32_t> seen;
  uint32_t stamp = 0;
  size_t budget = kAugmentBudget;

  bool try_bank(size_t b) {
    for (const auto& c : cand[b]) {
      if (budget == 0) return false;
      --budget;
      if (seen[c.book] == stamp) continue;
      seen[c.book] = stamp;
      if (bank_of_book[c.book] == kNone || try_bank(bank_of_book[c.book])) {
        bank_of_book[c.book] = b;
        book_of_bank[b] = c.book;
        return true;
      }
    }
    return false;
  }
};

}  // namespace

int counterparty_similarity(std::string_view a, std::string_view b) {
  return similarity_of_normalised(normalised(a), normalised(b));
}

// Long (about 70 lines): candidates, the greedy pass, augmenting paths and
// the ambiguity check share the candidate lists built at the top.
Reconciliation match_bank_lines(const std::vector<BankLine>& bank, const std::vector<BookLine>& books,
                                const std::string& from, const std::string& to) {
  Reconciliation r;
  // Book lines by direction and amount, each group in date order.
  std::map<std::pair<bool, Fen>, std::vector<std::pair<int64_t, size_t>>> groups;
  std::vector<std::string> book_names(books.size());
  for (size_t k = 0; k < books.size(); ++k) {
    groups[{books[k].in, books[k].amount}].emplace_back(day_number(books[k].date), k);
    book_names[k] = normalised(books[k].counterparty);
  }
  for (auto& [key, g] : groups) std::sort(g.begin(), g.end());
  std::vector<std::vector<Candidate>> cand(bank.size());
  struct Edge {
    size_t bank;
    Candidate c;
  };
  std::vector<Edge> edges;
  for (size_t b = 0; b < bank.size(); ++b) {
    auto g = groups.find({bank[b].in, bank[b].amount});
    if (g == groups.end()) continue;
    int64_t day = day_number(bank[b].date);
    std::string name = normalised(bank[b].counterparty);
    auto lo = std::lower_bound(g->second.begin(), g->second.end(), std::make_pair(day - kMatchWindowDays, size_t{0}));
    for (auto it = lo; it != g->second.end() && it->first <= day + kMatchWindowDays; ++it)
      cand[b].push_back({it->second, similarity_of_normalised(name, book_names[it->second]),
                         static_cast<int>(std::llabs(it->first - day))});
    std::sort(cand[b].begin(), cand[b].end(), better);
    for (const auto& c : cand[b]) edges.push_back({b, c});
  }
  // Greedy: the best pairs anywhere first.
  std::stable_sort(edges.begin(), edges.end(), [](const Edge& x, const Edge& y) {
    if (x.c.similarity != y.c.similarity) return x.c.similarity > y.c.similarity;
    if (x.c.days != y.c.days) return x.c.days < y.c.days;
    return x.bank != y.bank ? x.bank < y.bank : x.c.book < y.c.book;
  });
  std::vector<size_t> bank_of_book(books.size(), kNone), book_of_bank(bank.size(), kNone);
  for (const auto& e : edges)
    if (book_of_bank[e.bank] == kNone && bank_of_book[e.c.book] == kNone) {
      book_of_bank[e.bank] = e.c.book;
      bank_of_book[e.c.book] = e.bank;
    }
  // Augmenting paths for the bank lines still unmatched.
  Augmenter aug{cand, bank_of_book, book_of_bank, std::vector<uint32_t>(books.size(), 0)};
  for (size_t b = 0; b < bank.size(); ++b)
    if (book_of_bank[b] == kNone && !cand[b].empty()) {
      ++aug.stamp;
      aug.try_bank(b);
    }
  // A pair is ambiguous when its bank line had another candidate just as
  // good, or its book line was just as good a candidate of another bank line.
  std::vector<std::pair<int, int>> best_for_book(books.size(), {-1, 0});
  std::vector<int> candidates_at_best(books.size(), 0);
  for (size_t b = 0; b < bank.size(); ++b)
    for (const auto& c : cand[b]) {
      auto score = std::make_pair(c.similarity, -c.days);
      if (score > best_for_book[c.book]) {
        best_for_book[c.book] = score;
        candidates_at_best[c.book] = 1;
      } else if (score == best_for_book[c.book]) {
        ++candidates_at_best[c.book];
      }
    }
  for (size_t b = 0; b < bank.size(); ++b) {
    size_t k = book_of_bank[b];
    if (k == kNone) {
      r.unmatched_bank.push_back(b);
      continue;
    }
    BankMatch m{b, k, 0, 0, false};
    int equal = 0;
    for (const auto& c : cand[b]) {
      if (c.book == k) m.similarity = c.similarity, m.days = c.days;
    }
    for (const auto& c : cand[b])
      if (c.similarity == m.similarity && c.days == m.days) ++equal;
    m.ambiguous = equal > 1 || (best_for_book[k] == std::make_pair(m.similarity, -m.days) && candidates_at_best[k] > 1);
    if (m.ambiguous) ++r.ambiguous;
    r.matched.push_back(m);
  }
  for (size_t k = 0; k < books.size(); ++k) {
    if (books[k].date < from || books[k].date > to) {
      if (bank_of_book[k] != kNone) ++r.matched_outside_period;
      continue;
    }
    ++r.book_lines_in_period;
    if (bank_of_book[k] == kNone) r.unmatched_book.push_back(k);
  }
  return r;
}

}  // namespace sunledger
