// What the public web reads from the bot: the books, a published month's
// alerts, complaint counts. Counts only: no complaint text, no reporter.
#include <algorithm>

#include "bot/bot_impl.h"

namespace sunledger {
namespace {

// The local date of a recorded_at ("2022-12-05T02:00:00Z"); "" when it is not one.
std::string signed_day(const std::string& recorded_at, int utc_offset_minutes) {
  if (recorded_at.size() != 20 || recorded_at[10] != 'T' || recorded_at[19] != 'Z') return "";
  auto d = parse_date(recorded_at.substr(0, 10));
  if (!d.is_ok()) return "";
  int64_t seconds = 0;
  for (size_t i : {11, 12, 14, 15, 17, 18}) {
    char c = recorded_at[i];
    if (c < '0' || c > '9') return "";
  }
  auto two = [&recorded_at](size_t at) { return (recorded_at[at] - '0') * 10 + (recorded_at[at + 1] - '0'); };
  seconds = two(11) * 3600 + two(14) * 60 + two(17);
  return format_date(local_date(local_midnight(*d, 0) + seconds, utc_offset_minutes));
}

}  // namespace

Result<std::shared_ptr<const VillageBooks>> Bot::books(const std::string& village) {
  auto v = impl_->directory_store.registered_village(village);
  if (!v.is_ok()) return v.status();
  return impl_->village_books(*v);
}

// Recomputed from the log rather than kept: the entries before the statement
// and the day it was signed decide them, so the answer is the same on any
// server, at any later time, as the notice the groups received.
Result<std::vector<Flag>> Bot::published_flags(const std::string& village, const std::string& month) {
  Ledger& ledger = *impl_->ledger;
  auto close = ledger.month_close(village, month);
  if (!close.is_ok()) return close.status();
  std::string day = signed_day(entry_string(close->statement, "recorded_at"), ledger.utc_offset_minutes());
  if (day.empty()) day = impl_->today();
  const std::pair<std::string, std::string> key{village, month};
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->published_flags_kept.find(key);
    if (it != impl_->published_flags_kept.end() && it->second.statement_index == close->statement_index &&
        it->second.day == day)
      return it->second.flags;
  }
  auto v = impl_->directory_store.registered_village(village);
  if (!v.is_ok()) return v.status();
  // The published books as the statement left them: lines of later months
  // posted before it (not published yet) raise nothing in its notice.
  PublishedBooksBuilder builder(*v);
  constexpr uint64_t kChunk = 1000;
  for (uint64_t from = 0; from < close->statement_index; from += kChunk) {
    auto entries = ledger.entries(village, from, std::min(close->statement_index, from + kChunk));
    if (!entries.is_ok()) return entries.status();
    for (const auto& e : *entries) builder.apply(e);
  }
  const BotOptions& o = impl_->options;
  auto flags = notice_flags(builder.snapshot(BooksOptions{o.cash_limit, o.publish_by_day, day}, month).flags, month);
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->published_flags_kept.size() >= Impl::kMaxPublishedFlagsKept) impl_->published_flags_kept.clear();
  impl_->published_flags_kept[key] = Impl::PublishedFlagsKept{close->statement_index, day, flags};
  return flags;
}

Result<MonthAlerts> Bot::month_alerts(const std::string& village, const std::string& month) {
  auto close = impl_->ledger->month_close(village, month);
  if (!close.is_ok()) return close.status();
  MonthAlerts out;
  auto recorded = recorded_alerts(close->statement, village);
  if (!recorded) {
    auto flags = published_flags(village, month);
    if (!flags.is_ok()) return flags.status();
    out.at_publication = std::move(*flags);
    return out;
  }
  out.recorded = true;
  out.at_publication = std::move(*recorded);
  auto b = books(village);
  if (!b.is_ok()) return b.status();
  const VillageBooks& published = *(*b)->published;
  bool latest = !published.closed_months.empty() && *published.closed_months.rbegin() == month;
  for (const auto& f : published.flags) {
    if (f.kind == FlagKind::kMonthNotPublished || f.raised_by <= close->statement_index) continue;
    if (f.month != month && !(latest && f.month.empty())) continue;
    // One the statement recorded word for word is not raised again.
    if (std::any_of(out.at_publication.begin(), out.at_publication.end(), [&f](const Flag& r) { return r.text == f.text; }))
      continue;
    Flag later = f;
    later.raised_on = signed_day(f.raised_at, impl_->ledger->utc_offset_minutes());
    out.later.push_back(std::move(later));
  }
  return out;
}

Result<Bot::ComplaintCounts> Bot::complaint_counts(const std::string& village, const std::string& month) {
  // As of the start of today (local): counts that moved the second a
  // complaint was filed would time an anonymous filing for anyone polling a
  // page, which its record keeps to the day on purpose.
  int64_t now = impl_->ledger->clock().now_unix_seconds();
  int64_t offset = int64_t{impl_->ledger->utc_offset_minutes()} * 60;
  return impl_->count_complaints(village, month, now - (((now + offset) % 86400) + 86400) % 86400);
}

}  // namespace sunledger
