// The reply body written directly (webhooks/adapters/json_text.h) against
// nlohmann's dump(), which wrote it before (issue #18): byte for byte the same
// on random texts, valid UTF-8 or not.
#include "webhooks/adapters/json_text.h"

#include <gtest/gtest.h>

#include <random>

#include "webhooks/adapters/common.h"

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

}  // namespace
}  // namespace sunledger::adapters
