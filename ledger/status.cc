#include "ledger/status.h"

#include <cstdio>
#include <cstdlib>

namespace sunledger {

void fail_unchecked_result(const Status& status) {
  std::fprintf(stderr, "sunledger: bug: the value of a failed Result was read (%s)\n", status.to_string().c_str());
  std::abort();
}

const char* code_name(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kFailedPrecondition: return "failed_precondition";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kDataLoss: return "data_loss";
    case Code::kUnavailable: return "unavailable";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

}  // namespace sunledger
