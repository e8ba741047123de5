// A prepared statement on a PgConnection (pg_connection.h) and, while it is
// stepped, its current row: bindings, rows streamed one at a time (in the
// pipeline or outside it), a part-read result parked in memory when another
// statement needs the connection, and the values read back the way SQLite
// reads them. Private to ledger/.
//
// Owned by its connection (PgConnection::statement caches one per SQL
// literal); lives as long as it. Thread safety: none, as its connection.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/pg_connection.h"

struct pg_result;

namespace sunledger::ledger_internal {

class PgStatement final : public sql::Statement {
 public:
  PgStatement(PgConnection& c, std::string name, std::string sql, int params);
  ~PgStatement() override;

  void bind(int index, int64_t value) override;
  void bind(int index, std::string_view text) override;
  void bind_blob(int index, std::string_view bytes) override;
  void bind_null(int index) override;
  void clear_bindings();

  bool step() override;
  int64_t exec() override;
  void exec_later() override;

  int64_t column_int64(int column) override;
  std::string column_text(int column) override { return std::string(column_text_view(column)); }
  std::string column_blob(int column) override { return std::string(column_blob_view(column)); }
  bool column_is_null(int column) override { return value(column) == nullptr; }
  std::string_view column_text_view(int column) override;
  std::string_view column_blob_view(int column) override { return column_text_view(column); }

  void reset() override;
  // Another statement needs the connection: the rest of this one's results
  // move into memory, where step() goes on reading them.
  void park();

 private:
  enum class State {
    kIdle,       // not sent
    kStreaming,  // sent; results arrive from the connection
    kParked,     // sent; the remaining results wait in parked_
    kDone,       // every result read
  };

  size_t slot(int index);
  void params(std::vector<const char*>* values, std::vector<int>* lengths) const;
  void send();
  pg_result* next_result();
  // Every result of the statement read; the connection free for another.
  void finish();
  // Reads and drops what is left of its results, then is in state `next`.
  void drop_results(State next);
  void clear_row();
  // The column's text, nullptr for NULL.
  const char* value(int column);
  // A bytea column's bytes, decoded from \x hex once per row.
  std::string_view bytes(int column);

  PgConnection& c_;
  std::string name_;
  std::string sql_;
  std::vector<std::string> values_;
  std::vector<char> null_;
  std::vector<int> binary_;  // libpq's paramFormats: 1 for a blob
  State state_ = State::kIdle;
  std::deque<pg_result*> parked_;
  pg_result* row_ = nullptr;
  int row_at_ = 0;  // the row of row_ read (a single-row result: 0)
  std::vector<std::string> decoded_;
  std::vector<char> decoded_ok_;
};

}  // namespace sunledger::ledger_internal
