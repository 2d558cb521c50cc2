#include "engine/operation_count.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"
#include "engine/op.h"

namespace octet {
namespace {

double elements(const TensorInfo& t) {
  if (!t.shape.is_concrete()) return 0;
  double n = 1;
  for (int64_t d : t.shape.concrete()) n *= double(d);
  return n;
}

std::atomic<double> g_default_limit{0};

}  // namespace

double estimate_node_operations(const Graph& g, const Node& n) {
  double out = 0;
  for (TensorId id : n.outputs)
    if (id != kNoTensor) out += elements(g.tensor(id));
  const OpSchema* schema = find_op(n.op_type);
  if (schema && schema->operations) return schema->operations(g, n);
  if (schema && schema->params.weight >= 0 && schema->params.channel_axis &&
      n.has_input(size_t(schema->params.weight))) {
    const TensorInfo& w = g.tensor(n.inputs[size_t(schema->params.weight)]);
    if (w.shape.is_concrete() && !w.shape.concrete().empty()) {
      const Dims dims = w.shape.concrete();
      const int axis = schema->params.channel_axis(n, int(dims.size()));
      const double channels = axis >= 0 && axis < int(dims.size()) ? double(dims[size_t(axis)]) : 1.0;
      if (channels > 0) return out * (elements(w) / channels);
    }
  }
  if (n.attrs.has("kernel_shape")) {
    double window = 1;
    for (int64_t k : n.attrs.get_ints("kernel_shape")) window *= double(std::max<int64_t>(k, 1));
    return out * window;
  }
  double in = 0;
  for (TensorId id : n.inputs)
    if (id != kNoTensor) in += elements(g.tensor(id));
  return in + out;
}

double estimate_operations(const Graph& g) {
  double total = 0;
  for (const Node& n : g.nodes) total += estimate_node_operations(g, n);
  return total;
}

double default_operation_limit() { return g_default_limit.load(); }
void set_default_operation_limit(double operations) { g_default_limit.store(operations); }

double parse_operation_count(const std::string& text) {
  OCTET_CHECK(!text.empty(), "an operation count is empty");
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  const std::string suffix(end);
  if (suffix == "K" || suffix == "k") v *= 1e3;
  else if (suffix == "M") v *= 1e6;
  else if (suffix == "G") v *= 1e9;
  else if (suffix == "T") v *= 1e12;
  else OCTET_CHECK(suffix.empty(), "'", text, "' is not an operation count (e.g. 5e9, 500M, 2G, 1T)");
  OCTET_CHECK(std::isfinite(v) && v > 0, "'", text, "' is not a positive operation count");
  return v;
}

std::string format_operation_count(double operations) {
  const char* units[] = {"", " K", " M", " G", " T", " P"};
  int u = 0;
  while (operations >= 1000 && u < 5) operations /= 1000, ++u;
  char buf[64];
  std::snprintf(buf, sizeof buf, u ? "%.2f%s operations" : "%.0f%s operations", operations, units[u]);
  return buf;
}

}  // namespace octet
