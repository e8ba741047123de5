#include "demo/demo.h"

#include <cstdio>

#include "ledger/identity.h"

namespace sunledger::cli {
namespace {

constexpr Fen kYuan = 100;

Author demo_author(const std::string& who) { return Author{who, "official", "demo"}; }


// A made-up but valid resident identity number (region 430221, the former
// Zhuzhou County that became Lukou district) for demo subsidy lists.
std::string demo_resident_id(int year, int month, int day, int seq) {
  char body[64];
  std::snprintf(body, sizeof body, "430221%04d%02d%02d%03d", year, month, day, seq % 1000);
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  return std::string(body, 17) + kCheck[sum % 11];
}

struct Recipient {
  const char* name;
  int birth_year;
  Fen amount;
  int persons;
};

std::vector<SubsidyLine> subsidy_list(const std::string& salt, const std::vector<Recipient>& people, int seq_base) {
  std::vector<SubsidyLine> out;
  int seq = seq_base;
  for (const auto& p : people) {
    std::string id = demo_resident_id(p.birth_year, 3 + seq % 9, 1 + seq % 27, seq);
    ++seq;
    out.push_back({"低保", mask_person_name(p.name), mask_resident_id(id), hash_resident_id(salt, id), p.amount, p.persons});
  }
  return out;
}

// Monthly running costs most villages book.
std::vector<TransactionLine> routine_month(const std::string& month, Fen upkeep, Fen wages, Fen office) {
  return {transaction_line(month + "-05", true, "上级拨款", "村级组织运转经费", upkeep, "", "一般资金", "朱亭镇财政所"),
          transaction_line(month + "-10", false, "人员报酬", "村干部误工补贴", wages, "", "一般资金", "村两委成员"),
          transaction_line(month + "-18", false, "办公费", "办公用品及打印", office, "", "一般资金", "镇上文具店")};
}

Status post(WriteTxn& t, const std::string& village, const std::vector<TransactionLine>& lines, const Author& a) {
  return t.post_transactions(village, lines, a).status();
}

const std::vector<Village>& demo_villages() {
  static const std::vector<Village> villages = {
      {"shuangjiang", "双江村", "朱亭镇"}, {"zhuting", "朱亭村", "朱亭镇"},  {"huanglong", "黄龙村", "朱亭镇"},
      {"nanzhou", "南洲村", "南洲镇"},     {"longchuan", "龙船村", "龙船镇"}};
  return villages;
}

// The demo's story, one step a function, in the order load_demo_data runs them.
struct DemoLoad {
  Ledger& ledger;
  Bot& bot;
  const std::string& salt;
  const DemoTime& time;

