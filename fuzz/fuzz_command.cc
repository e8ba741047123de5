// The chat command parser and the bits of the bot that read people's words.
#include <string>

#include "bot/command.h"
#include "bot/complaints.h"
#include "ledger/identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto cmd = sunledger::parse_command(text);
  (void)sunledger::is_write(cmd.kind);
  for (const auto& line : cmd.body) (void)sunledger::split_words(line.text);
  (void)sunledger::Complaints::normalise_receipt(text);
  (void)sunledger::validate_resident_id(text);
  (void)sunledger::mask_person_name(text);
  (void)sunledger::mask_resident_id(text);
  return 0;
}
