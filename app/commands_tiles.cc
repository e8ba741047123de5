// The logs as C2SP tiles for anyone to check: export-tiles writes them for a
// static web server or mirror, check reads one log back (from `serve`'s
// /logs/{log}/ or from such a copy) trusting nothing but the keys.
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.h"
#include "checker/checker.h"
#include "ledger/tlog_tiles.h"

namespace sunledger::cli {

namespace {

namespace fs = std::filesystem;

// Writes path atomically (a temporary file renamed over it), so a web server
// serving DIR never hands out half a tile.
Status write_atomically(const fs::path& path, const std::string& bytes) {
  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  if (ec) return unavailable("cannot create " + path.parent_path().string() + ": " + ec.message());
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return unavailable("cannot write " + tmp.string());
  }
  fs::rename(tmp, path, ec);
  if (ec) return unavailable("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::ok();
}

// One log as tiles under DIR/{log}/: every tile of the checkpoint's tree (a
// full tile already written is immutable and skipped), then the checkpoint,
// last, so a reader never sees a checkpoint whose tiles are missing.
Result<uint64_t> export_log(Ledger& ledger, const std::string& log, const fs::path& dir, uint64_t* written) {
  auto note = ledger.checkpoint(log);
  if (!note.is_ok()) return note.status();
  // The size is the note's second line; the note is ours, verify checks it.
  std::istringstream lines(*note);
  std::string origin, size_line;
  std::getline(lines, origin);
  std::getline(lines, size_line);
  uint64_t size = std::stoull(size_line.empty() ? "0" : size_line);
  for (const TileId& t : tiles_for_size(size, true)) {
    fs::path path = dir / log / tile_path(t);
    if (t.width == kTileWidth && fs::exists(path)) continue;
    auto bytes = ledger.tile(log, t);
    if (!bytes.is_ok()) return bytes.status();
    if (Status s = write_atomically(path, *bytes); !s.is_ok()) return s;
    ++*written;
  }
  if (Status s = write_atomically(dir / log / "checkpoint", *note); !s.is_ok()) return s;
  return size;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_check(const Args& a) {
  CheckOptions o;
  o.log_key = a.get("key");
  o.witness_keys = a.all("witness");
  CheckReport r;
  if (a.has("proof")) {
    auto text = read_file(a.get("proof"));
    if (!text.is_ok()) return fail(text.status());
    r = check_proof(*text, o);
  } else {
    std::string state = a.get("state");
    if (!state.empty() && fs::exists(state)) {
      auto prev = read_file(state);
      if (!prev.is_ok()) return fail(prev.status());
      o.previous_checkpoint = *prev;
    }
    std::string prefix = a.get("url");
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    // One kept-alive connection for the thousands of GETs of a large log (a
    // connection each cost more than the hashing); https verifies the
    // certificate (cpp-httplib's default), redirects are never followed.
    size_t scheme_end = prefix.find("://");
    if (scheme_end == std::string::npos) return usage_error("check", "--url must start with http:// or https://");
    size_t path_start = prefix.find('/', scheme_end + 3);
    std::string origin = prefix.substr(0, path_start), base = path_start == std::string::npos ? "" : prefix.substr(path_start);
    httplib::Client client(origin);
    if (!client.is_valid()) return usage_error("check", "--url " + prefix + " is not a URL");
    client.set_keep_alive(true);
    client.set_connection_timeout(10, 0);
    client.set_read_timeout(60, 0);
    client.set_follow_location(false);
    TileFetch fetch = [&](const std::string& path) -> Result<FetchAnswer> {
      FetchAnswer a;
      bool too_large = false;
      // Entry bundles reach 16 MiB (256 entries below 64 KiB each): nothing larger is read.
      auto res = client.Get((base + "/" + path).c_str(), [&](const char* data, size_t n) {
        too_large = a.body.size() + n > (17u << 20);
        if (!too_large) a.body.append(data, n);
        return !too_large;
      });
      if (too_large) return unavailable("answer larger than 17 MiB");
      if (!res) return unavailable(httplib::to_string(res.error()));
      a.status = res->status;
      return a;
    };
    r = check_log(fetch, o);
    // Only a good run moves the state on: after a failure it keeps the evidence.
    if (r.ok && !state.empty())
      if (Status s = write_atomically(state, r.checkpoint); !s.is_ok()) r.lines.push_back("FAIL: state file: " + s.message()), r.ok = false;
  }
  for (const auto& line : r.lines) std::cout << line << "\n";
  std::cout << (r.ok ? "checked: all good" : "checked: PROBLEMS FOUND") << "\n";
  return r.ok ? kExitOk : kExitFailure;
}

}  // namespace

void add_tiles_commands(std::vector<Command>& c) {
  c.push_back({
      .name = "export-tiles",
      .synopsis = "export-tiles --to DIR",
      .help = "Writes every village's log and the complaint log as C2SP tlog-tiles (DIR/{log}/checkpoint,\n"
              "DIR/{log}/tile/...), the same bytes `serve` answers under /logs/{log}/, for any static web server or\n"
              "mirror. Run it again to bring DIR up to date: full tiles never change and are not rewritten.",
      .examples = {"--data ./lukou export-tiles --to /var/www/tiles"},
      .values = {"to"},
      .required = {"to"},
      .run = [](Deployment& d, const Args& a) {
        std::vector<std::string> logs;
        auto villages = d.ledger->villages();
        if (!villages.is_ok()) return fail(villages.status());
        for (const auto& v : *villages) logs.push_back(v.id);
        // Not the complaint log: what the server does not serve is not mirrored (webhooks/tiles_api.cc).
        uint64_t written = 0;
        for (const auto& log : logs) {
          auto size = export_log(*d.ledger, log, a.get("to"), &written);
          if (!size.is_ok()) return fail(size.status());
          std::cout << log << "\t" << *size << "\n";
        }
        std::cout << "wrote " << count_of(written, "tile", "tiles") << " and "
                  << count_of(logs.size(), "checkpoint", "checkpoints") << " to " << a.get("to") << "\n";
        return kExitOk;
      }});
  c.push_back({
      .name = "check",
      .synopsis = "check --url PREFIX --key VKEY [--witness VKEY]... [--state FILE] | check --proof FILE --key VKEY [--witness VKEY]...",
      .help = "The independent checker: with only HTTP GETs under PREFIX (one log's tiles, e.g.\n"
              "http://host/logs/shuangjiang, or a copy from export-tiles), verifies the checkpoint's signature and\n"
              "each --witness's cosignature, rebuilds the tree from the entry bundles and compares every tile and\n"
              "the signed root, proves each month statement included and adds each month's entries up again\n"
              "(net of reversals) against its statement. With --state, the checkpoint from the last good run\n"
              "must be a prefix of today's: a rollback or rewrite prints both checkpoints as evidence.\n"
              "With --proof, verifies a tlog-proof block pasted from a monthly notice instead.\n"
              "Exit 0 when everything checks, 1 otherwise. Needs no data folder.",
      .examples = {"check --url http://127.0.0.1:8080/logs/shuangjiang --key \"$(cat key.vkey)\" --state sj.state",
                   "check --proof notice.txt --key \"$(cat key.vkey)\""},
      .values = {"url", "key", "witness", "state", "proof"},
      .required = {"key"},
      .check = [](const Args& a) -> std::string {
        if (a.has("proof") == a.has("url")) return "give --url PREFIX, or --proof FILE";
        if (a.has("proof") && a.has("state")) return "--state goes with --url";
        return "";
      },
      .run = [](Deployment&, const Args& a) { return run_check(a); },
      .needs_ledger = false});
}

}  // namespace sunledger::cli
