// A small command-line parser: positional words, `--name value`,
// `--name=value` and boolean `--flag`s, with unknown options refused.
// Used on main's thread only; holds copies of what it parsed.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace sunledger::cli {

class Args {
 public:
  // value_options take a value; flag_options do not.
  static bool parse(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
                    const std::set<std::string>& flag_options, Args* out, std::string* error);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return values_.count(name) > 0 || flags_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  // Every value given to a repeatable option (`--witness A --witness B`), in
  // order; get() answers the last.
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : every_value_)
      if (n == name) out.push_back(v);
    return out;
  }
  // Names of required options that are missing, joined for a message.
  std::string missing(const std::vector<std::string>& required) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::vector<std::pair<std::string, std::string>> every_value_;
  std::set<std::string> flags_;
};

}  // namespace sunledger::cli
