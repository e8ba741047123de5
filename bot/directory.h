// The directory: who may do what. Group bindings (which chat is which
// village's group), memberships (officials and inspectors) and the township
// API's tokens, with their whole lifecycle, and the signed admin log that
// records every change of them.
//
// Every change is an entry in the "admin" Merkle log (who, when, what; never
// a token), appended in the same transaction as the row it changes, so that
// verify() can rebuild the three tables from the log and name any row an
// insider added, edited or deleted with sqlite3.
//
// This module owns the tables group_bindings, members, api_tokens and
// directory_state, and the admin log; no other module reads them.
//
// Thread safety: a DirectoryStore may be shared by threads. snapshot() hands
// out immutable snapshots, reloaded when the admin log or the village list
// grows, so a change made by another process (the CLI beside a running
// server) takes effect on the next message that needs a current one (see
// Freshness), and within Ledger::kExternalChangeDelay for a public read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"

namespace sunledger {

enum class Role { kVillager, kOfficial, kInspector };
const char* role_name(Role role);
std::optional<Role> parse_role(const std::string& text);

// Who may do what, as stored in the directory tables.
struct Membership {
  std::string bot_id;
  std::string user_id;
  std::string village;  // official: their village; inspector: empty
  Role role = Role::kVillager;
  std::string area;     // inspector: a town name, or "all"
};

// A bearer token of the township accounting API, as authenticated.
struct ApiPrincipal {
  Role role = Role::kOfficial;
  std::string village;  // official tokens
  std::string area;     // inspector tokens
  std::string label;
  int64_t token_id = 0;  // as authenticated: the token's id (0 when not from a token)
};

struct GroupBinding {
  std::string bot_id, chat_id, village;
};

struct TokenInfo {
  int64_t id = 0;
  ApiPrincipal principal;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // 0: never (tokens of older versions)
  int64_t revoked_at = 0;  // 0: not revoked
};

struct CreatedToken {
  int64_t id = 0;
  std::string token;  // shown once; only its SHA-256 is stored
};

// One immutable view of the directory, as the bot reads it per message.
// The directory as the signed admin log says it is, replayed entry by entry.
// The running server answers from this, never from the tables: a row edited
// with sqlite3 grants nothing (verify names it; see verify()).
struct DirectoryState {
  struct Token {
    int64_t id = 0;
    std::string sha256, role, village, area, label;
    int64_t created_at = 0;
    std::optional<int64_t> expires_at, revoked_at;
    uint64_t entry = 0;  // the entry that created it
  };
  uint64_t size = 0;  // entries applied
  using Bindings = std::map<std::pair<std::string, std::string>, std::pair<std::string, uint64_t>>;
  Bindings bindings;  // (bot, chat) -> (village, entry)
  // (bot, user, role, village, area) -> entry
  using Members = std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, uint64_t>;
  Members members;
  std::map<int64_t, Token> tokens;
  std::vector<std::pair<uint64_t, std::string>> problems;  // entries that make no sense (entry, why)
  // The witness refusals the log records (bot/witness_refusals.cc): each
  // "witness_refused" entry, and the rows of the first
  // "witness_refusals_before" list, until a "clear_witness_refusal" entry.
  // (log, witness) -> the refusal as recorded, and the entry that recorded it.
  using Refusals = std::map<std::pair<std::string, std::string>, std::pair<WitnessRefusal, uint64_t>>;
  Refusals refusals;
  bool refusals_listed = false;  // the one-time list of the rows made before refusals were recorded
  // Records the deliveries log refused, the row changed without its entry
  // ("deliveries_record_refused", bot/witness_refusals.cc): entry -> what,
  // until a "clear_deliveries_record_refused" entry names it. verify names each.
  std::map<uint64_t, std::string> refused_records;

