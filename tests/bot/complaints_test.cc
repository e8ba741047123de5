// Complaints through the bot, against a real ledger, with an injected clock.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>


#include "bot/bot.h"
#include "bot/dedupe.h"
#include "bot/outbox.h"
#include "ledger/crypto.h"
#include "insider.h"
#include "test_support.h"

namespace sunledger {
namespace {

constexpr const char* kBot = "generic";
constexpr int64_t kDay = 86400;

struct ComplaintsTest : ::testing::Test {
  testing::TestLedger t;
  std::unique_ptr<Bot> bot;
  int next_id = 0;
  bool private_channel = true;  // whether the bot can message one person
  bool takes_private = true;    // whether people can write to the bot privately

  void SetUp() override {
    BotOptions o;
    o.identity_salt = "0123456789abcdef0123456789abcdef";
    o.reaches_person = [this](const std::string&) { return private_channel; };
    o.takes_private_messages = [this](const std::string&) { return takes_private; };
    bot = std::make_unique<Bot>(t.ledger.get(), o);
    ASSERT_TRUE(bot->initialize().is_ok());
    ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
    ASSERT_TRUE(t.ledger->add_village({"nanzhou", "南洲村", "南洲镇"}).is_ok());
    ASSERT_TRUE(t.ledger->register_project("shuangjiang", {"水利建设", 30'000'000, true}, testing::official()).is_ok());
    ASSERT_TRUE(bot->bind_group("shuangjiang", kBot, "sj-group").is_ok());
    ASSERT_TRUE(bot->bind_group("nanzhou", kBot, "nz-group").is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "secretary", "shuangjiang", Role::kOfficial, ""}).is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "zt-inspector", "", Role::kInspector, "朱亭镇"}).is_ok());
    ASSERT_TRUE(bot->add_member({kBot, "nz-inspector", "", Role::kInspector, "南洲镇"}).is_ok());
  }

  BotReply say(const std::string& user, const std::string& chat, bool group, const std::string& text,
               std::string message_id = "") {
    InboundMessage m{kBot, chat, group, user, user, text, message_id.empty() ? "c" + std::to_string(++next_id) : message_id, 0};
    auto r = bot->handle(m);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : BotReply{};
  }
  BotReply priv(const std::string& user, const std::string& text, std::string id = "") {
    return say(user, "dm-" + user, false, text, id);
  }

  // The first receipt in a reply: "dddd-dddd-dddd", or an anonymous "XXXXX-XXXXX-XXXXX-XXXXX".
  static std::string receipt_in(const std::string& text) {
    for (size_t i = 0; i < text.size(); ++i) {
      for (size_t len : {23, 14}) {
        if (i + len > text.size()) continue;
        std::string cand = text.substr(i, len);
        if (Complaints::normalise_receipt(cand) == cand) return cand;
      }
    }
    return "";
  }
  int64_t complaint_count() {
    return testing::open_insider(t.db_path())->value("SELECT count(*) FROM complaints");
  }

  std::string file_private(const std::string& text = "投诉 #12 水利建设的钱少了") {
    say("villager", "sj-group", true, "账目");  // seen in the village group first
    return receipt_in(priv("villager", text).text);
  }
};

TEST_F(ComplaintsTest, FiledInAGroupNeverEchoesTheText) {
  auto r = say("villager", "sj-group", true, "投诉 村道拓宽用了水利专项资金");
  // The group sees neither the receipt nor the text; the receipt goes to the
  // reporter alone.
  EXPECT_EQ(receipt_in(r.text), "") << r.text;
  EXPECT_EQ(r.text.find("村道拓宽"), std::string::npos);
  EXPECT_NE(r.text.find("回执已私信发给您"), std::string::npos) << r.text;
  ASSERT_EQ(r.pushes.size(), 1u);
  EXPECT_EQ(r.pushes[0].audience, Audience::kPerson);
  EXPECT_EQ(r.pushes[0].chat_id, "villager");
  std::string receipt = receipt_in(r.pushes[0].text);
  ASSERT_FALSE(receipt.empty()) << r.pushes[0].text;
  auto c = bot->complaints().get(receipt);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->village, "shuangjiang");
  EXPECT_EQ(c->text, "村道拓宽用了水利专项资金");
  EXPECT_EQ(c->reporter->user_id, "villager");
  EXPECT_EQ(c->status, ComplaintStatus::kReceived);
}

