#include "ledger/checkpoint.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace sunledger {
namespace {

constexpr std::string_view kEmDash = "\xE2\x80\x94";  // U+2014, opens every signature line
constexpr char kAlgEd25519 = 0x01;

struct Bio {
  BIO* b;
  explicit Bio(BIO* bio) : b(bio) {}
  ~Bio() { BIO_free(b); }
};

struct PkeyCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~PkeyCtx() { EVP_MD_CTX_free(ctx); }
};

Result<std::string> raw_public_key(EVP_PKEY* key) {
  std::string pub(32, '\0');
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(pub.data()), &len) != 1 || len != 32)
    return internal_error("cannot read the Ed25519 public key");
  return pub;
}

}  // namespace

bool valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c == '+' || c == 0x7F) return false;
  return true;
}

Ed25519KeyFile::~Ed25519KeyFile() { EVP_PKEY_free(key_); }

Result<std::unique_ptr<Ed25519KeyFile>> Ed25519KeyFile::create(const std::string& path, const std::string& key_name) {
  if (!valid_key_name(key_name)) return invalid_argument("key name must be non-empty, without spaces or '+'");
  std::string seed = random_bytes(32);
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  OPENSSL_cleanse(seed.data(), seed.size());
  if (key == nullptr) return internal_error("cannot create an Ed25519 key");
  std::unique_ptr<Ed25519KeyFile> kf(new Ed25519KeyFile());
  kf->key_ = key;
  kf->name_ = key_name;
  auto pub = raw_public_key(key);
  if (!pub.is_ok()) return pub.status();
  kf->public_key_ = *pub;

  // O_EXCL: never replace a log key (that would orphan every checkpoint);
  // mode 0600 from the first byte, not chmod after the fact.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return already_exists("cannot create key file " + path + " (it may exist already)");
  Bio mem(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(mem.b, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ::close(fd);
    return internal_error("cannot encode the key as PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(mem.b, &data);
  bool ok = ::write(fd, data, static_cast<size_t>(len)) == len && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return unavailable("cannot write key file " + path);
  return kf;
}

Result<std::unique_ptr<Ed25519KeyFile>> Ed25519KeyFile::load(const std::string& path, const std::string& key_name) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return not_found("no key file at " + path + " (run `sunledger init` first)");
  if ((st.st_mode & 077) != 0)
    return permission_denied("key file " + path + " may be read by others; run `chmod 600 " + path + "`");
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return not_found("cannot open key file " + path);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) return data_loss("key file " + path + " is not a PEM private key");
  std::unique_ptr<Ed25519KeyFile> kf(new Ed25519KeyFile());
  kf->key_ = key;
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) return data_loss("key file " + path + " is not an Ed25519 key");
  kf->name_ = key_name;
  auto pub = raw_public_key(key);
  if (!pub.is_ok()) return pub.status();
  kf->public_key_ = *pub;
  return kf;
}

