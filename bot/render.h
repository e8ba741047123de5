// How the bot's answers read: like a village notice, Chinese first, amounts
// as 157,600.00元, long answers paged to fit a chat message.
// Pure functions: no state, safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "bot/books.h"
#include "ledger/ledger.h"

namespace sunledger {

// "32/a9aa9e33": tree size and the first 8 hex digits of the root; short
// enough to read aloud, enough to compare with what a household received.
std::string checkpoint_short_form(const std::string& signed_note);

// 2022-11 -> 2022年11月
std::string month_zh(const std::string& month);

// Packs lines into pages of at most max_bytes (header and footer included)
// and returns page `page` (1-based), with "第1/3页" and how to get the next.
// An out-of-range page returns the last one.
std::string paginate(const std::string& header, const std::vector<std::string>& lines, int page, size_t max_bytes,
                     const std::string& next_page_hint);

std::string render_statement(const std::string& village_name, const MonthClose& close, const std::vector<Flag>& flags,
                             const std::vector<Flag>& later = {});
// "公开后新增预警 (alerts raised after publication):" and each later alert with its date; "" when none.
std::string later_flags_block(const std::vector<Flag>& later);
std::vector<std::string> render_detail_lines(const std::vector<Entry>& entries, int direction_filter /*0 all, 1 income, -1 expense*/);
std::string render_project(const ProjectStats& p, const std::vector<Flag>& flags);
std::string render_balance(const VillageBooks& books);
std::vector<std::string> render_subsidy_lines(const std::vector<Entry>& entries);
std::string render_verify(const std::string& village_name, const MonthClose& close, const std::string& verifier_key);
std::string render_notice(const std::string& village_name, const MonthClose& close, const std::vector<Flag>& flags);
// The month statement's C2SP tlog-proof block (with the statement's leaf as
// its extra data) under a line saying what it is for; "" when the close
// carries no proof (one read through Ledger::month_closes).
std::string render_proof_block(const MonthClose& close);

}  // namespace sunledger