TEST_F(ComplaintsTest, WithoutAPrivateChannelAGroupComplaintIsNotFiled) {
  private_channel = false;
  auto r = say("villager", "sj-group", true, "投诉 村道拓宽用了水利专项资金");
  EXPECT_EQ(receipt_in(r.text), "");
  EXPECT_EQ(r.text.find("村道拓宽"), std::string::npos);
  EXPECT_NE(r.text.find("请私信本机器人发送投诉"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("没有登记"), std::string::npos);
  EXPECT_TRUE(r.pushes.empty());
  EXPECT_EQ(complaint_count(), 0);
  // In private chat it is filed, and the reporter is told to ask for news.
  auto p = priv("villager", "投诉 村道拓宽用了水利专项资金");
  std::string receipt = receipt_in(p.text);
  ASSERT_FALSE(receipt.empty()) << p.text;
  EXPECT_NE(p.text.find("无法主动私信通知您"), std::string::npos) << p.text;
  // Nothing meant for the reporter is queued anywhere.
  auto a = priv("zt-inspector", "转办 " + receipt + " 朱亭镇纪委 请核查");
  EXPECT_NE(a.text.find("已转办"), std::string::npos) << a.text;
  EXPECT_TRUE(a.pushes.empty());
  EXPECT_EQ(*Outbox(t.ledger.get()).depth(), 0);
  // The overdue digest is not sent either.
  t.clock.advance(30 * kDay);
  EXPECT_EQ(*bot->push_overdue_digest(), 0u);
  EXPECT_EQ(*Outbox(t.ledger.get()).depth(), 0);
}

// A WeCom group robot lives only in its group: "send it privately" could not
// be followed, so the villager is told where else to go.
TEST_F(ComplaintsTest, AGroupOnlyBotSendsComplaintsElsewhere) {
  private_channel = false;
  takes_private = false;
  auto r = say("villager", "sj-group", true, "投诉 村道拓宽用了水利专项资金");
  EXPECT_EQ(r.text.find("请私信本机器人发送投诉"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("不能私聊"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("镇纪委"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("没有登记"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("村道拓宽"), std::string::npos);
  EXPECT_TRUE(r.pushes.empty());
  EXPECT_EQ(complaint_count(), 0);
  // Its 帮助 offers nothing that must be sent privately: nobody could.
  std::string help = say("villager", "sj-group", true, "帮助").text;
  EXPECT_EQ(help.find("[私信]"), std::string::npos) << help;
  EXPECT_EQ(help.find("投诉 内容"), std::string::npos) << help;
  EXPECT_NE(help.find("不能私聊:投诉请直接向镇纪委反映"), std::string::npos) << help;
}

TEST_F(ComplaintsTest, OnlyTheReporterFollowsANamedComplaint) {
  std::string receipt = file_private();
  ASSERT_FALSE(receipt.empty());
  std::string unknown = priv("villager", "进度 0000-0000-0001").text;
  EXPECT_NE(unknown.find("没有找到"), std::string::npos) << unknown;
  // Another villager holding the receipt learns nothing: the same answer as an unknown receipt.
  EXPECT_EQ(priv("neighbour", "进度 " + receipt).text, priv("neighbour", "进度 0000-0000-0001").text);
  // Same user id on another bot is another person.
  InboundMessage other{"other-bot", "dm-villager", false, "villager", "villager", "进度 " + receipt, "o1", 0};
  EXPECT_EQ(bot->handle(other)->text, unknown);
  EXPECT_NE(priv("villager", "进度 " + receipt).text.find("状态:已受理"), std::string::npos);
  // Ratings likewise.
  priv("zt-inspector", "转办 " + receipt + " 纪委 核查");
  priv("zt-inspector", "调查 " + receipt + " 核查");
  priv("zt-inspector", "办结 " + receipt + " 属实");
  EXPECT_EQ(priv("neighbour", "不满意 " + receipt + " 敷衍").text, unknown);
  EXPECT_EQ(bot->complaints().get(receipt)->status, ComplaintStatus::kResolved);
  EXPECT_NE(priv("villager", "满意 " + receipt).text.find("满意"), std::string::npos);
}

TEST_F(ComplaintsTest, FailedReceiptLookUpsAreLimited) {
  std::string receipt = file_private();
  // Ten wrong guesses in an hour, then even a right one is not looked up.
  for (int i = 0; i < 10; ++i)
    EXPECT_NE(priv("guesser", "进度 1234-5678-90" + std::to_string(10 + i)).text.find("没有找到"), std::string::npos);
  InboundMessage anon{kBot, "dm-guesser", false, "guesser", "g", "进度 " + receipt, "g-1", 0};
  EXPECT_NE(bot->handle(anon)->text.find("次数太多"), std::string::npos);
  // Others are not affected, and the window passes.
  EXPECT_NE(priv("villager", "进度 " + receipt).text.find("状态"), std::string::npos);
  t.clock.advance(3601);
  EXPECT_NE(priv("guesser", "进度 1234-5678-9000").text.find("没有找到"), std::string::npos);
}

TEST_F(ComplaintsTest, FiledInPrivateWithLinksDeadlineAndReceipts) {
  say("villager", "sj-group", true, "余额");
  auto r = priv("villager", "举报 第#12条和＃13条 水利建设的专项资金少了14万");
  std::string receipt = receipt_in(r.text);
  ASSERT_FALSE(receipt.empty()) << r.text;
  EXPECT_NE(r.text.find("双江村"), std::string::npos);
  EXPECT_NE(r.text.find("2022-12-10"), std::string::npos) << r.text;  // filed 2022-12-05, 5 days to assign
  EXPECT_NE(r.text.find("#12、#13、水利建设"), std::string::npos) << r.text;
  // Receipts are random, not sequential.
  std::string second = receipt_in(priv("villager", "投诉 另一件事").text);
  EXPECT_NE(second, receipt);
  EXPECT_NE(std::stoll(second.substr(10)), std::stoll(receipt.substr(10)) + 1);
  // A stranger must name the village; naming it works.
  EXPECT_NE(priv("stranger", "投诉 账不对").text.find("写明是哪个村"), std::string::npos);
  EXPECT_FALSE(receipt_in(priv("stranger", "投诉 南洲村 保洁费不对").text).empty());
  // Someone seen in two villages must choose.
  say("mover", "sj-group", true, "账目");
  say("mover", "nz-group", true, "账目");
  EXPECT_NE(priv("mover", "投诉 账不对").text.find("多个村"), std::string::npos);
  EXPECT_NE(priv("villager", "投诉").text.find("写明反映的问题"), std::string::npos);
}

// A stranger's anonymous complaint without a village is told how to name it
// anonymously: copying a named example would file under their name.
TEST_F(ComplaintsTest, AnAnonymousComplaintWithoutAVillageIsShownTheAnonymousForm) {
  auto r = priv("stranger-7", "匿名投诉 村道拓宽的钱从哪里来");
  EXPECT_NE(r.text.find("“匿名投诉 双江村 内容”"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("“投诉 双江村"), std::string::npos) << r.text;
  EXPECT_NE(priv("stranger-7", "投诉 村道拓宽的钱从哪里来").text.find("“投诉 双江村 内容”"), std::string::npos);
}

TEST_F(ComplaintsTest, AnonymousComplaintsStoreNoIdentity) {
  auto r = priv("villager", "匿名投诉 南洲村 保洁费虚报");
  std::string receipt = receipt_in(r.text);
  ASSERT_FALSE(receipt.empty()) << r.text;
  EXPECT_NE(r.text.find("唯一凭证"), std::string::npos);
  auto c = bot->complaints().get(receipt);
  EXPECT_TRUE(c->anonymous);
  EXPECT_FALSE(c->reporter.has_value());
  std::string bytes = testing::stored_bytes(t.db_path());
  // The only trace of the sender would be its id next to the complaint row; there is none.
  auto db = testing::open_insider(t.db_path());
  auto& q = db->statement("SELECT count(*) FROM complaints WHERE reporter_id IS NOT NULL AND receipt=?");
  q.bind(1, receipt);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 0);
  q.reset();
  // Status changes of anonymous complaints push nothing.
  auto a = priv("nz-inspector", "转办 " + receipt + " 南洲镇纪委 请核查");
  EXPECT_NE(a.text.find("不推送"), std::string::npos) << a.text;
  EXPECT_TRUE(a.pushes.empty());
  // Anonymous receipts are bearer secrets: 20 characters of Crockford base 32 (100 bits).
  EXPECT_EQ(receipt.size(), 23u);
  EXPECT_EQ(receipt.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ-"), std::string::npos) << receipt;
  // Anyone holding it may follow it, typed loosely.
  std::string loose = receipt;
  for (auto& ch : loose) ch = ch == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_NE(priv("someone", "进度 " + loose).text.find("状态"), std::string::npos);
  // In a group an anonymous complaint would name its reporter: refused, nothing filed.
  int64_t before = complaint_count();
  auto g = say("x", "sj-group", true, "complain anonymously the road money");
  EXPECT_NE(g.text.find("private chat"), std::string::npos) << g.text;
  EXPECT_EQ(receipt_in(g.text), "");
  EXPECT_EQ(complaint_count(), before);
}

TEST_F(ComplaintsTest, TheWholeFlowWithPushesAndRatings) {
  std::string receipt = file_private();
  ASSERT_FALSE(receipt.empty());
  Outbox outbox(t.ledger.get());
  EXPECT_EQ(*outbox.depth(), 0);
  // Refused transitions: nothing changes.
  EXPECT_NE(priv("zt-inspector", "办结 " + receipt + " 属实").text.find("不能从“已受理”改为“已办结”"), std::string::npos);
  EXPECT_NE(priv("zt-inspector", "转办 " + receipt).text.find("处理人"), std::string::npos);
  EXPECT_NE(priv("zt-inspector", "驳回 " + receipt).text.find("理由"), std::string::npos);
  auto a = priv("zt-inspector", "转办 " + receipt + " 朱亭镇纪委 请核查");
  EXPECT_NE(a.text.find("已转办"), std::string::npos) << a.text;
  ASSERT_EQ(a.pushes.size(), 1u);
  EXPECT_EQ(a.pushes[0].chat_id, "villager");  // the reporter's user id, privately
  EXPECT_EQ(a.pushes[0].audience, Audience::kPerson);
  EXPECT_NE(a.pushes[0].text.find("朱亭镇纪委"), std::string::npos);
  EXPECT_NE(priv("zt-inspector", "办结 " + receipt + " x").text.find("不能从“已转办”改为“已办结”"), std::string::npos);
  EXPECT_NE(priv("zt-inspector", "调查 " + receipt + " 调取账本").text.find("调查中"), std::string::npos);
  EXPECT_NE(priv("villager", "满意 " + receipt).text.find("还没有办结"), std::string::npos);
  EXPECT_NE(priv("zt-inspector", "办结 " + receipt).text.find("结论"), std::string::npos);
  t.clock.advance(3 * kDay);
  EXPECT_NE(priv("zt-inspector", "办结 " + receipt + " 属实,已责令退回").text.find("已办结"), std::string::npos);
  EXPECT_EQ(*outbox.depth(), 3);

  // A named complaint answers its reporter only; anyone else reads "unknown".
  EXPECT_NE(priv("anyone-with-the-receipt", "进度 " + receipt).text.find("没有找到"), std::string::npos);
  auto progress = priv("villager", "进度 " + receipt);
  EXPECT_NE(progress.text.find("状态:已办结"), std::string::npos) << progress.text;
  EXPECT_NE(progress.text.find("已转办,处理人:朱亭镇纪委,说明:请核查"), std::string::npos) << progress.text;
  EXPECT_NE(progress.text.find("属实,已责令退回"), std::string::npos);
  EXPECT_EQ(progress.text.find("水利建设的钱少了"), std::string::npos);  // the text is for inspectors
  EXPECT_EQ(progress.text.find("villager"), std::string::npos);
  // A wrong receipt gets the same answer as an unknown one.
  std::string wrong = receipt.substr(0, 13) + (receipt.back() == '9' ? "0" : "9");
  EXPECT_EQ(priv("x", "进度 " + wrong).text, priv("x", "status 0000-0000-0000").text);
  EXPECT_EQ(priv("x", "进度 abc").text, priv("x", "进度 0000-0000-0000").text);

  // Unsatisfied within 15 days reopens it for the inspectors.
  auto un = priv("villager", "不满意 " + receipt + " 钱还没退回");
  EXPECT_NE(un.text.find("重新交纪委办理"), std::string::npos) << un.text;
  EXPECT_EQ(bot->complaints().get(receipt)->status, ComplaintStatus::kReopened);
  EXPECT_NE(priv("zt-inspector", "调查 " + receipt + " 再次核查").text.find("调查中"), std::string::npos);
  t.clock.advance(kDay);
  priv("zt-inspector", "办结 " + receipt + " 已退回");
  EXPECT_NE(priv("villager", "满意 " + receipt).text.find("满意"), std::string::npos);
  EXPECT_NE(priv("villager", "满意 " + receipt).text.find("已经评价"), std::string::npos);
  // The same rating delivered twice is answered once.
  EXPECT_TRUE(t.ledger->verify()->intact());
  EXPECT_TRUE(bot->complaints().verify()->empty());
}

TEST_F(ComplaintsTest, UnsatisfiedTooLateDoesNotReopen) {
  std::string receipt = file_private();
  priv("zt-inspector", "转办 " + receipt + " 纪委 x");
  priv("zt-inspector", "调查 " + receipt + " x");
  priv("zt-inspector", "办结 " + receipt + " 不属实");
  t.clock.advance(16 * kDay);
  EXPECT_NE(priv("villager", "unsatisfied " + receipt + " late").text.find("超过15天"), std::string::npos);
  EXPECT_EQ(bot->complaints().get(receipt)->status, ComplaintStatus::kResolved);
}

TEST_F(ComplaintsTest, DeadlinesWithAnInjectedClock) {
  std::string receipt = file_private();
  auto c = *bot->complaints().get(receipt);
  const auto& d = bot->complaints().deadlines();
  EXPECT_EQ(complaint_deadline(c, d), c.filed_at + 5 * kDay);
  EXPECT_FALSE(complaint_overdue(c, d, t.clock.now_unix_seconds()));
  t.clock.advance(5 * kDay + 1);
  EXPECT_TRUE(complaint_overdue(c, d, t.clock.now_unix_seconds()));
  auto q = priv("zt-inspector", "待办");
  EXPECT_NE(q.text.find("⚠逾期 " + receipt), std::string::npos) << q.text;
  priv("zt-inspector", "转办 " + receipt + " 纪委 x");
  c = *bot->complaints().get(receipt);
  EXPECT_FALSE(complaint_overdue(c, d, t.clock.now_unix_seconds()));
  EXPECT_EQ(complaint_deadline(c, d), c.filed_at + 60 * kDay);
  t.clock.advance(56 * kDay);
  EXPECT_TRUE(complaint_overdue(*bot->complaints().get(receipt), d, t.clock.now_unix_seconds()));
  ComplaintFilter f;
  f.overdue_only = true;
  EXPECT_EQ(bot->complaints().list(f)->size(), 1u);
}

TEST_F(ComplaintsTest, InspectorsHearOfOverdueComplaintsOnceADay) {
  std::string receipt = file_private();
  EXPECT_EQ(*bot->push_overdue_digest(), 0u);  // nothing overdue yet; today's digest is done
  t.clock.advance(6 * kDay);
  EXPECT_EQ(*bot->push_overdue_digest(), 1u);  // the 朱亭镇 inspector; 南洲镇's has nothing
  EXPECT_EQ(*bot->push_overdue_digest(), 0u);  // once a day
  auto due = Outbox(t.ledger.get()).due(t.clock.now_unix_seconds(), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].chat_id, "zt-inspector");
  EXPECT_NE((*due)[0].text.find(receipt), std::string::npos);
  t.clock.advance(kDay);
  EXPECT_EQ(*bot->push_overdue_digest(), 1u);
}

TEST_F(ComplaintsTest, EveryTransitionRule) {
  using S = ComplaintStatus;
  const S all[] = {S::kReceived, S::kAssigned, S::kInvestigating, S::kResolved, S::kRejected, S::kReopened};
  std::set<std::pair<S, S>> allowed = {{S::kReceived, S::kAssigned},      {S::kReceived, S::kRejected},
                                       {S::kAssigned, S::kInvestigating}, {S::kAssigned, S::kRejected},
                                       {S::kInvestigating, S::kResolved}, {S::kInvestigating, S::kRejected},
                                       {S::kReopened, S::kAssigned},      {S::kReopened, S::kInvestigating}};
  for (S from : all)
    for (S to : all)
      EXPECT_EQ(check_transition(from, to, "note", "who").is_ok(), allowed.count({from, to}) > 0)
          << complaint_status_name(from) << " -> " << complaint_status_name(to);
  EXPECT_EQ(parse_complaint_status("已办结"), S::kResolved);
  EXPECT_STREQ(complaint_status_zh(S::kRejected), "不予受理");
  EXPECT_EQ(Complaints::normalise_receipt("4821 0937 5516"), "4821-0937-5516");
  EXPECT_FALSE(Complaints::normalise_receipt("4821-0937-551").has_value());
}

TEST_F(ComplaintsTest, OfficialsAndVillagersCannotReadComplaints) {
  std::string receipt = file_private();
  for (std::string who : {"secretary", "villager"}) {
    EXPECT_NE(priv(who, "查看 " + receipt).text.find("只有纪检监察人员"), std::string::npos);
    EXPECT_NE(priv(who, "待办").text.find("只有纪检监察人员"), std::string::npos);
    EXPECT_NE(priv(who, "转办 " + receipt + " 我 x").text.find("只有纪检监察人员"), std::string::npos);
  }
  // An inspector of another town sees nothing of it.
  EXPECT_NE(priv("nz-inspector", "查看 " + receipt).text.find("没有找到"), std::string::npos);
  EXPECT_EQ(priv("nz-inspector", "待办").text.find(receipt), std::string::npos);
  // Inspectors read it in private only.
  EXPECT_NE(say("zt-inspector", "sj-group", true, "查看 " + receipt).text.find("私信"), std::string::npos);
  auto show = priv("zt-inspector", "show " + receipt);
  EXPECT_NE(show.text.find("反映人:villager"), std::string::npos) << show.text;
  EXPECT_NE(show.text.find("水利建设的钱少了"), std::string::npos);
  EXPECT_EQ(bot->complaints().get(receipt)->events.size(), 1u);
}

TEST_F(ComplaintsTest, RetriedFilingFilesOnce) {
  say("villager", "sj-group", true, "账目");
  auto a = priv("villager", "投诉 同一条消息", "platform-42");
  auto b = priv("villager", "投诉 同一条消息", "platform-42");
  EXPECT_TRUE(b.replayed);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(bot->complaints().list({})->size(), 1u);
}

// A redelivered message whose kept reply was edited (only someone with the
// id-salt can seal one) is told it was handled, and nothing runs twice; it
// was an internal error before, retried by the platform for ever.
TEST_F(ComplaintsTest, ARetryWhoseKeptReplyWasEditedIsNotFiledTwice) {
  say("villager", "sj-group", true, "账目");
  auto a = priv("villager", "投诉 同一条消息", "platform-43");
  ASSERT_FALSE(receipt_in(a.text).empty());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE dedupe_records SET reply=randomblob(length(reply))");
  }
  auto b = priv("villager", "投诉 同一条消息", "platform-43");
  EXPECT_TRUE(b.replayed);
  EXPECT_EQ(b.text, std::string(DedupeRecords::kHandledReplay) + "\n");
  EXPECT_EQ(complaint_count(), 1);
}

// The dedupe record of a filed complaint deleted by hand: the platform's
// redelivery of the same message used to file the complaint a second time.
// The signed "handled" log still holds the message's key, so the redelivery
// is told it was handled and nothing runs twice (across a new Bot too, as a
// restarted server), and verify names the missing record.
TEST_F(ComplaintsTest, ADeletedDedupeRecordDoesNotFileTwice) {
  say("villager", "sj-group", true, "账目");
  auto a = priv("villager", "投诉 同一条消息", "platform-44");
  ASSERT_FALSE(receipt_in(a.text).empty());
  auto anonymous = priv("villager", "匿名投诉 同一条匿名消息", "platform-45");
  ASSERT_EQ(complaint_count(), 2);
  ASSERT_TRUE(bot->verify_deployment()->empty());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("DELETE FROM dedupe_records");
  }
  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(restart);
    if (restart == 1) {
      BotOptions o;
      o.identity_salt = "0123456789abcdef0123456789abcdef";
      o.reaches_person = [this](const std::string&) { return private_channel; };
      bot = std::make_unique<Bot>(t.ledger.get(), o);
      ASSERT_TRUE(bot->initialize().is_ok());
    }
    auto b = priv("villager", "投诉 同一条消息", "platform-44");
    EXPECT_TRUE(b.replayed);
    EXPECT_EQ(b.text, std::string(DedupeRecords::kHandledReplay) + "\n");
    EXPECT_TRUE(priv("villager", "匿名投诉 同一条匿名消息", "platform-45").replayed);
    EXPECT_EQ(complaint_count(), 2);
  }
  auto p = bot->verify_deployment();
  ASSERT_TRUE(p.is_ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].log, "handled");
  EXPECT_NE((*p)[0].reason.find("dedupe_records: the record of the message handled in entry"), std::string::npos)
      << (*p)[0].reason;
  // The log holds the keys and the day, nothing the table did not.
  std::string leaves;
  auto db = testing::open_insider(t.db_path());
  auto& q = db->statement("SELECT leaf FROM entries WHERE log_id=(SELECT id FROM logs WHERE name='handled')");
  while (q.step()) leaves += q.column_blob(0) + "|";
  EXPECT_EQ(leaves.find("platform-4"), std::string::npos) << leaves;
  EXPECT_EQ(leaves.find("villager"), std::string::npos) << leaves;
  // A new message still runs.
  EXPECT_FALSE(receipt_in(priv("villager", "投诉 另一条消息", "platform-46").text).empty());
}

// A running server keeps the handled log's keys in memory and reads only what
// committed since its last look. A message handled by another writer of the
// same ledger (a second Bot here, as `sunledger ask` beside a running server)
// after the server read the log, its record then deleted by hand, is still
// met as handled when it reaches the server.
TEST_F(ComplaintsTest, AMessageHandledBesideTheServerIsMetAsHandledAfterItsRecordIsDeleted) {
  say("villager", "sj-group", true, "账目");
  ASSERT_FALSE(receipt_in(priv("villager", "投诉 先读一次日志", "platform-50").text).empty());
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  o.reaches_person = [this](const std::string&) { return private_channel; };
  Bot beside(t.ledger.get(), o);
  ASSERT_TRUE(beside.initialize().is_ok());
  for (int i = 0; i < 3; ++i) {  // entries the server has not read, before and after the one that matters
    InboundMessage m{kBot, "dm-villager", false, "villager", "villager", "投诉 旁边的第" + std::to_string(i) + "条",
                     "platform-6" + std::to_string(i), 0};
    auto r = beside.handle(m);
    ASSERT_TRUE(r.is_ok());
    ASSERT_FALSE(receipt_in(r->text).empty());
  }
  ASSERT_EQ(complaint_count(), 3 + 1);
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("DELETE FROM dedupe_records");
  }
  auto again = priv("villager", "投诉 旁边的第1条", "platform-61");
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.text, std::string(DedupeRecords::kHandledReplay) + "\n");
  EXPECT_EQ(complaint_count(), 3 + 1);
  // The first one, read by the server before, too.
  EXPECT_TRUE(priv("villager", "投诉 先读一次日志", "platform-50").replayed);
  EXPECT_EQ(complaint_count(), 3 + 1);
}