  void apply(const Entry& e);
  void apply_refusal(const std::string& op, const Entry& e);  // bot/witness_refusals.cc
};

// The witness_refusals rows judged by the signed admin log
// (DirectoryStore::witness_refusals).
struct WitnessRefusalCheck {
  // Rows an entry (or the one-time list) records as they stand: obeyed.
  // Before the list exists (this version's serve never started), every row.
  std::vector<WitnessRefusal> recorded;
  // Rows no entry records, or that differ from their entry: put in or
  // edited with sqlite3. Never obeyed (the witness is asked all the same),
  // alarmed and named by verify.
  std::vector<WitnessRefusal> unrecorded;
  // Refusals an entry records whose row is gone while no entry cleared them
  // (deleted by hand): (entry, refusal as recorded).
  std::vector<std::pair<uint64_t, WitnessRefusal>> gone;
};

struct Directory {
  uint64_t version = 0;  // the admin log's size when loaded
  // False when the admin log's entries do not match its tree and signed
  // checkpoint (edited without the key): the bindings and inspectors of its
  // entries before the first bad one are kept, so villagers still read and
  // those inspectors are still alerted, but nobody acts in a role and no
  // token works until it is restored.
  bool trusted = true;
  std::shared_ptr<const DirectoryState> state;
  std::map<std::pair<std::string, std::string>, std::string> bindings;             // (bot, chat) -> village
  std::map<std::pair<std::string, std::string>, std::vector<Membership>> members;  // (bot, user)
  std::map<std::string, Village> villages;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> groups_of;  // village -> (bot, chat)

  const Village* find_village(const std::string& id_or_name) const;
};

// Who made a directory change when nobody is named: the CLI's administrator.
inline const Author kCliAdmin{"admin", "admin", "cli"};

// Whether an inspector's area ("朱亭镇" or "all") covers a village.
bool area_covers(const std::string& area, const Village& v);

class DirectoryStore {
 public:
  static constexpr const char* kLogName = "admin";

  explicit DirectoryStore(Ledger* ledger) : ledger_(ledger) {}

  // Creates the tables if missing. The first time it runs on a deployment
  // made before the admin log existed, it records every row already there
  // as an "import" entry, so that verify covers them from then on.
  static Status create_schema(WriteTxn& txn);
  // Its tables, for Ledger::expect_tables (the bot registers them).
  static std::vector<SchemaTable> own_tables();

  // How current a snapshot must be. kCurrent asks storage whether the admin
  // log or the village registry log moved (one read of their two sizes), so a right taken away with the
  // CLI beside a running server is gone on the next message: for anything a
  // role, a write or a member's context decides. kRecent skips storage while
  // Ledger::change_generation() has not moved, so it may miss another
  // process's change for up to Ledger::kExternalChangeDelay (this process's
  // own changes never): for a public read by someone holding no role.
  enum class Freshness { kCurrent, kRecent };
  // The current directory; cached until the admin log or the village registry grows.
  Result<std::shared_ptr<const Directory>> snapshot(Freshness freshness = Freshness::kCurrent);
  // A village as the signed registry has it (a current snapshot's): its name
  // and town, not the villages table's, which is an insider's to edit.
  // kNotFound for a village not registered.
  Result<Village> registered_village(const std::string& id);

