// `sunledger serve`: the HTTP server, the push sender and the background
// checks (hourly verification, the overdue digest), until SIGTERM.
// Called from main's thread; borrows the Deployment for the whole run and
// starts (and joins before returning) every thread it uses.
#pragma once

#include <string>

#include "app/deployment.h"

namespace sunledger::cli {

// Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight
// requests finish, finishes the push in progress and returns the exit code.
// public_url: where the public reaches the server (the printed notice's QR
// code); "" means http://HOST:PORT as bound.
int serve(Deployment& d, const std::string& listen, std::string config_path, bool skip_verify = false,
          const std::string& public_url = "");

// `serve --check`: everything serve would refuse or quietly do without, checked
// without listening; prints what each bot can do. Returns 0 when ready.
int check_serve(Deployment& d, const std::string& listen, std::string config_path, bool skip_verify = false);

}  // namespace sunledger::cli
