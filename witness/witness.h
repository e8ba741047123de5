// A transparency-log witness (C2SP tlog-witness v1.0.0): it keeps, for each
// log it trusts, the latest checkpoint it verified, and cosigns a newer one
// (tlog-cosignature v1.0.1, Ed25519 `cosignature/v1`) only when a consistency
// proof shows the new tree extends the old one. A township runs one so that a
// county's operator cannot show two histories of a village's books.
//
// Ownership: a Witness owns its data folder's database (witness.db) and key
// (witness-key.pem); nothing else opens them, and it never opens the ledger's.
// Thread safety: every member may be called from any number of threads at
// once. add_checkpoint checks the old size and updates the state atomically
// (two requests from the same old size cannot both succeed) and answers only
// once the new state is durable; concurrent requests share one commit
// (witness/state_store.h). One process at a time records checkpoints in a
// folder: the first add_checkpoint (or claim) locks it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace sunledger::witness {

// A trust line: every log whose origin starts with origin_prefix, signed by
// the Ed25519 verifier key (name+id+base64(0x01 || key)).
struct TrustedLog {
  std::string origin_prefix;
  std::string verifier_key;
};

// The latest checkpoint the witness cosigned for one origin.
struct LogState {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  int64_t updated_at = 0;  // POSIX seconds
};

// A log's state the witness's operator removed with `witness forget-log`
// (after a county restored an older backup, once the inspectors recorded the
// incident), kept as evidence of what the witness had cosigned.
struct ForgottenLog {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::string checkpoint;  // the signed checkpoint the witness last cosigned (its text alone before session 13)
  int64_t cosigned_at = 0;  // POSIX seconds
  std::string by;           // who forgot it, as they name themselves
  std::string reason;
  int64_t forgotten_at = 0;  // POSIX seconds
};

// An HTTP answer, ready to send.
struct Answer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Request bodies above this are refused before parsing (413 at the edge, 400 here):
// 63 proof lines and a checkpoint with many signatures fit well below it.
inline constexpr size_t kMaxRequestBytes = 128 * 1024;

class Witness {
 public:
  ~Witness();
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // Makes the data folder (mode 0700), its database and a new key named
  // `name` (a schema-less URL such as witness.lukou.example/w1). Refuses a
  // folder that holds a witness already.
  static Status init(const std::string& dir, const std::string& name);
  static Result<std::unique_ptr<Witness>> open(const std::string& dir);

  const std::string& name() const;
  // name+hex(key id)+base64(0x04 || public key): what logs are configured with.
  std::string verifier_key() const;

  // Trusts every origin starting with prefix under the Ed25519 log key vkey.
  Status add_log(const std::string& origin_prefix, const std::string& vkey);
  Result<std::vector<TrustedLog>> trusted_logs() const;
  Result<std::vector<LogState>> states() const;
  // Checkpoints that were validly signed but refused (409 on a different root,
  // 422 on a failed proof): evidence that a log misbehaved, kept for inspectors.
  Result<int64_t> evidence_count() const;

  // In one transaction: keeps origin's state as a ForgottenLog with by and
  // reason, and removes it, so the origin's next checkpoint is taken as a log
  // never seen (old 0). A running serve (another process) sees it at its next
  // request (witness/state_store.h). not_found when the witness holds no
  // state of origin; by and reason must be one line of text each.
  Result<ForgottenLog> forget_log(const std::string& origin, const std::string& by, const std::string& reason);
  Result<std::vector<ForgottenLog>> forgotten_logs() const;  // oldest first

  // Locks the folder for this process's add_checkpoint calls; fails when
  // another process (a second `witness serve`) holds it.
  Status claim();

  // POST add-checkpoint: the whole request body in, the spec's answer out.
  Answer add_checkpoint(std::string_view body);

  struct Impl;

 private:
  explicit Witness(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The cosignature key id: SHA-256(name || 0x0A || 0x04 || public key)[:4].
uint32_t cosignature_key_id(std::string_view name, std::string_view public_key);
// "— name base64(key id || u64 timestamp || Ed25519 signature)\n" over
// "cosignature/v1\ntime T\n" + checkpoint body.
Result<std::string> cosignature_line(std::string_view name, std::string_view public_key,
                                     std::string_view ed25519_signature, uint64_t timestamp);
std::string cosigned_message(std::string_view checkpoint_body, uint64_t timestamp);
// Verifies a cosignature line (from a witness's answer) against its vkey and
// the checkpoint body; returns the timestamp it carries.
Result<uint64_t> verify_cosignature(std::string_view line, std::string_view checkpoint_body, std::string_view vkey);

}  // namespace sunledger::witness
