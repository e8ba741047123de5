// http::parse_json_strict (webhooks/internal.h): JSON from the outside, read
// with nlohmann's own DOM builder driven through a SAX wrapper that enforces
// the nesting cap and refuses a key twice as the events arrive. (The
// callback parser it replaces built a json value for every event, called a
// std::function for each, and kept a hash set per object: 5% of the server's
// CPU under a load of signed webhooks.) What it accepts, refuses and answers
// is unchanged (JsonStrict.SameAsTheCallbackParser).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "webhooks/internal.h"

namespace sunledger::http {

using nlohmann::json;

namespace {

// The keys seen in one open object: a short list searched in order (objects
// from chat platforms hold a handful), a hash set past that.
class KeySet {
 public:
  void clear() {
    few_.clear();
    many_.clear();
  }
  // False when `key` was already there.
  bool insert(const std::string& key) {
    if (!many_.empty()) return many_.insert(key).second;
    for (const std::string& k : few_)
      if (k == key) return false;
    few_.push_back(key);
    if (few_.size() > 16) many_.insert(few_.begin(), few_.end());
    return true;
  }

 private:
  std::vector<std::string> few_;
  std::unordered_set<std::string> many_;
};

// The depth rule is the callback parser's: a value, a key or the start of a
// container is refused when more than max_depth containers are open around it.
class StrictSax {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  StrictSax(json& root, int max_depth) : dom_(root, false), max_depth_(max_depth) {}

  bool null() { return within() && dom_.null(); }
  bool boolean(bool v) { return within() && dom_.boolean(v); }
  bool number_integer(number_integer_t v) { return within() && dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return within() && dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return within() && dom_.number_float(v, s); }
  bool string(string_t& v) { return within() && dom_.string(v); }
  bool binary(binary_t& v) { return within() && dom_.binary(v); }
  bool start_object(std::size_t n) {
    if (!within()) return false;
    if (keys_.size() <= static_cast<size_t>(open_)) keys_.resize(static_cast<size_t>(open_) + 1);
    keys_[static_cast<size_t>(open_)].clear();
    ++open_;
    return dom_.start_object(n);
  }
  bool key(string_t& k) {
    if (!within()) return false;
    // Two values for one key: nlohmann would keep the last, another reader
    // (or the signer's preview) the first. Refuse the ambiguity.
    if (!keys_[static_cast<size_t>(open_ - 1)].insert(k)) {
      duplicate_ = k;
      return false;
    }
    return dom_.key(k);
  }
  bool end_object() {
    --open_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    if (!within()) return false;
    ++open_;
    return dom_.start_array(n);
  }
  bool end_array() {
    --open_;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception&) {
    return false;
  }

  bool too_deep() const { return too_deep_; }
  // Set when a key came twice; optional because the empty key is a key.
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  bool within() {
    if (open_ > max_depth_) too_deep_ = true;
    return !too_deep_;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  const int max_depth_;
  int open_ = 0;  // containers open around the next event
  bool too_deep_ = false;
  std::optional<std::string> duplicate_;
  std::vector<KeySet> keys_;  // one per open object's depth, reused
};

}  // namespace

Result<json> parse_json_strict(const std::string& body, int max_depth) {
  json j;
  StrictSax sax(j, max_depth);
  bool ok = json::sax_parse(body, &sax, json::input_format_t::json, true, false);
  if (sax.too_deep())
    return invalid_argument("JSON 嵌套太深 (JSON nested deeper than " + std::to_string(max_depth) + " levels)");
  if (sax.duplicate())
    return invalid_argument("JSON 中的键“" + *sax.duplicate() + "”出现了两次 (duplicate key \"" + *sax.duplicate() + "\")");
  if (!ok) return invalid_argument("JSON 格式错误 (malformed JSON)");
  return j;
}

std::optional<json> parse_json_bounded(const std::string& body, int max_depth) {
  auto j = parse_json_strict(body, max_depth);
  if (!j.is_ok()) return std::nullopt;
  return std::move(j).value();
}

}  // namespace sunledger::http
