// The one table of chat commands: keywords (Chinese first, then English),
// who may use each, read or write, where it may be sent, its help line, and
// the handler that runs it. Parsing (command.cc), dispatch's role refusals
// (dispatch.cc) and 帮助 (queries.cc) are all read from here.
#include "bot/bot_impl.h"

namespace sunledger {
namespace {

using R = CommandRole;
using K = CommandKind;
using Run = CommandRun;

// Reads get no transaction; writes run in the caller's (see dispatch.cc).
// Built on first use: parse_command may run before main (a static test
// table), when a namespace-scope table might not be constructed yet.
std::vector<CommandSpec> make_table() {
  return {
    {K::kHelp, {"帮助", "help", "start", "?", "？"}, R::kAnyone, false, false, "帮助", "看您可以用的命令 (help)",
     [](Run& r) { return r.bot.help(r.ctx); }},
    {K::kAccounts, {"账目", "帐目", "accounts"}, R::kAnyone, false, false, "账目 [2022-11|2022]",
     "看某月公开账目,或全年按会计科目的收支决算 (accounts; a year: the year statement)",
     [](Run& r) { return r.bot.accounts(r.ctx); }},
    {K::kDetails, {"明细", "details"}, R::kAnyone, false, false, "明细 2022-11 [收入|支出] [类别] [页]", "看每一笔 (details)",
     [](Run& r) { return r.bot.details(r.ctx); }},
    {K::kSearch, {"搜索", "search"}, R::kAnyone, false, false, "搜索 [对方:]某公司 [页]", "在已公开的账目里找 (search)",
     [](Run& r) { return r.bot.search(r.ctx); }},
    {K::kProjects, {"项目", "projects"}, R::kAnyone, false, false, "项目 [名称]", "看项目预算和花费 (projects)",
     [](Run& r) { return r.bot.projects(r.ctx); }},
    {K::kSubsidies, {"低保", "subsidies"}, R::kAnyone, false, false, "低保 [2022-11]", "看低保等补助名单 (subsidies)",
     [](Run& r) { return r.bot.subsidies(r.ctx); }},
    {K::kBalance, {"余额", "balance"}, R::kAnyone, false, false, "余额", "看各项资金余额 (balance)",
     [](Run& r) { return r.bot.balance(r.ctx); }},
    {K::kVerify, {"核验", "verify"}, R::kAnyone, false, false, "核验 [2022-11|保存的核验码]",
     "看签名和核对方法;贴上保存的核验码,核对今天的账本 (verify; or paste a saved checkpoint)",
     [](Run& r) { return r.bot.verify(r.ctx, r.cmd); }},
    {K::kComplain, {"投诉", "举报", "complain"}, R::kAnyone, true, false, "投诉 内容",
     "反映问题,回执私信发给您 (complain)",
     [](Run& r) { return r.bot.complain(r.ctx, r.cmd, false, *r.txn, r.pushes); }},
    {K::kComplainAnonymously, {"匿名投诉", "匿名举报", "complain anonymously"}, R::kAnyone, true, true,
     "匿名投诉 内容", "匿名反映问题,只能私信发送 (complain anonymously)",
     [](Run& r) { return r.bot.complain(r.ctx, r.cmd, true, *r.txn, r.pushes); }},
    {K::kComplaintStatus, {"进度", "status"}, R::kAnyone, false, true, "进度 编号", "查您的投诉办理进度 (status)",
     [](Run& r) { return r.bot.complaint_status(r.ctx); }},
    {K::kSatisfied, {"满意", "satisfied"}, R::kAnyone, true, true, "满意 编号", "对办结结果满意 (satisfied)",
     [](Run& r) { return r.bot.rate(r.ctx, true, *r.txn); }},
    {K::kUnsatisfied, {"不满意", "unsatisfied"}, R::kAnyone, true, true, "不满意 编号",
     "对办结结果不满意,15天内重新办理 (unsatisfied)", [](Run& r) { return r.bot.rate(r.ctx, false, *r.txn); }},
    {K::kPost, {"记账", "post"}, R::kOfficial, true, false,
     "记账 2022-11 换行后每行一笔:支出 工程款 157600 水渠修缮 项目:水利建设 资金:专项资金 对方:某工程队 日期:2022-11-10",
     "记收入和支出 (post)", [](Run& r) { return r.bot.post(r.ctx, r.cmd, *r.txn, *r.author); }},
    {K::kProjectAdd, {"立项", "project add"}, R::kOfficial, true, false, "立项 水利建设 30万 专项",
     "登记项目和批复金额 (project add)", [](Run& r) { return r.bot.project_add(r.ctx, *r.txn, *r.author); }},
    {K::kProjectFinish, {"结项", "project finish"}, R::kOfficial, true, false, "结项 水利建设",
     "项目完工结项 (project finish)", [](Run& r) { return r.bot.project_finish(r.ctx, *r.txn, *r.author); }},
    {K::kReverse, {"冲销", "reverse"}, R::kOfficial, true, false, "冲销 12 重复记账", "冲销记错的一笔 (reverse)",
     [](Run& r) { return r.bot.reverse(r.ctx, *r.txn, *r.author); }},
    {K::kSubsidyList, {"低保名单", "subsidy-list", "subsidy list"}, R::kOfficial, true, false,
     "低保名单 2022-11 换行后每行:张三 身份证号 620 [人数]", "登记补助名单 (subsidy list)",
     [](Run& r) { return r.bot.subsidy_list(r.ctx, r.cmd, *r.txn, *r.author); }},
    {K::kPublish, {"公开", "publish"}, R::kOfficial, true, false, "公开 2022-11", "结账并推送到村民群 (publish)",
     [](Run& r) { return r.bot.publish_command(r.ctx, *r.txn, *r.author, r.pushes); }},
    {K::kAlerts, {"预警", "alerts"}, R::kOfficialOrInspector, false, false, "预警", "看自动发现的问题 (alerts)",
     [](Run& r) { return r.bot.alerts(r.ctx); }},
    {K::kQueue, {"待办", "queue"}, R::kInspector, false, true, "待办", "看辖区内未办结的投诉,逾期的在前 (queue)",
     [](Run& r) { return r.bot.queue(r.ctx); }},
    {K::kShowComplaint, {"查看", "show"}, R::kInspector, false, true, "查看 编号", "看投诉全文、反映人和办理记录 (show)",
     [](Run& r) { return r.bot.show(r.ctx); }},
    {K::kAssign, {"转办", "assign"}, R::kInspector, true, true, "转办 编号 处理人 说明", "转给处理人 (assign)",
     [](Run& r) { return r.bot.inspect(r.ctx, ComplaintStatus::kAssigned, *r.txn, r.pushes); }},
    {K::kInvestigate, {"调查", "investigate"}, R::kInspector, true, true, "调查 编号 说明", "开始调查 (investigate)",
     [](Run& r) { return r.bot.inspect(r.ctx, ComplaintStatus::kInvestigating, *r.txn, r.pushes); }},
    {K::kResolve, {"办结", "resolve"}, R::kInspector, true, true, "办结 编号 结论", "写明结论并办结 (resolve)",
     [](Run& r) { return r.bot.inspect(r.ctx, ComplaintStatus::kResolved, *r.txn, r.pushes); }},
    {K::kReject, {"驳回", "reject"}, R::kInspector, true, true, "驳回 编号 理由", "不予受理,写明理由 (reject)",
     [](Run& r) { return r.bot.inspect(r.ctx, ComplaintStatus::kRejected, *r.txn, r.pushes); }},
    {K::kSignIn, {"登录", "login"}, R::kInspector, true, true, "登录",
     "领取检查台的一次性登录链接,10分钟内有效 (login: a one-time link to the inspector's dashboard)",
     [](Run& r) { return r.bot.sign_in_link(r.ctx, *r.txn); }, true},
  };
}

}  // namespace

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = make_table();
  return table;
}

}  // namespace sunledger