  Status shuangjiang_books() {
    const Author secretary = demo_author("shuangjiang-secretary");
    // Shuangjiang: the case from the Zhuzhou Daily of 27 December 2022. 300,000
    // yuan of special water-works funds arrived; 157,600 went to the water
    // project and 142,400 was moved to widening the village road.
    Status s = ledger.write([&](WriteTxn& t) -> Status {
      if (auto r = t.register_project("shuangjiang", {"水利建设", 300'000 * kYuan, true}, secretary); !r.is_ok()) return r.status();
      if (auto r = t.register_project("shuangjiang", {"道路拓宽", 200'000 * kYuan, false}, secretary); !r.is_ok()) return r.status();
      auto sep = routine_month("2022-09", 50'000 * kYuan, 12'600 * kYuan, 1'350'50);
      sep.push_back(transaction_line("2022-09-20", true, "集体经营", "鱼塘承包租金", 8'000 * kYuan, "", "一般资金", "承包户"));
      if (Status st = post(t, "shuangjiang", sep, secretary); !st.is_ok()) return st;
      auto low_income = subsidy_list(salt, {{"张桂三", 1951, 620 * kYuan, 1}, {"李秀英", 1948, 1'240 * kYuan, 2},
                                            {"王建国", 1962, 620 * kYuan, 1}, {"刘冬梅", 1975, 1'860 * kYuan, 3}},
                                     1);
      if (auto r = t.post_subsidies("shuangjiang", "2022-09", low_income, secretary); !r.is_ok()) return r.status();
      return t.close_month("shuangjiang", "2022-09", secretary).status();
    });
    if (!s.is_ok()) return s;
    s = ledger.write([&](WriteTxn& t) -> Status {
      auto oct = routine_month("2022-10", 50'000 * kYuan, 12'600 * kYuan, 980 * kYuan);
      oct.push_back(transaction_line("2022-10-08", true, "上级拨款", "水利建设专项资金到账", 300'000 * kYuan, "水利建设", "专项资金",
                         "渌口区水利局"));
      oct.push_back(transaction_line("2022-10-26", false, "工程款", "水渠清淤修缮(一期)", 80'000 * kYuan, "水利建设", "专项资金",
                         "朱亭镇某水利工程队"));
      if (Status st = post(t, "shuangjiang", oct, secretary); !st.is_ok()) return st;
      auto low_income = subsidy_list(salt, {{"张桂三", 1951, 620 * kYuan, 1}, {"李秀英", 1948, 1'240 * kYuan, 2},
                                            {"王建国", 1962, 620 * kYuan, 1}, {"刘冬梅", 1975, 1'860 * kYuan, 3}},
                                     1);
      if (auto r = t.post_subsidies("shuangjiang", "2022-10", low_income, secretary); !r.is_ok()) return r.status();
      return t.close_month("shuangjiang", "2022-10", secretary).status();
    });
    if (!s.is_ok()) return s;
    s = ledger.write([&](WriteTxn& t) -> Status {
      auto nov = routine_month("2022-11", 50'000 * kYuan, 12'600 * kYuan, 2'150 * kYuan);
      nov.push_back(transaction_line("2022-11-09", false, "工程款", "山塘加固及灌溉渠(二期)", 77'600 * kYuan, "水利建设", "专项资金",
                         "朱亭镇某水利工程队"));
      nov.push_back(transaction_line("2022-11-21", false, "工程款", "村道拓宽工程款", 142'400 * kYuan, "道路拓宽", "专项资金",
                         "某道路工程公司", "村支书签批"));
      nov.push_back(transaction_line("2022-11-25", false, "招待费", "现金支付接待费用", 6'800 * kYuan, "", "一般资金", "", "现金"));
      if (Status st = post(t, "shuangjiang", nov, secretary); !st.is_ok()) return st;
      auto low_income = subsidy_list(salt, {{"张桂三", 1951, 620 * kYuan, 1}, {"李秀英", 1948, 1'240 * kYuan, 2},
                                            {"刘冬梅", 1975, 1'860 * kYuan, 3}, {"陈小军", 1983, 620 * kYuan, 1}},
                                     1);
      if (auto r = t.post_subsidies("shuangjiang", "2022-11", low_income, secretary); !r.is_ok()) return r.status();
      return t.close_month("shuangjiang", "2022-11", secretary).status();
    });
    if (!s.is_ok()) return s;
    return Status::ok();
  }

  Status other_villages_books() {
    const Author accountant = demo_author("zhuting-accountant");
    Status s = Status::ok();
    // The other villages: ordinary months, published on time, except Huanglong,
    // whose November accounts were never published (an overdue month).
    struct Plan {
      const char* id;
      Fen upkeep, wages, office;
    };
    for (const Plan& p : {Plan{"zhuting", 60'000 * kYuan, 15'200 * kYuan, 1'420 * kYuan},
                          Plan{"huanglong", 45'000 * kYuan, 11'800 * kYuan, 760 * kYuan},
                          Plan{"nanzhou", 55'000 * kYuan, 13'400 * kYuan, 1'105'30},
                          Plan{"longchuan", 48'000 * kYuan, 12'000 * kYuan, 890 * kYuan}}) {
      s = ledger.write([&](WriteTxn& t) -> Status {
        if (auto r = t.register_project(p.id, {"人居环境整治", 80'000 * kYuan, true}, accountant); !r.is_ok()) return r.status();
        for (const char* month : {"2022-09", "2022-10", "2022-11"}) {
          auto lines = routine_month(month, p.upkeep, p.wages, p.office);
          lines.push_back(transaction_line(std::string(month) + "-22", false, "工程款", "垃圾清运及村容整治", 9'500 * kYuan,
                               "人居环境整治", "专项资金", "保洁公司"));
          if (std::string(month) == "2022-09")
            lines.push_back(transaction_line("2022-09-12", true, "上级拨款", "人居环境整治专项资金", 80'000 * kYuan, "人居环境整治",
                                 "专项资金", "渌口区农业农村局"));
          if (Status st = post(t, p.id, lines, accountant); !st.is_ok()) return st;
          bool publish = !(std::string(p.id) == "huanglong" && std::string(month) == "2022-11");
          if (publish)
            if (auto r = t.close_month(p.id, month, accountant); !r.is_ok()) return r.status();
        }
        return Status::ok();
      });
      if (!s.is_ok()) return s;
    }
    return Status::ok();
  }

  Status chats_and_roles() {
    // Who is who in the demo chats (recorded in the admin log as the demo's doing).
    const Author demo_admin{"sunledger-demo", "admin", "demo"};
    for (const auto& v : demo_villages())
      if (Status st = bot.bind_group(v.id, kDemoBotId, v.id + "-group", false, demo_admin); !st.is_ok()) return st;
    for (const Membership& m : {Membership{kDemoBotId, "shuangjiang-secretary", "shuangjiang", Role::kOfficial, ""},
                                Membership{kDemoBotId, "shuangjiang-accountant", "shuangjiang", Role::kOfficial, ""},
                                Membership{kDemoBotId, "zhuting-accountant", "zhuting", Role::kOfficial, ""},
                                Membership{kDemoBotId, "huanglong-accountant", "huanglong", Role::kOfficial, ""},
                                Membership{kDemoBotId, "zhuting-inspector", "", Role::kInspector, "朱亭镇"},
                                Membership{kDemoBotId, "district-inspector", "", Role::kInspector, "all"}})
      if (Status st = bot.add_member(m, demo_admin); !st.is_ok()) return st;
    return Status::ok();
  }

  // A message as a demo user would send it; fails the load if the bot errs.
  Status say(const std::string& user, const std::string& chat, bool group, const std::string& text) {
    InboundMessage m{kDemoBotId, chat, group, user, user, text,
                     "demo-" + std::to_string(ledger.clock().now_unix_seconds()) + "-" + user + "-" + text.substr(0, 12), 0};
    auto r = bot.handle(m);
    return r.is_ok() ? Status::ok() : r.status();
  }
  // A villager seen in their group files a complaint in private chat (a group
  // filing needs a bot with a private channel, which the demo's has not); a
  // refusal would leave the demo without it, so it fails the load loudly.
  Status complain(const std::string& user, const std::string& village, const std::string& text) {
    if (Status s = say(user, village + "-group", true, "账目"); !s.is_ok()) return s;
    InboundMessage m{kDemoBotId, "private-" + user, false, user, user, "投诉 " + text,
                     "demo-" + std::to_string(ledger.clock().now_unix_seconds()) + "-" + user, 0};
    auto r = bot.handle(m);
    if (!r.is_ok()) return r.status();
    if (r->text.find("已受理") == std::string::npos) return internal_error("demo complaint not filed: " + r->text);
    return Status::ok();
  }
  void at(const char* date, int hour) {
    auto d = *parse_date(date);
    time.set(local_midnight(d, ledger.utc_offset_minutes()) + hour * 3600);
  }

  // The Shuangjiang complaint, as it went in December 2022: reported by a
  // villager, confirmed by the town commission, the secretary disciplined.
  Status shuangjiang_complaint() {
    Status st = Status::ok();
    std::string receipt;
    at("2022-12-02", 20);
    if (Status s2 = say("shuangjiang-villager-li", "shuangjiang-group", true, "账目"); !s2.is_ok()) st = s2;  // seen in the group
    st = ledger.write([&](WriteTxn& txn) -> Status {
      auto c = bot.complaints().file(txn, "shuangjiang",
                                     "11月账目第#25条村道拓宽工程款142,400元是从水利建设专项资金里付的,30万元水利专项资金只用了15.76万元,"
                                     "请纪委核查专项资金是否被挪用。",
                                     Reporter{kDemoBotId, "shuangjiang-villager-li", "李村民", "private-shuangjiang-villager-li"});
      if (!c.is_ok()) return c.status();
      receipt = c->receipt;
      return Status::ok();
    });
    if (!st.is_ok()) return st;
    struct Step {
      const char* date;
      ComplaintStatus to;
      const char* assignee;
      const char* note;
    };
    for (const Step& step : {Step{"2022-12-03", ComplaintStatus::kAssigned, "朱亭镇纪委", "转朱亭镇纪委核查"},
                             Step{"2022-12-05", ComplaintStatus::kInvestigating, "", "调取村账和工程合同,约谈村支书"},
                             Step{"2022-12-20", ComplaintStatus::kResolved, "",
                                  "经核查属实:村支书擅自将水利专项资金142,400元用于村道拓宽,已给予党内警告处分,责令整改"}}) {
      at(step.date, 10);
      auto r = bot.transition_complaint(receipt, step.to, step.note, step.assignee, "zhuting-inspector");
      if (!r.is_ok()) return r.status();
    }
    at("2022-12-22", 9);
    if (Status s2 = say("shuangjiang-villager-li", "private-shuangjiang-villager-li", false, "满意 " + receipt); !s2.is_ok()) return s2;
    time.reset();
    return Status::ok();
  }

  // Open ones: one overdue for assignment, one fresh, one anonymous under investigation.
  Status open_complaints() {
    Status st = Status::ok();
    int64_t now = ledger.clock().now_unix_seconds();
    time.set(now - 9 * 86400);
    if (Status s2 = complain("huanglong-villager-zhao", "huanglong", "黄龙村11月的账目到现在还没有在群里公开,村里说忙,请督促");
        !s2.is_ok())
      return s2;
    time.set(now - 20 * 86400);
    std::string anonymous_receipt;
    st = ledger.write([&](WriteTxn& txn) -> Status {
      auto c = bot.complaints().file(txn, "nanzhou", "村里保洁费每月都有,但垃圾经常一周才清运一次,费用是否真实?", std::nullopt);
      if (!c.is_ok()) return c.status();
      anonymous_receipt = c->receipt;
      return Status::ok();
    });
    if (!st.is_ok()) return st;
    time.set(now - 18 * 86400);
    if (auto r = bot.transition_complaint(anonymous_receipt, ComplaintStatus::kAssigned, "转南洲镇纪委", "南洲镇纪委", "district-inspector"); !r.is_ok())
      return r.status();
    time.set(now - 15 * 86400);
    if (auto r = bot.transition_complaint(anonymous_receipt, ComplaintStatus::kInvestigating, "正在核对保洁合同和清运记录", "", "district-inspector"); !r.is_ok())
      return r.status();
    time.set(now - 2 * 86400);
    if (Status s2 = complain("zhuting-villager-wu", "zhuting", "10月办公费1,420元买了什么?明细里看不出来"); !s2.is_ok()) return s2;
    time.reset();
    return Status::ok();
  }
};

}  // namespace

Result<bool> load_demo_data(Ledger& ledger, Bot& bot, const std::string& salt, const DemoTime& time) {
  auto existing = ledger.village("shuangjiang");
  if (existing.is_ok()) return false;
  for (const auto& v : demo_villages())
    if (Status s = ledger.add_village(v); !s.is_ok()) return s;
  DemoLoad demo{ledger, bot, salt, time};
  for (Status (DemoLoad::*step)() : {&DemoLoad::shuangjiang_books, &DemoLoad::other_villages_books, &DemoLoad::chats_and_roles,
                                     &DemoLoad::shuangjiang_complaint, &DemoLoad::open_complaints})
    if (Status s = (demo.*step)(); !s.is_ok()) return s;
  return true;
}

}  // namespace sunledger::cli
