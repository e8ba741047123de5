// redact_resident_ids was rewritten to allocate nothing while it scans (it
// runs on every reply). It must redact exactly what the first version did:
// that version is kept here, verbatim, and both are run on the same texts.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ledger/identity.h"
#include "test_support.h"

namespace sunledger {
namespace {

namespace reference {

struct IdChar {
  size_t pos = 0;
  size_t len = 0;
  bool digit = false;
};

std::optional<IdChar> id_char_at(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c >= '0' && c <= '9') return IdChar{i, 1, true};
  if (c == 'X' || c == 'x') return IdChar{i, 1, false};
  if (c == 0xEF && i + 2 < s.size()) {
    unsigned char c1 = static_cast<unsigned char>(s[i + 1]), c2 = static_cast<unsigned char>(s[i + 2]);
    if (c1 == 0xBC && c2 >= 0x90 && c2 <= 0x99) return IdChar{i, 3, true};
    if ((c1 == 0xBC && c2 == 0xB8) || (c1 == 0xBD && c2 == 0x98)) return IdChar{i, 3, false};
  }
  return std::nullopt;
}

size_t separator_at(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || c == '-' || c == '\t') return 1;
  auto is = [&](const char* seq) { return s.compare(i, std::strlen(seq), seq) == 0; };
  for (const char* seq : {"\xC2\xA0", "\xC2\xAD"})
    if (is(seq)) return 2;
  for (const char* seq : {"\xE3\x80\x80", "\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xE2\x80\x8E",
                          "\xE2\x80\x8F", "\xE2\x81\xA0", "\xE2\x81\xA1", "\xE2\x81\xA2", "\xE2\x81\xA3",
                          "\xE2\x81\xA4", "\xEF\xBB\xBF", "\xEF\xBC\x8D"})
    if (is(seq)) return 3;
  return 0;
}

template <typename F>
void for_each_resident_id(std::string_view s, F found) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = id_char_at(s, i);
    if (!c || !c->digit) {
      i += c ? c->len : 1;
      continue;
    }
    std::vector<IdChar> run;
    while (i < s.size()) {
      auto d = id_char_at(s, i);
      if (!d || !d->digit) {
        size_t sep = separator_at(s, i);
        if (sep == 0 || i + sep >= s.size()) break;
        auto next = id_char_at(s, i + sep);
        if (!next || (!next->digit && run.size() != 17)) break;
        i += sep;
        continue;
      }
      run.push_back(*d);
      i += d->len;
    }
    if (run.size() == 17 && i < s.size()) {
      if (auto x = id_char_at(s, i); x && !x->digit) {
        run.push_back(*x);
        i += x->len;
      } else if (size_t sep = separator_at(s, i); sep && i + sep < s.size()) {
        if (auto x2 = id_char_at(s, i + sep); x2 && !x2->digit) {
          run.push_back(*x2);
          i += sep + x2->len;
        }
      }
    }
    if (run.size() == 18 || run.size() == 15) found(run);
  }
}

std::string redact(std::string_view text) {
  std::string out;
  size_t copied = 0;
  for_each_resident_id(text, [&](const std::vector<IdChar>& run) {
    out.append(text.substr(copied, run.front().pos - copied));
    out.append(run.size() - 2, '*');
    const IdChar& keep = run[run.size() - 2];
    out.append(text.substr(keep.pos, run.back().pos + run.back().len - keep.pos));
    copied = run.back().pos + run.back().len;
  });
  out.append(text.substr(copied));
  return out;
}

bool looks_like(std::string_view text) {
  bool any = false;
  for_each_resident_id(text, [&](const std::vector<IdChar>&) { any = true; });
  return any;
}

}  // namespace reference

// Pieces the scanner treats differently: ASCII and full-width digits and
// check characters, every separator, the lead bytes of separators that are
// not one, Chinese text, punctuation, and bytes of cut UTF-8.
const std::vector<std::string>& pieces() {
  static const std::vector<std::string> p = {
      "0", "1", "2", "5", "9", "X", "x", "\xEF\xBC\x90", "\xEF\xBC\x99", "\xEF\xBC\xB8", "\xEF\xBD\x98",
      " ", "-", "\t", "\xC2\xA0", "\xC2\xAD", "\xE3\x80\x80", "\xE2\x80\x8B", "\xE2\x80\x8F", "\xE2\x81\xA0",
      "\xE2\x81\xA4", "\xEF\xBB\xBF", "\xEF\xBC\x8D", "\xC2\xA9", "\xE2\x80\x94", "\xE3\x80\x81", "\xEF\xBC\x8C",
      "双", "元", "号", ",", ".", ":", "a", "\n", "\xEF", "\xEF\xBC", "\xE2\x80", "\xC2",
      "11010519491231002", "110105194912310021", "11010519491231002X", "110105491231002", "110105 19491231 002X",
      "1101051949123100211"};
  return p;
}

