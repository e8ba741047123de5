// The throwaway PostgreSQL cluster: found binaries, initdb, pg_ctl, and the
// gtest Environment that stops it.
#include "support/pg_cluster.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "ledger/pg_connection.h"
#include "test_support.h"

namespace sunledger::testing {

namespace {

namespace fs = std::filesystem;

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The folder holding initdb and pg_ctl: $SUNLEDGER_PG_BINDIR when set (a
// server installed elsewhere; the test of missing binaries), else
// pg_config's, else Debian's.
std::string find_bindir() {
  if (const char* forced = std::getenv("SUNLEDGER_PG_BINDIR")) {
    std::string dir = forced;
    return fs::exists(dir + "/initdb") && fs::exists(dir + "/pg_ctl") ? dir : "";
  }
  CommandResult r = run_command("pg_config --bindir");
  std::string dir = trimmed(r.output);
  if (r.exit_code == 0 && fs::exists(dir + "/initdb") && fs::exists(dir + "/pg_ctl")) return dir;
  dir = "/usr/lib/postgresql/15/bin";
  if (fs::exists(dir + "/initdb") && fs::exists(dir + "/pg_ctl")) return dir;
  return "";
}

class Cluster {
 public:
  // The cluster, started; on failure why not.
  bool start(std::string* why) {
    auto t0 = std::chrono::steady_clock::now();
    bindir_ = find_bindir();
    if (bindir_.empty()) {
      const char* forced = std::getenv("SUNLEDGER_PG_BINDIR");
      *why = std::string("PostgreSQL 15 server binaries (initdb, pg_ctl) not found in ") +
             (forced != nullptr ? std::string("$SUNLEDGER_PG_BINDIR (") + forced + ")"
                                : std::string("`pg_config --bindir` or /usr/lib/postgresql/15/bin")) +
             ": run scripts/install-deps (it installs postgresql-15)";
      return false;
    }
    dir_ = std::make_unique<TempDir>();
    data_ = dir_->file("data");
    if (::geteuid() == 0) {
      // PostgreSQL refuses to run as root: the folder goes to its own user.
      struct passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        *why = "running as root and there is no `postgres` user to run the test cluster as: run scripts/install-deps";
        return false;
      }
      if (::chown(dir_->path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        *why = "cannot give the test cluster's folder to the postgres user";
        return false;
      }
      as_user_ = "runuser -u postgres -- ";
      // initdb and pg_ctl send output to /dev/null, which some containers
      // leave writable by root alone: then they run in a mount namespace of
      // their own with a null device the postgres user may write (the
      // machine's /dev/null unchanged).
      if (run_command("runuser -u postgres -- sh -c ': > /dev/null'").exit_code != 0) {
        private_null_ = dir_->file("null");
        if (!run_command("mknod " + shell_quoted(private_null_) + " c 1 3 && chmod 666 " + shell_quoted(private_null_))
                 .output.empty() ||
            !fs::exists(private_null_)) {
          *why = "/dev/null is not writable by the postgres user, and a private null device could not be made";
          return false;
        }
      }
    }
    // -N: initdb's own closing fsync of a throwaway folder; the server's
    // fsync stays on, so commits are as durable as in production.
    CommandResult init = sh(bin("initdb") + " -D " + shell_quoted(data_) + " -A trust -U postgres -E UTF8 --locale=C.UTF-8 -N");
    if (init.exit_code != 0) {
      *why = "initdb failed: " + init.output;
      return false;
    }
    // Appended to the postgres user's own file (which stays its own).
    std::ofstream conf(data_ + "/postgresql.conf", std::ios::app);
    conf << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << dir_->path().string() << "'\n"
         << "fsync = on\n"
         // A throwaway cluster needs no vacuuming, and an autovacuum ANALYZE
         // takes a transaction id, which moves the change probe
         // (pg_current_snapshot) of every database on the cluster: the test
         // that nothing moves it without a commit failed now and then.
         << "autovacuum = off\n"
         << "max_connections = 50\n";
    conf.close();
    CommandResult run = sh(bin("pg_ctl") + " start -w -t 60 -D " + shell_quoted(data_) + " -l " + shell_quoted(dir_->file("log")));
    if (run.exit_code != 0) {
      *why = "pg_ctl start failed: " + run.output + "\nserver log:\n" + read_file(dir_->file("log"));
      stop();  // a server that came up after the wait gave up
      return false;
    }
    started_ = true;
    start_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return true;
  }

  void stop() {
    if (dir_ == nullptr) return;
    sh(bin("pg_ctl") + " stop -m fast -w -D " + shell_quoted(data_));
    started_ = false;
  }

  bool started() const { return started_; }
  double start_ms() const { return start_ms_; }
  std::string conninfo(const std::string& db) const {
    return "host=" + dir_->path().string() + " user=postgres dbname=" + db;
  }

 private:
  std::string bin(const std::string& name) const { return as_user_ + shell_quoted(bindir_ + "/" + name); }
  // From inside the folder: the postgres user may not enter the caller's.
  CommandResult sh(const std::string& command) const {
    std::string line = "cd " + shell_quoted(dir_->path().string()) + " && " + command;
    if (!private_null_.empty())
      line = "unshare -m --propagation private sh -c " +
             shell_quoted("mount --bind " + shell_quoted(private_null_) + " /dev/null && " + line);
    return run_command(line);
  }

  std::string bindir_;
  std::string as_user_;
  std::string private_null_;  // a null device for initdb and pg_ctl, when /dev/null is root's alone
  std::unique_ptr<TempDir> dir_;
  std::string data_;
  bool started_ = false;
  double start_ms_ = 0;
};

Cluster* the_cluster = nullptr;
std::string start_failure;

int last_database = 0;          // t_<n> of the latest, 0 for none
int first_of_latest_test = 1;   // the latest test's first t_<n>
std::string latest_test;        // the test that asked for it

// Drops the databases of the latest test that asked for one (see
// pg_fresh_database; a test may hold several, as a fixture with a second
// ledger does). Errors stay silent: the database is a throwaway, and the
// cluster stops next.
void drop_last_database() {
  if (last_database == 0) return;
  auto admin = ledger_internal::PgConnection::open(the_cluster->conninfo("postgres"));
  if (!admin.is_ok()) return;
  for (int n = first_of_latest_test; n <= last_database; ++n) {
    try {
      (*admin)->exec("DROP DATABASE IF EXISTS t_" + std::to_string(n) + " WITH (FORCE)");
    } catch (const sql::Error&) {
    }
  }
}

// The test running now ("" outside one).
std::string current_test() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info == nullptr ? "" : std::string(info->test_suite_name()) + "." + info->name();
}

// Stops the cluster when the binary's tests are done.
class PgEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (the_cluster != nullptr) {
      drop_last_database();
      the_cluster->stop();
      delete the_cluster;
      the_cluster = nullptr;
    }
  }
};

