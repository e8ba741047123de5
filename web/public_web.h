// The public web: pages anyone may read about the village books, server-
// rendered HTML that reads without scripts (see README, "The public web").
// It reads the ledger and the bot's public reads only: no complaint text and
// no reporter identity reaches a page.
//
// Ownership: PublicWeb borrows the ledger and the bot, which must outlive it.
// Thread safety: get() may be called from any number of threads at once; the
// page cache is behind a mutex and hands out immutable pages.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bot/bot.h"
#include "ledger/ledger.h"

namespace sunledger::web {

struct WebOptions {
  // Where the public reaches this server ("https://lukou.example"), for the
  // QR code on a printed notice; "" prints the path alone.
  std::string public_url;
};

struct WebPage {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class PublicWeb {
 public:
  PublicWeb(Ledger* ledger, Bot* bot, WebOptions options);
  ~PublicWeb();
  PublicWeb(const PublicWeb&) = delete;
  PublicWeb& operator=(const PublicWeb&) = delete;

  // The page at `path` (no query string), or nullopt when the path is none
  // of the public web's. Failures are pages too (404 names what is missing,
  // 503 when the storage cannot be read).
  std::optional<WebPage> get(const std::string& path);

  // Pages rendered so far, not served from the cache (tests, metrics): a page
  // is rendered again only when its village's log grew (or, for pages that
  // show today's alerts and complaint counts, when the day or minute turned).
  uint64_t renders() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sunledger::web