// An anonymous receipt posted in a group stops working, by a signed event of
// the complaint: a row deleted by hand (it was a table of its own, outside
// every log, and deleting the row made the receipt work again) is named by
// verify, and the inspectors see in the history why the receipt stopped.
TEST_F(ComplaintsTest, ABurntReceiptIsASignedEventOfItsComplaint) {
  say("villager", "sj-group", true, "账目");
  std::string r = receipt_in(priv("villager", "匿名投诉 双江村 保洁费虚报").text);
  ASSERT_FALSE(r.empty());
  say("villager", "sj-group", true, "进度 " + r);
  say("villager", "sj-group", true, "进度 " + r);  // once only
  EXPECT_NE(priv("stranger", "进度 " + r).text.find("已停用"), std::string::npos);
  auto c = bot->complaints().get(r);
  ASSERT_TRUE(c.is_ok());
  EXPECT_TRUE(c->receipt_exposed);
  ASSERT_EQ(c->events.size(), 2u);
  EXPECT_EQ(c->events[1].kind, Complaints::kReceiptExposed);
  EXPECT_EQ(c->events[1].at % kDay, 16 * 3600) << "kept to the (local) day, like the filing";
  EXPECT_NE(priv("zt-inspector", "查看 " + r).text.find("编号在群里公开,已停用"), std::string::npos);
  ASSERT_TRUE(bot->complaints().verify()->empty());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("DELETE FROM complaint_events WHERE kind='receipt_exposed'");
  }
  auto p = bot->complaints().verify();
  ASSERT_TRUE(p.is_ok());
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].log, "complaints");
  EXPECT_EQ((*p)[0].first_bad_index, c->events[1].log_index);
}

