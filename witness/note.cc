#include "witness/note.h"

#include "ledger/checkpoint.h"

namespace sunledger::witness {
namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // em dash, space

// Splits off one '\n'-terminated line; false when no newline is left.
bool next_line(std::string_view* rest, std::string_view* line) {
  size_t eol = rest->find('\n');
  if (eol == std::string_view::npos) return false;
  *line = rest->substr(0, eol);
  rest->remove_prefix(eol + 1);
  return true;
}

}  // namespace

bool is_note_text(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n') || c == 0x7F) return false;
      ++i;
      continue;
    }
    int extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (extra < 0 || i + static_cast<size_t>(extra) >= text.size()) return false;
    uint32_t cp = c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond Unicode are not UTF-8.
    static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

bool parse_decimal(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;  // SQLite stores sizes as signed 64-bit
  *out = v;
  return true;
}

Result<AddCheckpointRequest> parse_add_checkpoint(std::string_view body) {
  if (!is_note_text(body)) return invalid_argument("request is not UTF-8 text without control characters");
  AddCheckpointRequest r;
  std::string_view rest = body, line;
  if (!next_line(&rest, &line) || line.substr(0, 4) != "old " || !parse_decimal(line.substr(4), &r.old_size))
    return invalid_argument("first line must be `old SIZE` (decimal, no leading zeros)");
  while (true) {
    if (!next_line(&rest, &line)) return invalid_argument("missing the empty line before the checkpoint");
    if (line.empty()) break;
    if (r.proof.size() == kMaxProofLines) return invalid_argument("more than 63 consistency proof lines");
    auto h = base64_decode(line);
    if (!h.is_ok() || h->size() != 32) return invalid_argument("consistency proof line is not a base64 SHA-256 hash");
    r.proof.push_back(std::move(*h));
  }
  // The checkpoint: its text ends at the last blank line (signed-note).
  std::string_view note = rest;
  if (note.empty() || note.back() != '\n') return invalid_argument("checkpoint must end in a newline");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return invalid_argument("checkpoint has no blank line before its signatures");
  r.note_text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return invalid_argument("checkpoint carries no signature");
  while (next_line(&sigs, &line)) {
    if (r.signatures.size() == kMaxSignatureLines) return invalid_argument("too many signature lines");
    if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) return invalid_argument("malformed signature line");
    line.remove_prefix(kSignaturePrefix.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || !valid_key_name(line.substr(0, sp)))
      return invalid_argument("malformed signature line");
    auto blob = base64_decode(line.substr(sp + 1));
    NoteSignature s;
    s.key_name = std::string(line.substr(0, sp));
    if (!blob.is_ok() || blob->size() < 5) {
      s.decoded = false;
      r.signatures.push_back(std::move(s));
      continue;
    }
    s.key_id = static_cast<uint32_t>(static_cast<unsigned char>((*blob)[0])) << 24 |
               static_cast<uint32_t>(static_cast<unsigned char>((*blob)[1])) << 16 |
               static_cast<uint32_t>(static_cast<unsigned char>((*blob)[2])) << 8 |
               static_cast<unsigned char>((*blob)[3]);
    s.signature = blob->substr(4);
    r.signatures.push_back(std::move(s));
  }

  // tlog-checkpoint: origin, size, root hash, then optional extension lines.
  std::string_view text = r.note_text, origin, size, root;
  if (!next_line(&text, &origin) || !next_line(&text, &size) || !next_line(&text, &root))
    return invalid_argument("checkpoint needs an origin, a size and a root hash line");
  if (origin.empty()) return invalid_argument("checkpoint origin is empty");
  if (!parse_decimal(size, &r.size)) return invalid_argument("checkpoint size is not a decimal");
  auto h = hash_from_base64(root);
  if (!h.is_ok()) return invalid_argument("checkpoint root is not a base64 SHA-256 hash");
  r.root = *h;
  while (next_line(&text, &line))
    if (line.empty()) return invalid_argument("checkpoint extension lines must not be empty");
  r.origin = std::string(origin);
  return r;
}

}  // namespace sunledger::witness
