// LeafFields must read a leaf exactly as json::parse(leaf, nullptr, false)
// and entry_string()/entry_fen() on the result do: verify compares the
// indexed columns and rebuilds the derived tables from what it reads, so a
// leaf read differently would be a check weakened (or a false alarm).
#include "ledger/leaf_fields.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/identity.h"
#include "test_support.h"

namespace sunledger {
namespace {

using nlohmann::json;
using testing::official;
using testing::txn;

constexpr Fen kYuan = 100;

// LeafFields against the document json::parse makes of the same bytes.
void expect_read_as_json_parse(std::string_view leaf) {
  json doc = json::parse(leaf, nullptr, false);
  LeafFields f;
  bool parsed = f.parse(leaf);
  std::string differences;
  if (parsed != !doc.is_discarded()) differences += parsed ? " parsed (json::parse refuses it)" : " refused (json::parse reads it)";
  for (int i = 0; i < LeafFields::kFieldCount; ++i) {
    auto field = static_cast<LeafFields::Field>(i);
    std::string key(LeafFields::kKeys[i]);
    auto it = doc.is_object() ? doc.find(key) : doc.end();
    bool present = doc.is_object() && it != doc.end();
    bool is_unsigned = present && it->is_number_unsigned();
    if (f.string(field) != entry_string(doc, key.c_str()) || f.is_integer(field) != (present && it->is_number_integer()) ||
        f.fen(field) != entry_fen(doc, key.c_str()) || f.is_unsigned(field) != is_unsigned ||
        (is_unsigned && f.unsigned_value(field) != it->get<uint64_t>()) ||
        f.is_true(field) != (present && it->is_boolean() && it->get<bool>()))
      differences += " " + key + " reads differently";
  }
  if (!differences.empty()) ADD_FAILURE() << ::testing::PrintToString(std::string(leaf)) << ":" << differences;
}

// Leaves of every kind, as the ledger writes them.
std::vector<std::string> real_leaves() {
  testing::TestLedger t;
  Ledger& l = *t.ledger;
  EXPECT_TRUE(l.add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  EXPECT_TRUE(l.register_project("shuangjiang", {"水利建设", 300'000 * kYuan, true}, official()).is_ok());
  EXPECT_TRUE(l.post_transactions("shuangjiang",
                                  {txn("2022-11-02", true, "上级拨款", "到账", 300'000 * kYuan, "水利建设", "专项资金"),
                                   txn("2022-11-10", false, "工程款", "水渠\"一期\"", 157'600 * kYuan, "水利建设", "专项资金"),
                                   txn("2022-11-25", false, "办公费", "打印纸\\墨盒", 350'000 * kYuan)},
                                  official()).is_ok());
  Status s = l.write([](WriteTxn& w) -> Status {
    std::string id = "11010519491231002X";
    auto sub = w.post_subsidies("shuangjiang", "2022-11",
                                {{"低保", mask_person_name("张桂三"), mask_resident_id(id), hash_resident_id("salt", id), 620 * kYuan, 1}},
                                official());
    if (!sub.is_ok()) return sub.status();
    // A complaint event's shape: null, booleans, an array, hashes.
    json event = {{"kind", "complaint"}, {"event", "filed"}, {"reporter_hash", nullptr}, {"anonymous", true},
                  {"links", {"#3", "水利建设"}}, {"at", "2022-12-05T02:00:00Z"}};
    return w.append_to_log("complaints", event, official()).status();
  });
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_TRUE(l.reverse("shuangjiang", 3, "记错了", official()).is_ok());
  // A statement with nested totals and a negative closing balance.
  EXPECT_TRUE(l.close_month("shuangjiang", "2022-11", official()).is_ok());
  EXPECT_TRUE(l.write([](WriteTxn& w) { return w.finish_project("shuangjiang", "水利建设", official()).status(); }).is_ok());
  std::vector<std::string> out;
  for (const char* log : {"shuangjiang", "complaints"}) {
    auto size = l.log_size(log);
    auto entries = l.entries(log, 0, *size);
    for (const auto& e : *entries) out.push_back(e.leaf);
  }
  return out;
}

// Only a leaf with an escaped character (a quote or backslash typed into an
// item, say) leaves the fast path.
TEST(LeafFields, EveryLeafTheLedgerWritesReadsAsJsonParse) {
  auto leaves = real_leaves();
  ASSERT_EQ(leaves.size(), 9u);
  std::set<std::string> kinds;
  for (const auto& leaf : leaves) {
    LeafFields f;
    EXPECT_EQ(f.fast_path(leaf), leaf.find('\\') == std::string::npos) << leaf;
    expect_read_as_json_parse(leaf);
    kinds.insert(entry_string(json::parse(leaf), "kind"));
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"complaint", "project", "project_finished", "reversal", "statement", "subsidy", "txn"}));
}

TEST(LeafFields, ReadsWhatTheFastPathLeavesToTheParserAsJsonParse) {
  const std::string cases[] = {
      "", " ", "{", "}", "[]", "{}", "[{\"kind\":\"txn\"}]", "\"txn\"", "5", "true", "null",
      "{\"kind\":\"txn\",\"month\":\"2022-11\",\"village\":\"a\"}",
      // whitespace, escapes, a byte order mark
      "{ \"kind\" : \"txn\" }", " {\"kind\":\"txn\"}", "{\"kind\":\"txn\"}\n", "\t{\"kind\":\"txn\"}",
      "{\"kind\":\"t\\u0078n\"}", "{\"k\\u0069nd\":\"txn\"}", "{\"kind\":\"a\\\"b\"}", "{\"kind\":\"a\\/b\\n\"}",
      "{\"kind\":\"\\ud83d\\ude00\"}", "{\"kind\":\"\\ud83d\"}", "{\"kind\":\"\\x41\"}",
      "\xEF\xBB\xBF{\"kind\":\"txn\"}", "\xEF\xBB{\"kind\":\"txn\"}",
      // numbers
      "{\"amount\":0}", "{\"amount\":-0}", "{\"amount\":-5}", "{\"amount\":01}", "{\"amount\":-01}", "{\"amount\":1.0}",
      "{\"amount\":1e3}", "{\"amount\":1E3}", "{\"amount\":1.}", "{\"amount\":.5}", "{\"amount\":+1}", "{\"amount\":-}",
      "{\"amount\":123456789012345678}", "{\"amount\":-123456789012345678}", "{\"amount\":1234567890123456789}",
      "{\"amount\":18446744073709551615}", "{\"amount\":18446744073709551616}", "{\"amount\":-9223372036854775808}",
      "{\"amount\":-9223372036854775809}", "{\"target\":5}", "{\"target\":-5}", "{\"target\":5.0}", "{\"approved\":7}",
      "{\"approved\":-7}", "{\"approved\":\"7\"}",
      // literals
      "{\"special\":true}", "{\"special\":false}", "{\"special\":null}", "{\"special\":tru}", "{\"special\":truex}",
      "{\"special\":True}", "{\"special\":nul}",
      // repeated keys, nested and other-typed fields
      "{\"kind\":\"txn\",\"kind\":\"project\"}", "{\"kind\":\"txn\",\"kind\":1}", "{\"kind\":1,\"kind\":\"txn\"}",
      "{\"kind\":{\"kind\":\"txn\"}}", "{\"kind\":[\"txn\"]}", "{\"a\":{\"kind\":\"x\"},\"month\":\"m\"}",
      "{\"kind\":\"txn\",\"kind\":{}}", "{\"kind\":\"txn\",\"kind\":[]}", "{\"special\":true,\"special\":0}",
      // structure
      "{\"kind\"}", "{\"kind\":}", "{\"kind\":\"txn\",}", "{,\"kind\":\"txn\"}", "{\"kind\":\"txn\"}}",
      "{\"kind\":\"txn\"}{\"a\":1}", "[1,]", "[,1]", "[1 2]", "{\"a\":[1,2,{\"b\":[]}],\"kind\":\"x\"}", "{\"kind\":\"txn\"",
      "{\"kind\":\"txn", "{'kind':'txn'}", "{kind:\"txn\"}", std::string("{\"kind\":\"txn\"}\0", 15),
      std::string("{\"kind\":\"t\0n\"}", 14),
      // UTF-8
      "{\"kind\":\"\xC0\x80\"}", "{\"kind\":\"\xC1\xBF\"}", "{\"kind\":\"\xC2\x80\"}", "{\"kind\":\"\xDF\xBF\"}",
      "{\"kind\":\"\xE0\x80\x80\"}", "{\"kind\":\"\xE0\x9F\xBF\"}", "{\"kind\":\"\xE0\xA0\x80\"}", "{\"kind\":\"\xED\xA0\x80\"}",
      "{\"kind\":\"\xED\x9F\xBF\"}", "{\"kind\":\"\xEE\x80\x80\"}", "{\"kind\":\"\xEF\xBF\xBF\"}",
      "{\"kind\":\"\xF0\x8F\xBF\xBF\"}", "{\"kind\":\"\xF0\x90\x80\x80\"}", "{\"kind\":\"\xF4\x8F\xBF\xBF\"}",
      "{\"kind\":\"\xF4\x90\x80\x80\"}", "{\"kind\":\"\xF5\x80\x80\x80\"}", "{\"kind\":\"\xFF\"}", "{\"kind\":\"\x80\"}",
      "{\"kind\":\"\xE6\x9D\"}", "{\"kind\":\"\xE6\x9D\xA1\"}", "{\"kind\":\"\x01\"}", "{\"kind\":\"\x1F\"}",
      "{\"kind\":\"\x7F\"}", "{\"kind\":\"a\tb\"}", "{\"\xE6\x9D\":1}",
  };
  for (const auto& c : cases) expect_read_as_json_parse(c);
  // Nesting the fast path leaves to the parser, and nesting it reads.
  for (int depth : {10, 31, 32, 33, 100}) {
    std::string deep = "{\"kind\":\"txn\",\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
    expect_read_as_json_parse(deep);
    expect_read_as_json_parse(std::string(depth, '[') + std::string(depth, ']'));
    expect_read_as_json_parse(std::string(depth, '['));
  }
}

// Every truncation of every real leaf, and tens of thousands of one-byte
// edits (replacements, insertions, deletions) of them.
TEST(LeafFields, ReadsEveryMutationOfARealLeafAsJsonParse) {
  auto leaves = real_leaves();
  const unsigned char interesting[] = {'"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '1', '9', '-', '+', '.', 'e', 'E',
                                       't', 'f', 'n', 'u', 'x', 0x00, 0x01, 0x1F, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                       0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE6, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::mt19937 rng(20261129);
  size_t checked = 0;
  for (const auto& leaf : leaves) {
    for (size_t n = 0; n <= leaf.size(); ++n, ++checked) expect_read_as_json_parse(std::string_view(leaf).substr(0, n));
    for (int k = 0; k < 5000; ++k, ++checked) {
      std::string m = leaf;
      size_t at = rng() % m.size();
      char byte = static_cast<char>(rng() % 3 == 0 ? rng() % 256 : interesting[rng() % sizeof interesting]);
      switch (rng() % 3) {
        case 0: m[at] = byte; break;
        case 1: m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), byte); break;
        default: m.erase(at, 1);
      }
      expect_read_as_json_parse(m);
      if (::testing::Test::HasFailure()) return;
    }
  }
  EXPECT_GT(checked, 45'000u);
}

}  // namespace
}  // namespace sunledger
