#include "ledger/identity.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "ledger/clock.h"
#include "ledger/crypto.h"

namespace sunledger {

Status validate_resident_id(std::string_view id) {
  const std::string bad = "身份证号无效 (invalid identity number): ";
  if (id.size() != 18) return invalid_argument(bad + "应为18位 (must be 18 characters)");
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') return invalid_argument(bad + "前17位应为数字 (first 17 must be digits)");
    sum += (id[i] - '0') * kWeights[i];
  }
  char last = id[17] == 'x' ? 'X' : id[17];
  if (last != kCheck[sum % 11]) return invalid_argument(bad + "校验位不对 (check digit does not match)");
  int y = std::stoi(std::string(id.substr(6, 4))), m = std::stoi(std::string(id.substr(10, 2))),
      d = std::stoi(std::string(id.substr(12, 2)));
  // Round-trip through the day count to reject 31 April, 29 February 2023, ...
  bool plausible = y >= 1900 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 && d <= 31 &&
                   days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) ==
                       days_from_civil(y, static_cast<unsigned>(m), 1) + d - 1 &&
                   (m == 12 || days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) <
                                   days_from_civil(y, static_cast<unsigned>(m + 1), 1));
  if (!plausible) return invalid_argument(bad + "出生日期不对 (birth date is not valid)");
  return Status::ok();
}

std::string mask_resident_id(std::string_view id) {
  // Too short to be a number worth keeping a tail of: keep nothing.
  if (id.size() < 10) return std::string(id.size(), '*');
  return std::string(id.size() - 2, '*') + std::string(id.substr(id.size() - 2));
}

namespace {

// One character of a possible identity number: its bytes in the text.
struct IdChar {
  size_t pos = 0;
  size_t len = 0;
  bool digit = false;  // else X or x
};

// The character at i if it is a digit or X/x, ASCII or full-width
// (U+FF10..U+FF19, U+FF38, U+FF58).
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

// The length of a separator people or forms put inside a number (a space, a
// dash, an ideographic or no-break space) or an invisible formatting
// character (zero-width spaces and joiners, word joiner, BOM, soft hyphen)
// at i; 0 when there is none. "110105 19491231 002X", "110105-19491231-002X"
// and a number with U+200B inside are all one number.
size_t separator_at(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || c == '-' || c == '\t') return 1;
  // Every longer separator starts with one of these bytes: the rest of the
  // text (most of a reply) costs one comparison.
  if (c != 0xC2 && c != 0xE2 && c != 0xE3 && c != 0xEF) return 0;
  auto is = [&](const char* seq) { return s.compare(i, std::strlen(seq), seq) == 0; };
  for (const char* seq : {"\xC2\xA0", "\xC2\xAD"})  // U+00A0, U+00AD
    if (is(seq)) return 2;
  for (const char* seq : {"\xE3\x80\x80", "\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xE2\x80\x8E",
                          "\xE2\x80\x8F", "\xE2\x81\xA0", "\xE2\x81\xA1", "\xE2\x81\xA2", "\xE2\x81\xA3",
                          "\xE2\x81\xA4", "\xEF\xBB\xBF", "\xEF\xBC\x8D"})  // U+3000, U+200B-F, U+2060-4, BOM, full-width -
    if (is(seq)) return 3;
  // Dashes and spaces word processors and phones type between digit groups:
  // U+2010-2013 (hyphen, non-breaking hyphen, figure and en dash), U+2212
  // minus, U+FE63 small hyphen, U+2002-200A (en to hair space), U+202F.
  for (const char* seq : {"\xE2\x80\x90", "\xE2\x80\x91", "\xE2\x80\x92", "\xE2\x80\x93", "\xE2\x88\x92",
                          "\xEF\xB9\xA3", "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85",
                          "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89", "\xE2\x80\x8A",
                          "\xE2\x80\xAF"})
    if (is(seq)) return 3;
  return 0;
}

// What a redaction needs of one identity-number-shaped run: where it starts,
// how many characters it has, and its last two (the ones kept).
struct IdRun {
  size_t begin = 0;
  size_t count = 0;
  IdChar second_last, last;
  void add(const IdChar& c) {
    if (count == 0) begin = c.pos;
    second_last = last;
    last = c;
    ++count;
  }
};

