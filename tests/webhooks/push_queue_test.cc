// Issue #19 part 3: a push queue that cannot be stalled. The real sender and
// the real HTTP client push to hostile targets on loopback: real servers on
// 127.0.0.1 (port 0) that trickle one byte every second, answer 400 MB or
// without end, redirect to a server that must never be called, or answer 500
// for ever.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bot/deliveries.h"
#include "bot/outbox.h"
#include "configured_adapters.h"
#include "insider.h"
#include "raw_platform_crypto.h"
#include "server_fixture.h"
#include "webhooks/adapter.h"
#include "webhooks/config.h"
#include "webhooks/http_client.h"
#include "webhooks/outbox_sender.h"

namespace sunledger {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A push target that reads the request and then does whatever `behave` does
// with the socket: a raw TCP server, so it can misbehave below HTTP (trickle
// the status line, promise 400 MB, never end).
struct RawTarget {
  using Behaviour = std::function<void(int fd, const std::atomic<bool>& stopping)>;
  int listen_fd = -1;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  Behaviour behave;
  std::thread acceptor;
  std::mutex mu;
  std::vector<std::thread> handlers;

  explicit RawTarget(Behaviour b) : behave(std::move(b)) {
    listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd, 16) != 0)
      throw std::runtime_error("bind");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    acceptor = std::thread([this] {
      while (!stopping) {
        pollfd p{listen_fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int fd = ::accept(listen_fd, nullptr, nullptr);
        if (fd < 0) continue;
        ++connections;
        std::lock_guard<std::mutex> lock(mu);
        handlers.emplace_back([this, fd] {
          read_request(fd);
          behave(fd, stopping);
          ::close(fd);
        });
      }
    });
  }
  ~RawTarget() {
    stopping = true;
    acceptor.join();
    for (auto& t : handlers) t.join();
    ::close(listen_fd);
  }
  std::string url(const std::string& path = "/push") const { return "http://127.0.0.1:" + std::to_string(port) + path; }

  static void read_request(int fd) {
    std::string in;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || in.size() < want) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      size_t end = in.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t cl = in.find("Content-Length: ");
        size_t length = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
        want = end + 4 + length;
      }
    }
  }
  static bool write_all(int fd, const char* data, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  static void sleep_unless_stopping(const std::atomic<bool>& stopping, int ms) {
    for (int i = 0; i < ms / 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
};

// One byte every `every_ms`: each read succeeds well inside any per-read
// timeout, the answer never completes.
RawTarget::Behaviour trickle(int every_ms) {
  return [every_ms](int fd, const std::atomic<bool>& stopping) {
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    for (char c : answer) {
      if (stopping || !RawTarget::write_all(fd, &c, 1)) return;
      RawTarget::sleep_unless_stopping(stopping, every_ms);
    }
  };
}

// Sends as much as the client reads: `declared` bytes promised (0: no length,
// the body ends when the connection does, i.e. never).
RawTarget::Behaviour flood(uint64_t declared) {
  return [declared](int fd, const std::atomic<bool>& stopping) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
    head += declared ? "Content-Length: " + std::to_string(declared) + "\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!RawTarget::write_all(fd, head.data(), head.size())) return;
    std::string chunk(64 * 1024, 'x');
    uint64_t sent = 0;
    while (!stopping && (declared == 0 || sent < declared)) {
      if (!RawTarget::write_all(fd, chunk.data(), chunk.size())) return;  // the client hung up
      sent += chunk.size();
    }
  };
}

// An HTTP target (cpp-httplib) answering `status` to every push, counting them.
struct HttpTarget {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<json> bodies;
  std::function<void(const json&, httplib::Response&)> answer;

  explicit HttpTarget(std::function<void(const json&, httplib::Response&)> a = nullptr) : answer(std::move(a)) {
    server.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      ++calls;
      json body = json::parse(req.body, nullptr, false);
      {
        std::lock_guard<std::mutex> lock(mu);
        bodies.push_back(body);
      }
      if (answer) return answer(body, res);
      res.set_content(R"({"errcode":0,"errmsg":"ok"})", "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HttpTarget() {
    server.stop();
    thread.join();
  }
  std::string url(const std::string& path = "/push") const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  std::vector<std::string> texts() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const auto& b : bodies) out.push_back(b.value("text", ""));
    return out;
  }
};

std::string generic_bot(const std::string& id, const std::string& push_url) {
  json b = {{"id", id}, {"platform", "generic"}, {"secret", "whsec_" + testing::raw::b64("push-queue-secret-0123456789")}};
  if (!push_url.empty()) b["push_url"] = push_url;
  return b.dump();
}

struct PushQueue : ::testing::Test {
  testing::TestLedger t;
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  std::map<std::string, PlatformAdapter*> by_id;
  Outbox outbox{t.ledger.get()};

