// A village's mapping of categories and funds to the chart of accounts:
// changed by signed "account_map" entries, kept in the account_maps table,
// read by posting (which refuses a line the mapping does not cover) and by
// exports.
#include <SQLiteCpp/SQLiteCpp.h>

#include "ledger/chart.h"
#include "ledger/ledger_internal.h"
#include "ledger/names.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

namespace ledger_internal {

AccountMap stored_account_map(SQLite::Statement& q, int64_t log_id) {
  AccountMap m = default_account_map();
  q.bind(1, log_id);
  while (q.executeStep())
    if (auto side = parse_map_side(q.getColumn(0).getString())) m.side(*side)[q.getColumn(1).getString()] = q.getColumn(2).getString();
  q.reset();
  return m;
}

}  // namespace ledger_internal

Result<uint64_t> WriteTxn::map_account(const std::string& village, MapSide side, const std::string& given_name,
                                       const std::string& account, const Author& author) {
  auto name = normalize_name(given_name, side == MapSide::kFund ? "资金" : "类别", side == MapSide::kFund ? "fund" : "category");
  if (!name.is_ok()) return name.status();
  const Account* a = find_account(account);
  if (a == nullptr)
    return invalid_argument("没有科目“" + account + "”,请用 2023 年会计制度的科目编码或名称 (no such account in the 2023 chart; "
                            "`sunledger accounts list` shows them)");
  if (Status s = check_mappable(side, *a); !s.is_ok()) return s;
  auto log = log_for(village);
  if (!log.is_ok()) return log.status();
  json f = {{"kind", "account_map"}, {"village", village}, {"direction", map_side_name(side)}, {"name", *name},
            {"account", a->code}, {"account_name", a->name}};
  auto idx = append(*log, std::move(f), author);
  if (!idx.is_ok()) return idx.status();
  auto& ins = ledger_->writer_session_->raw(
      "INSERT INTO account_maps(log_id, direction, name, account, entry_idx) VALUES(?,?,?,?,?) "
      "ON CONFLICT(log_id, direction, name) DO UPDATE SET account=excluded.account, entry_idx=excluded.entry_idx");
  ins.bind(1, (*log)->id);
  ins.bind(2, map_side_name(side));
  ins.bind(3, *name);
  ins.bind(4, a->code);
  ins.bind(5, static_cast<int64_t>(*idx));
  ins.exec();
  ins.reset();
  return *idx;
}

Result<AccountMap> Ledger::account_map(const std::string& village) {
  try {
    auto conn = read();
    auto row = find_log(conn.stmt(kFindLog), village);
    if (!row.is_ok()) return row.status();
    return stored_account_map(conn.stmt(kAccountMapQuery), row->id);
  } catch (const SQLite::Exception& e) {
    return from_sqlite(e, "account map");
  }
}

}  // namespace sunledger
