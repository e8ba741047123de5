// C2SP tlog-tiles v0.1.0 paths and shapes: which tiles a tree of a given size
// has, and how a tile's path is written and read. Pure functions, no state:
// the server, export-tiles and the independent checker all name tiles here,
// so what one writes the others read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sunledger {

inline constexpr int kTileHeight = 8;     // a tile is a subtree of height 8
inline constexpr int kTileWidth = 256;    // hashes (or entries) in a full tile
inline constexpr int kEntriesLevel = -1;  // TileId::level of an entry bundle

// One tile: level L (0 = leaf hashes; kEntriesLevel = the entry bundle over
// the leaves of level-0 tile N), index N, width W (256 = full).
struct TileId {
  int level = 0;
  uint64_t index = 0;
  int width = kTileWidth;
  bool operator==(const TileId&) const = default;
};

// "tile/0/x001/x234/067.p/5", "tile/entries/000": the path under a log's prefix.
std::string tile_path(const TileId& t);
// The inverse, for a path exactly as tile_path writes it (no leading slash);
// nullopt for anything else: leading zeroes, a level past 63, a width of 0
// or 256 after ".p/", "..", extra slashes, an index past 2^64.
std::optional<TileId> parse_tile_path(std::string_view path);

// Every tile of a tree of `size` leaves: all full tiles and the partial
// tiles of that size, level by level, level 0 first; with_entries adds each
// level-0 tile's entry bundle before it.
std::vector<TileId> tiles_for_size(uint64_t size, bool with_entries);

// Whether a tree of `size` leaves has the tile (full, or partial of a size
// up to `size`): a tile past the tree is never served.
bool tile_within(const TileId& t, uint64_t size);

}  // namespace sunledger
