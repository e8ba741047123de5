// Bot's construction, schema, the directory and API pass-throughs, the books
// cache and who is asking; the commands live in the files named for them.
#include "bot/bot_impl.h"
#include "bot/deliveries.h"
#include "bot/fork_reports.h"

namespace sunledger {

using nlohmann::json;


std::set<std::string> Bot::reserved_log_names() {
  return {Complaints::kLogName, DirectoryStore::kLogName, deliveries::kLogName, DedupeRecords::kLogName,
          fork_reports::kLogName};
}

Bot::Bot(Ledger* ledger, BotOptions options) : impl_(std::make_unique<Impl>(ledger, std::move(options))) {
  impl_->bot = this;
  ledger->expect_indexes(Outbox::own_indexes());
  for (const auto& tables :
       {Outbox::own_tables(), DirectoryStore::own_tables(), DedupeRecords::own_tables(), signed_rows::own_tables(),
        InspectorSignIn::own_tables()})
    ledger->expect_tables(tables);
}
Bot::~Bot() = default;

Status Bot::initialize() {
  return impl_->ledger->write([this](WriteTxn& txn) -> Status {
    if (Status s = signed_rows::create_schema(txn); !s.is_ok()) return s;
    if (Status s = Outbox::create_schema(txn); !s.is_ok()) return s;
    if (Status s = DirectoryStore::create_schema(txn); !s.is_ok()) return s;
    if (Status s = txn.register_existing_villages(); !s.is_ok()) return s;
    if (Status s = DedupeRecords::create_schema(txn); !s.is_ok()) return s;
    Complaints::create_schema(txn.sql());
    if (Status s = InspectorSignIn::create_schema(txn); !s.is_ok()) return s;
    return impl_->complaints.record_legacy_exposed_receipts(txn, impl_->options.identity_salt);
  });
}

// ---------------------------------------------------------------------------
// Directory administration: the CLI's, recorded in the admin log.

Status Bot::bind_group(const std::string& village, const std::string& bot_id, const std::string& chat_id, bool rebind,
                       const Author& by) {
  return impl_->directory_store.bind_group(village, bot_id, chat_id, rebind, by);
}
Status Bot::add_member(const Membership& m, const Author& by, bool* added) {
  return impl_->directory_store.add_member(m, by, added);
}
Result<std::vector<GroupBinding>> Bot::list_groups() { return impl_->directory_store.list_groups(); }
Status Bot::unbind_group(const std::string& bot_id, const std::string& chat_id, const Author& by) {
  return impl_->directory_store.unbind_group(bot_id, chat_id, by);
}
Result<std::vector<Membership>> Bot::list_members(const std::string& bot_id) {
  return impl_->directory_store.list_members(bot_id);
}
Result<size_t> Bot::remove_member(const std::string& bot_id, const std::string& user_id, const Author& by) {
  return impl_->directory_store.remove_member(bot_id, user_id, by);
}
Result<CreatedToken> Bot::create_token(const ApiPrincipal& p, int days, const Author& by) {
  return impl_->directory_store.create_token(p, days, by);
}
Result<std::string> Bot::create_token(const ApiPrincipal& p) {
  auto t = create_token(p, 365);
  if (!t.is_ok()) return t.status();
  return t->token;
}
Result<std::vector<TokenInfo>> Bot::list_tokens() { return impl_->directory_store.list_tokens(); }
Status Bot::revoke_token(int64_t id, const Author& by) { return impl_->directory_store.revoke_token(id, by); }
Result<ApiPrincipal> Bot::authenticate(const std::string& token) { return impl_->directory_store.authenticate(token); }

Status Bot::clear_witness_refusal(const std::string& log, const std::string& witness, const std::string& by,
                                  const std::string& reason, const Author& author) {
  if (by.empty() || reason.empty()) return invalid_argument("请写明是谁、为什么恢复提交 (say who clears the refusal and why)");
  auto d = impl_->directory();
  if (!d.is_ok()) return d.status();
  return impl_->ledger->clear_witness_refusal(log, witness, [&](WriteTxn& txn, const WitnessRefusal& r) -> Status {
    if (Status s = DirectoryStore::record_cleared_refusal(txn, r, by, reason, author); !s.is_ok()) return s;
    // The inspectors who were alarmed by the refusal hear who lifted it.
    auto v = (*d)->villages.find(log);
    std::string text = "【见证人恢复提交 (witness resumed)】村账本 " + log + ":见证人“" + witness + "”此前被停止提交(" +
                       r.reason + "),现由 " + by + " 恢复提交,理由:" + reason +
                       "。已记入签名的管理日志。(the server asks this witness again; who and why are in the signed admin log)";
    std::set<std::pair<std::string, std::string>> sent;
    for (const auto& [who, memberships] : (*d)->members)
      for (const auto& m : memberships) {
        if (m.role != Role::kInspector || !impl_->reaches_person(m.bot_id)) continue;
        if (v != (*d)->villages.end() && !area_covers(m.area, v->second)) continue;
        if (!sent.insert({m.bot_id, m.user_id}).second) continue;
        if (Status st = Outbox::enqueue(txn, {m.bot_id, m.user_id, text, Audience::kPerson}); !st.is_ok()) return st;
      }
    return Status::ok();
  });
}

Status Bot::refuse_witness(const std::string& log, const std::string& witness, uint64_t witness_size,
                          const std::string& reason) {
  return impl_->ledger->refuse_witness(log, witness, witness_size, reason, DirectoryStore::record_refusal);
}
Status Bot::list_witness_refusals_before() { return impl_->directory_store.list_refusals_before(); }
Result<WitnessRefusalCheck> Bot::witness_refusals() { return impl_->directory_store.witness_refusals(); }
Status Bot::clear_refused_record(uint64_t entry, const std::string& by, const std::string& reason,
                                 const Author& author) {
  return impl_->directory_store.clear_refused_record(entry, by, reason, author);
}

// ---------------------------------------------------------------------------
// Books cache

std::shared_ptr<VillageCache> Bot::Impl::village_cache(const Village& v) {
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = books[v.id];
  if (!slot) slot = std::make_shared<VillageCache>(v);
  return slot;
}

Result<std::shared_ptr<const VillageBooks>> Bot::Impl::village_books(const Village& v) {
  // Nothing committed since the books were last found current: no storage read.
  uint64_t generation = ledger->change_generation();
  std::string day = today();
  std::shared_ptr<VillageCache> cache = village_cache(v);
  {
    std::lock_guard<std::mutex> lock(cache->mu);
    if (cache->books && cache->generation == generation && cache->today == day) return cache->books;
  }
  auto size = ledger->log_size(v.id);
  if (!size.is_ok()) return size.status();
  // One thread brings a village's books up to date; the others wait for it
  // rather than all reading the same new entries.
  std::lock_guard<std::mutex> lock(cache->mu);
  if (cache->books && cache->books->size == *size && cache->today == day) {
    cache->generation = generation;
    return cache->books;
  }
  constexpr uint64_t kChunk = 1000;
  for (uint64_t from = cache->builder.size(); from < *size; from += kChunk) {
    auto entries = ledger->entries(v.id, from, std::min(*size, from + kChunk));
    if (!entries.is_ok()) return entries.status();
    for (const auto& e : *entries) {
      cache->builder.apply(e);
      cache->published.apply(e);
    }
  }
  BooksOptions o{options.cash_limit, options.publish_by_day, day};
  auto books = std::make_shared<VillageBooks>(cache->builder.snapshot(o));
  auto published = std::make_shared<VillageBooks>(cache->published.snapshot(o));
  // Its own months are all published; which are overdue, the whole books know.
  for (const auto& f : books->flags)
    if (f.kind == FlagKind::kMonthNotPublished) published->flags.push_back(f);
  books->published = std::move(published);
  cache->books = std::move(books);
  cache->today = day;
  cache->generation = generation;
  return cache->books;
}

// ---------------------------------------------------------------------------
// Who is asking, about which village

Status Bot::Impl::resolve(Context& ctx, const ParsedCommand& cmd) {
  // A villager's read in a group (账目, 余额...) needs only the group's
  // binding, and the answer is public: a directory at most
  // Ledger::kExternalChangeDelay behind another process's change will do,
  // with no storage read. Anything a role, a write or private chat decides,
  // and anyone holding a role, gets a current one, so a right removed with
  // the CLI is gone on the next message.
  const CommandSpec* spec = command_spec(cmd.kind);
  bool public_read = ctx.msg->group && spec != nullptr && spec->role == CommandRole::kAnyone && !spec->write &&
                     !spec->private_only;
  auto d = directory_store.snapshot(public_read ? DirectoryStore::Freshness::kRecent
                                                : DirectoryStore::Freshness::kCurrent);
  if (public_read && d.is_ok() && (*d)->members.count({ctx.msg->bot_id, ctx.msg->sender_id}) != 0)
    d = directory_store.snapshot(DirectoryStore::Freshness::kCurrent);
  if (!d.is_ok()) return d.status();
  ctx.dir = *d;
  ctx.args = cmd.args;
  const auto& msg = *ctx.msg;
  // Roles come from an admin log our signature covers only (Directory::trusted).
  if (auto it = ctx.dir->members.find({msg.bot_id, msg.sender_id}); ctx.dir->trusted && it != ctx.dir->members.end()) {
    for (const auto& m : it->second) {
      if (m.role == Role::kOfficial) ctx.official_villages.push_back(m.village);
      if (m.role == Role::kInspector) ctx.inspector_areas.push_back(m.area);
    }
  }
  if (msg.group) {
    auto it = ctx.dir->bindings.find({msg.bot_id, msg.chat_id});
    if (it != ctx.dir->bindings.end()) ctx.village = ctx.dir->find_village(it->second);
    // "账目 双江村 2022-11" typed in 双江村's own group names the village it is
    // about already; another village is asked about in private chat.
    if (!ctx.args.empty() && !is_write(cmd.kind))
      if (const Village* named = ctx.dir->find_village(ctx.args[0])) {
        if (named == ctx.village) {
          ctx.args.erase(ctx.args.begin());
        } else if (ctx.village != nullptr) {
          return say("本群是" + ctx.village->name + "的群。要看" + named->name + "的内容,请私信机器人发送“" + cmd.keyword + " " +
                     named->name + (ctx.args.size() > 1 ? " " + ctx.args[1] : "") + "”。(this group is " + ctx.village->id +
                     "'s; ask about " + named->id + " in private chat)");
        }
      }
  } else {
    // In private chat a village may be named first ("账目 双江村 2022-11");
    // otherwise an official's own village is meant.
    if (!ctx.args.empty()) {
      if (const Village* v = ctx.dir->find_village(ctx.args[0])) {
        ctx.village = v;
        ctx.args.erase(ctx.args.begin());
      }
    }
    if (!ctx.village && ctx.official_villages.size() == 1) ctx.village = ctx.dir->find_village(ctx.official_villages[0]);
  }
  if (ctx.village)
    ctx.official = std::find(ctx.official_villages.begin(), ctx.official_villages.end(), ctx.village->id) !=
                   ctx.official_villages.end();
  return Status::ok();
}

// ---------------------------------------------------------------------------
// The township accounting API

Result<AppendResult> Bot::post_entries(const std::string& village, const std::vector<TransactionLine>& lines,
                                       const Author& author) {
  return impl_->ledger->post_transactions(village, lines, author);
}

Result<AppendResult> Bot::register_project(const std::string& village, const ProjectRegistration& project,
                                           const Author& author) {
  return impl_->ledger->register_project(village, project, author);
}

Result<Bot::Published> Bot::publish(const std::string& village, const std::string& month, const Author& author) {
  std::optional<Published> out;
  Status s = impl_->ledger->write([&](WriteTxn& txn) -> Status {
    auto p = impl_->publish_in(village, month, txn, author);
    if (!p.is_ok()) return p.status();
    out = std::move(*p);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return std::move(*out);
}

Result<std::string> Bot::monthly_notice(const std::string& village, const std::string& month) {
  auto v = impl_->directory_store.registered_village(village);  // its name as registered, not as the table has it
  if (!v.is_ok()) return v.status();
  auto close = impl_->ledger->month_close(village, month);
  if (!close.is_ok()) return close.status();
  auto alerts = month_alerts(village, month);
  if (!alerts.is_ok()) return alerts.status();
  return render_notice(v->name, *close, alerts->at_publication) + impl_->complaint_counts(village, month) + impl_->web_line(village, month) +
         render_proof_block(*close);
}

std::string Bot::Impl::web_line(const std::string& village, const std::string& month) const {
  if (options.public_url.empty()) return "";
  if (village.empty()) return "网页版 (on the web): " + options.public_url + "/\n";
  return "网页版 (on the web): " + options.public_url + "/villages/" + village + (month.empty() ? "" : "/" + month) + "\n";
}

Complaints& Bot::complaints() { return impl_->complaints; }
InspectorSignIn& Bot::sign_in() { return impl_->sign_in; }
Ledger* Bot::ledger() { return impl_->ledger; }

Result<Complaint> Bot::transition_complaint(const std::string& receipt, ComplaintStatus to, const std::string& note,
                                            const std::string& assignee, const std::string& actor) {
  std::optional<Complaint> out;
  std::vector<Push> pushes;
  Status s = impl_->ledger->write([&](WriteTxn& txn) -> Status {
    auto c = impl_->complaints.transition(txn, receipt, to, note, assignee, actor);
    if (!c.is_ok()) return c.status();
    if (Status st = impl_->queue_status_push(txn, *c, &pushes); !st.is_ok()) return st;
    out = std::move(*c);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return std::move(*out);
}

Result<uint64_t> Bot::complaint_entries() {
  auto size = impl_->ledger->log_size(Complaints::kLogName);
  if (!size.is_ok() && size.status().code() == Code::kNotFound) return uint64_t{0};  // none filed yet
  return size;
}

Result<std::vector<VerifyProblem>> Bot::verify_deployment(const std::string& village) {
  auto r = impl_->ledger->verify(village);
  if (!r.is_ok()) return r.status();
  std::vector<VerifyProblem> problems = r->problems;
  // Complaint commitments are keyed by the id-salt: a folder without it (a
  // backup) can check the logs but not the stored complaints against them.
  if (village.empty() && impl_->options.identity_salt.size() >= 32) {
    auto c = impl_->complaints.verify();
    if (!c.is_ok()) return c.status();
    problems.insert(problems.end(), c->begin(), c->end());
  }
  if (village.empty()) {
    auto d = impl_->directory_store.verify();
    if (!d.is_ok()) return d.status();
    problems.insert(problems.end(), d->begin(), d->end());
    auto pushes = deliveries::verify(*impl_->ledger);
    if (!pushes.is_ok()) return pushes.status();
    problems.insert(problems.end(), pushes->begin(), pushes->end());
    auto handled = impl_->dedupe.verify();
    if (!handled.is_ok()) return handled.status();
    problems.insert(problems.end(), handled->begin(), handled->end());
  }
  // The schema last: a row edited under a dropped trigger is named first by
  // the table and entry it changed, the trigger after it.
  std::stable_partition(problems.begin(), problems.end(), [](const VerifyProblem& p) { return p.log != "schema"; });
  return problems;
}

Result<std::vector<std::string>> Bot::villages_in_area(const std::string& area) {
  auto d = impl_->directory();
  if (!d.is_ok()) return d.status();
  std::vector<std::string> out;
  for (const auto& [id, v] : (*d)->villages)
    if (area_covers(area, v)) out.push_back(id);
  return out;
}

}  // namespace sunledger
