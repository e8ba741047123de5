#include "ledger/tlog_proof.h"

#include <charconv>

#include "ledger/merkle.h"

namespace sunledger {

namespace {

constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014 and a space: a signature line
constexpr char kAlgCosignatureV1 = 0x04;

// Trims ASCII blanks, U+00A0 and U+3000 from both ends of a line.
std::string_view trim(std::string_view s) {
  while (true) {
    if (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    else if (s.substr(0, 2) == "\xC2\xA0") s.remove_prefix(2);
    else if (s.substr(0, 3) == "\xE3\x80\x80") s.remove_prefix(3);
    else break;
  }
  while (true) {
    if (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    else if (s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0") s.remove_suffix(2);
    else if (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80") s.remove_suffix(3);
    else break;
  }
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t eol = text.find_first_of("\n\r");
    out.push_back(trim(text.substr(0, eol)));
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return out;
}

bool is_hash_line(std::string_view line) {
  if (line.size() != 44) return false;
  auto h = base64_decode(line);
  return h.is_ok() && h->size() == 32;
}

}  // namespace

std::string format_tlog_proof(const TlogProof& p) {
  std::string out(kTlogProofHeader);
  out += "\n";
  if (!p.extra.empty()) out += "extra " + base64_encode(p.extra) + "\n";
  out += "index " + std::to_string(p.index) + "\n";
  for (const auto& h : p.proof) out += base64_encode(h) + "\n";
  out += "\n" + p.checkpoint;
  if (out.back() != '\n') out += "\n";
  return out;
}

Result<TlogProof> parse_tlog_proof(std::string_view text) {
  auto lines = lines_of(text);
  size_t i = 0;
  while (i < lines.size() && lines[i] != kTlogProofHeader) ++i;
  if (i == lines.size()) return invalid_argument("no tlog-proof block: no line reads " + std::string(kTlogProofHeader));
  ++i;
  auto skip_blank = [&] {
    while (i < lines.size() && lines[i].empty()) ++i;
  };
  TlogProof p;
  skip_blank();
  if (i < lines.size() && lines[i].substr(0, 6) == "extra ") {
    auto extra = base64_decode(trim(lines[i].substr(6)));
    if (!extra.is_ok()) return invalid_argument("tlog-proof: the extra line is not base64");
    p.extra = *extra;
    ++i;
    skip_blank();
  }
  if (i >= lines.size() || lines[i].substr(0, 6) != "index ") return invalid_argument("tlog-proof: no index line");
  std::string_view idx = trim(lines[i].substr(6));
  auto [ptr, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), p.index);
  if (ec != std::errc() || ptr != idx.data() + idx.size() || (idx.size() > 1 && idx[0] == '0'))
    return invalid_argument("tlog-proof: the index is not a decimal number");
  ++i;
  for (skip_blank(); i < lines.size() && is_hash_line(lines[i]); skip_blank()) {
    auto h = hash_from_base64(lines[i++]);
    if (!h.is_ok()) return h.status();
    p.proof.push_back(*h);
  }
  // The checkpoint: body lines up to the first signature line, then the signatures.
  std::string body, sigs;
  for (; i < lines.size() && lines[i].substr(0, kEmDashSpace.size()) != kEmDashSpace; ++i)
    if (!lines[i].empty()) body += std::string(lines[i]) + "\n";
  for (; i < lines.size() && lines[i].substr(0, kEmDashSpace.size()) == kEmDashSpace; ++i)
    sigs += std::string(lines[i]) + "\n";
  if (body.empty() || sigs.empty()) return invalid_argument("tlog-proof: no signed checkpoint after the proof");
  p.checkpoint = body + "\n" + sigs;
  return p;
}

Result<std::string> find_signed_checkpoint(std::string_view text) {
  if (text.find(kTlogProofHeader) != std::string_view::npos) {
    auto p = parse_tlog_proof(text);
    if (!p.is_ok()) return p.status();
    return p->checkpoint;
  }
  auto lines = lines_of(text);
  auto is_sig = [](std::string_view l) { return l.substr(0, kEmDashSpace.size()) == kEmDashSpace; };
  auto is_size = [](std::string_view l) {
    return !l.empty() && l.size() <= 19 && l.find_first_not_of("0123456789") == std::string_view::npos &&
           (l.size() == 1 || l[0] != '0');
  };
  // The lines that are not blank, so a blank line a chat added between the
  // body's lines does not hide the checkpoint.
  std::vector<std::string_view> kept;
  for (auto l : lines)
    if (!l.empty()) kept.push_back(l);
  for (size_t i = 0; i + 2 < kept.size(); ++i) {
    if (is_sig(kept[i]) || !is_size(kept[i + 1]) || !is_hash_line(kept[i + 2])) continue;
    std::string body, sigs;
    size_t j = i;
    for (; j < kept.size() && !is_sig(kept[j]); ++j) body += std::string(kept[j]) + "\n";
    for (; j < kept.size() && is_sig(kept[j]); ++j) sigs += std::string(kept[j]) + "\n";
    if (sigs.empty()) return invalid_argument("the checkpoint has no signature line (— name signature)");
    return body + "\n" + sigs;
  }
  return invalid_argument("no checkpoint: no origin line followed by a size line and a base64 root line");
}

Status verify_cosignature(std::string_view note, std::string_view vkey, uint64_t* time) {
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return invalid_argument("malformed witness verifier key");
  std::string name(vkey.substr(0, p1));
  auto key = base64_decode(vkey.substr(p2 + 1));
  if (!key.is_ok() || key->size() != 33 || (*key)[0] != kAlgCosignatureV1)
    return invalid_argument("malformed witness verifier key (want a cosignature/v1 key, type 0x04)");
  std::string pub = key->substr(1);
  Hash id = sha256({name, "\n", std::string(1, kAlgCosignatureV1), pub});
  size_t split = note.find("\n\n");
  if (split == std::string_view::npos) return invalid_argument("not a signed note");
  std::string_view body = note.substr(0, split + 1), sigs = note.substr(split + 2);
  for (const auto& line : lines_of(sigs)) {
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) continue;
    std::string_view rest = line.substr(kEmDashSpace.size());
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos || rest.substr(0, sp) != name) continue;
    auto blob = base64_decode(rest.substr(sp + 1));
    if (!blob.is_ok() || blob->size() != 76 || blob->compare(0, 4, as_view(id).substr(0, 4)) != 0) continue;
    uint64_t t = 0;
    for (int k = 0; k < 8; ++k) t = t << 8 | static_cast<unsigned char>((*blob)[4 + k]);
    if (t > INT64_MAX) continue;
    std::string message = "cosignature/v1\ntime " + std::to_string(t) + "\n" + std::string(body);
    if (ed25519_verify(pub, message, std::string_view(*blob).substr(12))) {
      if (time) *time = t;
      return Status::ok();
    }
  }
  return data_loss("no valid cosignature by witness " + name + " on the checkpoint");
}

Result<VerifiedTlogProof> verify_tlog_proof(const TlogProof& p, std::string_view log_vkey,
                                            const std::vector<std::string>& witness_vkeys) {
  VerifiedTlogProof v;
  auto cp = open_checkpoint(p.checkpoint, log_vkey);
  if (!cp.is_ok()) return cp.status();
  v.checkpoint = *cp;
  for (const auto& w : witness_vkeys) {
    if (Status s = verify_cosignature(p.checkpoint, w); !s.is_ok()) return s;
    v.witnesses.push_back(w.substr(0, w.find('+')));
  }
  if (p.extra.empty()) return invalid_argument("tlog-proof: no extra line, so no entry to prove");
  if (p.index >= cp->size)
    return data_loss("tlog-proof: index " + std::to_string(p.index) + " is outside the checkpoint's tree of size " +
                     std::to_string(cp->size));
  std::vector<std::string> proof;
  for (const auto& h : p.proof) proof.emplace_back(as_view(h));
  if (!verify_inclusion(p.index, cp->size, as_view(merkle_leaf_hash(p.extra)), proof, as_view(cp->root)))
    return data_loss("tlog-proof: the inclusion proof does not lead to the checkpoint's root");
  v.leaf = p.extra;
  return v;
}

}  // namespace sunledger
