// octet bench MODEL [--threads N] [--runs N] [--warmup N] [--shape ...] [--mode float]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include "base/error.h"
#include "loaders/model_loader.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kBenchUsage =
    "usage: octet bench MODEL [--threads N] [--runs N] [--warmup N] [--shape NAME=d0,...]\n"
    "                   [--mode float|qdq|exact|int] [--target PROFILE] [--profile [--top N]]\n"
    "\n"
    "Measures inference latency on random inputs of the right dtype and shape (floats\n"
    "uniform in [-1, 1], integers 0): median and p90 over the timed runs after warm-up,\n"
    "plus the planned peak arena bytes and the peak resident memory of the process.\n"
    "Unknown input dimensions (e.g. a symbolic batch) are set to 1 unless --shape is given.\n"
    "\n"
    "options:\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    "  --runs N                 timed runs (default 20)\n"
    "  --warmup N               untimed runs first (default 3)\n"
    "  --shape NAME=d0,d1,...   fix the shape of input NAME; repeatable\n"
    "  --profile                time every node: time per op type and the slowest nodes\n"
    "                           (timing each node adds a little to the latency figures)\n"
    "  --top N                  nodes listed by --profile (default 15)\n"
    OCTET_CLI_MODE_HELP
    "  -h, --help               show this help\n";

