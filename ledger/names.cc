#include "ledger/names.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

namespace sunledger {

Result<std::string> normalize_name(std::string_view name, const char* zh, const char* en) {
  if (name.empty()) return std::string();
  auto refuse = [&](const std::string& why_zh, const std::string& why_en) -> Status {
    return invalid_argument(std::string(zh) + why_zh + " (" + en + " " + why_en + ")");
  };
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(name.data());
  auto len = static_cast<utf8proc_ssize_t>(name.size());
  for (utf8proc_ssize_t i = 0; i < len;) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(bytes + i, len - i, &cp);
    if (n <= 0) return refuse("含有无效字符", "has invalid characters");
    // Default-ignorable code points show nothing, whatever their category:
    // a combining grapheme joiner, variation selectors (Mn), Hangul fillers
    // (Lo). The blank Braille pattern (So) shows a space that is not one.
    if (utf8proc_get_property(cp)->ignorable || cp == 0x2800)
      return refuse("含有看不见的格式字符(如零宽空格、文字方向控制符)", "contains invisible formatting characters");
    switch (utf8proc_category(cp)) {
      case UTF8PROC_CATEGORY_CF:
        return refuse("含有看不见的格式字符(如零宽空格、文字方向控制符)", "contains invisible formatting characters");
      case UTF8PROC_CATEGORY_CC:
      case UTF8PROC_CATEGORY_ZL:
      case UTF8PROC_CATEGORY_ZP:
        return refuse("含有控制字符或换行", "contains control characters or line breaks");
      case UTF8PROC_CATEGORY_ZS:
        if (cp != 0x20) return refuse("只能用普通空格", "may contain only the ordinary space U+0020");
        break;
      default:
        break;
    }
    i += n;
  }
  if (name.front() == ' ' || name.back() == ' ') return refuse("前后不能有空格", "must not start or end with a space");
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> nfc(utf8proc_NFC(bytes), &std::free);
  if (!nfc) return refuse("含有无效字符", "has invalid characters");
  return std::string(reinterpret_cast<const char*>(nfc.get()));
}

}  // namespace sunledger
