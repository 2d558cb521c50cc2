// Argument parsing shared by every subcommand.
#include <cerrno>
#include <cstdlib>

#include "tools/cli/cli.h"

#include "engine/passes/lower_integer.h"

namespace octet::cli {

Args Args::parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs,
                 size_t min_positional, size_t max_positional) {
  Args a;
  auto find_spec = [&](const std::string& s) -> const OptionSpec* {
    for (const OptionSpec& o : specs)
      if (s == o.name || (!o.alias.empty() && s == o.alias)) return &o;
    return nullptr;
  };
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      a.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      a.help_ = true;
      continue;
    }
    std::string key = arg, value;
    bool inline_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      key = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const OptionSpec* spec = find_spec(key);
    if (!spec) throw UsageError("unknown option '" + key + "'");
    if (spec->takes_value) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError("option " + spec->name + " needs a value");
        value = argv[++i];
      }
    } else if (inline_value) {
      throw UsageError("option " + spec->name + " takes no value");
    }
    auto& slot = a.values_[spec->name];
    if (!slot.empty() && !spec->repeatable)
      throw UsageError("option " + spec->name + " given more than once");
    slot.push_back(value);
  }
  if (!a.help_) {
    if (a.positional_.size() < min_positional)
      throw UsageError(min_positional == 1 ? "missing the MODEL argument"
                                           : "missing arguments");
    if (a.positional_.size() > max_positional)
      throw UsageError("unexpected argument '" + a.positional_[max_positional] + "'");
  }
  return a;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

namespace {
bool parse_int64(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  size_t start = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (start == s.size() || s.find_first_not_of("0123456789", start) != std::string::npos)
    return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}
}  // namespace

int Args::get_int(const std::string& name, int fallback, int lo, int hi) const {
  if (!has(name)) return fallback;
  std::string s = get(name);
  int64_t v = 0;
  if (!parse_int64(s, v) || v < lo || v > hi)
    throw UsageError(name + " must be an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + s + "'");
  return static_cast<int>(v);
}

std::map<std::string, Dims> parse_shapes(const std::vector<std::string>& specs) {
  std::map<std::string, Dims> shapes;
  for (const std::string& spec : specs) {
    size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw UsageError("--shape expects NAME=d0,d1,..., got '" + spec + "'");
    std::string name = spec.substr(0, eq);
    Dims dims;
    std::string rest = spec.substr(eq + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t comma = rest.find_first_of(",x", pos);
      if (comma == std::string::npos) comma = rest.size();
      int64_t d = 0;
      if (!parse_int64(rest.substr(pos, comma - pos), d) || d <= 0 || d > (int64_t(1) << 40))
        throw UsageError("--shape " + spec + ": dimensions must be positive integers");
      dims.push_back(d);
      pos = comma + 1;
    }
    if (dims.size() > 16) throw UsageError("--shape " + spec + ": more than 16 dimensions");
    if (shapes.count(name)) throw UsageError("--shape given twice for '" + name + "'");
    shapes[name] = dims;
  }
  return shapes;
}

ExecutionMode parse_mode(const std::string& mode) {
  if (mode == "float") return ExecutionMode::kFloat;
  if (mode == "qdq") return ExecutionMode::kQdq;
  if (mode == "exact") return ExecutionMode::kExact;
  if (mode == "int") return ExecutionMode::kInt;
  throw UsageError("--mode must be one of float, qdq, exact, int; got '" + mode + "'");
}

ExecutionMode mode_option(const Args& args, const Graph& model) {
  return parse_mode(args.get("--mode", is_integer_graph(model) ? "int" : "float"));
}

}  // namespace octet::cli
