// Serving a log as C2SP tiles: a tile's hashes are the stored subtree hashes
// of one level (every perfect subtree is kept when its last leaf arrives), an
// entry bundle the stored leaves; one indexed range read each.
#include "ledger/ledger.h"

#include "ledger/ledger_internal.h"

namespace sunledger {

using namespace ledger_internal;

Result<std::string> Ledger::tile(const std::string& log_name, const TileId& t) {
  try {
    auto conn = read();
    auto row = find_log(conn.db().statement(kFindLog), log_name);
    if (!row.is_ok()) return row.status();
    if (!tile_within(t, row->size))
      return not_found("tile " + tile_path(t) + " is beyond the log of size " + std::to_string(row->size));
    const int64_t first = static_cast<int64_t>(t.index * kTileWidth), end = first + t.width;
    std::string out;
    if (t.level == kEntriesLevel) {
      auto& q = conn.db().statement("SELECT leaf FROM entries WHERE log_id=? AND idx>=? AND idx<? ORDER BY idx");
      q.bind(1, row->id);
      q.bind(2, first);
      q.bind(3, end);
      int n = 0;
      while (q.step()) {
        std::string_view col = q.column_blob_view(0);
        size_t len = static_cast<size_t>(col.size());
        if (len > kMaxLeafBytes) return data_loss("entry too large for an entry bundle in log " + log_name);
        out.push_back(static_cast<char>(len >> 8));
        out.push_back(static_cast<char>(len & 0xff));
        out.append(col.data(), len);
        ++n;
      }
      q.reset();
      if (n != t.width) return data_loss("log " + log_name + " is missing entries of " + tile_path(t));
      return out;
    }
    auto& q = conn.db().statement("SELECT hash FROM nodes WHERE log_id=? AND level=? AND idx>=? AND idx<? ORDER BY idx");
    q.bind(1, row->id);
    q.bind(2, t.level * kTileHeight);
    q.bind(3, first);
    q.bind(4, end);
    out.reserve(static_cast<size_t>(t.width) * 32);
    while (q.step()) {
      std::string_view col = q.column_blob_view(0);
      if (col.size() != 32) return data_loss("malformed subtree hash in log " + log_name);
      out.append(col.data(), 32);
    }
    q.reset();
    if (out.size() != static_cast<size_t>(t.width) * 32)
      return data_loss("log " + log_name + " is missing subtree hashes of " + tile_path(t));
    return out;
  } catch (const sql::Error& e) {
    return from_sql(e, "tile");
  }
}

}  // namespace sunledger
