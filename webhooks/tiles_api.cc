// GET /logs/{log}/checkpoint and /logs/{log}/tile/...: every village's log as
// C2SP tlog-tiles v0.1.0, read-only, so that anyone can
// mirror and check a log with plain GETs (sunledger check, any tlog client).
#include <memory>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "bot/complaints.h"
#include "ledger/tlog_tiles.h"
#include "webhooks/internal.h"

namespace sunledger::http {

namespace {

// Tiles never change once the tree reaches them, partial ones included (a
// partial tile names its width); the checkpoint moves with every write.
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kShortLived = "public, max-age=5";

// What a tile request needs besides the ledger, shared by the workers: the
// logs known to be public (a village is never removed) and the tiles already
// read. A tile's bytes never change, so a hit needs no storage read at all;
// past kMaxBytes the cache starts again empty (mirrors read the same few
// recent tiles; old ones are cheap to read again).
class TileCache {
 public:
  static constexpr size_t kMaxBytes = 64u << 20;

  // Only the logs the public may read: a village's. Never the registry or the
  // admin log, whose names no village may take, and not the complaint log:
  // its entries time each named filing to the second and link a reporter's
  // filings by one commitment, and its checkpoint moves with every filing;
  // the public sees complaint counts as of 00:00 today only.
  bool public_log(Ledger& ledger, const std::string& log) {
    if (log == Complaints::kLogName) return false;
    if (log == Ledger::kRegistryLog) return false;
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      if (villages_.count(log)) return true;
    }
    if (!ledger.village(log).is_ok()) return false;
    std::unique_lock<std::shared_mutex> lock(mu_);
    villages_.insert(log);
    return true;
  }
  std::shared_ptr<const std::string> find(const std::string& key) {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = tiles_.find(key);
    return it == tiles_.end() ? nullptr : it->second;
  }
  void put(const std::string& key, std::shared_ptr<const std::string> bytes) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (bytes_ + bytes->size() > kMaxBytes) {
      tiles_.clear();
      bytes_ = 0;
    }
    if (tiles_.emplace(key, bytes).second) bytes_ += bytes->size();
  }

 private:
  std::shared_mutex mu_;
  std::set<std::string> villages_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> tiles_;
  size_t bytes_ = 0;
};

void send_text(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(text, "text/plain; charset=utf-8");
}

}  // namespace

void register_tiles_api(httplib::Server& server, Ledger& ledger) {
  auto cache = std::make_shared<TileCache>();
  server.Get(R"(/logs/([a-z0-9-]{1,64})/checkpoint)", [&ledger, cache](const httplib::Request& req, httplib::Response& res) {
    std::string log = req.matches[1];
    if (!cache->public_log(ledger, log)) return send_text(res, 404, "no such log\n");
    auto cp = ledger.checkpoint(log);
    if (!cp.is_ok() || cp->empty()) return send_text(res, cp.is_ok() ? 404 : status_for(cp.status().code()), "no checkpoint\n");
    res.set_header("Cache-Control", kShortLived);
    res.set_content(*cp, "text/plain; charset=utf-8");
  });

  server.Get(R"(/logs/([a-z0-9-]{1,64})/(tile/.*))", [&ledger, cache](const httplib::Request& req, httplib::Response& res) {
    std::string log = req.matches[1], path = req.matches[2];
    auto tile = parse_tile_path(path);
    if (!tile) return send_text(res, 400, "malformed tile path (C2SP tlog-tiles: tile/L/x001/234[.p/W])\n");
    std::string key = log + "/" + path;
    auto bytes = cache->find(key);
    if (!bytes) {
      if (!cache->public_log(ledger, log)) return send_text(res, 404, "no such log\n");
      auto read = ledger.tile(log, *tile);
      if (!read.is_ok()) {
        bool missing = read.status().code() == Code::kNotFound;
        return send_text(res, missing ? 404 : status_for(read.status().code()), missing ? "no such tile\n" : "tile unavailable\n");
      }
      bytes = std::make_shared<const std::string>(std::move(*read));
      cache->put(key, bytes);
    }
    res.set_header("Cache-Control", kImmutable);
    res.set_content(*bytes, "application/octet-stream");
  });
}

}  // namespace sunledger::http
