#include "ledger/fresh_ledger.h"

namespace sunledger {

Result<FreshLedger> create_fresh_ledger(const std::string& dir, const std::string& origin, Clock* clock,
                                        std::set<std::string> reserved_log_names, const std::string& db_address) {
  const std::string db = db_address.empty() ? dir + "/sunledger.db" : db_address;
  if (Status s = Ledger::initialize(db, origin); !s.is_ok()) return s;
  auto key = Ed25519KeyFile::create(dir + "/log-key.pem", origin);
  if (!key.is_ok()) return key.status();
  FreshLedger out;
  out.key = std::move(*key);
  Ledger::Options o;
  o.db_path = db;
  o.signer = out.key.get();
  o.clock = clock;
  o.reserved_log_names = std::move(reserved_log_names);
  auto ledger = Ledger::open(o);
  if (!ledger.is_ok()) return ledger.status();
  out.ledger = std::move(*ledger);
  return out;
}

}  // namespace sunledger
