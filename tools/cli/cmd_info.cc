// octet info MODEL [--shape NAME=d0,...] [--threads N]
#include <iomanip>
#include <iostream>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "engine/op.h"
#include "engine/operation_count.h"
#include "engine/prepare_graph.h"
#include "loaders/model_loader.h"
#include "quant/quantsim.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kInfoUsage =
    "usage: octet info MODEL [--shape NAME=d0,d1,...] [--threads N] [--mode M] [--target P]\n"
    "                  [--encodings FILE [--allow-partial-encodings]] [--kernels]\n"
    "\n"
    "Describes a model (.onnx or .octet): inputs and outputs with shapes, op counts,\n"
    "tensor and parameter counts, quantization encodings. When every input shape is\n"
    "known (from the model or --shape), it also prepares a session and counts the kernels\n"
    "chosen, by op (--kernels: for each node), and the planned peak arena bytes. In mode int / exact (the default\n"
    "for an integer model) it says which nodes run on integer kernels and which in float.\n"
    "\n"
    "options:\n"
    "  --shape NAME=d0,d1,...   fix the shape of input NAME; repeatable\n"
    "  -t, --threads N          threads the session is prepared for (default 1)\n"
    OCTET_CLI_MODE_HELP
    "  --encodings FILE         list, per tensor, the encoding that applies and where it comes\n"
    "                           from (the file, or the default config's placement with no\n"
    "                           encoding yet); the session below then uses these encodings\n"
    "  --allow-partial-encodings  accept a file some of whose names the model lacks\n"
    "  --kernels                list the kernel chosen for every node\n"
    "  -h, --help               show this help\n";

