#include "app/data_folder.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace sunledger::cli {
namespace {

// The path as a shell word, so the suggested command can be pasted as is.
std::string shell_word(const std::string& path) {
  if (!path.empty() && path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:@,") ==
                           std::string::npos)
    return path;
  std::string out = "'";
  for (char c : path) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `mask` holds the group/other bits that must be clear; `fix` the mode to set.
Status check_one(const std::string& path, mode_t mask, const char* fix) {
  struct stat st {};
  // stat, not lstat: what matters is who can read the file a link leads to.
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::ok();
    return failed_precondition("cannot check the permissions of " + path + ": " + std::strerror(errno));
  }
  mode_t open_bits = st.st_mode & mask;
  if (open_bits == 0) return Status::ok();
  std::string how = (open_bits & (S_IRGRP | S_IROTH)) ? "readable"
                    : (open_bits & (S_IWGRP | S_IWOTH)) ? "writable"
                                                        : "accessible";
  return failed_precondition(path + " is " + how + " by other users; run: chmod " + fix + " " + shell_word(path));
}

}  // namespace

Status check_data_folder_private(const std::string& dir, const std::string& config_path) {
  // The folder first: with it closed (0700) nobody else reaches the files,
  // but each file is checked too, since a folder is easily opened later.
  if (Status s = check_one(dir, S_IRWXG | S_IRWXO, "700"); !s.is_ok()) return s;
  const mode_t rw = S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH;
  for (const char* name : {"sunledger.db", "sunledger.db-wal", "sunledger.db-shm", "id-salt", "log-key.pem", "bots.json"})
    if (Status s = check_one(dir + "/" + name, rw, "600"); !s.is_ok()) return s;
  if (!config_path.empty()) return check_one(config_path, rw, "600");
  return Status::ok();
}

}  // namespace sunledger::cli
