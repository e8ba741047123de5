// The log key (Ed25519) and C2SP tlog-checkpoint / signed-note encoding.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "ledger/status.h"

struct evp_pkey_st;

namespace sunledger {

// Signs checkpoints. An interface so tests and HSM-backed deployments can
// supply their own key store; the ledger never sees raw private key bytes.
// Thread safety: implementations are immutable once made; sign() and the
// accessors may be called from any number of threads at once (the ledger's
// writer and verify's threads do). Whoever makes a signer owns it and keeps
// it alive as long as the Ledger that borrows it (Ledger::Options::signer).
class NoteSigner {
 public:
  virtual ~NoteSigner() = default;
  virtual const std::string& key_name() const = 0;
  virtual const std::string& public_key() const = 0;  // 32 raw bytes
  virtual Result<std::string> sign(std::string_view message) const = 0;  // 64 bytes
};

// An Ed25519 key kept as a PKCS#8 PEM file (mode 0600). Owns its OpenSSL
// key (freed with it); each sign() uses a context of its own.
class Ed25519KeyFile final : public NoteSigner {
 public:
  ~Ed25519KeyFile() override;
  // Creates a new random key at path; refuses to overwrite an existing file.
  static Result<std::unique_ptr<Ed25519KeyFile>> create(const std::string& path, const std::string& key_name);
  // Loads a key; refuses a file that group or others may read.
  static Result<std::unique_ptr<Ed25519KeyFile>> load(const std::string& path, const std::string& key_name);

  const std::string& key_name() const override { return name_; }
  const std::string& public_key() const override { return public_key_; }
  Result<std::string> sign(std::string_view message) const override;
  std::string public_key_pem() const;

 private:
  Ed25519KeyFile() = default;
  ::evp_pkey_st* key_ = nullptr;
  std::string name_;
  std::string public_key_;
};

// A verifier key standing in for the log key where only verification is
// wanted (a backup folder holds no private key): it refuses to sign.
class VerifierOnlyKey final : public NoteSigner {
 public:
  static Result<std::unique_ptr<VerifierOnlyKey>> parse(std::string_view verifier_key);
  const std::string& key_name() const override { return name_; }
  const std::string& public_key() const override { return public_key_; }
  Result<std::string> sign(std::string_view) const override;

 private:
  std::string name_;
  std::string public_key_;
};

// key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
uint32_t note_key_id(std::string_view key_name, std::string_view public_key);
// "name+hexid+base64(0x01 || public key)", what verifiers are given.
std::string verifier_key(std::string_view key_name, std::string_view public_key);
// A signed note's key name (C2SP signed-note): non-empty, no space, control
// character or '+'.
bool valid_key_name(std::string_view name);

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};

// The checkpoint body: origin, size and base64 root, one per line.
std::string checkpoint_body(const Checkpoint& cp);
// A signed note's body: its lines up to the blank line before the
// signatures, with the newline that ends the last ("" when there is none).
// Two notes with the same body are the same checkpoint, whoever signed them.
std::string note_body(std::string_view note);
// The body followed by a blank line and one "— name base64(keyid || sig)" line.
Result<std::string> sign_checkpoint(const Checkpoint& cp, const NoteSigner& signer);
// Parses a signed note, checks its signature against the verifier key and
// returns the checkpoint it carries.
Result<Checkpoint> open_checkpoint(std::string_view note, std::string_view verifier_key);
// Ed25519 verification of a raw signature.
bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace sunledger
