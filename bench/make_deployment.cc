// Fills a data folder made by `sunledger init` with a Lukou-sized deployment
// (see bench/deployment.h): by default 139 villages x 72 months x 100 entries
// = 1,000,800 village entries, and 2,000 complaints with their follow-ups.
// bench/startup-verify.sh then times `sunledger verify` and `serve` on it.
//
//   make_deployment DIR [--villages 139] [--months 72] [--per-month 100] [--complaints 2000]
#include <cstdlib>
#include <iostream>
#include <string>

#include "bench/deployment.h"

int main(int argc, char** argv) {
  const char* usage = "usage: make_deployment DIR [--villages 139] [--months 72] [--per-month 100] [--complaints 2000]\n";
  std::string dir;
  sunledger::bench::DeploymentShape shape;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    int* field = k == "--villages" ? &shape.villages : k == "--months" ? &shape.months
               : k == "--per-month" ? &shape.per_month : k == "--complaints" ? &shape.complaints : nullptr;
    if (field && i + 1 < argc) *field = std::atoi(argv[++i]);
    else if (!field && dir.empty() && !k.empty() && k[0] != '-') dir = k;
    else {
      std::cerr << usage;
      return 2;
    }
  }
  if (dir.empty() || shape.villages < 1 || shape.months < 1 || shape.per_month < 12 || shape.complaints < 0) {
    std::cerr << usage;
    return 2;
  }
  auto r = sunledger::bench::fill_deployment(dir, shape, &std::cerr);
  if (!r.is_ok()) {
    std::cerr << "make_deployment: " << r.status().to_string() << "\n";
    return 1;
  }
  std::cout << "villages: " << shape.villages << ", village entries: " << r->village_entries
            << ", complaints: " << shape.complaints << ", complaint entries: " << r->complaint_entries
            << ", all entries: " << r->village_entries + r->complaint_entries << ", built in " << r->seconds << " s\n";
  return 0;
}
