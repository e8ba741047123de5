#include "app/args.h"

namespace sunledger::cli {

bool Args::parse(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
                 const std::set<std::string>& flag_options, Args* out, std::string* error) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      out->positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (flag_options.count(name)) {
      if (has_value) {
        *error = "option --" + name + " takes no value";
        return false;
      }
      out->flags_.insert(name);
    } else if (value_options.count(name)) {
      if (!has_value) {
        if (i + 1 >= argv.size()) {
          *error = "option --" + name + " needs a value";
          return false;
        }
        value = argv[++i];
      }
      out->values_[name] = value;
      out->every_value_.emplace_back(name, value);
    } else {
      *error = "unknown option --" + name;
      // The global options come before the command, and a newcomer copying
      // `--data ./lukou` after it was left guessing.
      if (name == "data" || name == "db") *error += " (it goes before the command: sunledger --" + name + (name == "db" ? " URL" : " DIR") + " COMMAND …)";
      return false;
    }
  }
  return true;
}

std::string Args::missing(const std::vector<std::string>& required) const {
  std::string out;
  for (const auto& r : required)
    if (!has(r)) out += (out.empty() ? "--" : ", --") + r;
  return out;
}

}  // namespace sunledger::cli
