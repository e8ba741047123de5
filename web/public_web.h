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
#include <functional>
#include <map>
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

// A request to the inspector's dashboard (/inspect...), which takes forms
// and a session cookie.
struct WebRequest {
  std::string method;  // "GET" or "POST"
  std::string path;    // no query string
  std::multimap<std::string, std::string> params;  // the query, and a POST's form fields
  std::string cookie;  // the Cookie header ("" when none)
};

struct WebPage {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class PublicWeb {
 public:
  // on_outbox_write is told after the dashboard queued a push (a reporter's
  // status update), so the sender delivers it now; null: nobody is told.
  PublicWeb(Ledger* ledger, Bot* bot, WebOptions options, std::function<void()> on_outbox_write = {});
  ~PublicWeb();
  PublicWeb(const PublicWeb&) = delete;
  PublicWeb& operator=(const PublicWeb&) = delete;

  // The page at `path` (no query string), or nullopt when the path is none
  // of the public web's. Failures are pages too (404 names what is missing,
  // 503 when the storage cannot be read).
  std::optional<WebPage> get(const std::string& path);

  // The inspector's dashboard: /inspect and the paths under it, nullopt for
  // any other path. Sign-in (one-time link from the bot's 登录, or an
  // inspector's API token), the queue, one complaint and its next
  // transition, the CSV, statistics, sign-out; nothing but the sign-in pages
  // without a session, and no POST without the form's CSRF token. Never cached.
  std::optional<WebPage> inspect(const WebRequest& request);

  // Pages rendered so far, not served from the cache (tests, metrics): a page
  // is rendered again only when its village's log grew (or, for pages that
  // show today's alerts and complaint counts, when the day or minute turned).
  uint64_t renders() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sunledger::web