  void SetUp() override {
    // The outbox table and its migrations come with the bot's schema.
    Bot bot(t.ledger.get(), {});
    ASSERT_TRUE(bot.initialize().is_ok());
  }

  // bots: JSON objects of bots.json
  void configure(const std::vector<std::string>& bots) {
    std::string cfg = "{\"bots\": [";
    for (size_t i = 0; i < bots.size(); ++i) cfg += (i ? "," : "") + bots[i];
    Status loaded = testing::load_adapters(cfg + "]}", adapters, by_id);
    ASSERT_TRUE(loaded.is_ok()) << loaded.to_string();
  }
  void enqueue(const std::string& bot, const std::string& chat, const std::string& text, Audience a = Audience::kGroup) {
    ASSERT_TRUE(t.ledger->write([&](WriteTxn& txn) { return Outbox::enqueue(txn, {bot, chat, text, a}); }).is_ok());
  }
  struct Row {
    int attempts = -1;
    int64_t next_attempt_at = 0;
    bool delivered = false;
    bool dead = false;
    std::string reason, last_error;
  };
  Row row(int64_t id) {
    Row r;
    (void)t.ledger->read([&](Ledger::ReadTxn& txn) -> Status {
      auto& q = txn.sql().statement(
          "SELECT attempts, next_attempt_at, delivered_at IS NOT NULL, dead_at IS NOT NULL,"
          " coalesce(dead_reason,''), coalesce(last_error,'') FROM outbox WHERE id=?");
      q.bind(1, id);
      if (q.step())
        r = {q.column_int(0), q.column_int64(1), q.column_int(2) != 0,
             q.column_int(3) != 0, q.column_text(4), q.column_text(5)};
      return Status::ok();
    });
    return r;
  }
  // A sender on this ledger that delivered one notice to `target`, so that
  // it has read the deliveries log (at its first send).
  std::unique_ptr<OutboxSender> sender_after_one_delivery(HttpTarget& target, HttpClient* client) {
    configure({generic_bot("bot", target.url())});
    enqueue("bot", "sj-group", "【双江村2022年10月账目公示】");
    auto sender = std::make_unique<OutboxSender>(t.ledger.get(), by_id, client);
    sender->deliver_due();
    return sender;
  }
  int64_t last_id() {
    int64_t id = 0;
    (void)t.ledger->read([&](Ledger::ReadTxn& txn) -> Status {
      auto& q = txn.sql().statement("SELECT max(id) FROM outbox");
      if (q.step()) id = q.column_int64(0);
      return Status::ok();
    });
    return id;
  }
};

// The whole call has a deadline: a target that sends one byte a second (each
// read well inside any per-read timeout) is cut off, and the attempt fails.
TEST_F(PushQueue, TricklingTargetIsCutOffAtTheDeadline) {
  RawTarget slow(trickle(1000));
  HttpClientOptions o;
  o.deadline_ms = 2000;
  auto client = make_http_client(o);
  OutboundRequest r;
  r.url = slow.url();
  r.body = "{}";
  auto start = SteadyClock::now();
  auto res = client->send(r);
  double took = seconds_since(start);
  EXPECT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), Code::kUnavailable);
  EXPECT_GE(took, 1.9);
  EXPECT_LT(took, 3.5) << "the deadline covers connect, send and the whole answer";
}

// One bot's stuck target never delays another bot's pushes: the unrelated
// push goes out at once, and the stuck one is abandoned at the deadline.
TEST_F(PushQueue, StuckBotNeverDelaysAnotherBot) {
  RawTarget stuck(trickle(1000));
  HttpTarget fine;
  configure({generic_bot("stuck", stuck.url()), generic_bot("fine", fine.url())});
  for (int i = 0; i < 3; ++i) enqueue("stuck", "chat-" + std::to_string(i), "月度公开 " + std::to_string(i));
  HttpClientOptions co;
  co.deadline_ms = 3000;
  auto client = make_http_client(co);
  testing::RunningServer s;
  s.start(t.ledger.get());
  OutboxSender sender(t.ledger.get(), by_id, client.get(), {}, &s.server->metrics());
  sender.start();
  // Give the stuck lane time to be stuck in its first attempt.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  enqueue("fine", "chat-fine", "飞书回复");
  auto queued = SteadyClock::now();
  sender.notify();
  while (fine.calls == 0 && seconds_since(queued) < 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fine.calls.load(), 1);
  EXPECT_LT(seconds_since(queued), 2.0) << "an unrelated bot's push waited for a stuck target";
  // stop() finishes the attempt in progress (bounded by the deadline) and returns.
  auto stopping = SteadyClock::now();
  sender.stop();
  EXPECT_LT(seconds_since(stopping), 4.0);
  EXPECT_GE(stuck.connections.load(), 1);
  auto first = row(1);
  EXPECT_FALSE(first.delivered);
  EXPECT_GE(first.attempts, 1);
  EXPECT_NE(first.last_error.find("abandoned"), std::string::npos) << first.last_error;
  EXPECT_TRUE(row(last_id()).delivered);
}

