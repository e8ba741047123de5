#include "app/data_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace sunledger::cli {

std::string shell_word(const std::string& path) {
  if (!path.empty() && path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:@,") ==
                           std::string::npos)
    return path;
  std::string out = "'";
  for (char c : path) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string data_option(const std::string& dir) {
  return "--data " + shell_word(std::filesystem::absolute(dir).lexically_normal().string());
}

namespace {

// `mask` holds the group/other bits that must be clear; `fix` the mode to set.
Status check_one(const std::string& path, mode_t mask, const char* fix) {
  struct stat st {};
  // stat, not lstat: what matters is who can read the file a link leads to.
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::ok();
    return failed_precondition("cannot check the permissions of " + path + ": " + std::strerror(errno));
  }
  // Owned by another user, whatever its mode: that user reads it all.
  if (st.st_uid != ::geteuid())
    return failed_precondition(path + " belongs to another user (uid " + std::to_string(st.st_uid) +
                               "); run: chown " + std::to_string(::geteuid()) + " " + shell_word(path));
  mode_t open_bits = st.st_mode & mask;
  if (open_bits == 0) return Status::ok();
  std::string how = (open_bits & (S_IRGRP | S_IROTH)) ? "readable"
                    : (open_bits & (S_IWGRP | S_IWOTH)) ? "writable"
                                                        : "accessible";
  return failed_precondition(path + " is " + how + " by other users; run: chmod " + fix + " " + shell_word(path));
}

}  // namespace

std::vector<Status> data_folder_problems(const std::string& dir, const std::string& config_path) {
  // The folder first: with it closed (0700) nobody else reaches the files,
  // but each file is checked too, since a folder is easily opened later.
  std::vector<Status> out;
  if (Status s = check_one(dir, S_IRWXG | S_IRWXO, "700"); !s.is_ok()) out.push_back(s);
  const mode_t rw = S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH;
  for (const char* name : {"sunledger.db", "sunledger.db-wal", "sunledger.db-shm", "id-salt", "log-key.pem", "bots.json",
                           "database"})
    if (Status s = check_one(dir + "/" + name, rw, "600"); !s.is_ok()) out.push_back(s);
  std::error_code ec;
  if (!config_path.empty() && !std::filesystem::equivalent(config_path, dir + "/bots.json", ec))  // named once
    if (Status s = check_one(config_path, rw, "600"); !s.is_ok()) out.push_back(s);
  return out;
}

Status check_data_folder_private(const std::string& dir, const std::string& config_path) {
  auto problems = data_folder_problems(dir, config_path);
  return problems.empty() ? Status::ok() : problems.front();
}

}  // namespace sunledger::cli

namespace sunledger::cli {

Result<std::unique_ptr<ServeLock>> ServeLock::acquire(const std::string& dir, const std::string& db, bool shared) {
  std::string path = dir + "/serve.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return failed_precondition("another sunledger serve (pid " + pid + ") is already serving " + dir +
                               "; stop it first (CLI commands work beside it)");
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    ::close(fd);
    return unavailable("cannot write " + path);
  }
  std::unique_ptr<ServeLock> lock(new ServeLock(fd));
  if (!db.empty()) {
    auto held = lock_postgresql_database(db, shared);
    if (!held.is_ok()) return held.status();
    lock->database_ = std::move(*held);
  }
  return lock;
}

ServeLock::~ServeLock() { ::close(fd_); }  // closing releases the lock

namespace {

// DIR/in-use.lock opened for flock, -1 when it cannot be. A folder mounted
// read-only (a PostgreSQL deployment's keys) opens a lock file that is there
// read-only (flock needs no write access).
int open_use_lock(const std::string& dir) {
  std::string path = dir + "/in-use.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  int why = errno;  // the folder's reason (read-only), not the missing file's
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) errno = why;
  return fd;
}

}  // namespace

Result<std::unique_ptr<FolderUse>> FolderUse::share(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) return std::unique_ptr<FolderUse>();
  int fd = open_use_lock(dir);
  // A folder nobody can write is one no migrate can record a new database
  // in either: nothing to wait for.
  if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) return std::unique_ptr<FolderUse>();
  if (fd < 0) return unavailable("cannot open " + dir + "/in-use.lock: " + std::strerror(errno));
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    std::cerr << "sunledger: 正在迁移这个数据目录的数据库,等待完成…… (sunledger migrate is moving this folder's "
                 "database: waiting for it to finish)\n";
    int r;
    while ((r = ::flock(fd, LOCK_SH)) != 0 && errno == EINTR) {
    }
    if (r != 0) {
      ::close(fd);
      return unavailable("cannot lock " + dir + "/in-use.lock: " + std::strerror(errno));
    }
  }
  return std::unique_ptr<FolderUse>(new FolderUse(fd));
}

Result<std::unique_ptr<FolderUse>> FolderUse::make_and_share(const std::string& dir) {
  std::string folder = dir;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();  // "d/"'s parent is not "d"
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(folder).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  // Never readable by others, not even for a moment. Any failure (no
  // permission, a file in the way) is init's to report, by the folder's name.
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) return std::unique_ptr<FolderUse>();
  return share(dir);
}

Result<std::unique_ptr<FolderUse>> FolderUse::take_alone(const std::string& dir) {
  // No folder, no database: opening it says so.
  if (!std::filesystem::is_directory(dir)) return std::unique_ptr<FolderUse>();
  int fd = open_use_lock(dir);
  if (fd < 0) return unavailable("cannot open " + dir + "/in-use.lock: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    // A running serve is the likeliest holder: named, with its pid.
    auto serving = ServeLock::acquire(dir);
    if (!serving.is_ok())
      return failed_precondition("正在运行的 sunledger serve 占用这个数据目录,请先停止它。(" + serving.status().message() +
                                 "; migrate moves the database only with the server stopped; nothing was changed)");
    return failed_precondition("另一个 sunledger 命令正在使用这个数据目录,请等它结束后再迁移。(another sunledger "
                               "command has " + dir + "'s database open (a script's, a cron job's, an `ask`): "
                               "migrate copies the database only while nothing else can write to it; wait for it "
                               "to finish, or stop it, and run migrate again; nothing was changed)");
  }
  return std::unique_ptr<FolderUse>(new FolderUse(fd));
}

FolderUse::~FolderUse() { ::close(fd_); }  // closing releases the lock

}  // namespace sunledger::cli