[[maybe_unused]] ::testing::Environment* const registered = ::testing::AddGlobalTestEnvironment(new PgEnvironment);

Cluster* cluster() {
  if (the_cluster != nullptr && the_cluster->started()) return the_cluster;
  if (!start_failure.empty()) return nullptr;  // tried once; every test says why
  auto* c = new Cluster;
  if (!c->start(&start_failure)) {
    delete c;
    return nullptr;
  }
  the_cluster = c;
  std::printf("PostgreSQL test cluster started in %.0f ms\n", c->start_ms());
  return c;
}

}  // namespace

std::string pg_fresh_database() {
  Cluster* c = cluster();
  if (c == nullptr) {
    ADD_FAILURE() << start_failure;
    return "";
  }
  auto admin = ledger_internal::PgConnection::open(c->conninfo("postgres"));
  if (!admin.is_ok()) {
    ADD_FAILURE() << admin.status().to_string();
    return "";
  }
  // The previous test's database goes first: dropped, its ~300 files need
  // no fsync at the shutdown checkpoint (kept, each cost a second there).
  // Only when another test asks: this test's earlier databases are in use.
  if (std::string test = current_test(); test != latest_test || test.empty()) {
    drop_last_database();
    latest_test = test;
    first_of_latest_test = last_database + 1;
  }
  std::string name = "t_" + std::to_string(++last_database);
  try {
    (*admin)->exec("CREATE DATABASE " + name);
  } catch (const sql::Error& e) {
    ADD_FAILURE() << e.what();
    return "";
  }
  return c->conninfo(name);
}

std::string pg_uri(const std::string& conninfo) {
  if (conninfo.empty()) return "";
  std::istringstream in(conninfo);
  std::string word, host, user, db;
  while (in >> word) {
    auto eq = word.find('=');
    std::string key = word.substr(0, eq), value = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (key == "host") host = value;
    if (key == "user") user = value;
    if (key == "dbname") db = value;
  }
  std::string encoded;  // the socket folder, as a URI's host
  for (char c : host) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
  return "postgresql://" + user + "@" + encoded + "/" + db;
}

std::string pg_copy_of(const std::string& uri) {
  Cluster* c = cluster();
  size_t slash = uri.rfind('/');
  if (c == nullptr || slash == std::string::npos) {
    ADD_FAILURE() << "no test cluster, or not a database address: " << uri;
    return "";
  }
  std::string name = "t_" + std::to_string(++last_database);  // dropped with the test's others
  try {
    auto admin = ledger_internal::PgConnection::open(c->conninfo("postgres"));
    if (!admin.is_ok()) throw sql::Error(sql::Error::Kind::kOther, admin.status().to_string());
    (*admin)->exec("CREATE DATABASE " + name + " TEMPLATE " + uri.substr(slash + 1));
  } catch (const sql::Error& e) {
    ADD_FAILURE() << e.what();
    return "";
  }
  return uri.substr(0, slash + 1) + name;
}

std::string pg_admin_conninfo() {
  return the_cluster != nullptr && the_cluster->started() ? the_cluster->conninfo("postgres") : "";
}

double pg_cluster_start_ms() { return the_cluster != nullptr ? the_cluster->start_ms() : 0; }

}  // namespace sunledger::testing