namespace {

// Which nodes run on integer codes and which in float (between DequantizeLinear and
// QuantizeLinear), with the lowering's reasons where it ran.
void print_integer_summary(const Session& session) {
  if (const LoweringReport* r = session.lowering_report()) {
    std::cout << "integer lowering: " << r->integer_nodes << " nodes on integer kernels, "
              << r->float_nodes.size() << " in float\n";
    for (const std::string& f : r->float_nodes) std::cout << "  float: " << f << "\n";
    for (const std::string& n : r->notes) std::cout << "  note: " << n << "\n";
    return;
  }
  const Graph& g = session.prepared_graph();
  if (!is_integer_graph(g)) return;
  int integer = 0;
  std::vector<std::string> in_float;
  for (const Node& n : g.nodes) {
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") continue;
    bool float_input = false;
    for (size_t i = 0; i < n.inputs.size(); ++i)
      float_input = float_input || (n.has_input(i) && g.tensor(n.inputs[i]).dtype == DType::kF32 &&
                                    !g.tensor(n.inputs[i]).is_constant());
    if (float_input) in_float.push_back(n.name + " (" + n.op_type + ")");
    else ++integer;
  }
  std::cout << "integer model: " << integer << " nodes on integer codes, " << in_float.size()
            << " in float\n";
  for (const std::string& f : in_float) std::cout << "  float: " << f << "\n";
}

std::string describe_quant(const QuantParams& q) {
  std::ostringstream s;
  s << (q.bitwidth > 0 ? std::to_string(q.bitwidth) : std::string("?")) << "-bit "
    << (q.symmetric ? "symmetric" : "asymmetric") << ", ";
  if (q.block_size > 0) s << "per-block (axis " << q.axis << ", block " << q.block_size << ")";
  else if (q.axis >= 0) s << "per-channel (axis " << q.axis << ")";
  else s << "per-tensor";
  return s.str();
}

void print_io(const Graph& g, const char* title, const std::vector<TensorId>& ids) {
  std::cout << title << ":\n";
  if (ids.empty()) std::cout << "  (none)\n";
  for (TensorId id : ids) {
    const TensorInfo& t = g.tensor(id);
    std::cout << "  " << t.name << "  " << dtype_name(t.dtype) << " "
              << (t.shape.has_rank ? t.shape.to_string() : std::string("[rank unknown]"));
    if (t.is_constant()) std::cout << "  (constant)";
    std::cout << "\n";
  }
}

// The encodings an encodings file gives the model, per tensor with its origin; returns the
// model annotated with them.
std::shared_ptr<Graph> print_encodings_in_effect(std::shared_ptr<Graph> model, const Args& args) {
  const std::string file = args.get("--encodings");
  quant::QuantSim sim(model, quant::QuantsimConfig::load_shipped("default_config"));
  std::vector<std::string> placed;
  for (const quant::Quantizer& q : sim.quantizers())
    if (q.enabled) placed.push_back(q.tensor);
  const quant::ImportReport r = import_encodings_file(sim, file, args.has("--allow-partial-encodings"));
  const std::set<std::string> applied(r.applied.begin(), r.applied.end());
  std::cout << "encodings in effect (" << file << " over default_config's placement): "
            << r.applied.size() << " from the file\n";
  for (const quant::TensorEncodingInfo& i : quant::encodings_in_effect(sim, applied))
    std::cout << "  " << i.tensor << "  [" << i.role << (i.op_type.empty() ? "" : ", " + i.op_type)
              << "]  " << quant::encoding_origin_name(i.origin) << ": "
              << (i.encoding ? quant::describe_encoding(*i.encoding) : std::string("not computed"))
              << "\n";
  std::vector<std::string> dropped;
  for (const std::string& t : placed)
    if (!applied.count(t) && !sim.at(t).enabled) dropped.push_back(t);
  if (!dropped.empty()) {
    std::cout << "  not quantized: " << dropped.size()
              << " tensor(s) default_config would quantize that the file does not name:\n";
    for (const std::string& t : dropped) std::cout << "    " << t << "\n";
  }
  return sim.annotated_model();
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  Args args = Args::parse(
      argv, {kShapeOpt, kThreadsOpt, kModeOpt, kTargetOpt, kEncodingsOpt, kAllowPartialOpt,
             {"--kernels", "", false, false}}, 1, 1);
  if (args.help()) {
    std::cout << kInfoUsage;
    return 0;
  }
  const std::string path = args.positional()[0];
  auto shapes = parse_shapes(args.all("--shape"));
  const int threads = args.get_int("--threads", 1, 0, 1024);

  std::shared_ptr<Graph> graph = load_model(path);
  if (args.has("--allow-partial-encodings") && !args.has("--encodings"))
    throw UsageError("--allow-partial-encodings needs --encodings");
  if (args.has("--encodings")) graph = print_encodings_in_effect(graph, args);
  const Graph& g = *graph;
  check_shape_names(g, shapes);
  const ExecutionMode mode =
      parse_mode(args.get("--mode", is_integer_graph(g) ? "int" : "float"));
  std::cout << "model: " << path << "\n";
  if (!g.name.empty()) std::cout << "graph name: " << g.name << "\n";
  if (g.opset > 0) std::cout << "opset: " << g.opset << "\n";
  print_io(g, "inputs", g.inputs);
  print_io(g, "outputs", g.outputs);

  // Ops.
  std::map<std::string, int> op_counts;
  for (const Node& n : g.nodes) ++op_counts[n.op_type];
  std::cout << "nodes: " << g.nodes.size() << " (" << op_counts.size() << " op types)\n";
  const OpRegistry& registry = OpRegistry::instance();
  for (const auto& [op, count] : op_counts)
    std::cout << "  " << std::left << std::setw(28) << op << std::right << std::setw(6) << count
              << (registry.find(op) ? "" : "   (not supported)") << "\n";

  // Tensors and parameters.
  int64_t params = 0, constants = 0;
  size_t param_bytes = 0;
  std::map<std::string, int> encodings;
  int quantized = 0;
  for (const TensorInfo& t : g.tensors) {
    if (t.is_constant()) {
      ++constants;
      param_bytes += t.data->size();
      if (t.shape.is_concrete()) params += checked_numel(t.shape.concrete());
    }
    if (!t.quant.empty()) {
      ++quantized;
      ++encodings[describe_quant(t.quant)];
    }
  }
  std::cout << "tensors: " << g.tensors.size() << " (" << constants << " constant)\n";
  std::cout << "parameters: " << format_count(params) << " values, " << format_bytes(param_bytes)
            << "\n";
  int qdq_nodes = 0;
  for (const Node& n : g.nodes)
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear" ||
        n.op_type.rfind("QLinear", 0) == 0 || n.op_type == "DynamicQuantizeLinear" ||
        n.op_type == "MatMulInteger" || n.op_type == "ConvInteger")
      ++qdq_nodes;
  if (quantized == 0 && qdq_nodes == 0) {
    std::cout << "quantization: none (float model)\n";
  } else {
    std::cout << "quantization: " << quantized << " tensors with encodings";
    if (qdq_nodes) std::cout << ", " << qdq_nodes << " ONNX quantization nodes";
    std::cout << "\n";
    for (const auto& [what, count] : encodings) std::cout << "  " << count << " x " << what << "\n";
  }