// An insider with sqlite3 (and not the key) edits the queue: a reporter's
// status update redirected into their village's group, a monthly notice
// rewritten, a notice the bot never wrote. The bot would post each of them
// in its own name; none may go out, and the genuine pushes still do.
TEST_F(PushQueue, PushesTheBotDidNotQueueAreNeverSent) {
  HttpTarget target;
  configure({generic_bot("bot", target.url())});
  enqueue("bot", "reporter-7", "您的投诉(编号1234-5678-9012)有新进展:已转办", Audience::kPerson);
  enqueue("bot", "sj-group", "【双江村2022年11月账目公示】支出合计 300,350.00元");
  {
    SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE outbox SET chat='sj-group', audience='group' WHERE chat='reporter-7'");
    db.exec("UPDATE outbox SET text='【双江村2022年11月账目公示】支出合计 157,950.00元' WHERE id=2");
    db.exec("INSERT INTO outbox(bot, chat, text, created_at, next_attempt_at, audience) "
            "SELECT bot, chat, '【通知】专项资金已全部用于水利建设', created_at, next_attempt_at, audience FROM outbox WHERE id=2");
  }
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  sender.deliver_due();
  EXPECT_EQ(target.calls.load(), 0) << (target.texts().empty() ? "" : target.texts()[0]);
  for (int64_t id : {1, 2, 3}) {
    SCOPED_TRACE(id);
    EXPECT_TRUE(row(id).dead);
    EXPECT_EQ(row(id).reason, "tampered");
  }
  enqueue("bot", "sj-group", "【双江村2022年12月账目公示】");
  sender.deliver_due();
  EXPECT_EQ(target.texts(), std::vector<std::string>{"【双江村2022年12月账目公示】"});
}

// The insider copies a genuine pending push (its text and signature) before it
// goes out, and after delivery puts the copy back and clears delivered_at:
// the signature still matches, and the bot used to post the same notice or
// status update again. The sender remembers what it delivered.
TEST_F(PushQueue, AReplayedPushIsNotSentTwice) {
  HttpTarget target;
  configure({generic_bot("bot", target.url())});
  enqueue("bot", "sj-group", "【双江村2022年11月账目公示】");
  enqueue("bot", "reporter-7", "您的投诉已办结", Audience::kPerson);
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("CREATE TEMP TABLE copied AS SELECT * FROM outbox");  // a table in the file is named by verify
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  sender.deliver_due();
  ASSERT_EQ(target.calls.load(), 2);
  ASSERT_TRUE(row(1).delivered && row(2).delivered);
  db.exec("DELETE FROM outbox");
  db.exec("INSERT INTO outbox SELECT * FROM copied");
  ASSERT_FALSE(row(1).delivered);
  sender.deliver_due();
  EXPECT_EQ(target.calls.load(), 2) << "a replayed row was posted again";
  EXPECT_TRUE(row(1).dead && row(2).dead);
  EXPECT_EQ(row(1).reason, "tampered");
  // New pushes still go out.
  enqueue("bot", "sj-group", "【双江村2022年12月账目公示】");
  sender.deliver_due();
  EXPECT_EQ(target.calls.load(), 3);
}

