// Names that cannot impersonate: the villages, towns, projects, categories,
// funds and counterparties of the books. "双江村" followed by a zero-width
// space, or written with a different Unicode composition, or with a
// right-to-left override in it, would look the same to a villager and be
// another name to the ledger (a second project beside the real one, a
// counterparty a search misses).
// Pure functions: no state, safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "ledger/status.h"

namespace sunledger {

// The name in Unicode NFC, or kInvalidArgument naming the field (zh, en)
// when it holds invisible or formatting characters (Unicode Cf: zero-width
// spaces and joiners, bidi controls, ...; any other default-ignorable code
// point: combining grapheme joiner, variation selectors, Hangul fillers; the
// blank Braille pattern), control characters, a space other than U+0020, or
// leading or trailing spaces. Empty stays empty.
[[nodiscard]] Result<std::string> normalize_name(std::string_view name, const char* zh, const char* en);

}  // namespace sunledger
