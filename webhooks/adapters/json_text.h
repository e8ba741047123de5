// A reply's text written straight into a JSON body (issue #18): the hot path
// answers every signed query with {"reply":"<the statement>"}, and building an
// nlohmann::json to dump it cost a copy of the text, a map node and the
// serializer's per-byte UTF-8 state machine. Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>

namespace sunledger::adapters {

// Appends `text` as a JSON string, quotes included, byte for byte what
// nlohmann's dump() (ensure_ascii off) writes for it. False, with `out` left
// as it was, when `text` is not valid UTF-8: what dump() makes of such bytes
// (error_handler_t::replace) is left to dump().
bool append_json_string(std::string& out, std::string_view text);

// {"reply":"<text>"}, or {"reply":null} when text is empty: what
// dump(json{{"reply", ...}}) wrote, without building the json.
std::string reply_body(std::string_view text);

}  // namespace sunledger::adapters