// The same replay across a restart: the sender used to remember its
// deliveries in memory only, so a row copied while it waited and put back
// after its delivery went out once more from the next server. The signed
// deliveries log remembers: nothing is sent, the rows are dead letters for
// tampering, and verify names them; a row deleted by hand, whose id SQLite
// gives to the next push, does not hold that new push back.
TEST_F(PushQueue, APushPutBackAfterItsDeliveryIsNeverSentAgainAfterARestart) {
  HttpTarget target;
  configure({generic_bot("bot", target.url())});
  enqueue("bot", "sj-group", "【双江村2022年11月账目公示】");
  enqueue("bot", "reporter-7", "您的投诉已办结", Audience::kPerson);
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("CREATE TEMP TABLE copied AS SELECT * FROM outbox");  // a table in the file is named by verify
  auto client = make_http_client(5);
  {
    OutboxSender first(t.ledger.get(), by_id, client.get());
    first.deliver_due();
  }
  ASSERT_EQ(target.calls.load(), 2);
  ASSERT_TRUE(row(1).delivered && row(2).delivered);
  Bot bot(t.ledger.get(), {});
  ASSERT_TRUE(bot.verify_deployment()->empty());
  // The delivered record holds neither chat nor text.
  std::string leaves = db.execAndGet("SELECT group_concat(leaf, '|') FROM entries WHERE log_id=(SELECT id FROM logs WHERE name='deliveries')").getString();
  EXPECT_EQ(leaves.find("reporter-7"), std::string::npos) << leaves;
  EXPECT_EQ(leaves.find("sj-group"), std::string::npos) << leaves;
  EXPECT_EQ(leaves.find("办结"), std::string::npos) << leaves;

  db.exec("DELETE FROM outbox");
  db.exec("INSERT INTO outbox SELECT * FROM copied");
  ASSERT_FALSE(row(1).delivered);
  OutboxSender restarted(t.ledger.get(), by_id, client.get());
  restarted.deliver_due();
  EXPECT_EQ(target.calls.load(), 2) << "a push put back after its delivery was posted again after a restart";
  for (int64_t id : {1, 2}) {
    EXPECT_TRUE(row(id).dead) << id;
    EXPECT_EQ(row(id).reason, "tampered") << id;
  }
  auto problems = bot.verify_deployment();
  ASSERT_TRUE(problems.is_ok());
  ASSERT_EQ(problems->size(), 2u);
  EXPECT_EQ((*problems)[0].log, "deliveries");
  EXPECT_NE((*problems)[0].reason.find("outbox: push 1 was delivered"), std::string::npos) << (*problems)[0].reason;
  EXPECT_NE((*problems)[0].reason.find("put back from a copy"), std::string::npos) << (*problems)[0].reason;

  // The last row deleted by hand: SQLite gives its id to the next push,
  // which is a new push and goes out.
  db.exec("DELETE FROM outbox WHERE id=2");
  enqueue("bot", "sj-group", "【双江村2022年12月账目公示】");
  ASSERT_EQ(last_id(), 2);
  restarted.deliver_due();
  EXPECT_EQ(target.calls.load(), 3);
  EXPECT_TRUE(row(2).delivered);
}

// Two senders on one database (two nodes on PostgreSQL; here two Ledgers on
// the file). This one read the deliveries log at its first send; then the
// other delivered a push, and an insider put its row back from a copy taken
// while it waited. Before it goes out, this sender reads what the log gained
// since: the push is known delivered, a dead letter for tampering, and not
// sent twice. Before, its memory knew only its own deliveries.
TEST_F(PushQueue, APushAnotherNodeDeliveredAndPutBackIsNotSentAgainByThisOne) {
  HttpTarget target;
  auto client = make_http_client(5);
  auto here = sender_after_one_delivery(target, client.get());
  ASSERT_EQ(target.calls.load(), 1);
  auto opened = Ledger::open(t.options({}));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  std::unique_ptr<Ledger> other = std::move(*opened);
  enqueue("bot", "sj-group", "【双江村2022年11月账目公示】");
  int64_t id = last_id();
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("CREATE TEMP TABLE copied AS SELECT * FROM outbox WHERE id=" + std::to_string(id));
  {
    OutboxSender there(other.get(), by_id, client.get());
    there.deliver_due();
  }
  ASSERT_EQ(target.calls.load(), 2);
  ASSERT_TRUE(row(id).delivered);
  db.exec("DELETE FROM outbox WHERE id=" + std::to_string(id));
  db.exec("INSERT INTO outbox SELECT * FROM copied");
  ASSERT_FALSE(row(id).delivered);
  here->deliver_due();
  EXPECT_EQ(target.calls.load(), 2) << "a push the other node delivered, put back, went out again from this one";
  EXPECT_TRUE(row(id).dead);
  EXPECT_EQ(row(id).reason, "tampered");
  // What it learnt does not stop what nobody delivered.
  enqueue("bot", "sj-group", "【双江村2022年12月账目公示】");
  here->deliver_due();
  EXPECT_EQ(target.calls.load(), 3);
  EXPECT_TRUE(row(last_id()).delivered);
}

