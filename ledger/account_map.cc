// A village's mapping of categories and funds to the chart of accounts:
// changed by signed "account_map" entries, kept in the account_maps table,
// read by posting (which refuses a line the mapping does not cover) and by
// exports. Written through WriteTxn's public seam (append_to_log, sql()), so
// ledger.h, which every module includes, did not grow for it.

#include "ledger/chart.h"
#include "ledger/account_map_internal.h"
#include "ledger/ledger_internal.h"
#include "ledger/names.h"

namespace sunledger {

using nlohmann::json;

namespace ledger_internal {

AccountMap stored_account_map(sql::Statement& q, int64_t log_id) {
  AccountMap m = default_account_map();
  q.bind(1, log_id);
  while (q.step())
    if (auto side = parse_map_side(q.column_text(0))) m.side(*side)[q.column_text(1)] = q.column_text(2);
  q.reset();
  return m;
}

}  // namespace ledger_internal

namespace {

constexpr const char* kVillageLog = "SELECT log_id FROM villages WHERE id=?";

}  // namespace

Result<uint64_t> map_account(WriteTxn& txn, const std::string& village, MapSide side, const std::string& given_name,
                             const std::string& account, const Author& author) {
  auto name = normalize_name(given_name, side == MapSide::kFund ? "资金" : "类别", side == MapSide::kFund ? "fund" : "category");
  if (!name.is_ok()) return name.status();
  const Account* a = find_account(account);
  if (a == nullptr)
    return invalid_argument("没有科目“" + account + "”,请用 2023 年会计制度的科目编码或名称 (no such account in the 2023 chart; "
                            "`sunledger accounts list` shows them)");
  if (Status s = check_mappable(side, *a); !s.is_ok()) return s;
  // append_to_log would start a log of any name: the village must exist.
  auto& q = txn.sql().statement(kVillageLog);
  q.bind(1, village);
  bool found = q.step();
  int64_t log_id = found ? q.column_int64(0) : 0;
  q.reset();
  if (!found) return not_found("没有村“" + village + "” (no such village)");
  json f = {{"kind", "account_map"}, {"village", village}, {"direction", map_side_name(side)}, {"name", *name},
            {"account", a->code}, {"account_name", a->name}};
  auto idx = txn.append_to_log(village, f, author);
  if (!idx.is_ok()) return idx.status();
  auto& ins = txn.sql().statement(
      "INSERT INTO account_maps(log_id, direction, name, account, entry_idx) VALUES(?,?,?,?,?) "
      "ON CONFLICT(log_id, direction, name) DO UPDATE SET account=excluded.account, entry_idx=excluded.entry_idx");
  ins.bind(1, log_id);
  ins.bind(2, map_side_name(side));
  ins.bind(3, *name);
  ins.bind(4, a->code);
  ins.bind(5, static_cast<int64_t>(*idx));
  ins.exec();
  ins.reset();
  return *idx;
}

Result<AccountMap> village_account_map(Ledger& ledger, const std::string& village) {
  AccountMap m = default_account_map();
  bool found = false;
  Status s = ledger.read([&](Ledger::ReadTxn& r) -> Status {
    auto& q = r.sql().statement(kVillageLog);
    q.bind(1, village);
    found = q.step();
    int64_t log_id = found ? q.column_int64(0) : 0;
    q.reset();
    if (!found) return Status::ok();
    auto& rows = r.sql().statement(ledger_internal::kAccountMapQuery);
    rows.bind(1, log_id);
    while (rows.step())
      if (auto side = parse_map_side(rows.column_text(0))) m.side(*side)[rows.column_text(1)] = rows.column_text(2);
    rows.reset();
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  if (!found) return not_found("没有村“" + village + "” (no such village)");
  return m;
}

}  // namespace sunledger
