// Channels-last layout: convolutional nodes run NHWC (`_layout` = "NHWC") between
// transposes, which are then pushed through layout-agnostic ops, merged and cancelled
// so that only the transposes at the borders of layout-sensitive regions remain.
#include <algorithm>
#include <set>
#include <string_view>

#include "engine/passes/pass_util.h"
#include "engine/passes/passes.h"

namespace octet {
namespace {

using passes::add_transpose;
using passes::compose_perms;
using passes::inverse_perm;
using passes::is_identity_perm;
using passes::is_valid_perm;
using passes::permute_dims;

const std::vector<int64_t> kToNhwc{0, 2, 3, 1};
const std::vector<int64_t> kToNchw{0, 3, 1, 2};

bool is_layout_op(std::string_view op) {
  static const std::set<std::string_view> ops{"Conv",        "ConvTranspose",     "MaxPool",
                                              "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                                              "BatchNormalization"};
  return ops.count(op) != 0;
}

// Pointwise ops of one data input (input 0); other inputs, if any, are scalars.
bool is_unary_pointwise(std::string_view op) {
  static const std::set<std::string_view> ops{
      "Relu",     "LeakyRelu", "Clip",   "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
      "Erf",      "Elu",       "Selu",   "Celu",    "Gelu",        "Mish",      "Softplus",
      "Softsign", "ThresholdedRelu",     "Exp",     "Log",         "Abs",       "Neg",
      "Sqrt",     "Reciprocal", "Floor", "Ceil",    "Round",       "Sign",      "Sin",
      "Cos",      "Not",       "Cast",   "Identity", "IsNaN",      "IsInf"};
  return ops.count(op) != 0;
}

// Pointwise ops whose inputs broadcast against each other (numpy rules).
bool is_broadcast_pointwise(std::string_view op) {
  static const std::set<std::string_view> ops{
      "Add",  "Sub",   "Mul",  "Div",  "Pow",     "Max",  "Min",          "Sum",
      "Mean", "PRelu", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
      "And",  "Or",    "Xor",  "Where"};
  return ops.count(op) != 0;
}

bool is_layout_agnostic(std::string_view op) {
  return op == "Transpose" || op == "Concat" || is_unary_pointwise(op) ||
         is_broadcast_pointwise(op);
}

// The perm of a Transpose node (ONNX default: reversed axes), or empty when invalid.
std::vector<int64_t> transpose_perm(const Graph& g, const Node& t) {
  if (t.inputs.empty() || t.inputs[0] == kNoTensor || t.outputs.size() != 1) return {};
  const TensorInfo& x = g.tensor(t.inputs[0]);
  if (!x.shape.is_concrete()) return {};
  const size_t rank = x.shape.rank();
  std::vector<int64_t> perm;
  if (t.attrs.has("perm")) {
    perm = t.attrs.get_ints("perm");
  } else {
    for (size_t k = rank; k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  }
  return is_valid_perm(perm, rank) ? perm : std::vector<int64_t>{};
}

class TransposeOptimizer {
 public:
  TransposeOptimizer(Graph& g, PassReport& report) : g_(g), report_(report) {}

  void run() {
    const size_t max_steps = 64 * (g_.nodes.size() + 16);
    size_t steps = 0;
    while (step()) {
      report_.changed++;
      if (++steps >= max_steps) {
        report_.notes.push_back("stopped after " + std::to_string(steps) + " rewrites");
        break;
      }
    }
  }

 private:
  // Applies one rewrite; false when none applies.
  bool step() {
    consumers_ = passes::consumers_of(g_);
    producers_ = g_.producers();
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (g_.nodes[i].op_type != "Transpose") continue;
      std::vector<int64_t> perm = transpose_perm(g_, g_.nodes[i]);
      if (perm.empty()) continue;
      const TensorId y = g_.nodes[i].outputs[0];
      if (is_identity_perm(perm)) {
        bypass(i, g_.nodes[i].inputs[0]);
        return true;
      }
      const bool can_push = pushable(y);
      for (const passes::Use& u : consumers_[y]) {
        Node& c = g_.nodes[u.node];
        if (c.op_type == "Transpose") {
          if (merge(i, perm, static_cast<size_t>(u.node))) return true;
        } else if (!can_push) {
          continue;
        } else if (is_unary_pointwise(c.op_type)) {
          if (u.slot == 0 && push_unary(static_cast<size_t>(u.node), perm)) return true;
        } else if (is_broadcast_pointwise(c.op_type) || c.op_type == "Concat") {
          if (push_multi(static_cast<size_t>(u.node), perm)) return true;
        }
      }
    }
    return false;
  }

  // A transpose's output may be pushed into its consumers when all of them can take it
  // (or may once their other inputs are pushed too): otherwise pushing duplicates it.
  bool pushable(TensorId y) const {
    if (g_.is_graph_output(y)) return false;
    for (const passes::Use& u : consumers_[y])
      if (!is_layout_agnostic(g_.nodes[u.node].op_type)) return false;
    return true;
  }

  // Node `k` computes a copy of `source`: its uses read `source` instead.
  void bypass(size_t k, TensorId source) {
    Node& n = g_.nodes[k];
    const TensorId out = n.outputs[0];
    if (g_.is_graph_output(out)) {
      // Keep the user's output name: an Identity, removed later where possible.
      n.op_type = "Identity";
      n.inputs = {source};
      n.attrs = Attributes{};
      return;
    }
    g_.replace_uses(out, source);
    g_.nodes.erase(g_.nodes.begin() + static_cast<std::ptrdiff_t>(k));
  }

  // Transpose(Transpose(z, p), q) -> Transpose(z, p∘q), or z when that is the identity.
  bool merge(size_t t, const std::vector<int64_t>& p, size_t c) {
    std::vector<int64_t> q = transpose_perm(g_, g_.nodes[c]);
    if (q.empty()) return false;
    const TensorId z = g_.nodes[t].inputs[0];
    std::vector<int64_t> composed = compose_perms(p, q);
    if (is_identity_perm(composed)) {
      bypass(c, z);
    } else {
      g_.nodes[c].inputs[0] = z;
      g_.nodes[c].attrs.set("perm", composed);
    }
    return true;
  }

  // The node's output is computed in the transposed-back domain and transposed after it.
  void transpose_output(size_t k, const std::vector<int64_t>& perm) {
    const TensorId out = g_.nodes[k].outputs[0];
    const Dims out_dims = g_.tensor(out).shape.concrete();
    TensorId inner = g_.add_unique_tensor(g_.tensor(out).name + "_nhwc", g_.tensor(out).dtype);
    g_.tensor(inner).shape = Shape::of(permute_dims(out_dims, inverse_perm(perm)));
    g_.nodes[k].outputs[0] = inner;
    const std::string name = g_.nodes[k].name + "/transpose";
    add_transpose(g_, inner, perm, name, out);
  }

  // One output, of the transpose's rank.
  bool single_output(const Node& n, size_t rank) const {
    return n.outputs.size() == 1 && n.outputs[0] != kNoTensor &&
           g_.tensor(n.outputs[0]).shape.is_concrete() &&
           g_.tensor(n.outputs[0]).shape.rank() == rank;
  }

  bool push_unary(size_t k, const std::vector<int64_t>& perm) {
    const Node& n = g_.nodes[k];
    if (!single_output(n, perm.size())) return false;
    const TensorId z = g_.nodes[producers_[n.inputs[0]]].inputs[0];
    g_.nodes[k].inputs[0] = z;
    transpose_output(k, perm);
    return true;
  }

  // The input of Transpose(?, perm) producing `id`, or kNoTensor.
  TensorId untransposed(TensorId id, const std::vector<int64_t>& perm) const {
    int32_t p = producers_[id];
    if (p < 0 || g_.nodes[p].op_type != "Transpose") return kNoTensor;
    if (transpose_perm(g_, g_.nodes[p]) != perm) return kNoTensor;
    return g_.nodes[p].inputs[0];
  }

  // Broadcasting pointwise ops and Concat: every input must be a transpose with the same
  // perm, or a constant that can be moved to the other layout.
  bool push_multi(size_t k, const std::vector<int64_t>& perm) {
    const Node& n = g_.nodes[k];
    const size_t rank = perm.size();
    if (!single_output(n, rank)) return false;
    const bool concat = n.op_type == "Concat";
    std::vector<TensorId> new_inputs;
    std::vector<std::pair<size_t, Dims>> moved;  // constants to permute: slot, padded dims
    for (TensorId in : n.inputs) {
      if (in == kNoTensor) {
        new_inputs.push_back(in);
        continue;
      }
      const TensorInfo& t = g_.tensor(in);
      if (TensorId z = untransposed(in, perm); z != kNoTensor) {
        new_inputs.push_back(z);
      } else if (t.is_constant() && t.shape.is_concrete() && t.shape.rank() <= rank &&
                 dtype_size(t.dtype) > 0) {
        Dims d = t.shape.concrete();
        if (!concat && checked_numel(d) == 1) {  // a scalar broadcasts in any layout
          new_inputs.push_back(in);
          continue;
        }
        if (concat && d.size() != rank) return false;
        // Broadcasting aligns trailing axes: pad to full rank, then permute.
        d.insert(d.begin(), rank - d.size(), 1);
        moved.emplace_back(new_inputs.size(), d);
        new_inputs.push_back(in);
      } else {
        return false;
      }
    }
    int64_t axis = 0;
    if (concat) {
      axis = n.attrs.get_int("axis", 0);
      if (axis < 0) axis += static_cast<int64_t>(rank);
      if (axis < 0 || axis >= static_cast<int64_t>(rank)) return false;
    }
    // All inputs qualify: materialize the moved constants (new tensors; shared bytes
    // are never modified).
    for (const auto& [slot, dims] : moved) {
      const TensorId src = new_inputs[slot];
      TensorId padded = g_.add_unique_tensor(g_.tensor(src).name + "_r", g_.tensor(src).dtype);
      g_.tensor(padded).shape = Shape::of(dims);
      g_.tensor(padded).data = g_.tensor(src).data;  // same bytes, new dims
      new_inputs[slot] = passes::transpose_constant(g_, padded, inverse_perm(perm));
    }
    Node& m = g_.nodes[k];
    if (concat) m.attrs.set("axis", perm[static_cast<size_t>(axis)]);
    m.inputs = new_inputs;
    transpose_output(k, perm);
    return true;
  }

  Graph& g_;
  PassReport& report_;
  std::vector<std::vector<passes::Use>> consumers_;
  std::vector<int32_t> producers_;
};

// Transposes of one tensor with one perm are computed once.
int dedupe_transposes(Graph& g) {
  int changed = 0;
  std::vector<char> remove(g.nodes.size(), 0);
  for (size_t a = 0; a < g.nodes.size(); ++a) {
    if (remove[a] || g.nodes[a].op_type != "Transpose") continue;
    std::vector<int64_t> pa = transpose_perm(g, g.nodes[a]);
    if (pa.empty()) continue;
    for (size_t b = a + 1; b < g.nodes.size(); ++b) {
      Node& nb = g.nodes[b];
      if (remove[b] || nb.op_type != "Transpose" || nb.inputs != g.nodes[a].inputs) continue;
      if (transpose_perm(g, nb) != pa || g.is_graph_output(nb.outputs[0])) continue;
      g.replace_uses(nb.outputs[0], g.nodes[a].outputs[0]);
      remove[b] = 1;
      changed++;
    }
  }
  passes::erase_nodes(g, remove);
  return changed;
}

}  // namespace

PassReport convert_to_channels_last(Graph& graph) {
  PassReport report{"channels-last", 0, {}};
  const std::vector<int32_t> uses = graph.use_counts();
  const size_t count = graph.nodes.size();
  for (size_t k = 0; k < count; ++k) {
    {
      Node& n = graph.nodes[k];
      if (!is_layout_op(n.op_type) || n.attrs.has("_layout")) continue;
      if (n.inputs.empty() || n.inputs[0] == kNoTensor || n.outputs.empty() ||
          n.outputs[0] == kNoTensor)
        continue;
      const TensorInfo& x = graph.tensor(n.inputs[0]);
      const TensorInfo& y = graph.tensor(n.outputs[0]);
      if (!x.shape.is_concrete() || x.shape.rank() != 4 || !y.shape.is_concrete() ||
          y.shape.rank() != 4 || x.is_constant())
        continue;
      bool extra_used = false;  // MaxPool's Indices, training BatchNormalization's stats
      for (size_t o = 1; o < n.outputs.size(); ++o)
        if (n.outputs[o] != kNoTensor && uses[n.outputs[o]] > 0) extra_used = true;
      if (extra_used) {
        report.notes.push_back(n.op_type + " '" + n.name + "' stays NCHW: it has extra outputs");
        continue;
      }
      n.outputs.resize(1);
    }
    const std::string name = graph.nodes[k].name;
    const TensorId x = graph.nodes[k].inputs[0];
    const TensorId y = graph.nodes[k].outputs[0];
    const TensorId x_nhwc = add_transpose(graph, x, kToNhwc, name + "/to_nhwc");
    const TensorId y_nhwc = graph.add_unique_tensor(graph.tensor(y).name + "_nhwc", graph.tensor(y).dtype);
    graph.tensor(y_nhwc).shape = Shape::of(permute_dims(graph.tensor(y).shape.concrete(), kToNhwc));
    Node& n = graph.nodes[k];
    n.inputs[0] = x_nhwc;
    n.outputs[0] = y_nhwc;
    n.attrs.set("_layout", std::string("NHWC"));
    add_transpose(graph, y_nhwc, kToNchw, name + "/to_nchw", y);
    report.changed++;
  }
  graph.topo_sort();
  return report;
}

PassReport optimize_transposes(Graph& graph) {
  PassReport report{"optimize-transposes", 0, {}};
  TransposeOptimizer(graph, report).run();
  report.changed += dedupe_transposes(graph);
  PassReport ids = remove_identities(graph);
  PassReport dead = remove_dead_nodes(graph);
  report.changed += ids.changed + dead.changed;
  graph.topo_sort();
  return report;
}

}  // namespace octet