// Receipts burnt by an older version (a table of keyed hashes) become
// signed events once, at start, and the table goes.
TEST_F(ComplaintsTest, ReceiptsBurntByAnOlderVersionAreRecordedOnce) {
  SUNLEDGER_SQLITE_ONLY("the upgrade of a SQLite database an older version made; no PostgreSQL database predates it");
  say("villager", "sj-group", true, "账目");
  std::string burnt = receipt_in(priv("villager", "匿名投诉 双江村 保洁费虚报").text);
  std::string kept = receipt_in(priv("villager", "匿名投诉 双江村 路灯坏了").text);
  ASSERT_FALSE(burnt.empty());
  ASSERT_FALSE(kept.empty());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("CREATE TABLE exposed_receipts(ref TEXT PRIMARY KEY, day INTEGER NOT NULL)");
    auto& ins = db->statement("INSERT INTO exposed_receipts VALUES(?, 1)");
    ins.bind(1, hex_encode(hmac_sha256("0123456789abcdef0123456789abcdef", "exposed-receipt\n" + burnt)));
    ins.exec();
  }
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot again(t.ledger.get(), o);
  Status first = again.initialize();
  ASSERT_TRUE(first.is_ok()) << first.to_string();
  ASSERT_TRUE(again.initialize().is_ok());  // a second start records nothing more
  EXPECT_TRUE(again.complaints().get(burnt)->receipt_exposed);
  EXPECT_EQ(again.complaints().get(burnt)->events.size(), 2u);
  EXPECT_FALSE(again.complaints().get(kept)->receipt_exposed);
  EXPECT_EQ(testing::open_insider(t.db_path())->value("SELECT count(*) FROM exposed_receipts"), 0);
  EXPECT_TRUE(again.complaints().verify()->empty());
}