namespace {

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// Milliseconds, or microseconds below 0.1 ms.
std::string format_ms(double ms) {
  char buf[32];
  if (ms < 0.1) std::snprintf(buf, sizeof buf, "%.2f us", ms * 1000.0);
  else std::snprintf(buf, sizeof buf, "%.3f ms", ms);
  return buf;
}

double median(const std::vector<double>& sorted) {
  size_t n = sorted.size();
  if (n == 0) return 0;
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

// Per op type (sorted by time) and the `top` slowest nodes, in ms per run.
void print_profile(const std::vector<NodeProfile>& nodes, int top) {
  double total = 0;
  for (const NodeProfile& n : nodes) total += n.seconds;
  const double runs = nodes.empty() ? 1.0 : double(std::max<int64_t>(1, nodes[0].runs));
  auto ms = [&](double seconds) { return seconds * 1000.0 / runs; };
  auto pct = [&](double seconds) { return total > 0 ? 100.0 * seconds / total : 0.0; };

  std::map<std::string, std::pair<double, int>> by_type;
  for (const NodeProfile& n : nodes) {
    auto& [seconds, count] = by_type[n.op_type];
    seconds += n.seconds;
    ++count;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> types(by_type.begin(),
                                                                    by_type.end());
  std::sort(types.begin(), types.end(),
            [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::printf("\nprofile: %.3f ms per run in %zu nodes\n", ms(total), nodes.size());
  std::printf("%-28s %6s %10s %7s\n", "op type", "nodes", "ms/run", "%");
  for (const auto& [type, v] : types)
    std::printf("%-28s %6d %10.4f %6.1f%%\n", type.c_str(), v.second, ms(v.first), pct(v.first));

  std::vector<const NodeProfile*> order;
  for (const NodeProfile& n : nodes) order.push_back(&n);
  std::sort(order.begin(), order.end(),
            [](const NodeProfile* a, const NodeProfile* b) { return a->seconds > b->seconds; });
  if (order.size() > size_t(top)) order.resize(size_t(top));
  if (order.empty()) return;
  std::printf("\nslowest nodes\n%-36s %-22s %-24s %3s %10s %7s\n", "node", "op type", "kernel",
              "thr", "ms/run", "%");
  for (const NodeProfile* n : order)
    std::printf("%-36s %-22s %-24s %3d %10.4f %6.1f%%\n", n->node.c_str(), n->op_type.c_str(),
                n->impl.c_str(), n->threads, ms(n->seconds), pct(n->seconds));
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv,
                          {kThreadsOpt, kShapeOpt, kModeOpt, kTargetOpt, {"--runs", "-n", true, false},
                           {"--warmup", "", true, false}, {"--profile", "", false, false},
                           {"--top", "", true, false}},
                          1, 1);
  if (args.help()) {
    std::cout << kBenchUsage;
    return 0;
  }
  const int threads = args.get_int("--threads", 1, 0, 1024);
  const int runs = args.get_int("--runs", 20, 1, 1000000);
  const int warmup = args.get_int("--warmup", 3, 0, 1000000);
  const bool profile = args.has("--profile");
  const int top = args.get_int("--top", 15, 0, 1000000);
  auto shapes = parse_shapes(args.all("--shape"));
  const std::string path = args.positional()[0];

  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };

  auto t_load = clock::now();
  std::shared_ptr<Graph> graph = load_model(path);
  const double load_ms = ms_since(t_load);
  const ExecutionMode mode = mode_option(args, *graph);
  check_shape_names(*graph, shapes);
  for (TensorId id : graph->inputs) {
    const TensorInfo& t = graph->tensor(id);
    if (t.is_constant() || shapes.count(t.name) || t.shape.is_concrete()) continue;
    if (!t.shape.has_rank)
      throw UsageError("input '" + t.name + "' has unknown rank; give --shape " + t.name +
                       "=d0,d1,...");
    // A symbolic batch runs as 1 (latency per inference); any other symbolic dimension (an
    // image's height, a sequence length) has no default worth measuring.
    Dims dims;
    for (size_t i = 0; i < t.shape.rank(); ++i) {
      const Dim& d = t.shape.dims[i];
      if (!d.is_known() && i > 0)
        throw UsageError("input '" + t.name + "' " + t.shape.to_string() + " has a symbolic dimension " +
                         std::to_string(i) + "; give the shape to measure: --shape " + t.name + "=d0,d1,...");
      dims.push_back(d.is_known() ? d.value : 1);
    }
    std::cerr << "octet bench: note: input '" << t.name << "' " << t.shape.to_string()
              << " runs as " << dims_to_string(dims) << " (batch 1; use --shape to choose)\n";
    shapes[t.name] = dims;
  }

  SessionOptions opt;
  opt.mode = mode;
  opt.target = args.get("--target", "onnxruntime");
  opt.threads = threads;
  opt.input_shapes = shapes;
  opt.profile = profile;
  auto t_prep = clock::now();
  Session session(graph, opt);
  const double prepare_ms = ms_since(t_prep);

  std::vector<HostTensor> inputs;
  uint32_t seed = 1;
  for (const auto& [name, dims] : session.input_specs()) {
    const TensorInfo& t = session.prepared_graph().tensor(session.prepared_graph().require_tensor(name));
    inputs.push_back(random_tensor(name, t.dtype, dims, seed++));
  }

  for (int i = 0; i < warmup; ++i) session.run(inputs);
  session.reset_profile();
  std::vector<double> times;
  times.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    auto t0 = clock::now();
    session.run(inputs);
    times.push_back(ms_since(t0));
  }
  std::sort(times.begin(), times.end());
  double mean = 0;
  for (double t : times) mean += t;
  mean /= static_cast<double>(times.size());

  std::printf("model: %s\n", path.c_str());
  for (const auto& [name, dims] : session.input_specs())
    std::printf("input: %s %s\n", name.c_str(), dims_to_string(dims).c_str());
  std::printf("threads: %s, warm-up runs: %d, timed runs: %d\n",
              threads > 0 ? std::to_string(threads).c_str() : "all cores", warmup, runs);
  std::printf("load: %.2f ms, prepare: %.2f ms\n", load_ms, prepare_ms);
  std::printf("latency: median %s, p90 %s, min %s, max %s, mean %s\n",
              format_ms(median(times)).c_str(), format_ms(percentile(times, 90)).c_str(),
              format_ms(times.front()).c_str(), format_ms(times.back()).c_str(),
              format_ms(mean).c_str());
  std::printf("throughput: %.1f inferences/s (from the median)\n",
              median(times) > 0 ? 1000.0 / median(times) : 0.0);
  std::printf("peak arena: %s\n", format_bytes(session.arena_bytes()).c_str());
  std::printf("peak RSS: %s\n", format_bytes(peak_rss_bytes()).c_str());
  if (profile) print_profile(session.node_profile(), top);
  return 0;
}

}  // namespace octet::cli
