#include "ledger/identity.h"

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
  if (id.size() < 10) return std::string(id.size(), '*');
  return std::string(id.substr(0, 6)) + std::string(id.size() - 10, '*') + std::string(id.substr(id.size() - 4));
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

}  // namespace sunledger
