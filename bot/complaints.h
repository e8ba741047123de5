// Complaints: filed in chat, followed up by the discipline commission,
// auditable. Every event (filed, each transition, rating) is appended to the
// "complaints" Merkle log, committing to the complaint text and the reporter's
// identity by salted hashes, so a checkpoint can be published without
// revealing either and a deleted or edited complaint is detected by verify.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace sunledger {

enum class ComplaintStatus { kReceived, kAssigned, kInvestigating, kResolved, kRejected, kReopened };

const char* complaint_status_name(ComplaintStatus s);     // "received", ...
const char* complaint_status_zh(ComplaintStatus s);       // "已受理", ...
std::optional<ComplaintStatus> parse_complaint_status(const std::string& s);

struct ComplaintEvent {
  std::string kind;  // filed, assigned, investigating, resolved, rejected, reopened, satisfied, unsatisfied
  int64_t at = 0;
  std::string actor;  // inspector id, "reporter", "api:..." (never the reporter's identity)
  std::string note;
  std::string assignee;
  uint64_t log_index = 0;
};

struct Reporter {
  std::string bot_id;
  std::string user_id;
  std::string name;
  std::string chat_id;  // where status pushes go
};

struct Complaint {
  std::string receipt;  // 4821-0937-5516
  std::string village;
  std::string text;
  std::vector<std::string> links;  // "#123" entries and project names cited
  bool anonymous = false;
  std::optional<Reporter> reporter;  // never for anonymous complaints
  int64_t filed_at = 0;
  ComplaintStatus status = ComplaintStatus::kReceived;
  std::vector<ComplaintEvent> events;
  int64_t resolved_at = 0;  // last resolution, 0 if none
  int64_t reopened_at = 0;
  std::string rating;       // "satisfied", "unsatisfied" or ""
  // An anonymous receipt posted in a group: the whole group has read the
  // bearer secret, so it no longer works for anyone. A signed event
  // (receipt_exposed), so no row deleted by hand makes it work again.
  bool receipt_exposed = false;
};

struct ComplaintDeadlines {
  int assign_days = 5;    // received -> assigned
  int resolve_days = 60;  // filed (or reopened) -> resolved or rejected
  int rating_days = 15;   // after resolution, "unsatisfied" reopens within this
};

// The next deadline of an open complaint (0 when closed) and whether it has passed.
int64_t complaint_deadline(const Complaint& c, const ComplaintDeadlines& d);
bool complaint_overdue(const Complaint& c, const ComplaintDeadlines& d, int64_t now);
// Whether `to` may follow the complaint's current status (inspector transitions).
Status check_transition(ComplaintStatus from, ComplaintStatus to, const std::string& note, const std::string& assignee);

struct ComplaintFilter {
  std::vector<std::string> villages;  // empty: all
  std::optional<ComplaintStatus> status;
  bool overdue_only = false;
  bool open_only = false;
};

struct ComplaintStats {
  std::string village;
  int received = 0, resolved = 0, rejected = 0, overdue = 0, open = 0, reopened = 0, rated = 0, satisfied = 0;
  double median_days_to_resolve = 0;
};

// The measures of a set of complaints (one village's, one town's); its
// village is left "". median_days_to_resolve is 0 when none is resolved.
ComplaintStats complaint_stats(const std::vector<Complaint>& list, const ComplaintDeadlines& d, int64_t now);
// The inspectors' CSV of complaints (GET /v1/complaints.csv and the
// dashboard's download): one row each, every cell through csv_cell.
std::string complaints_csv(const std::vector<Complaint>& list, const ComplaintDeadlines& d, int64_t now);

// Borrows `ledger`, which must outlive it. Thread-safe: its state (salt,
// deadlines) is fixed at construction; reads take a ledger read transaction
// each, and writes run inside the caller's WriteTxn.
class Complaints {
 public:
  Complaints(Ledger* ledger, std::string salt, ComplaintDeadlines deadlines);

  static void create_schema(sql::Session& db);
  // The signed log every complaint event is appended to.
  static constexpr const char* kLogName = "complaints";

  // Inside a write. Files a complaint; links are parsed from the text.
  Result<Complaint> file(WriteTxn& txn, const std::string& village, const std::string& text,
                         const std::optional<Reporter>& reporter);
  Result<Complaint> transition(WriteTxn& txn, const std::string& receipt, ComplaintStatus to, const std::string& note,
                               const std::string& assignee, const std::string& actor);
  Result<Complaint> rate(WriteTxn& txn, const std::string& receipt, bool satisfied, const std::string& reason);
  // Marks an anonymous complaint's receipt as posted in a group (once; a
  // named complaint's receipt works only for its reporter and is left alone).
  Result<Complaint> expose_receipt(WriteTxn& txn, const std::string& receipt);
  // Older versions kept exposed receipts in a table of their own (by hash
  // keyed with the identity salt), outside every log: each becomes a signed
  // event once, and the table is emptied (complaints_migrate.cc).
  Status record_legacy_exposed_receipts(WriteTxn& txn, const std::string& identity_salt);
  static constexpr const char* kReceiptExposed = "receipt_exposed";
  Result<Complaint> load(WriteTxn& txn, const std::string& receipt);

  // Reads.
  Result<Complaint> get(const std::string& receipt);
  Result<std::vector<Complaint>> list(const ComplaintFilter& filter);
  Result<std::vector<ComplaintStats>> stats(const std::vector<std::string>& villages);

  // Recomputes every complaint's and event's hashes against the complaints
  // log; each problem names the receipt's log entry.
  Result<std::vector<VerifyProblem>> verify();

  const ComplaintDeadlines& deadlines() const { return deadlines_; }
  // Normalises what people type ("4821 0937 5516", "482109375516") to 4821-0937-5516, and an anonymous
  // receipt ("7kq2m x9d4p 3hn8r vw6tz") to 7KQ2M-X9D4P-3HN8R-VW6TZ.
  static std::optional<std::string> normalise_receipt(const std::string& text);

 private:
  std::string commit_hash(const std::string& what, const std::string& value) const;
  // The start of t's local day: anonymous filings and burns are kept to the day.
  int64_t local_day_start(int64_t t) const;
  Result<Complaint> read_complaint(sql::Session& db, const std::string& receipt);
  Result<uint64_t> append_event(WriteTxn& txn, const Complaint& c, const ComplaintEvent& e);
  // Appends the event to the log and to the complaint's rows, and to c.events.
  Status record_event(WriteTxn& txn, Complaint& c, ComplaintEvent e);

  Ledger* ledger_;
  std::string salt_;
  ComplaintDeadlines deadlines_;
};

}  // namespace sunledger