// Who spoke in which village's group decides where a private complaint is
// filed. A membership row added by hand (unsigned, or with another row's
// signature) counts for nothing: the complaint still goes to the one village
// the villager was really seen in.
TEST_F(ComplaintsTest, AMembershipAddedByHandDoesNotRouteAComplaint) {
  say("villager", "sj-group", true, "账目");
  say("neighbour", "nz-group", true, "账目");
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("INSERT INTO seen_members(bot, \"user\", village, first_seen) VALUES('generic', 'villager', 'nanzhou', 0)");
    db->exec("INSERT INTO seen_members(bot, \"user\", village, first_seen, sig) SELECT 'generic', 'neighbour', 'shuangjiang', 0, sig "
            "FROM seen_members WHERE \"user\"='villager' AND village='shuangjiang'");
  }
  std::string r = receipt_in(priv("villager", "投诉 路灯坏了").text);
  ASSERT_FALSE(r.empty()) << "the forged row made the villager's village ambiguous";
  EXPECT_EQ(bot->complaints().get(r)->village, "shuangjiang");
  std::string n = receipt_in(priv("neighbour", "投诉 水渠堵了").text);
  ASSERT_FALSE(n.empty());
  EXPECT_EQ(bot->complaints().get(n)->village, "nanzhou");
}

