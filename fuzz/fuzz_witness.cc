// A witness's add-checkpoint body from anyone on the network: every input gets
// one of the spec's answers, and only a request signed by the trusted key
// (which the fuzzer cannot forge) may move the state.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "ledger/checkpoint.h"
#include "witness/witness.h"

namespace {

sunledger::witness::Witness* witness() {
  static std::unique_ptr<sunledger::witness::Witness> w = [] {
    auto dir = std::filesystem::temp_directory_path() / ("sunledger-fuzz-witness-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    if (!sunledger::witness::Witness::init((dir / "w").string(), "fuzz.example/w").is_ok()) std::abort();
    auto opened = sunledger::witness::Witness::open((dir / "w").string());
    if (!opened.is_ok()) std::abort();
    auto key = sunledger::Ed25519KeyFile::create((dir / "log.pem").string(), "fuzz.example/log");
    if (!key.is_ok()) std::abort();
    if (!(*opened)->add_log("fuzz.example/", sunledger::verifier_key((*key)->key_name(), (*key)->public_key())).is_ok())
      std::abort();
    return std::move(*opened);
  }();
  return w.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto a = witness()->add_checkpoint(body);
  switch (a.status) {
    case 400: case 403: case 404: case 409: case 422:
      break;
    default:
      std::abort();  // 200 would be a forged signature; 5xx a storage failure on a fuzz input
  }
  return 0;
}
