// The top-level fields of an entry's leaf bytes that verify reads, without
// building a JSON document: the fields it compares with the indexed columns
// (kind, month, village) and those the derived tables are rebuilt from, and
// those the double-entry journal (ledger/chart.h) books.
// Not thread-safe: it holds the fields of the last leaf parsed; verify keeps
// one per thread.
//
// The answer is the one json::parse(leaf, nullptr, false) and
// entry_string()/entry_fen() on it would give: the same bytes are accepted
// and refused, a key repeated in the object keeps its last value, a field of
// another type reads as absent. A fast path reads the form canonical_json
// writes; anything else (whitespace, escapes, floats, very long numbers, deep
// nesting, and every malformed leaf) goes to nlohmann's parser in SAX mode,
// which decides. tests/ledger/leaf_fields_test.cc compares the two with
// json::parse on real leaves and on tens of thousands of mutations of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ledger/money.h"

namespace sunledger {

class LeafFields final : public nlohmann::json::json_sax_t {
 public:
  enum Field {
    kKind, kMonth, kVillage, kName, kDirection, kTargetKind, kAmount, kApproved, kSpecial, kTarget,
    kFund, kCategory, kProject, kTown, kUtcOffset, kDate, kItem, kCounterparty, kAccount, kToFund, kTargetMonth,
    kReason, kFieldCount
  };
  // The key of each field, in Field order.
  static constexpr std::string_view kKeys[kFieldCount] = {"kind",   "month",    "village", "name",    "direction",
                                                          "target_kind", "amount", "approved", "special", "target",
                                                          "fund",   "category", "project", "town",
                                                          "utc_offset_minutes", "date", "item", "counterparty",
                                                          "account", "to_fund", "target_month", "reason"};

  // False (and every field absent) when the bytes are not one JSON value.
  bool parse(std::string_view leaf);
  // Whether the fast path alone reads the leaf (for tests: every leaf the
  // ledger writes should take it).
  bool fast_path(std::string_view leaf) {
    clear();
    return scan(leaf);
  }

  // entry_string(): the string, or "" when absent or of another type.
  std::string_view string(Field f) const {
    return values_[f].type == kString ? std::string_view(values_[f].text) : std::string_view();
  }
  // is_number_integer(), and entry_fen(): the integer as get<Fen>() converts it, or 0.
  bool is_integer(Field f) const { return values_[f].type == kSigned || values_[f].type == kUnsigned; }
  Fen fen(Field f) const { return is_integer(f) ? static_cast<Fen>(values_[f].number) : 0; }
  // is_number_unsigned(), and get<uint64_t>().
  bool is_unsigned(Field f) const { return values_[f].type == kUnsigned; }
  uint64_t unsigned_value(Field f) const { return values_[f].number; }
  // is_boolean() && get<bool>().
  bool is_true(Field f) const { return values_[f].type == kBool && values_[f].number != 0; }

  // json_sax_t, for the parser: only values directly inside the top-level
  // object are kept.
  bool null() override { return scalar(kOther, 0); }
  bool boolean(bool v) override { return scalar(kBool, v ? 1 : 0); }
  bool number_integer(nlohmann::json::number_integer_t v) override { return scalar(kSigned, static_cast<uint64_t>(v)); }
  bool number_unsigned(nlohmann::json::number_unsigned_t v) override { return scalar(kUnsigned, v); }
  bool number_float(nlohmann::json::number_float_t, const nlohmann::json::string_t&) override { return scalar(kOther, 0); }
  bool string(nlohmann::json::string_t& v) override;
  bool binary(nlohmann::json::binary_t&) override { return scalar(kOther, 0); }
  bool start_object(std::size_t) override { return open(); }
  bool key(nlohmann::json::string_t& k) override;
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  enum Type { kAbsent, kString, kSigned, kUnsigned, kBool, kOther };
  struct Value {
    Type type = kAbsent;
    std::string text;
    uint64_t number = 0;
  };
  static int lookup(std::string_view key);
  void clear();
  bool scalar(Type t, uint64_t n);
  bool open();
  bool close() {
    --depth_;
    return true;
  }
  // The fast path (see leaf_fields.cc): true when it read the whole leaf.
  bool scan(std::string_view leaf);
  bool scan_value(int depth, int field);
  bool scan_string(std::string_view* out);

  Value values_[kFieldCount];
  int depth_ = 0;   // SAX: the nesting depth of the next event
  int field_ = -1;  // SAX: the field the next value at depth 1 belongs to, or -1
  const char* p_ = nullptr;
  const char* end_ = nullptr;
};

}  // namespace sunledger