// The insider's way round it: an entry appended to the deliveries log by
// hand (no key, so no checkpoint covers it), saying a pending push was
// delivered, to keep it from ever going out. The sender reads only what the
// log's signed checkpoint covers: the push goes out.
TEST_F(PushQueue, ADeliveryEntryAppendedByHandHoldsNoPushBack) {
  HttpTarget target;
  auto client = make_http_client(5);
  auto sender = sender_after_one_delivery(target, client.get());
  ASSERT_EQ(target.calls.load(), 1);
  enqueue("bot", "inspectors", "【告警】账本核验未通过");
  int64_t id = last_id();
  {
    auto db = testing::open_as_insider(t.db_path());
    std::string signature =
        db->execAndGet("SELECT sig FROM outbox WHERE id=" + std::to_string(id)).getString();
    json leaf = {{"kind", "delivered"}, {"outbox_id", id},
                 {"push", deliveries::fingerprint_hex(deliveries::fingerprint(signature))}};
    SQLite::Statement q(*db,
                        "INSERT INTO entries(log_id, idx, kind, month, leaf) SELECT id, size, 'delivered', '', ? "
                        "FROM logs WHERE name='deliveries'");
    q.bind(1, leaf.dump());
    ASSERT_EQ(q.exec(), 1);
    db->exec("UPDATE logs SET size=size+1 WHERE name='deliveries'");
  }
  sender->deliver_due();
  EXPECT_EQ(target.calls.load(), 2) << "an entry nobody signed kept a push from going out";
  EXPECT_TRUE(row(id).delivered);
}

// The insider breaks the deliveries log's row (its checkpoint blanked), so
// the next catch-up reads the whole log again and believes none of it; a
// delivered row is then put back. The sender keeps what it knew (each push
// was checked against a signed checkpoint when learnt): the copy is not
// sent twice. And the pushes nobody delivered, the alarm among them, still
// go out: a broken log is never a reason to send nothing.
TEST_F(PushQueue, ABrokenDeliveriesLogMakesTheSenderForgetNothingAndStopNothing) {
  HttpTarget target;
  configure({generic_bot("bot", target.url())});
  auto client = make_http_client(5);
  enqueue("bot", "sj-group", "【双江村2022年10月账目公示】");
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("CREATE TEMP TABLE copied AS SELECT * FROM outbox WHERE id=1");
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  sender.deliver_due();
  enqueue("bot", "sj-group", "【双江村2022年11月账目公示】");
  sender.deliver_due();  // learnt from the log: its checkpoint moved
  ASSERT_EQ(target.calls.load(), 2);
  {
    auto insider = testing::open_as_insider(t.db_path());
    insider->exec("UPDATE logs SET size=size-1 WHERE name='deliveries'");  // the row no longer matches
  }
  enqueue("bot", "sj-group", "【双江村2022年12月账目公示】");
  sender.deliver_due();
  EXPECT_EQ(target.calls.load(), 3) << "a log whose row was edited stopped every push";
  {
    auto insider = testing::open_as_insider(t.db_path());
    insider->exec("UPDATE logs SET checkpoint='' WHERE name='deliveries'");
  }
  enqueue("bot", "inspectors", "【告警】账本核验未通过");
  sender.deliver_due();
  EXPECT_EQ(target.calls.load(), 4) << "a log whose checkpoint was blanked stopped every push";
  db.exec("DELETE FROM outbox WHERE id=1");
  db.exec("INSERT INTO outbox SELECT * FROM copied");
  sender.deliver_due();
  EXPECT_EQ(target.calls.load(), 4) << "a delivered push put back went out again once the log was broken";
  EXPECT_TRUE(row(1).dead);
  EXPECT_EQ(row(1).reason, "tampered");
}

