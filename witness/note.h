// Parsing of an add-checkpoint request body (tlog-witness v1.0.0): the old
// size line, the consistency proof, an empty line and a signed checkpoint
// (signed-note, tlog-checkpoint). Private to witness/. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace sunledger::witness {

inline constexpr size_t kMaxProofLines = 63;      // the spec's limit for clients
inline constexpr size_t kMaxSignatureLines = 64;  // signed-note: at least 16 must be accepted

struct NoteSignature {
  std::string key_name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the key id
  // False when the base64 did not decode: such a line cannot verify, and a
  // trusted key's name on it makes the note invalid (403), not malformed.
  bool decoded = true;
};

struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<std::string> proof;  // raw 32-byte hashes
  std::string note_text;           // the checkpoint body, ending in '\n'
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<NoteSignature> signatures;
};

// kInvalidArgument (400) for anything malformed; the message says what.
Result<AddCheckpointRequest> parse_add_checkpoint(std::string_view body);

// Valid UTF-8 without ASCII control characters other than '\n'.
bool is_note_text(std::string_view text);

// A strict ASCII decimal below 2^63 with no leading zeros ("0" itself allowed).
bool parse_decimal(std::string_view text, uint64_t* out);

}  // namespace sunledger::witness
