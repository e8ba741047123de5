// Shared by the witness tests: a real `sunledger witness serve` child process
// on 127.0.0.1 port 0, and a small in-memory log (real Ed25519 key, real
// RFC 9162 tree and proofs from ledger/merkle.h) that makes signed
// add-checkpoint requests.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "witness/witness.h"
#include "test_support.h"

namespace sunledger::testing {

inline std::string sunledger(const std::string& data, const std::string& args) {
  return std::string(SUNLEDGER_BINARY) + " --data '" + data + "' " + args + " 2>&1";
}

struct WitnessProcess {
  pid_t pid = -1;
  int port = 0;
  int log_fd = -1;
  std::string log;
  std::thread drain;

  void start(const std::string& data) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      std::vector<std::string> args = {SUNLEDGER_BINARY, "--data", data, "witness", "serve", "--listen", "127.0.0.1:0"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(SUNLEDGER_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    char c;
    while (::read(fds[0], &c, 1) == 1) {
      log.push_back(c);
      auto at = log.find("on http://127.0.0.1:");
      if (at != std::string::npos && log.back() == ' ') {
        port = std::stoi(log.substr(at + 20));
        break;
      }
    }
    drain = std::thread([fd = fds[0]] {
      char buf[4096];
      while (::read(fd, buf, sizeof buf) > 0) {
      }
      ::close(fd);
    });
    ASSERT_GT(port, 0) << log;
  }
  int stop() {
    if (pid <= 0) return -1;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    if (drain.joinable()) drain.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~WitnessProcess() { stop(); }

  httplib::Result post(const std::string& body, httplib::Client* client = nullptr) const {
    if (client) return client->Post("/add-checkpoint", body, "text/plain");
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    return c.Post("/add-checkpoint", body, "text/plain");
  }
};

// Perfect subtree hashes from the leaves, each computed once.
class LeafSource final : public SubtreeHashSource {
 public:
  using Cache = std::map<std::pair<int, uint64_t>, Hash>;
  LeafSource(const std::vector<Hash>* leaves, Cache* cache) : leaves_(leaves), cache_(cache) {}
  Result<Hash> perfect_subtree(int level, uint64_t index) override {
    if (level == 0) return (*leaves_)[index];
    auto it = cache_->find({level, index});
    if (it != cache_->end()) return it->second;
    auto l = perfect_subtree(level - 1, index * 2);
    auto r = perfect_subtree(level - 1, index * 2 + 1);
    Hash h = merkle_node_hash(*l, *r);
    (*cache_)[{level, index}] = h;
    return h;
  }

 private:
  const std::vector<Hash>* leaves_;
  Cache* cache_;
};

// A log as the witness sees it: an origin, a key and a tree.
struct TestLog {
  std::string origin;
  std::shared_ptr<Ed25519KeyFile> key;
  std::vector<Hash> leaves;
  mutable LeafSource::Cache cache;  // valid while leaves are only appended

  TestLog(const std::string& key_path, const std::string& key_name, std::string log_origin, int entries = 0)
      : origin(std::move(log_origin)) {
    auto k = Ed25519KeyFile::create(key_path, key_name);
    EXPECT_TRUE(k.is_ok()) << k.status().to_string();
    key = std::move(*k);
    append(entries);
  }
  // The same log, the same key, only the first `keep` entries: a copy of the
  // database the operator could go on writing differently (a fork).
  TestLog fork(size_t keep) const {
    TestLog f = *this;
    f.truncate(keep);
    return f;
  }
  void truncate(size_t keep) {
    leaves.resize(keep);
    cache.clear();
  }
  void append(int n, const std::string& salt = "") {
    for (int i = 0; i < n; ++i) {
      std::string leaf = salt + "entry " + std::to_string(leaves.size());
      leaves.push_back(merkle_leaf_hash(leaf));
    }
  }
  uint64_t size() const { return leaves.size(); }
  Hash root(uint64_t n) const {
    if (n == 0) return merkle_empty_root();
    LeafSource src(&leaves, &cache);
    MerkleTree t(&src, leaves.size());
    return *t.root(n);
  }
  std::string checkpoint(uint64_t n) const { return *sign_checkpoint(Checkpoint{origin, n, root(n)}, *key); }
  std::vector<Hash> proof(uint64_t from, uint64_t to) const {
    if (from == 0) return {};
    LeafSource src(&leaves, &cache);
    MerkleTree t(&src, leaves.size());
    return *t.consistency_proof(from, to);
  }
  // The request body: old size, proof, empty line, checkpoint.
  std::string request(uint64_t old_size, uint64_t n) const {
    std::string body = "old " + std::to_string(old_size) + "\n";
    for (const auto& h : proof(old_size, n)) body += base64_encode(h) + "\n";
    return body + "\n" + checkpoint(n);
  }
  std::string verifier_key() const { return sunledger::verifier_key(key->key_name(), key->public_key()); }
};

inline constexpr const char* kLogKeyName = "lukou.example/sunledger";
inline constexpr const char* kVillage = "lukou.example/sunledger/shuangjiang";

inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// A witness folder made with the CLI and trusting the county's log key for
// every village, and a log with 3 entries.
struct WitnessFixture : ::testing::Test {
  TempDir tmp;
  std::string wdir = tmp.file("witness");
  std::unique_ptr<TestLog> log;
  std::string wkey;
  WitnessProcess server;

  void SetUp() override {
    log = std::make_unique<TestLog>(tmp.file("log-key.pem"), kLogKeyName, kVillage, 3);
    auto init = run_command(sunledger(wdir, "witness init --name witness.lukou.example/w1"));
    ASSERT_EQ(init.exit_code, 0) << init.output;
    wkey = first_line(init.output);
    auto add = run_command(sunledger(wdir, "witness add-log --origin-prefix lukou.example/sunledger/ --key '" +
                                               log->verifier_key() + "'"));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    server.start(wdir);
  }
  std::string list_logs() { return run_command(sunledger(wdir, "witness list-logs")).output; }
  // The cosignature in a 200 answer, checked against the witness's key.
  void expect_cosigned(const httplib::Result& r, const std::string& note_text) {
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto ts = witness::verify_cosignature(r->body, note_text, wkey);
    ASSERT_TRUE(ts.is_ok()) << ts.status().to_string() << "\n" << r->body;
    EXPECT_LE(std::llabs(static_cast<long long>(*ts) - static_cast<long long>(std::time(nullptr))), 5);
  }
  std::string text_of(uint64_t n) { return checkpoint_body({log->origin, n, log->root(n)}); }
};

}  // namespace sunledger::testing