// Each node (and each start) has its own memory of who was seen where: a
// villager another node, or this one before a restart, already recorded is
// read, not written again. On PostgreSQL that write waited for the village
// log's group commit and its fsync, on the first question of every villager
// on every node. A row not signed by our key is still signed again.
TEST_F(ComplaintsTest, AMemberRecordedBeforeARestartIsReadNotWrittenAgain) {
  say("villager", "sj-group", true, "账目");
  say("neighbour", "sj-group", true, "账目");
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE seen_members SET sig=NULL WHERE \"user\"='neighbour'");  // as an older version left it
  }
  BotOptions o;
  o.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot again(t.ledger.get(), o);
  ASSERT_TRUE(again.initialize().is_ok());
  auto ask = [&](const std::string& user) {
    InboundMessage m{kBot, "sj-group", true, user, user, "账目", "r" + std::to_string(++next_id), 0};
    uint64_t before = t.ledger->change_generation();
    auto r = again.handle(m);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return t.ledger->change_generation() != before;  // whether it committed anything
  };
  EXPECT_FALSE(ask("villager"));
  EXPECT_FALSE(ask("villager"));
  EXPECT_TRUE(ask("newcomer"));   // a first question is still recorded
  EXPECT_TRUE(ask("neighbour"));  // and an unsigned row signed again
  EXPECT_FALSE(ask("neighbour"));
  EXPECT_EQ(testing::open_insider(t.db_path())->value("SELECT count(*) FROM seen_members WHERE sig IS NULL"), 0);
}

