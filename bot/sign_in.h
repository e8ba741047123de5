// Signing in to the inspector's dashboard (web/, /inspect): the one-time
// links the bot sends an inspector who writes 登录 in private chat, sign-in
// with an inspector's API token, and the sessions both open.
//
// Only keyed digests are stored: a link's and a session's SHA-256, never the
// secret itself (the link is shown once, in the chat reply; the session
// token lives in the inspector's cookie). Each row is signed by the log key
// over what it grants (digest, who, expiry), so a row an insider adds or
// edits with sqlite3 grants nothing; a link is deleted when used, a session
// when its inspector signs out. Who a session is for is checked against the
// directory on every request: an inspector removed (or a token revoked) is
// signed out at once, and an area changed takes effect at once.
//
// This module owns the tables sign_in_links and dashboard_sessions.
// Thread safety: stateless but for borrowed pointers; every call runs its own
// ledger transaction (issue_link runs in the caller's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bot/directory.h"
#include "ledger/ledger.h"

namespace sunledger {

// Who is signed in, as the directory says now.
struct DashboardUser {
  std::string actor;               // what a transition records: the user id, or "api:LABEL"
  std::string shown;               // how the page names them: "generic/zhuting-inspector", "API 令牌 LABEL"
  std::vector<std::string> areas;  // "朱亭镇" or "all"; several when the user holds several
};

struct DashboardSession {
  std::string token;  // the cookie's value (64 letters a to p), shown once
  DashboardUser user;
  int64_t expires_at = 0;
};

class InspectorSignIn {
 public:
  static constexpr int64_t kLinkSeconds = 10 * 60;
  static constexpr int64_t kSessionSeconds = 8 * 3600;

  // Borrows both, which must outlive it.
  InspectorSignIn(Ledger* ledger, DirectoryStore* directory) : ledger_(ledger), directory_(directory) {}

  static Status create_schema(WriteTxn& txn);
  // Its tables, for Ledger::expect_tables (the bot registers them).
  static std::vector<SchemaTable> own_tables();

  // Inside the 登录 command's write: a new one-time token for (bot, user),
  // valid kLinkSeconds. The caller checked that the sender is an inspector.
  Result<std::string> issue_link(WriteTxn& txn, const std::string& bot_id, const std::string& user_id);
  // Uses the link (once) and opens a session; kPermissionDenied for a token
  // unknown, used, expired, or of someone no longer an inspector.
  Result<DashboardSession> redeem_link(const std::string& token);
  // An inspector's API token opens a session; any other (an official's,
  // revoked, expired) is kPermissionDenied, saying why.
  Result<DashboardSession> sign_in_with_api_token(const std::string& api_token);
  // Who the session is for, now; kPermissionDenied when it is unknown,
  // expired, signed out, or its inspector or token is gone.
  Result<DashboardUser> session(const std::string& token);
  // Signs out: the session's row is deleted (an unknown one is no error).
  Status end_session(const std::string& token);

 private:
  Result<DashboardUser> member_user(const std::string& bot_id, const std::string& user_id);
  Result<DashboardUser> token_user(int64_t token_id);
  Result<DashboardSession> open_session(WriteTxn& txn, const std::string& kind, const std::string& bot_id,
                                        const std::string& user_id, int64_t token_id, DashboardUser user);
  Ledger* ledger_;
  DirectoryStore* directory_;
};

}  // namespace sunledger
