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

// Why --public-url cannot be printed on a notice for villagers' phones (not
// an absolute http(s) address with a host, or a character a QR reader or a
// page would cut it at); OK for "" (the listened address is used).
Status check_public_url(const std::string& url);

}  // namespace sunledger::cli
