// A prepared statement on a PgConnection (pg_statement.h): bindings, rows
// streamed one at a time, parked results, values read as SQLite reads them.
#include "ledger/pg_statement.h"

#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "ledger/pg_text.h"

namespace sunledger::ledger_internal {

using pg_text::sql_excerpt;
using pg_text::starts_with;

namespace {

// PostgreSQL's type oids (pg_type.dat) that are not read as plain text.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// An integer read the way SQLite reads a column as one: leading digits, a
// fraction truncated toward zero (numeric 12.00, a float), anything else 0.
int64_t parse_int64(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range)
    throw sql::Error(sql::Error::Kind::kOther, "PostgreSQL value out of the range of a 64-bit integer: " + sql_excerpt(s));
  if (ec != std::errc()) return 0;
  if (end != s.data() + s.size() && (*end == '.' || *end == 'e' || *end == 'E')) {
    double d = std::strtod(std::string(s).c_str(), nullptr);
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18)
      throw sql::Error(sql::Error::Kind::kOther, "PostgreSQL value out of the range of a 64-bit integer: " + sql_excerpt(s));
    return static_cast<int64_t>(d);
  }
  return v;
}

}  // namespace

PgStatement::PgStatement(PgConnection& c, std::string name, std::string sql, int params)
    : c_(c), name_(std::move(name)), sql_(std::move(sql)), values_(params), null_(params, 1), binary_(params, 0) {}

PgStatement::~PgStatement() {
  clear_row();
  for (PGresult* r : parked_) PQclear(r);
}

void PgStatement::bind(int index, int64_t value) {
  size_t i = slot(index);
  values_[i] = std::to_string(value);
  null_[i] = 0;
  binary_[i] = 0;
}

void PgStatement::bind(int index, std::string_view text) {
  size_t i = slot(index);
  if (text.find('\0') != std::string_view::npos)
    throw sql::Error(sql::Error::Kind::kOther, "PostgreSQL text cannot hold a NUL byte (bind it as a blob): " + sql_);
  values_[i].assign(text);
  null_[i] = 0;
  binary_[i] = 0;
}

void PgStatement::bind_blob(int index, std::string_view bytes) {
  size_t i = slot(index);
  values_[i].assign(bytes);
  null_[i] = 0;
  binary_[i] = 1;
}

void PgStatement::bind_null(int index) { null_[slot(index)] = 1; }

void PgStatement::clear_bindings() {
  for (size_t i = 0; i < null_.size(); ++i) {
    null_[i] = 1;
    values_[i].clear();
  }
}

bool PgStatement::step() {
  // A whole result (single-row mode refused in the pipeline) is read row
  // by row in place.
  if (row_ != nullptr && row_at_ + 1 < PQntuples(row_)) {
    ++row_at_;
    decoded_ok_.assign(decoded_.size(), 0);
    return true;
  }
  clear_row();
  if (state_ == State::kDone) return false;
  if (state_ == State::kIdle) {
    if (!c_.pipelining()) {
      c_.take_wire(this);
      send();
    } else {
      // Answers are owed: they and this go in one round trip, and this
      // one's rows then come one at a time, as outside the pipeline (a
      // scan of a log of years holds one row).
      c_.send(name_.c_str(), sql_, &values_, &null_, &binary_);
      c_.sync(PgConnection::Last::kStream);
      PQsetSingleRowMode(c_.conn_);  // if refused, the rows come whole (row_at_)
      state_ = State::kStreaming;
      c_.streaming_ = this;
    }
  }
  PGresult* r = next_result();
  if (r == nullptr) {
    finish();
    return false;
  }
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_SINGLE_TUPLE || (st == PGRES_TUPLES_OK && PQntuples(r) > 0)) {
    row_ = r;
    row_at_ = 0;
    decoded_.resize(static_cast<size_t>(PQnfields(r)));
    decoded_ok_.assign(decoded_.size(), 0);
    return true;
  }
  finish();  // reads the end of the results, so the connection is free again
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    PQclear(r);
    return false;
  }
  c_.fail(r, sql_);
}

int64_t PgStatement::exec() {
  reset();
  PGresult* r = nullptr;
  if (!c_.pipelining()) {
    c_.take_wire(this);
    std::vector<const char*> values;
    std::vector<int> lengths;
    params(&values, &lengths);
    r = PQexecPrepared(c_.conn_, name_.c_str(), static_cast<int>(values.size()), values.data(), lengths.data(),
                       binary_.data(), 0);
    ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) c_.fail(r, sql_);
  } else {
    c_.send(name_.c_str(), sql_, &values_, &null_, &binary_);
    r = c_.sync(PgConnection::Last::kWhole);
  }
  const char* changed = PQcmdTuples(r);
  int64_t n = (changed != nullptr && *changed) ? std::strtoll(changed, nullptr, 10) : 0;
  PQclear(r);
  return n;
}

void PgStatement::exec_later() {
  // Outside a transaction a held-back write would commit whenever the
  // next statement runs: it runs now.
  if (!c_.in_txn_) {
    (void)exec();
    return;
  }
  reset();
  c_.send(name_.c_str(), sql_, &values_, &null_, &binary_);
}

