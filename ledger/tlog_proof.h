// C2SP tlog-proof blocks (an offline proof that an entry is in a signed
// checkpoint) and C2SP tlog-cosignature v1 verification. Pure functions: the
// bot writes a block into each monthly notice, `sunledger check --proof`
// reads one back, with nothing but the keys.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/status.h"

namespace sunledger {

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";

struct TlogProof {
  std::string extra;  // raw bytes (the block carries them base64); "" when absent
  uint64_t index = 0;
  std::vector<Hash> proof;  // nearest the leaf first
  std::string checkpoint;   // the signed note, verbatim, with its cosignatures
};

// The block: header, "extra" (when there is some), "index", one base64 hash a
// line, a blank line, the checkpoint. Ends with a newline.
std::string format_tlog_proof(const TlogProof& p);

// Reads a block out of pasted text (a whole notice may surround it), mending
// what a chat does to text and nothing a signature covers: CR LF line ends,
// spaces (also U+00A0 and U+3000) around lines, blank lines added or lost
// between the parts. The checkpoint's body is the lines up to its first
// "— " signature line; its signatures end at the first line that is none.
Result<TlogProof> parse_tlog_proof(std::string_view text);

// Finds a signed checkpoint in pasted text (a villager's copy from an old
// notice, pasted after 核验), mending what parse_tlog_proof mends: a whole
// tlog-proof block gives its checkpoint; otherwise the first origin line
// followed by a decimal size line and a base64 root line, then its other body
// lines up to the first "— " signature line, and the signature lines that
// follow. Text around it is ignored. The note is returned, not verified.
Result<std::string> find_signed_checkpoint(std::string_view text);

// A witness's verifier key ("name+hexid+base64(0x04 || key)") holds a valid
// cosignature/v1 line on the note; the cosignature's time through `time`.
Status verify_cosignature(std::string_view note, std::string_view witness_vkey, uint64_t* time = nullptr);

struct VerifiedTlogProof {
  Checkpoint checkpoint;
  std::string leaf;  // the entry proven: the block's extra data, now authenticated
  std::vector<std::string> witnesses;  // names of the witnesses whose cosignature verified
};

// The tlog-proof verification steps with the entry's bytes carried as the
// block's extra data: the log's signature, every given witness's cosignature
// (each one required), and the inclusion of SHA-256(0x00 || extra) at index
// in the checkpoint's tree.
Result<VerifiedTlogProof> verify_tlog_proof(const TlogProof& p, std::string_view log_vkey,
                                            const std::vector<std::string>& witness_vkeys);

}  // namespace sunledger
