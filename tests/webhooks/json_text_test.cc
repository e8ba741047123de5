// The reply body written directly (webhooks/adapters/json_text.h) against
// nlohmann's dump(), which wrote it before (issue #18): byte for byte the same
// on random texts, valid UTF-8 or not.
#include "webhooks/adapters/json_text.h"

#include <gtest/gtest.h>

#include <random>

#include "webhooks/adapters/common.h"
#include "webhooks/internal.h"

namespace sunledger::adapters {
namespace {

// Pieces a reply is made of, and every kind of byte sequence at the edges of
// UTF-8: the last and first of each length, overlong forms, surrogates,
// beyond U+10FFFF, stray and missing continuation bytes.
const std::vector<std::string>& pieces() {
  static const std::vector<std::string> p = [] {
    std::vector<std::string> v = {"【双江村 2022年11月 账目公开】", "本月收入:300,000.00元(30万元)", "\n", "\r\n", "\t", "\"",
                                  "\\", "/", "\x7f", "é", "€", "😀", "⚠", "a", " ", "{\"reply\":1}",
                                  "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
                                  "\xF4\x8F\xBF\xBF", "\xC2\x80", "\xDF\xBF",
                                  // not UTF-8
                                  "\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80",
                                  "\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                                  "\xFE", "\xFF", "\xE4\xB8", "\xF0\x9F\x98", "\xC3"};
    for (int c = 0; c < 0x20; ++c) v.push_back(std::string(1, static_cast<char>(c)));
    return v;
  }();
  return p;
}

std::string random_text(std::mt19937& rng) {
  std::string s;
  size_t n = rng() % 30;
  for (size_t i = 0; i < n; ++i) {
    if (rng() % 8 == 0) s += static_cast<char>(rng() % 256);  // any byte
    else s += pieces()[rng() % pieces().size()];
  }
  return s;
}

bool nlohmann_takes(const std::string& text) {
  try {
    (void)json(text).dump();  // strict: throws on bytes that are not UTF-8
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

TEST(JsonText, SameAsNlohmannsDumpOnRandomTexts) {
  std::mt19937 rng(20261201);
  size_t valid = 0, invalid = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string text = random_text(rng);
    std::string written = "x";
    bool ok = append_json_string(written, text);
    ASSERT_EQ(ok, nlohmann_takes(text)) << i;
    if (ok) {
      ASSERT_EQ(written, "x" + dump(json(text))) << i;
      ++valid;
    } else {
      ASSERT_EQ(written, "x") << i;  // left as it was
      ++invalid;
    }
    ASSERT_EQ(reply_body(text), dump(json{{"reply", text.empty() ? json(nullptr) : json(text)}})) << i;
  }
  // Both outcomes, many times.
  EXPECT_GT(valid, 10000u);
  EXPECT_GT(invalid, 10000u);
}

TEST(JsonText, EveryByteAloneAndAStatement) {
  for (int c = 0; c < 256; ++c) {
    std::string text(1, static_cast<char>(c));
    EXPECT_EQ(reply_body(text), dump(json{{"reply", text}})) << c;
  }
  EXPECT_EQ(reply_body(""), R"({"reply":null})");
  EXPECT_EQ(reply_body("【双江村】\n期初余额:0.00元 \"引号\" \\ \x01"),
            "{\"reply\":\"【双江村】\\n期初余额:0.00元 \\\"引号\\\" \\\\ \\u0001\"}");
}

// Bodies near the plain case: flat objects of strings with every kind of
// escape, key twice, values that are not strings, control characters, bytes
// that are not UTF-8, a BOM, whitespace, broken punctuation, text after.
std::string random_body(std::mt19937& rng) {
  static const std::vector<std::string> keys = {"message_id", "chat_id", "chat_type", "sender_id", "text",
                                                "sender_name", "", "a", "k\\u0041", "k\\n", "键"};
  static const std::vector<std::string> values = {
      "\"m1\"", "\"\"", "\"账目 2022-11\"", "\"a\\\"b\"", "\"a\\\\b\"", "\"a\\/b\"", "\"l1\\nl2\\r\\t\\b\\f\"",
      "\"\\u4e2d\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\x\"", "\"raw\ttab\"", "\"raw\nline\"",
      "\"\x80\"", "\"\xed\xa0\x80\"", "\"\xf0\x9f\x98\x80\"", "\"\x7f\"", "1", "-0.5", "true", "null", "{}", "[]",
      "{\"x\":\"y\"}", "[\"a\"]", "\"unterminated"};
  static const std::vector<std::string> ws = {"", "", " ", "\n", "\t", "\r\n", "\f", "\xc2\xa0"};
  auto w = [&] { return ws[rng() % ws.size()]; };
  std::string b = rng() % 50 == 0 ? "\xef\xbb\xbf" : "";
  b += w() + "{";
  size_t n = rng() % 8;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) b += rng() % 40 == 0 ? "" : ",";
    b += w() + "\"" + keys[rng() % keys.size()] + "\"" + w() + (rng() % 60 == 0 ? "" : ":") + w();
    b += rng() % 3 == 0 ? values[rng() % values.size()] : "\"v" + std::to_string(rng() % 5) + "\"";
    b += w();
  }
  b += rng() % 40 == 0 ? "" : "}";
  if (rng() % 30 == 0) b += rng() % 2 ? "," : "{}";
  return b + w();
}

TEST(JsonText, AFlatObjectReadInOnePassIsWhatTheStrictParserReads) {
  std::mt19937 rng(20261202);
  size_t fast = 0, left = 0;
  FlatObject flat;
  for (int i = 0; i < 100000; ++i) {
    std::string body = random_body(rng);
    auto strict = http::parse_json_strict(body, 16);
    if (read_flat_object(body, flat)) {
      // Taken only when the strict parser reads exactly these fields.
      ASSERT_TRUE(strict.is_ok()) << i << ": " << body;
      ASSERT_TRUE(strict->is_object()) << body;
      ASSERT_EQ(strict->size(), flat.count) << body;
      for (size_t k = 0; k < flat.count; ++k) {
        auto it = strict->find(std::string(flat.fields[k].key));
        ASSERT_NE(it, strict->end()) << body;
        ASSERT_TRUE(it->is_string()) << body;
        ASSERT_EQ(it->get<std::string>(), flat.fields[k].value) << body;
      }
      ++fast;
    } else if (strict.is_ok()) {
      ++left;  // valid, but not the plain case: the strict parser reads it
    }
  }
  // Both, many times.
  EXPECT_GT(fast, 5000u);
  EXPECT_GT(left, 500u);
}

TEST(JsonText, AWebhookBodyIsReadInOnePass) {
  FlatObject flat;
  std::string body = R"({"message_id":"bench-1","chat_id":"g","chat_type":"group","sender_id":"v-1","sender_name":"村民",)"
                     R"("text":"账目 2022-11\n明细"})";
  ASSERT_TRUE(read_flat_object(body, flat));
  ASSERT_EQ(flat.count, 6u);
  EXPECT_EQ(*flat.find("text"), "账目 2022-11\n明细");
  EXPECT_EQ(flat.find("absent"), nullptr);
  EXPECT_FALSE(read_flat_object(R"({"a":"1","a":"2"})", flat));  // the strict parser refuses it, saying why
  EXPECT_FALSE(read_flat_object(R"({"a":"\u0041"})", flat));
}

}  // namespace
}  // namespace sunledger::adapters
