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
// d.public_url: where the public reaches the server (the printed notice's QR
// code); "" means http://HOST:PORT as bound.
int serve(Deployment& d, const std::string& listen, std::string config_path, bool skip_verify = false);

// `serve --check`: everything serve would refuse or quietly do without, checked
// without listening; prints what each bot can do. Returns 0 when ready.
// Also says where the public pages will be (d.public_url).
int check_serve(Deployment& d, const std::string& listen, std::string config_path, bool skip_verify = false);

// What would stop serve at once (another serve on the folder, the address
// taken), found before the demo prints its guide to a server that never starts.
Status serve_can_start(Deployment& d, const std::string& listen);

// `serve --check` on a folder that did not open (a key file others may read):
// every problem of the folder and its files, in one run, and why it did not open.
int check_unopened(Deployment& d, std::string config_path, const Status& why);

}  // namespace sunledger::cli