// A monthly notice held for the witnesses is signed again when released (its
// text then carries their cosignatures), so a copy of its row taken while it
// was held never had the signature it went out with. The released row keeps
// the fingerprint it was queued with (held_push, under the new signature), its
// delivery records both, and the held copy put back is known: not sent, a
// dead letter for tampering, named by verify. Clearing held_push by hand
// breaks the released row's signature.
TEST_F(PushQueue, AHeldNoticeCopyPutBackAfterItsReleasedDeliveryIsNeverSent) {
  HttpTarget target;
  configure({generic_bot("bot", target.url())});
  ASSERT_TRUE(t.ledger
                  ->write([&](WriteTxn& txn) {
                    return Outbox::enqueue(txn, {"bot", "sj-group", "【双江村 2022年12月 三务公开】", Audience::kGroup},
                                           {"shuangjiang", "2022-12"});
                  })
                  .is_ok());
  SQLite::Database db(t.db_path(), SQLite::OPEN_READWRITE);
  db.exec("CREATE TEMP TABLE copied AS SELECT * FROM outbox");  // the insider's copy while it is held
  auto notice = [&]() -> OutboxMessage {
    auto held = outbox.held_notices();
    return held.is_ok() && held->size() == 1 ? held->front() : OutboxMessage{};
  };
  OutboxMessage queued = notice();
  ASSERT_EQ(queued.held_month, "2022-12");
  EXPECT_EQ(queued.held_push, "");
  ASSERT_TRUE(outbox.authentic(queued));
  ASSERT_TRUE(*outbox.release(queued, queued.text + "\n— w1 cosigned", 100));
  OutboxMessage released = notice();
  std::string queued_fp = deliveries::fingerprint_hex(deliveries::fingerprint(queued.signature));
  EXPECT_EQ(released.held_push, queued_fp);
  EXPECT_NE(released.signature, queued.signature);
  EXPECT_TRUE(outbox.authentic(released));
  OutboxMessage cleared = released;  // what an insider who clears the column leaves
  cleared.held_push = "";
  EXPECT_FALSE(outbox.authentic(cleared));
  cleared.held_push = deliveries::fingerprint_hex(deliveries::fingerprint("another"));
  EXPECT_FALSE(outbox.authentic(cleared));
  // Released again (the sender put it back to held): the queued fingerprint stays.
  ASSERT_TRUE(outbox.unrelease(released.id).is_ok());
  ASSERT_TRUE(*outbox.release(notice(), queued.text + "\n— w1, w2 cosigned", 200));
  EXPECT_EQ(notice().held_push, queued_fp);
  EXPECT_TRUE(outbox.authentic(notice()));

  auto client = make_http_client(5);
  {
    OutboxSender first(t.ledger.get(), by_id, client.get());
    first.deliver_due();
  }
  ASSERT_EQ(target.calls.load(), 1);
  ASSERT_TRUE(row(1).delivered);
  std::string leaves = db.execAndGet("SELECT group_concat(leaf, '|') FROM entries WHERE log_id=(SELECT id FROM logs WHERE name='deliveries')").getString();
  EXPECT_NE(leaves.find("\"held\":\"" + queued_fp + "\""), std::string::npos) << leaves;
  Bot bot(t.ledger.get(), {});
  ASSERT_TRUE(bot.verify_deployment()->empty());

  db.exec("DELETE FROM outbox");
  db.exec("INSERT INTO outbox SELECT * FROM copied");
  ASSERT_TRUE(outbox.authentic(notice()));  // genuine: signed by the deployment when it was queued
  OutboxSender restarted(t.ledger.get(), by_id, client.get());
  restarted.deliver_due();
  EXPECT_EQ(target.calls.load(), 1) << "a held notice put back after its delivery was posted again";
  EXPECT_TRUE(row(1).dead);
  EXPECT_EQ(row(1).reason, "tampered");
  auto problems = bot.verify_deployment();
  ASSERT_TRUE(problems.is_ok());
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_NE((*problems)[0].reason.find("outbox: push 1 was delivered"), std::string::npos) << (*problems)[0].reason;
  EXPECT_NE((*problems)[0].reason.find("put back from a copy"), std::string::npos) << (*problems)[0].reason;
}

// A bot over its push rate leaves its rows for the next minute, and the rows
// of every other bot go out: 70 rows of one bot no longer hide a row behind
// them (due() used to read the first 50 by id and skip them all).
TEST_F(PushQueue, RateLimitedBotDoesNotBlockTheRest) {
  HttpTarget target;
  configure({R"({"id": "busy", "platform": "wecom", "token": "t", "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "receive_id": "", "push_url": ")" +
                 target.url("/cgi-bin/webhook/send?key=K") + R"("})",
             generic_bot("inspector-bot", target.url())});
  for (int i = 0; i < 70; ++i) enqueue("busy", "chat-busy", "您发送得太快了 " + std::to_string(i));
  enqueue("inspector-bot", "inspector-1", "投诉已转办", Audience::kPerson);
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(sender.deliver_due(), 21u);  // 20 a minute for the WeCom robot, and the other bot's one
  EXPECT_TRUE(row(last_id()).delivered);
  EXPECT_EQ(sender.deliver_due(), 0u);
  t.clock.advance(61);
  EXPECT_EQ(sender.deliver_due(), 20u);
}

// Backoff counts from the moment the failed attempt ended: a target that held
// the attempt for 60 s is not tried again the moment it lets go.
TEST_F(PushQueue, BackoffCountsFromTheEndOfTheFailedAttempt) {
  HttpTarget down([](const json&, httplib::Response& res) { res.status = 500; });
  configure({generic_bot("g", down.url())});
  enqueue("g", "chat", "通知");
  struct SlowAttempt : HttpClient {
    HttpClient* real;
    ManualClock* clock;
    Result<HttpResult> send(const OutboundRequest& r) override {
      auto res = real->send(r);
      clock->advance(60);  // the attempt took a minute
      return res;
    }
  } slow;
  auto real = make_http_client(5);
  slow.real = real.get();
  slow.clock = &t.clock;
  int64_t start = t.clock.now_unix_seconds();
  OutboxSender sender(t.ledger.get(), by_id, &slow);
  EXPECT_EQ(sender.deliver_due(), 0u);
  auto r = row(1);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.next_attempt_at, start + 60 + 1) << "1 s after the attempt ended, not after it began";
  EXPECT_TRUE(outbox.due_for_bot("g", t.clock.now_unix_seconds(), 10)->empty());
  EXPECT_EQ(down.calls.load(), 1);
}