// The day the overdue digest last went out is signed: set to today by hand
// (with yesterday's signature), it used to keep that day's overdue
// complaints from every inspector.
TEST_F(ComplaintsTest, ADigestMarkSetByHandDoesNotSilenceTheDigest) {
  file_private();
  t.clock.advance(6 * kDay);
  EXPECT_EQ(*bot->push_overdue_digest(), 1u);
  t.clock.advance(kDay);
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE bot_state SET value='2022-12-12' WHERE key='overdue_digest_date'");  // today, 7 days after Dec 5th
  }
  EXPECT_EQ(*bot->push_overdue_digest(), 1u);
  EXPECT_EQ(*bot->push_overdue_digest(), 0u);  // and still once a day
}

TEST_F(ComplaintsTest, MonthlyNoticeCountsComplaintsAndCitesTheirLog) {
  file_private();
  ASSERT_TRUE(t.ledger->post_transactions("shuangjiang", {testing::txn("2022-12-02", true, "其他", "b", 100)}, testing::official()).is_ok());
  auto pub = bot->publish("shuangjiang", "2022-12", testing::official());
  ASSERT_TRUE(pub.is_ok()) << pub.status().to_string();
  EXPECT_NE(pub->notice.find("投诉:本月受理1件"), std::string::npos) << pub->notice;
  EXPECT_NE(pub->notice.find("投诉台账核验码:1/"), std::string::npos) << pub->notice;
}

TEST_F(ComplaintsTest, DeletedOrEditedComplaintsAreDetected) {
  std::string r1 = file_private("投诉 第一件");
  std::string r2 = file_private("投诉 第二件");
  priv("zt-inspector", "转办 " + r2 + " 纪委 x");
  EXPECT_TRUE(bot->complaints().verify()->empty());
  {
    EXPECT_THROW(testing::open_with_triggers(t.db_path())->exec("UPDATE complaints SET text='x'"), sql::Error);
    auto db = testing::open_insider(t.db_path());
    db->exec("UPDATE complaints SET text='无关紧要的小事' WHERE receipt='" + r1 + "'");
  }
  auto p = bot->complaints().verify();
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].log, "complaints");
  EXPECT_NE((*p)[0].reason.find(r1), std::string::npos);
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("DELETE FROM complaint_events WHERE receipt='" + r2 + "'");
    db->exec("DELETE FROM complaints WHERE receipt='" + r2 + "'");
  }
  p = bot->complaints().verify();
  EXPECT_EQ(p->size(), 3u);  // r1's edit, and r2's two orphaned log entries
  bool orphan = false;
  for (const auto& prob : *p) orphan |= prob.reason.find("no stored complaint") != std::string::npos;
  EXPECT_TRUE(orphan);
  // The log itself still verifies: the checkpoint commits to what was filed.
  EXPECT_TRUE(t.ledger->verify("complaints")->intact());
}

