#include "ledger/money.h"

#include <cstdlib>

#include "ledger/identity.h"

namespace sunledger {
namespace {

// Maps full-width ASCII (U+FF01..U+FF5E, as Chinese input methods type digits
// and punctuation) and the ideographic space to plain ASCII.
std::string to_halfwidth(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == 0xEF && i + 2 < in.size()) {
      unsigned char c1 = static_cast<unsigned char>(in[i + 1]);
      unsigned char c2 = static_cast<unsigned char>(in[i + 2]);
      unsigned cp = ((c & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F);
      if (cp >= 0xFF01 && cp <= 0xFF5E && cp != 0xFFE5) {
        out.push_back(static_cast<char>(cp - 0xFF01 + 0x21));
        i += 3;
        continue;
      }
    }
    if (c == 0xE3 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x80 &&
        static_cast<unsigned char>(in[i + 2]) == 0x80) {
      out.push_back(' ');
      i += 3;
      continue;
    }
    out.push_back(in[i]);
    ++i;
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status bad(std::string_view text, const std::string& why_zh, const std::string& why_en) {
  // An identity number pasted into the amount column must not come back in
  // the error (which reaches the chat and the logs): quote it masked.
  return invalid_argument("金额“" + redact_resident_ids(text) + "”无效:" + why_zh + " (invalid amount: " + why_en + ")");
}

}  // namespace

Result<Fen> parse_amount(std::string_view raw) {
  std::string half = to_halfwidth(raw);
  std::string_view s = trim(half);
  if (s.empty()) return bad(raw, "金额为空", "empty");
  if (starts_with(s, "-") || starts_with(s, "\xE2\x88\x92")) return bad(raw, "不能为负数", "negative");
  if (starts_with(s, "\xC2\xA5")) s.remove_prefix(2);          // ¥
  else if (starts_with(s, "\xEF\xBF\xA5")) s.remove_prefix(3); // ￥ (U+FFE5)
  s = trim(s);
  if (ends_with(s, "\xE5\x85\x83")) s.remove_suffix(3);  // 元
  bool wan = false;
  if (ends_with(s, "\xE4\xB8\x87")) {  // 万
    s.remove_suffix(3);
    wan = true;
  }
  s = trim(s);
  if (s.empty()) return bad(raw, "没有数字", "no digits");
  if (starts_with(s, "-")) return bad(raw, "不能为负数", "negative");

  size_t dot = s.find('.');
  std::string_view int_part = dot == std::string_view::npos ? s : s.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (int_part.empty()) return bad(raw, "缺少整数部分", "missing integer part");
  if (dot != std::string_view::npos && frac_part.empty()) return bad(raw, "小数点后没有数字", "no digits after the point");

  // Commas are allowed only as thousands separators: 1,234,567.
  std::string digits;
  size_t group_len = 0, groups = 0;
  for (size_t i = 0; i <= int_part.size(); ++i) {
    if (i == int_part.size() || int_part[i] == ',') {
      bool first_group = groups == 0;
      bool has_more = i < int_part.size();
      bool ok = first_group ? (group_len >= 1 && (group_len <= 3 || (!has_more && groups == 0)))
                            : group_len == 3;
      if (!ok) return bad(raw, "千位分隔符位置不对", "misplaced comma");
      ++groups;
      group_len = 0;
      continue;
    }
    char c = int_part[i];
    if (c < '0' || c > '9') return bad(raw, "含有非数字字符", "not a number");
    digits.push_back(c);
    ++group_len;
  }
  for (char c : frac_part)
    if (c < '0' || c > '9') return bad(raw, "含有非数字字符", "not a number");

  const size_t max_decimals = wan ? 6 : 2;
  if (frac_part.size() > max_decimals)
    return bad(raw, wan ? "以万为单位时最多六位小数" : "最多两位小数(分)", wan ? "more than six decimals with 万" : "more than two decimals");

  // Scale to fen: yuan -> 10^2, 万 -> 10^6.
  const int scale_digits = wan ? 6 : 2;
  std::string fen_digits = digits;
  fen_digits.append(frac_part);
  fen_digits.append(static_cast<size_t>(scale_digits) - frac_part.size(), '0');
  size_t first = fen_digits.find_first_not_of('0');
  if (first == std::string::npos) return Fen{0};
  fen_digits = fen_digits.substr(first);
  if (fen_digits.size() > 15) return bad(raw, "金额过大,超过1亿元", "larger than 100,000,000 yuan");
  Fen fen = 0;
  for (char c : fen_digits) fen = fen * 10 + (c - '0');
  if (fen > kMaxAmountFen) return bad(raw, "金额过大,超过1亿元", "larger than 100,000,000 yuan");
  return fen;
}

std::string format_yuan(Fen fen) { return format_amount(fen) + "\xE5\x85\x83"; }  // 元

std::string format_amount(Fen fen) {
  bool negative = fen < 0;
  // Work in unsigned to format INT64_MIN without overflow.
  uint64_t v = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  uint64_t yuan = v / 100;
  unsigned cents = static_cast<unsigned>(v % 100);
  std::string digits = std::to_string(yuan);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(digits[i]);
  }
  std::string out = negative ? "-" : "";
  out += grouped;
  out.push_back('.');
  out.push_back(static_cast<char>('0' + cents / 10));
  out.push_back(static_cast<char>('0' + cents % 10));
  return out;
}

std::string format_yuan_with_wan(Fen fen) {
  std::string out = format_yuan(fen);
  bool negative = fen < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  if (v < 1'000'000) return out;  // under 1万元
  // Hundredths of 万 (= 10,000 fen each), rounded half up.
  uint64_t hundredths = (v + 5'000) / 10'000;
  std::string w = (negative ? "-" : "") + std::to_string(hundredths / 100);
  unsigned frac = static_cast<unsigned>(hundredths % 100);
  if (frac != 0) {
    w.push_back('.');
    w.push_back(static_cast<char>('0' + frac / 10));
    if (frac % 10 != 0) w.push_back(static_cast<char>('0' + frac % 10));
  }
  return out + "(" + w + "\xE4\xB8\x87\xE5\x85\x83)";  // 万元
}

bool checked_add(Fen a, Fen b, Fen* out) { return !__builtin_add_overflow(a, b, out); }

}  // namespace sunledger