  // Session: kernels and memory, when shapes are known.
  std::vector<std::string> open = open_inputs(g, shapes);
  if (!open.empty()) {
    std::cout << "session: not prepared, input '" << open[0]
              << "' has unknown dimensions (give --shape " << open[0]
              << "=d0,d1,... to see kernels and memory)\n";
    return 0;
  }
  try {
    check_ops_supported(g, path);
    SessionOptions opt;
    opt.threads = threads;
    opt.input_shapes = shapes;
    opt.mode = mode;
    opt.target = args.get("--target", "onnxruntime");
    Session session(graph, opt);
    print_integer_summary(session);
    const Graph& pg = session.prepared_graph();
    std::cout << "session (" << (threads > 0 ? std::to_string(threads) : std::string("all"))
              << " thread" << (threads == 1 ? "" : "s") << "): " << pg.nodes.size()
              << " nodes after optimization\n";
    for (const auto& [name, dims] : session.input_specs())
      std::cout << "  input " << name << " " << dims_to_string(dims) << "\n";
    // A summary by op and kernel first (a real model has hundreds of nodes), then every node
    // with --kernels.
    std::map<std::pair<std::string, std::string>, int> by_kernel;
    for (const KernelChoice& k : session.kernel_choices()) ++by_kernel[{k.op_type, k.impl}];
    std::vector<std::pair<int, std::pair<std::string, std::string>>> order;
    for (const auto& [key, count] : by_kernel) order.push_back({count, key});
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::cout << "kernels: " << session.kernel_choices().size() << " nodes, by op and kernel:\n";
    for (const auto& [count, key] : order)
      std::cout << "  " << std::setw(5) << count << "  " << std::left << std::setw(22) << key.first
                << std::right << " " << key.second << "\n";
    if (args.has("--kernels")) {
      std::cout << "kernel of every node:\n";
      for (const KernelChoice& k : session.kernel_choices())
        std::cout << "  " << std::left << std::setw(32) << k.node << " " << std::setw(22) << k.op_type
                  << std::right << " " << k.impl << "\n";
    } else {
      std::cout << "  (--kernels lists every node's)\n";
    }
    std::cout << "peak arena: " << format_bytes(session.arena_bytes())
              << " (without buffer reuse: " << format_bytes(session.naive_bytes()) << ")\n";
    std::cout << "work per run: about " << format_operation_count(session.operations())
              << " (multiply-adds, window steps and elements moved; --max-ops bounds it)\n";
  } catch (const Error& e) {
    std::cout << "session: cannot be prepared:\n  " << e.what() << "\n";
    // With --shape the user asked for a session: their shapes (or the ops) failed.
    if (!shapes.empty()) {
      std::cout << std::flush;
      std::cerr << "octet info: error: " << e.what() << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace octet::cli
