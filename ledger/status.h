// Errors as values at module boundaries. Every public function of ledger/, bot/
// and webhooks/ that can fail returns a Status or a Result<T>; exceptions thrown
// by libraries (the SQLite wrapper, nlohmann/json) are caught before they cross a module.
// Status and Result are values: copy or move them freely; like any value, one
// object is not written by two threads at once.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sunledger {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // the caller sent something malformed: fix the input
  kNotFound,           // no such village, entry, month, ...
  kAlreadyExists,      // a unique thing registered twice
  kFailedPrecondition, // valid input, wrong state (month closed, not closed yet, ...)
  kPermissionDenied,   // wrong role, wrong token
  kDataLoss,           // the stored data does not match its hashes or signatures
  kUnavailable,        // storage refused the write (disk full, locked); retry later
  kInternal,           // a bug or an unexpected library failure
};

const char* code_name(Code code);

class Status;
// Prints the status and aborts: the value of a failed Result was read.
[[noreturn]] void fail_unchecked_result(const Status& status);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status not_found(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status already_exists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
inline Status failed_precondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
inline Status permission_denied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
inline Status data_loss(std::string m) { return Status(Code::kDataLoss, std::move(m)); }
inline Status unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
inline Status internal_error(std::string m) { return Status(Code::kInternal, std::move(m)); }

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.is_ok()) status_ = internal_error("Result built from an OK status without a value");
  }

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // Checked: reading the value of a failed Result is a bug, and it stops the
  // process with the status rather than reading an empty optional.
  T& value() & { return checked(); }
  const T& value() const& { return checked(); }
  T&& value() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &checked(); }
  T& operator*() { return checked(); }
  const T& operator*() const { return checked(); }

 private:
  T& checked() {
    if (!value_.has_value()) fail_unchecked_result(status_);
    return *value_;
  }
  const T& checked() const {
    if (!value_.has_value()) fail_unchecked_result(status_);
    return *value_;
  }
  std::optional<T> value_;
  Status status_;
};

}  // namespace sunledger
