// `sunledger check`: an outsider's check of one log from its tiles alone.
// It rebuilds the tree from the entry bundles, compares every tile and the
// signed root, checks consistency with the checkpoint it saw last, and adds
// up every month statement's entries again; or it verifies one tlog-proof
// block pasted from a notice.
//
// Ownership: the checker keeps nothing between calls; the caller keeps the
// state (the last checkpoint) and owns the fetch function.
// Thread safety: each call runs on the caller's thread (fetch is called from
// it only, one request at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace sunledger {

struct FetchAnswer {
  int status = 0;
  std::string body;
};
// GETs `path` under the log's prefix ("checkpoint", "tile/0/000.p/7").
using TileFetch = std::function<Result<FetchAnswer>(const std::string& path)>;

struct CheckOptions {
  std::string log_key;                    // the log's verifier key
  std::vector<std::string> witness_keys;  // each must have cosigned the checkpoint
  std::string previous_checkpoint;        // what the last run saw ("" on the first run)
};

struct CheckReport {
  bool ok = false;
  std::string checkpoint;          // the checkpoint checked: the next run's state when ok
  std::vector<std::string> lines;  // the findings, in order, each one line (evidence may span several)
  uint64_t entries = 0;
  uint64_t statements = 0;
};

CheckReport check_log(const TileFetch& fetch, const CheckOptions& options);

// A tlog-proof block (with whatever text surrounds it) from a notice: the
// log's signature, the witnesses' cosignatures, the statement's inclusion.
CheckReport check_proof(const std::string& text, const CheckOptions& options);

}  // namespace sunledger