// Calls found(run) for each identity-number-shaped run, in order. A run of
// 16, 17 or 19+ digits is left alone: it is not a number of either form, and
// amounts or hashes in longer runs must not be mangled. Allocates nothing:
// replies are full of short digit runs (amounts, dates), and this runs on
// every reply.
template <typename F>
void for_each_resident_id(std::string_view s, F found) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = id_char_at(s, i);
    if (!c || !c->digit) {
      i += c ? c->len : 1;
      continue;
    }
    IdRun run;
    while (i < s.size()) {
      auto d = id_char_at(s, i);
      if (!d || !d->digit) {
        // One separator between two digits (or before the check character) stays inside the run.
        size_t sep = separator_at(s, i);
        if (sep == 0 || i + sep >= s.size()) break;
        auto next = id_char_at(s, i + sep);
        if (!next || (!next->digit && run.count != 17)) break;
        i += sep;
        continue;
      }
      run.add(*d);
      i += d->len;
    }
    if (run.count == 17 && i < s.size()) {
      if (auto x = id_char_at(s, i); x && !x->digit) {
        run.add(*x);
        i += x->len;
      } else if (size_t sep = separator_at(s, i); sep && i + sep < s.size()) {
        if (auto x2 = id_char_at(s, i + sep); x2 && !x2->digit) {
          run.add(*x2);
          i += sep + x2->len;
        }
      }
    }
    if (run.count == 18 || run.count == 15) found(run);
  }
}

}  // namespace

bool looks_like_resident_id(std::string_view text) {
  bool any = false;
  for_each_resident_id(text, [&](const IdRun&) { any = true; });
  return any;
}

std::string redact_resident_ids(std::string_view text) {
  std::string out;
  out.reserve(text.size());  // a redaction only shortens the text
  size_t copied = 0;
  for_each_resident_id(text, [&](const IdRun& run) {
    out.append(text.substr(copied, run.begin - copied));
    out.append(run.count - 2, '*');
    out.append(text.substr(run.second_last.pos, run.last.pos + run.last.len - run.second_last.pos));
    copied = run.last.pos + run.last.len;
  });
  out.append(text.substr(copied));
  return out;
}

std::string hash_resident_id(std::string_view salt, std::string_view id) {
  std::string normalised(id);
  if (!normalised.empty() && normalised.back() == 'x') normalised.back() = 'X';
  return hex_encode(hmac_sha256(salt, normalised));
}

std::string mask_person_name(std::string_view name) {
  // Split into UTF-8 characters.
  std::vector<std::string_view> chars;
  for (size_t i = 0; i < name.size();) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    n = std::min(n, name.size() - i);
    chars.push_back(name.substr(i, n));
    i += n;
  }
  if (chars.empty()) return "";
  if (chars.size() == 1) return "*";
  std::string out(chars.front());
  if (chars.size() == 2) return out + "*";
  out.append(chars.size() - 2, '*');
  out.append(chars.back());
  return out;
}

namespace {

bool is_name_dot(std::string_view c) { return c == "\xC2\xB7" || c == "\xE3\x83\xBB" || c == "\xE2\x80\xA2"; }
// A space inside a name, as rosters and some banks pad two-character names: 张 三, 张　三.
bool is_name_gap(std::string_view c) { return c == " " || c == "\xE3\x80\x80"; }
bool is_name_joiner(std::string_view c) { return is_name_dot(c) || is_name_gap(c); }

// The leading run of CJK ideographs (U+3400-U+4DBF, U+4E00-U+9FFF), each
// character as its UTF-8 bytes, and where the run ends. A middle dot between
// two ideographs (U+00B7, U+30FB, U+2022: 买买提·艾力, as banks write Uyghur
// and other transliterated names) belongs to the run.
std::vector<std::string_view> leading_ideographs(std::string_view text, size_t* end) {
  std::vector<std::string_view> chars;
  size_t i = 0;
  auto ideograph_at = [&text](size_t at) {
    if (at + 3 > text.size()) return false;
    auto b0 = static_cast<unsigned char>(text[at]), b1 = static_cast<unsigned char>(text[at + 1]),
         b2 = static_cast<unsigned char>(text[at + 2]);
    if ((b0 >> 4) != 0xE || (b1 >> 6) != 2 || (b2 >> 6) != 2) return false;
    unsigned cp = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF);
  };
  while (true) {
    if (ideograph_at(i)) {
      chars.push_back(text.substr(i, 3));
      i += 3;
      continue;
    }
    size_t dot = is_name_gap(text.substr(i, 1))    ? 1
                 : is_name_dot(text.substr(i, 2))  ? 2
                 : is_name_joiner(text.substr(i, 3)) ? 3
                                                     : 0;
    if (dot == 0 || chars.empty() || !ideograph_at(i + dot)) break;
    chars.push_back(text.substr(i, dot));
    i += dot;
  }
  *end = i;
  return chars;
}