std::string random_text(std::mt19937& rng) {
  const auto& p = pieces();
  std::uniform_int_distribution<size_t> count(0, 40), pick(0, p.size() - 1), digit(0, 9);
  std::string s;
  size_t n = count(rng);
  for (size_t i = 0; i < n; ++i) {
    // Long digit runs are where the work is: often a run of 14-19.
    if (rng() % 4 == 0) {
      size_t len = 14 + rng() % 6;
      for (size_t k = 0; k < len; ++k) s += static_cast<char>('0' + digit(rng));
    } else {
      s += p[pick(rng)];
    }
  }
  return s;
}

TEST(Redaction, SameAsTheFirstVersionOnRandomTexts) {
  std::mt19937 rng(20261201);
  size_t redacted = 0;
  const int rounds = testing::random_rounds(200000);
  for (int i = 0; i < rounds; ++i) {
    std::string text = random_text(rng);
    std::string want = reference::redact(text);
    ASSERT_EQ(redact_resident_ids(text), want) << i << ": " << text;
    ASSERT_EQ(looks_like_resident_id(text), reference::looks_like(text)) << i << ": " << text;
    if (want != text) ++redacted;
  }
  // The texts exercise both outcomes, many times.
  EXPECT_GT(redacted, static_cast<size_t>(rounds / 20));
}

// The bot masks a cached answer once, when it caches it, and masks it again
// only when the integrity warning (a line of its own) goes before it
// (bot/dispatch.cc): both must give what masking the whole reply on every
// request gave.
TEST(Redaction, MaskingTwiceOrAfterALineOfItsOwnChangesNothingMore) {
  std::mt19937 rng(20261202);
  size_t redacted = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string text = random_text(rng);
    std::string once = redact_resident_ids(text);
    ASSERT_EQ(redact_resident_ids(once), once) << i << ": " << text;
    const std::string warning = "⚠ 账本核验未通过 (warning)\n";
    ASSERT_EQ(redact_resident_ids(warning + text), warning + once) << i << ": " << text;
    ASSERT_EQ(redact_resident_ids(warning + once), warning + once) << i << ": " << text;
    if (once != text) ++redacted;
  }
  EXPECT_GT(redacted, 5000u);
}

TEST(Redaction, SameAsTheFirstVersionOnEveryCutOfAStatement) {
  // A reply as the bot sends it, with numbers in every form inside.
  std::string text =
      "【双江村 2022年11月 账目公开】\n期初余额:0.00元\n本月收入:300,000.00元(30万元)\n"
      "  · 上级拨款 300,000.00元 11010519491231002X\n身份证 110105 19491231 002\xE2\x80\x8BX 号\n"
      "旧证 110105491231002,\xEF\xBC\x91\xEF\xBC\x91\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x90\xEF\xBC\x95"
      "19491231002\xEF\xBC\xB8 共4条记录(第#1至#4条)\n核验码:6/ccf88906\n";
  for (size_t from = 0; from < text.size(); ++from)
    for (size_t len : {size_t{1}, size_t{7}, size_t{19}, size_t{40}, text.size()}) {
      std::string cut = text.substr(from, len);
      ASSERT_EQ(redact_resident_ids(cut), reference::redact(cut)) << from << "+" << len;
    }
  EXPECT_EQ(redact_resident_ids(text).find("19491231"), std::string::npos);
}

// Review (session 10): dashes and spaces that phones and word processors put
// between digit groups where people type a hyphen or a space: the en dash,
// the non-breaking hyphen, the minus sign, the thin and narrow no-break
// spaces. Each kept the number whole and readable in a reply.
TEST(Redaction, AnIdentityNumberSplitByATypographicDashOrSpaceIsMasked) {
  for (const char* sep : {"\xE2\x80\x90", "\xE2\x80\x91", "\xE2\x80\x92", "\xE2\x80\x93", "\xE2\x88\x92",
                          "\xEF\xB9\xA3", "\xE2\x80\x89", "\xE2\x80\xAF", "\xE2\x80\x82", "\xE2\x80\x8A"}) {
    std::string text = std::string("身份证 110105") + sep + "19491231" + sep + "002X 号";
    std::string out = redact_resident_ids(text);
    EXPECT_EQ(out.find("19491231"), std::string::npos) << out;
    EXPECT_NE(out.find("2X 号"), std::string::npos) << out;
    EXPECT_TRUE(looks_like_resident_id(text)) << text;
  }
  // A range of amounts or dates with an en dash stays as it was.
  for (const char* kept : {"2022-11-01\xE2\x80\x93" "2022-11-30", "100000\xE2\x80\x93" "200000元"})
    EXPECT_EQ(redact_resident_ids(kept), kept);
}

}  // namespace
}  // namespace sunledger
