#include "app/database_option.h"

#include <filesystem>
#include <fstream>

#include "app/deployment.h"
#include "ledger/database_address.h"

namespace sunledger::cli {

std::string database_record_path(const std::string& dir) { return dir + "/database"; }

namespace {

std::string recorded_database(const std::string& dir) {
  std::ifstream in(database_record_path(dir));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

Result<std::string> choose_database(const std::string& dir, const std::string& given) {
  std::string recorded = recorded_database(dir);
  std::string shown = address_without_password(given, "***");
  if (!recorded.empty()) {
    if (!names_postgresql(recorded))
      return failed_precondition(database_record_path(dir) + " does not hold a postgresql:// address (\"" + recorded +
                                 "\"): write the deployment's database address there, without its password");
    if (given.empty() || address_without_password(given) == recorded) return given.empty() ? recorded : given;
    return failed_precondition("数据目录 " + dir + " 属于数据库 " + recorded + ",不是 " + shown +
                               "。(the data folder " + dir + " belongs to the database " + recorded + " (recorded in " +
                               database_record_path(dir) + "), not to " + shown +
                               ": its log key signed that database's logs. Leave out --db (and $SUNLEDGER_DB), or name "
                               "the folder of that database with --data; nothing was changed)");
  }
  if (given.empty()) return std::string();
  if (std::filesystem::exists(dir + "/sunledger.db"))
    return failed_precondition("数据目录 " + dir + " 的数据库是 SQLite 文件 sunledger.db。(the data folder " + dir +
                               " holds a SQLite deployment (sunledger.db), whose key signed that file's logs: --db " +
                               shown + " names another database. Leave out --db (and $SUNLEDGER_DB) for this folder, or "
                               "give a new folder with --data to init on PostgreSQL; nothing was changed)");
  if (std::filesystem::exists(dir + "/log-key.pem"))
    return failed_precondition("the data folder " + dir + " has a log key but records no database (" +
                               database_record_path(dir) + " is missing): if its database is " + shown +
                               ", write that address, without its password, into " + database_record_path(dir) +
                               "; nothing was changed");
  return given;  // a new folder: init records it
}

Status remember_database(const std::string& dir, const std::string& address) {
  return write_private_file(database_record_path(dir), address_without_password(address) + "\n");
}

Status sqlite_only(const std::string& command, const std::string& address, const std::string& instead) {
  return failed_precondition("`" + command + "` 只用于 SQLite 数据库;这个部署的数据库在 PostgreSQL 上。(`" + command +
                             "` works on SQLite's file only; this deployment's database is on PostgreSQL (" +
                             address_without_password(address, "***") + "): " + instead + "; nothing was changed)");
}

}  // namespace sunledger::cli