  // Changes. `by` says who made the change (the CLI's operating-system user).
  // A chat bound to another village is refused (kAlreadyExists) unless rebind.
  Status bind_group(const std::string& village, const std::string& bot_id, const std::string& chat_id, bool rebind,
                    const Author& by);
  Status unbind_group(const std::string& bot_id, const std::string& chat_id, const Author& by);
  // added (optional): false when the user already had that role (nothing logged).
  Status add_member(const Membership& m, const Author& by, bool* added = nullptr);
  // Every role of that user on that bot; kNotFound when there was none.
  Result<size_t> remove_member(const std::string& bot_id, const std::string& user_id, const Author& by);
  // Expires after `days` (1 to 3650).
  Result<CreatedToken> create_token(const ApiPrincipal& p, int days, const Author& by);
  Status revoke_token(int64_t id, const Author& by);
  // Inside the write that removed a witness refusal (Ledger::clear_witness_refusal):
  // the signed record of it in the admin log, with who (`by`, as the
  // operator named them) and why, and the refusal it cleared.
  static Status record_cleared_refusal(WriteTxn& txn, const WitnessRefusal& r, const std::string& by,
                                       const std::string& reason, const Author& author);
  // Inside the write that added a witness refusal (Ledger::refuse_witness):
  // the signed "witness_refused" entry, so that a row put in by hand (no key
  // needed) is told from the server's own (bot/witness_refusals.cc).
  static Status record_refusal(WriteTxn& txn, const WitnessRefusal& r);
  // Inside the fallback write that changed an outbox row without its
  // deliveries-log entry, the log having refused it (bot/outbox.cc): the
  // refusal signed in the admin log, `what` naming the push ("push 7
  // delivered"), so that a crash before the alarm, and the log's edit undone,
  // leave it named by verify until the inspectors clear it.
  static Status record_refused_record(WriteTxn& txn, const std::string& what, const std::string& error);
  // Clears that record (its admin-log entry number), signed with who and
  // why. kNotFound when the entry records no uncleared refusal.
  Status clear_refused_record(uint64_t entry, const std::string& by, const std::string& reason, const Author& author);
  // Once per deployment (`init` for a new one, whose list is empty; serve's
  // start and the submitter's first round for one an older version made): the
  // rows made before refusals were recorded, listed in one signed entry.
  // Only the first list counts; nothing when it exists.
  Status list_refusals_before();
  // The refusal rows judged by the admin log, read in one snapshot.
  Result<WitnessRefusalCheck> witness_refusals();

  Result<std::vector<GroupBinding>> list_groups();
  // Empty bot_id: every bot.
  Result<std::vector<Membership>> list_members(const std::string& bot_id);
  Result<std::vector<TokenInfo>> list_tokens();
  Result<ApiPrincipal> authenticate(const std::string& bearer_token);
  // What the token with this id grants now (the dashboard's token sessions
  // check it on every request): kPermissionDenied once revoked or expired.
  Result<ApiPrincipal> token_principal(int64_t id);

  // Rebuilds the three tables from the admin log and names every row that
  // differs (log "admin", the entry that made the row, or the log's size for
  // a row no entry made).
  Result<std::vector<VerifyProblem>> verify();

 private:
  // The admin log replayed up to its current size (cached, extended entry by entry).
  Result<std::shared_ptr<const DirectoryState>> replay(uint64_t size, bool use_cache);
  // The refusal rows compared with the log replayed to the size they were read at.
  static WitnessRefusalCheck judge_refusals(const DirectoryState& st, const std::vector<WitnessRefusal>& rows);
  // verify's part: each row judged unrecorded, and each recorded refusal
  // whose row is gone, named (`n`: the log's size, for a row no entry made).
  static std::vector<VerifyProblem> refusal_problems(const DirectoryState& st, const std::vector<WitnessRefusal>& rows,
                                                     uint64_t n);
  // The admin log replayed as `txn` sees it: every change decides from this,
  // never from the tables (rows an insider can delete or edit).
  Result<std::shared_ptr<const DirectoryState>> logged_state(WriteTxn& txn);
  Result<ApiPrincipal> principal_of(const Directory& d, const DirectoryState::Token* found);

  Ledger* ledger_;
  std::mutex mu_;
  std::shared_ptr<const Directory> cached_;
  // The last state replay() made (the submitter's refusals each round, with
  // no message to build a snapshot): reused while the log has not grown.
  std::shared_ptr<const DirectoryState> replayed_;
  uint64_t cached_registry_size_ = 0;  // Ledger::registry_and_log_size's first
  // The Ledger's change_generation() read before cached_ was last found current.
  uint64_t cached_generation_ = 0;
};

}  // namespace sunledger
