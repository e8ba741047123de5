// The witness's HTTP endpoint: POST {prefix}/add-checkpoint on cpp-httplib,
// with keep-alive, a body limit and nothing else (no other route answers
// but 404). The witness is its own small service on its own port; it shares
// no code with the ledger's web edge.
//
// Ownership: borrows the Witness (it must outlive the server).
// Thread safety: bind()/listen() from one thread, stop() from any thread;
// requests run on cpp-httplib's worker pool, several at once.
#pragma once

#include <memory>
#include <string>

#include "ledger/status.h"
#include "witness/witness.h"

namespace sunledger::witness {

class WitnessServer {
 public:
  explicit WitnessServer(Witness* witness);
  ~WitnessServer();

  // Binds host:port (port 0 picks a free one); returns the bound port.
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(); false when the server could not run.
  bool listen();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sunledger::witness
