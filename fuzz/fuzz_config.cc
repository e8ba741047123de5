// bots.json: any input is either a valid config or an error naming what is wrong.
#include <cstdlib>
#include <map>
#include <string>

#include "webhooks/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> env = {{"SECRET", "whsec_c2VjcmV0c2VjcmV0"}};
  auto r = sunledger::load_bots_config(text, &env);
  if (!r.is_ok() && r.status().message().empty()) std::abort();
  return 0;
}
