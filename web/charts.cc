// Drawings the server makes itself: bar charts and QR codes, as inline SVG
// (no script, no request to anywhere; the CSP allows no inline style, so
// everything is an SVG attribute).
#include <qrencode.h>

#include <algorithm>
#include <memory>

#include "web/pages.h"

namespace sunledger::web {
namespace {

// Drawn in the coordinates of a 360 px phone, so its text is read at its own
// size there, not shrunk; wider screens show it as it is.
constexpr int kChartWidth = 360;
constexpr int kBarSpace = 200;  // the longest bar; the amount is written after it
constexpr int kLabelHeight = 22, kBarHeight = 16, kBarGap = 4, kRowGap = 10;
const char* const kBarColours[] = {"#9a9a9a", "#2a7a3a", "#c25a00", "#1f4f8a"};

}  // namespace

Html bar_chart(const std::vector<BarRow>& rows, std::string (*format)(Fen)) {
  static const Template svg(
      R"(<svg class="bars" viewBox="0 0 {{w}} {{h}}" width="{{w}}" height="{{h}}" role="img" aria-label="{{label}}">
{{shapes}}</svg>
)");
  static const Template row_label(R"(<text x="0" y="{{y}}" font-size="15" font-weight="600">{{text}}</text>
)");
  static const Template bar(R"(<rect x="0" y="{{y}}" width="{{w}}" height="{{h}}" fill="{{fill}}"/><text x="{{tx}}" y="{{ty}}" font-size="13">{{legend}} {{amount}}</text>
)");
  Fen largest = 1;
  for (const auto& r : rows)
    for (const auto& b : r.bars) largest = std::max(largest, b.second);
  Html shapes;
  std::string label;
  int y = 0;
  for (const auto& r : rows) {
    y += kLabelHeight;
    shapes += row_label.render({{"y", std::to_string(y - 6)}, {"text", r.label}});
    label += r.label + " ";
    for (size_t i = 0; i < r.bars.size(); ++i) {
      const auto& [legend, amount] = r.bars[i];
      // Widths in whole pixels of the chart's own coordinates; a non-zero
      // amount is at least one pixel wide, so it is never invisible.
      long width = static_cast<long>(static_cast<double>(std::max<Fen>(amount, 0)) / static_cast<double>(largest) * kBarSpace);
      if (amount > 0 && width == 0) width = 1;
      shapes += bar.render({{"y", std::to_string(y)},
                            {"w", std::to_string(width)},
                            {"h", std::to_string(kBarHeight)},
                            {"fill", kBarColours[i % 4]},
                            {"tx", std::to_string(width + 6)},
                            {"ty", std::to_string(y + kBarHeight - 3)},
                            {"legend", legend},
                            {"amount", format ? format(amount) : format_yuan(amount)}});
      y += kBarHeight + kBarGap;
    }
    y += kRowGap;
  }
  std::string w = std::to_string(kChartWidth), h = std::to_string(std::max(y, 1));
  return svg.render({{"w", w}, {"h", h}, {"label", label}, {"shapes", shapes}});
}

Html qr_svg(const std::string& text) {
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1),
                                                  QRcode_free);
  if (!code) return Html();
  // One path of unit squares, with a quiet zone of four modules around it.
  const int n = code->width, quiet = 4;
  std::string path;
  // One rectangle per run of dark modules in a row keeps the path short.
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n;) {
      if (!(code->data[y * n + x] & 1)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < n && (code->data[y * n + x + run] & 1)) ++run;
      std::string r = std::to_string(run);
      path += "M" + std::to_string(x + quiet) + " " + std::to_string(y + quiet) + "h" + r + "v1h-" + r + "z";
      x += run;
    }
  static const Template svg(
      R"(<svg class="qr" viewBox="0 0 {{size}} {{size}}" width="{{size}}" height="{{size}}" role="img" aria-label="{{text}}" shape-rendering="crispEdges"><rect width="{{size}}" height="{{size}}" fill="#fff"/><path d="{{path}}" fill="#000"/></svg>
)");
  return svg.render({{"size", std::to_string(n + 2 * quiet)}, {"text", text}, {"path", path}});
}

}  // namespace sunledger::web