// 500 for ever: retried with backoff, then a dead letter after 8 attempts,
// logged, counted in /metrics and listed for inspectors (not officials),
// never with its text or address; never tried again.
TEST_F(PushQueue, FiveHundredForeverBecomesADeadLetter) {
  HttpTarget down([](const json&, httplib::Response& res) { res.status = 500; });
  configure({generic_bot("g", down.url())});
  enqueue("g", "secret-chat-id", "机密的推送文字", Audience::kPerson);
  BotOptions bo;
  bo.identity_salt = "0123456789abcdef0123456789abcdef";
  Bot bot(t.ledger.get(), bo);
  ASSERT_TRUE(bot.initialize().is_ok());
  ASSERT_TRUE(t.ledger->add_village({"shuangjiang", "双江村", "朱亭镇"}).is_ok());
  std::string inspector = *bot.create_token({Role::kInspector, "", "all", "district"});
  std::string official = *bot.create_token({Role::kOfficial, "shuangjiang", "", ""});
  testing::RunningServer s;
  s.start(t.ledger.get(), &bot);
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get(), {}, &s.server->metrics());
  for (int i = 0; i < 20; ++i) {
    sender.deliver_due();
    t.clock.advance(700);
  }
  EXPECT_EQ(down.calls.load(), 8) << "8 attempts, then never again";
  auto r = row(1);
  EXPECT_TRUE(r.dead);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.attempts, 8);
  EXPECT_EQ(r.reason, "attempts");
  EXPECT_EQ(*outbox.depth(), 0);
  EXPECT_EQ(*outbox.dead_count(), 1);

  auto metrics = s.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("sunledger_pushes_dead_letter_total 1\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("sunledger_outbox_dead_letters 1\n"), std::string::npos);
  // Nothing on /metrics counts ordinary pushes: they would time filings.
  EXPECT_EQ(metrics->body.find("pushes_failed_total"), std::string::npos);
  EXPECT_EQ(metrics->body.find("outbox_depth"), std::string::npos);

  auto c = s.client();
  auto dead = c.Get("/v1/outbox/dead", {{"Authorization", "Bearer " + inspector}});
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->status, 200) << dead->body;
  json j = json::parse(dead->body);
  ASSERT_EQ(j["dead_letters"].size(), 1u);
  EXPECT_EQ(j["dead_letters"][0]["bot"], "g");
  EXPECT_EQ(j["dead_letters"][0]["audience"], "person");
  EXPECT_EQ(j["dead_letters"][0]["attempts"], 8);
  EXPECT_EQ(j["dead_letters"][0]["reason"], "attempts");
  EXPECT_NE(j["dead_letters"][0]["last_error"].get<std::string>().find("500"), std::string::npos);
  EXPECT_EQ(dead->body.find("secret-chat-id"), std::string::npos) << "no address";
  EXPECT_EQ(dead->body.find("机密"), std::string::npos) << "no text";
  auto refused = c.Get("/v1/outbox/dead", {{"Authorization", "Bearer " + official}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  auto anonymous = c.Get("/v1/outbox/dead");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
}

// No outbound redirects: a 302 to another loopback server is a failure, and
// that server is never called.
TEST_F(PushQueue, RedirectIsNeverFollowed) {
  HttpTarget elsewhere;
  HttpTarget redirecting([&](const json&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", elsewhere.url("/stolen"));
  });
  configure({generic_bot("g", redirecting.url())});
  enqueue("g", "chat", "通知");
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(sender.deliver_due(), 0u);
    t.clock.advance(700);
  }
  EXPECT_EQ(redirecting.calls.load(), 8);
  EXPECT_EQ(elsewhere.calls.load(), 0) << "the redirect's target must never be called";
  auto r = row(1);
  EXPECT_TRUE(r.dead);
  EXPECT_NE(r.last_error.find("redirect"), std::string::npos) << r.last_error;
}

// Answers are read up to 64 KiB: one promising 400 MB and one without end are
// abandoned at once, and the process's memory does not follow them.
TEST_F(PushQueue, HugeAndEndlessAnswersAreCutAt64KiB) {
  RawTarget huge(flood(400ull * 1024 * 1024));
  RawTarget endless(flood(0));
  configure({generic_bot("huge", huge.url()), generic_bot("endless", endless.url())});
  enqueue("huge", "chat", "通知");
  enqueue("endless", "chat", "通知");
  auto client = make_http_client(10);
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  long before = rss_kib();
  auto start = SteadyClock::now();
  EXPECT_EQ(sender.deliver_due(), 0u);
  EXPECT_LT(seconds_since(start), 3.0) << "abandoned at 64 KiB, not read to the deadline";
  long grown = rss_kib() - before;
  EXPECT_LT(grown, 16 * 1024) << "RSS grew by " << grown << " KiB";
  for (int64_t id : {1, 2}) {
    auto r = row(id);
    EXPECT_FALSE(r.delivered);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_NE(r.last_error.find("larger than 65536"), std::string::npos) << r.last_error;
  }
}