int64_t PgStatement::column_int64(int column) {
  const char* v = value(column);
  if (v == nullptr) return 0;
  Oid type = PQftype(row_, column);
  if (type == kBoolOid) return v[0] == 't' ? 1 : 0;
  if (type == kByteaOid) return parse_int64(bytes(column));
  return parse_int64(std::string_view(v, static_cast<size_t>(PQgetlength(row_, row_at_, column))));
}

std::string_view PgStatement::column_text_view(int column) {
  const char* v = value(column);
  if (v == nullptr) return {};
  Oid type = PQftype(row_, column);
  if (type == kBoolOid) return v[0] == 't' ? "1" : "0";
  if (type == kByteaOid) return bytes(column);
  return std::string_view(v, static_cast<size_t>(PQgetlength(row_, row_at_, column)));
}

void PgStatement::reset() {
  clear_row();
  drop_results(State::kIdle);
}

// Another statement needs the connection: the rest of this one's results
// move into memory, where step() goes on reading them.
void PgStatement::park() {
  while (PGresult* r = PQgetResult(c_.conn_)) parked_.push_back(r);
  c_.streaming_ = nullptr;
  c_.end_stream();
  state_ = State::kParked;
}

size_t PgStatement::slot(int index) {
  if (index < 1 || static_cast<size_t>(index) > values_.size())
    throw sql::Error(sql::Error::Kind::kOther, "bind index " + std::to_string(index) + " out of range: " + sql_);
  return static_cast<size_t>(index - 1);
}

void PgStatement::params(std::vector<const char*>* values, std::vector<int>* lengths) const {
  values->resize(values_.size());
  lengths->resize(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    (*values)[i] = null_[i] ? nullptr : values_[i].c_str();
    (*lengths)[i] = static_cast<int>(values_[i].size());
  }
}

void PgStatement::send() {
  std::vector<const char*> values;
  std::vector<int> lengths;
  params(&values, &lengths);
  if (!PQsendQueryPrepared(c_.conn_, name_.c_str(), static_cast<int>(values.size()), values.data(), lengths.data(),
                           binary_.data(), 0))
    c_.fail(nullptr, sql_);
  // One row per result: a scan holds one row at a time, not the result.
  PQsetSingleRowMode(c_.conn_);
  state_ = State::kStreaming;
  c_.streaming_ = this;
}

PGresult* PgStatement::next_result() {
  if (state_ == State::kParked) {
    if (parked_.empty()) return nullptr;
    PGresult* r = parked_.front();
    parked_.pop_front();
    return r;
  }
  return PQgetResult(c_.conn_);
}

// Every result of the statement read; the connection free for another.
void PgStatement::finish() { drop_results(State::kDone); }

void PgStatement::drop_results(State next) {
  if (state_ == State::kStreaming) {
    // Read and drop the rest: the connection takes no other statement
    // until every result of this one is read. (Cancelling instead would
    // abort the transaction the statement runs in.)
    while (PGresult* r = PQgetResult(c_.conn_)) PQclear(r);
    c_.streaming_ = nullptr;
    c_.end_stream();
  }
  for (PGresult* r : parked_) PQclear(r);
  parked_.clear();
  state_ = next;
}

void PgStatement::clear_row() {
  if (row_ != nullptr) PQclear(row_);
  row_ = nullptr;
  row_at_ = 0;
}

// The column's text, nullptr for NULL.
const char* PgStatement::value(int column) {
  if (row_ == nullptr) throw sql::Error(sql::Error::Kind::kOther, "no current row: " + sql_);
  if (column < 0 || column >= PQnfields(row_))
    throw sql::Error(sql::Error::Kind::kOther, "column " + std::to_string(column) + " out of range: " + sql_);
  if (PQgetisnull(row_, row_at_, column)) return nullptr;
  return PQgetvalue(row_, row_at_, column);
}

// A bytea column's bytes, decoded from \x hex once per row.
std::string_view PgStatement::bytes(int column) {
  auto c = static_cast<size_t>(column);
  if (!decoded_ok_[c]) {
    std::string_view hex(PQgetvalue(row_, row_at_, column), static_cast<size_t>(PQgetlength(row_, row_at_, column)));
    if (!starts_with(hex, "\\x") || hex.size() % 2 != 0)
      throw sql::Error(sql::Error::Kind::kOther, "bytea not in hex form (bytea_output): " + sql_);
    std::string& out = decoded_[c];
    out.resize((hex.size() - 2) / 2);
    for (size_t i = 2, o = 0; i < hex.size(); i += 2, ++o) {
      int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
      if (hi < 0 || lo < 0) throw sql::Error(sql::Error::Kind::kOther, "bytea with a bad hex digit: " + sql_);
      out[o] = static_cast<char>(hi << 4 | lo);
    }
    decoded_ok_[c] = 1;
  }
  return decoded_[c];
}

}  // namespace sunledger::ledger_internal