// Every column the bot reads from a complaint row is checked against the
// complaints log: one edit each, by someone who dropped the triggers.
TEST_F(ComplaintsTest, EveryDerivedColumnIsChecked) {
  std::string r = file_private("投诉 #12 水利建设的钱少了");
  ASSERT_FALSE(r.empty());
  priv("zt-inspector", "转办 " + r + " 纪委 请核查");
  ASSERT_TRUE(bot->complaints().verify()->empty());
  struct Edit {
    const char* column;
    std::string sql;
  };
  // An overdue complaint vanishing from 待办, status pushes going elsewhere, links rewritten, a reporter renamed.
  const Edit edits[] = {
      {"filed_at", "UPDATE complaints SET filed_at=filed_at+30*86400"},
      {"links", "UPDATE complaints SET links='[]'"},
      {"reporter_chat", "UPDATE complaints SET reporter_chat='someone-else'"},
      {"reporter_name", "UPDATE complaints SET reporter_name='李四'"},
      {"reporter_id", "UPDATE complaints SET reporter_id='someone-else'"},
      {"event time", "UPDATE complaint_events SET at=at+86400 WHERE seq=1"},
      {"assignee", "UPDATE complaint_events SET assignee='无' WHERE seq=1"},
  };
  auto db = testing::open_insider(t.db_path());
  for (const auto& e : edits) {
    SCOPED_TRACE(e.column);
    db->exec(e.sql + (std::string(e.sql).find("complaint_events") != std::string::npos ? " AND receipt='" : " WHERE receipt='") + r + "'");
    auto p = bot->complaints().verify();
    ASSERT_TRUE(p.is_ok());
    ASSERT_EQ(p->size(), 1u);
    EXPECT_EQ((*p)[0].log, "complaints");
    EXPECT_NE((*p)[0].reason.find(r), std::string::npos) << (*p)[0].reason;
    // Undo, and the log agrees again.
    db->exec("UPDATE complaints SET filed_at=(SELECT at FROM complaint_events WHERE receipt='" + r + "' AND seq=0), "
            "links='[\"#12\",\"水利建设\"]', reporter_chat='villager', reporter_name='villager', reporter_id='villager' WHERE receipt='" + r + "'");
    db->exec("UPDATE complaint_events SET at=(SELECT at FROM complaint_events WHERE receipt='" + r + "' AND seq=0), assignee='纪委' "
            "WHERE receipt='" + r + "' AND seq=1");
    ASSERT_TRUE(bot->complaints().verify()->empty()) << "undo failed";
  }
}

// The events of a complaint are its history in the order of its log: read in
// another order, a reopened complaint reads as resolved (and leaves every
// queue), whatever each event says on its own.
TEST_F(ComplaintsTest, TheOrderOfEventsIsChecked) {
  std::string r = file_private();
  ASSERT_FALSE(r.empty());
  priv("zt-inspector", "转办 " + r + " 纪委 请核查");
  priv("zt-inspector", "调查 " + r + " 调取账本");
  priv("zt-inspector", "办结 " + r + " 不属实");
  priv("villager", "不满意 " + r + " 钱还没退回");
  ASSERT_EQ(bot->complaints().get(r)->status, ComplaintStatus::kReopened);
  ASSERT_TRUE(bot->complaints().verify()->empty());
  {
    auto db = testing::open_insider(t.db_path());
    // filed, assigned, investigating, resolved, unsatisfied, reopened -> ..., reopened, unsatisfied, resolved
    for (const char* swap : {"seq=99 WHERE seq=3", "seq=3 WHERE seq=5", "seq=5 WHERE seq=99"})
      db->exec(std::string("UPDATE complaint_events SET ") + swap + " AND receipt='" + r + "'");
  }
  ASSERT_EQ(bot->complaints().get(r)->status, ComplaintStatus::kResolved);  // what the bot now answers
  auto p = bot->complaints().verify();
  ASSERT_TRUE(p.is_ok());
  ASSERT_FALSE(p->empty()) << "events read out of order pass verify";
  EXPECT_NE((*p)[0].reason.find(r), std::string::npos) << (*p)[0].reason;
  // An event shown twice (the resolution again, after the reopening) is named too.
  {
    auto db = testing::open_insider(t.db_path());
    for (const char* swap : {"seq=99 WHERE seq=3", "seq=3 WHERE seq=5", "seq=5 WHERE seq=99"})
      db->exec(std::string("UPDATE complaint_events SET ") + swap + " AND receipt='" + r + "'");
  }
  ASSERT_TRUE(bot->complaints().verify()->empty());
  {
    auto db = testing::open_insider(t.db_path());
    db->exec("INSERT INTO complaint_events SELECT receipt, 6, kind, at, actor, note, assignee, log_index FROM complaint_events "
            "WHERE receipt='" + r + "' AND seq=3");
  }
  ASSERT_EQ(bot->complaints().get(r)->status, ComplaintStatus::kResolved);
  p = bot->complaints().verify();
  ASSERT_TRUE(p.is_ok());
  EXPECT_FALSE(p->empty()) << "an event repeated passes verify";
}

}  // namespace
}  // namespace sunledger
