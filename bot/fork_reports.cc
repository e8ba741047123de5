// 核验 with a pasted checkpoint: is today's log of that village consistent
// with it? And the forks log that keeps the proofs that it is not.
#include "bot/fork_reports.h"

#include "bot/bot_impl.h"
#include "ledger/checkpoint.h"
#include "ledger/evidence_pins.h"
#include "ledger/merkle.h"
#include "ledger/tlog_proof.h"

namespace sunledger {

using nlohmann::json;

namespace fork_reports {
namespace {

const Author kReporter{"sunledger", "system", "fork-report"};

}  // namespace

Result<bool> record(WriteTxn& txn, const std::string& village, const std::string& checkpoint,
                    const std::string& log_checkpoint) {
  bool seen = false;
  std::string body = note_body(checkpoint);
  Status s = txn.committed_leaves(kLogName, 0, [&](uint64_t, std::string_view leaf) {
    json f = json::parse(leaf.begin(), leaf.end(), nullptr, false);
    auto cp = f.is_object() ? f.find("checkpoint") : f.end();
    if (cp != f.end() && cp->is_string() && note_body(cp->get<std::string>()) == body) seen = true;
  });
  if (!s.is_ok()) return s;
  if (seen) return false;
  // The day only: the entry proves the fork; when to the second and by whom
  // is the inspectors' push's to say.
  json f = {{"kind", "fork"}, {"village", village}, {"checkpoint", checkpoint}, {"log_checkpoint", log_checkpoint}};
  auto r = txn.append_to_log(kLogName, f, kReporter, true);
  if (!r.is_ok()) return r.status();
  // Pinned in the village's own log, which witnesses cosign: the forks log
  // deleted whole, or this entry changed, is then named by verify.
  auto pin = pin_evidence(txn, village, kLogName, *r, kReporter);
  if (!pin.is_ok()) return pin.status();
  return true;
}

Result<std::vector<Report>> reports(Ledger& ledger) {
  std::vector<Report> out;
  Status s = ledger.read([&](Ledger::ReadTxn& r) -> Status {
    return r.leaves(kLogName, 0, [&](uint64_t idx, std::string_view leaf) {
      json f = json::parse(leaf.begin(), leaf.end(), nullptr, false);
      if (!f.is_object() || f.value("kind", "") != "fork") return;
      out.push_back({idx, f.value("village", ""), f.value("checkpoint", ""), f.value("log_checkpoint", "")});
    });
  });
  if (!s.is_ok() && s.code() != Code::kNotFound) return s;
  return out;
}

}  // namespace fork_reports

namespace {

// The note with only the signature lines of `key_name` kept: what the
// inspectors' push quotes (cosignatures and stray lines stay in the stored
// evidence).
std::string signed_by(const std::string& note, const std::string& key_name) {
  size_t split = note.find("\n\n");
  if (split == std::string::npos) return note;
  std::string out = note.substr(0, split + 2);
  std::string prefix = "\xE2\x80\x94 " + key_name + " ";
  size_t at = split + 2;
  while (at < note.size()) {
    size_t eol = note.find('\n', at);
    std::string line = note.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
    if (line.rfind(prefix, 0) == 0) out += line + "\n";
    if (eol == std::string::npos) break;
    at = eol + 1;
  }
  return out;
}

constexpr const char* kHowToPaste =
    "请把公开通知里“c2sp.org/tlog-proof@v1”以下的整段,或完整的签名核验码(来源、条数、根哈希、空行、签名行)粘贴在“核验”"
    "后面。(paste the notice's whole tlog-proof block, or the whole signed checkpoint, after 核验)";

}  // namespace

// Long (about 90 lines): the checks run in the order a villager's answer
// needs them, each refusal saying what was wrong and that nothing was kept.
Result<std::string> Bot::Impl::verify_pasted(const Context& ctx, const std::string& text) {
  const char* kNothingKept = "没有保存任何内容。(nothing was stored)";
  auto note = find_signed_checkpoint(text);
  if (!note.is_ok())
    return say(std::string("没有在消息里找到核验码。") + kHowToPaste + "\n" + kNothingKept);
  // The origin names the log: ORIGIN/village of this deployment only.
  std::string body = note->substr(0, note->find('\n'));
  std::string prefix = ledger->origin() + "/";
  const Village* village = body.rfind(prefix, 0) == 0 ? ctx.dir->find_village(body.substr(prefix.size())) : nullptr;
  if (village == nullptr || village->id != body.substr(prefix.size()))
    return say("这个核验码不是本县任何一个村账本的(来源“" + body.substr(0, 120) + "”),无法核对。" + kNothingKept +
               " (this checkpoint is of no village log of this server)");
  auto pasted = open_checkpoint(*note, ledger->verifier_key());
  if (!pasted.is_ok())
    return say("签名不对:这个核验码不是本县账本的密钥签的,或者复制时改动了内容,无法作为证据。请从通知里完整复制后再发。" +
               std::string(kNothingKept) +
               " (the signature does not verify under the county's log key, or the text was changed; resend the whole "
               "checkpoint)");
  auto today_note = ledger->checkpoint(village->id);
  if (!today_note.is_ok()) return today_note.status();
  auto today = open_checkpoint(*today_note, ledger->verifier_key());
  if (!today.is_ok()) return today.status();  // our own checkpoint: verify's alarm, not the sender's mistake
  std::string head = "【" + village->name + " 核验】您发来的核验码 " + checkpoint_short_form(*note) +
                     " 是本县账本密钥签的(签名有效)。今天的核验码是 " + checkpoint_short_form(*today_note) + "。\n";
  // Consistent: the pasted tree is a prefix of today's, by a consistency
  // proof checked as anyone holding both checkpoints would check it.
  std::string why;
  if (pasted->size > today->size) {
    why = "您的核验码有" + std::to_string(pasted->size) + "条记录,今天的账本只有" + std::to_string(today->size) +
          "条:账本被回滚或改写过。(the pasted tree is larger than today's: the log was rolled back or rewritten)";
  } else if (pasted->size == 0) {
    if (pasted->root != merkle_empty_root()) why = "空账本的根哈希不对。(a size-0 checkpoint with a wrong root)";
  } else {
    auto proof = ledger->consistency_proof(village->id, pasted->size, today->size);
    if (!proof.is_ok()) return proof.status();
    std::vector<std::string> raw;
    for (const auto& h : *proof) raw.emplace_back(as_view(h));
    if (!verify_consistency(pasted->size, today->size, as_view(pasted->root), as_view(today->root), raw))
      why = "今天账本的前" + std::to_string(pasted->size) + "条记录和您保存的不一样:账本被改写过,或者给不同的人看了不同的账。"
            "(today's first " + std::to_string(pasted->size) +
            " entries are not the ones your checkpoint signed: the log was rewritten, or shown differently to "
            "different people)";
  }
  if (why.empty())
    return head + "一致:今天的账本包含您保存的全部" + std::to_string(pasted->size) +
           "条记录,一条没改(一致性证明已核对)。(consistent: today's log extends your checkpoint, by a checked "
           "consistency proof)\n";
  // A fork: kept as evidence and pushed to the village's inspectors, both in
  // one transaction, so neither happens without the other.
  std::string who = ctx.msg->sender_name + "(" + ctx.msg->bot_id + "/" + ctx.msg->sender_id + ")" +
                    (ctx.msg->group ? ",在群 " + ctx.msg->chat_id + " 里" : ",私聊");
  bool recorded = false;
  size_t told = 0;
  Status s = ledger->write([&](WriteTxn& txn) -> Status {
    told = 0;
    auto r = fork_reports::record(txn, village->id, *note, *today_note);
    if (!r.is_ok()) return r.status();
    recorded = *r;
    if (!recorded) return Status::ok();  // reported before: the inspectors have it already
    auto index = txn.log_size(fork_reports::kLogName);
    if (!index.is_ok()) return index.status();
    std::string alarm = "【账本分叉证据 (fork evidence)】" + village->town + village->name + "\n" + who +
                        " 发送“核验”贴出的核验码是本县账本密钥签的,但和今天的账本不一致:" + why + "\n村民保存的:\n" +
                        signed_by(*note, ledger->signer().key_name()) + "今天的:\n" +
                        signed_by(*today_note, ledger->signer().key_name()) + "已存为 forks 日志第#" +
                        std::to_string(*index - 1) + "条。请保存这条消息:两个核验码都有账本密钥的签名,合在一起就是证据。"
                        "(two checkpoints signed by the log key that cannot both be true: keep this message)";
    std::set<std::pair<std::string, std::string>> sent;
    for (const auto& [key, memberships] : ctx.dir->members)
      for (const auto& m : memberships) {
        if (m.role != Role::kInspector || !area_covers(m.area, *village) || !reaches_person(m.bot_id)) continue;
        if (!sent.insert({m.bot_id, m.user_id}).second) continue;
        if (Status st = Outbox::enqueue(txn, {m.bot_id, m.user_id, alarm, Audience::kPerson}); !st.is_ok()) return st;
        ++told;
      }
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  std::string out = "⚠ " + head + "不一致:" + why + "\n";
  if (!recorded)
    return out + "这个核验码此前已经有人报告过,已保存为证据并报告给了纪检监察人员。(reported before: already kept as "
                 "evidence and sent to the inspectors)\n";
  if (told == 0)
    return out + "已保存为证据,但目前没有能私信联系的纪检监察人员:请把您保存的核验码和这条回复一起交给乡镇纪委。(kept as "
                 "evidence, but no inspector can be reached privately: take your checkpoint and this reply to the "
                 "township's discipline commission)\n";
  return out + "已保存为证据,并已私信报告给" + std::to_string(told) +
         "位纪检监察人员。请保存好您的核验码。(kept as evidence and sent privately to " + std::to_string(told) +
         " inspector(s); keep your checkpoint)\n";
}

}  // namespace sunledger
