#include "bench/deployment.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "bot/bot.h"
#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/identity.h"
#include "ledger/ledger.h"

namespace sunledger::bench {
namespace {

constexpr Fen kYuan = 100;

// A made-up but valid resident identity number (region 430221, Lukou).
std::string resident_id(int year, int month, int day, int seq) {
  char body[64];
  std::snprintf(body, sizeof body, "430221%04d%02d%02d%03d", year, month, day, seq % 1000);
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  return std::string(body, 17) + kCheck[sum % 11];
}

std::string day(const std::string& month, int d) { return month + (d < 10 ? "-0" : "-") + std::to_string(d); }

}  // namespace

Status init_data_folder(const std::string& dir, const std::string& origin) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("cannot create " + dir + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (Status s = Ledger::initialize(dir + "/sunledger.db", origin); !s.is_ok()) return s;
  auto key = Ed25519KeyFile::create(dir + "/log-key.pem", origin);
  if (!key.is_ok()) return key.status();
  std::string salt = hex_encode(random_bytes(32)) + "\n";
  int fd = ::open((dir + "/id-salt").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return already_exists("cannot create " + dir + "/id-salt");
  bool ok = ::write(fd, salt.data(), salt.size()) == static_cast<ssize_t>(salt.size());
  ::close(fd);
  return ok ? Status::ok() : unavailable("cannot write " + dir + "/id-salt");
}

// Long (about 155 lines) on purpose: a benchmark's data generator, one
// straight script of what a county's deployment holds (villages, months,
// lines, subsidies, complaints), read top to bottom beside its figures.
Result<DeploymentSummary> fill_deployment(const std::string& dir, const DeploymentShape& args, std::ostream* progress) {
  auto start = std::chrono::steady_clock::now();
  std::string db = dir + "/sunledger.db";
  auto origin = Ledger::stored_origin(db);
  if (!origin.is_ok()) return origin.status();
  auto key = Ed25519KeyFile::load(dir + "/log-key.pem", *origin);
  if (!key.is_ok()) return key.status();
  std::string salt;
  {
    std::ifstream in(dir + "/id-salt");
    std::getline(in, salt);
  }
  if (salt.size() < 32) return failed_precondition("no id-salt in " + dir);
  SystemClock system_clock;
  ManualClock clock(system_clock.now_unix_seconds());
  Ledger::Options o;
  o.db_path = db;
  o.signer = key->get();
  o.clock = &clock;
  auto ledger = Ledger::open(o);
  if (!ledger.is_ok()) return ledger.status();
  BotOptions bo;
  bo.identity_salt = salt;
  Bot bot(ledger->get(), bo);
  if (Status s = bot.initialize(); !s.is_ok()) return s;
  Ledger& l = **ledger;

  // The months: the last `months` full months before the current one.
  std::vector<std::string> months{previous_month(l.current_month())};
  while (static_cast<int>(months.size()) < args.months) months.insert(months.begin(), previous_month(months.front()));

  const char* towns[] = {"渌口镇", "朱亭镇", "南洲镇", "龙船镇", "古岳峰镇", "龙门镇", "淦田镇", "南阳桥乡"};
  const char* expense_categories[] = {"人员报酬", "办公费", "工程款", "水电费", "招待费", "保洁费", "维修费", "慰问金"};
  const char* income_categories[] = {"上级拨款", "集体经营", "租金收入", "捐赠"};
  const char* people[] = {"张桂三", "李秀英", "王建国", "刘冬梅", "陈小军", "赵志刚", "周玉兰", "吴德明"};
  uint64_t total = 0;
  std::vector<std::string> ids;
  for (int v = 0; v < args.villages; ++v) {
    char id[32];
    std::snprintf(id, sizeof id, "village-%03d", v + 1);
    ids.push_back(id);
    std::string town = towns[v % 8];
    if (Status s = l.add_village({id, town.substr(0, town.size() - 3) + "第" + std::to_string(v / 8 + 1) + "村", town});
        !s.is_ok())
      return s;
  }
  for (int v = 0; v < args.villages; ++v) {
    const std::string& village = ids[static_cast<size_t>(v)];
    const Author official{village + "-accountant", "official", "bench"};
    uint64_t written = 0;
    Status s = l.write([&](WriteTxn& t) -> Status {
      written = 0;
      std::string open_project;  // the special project of the current year
      for (size_t m = 0; m < months.size(); ++m) {
        const std::string& month = months[m];
        int fixed = 1;  // the statement
        // A special-purpose project every January (or at the start), finished in December.
        bool register_now = m == 0 || month.substr(5) == "01";
        bool finish_now = !open_project.empty() && month.substr(5) == "12";
        if (register_now) {
          open_project = "水利建设" + month.substr(0, 4);
          if (auto r = t.register_project(village, {open_project, 300'000 * kYuan, true}, official); !r.is_ok())
            return r.status();
          ++fixed;
        }
        // The 低保 list: four households.
        std::vector<SubsidyLine> subsidies;
        for (int k = 0; k < 4; ++k) {
          std::string rid = resident_id(1940 + (v * 7 + k) % 50, 1 + k, 1 + (v + k) % 27, v * 4 + k);
          subsidies.push_back({"低保", mask_person_name(people[(v + k) % 8]), mask_resident_id(rid), hash_resident_id(salt, rid),
                               (620 + 10 * k) * kYuan, 1 + k % 3});
        }
        if (auto r = t.post_subsidies(village, month, subsidies, official); !r.is_ok()) return r.status();
        fixed += 4;
        bool reverse_now = m % 3 == 1;  // a correction every quarter
        fixed += reverse_now ? 1 : 0;
        fixed += finish_now ? 1 : 0;
        std::vector<TransactionLine> lines;
        int n = args.per_month - fixed;
        lines.push_back(transaction_line(day(month, 5), true, "上级拨款", "村级组织运转经费", 50'000 * kYuan, "", "一般资金", "财政所"));
        if (register_now)
          lines.push_back(transaction_line(day(month, 8), true, "上级拨款", open_project + "专项资金到账", 300'000 * kYuan, open_project,
                               "专项资金", "渌口区水利局"));
        for (int i = static_cast<int>(lines.size()); i < n; ++i) {
          bool income = i % 9 == 0;
          int d = 1 + i % 28;
          uint64_t seed = static_cast<uint64_t>(v) * 1'000'003 + m * 1009 + static_cast<uint64_t>(i);
          Fen amount = static_cast<Fen>(50 + seed * 7919 % 2000) * kYuan + static_cast<Fen>(seed % 100);
          if (income)
            lines.push_back(transaction_line(day(month, d), true, income_categories[seed % 4], "收入第" + std::to_string(i) + "笔", amount,
                                 "", "一般资金", "某承包户"));
          else if (i % 10 == 3)
            lines.push_back(transaction_line(day(month, d), false, "工程款", "水渠修缮第" + std::to_string(i) + "笔", amount % (2'000 * kYuan) + kYuan,
                                 open_project, "专项资金", "某水利工程队"));
          else
            lines.push_back(transaction_line(day(month, d), false, expense_categories[seed % 8], "支出第" + std::to_string(i) + "笔",
                                 amount % (800 * kYuan) + kYuan, "", "一般资金", "某供应商", i % 17 == 0 ? "现金" : ""));
        }
        auto idx = t.post_transactions(village, lines, official);
        if (!idx.is_ok()) return idx.status();
        if (reverse_now)
          if (auto r = t.reverse(village, (*idx)[lines.size() / 2], "金额记错", official); !r.is_ok()) return r.status();
        if (finish_now) {
          if (auto r = t.finish_project(village, open_project, official); !r.is_ok()) return r.status();
          open_project.clear();
        }
        if (auto r = t.close_month(village, month, official); !r.is_ok()) return r.status();
        written += static_cast<uint64_t>(args.per_month);
      }
      return Status::ok();
    });
    if (!s.is_ok()) return Status(s.code(), village + ": " + s.message());
    total += written;
    if (progress && ((v + 1) % 20 == 0 || v + 1 == args.villages))
      *progress << "make_deployment: " << v + 1 << " villages, " << total << " entries" << std::endl;
  }

  // Complaints, filed over the six years and followed up: most resolved and
  // rated, some under investigation, a quarter anonymous.
  uint64_t complaint_entries = 0;
  const int64_t now = clock.now_unix_seconds();
  const int per_batch = 200;
  for (int c0 = 0; c0 < args.complaints; c0 += per_batch) {
    clock.set(now - static_cast<int64_t>((args.complaints - c0) / per_batch) * 10 * 86400);  // a batch every 10 days
    Status s = l.write([&](WriteTxn& t) -> Status {
      for (int c = c0; c < std::min(args.complaints, c0 + per_batch); ++c) {
        const std::string& village = ids[static_cast<size_t>(c) % ids.size()];
        std::optional<Reporter> reporter;
        if (c % 4 != 0)
          reporter = Reporter{"lukou-wecom", "villager-" + std::to_string(c), "村民" + std::to_string(c), "private-villager-" + std::to_string(c)};
        auto filed = bot.complaints().file(t, village, "第#" + std::to_string(c % 7000) + "条支出有疑问,请纪委核查水利建设专项资金的去向。", reporter);
        if (!filed.is_ok()) return filed.status();
        ++complaint_entries;
        const std::string& receipt = filed->receipt;
        auto step = [&](ComplaintStatus to, const std::string& note, const std::string& assignee) -> Status {
          auto r = bot.complaints().transition(t, receipt, to, note, assignee, "district-inspector");
          if (r.is_ok()) ++complaint_entries;
          return r.status();
        };
        if (c % 10 == 9) continue;  // still waiting for assignment
        if (Status st = step(ComplaintStatus::kAssigned, "转镇纪委核查", "镇纪委"); !st.is_ok()) return st;
        if (Status st = step(ComplaintStatus::kInvestigating, "调取村账和合同", ""); !st.is_ok()) return st;
        if (c % 10 == 8) continue;  // under investigation
        if (Status st = step(ComplaintStatus::kResolved, "经核查,款项用途属实,已责令补充公开明细", ""); !st.is_ok()) return st;
        if (c % 3 == 0) {
          auto r = bot.complaints().rate(t, receipt, true, "");
          if (!r.is_ok()) return r.status();
          ++complaint_entries;
        }
      }
      return Status::ok();
    });
    if (!s.is_ok()) return s;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return DeploymentSummary{total, complaint_entries, seconds};
}

}  // namespace sunledger::bench