Result<std::string> Ed25519KeyFile::sign(std::string_view message) const {
  PkeyCtx c;
  std::string sig(64, '\0');
  size_t len = sig.size();
  // Ed25519 is one-shot with a null digest (OpenSSL 3 raw-key API).
  if (c.ctx == nullptr || EVP_DigestSignInit(c.ctx, nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(c.ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != 64)
    return internal_error("Ed25519 signing failed");
  return sig;
}

std::string Ed25519KeyFile::public_key_pem() const {
  Bio mem(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(mem.b, key_);
  char* data = nullptr;
  long len = BIO_get_mem_data(mem.b, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::unique_ptr<VerifierOnlyKey>> VerifierOnlyKey::parse(std::string_view vkey) {
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return invalid_argument("malformed verifier key");
  auto blob = base64_decode(vkey.substr(p2 + 1));
  if (!blob.is_ok() || blob->size() != 33 || (*blob)[0] != kAlgEd25519) return invalid_argument("malformed verifier key");
  std::unique_ptr<VerifierOnlyKey> k(new VerifierOnlyKey());
  k->name_ = std::string(vkey.substr(0, p1));
  k->public_key_ = blob->substr(1);
  if (verifier_key(k->name_, k->public_key_) != vkey) return invalid_argument("verifier key id does not match its key");
  return k;
}

Result<std::string> VerifierOnlyKey::sign(std::string_view) const {
  return permission_denied("this folder holds only the verifier key: it can verify but not write (restore the log key first)");
}

bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const unsigned char*>(public_key.data()), 32);
  if (key == nullptr) return false;
  PkeyCtx c;
  bool ok = c.ctx != nullptr && EVP_DigestVerifyInit(c.ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(c.ctx, reinterpret_cast<const unsigned char*>(signature.data()), 64,
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_PKEY_free(key);
  return ok;
}

uint32_t note_key_id(std::string_view key_name, std::string_view public_key) {
  const char sep[2] = {'\n', kAlgEd25519};
  Hash h = sha256({key_name, std::string_view(sep, 2), public_key});
  return static_cast<uint32_t>(h[0]) << 24 | static_cast<uint32_t>(h[1]) << 16 | static_cast<uint32_t>(h[2]) << 8 | h[3];
}

std::string verifier_key(std::string_view key_name, std::string_view public_key) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", note_key_id(key_name, public_key));
  std::string alg_and_key(1, kAlgEd25519);
  alg_and_key.append(public_key);
  return std::string(key_name) + "+" + hex + "+" + base64_encode(alg_and_key);
}

std::string note_body(std::string_view note) {
  size_t split = note.find("\n\n");
  return split == std::string_view::npos ? std::string() : std::string(note.substr(0, split + 1));
}

std::string checkpoint_body(const Checkpoint& cp) {
  return cp.origin + "\n" + std::to_string(cp.size) + "\n" + base64_encode(cp.root) + "\n";
}

Result<std::string> sign_checkpoint(const Checkpoint& cp, const NoteSigner& signer) {
  std::string body = checkpoint_body(cp);
  auto sig = signer.sign(body);
  if (!sig.is_ok()) return sig.status();
  uint32_t id = note_key_id(signer.key_name(), signer.public_key());
  std::string blob = {static_cast<char>(id >> 24), static_cast<char>(id >> 16), static_cast<char>(id >> 8),
                      static_cast<char>(id)};
  blob += *sig;
  return body + "\n" + std::string(kEmDash) + " " + signer.key_name() + " " + base64_encode(blob) + "\n";
}

Result<Checkpoint> open_checkpoint(std::string_view note, std::string_view vkey) {
  // Verifier key: name+hexid+base64(alg || key).
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return invalid_argument("malformed verifier key");
  std::string name(vkey.substr(0, p1));
  auto key_blob = base64_decode(vkey.substr(p2 + 1));
  if (!key_blob.is_ok() || key_blob->size() != 33 || (*key_blob)[0] != kAlgEd25519)
    return invalid_argument("malformed verifier key");
  std::string pub = key_blob->substr(1);
  uint32_t want_id = note_key_id(name, pub);

  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return invalid_argument("not a signed note: no blank line before the signatures");
  std::string_view body = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  bool verified = false;
  while (!sigs.empty()) {
    size_t eol = sigs.find('\n');
    if (eol == std::string_view::npos) return invalid_argument("signature line without a newline");
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    std::string prefix = std::string(kEmDash) + " ";
    if (line.substr(0, prefix.size()) != prefix) return invalid_argument("malformed signature line");
    line.remove_prefix(prefix.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return invalid_argument("malformed signature line");
    if (line.substr(0, sp) != name) continue;
    auto blob = base64_decode(line.substr(sp + 1));
    if (!blob.is_ok() || blob->size() != 68) continue;
    uint32_t id = static_cast<uint32_t>(static_cast<unsigned char>((*blob)[0])) << 24 |
                  static_cast<uint32_t>(static_cast<unsigned char>((*blob)[1])) << 16 |
                  static_cast<uint32_t>(static_cast<unsigned char>((*blob)[2])) << 8 |
                  static_cast<unsigned char>((*blob)[3]);
    if (id != want_id) continue;
    if (ed25519_verify(pub, body, std::string_view(*blob).substr(4))) verified = true;
  }
  if (!verified) return data_loss("no valid signature by " + name + " on the checkpoint");

  // Body: origin, size, root, then optional extension lines.
  std::vector<std::string_view> lines;
  std::string_view rest = body;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    lines.push_back(rest.substr(0, eol));
    rest.remove_prefix(eol + 1);
  }
  if (lines.size() < 3 || lines[0].empty()) return invalid_argument("checkpoint body needs origin, size and root");
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  if (lines[1].empty() || lines[1].size() > 19 || (lines[1].size() > 1 && lines[1][0] == '0'))
    return invalid_argument("malformed checkpoint size");
  for (char c : lines[1]) {
    if (c < '0' || c > '9') return invalid_argument("malformed checkpoint size");
    cp.size = cp.size * 10 + static_cast<uint64_t>(c - '0');
  }
  auto root = hash_from_base64(lines[2]);
  if (!root.is_ok()) return invalid_argument("malformed checkpoint root");
  cp.root = *root;
  return cp;
}

}  // namespace sunledger