// The name as the public sees it: the first character, then a star for each
// other (middle dots and spaces kept).
std::string masked_name(const std::vector<std::string_view>& chars) {
  std::string out(chars.front());
  for (size_t i = 1; i < chars.size(); ++i) out += is_name_joiner(chars[i]) ? std::string(chars[i]) : std::string("*");
  return out;
}

// How organisations' names end (公司, 水利局, 某水利工程队, 信用社, 村委会,
// 农商银行, 财政所, 卫生院, 小学, 供销社, 村两委 …). A personal name rarely
// ends so; a short organisation that does not is masked, which costs nothing.
bool ends_as_organisation(std::string_view name) {
  static const char* const kSuffixes[] = {
      "公司", "局", "队", "社", "会", "委", "行", "所", "院", "校", "站", "厂", "店", "部", "处", "科", "组", "办", "室",
      "馆", "场", "厅", "署", "府", "矿", "团", "协", "营", "库", "村", "镇", "乡", "县", "区", "市", "省", "中心",
      "小学", "中学", "大学", "学院", "集团", "政府", "银行", "合作社", "委员会", "工程", "商贸", "超市", "药房", "诊所"};
  for (const char* s : kSuffixes) {
    std::string_view suffix(s);
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) return true;
  }
  return false;
}

}  // namespace

bool is_private_person_name(std::string_view counterparty) {
  size_t end = 0;
  auto chars = leading_ideographs(counterparty, &end);
  size_t dots = static_cast<size_t>(std::count_if(chars.begin(), chars.end(), is_name_dot));
  size_t gaps = static_cast<size_t>(std::count_if(chars.begin(), chars.end(), is_name_gap));
  // A Chinese name has 2 to 4 characters (a space among them or not); a
  // dotted one (阿依古丽·买买提) more.
  size_t letters = chars.size() - dots - gaps;
  if (letters < 2 || letters > (dots ? 16u : 4u) || ends_as_organisation(counterparty.substr(0, end))) return false;
  // Nothing after the name but a space and what is left of an identity
  // number (ASCII: stars, digits, X): "张三 ****34".
  std::string_view rest = counterparty.substr(end);
  if (rest.empty()) return true;
  if (rest.front() != ' ') return false;
  return rest.find_first_not_of(" *0123456789Xx") == std::string_view::npos;
}

std::string public_counterparty(std::string_view counterparty) {
  if (!is_private_person_name(counterparty)) return std::string(counterparty);
  size_t end = 0;
  auto chars = leading_ideographs(counterparty, &end);
  return masked_name(chars) + std::string(counterparty.substr(end));
}

std::string public_reference(std::string_view reference, std::string_view counterparty) {
  if (!is_private_person_name(counterparty)) return std::string(reference);
  size_t end = 0;
  auto chars = leading_ideographs(counterparty, &end);
  std::string_view name = counterparty.substr(0, end);
  std::string masked = masked_name(chars);
  std::string out;
  size_t from = 0;
  for (size_t at = reference.find(name); at != std::string_view::npos; at = reference.find(name, from)) {
    out.append(reference.substr(from, at - from)).append(masked);
    from = at + name.size();
  }
  return out.append(reference.substr(from));
}

}  // namespace sunledger
