#include "ledger/tlog_tiles.h"

#include <charconv>
#include <cstdio>

namespace sunledger {

namespace {

// 256^level, or nullopt past 2^64 (such a level holds no tile of any real tree).
std::optional<uint64_t> width_of_level(int level) {
  if (level < 0) return uint64_t{1};
  if (level * kTileHeight >= 64) return std::nullopt;
  return uint64_t{1} << (level * kTileHeight);
}

bool parse_decimal(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string tile_path(const TileId& t) {
  std::string out = t.level == kEntriesLevel ? "tile/entries/" : "tile/" + std::to_string(t.level) + "/";
  // Three-digit groups, all but the last prefixed with "x".
  std::vector<std::string> groups;
  uint64_t n = t.index;
  do {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%03u", static_cast<unsigned>(n % 1000));
    groups.insert(groups.begin(), buf);
    n /= 1000;
  } while (n > 0);
  for (size_t i = 0; i < groups.size(); ++i) out += (i + 1 < groups.size() ? "x" + groups[i] + "/" : groups[i]);
  if (t.width < kTileWidth) out += ".p/" + std::to_string(t.width);
  return out;
}

std::optional<TileId> parse_tile_path(std::string_view path) {
  TileId t;
  const std::string_view original = path;
  if (path.substr(0, 5) != "tile/") return std::nullopt;
  path.remove_prefix(5);
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view level = path.substr(0, slash);
  path.remove_prefix(slash + 1);
  if (level == "entries") {
    t.level = kEntriesLevel;
  } else {
    uint64_t l = 0;
    if (!parse_decimal(level, &l) || l > 63) return std::nullopt;
    t.level = static_cast<int>(l);
  }
  // The width suffix, then the index groups.
  if (size_t p = path.find(".p/"); p != std::string_view::npos) {
    uint64_t w = 0;
    if (!parse_decimal(path.substr(p + 3), &w) || w < 1 || w > 255) return std::nullopt;
    t.width = static_cast<int>(w);
    path = path.substr(0, p);
  }
  uint64_t index = 0;
  while (true) {
    slash = path.find('/');
    std::string_view group = path.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (!last) {
      if (group.size() != 4 || group[0] != 'x') return std::nullopt;
      group.remove_prefix(1);
    }
    if (group.size() != 3) return std::nullopt;
    unsigned g = 0;
    for (char c : group) {
      if (c < '0' || c > '9') return std::nullopt;
      g = g * 10 + static_cast<unsigned>(c - '0');
    }
    if (index > (UINT64_MAX - g) / 1000) return std::nullopt;
    index = index * 1000 + g;
    if (last) break;
    path.remove_prefix(slash + 1);
  }
  t.index = index;
  // One encoding per tile: "x000/001" or "0001" would be a second name for 1.
  if (tile_path(t) != original) return std::nullopt;
  return t;
}

std::vector<TileId> tiles_for_size(uint64_t size, bool with_entries) {
  std::vector<TileId> out;
  for (int level = 0; level * kTileHeight < 64; ++level) {
    uint64_t span = *width_of_level(level);  // leaves under one hash of this level
    uint64_t hashes = size / span;           // complete hashes at this level
    if (hashes == 0) break;
    for (uint64_t n = 0; n * kTileWidth < hashes; ++n) {
      uint64_t left = hashes - n * kTileWidth;
      int width = left >= kTileWidth ? kTileWidth : static_cast<int>(left);
      if (level == 0 && with_entries) out.push_back({kEntriesLevel, n, width});
      out.push_back({level, n, width});
    }
  }
  return out;
}

bool tile_within(const TileId& t, uint64_t size) {
  auto span = width_of_level(t.level == kEntriesLevel ? 0 : t.level);
  if (!span || t.width < 1 || t.width > kTileWidth) return false;
  // The tile's last hash covers leaves up to (index * 256 + width) * span.
  if (t.index > (UINT64_MAX / kTileWidth)) return false;
  uint64_t hashes = t.index * kTileWidth + static_cast<uint64_t>(t.width);
  return hashes <= size / *span;
}

}  // namespace sunledger
