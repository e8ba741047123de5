#include "web/html.h"

namespace sunledger::web {

Html Html::escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return Html(std::move(out));
}

Template::Template(std::string_view source) {
  size_t at = 0;
  while (at < source.size()) {
    size_t open = source.find("{{", at);
    size_t close = open == std::string_view::npos ? open : source.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    parts_.push_back({std::string(source.substr(at, open - at)), std::string(source.substr(open + 2, close - open - 2))});
    at = close + 2;
  }
  parts_.push_back({std::string(source.substr(std::min(at, source.size()))), ""});
}

Html Template::render(Slots slots) const {
  std::string out;
  for (const auto& part : parts_) {
    out += part.literal;
    if (part.slot.empty()) continue;
    for (const auto& [name, value] : slots)
      if (name == part.slot) {
        out += value.html().str();
        break;
      }
  }
  return Html(std::move(out));
}

}  // namespace sunledger::web
