// The public web on a real HttpServer (127.0.0.1, port 0) over the demo
// deployment, wired as app/serve.cc wires it.
#pragma once

#include <httplib.h>

#include <string>

#include "../webhooks/server_fixture.h"
#include "demo_fixture.h"
#include "web/public_web.h"

namespace sunledger::testing {

struct WebServer {
  DemoDeployment demo;
  web::PublicWeb pages{demo.t.ledger.get(), demo.bot.get(), {"https://lukou.example/"}};
  RunningServer server;

  WebServer() {
    // As serve wires it: the GETs no route claims go to the public web.
    server.start(demo.t.ledger.get(), demo.bot.get(), {}, {}, {}, [this](HttpServer& http) {
      http.serve_pages([this](const std::string& path) -> std::optional<PageAnswer> {
        auto page = pages.get(path);
        if (!page) return std::nullopt;
        return PageAnswer{page->status, page->content_type, page->body, page->headers};
      });
    });
  }
  // GET through the real server; fails the test when the request itself fails.
  httplib::Result get(const std::string& path) {
    auto c = server.client();
    return c.Get(path.c_str());
  }
};

}  // namespace sunledger::testing