// Within a bot, a chat's pushes go out in order, and a chat waiting on a retry
// holds back only itself.
TEST_F(PushQueue, ChatsKeepTheirOrderAndAWaitingChatHoldsOnlyItself) {
  std::atomic<bool> a_down{true};
  HttpTarget target([&](const json& body, httplib::Response& res) {
    if (body.value("chat_id", "") == "A" && a_down) res.status = 500;
    else res.set_content("{}", "application/json");
  });
  configure({generic_bot("g", target.url())});
  enqueue("g", "A", "A1");
  enqueue("g", "A", "A2");
  enqueue("g", "B", "B1");
  enqueue("g", "B", "B2");
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get());
  EXPECT_EQ(sender.deliver_due(), 2u);
  EXPECT_EQ(target.texts(), (std::vector<std::string>{"A1", "B1", "B2"}));
  a_down = false;
  t.clock.advance(1);
  EXPECT_EQ(sender.deliver_due(), 2u);
  EXPECT_EQ(target.texts(), (std::vector<std::string>{"A1", "B1", "B2", "A1", "A2"}));
}

// A configuration that cannot deliver (a person's push through a bot with no
// private channel) is a dead letter at once, tried once, not every few
// seconds nor at every start; once the bot's configuration changed, the next
// start queues it again.
TEST_F(PushQueue, ConfigurationFailureIsADeadLetterAtOnceAndRevivedOnlyWhenTheConfigurationChanges) {
  HttpTarget target;
  configure({generic_bot("g", "")});
  enqueue("g", "inspector-1", "投诉已转办", Audience::kPerson);
  auto client = make_http_client(5);
  {
    OutboxSender sender(t.ledger.get(), by_id, client.get());
    EXPECT_EQ(sender.deliver_due(), 0u);
    auto r = row(1);
    EXPECT_TRUE(r.dead);
    EXPECT_EQ(r.reason, "configuration");
    EXPECT_EQ(r.attempts, 1);
    EXPECT_NE(r.last_error.find("push_url"), std::string::npos);
    t.clock.advance(3600);
    EXPECT_EQ(sender.deliver_due(), 0u);
    EXPECT_EQ(row(1).attempts, 1) << "not tried again";
  }
  {
    // A restart with the same configuration tries nothing again (the demo
    // used to log the same failure at every start).
    OutboxSender same(t.ledger.get(), by_id, client.get(), {.poll_interval_ms = 20});
    same.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    same.stop();
    EXPECT_TRUE(row(1).dead);
    EXPECT_EQ(row(1).attempts, 1);
  }
  configure({generic_bot("g", target.url())});
  OutboxSender sender(t.ledger.get(), by_id, client.get(), {.poll_interval_ms = 20});
  sender.start();
  for (int i = 0; i < 300 && target.calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  sender.stop();
  EXPECT_EQ(target.calls.load(), 1);
  EXPECT_TRUE(row(1).delivered);
}

// Rows of a bot no longer in the config are given up on at start instead of
// being read (and skipped) for ever.
TEST_F(PushQueue, RowsOfARemovedBotAreDeadLettersAtStart) {
  HttpTarget target;
  configure({generic_bot("g", target.url())});
  enqueue("gone", "chat", "通知");
  enqueue("g", "chat", "通知");
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get(), {.poll_interval_ms = 20});
  sender.start();
  for (int i = 0; i < 300 && target.calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  sender.stop();
  EXPECT_TRUE(row(1).dead);
  EXPECT_EQ(row(1).reason, "configuration");
  EXPECT_TRUE(row(2).delivered);
}

// stop() lets the delivery in progress finish and records it.
TEST_F(PushQueue, StopFinishesTheDeliveryInProgress) {
  std::atomic<bool> entered{false};
  HttpTarget slow([&](const json&, httplib::Response& res) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    res.set_content("{}", "application/json");
  });
  configure({generic_bot("g", slow.url())});
  enqueue("g", "chat", "通知");
  auto client = make_http_client(5);
  OutboxSender sender(t.ledger.get(), by_id, client.get(), {.poll_interval_ms = 20});
  sender.start();
  for (int i = 0; i < 300 && !entered; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(entered);
  sender.stop();
  EXPECT_TRUE(row(1).delivered);
}

}  // namespace
}  // namespace sunledger
