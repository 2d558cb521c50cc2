// Channels-last layout: convolutional nodes run NHWC (`_layout` = "NHWC") between
// transposes, which are then pushed through layout-agnostic ops, merged and cancelled
// so that only the transposes at the borders of layout-sensitive regions remain.
#include <algorithm>
#include <string_view>

#include "engine/op.h"
#include "engine/passes/pass_util.h"
#include "engine/passes/passes.h"

namespace octet {
namespace {

using passes::add_transpose;
using passes::Namer;
using passes::compose_perms;
using passes::inverse_perm;
using passes::is_identity_perm;
using passes::is_valid_perm;
using passes::permute_dims;

const std::vector<int64_t> kToNhwc{0, 2, 3, 1};
const std::vector<int64_t> kToNchw{0, 3, 1, 2};

bool is_layout_op(std::string_view op) { return layout_class(op) == LayoutClass::kNhwcIsland; }

// Pointwise ops of one data input (input 0); other inputs, if any, are scalars.
bool is_unary_pointwise(std::string_view op) {
  return layout_class(op) == LayoutClass::kPointwiseUnary;
}

// Pointwise ops whose inputs broadcast against each other (numpy rules).
bool is_broadcast_pointwise(std::string_view op) {
  return layout_class(op) == LayoutClass::kPointwiseBroadcast;
}

// A per-tensor encoding holds in any layout: the transposed twin of a tensor keeps it (the
// integer lowering needs it on the tensors the kernels read and write).
void copy_layout_free_quant(Graph& g, TensorId from, TensorId to) {
  const QuantParams q = g.tensor(from).quant;
  if (q.scale.size() == 1) g.tensor(to).quant = q;
}

// QuantSim's fake quantization is pointwise when it has one scale for the whole tensor.
bool is_per_tensor_fake_quant(const Node& n) {
  return n.op_type == "octet.QuantizeDequantize" && n.attrs.get_floats("scale").size() == 1;
}

bool is_layout_agnostic(std::string_view op) {
  const LayoutClass c = layout_class(op);
  return c == LayoutClass::kAgnostic || c == LayoutClass::kPointwiseUnary ||
         c == LayoutClass::kPointwiseBroadcast;
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

// Rewrites in sweeps: each sweep works from maps built at its start and skips whatever
// an earlier rewrite of the same sweep touched ("dirty"), so one sweep applies many
// independent rewrites and the whole stays about linear in the graph size.
class TransposeOptimizer {
 public:
  TransposeOptimizer(Graph& g, PassReport& report) : g_(g), report_(report), names_(g) {}

  void run() {
    for (int sweeps = 0;; ++sweeps) {
      if (sweeps == 1000) {
        report_.notes.push_back("stopped after 1000 sweeps");
        break;
      }
      if (!sweep()) break;
    }
  }

 private:
  bool sweep() {
    consumers_ = passes::consumers_of(g_);
    producers_ = g_.producers();
    node_count_ = g_.nodes.size();
    tensor_count_ = g_.tensors.size();
    dirty_nodes_.assign(node_count_, 0);
    dirty_tensors_.assign(tensor_count_, 0);
    dead_.assign(node_count_, 0);
    bool any = false;
    for (size_t i = 0; i < node_count_; ++i) {
      if (dirty_node(i) || g_.nodes[i].op_type != "Transpose") continue;
      std::vector<int64_t> perm = transpose_perm(g_, g_.nodes[i]);
      if (perm.empty()) continue;
      const TensorId y = g_.nodes[i].outputs[0];
      const TensorId z = g_.nodes[i].inputs[0];
      if (dirty_tensor(y) || dirty_tensor(z)) continue;
      bool done = false;
      if (is_identity_perm(perm)) {
        bypass(i, z);
        done = true;
      }
      const bool can_push = pushable(y);
      for (size_t u = 0; !done && u < consumers_[y].size(); ++u) {
        const size_t c = static_cast<size_t>(consumers_[y][u].node);
        const int32_t slot = consumers_[y][u].slot;
        if (dirty_node(c)) continue;
        const std::string& op = g_.nodes[c].op_type;
        if (op == "Transpose") {
          done = merge(i, perm, c);
        } else if (!can_push) {
          continue;
        } else if (is_unary_pointwise(op) || is_per_tensor_fake_quant(g_.nodes[c])) {
          done = slot == 0 && push_unary(i, c, perm);
        } else if (is_broadcast_pointwise(op) || op == "Concat") {
          done = push_multi(i, c, perm);
        }
      }
      if (done) {
        any = true;
        report_.changed++;
      }
    }
    passes::erase_nodes(g_, dead_);
    return any;
  }

  bool dirty_node(size_t k) const { return k >= node_count_ || dirty_nodes_[k] || dead_[k]; }
  bool dirty_tensor(TensorId id) const {
    return id < 0 || static_cast<size_t>(id) >= tensor_count_ || dirty_tensors_[id];
  }
  void touch_tensor(TensorId id) {
    if (id >= 0 && static_cast<size_t>(id) < tensor_count_) dirty_tensors_[id] = 1;
  }
  // Marks a node and every tensor it reads or writes as touched.
  void touch_node(size_t k) {
    if (k < node_count_) dirty_nodes_[k] = 1;
    for (TensorId t : g_.nodes[k].inputs) touch_tensor(t);
    for (TensorId t : g_.nodes[k].outputs) touch_tensor(t);
  }

  // A transpose's output may be pushed into its consumers when all of them can take it
  // (or may once their other inputs are pushed too): otherwise pushing duplicates it.
  bool pushable(TensorId y) const {
    if (g_.is_graph_output(y)) return false;
    for (const passes::Use& u : consumers_[y])
      if (!is_layout_agnostic(g_.nodes[u.node].op_type) &&
          !is_per_tensor_fake_quant(g_.nodes[u.node]))
        return false;
    return true;
  }

  // Node `k` computes a copy of `source`: its readers read `source` instead.
  void bypass(size_t k, TensorId source) {
    touch_node(k);
    Node& n = g_.nodes[k];
    const TensorId out = n.outputs[0];
    if (g_.is_graph_output(out)) {
      // Keep the user's output name: an Identity, removed later where possible.
      n.op_type = "Identity";
      n.inputs = {source};
      n.attrs = Attributes{};
      return;
    }
    for (const passes::Use& u : consumers_[out]) touch_node(static_cast<size_t>(u.node));
    g_.replace_uses(out, source);
    dead_[k] = 1;
  }

  // Transpose(Transpose(z, p), q) -> Transpose(z, p∘q), or z when that is the identity.
  bool merge(size_t t, const std::vector<int64_t>& p, size_t c) {
    std::vector<int64_t> q = transpose_perm(g_, g_.nodes[c]);
    if (q.empty()) return false;
    const TensorId z = g_.nodes[t].inputs[0];
    touch_node(t);
    std::vector<int64_t> composed = compose_perms(p, q);
    if (is_identity_perm(composed)) {
      bypass(c, z);
    } else {
      touch_node(c);
      g_.nodes[c].inputs[0] = z;
      g_.nodes[c].attrs.set("perm", composed);
    }
    return true;
  }

  // Node k's output is computed in the untransposed layout and transposed after it.
  void transpose_output(size_t k, const std::vector<int64_t>& perm) {
    const TensorId out = g_.nodes[k].outputs[0];
    const Dims out_dims = g_.tensor(out).shape.concrete();
    const DType dtype = g_.tensor(out).dtype;
    TensorId inner = passes::new_tensor(g_, names_, g_.tensor(out).name + "_nhwc", dtype);
    g_.tensor(inner).shape = Shape::of(permute_dims(out_dims, inverse_perm(perm)));
    copy_layout_free_quant(g_, out, inner);
    g_.nodes[k].outputs[0] = inner;
    const std::string name = g_.nodes[k].name + "/transpose";
    add_transpose(g_, names_, inner, perm, name, out);
  }

  // One output, of the transpose's rank.
  bool single_output(const Node& n, size_t rank) const {
    return n.outputs.size() == 1 && n.outputs[0] != kNoTensor &&
           g_.tensor(n.outputs[0]).shape.is_concrete() &&
           g_.tensor(n.outputs[0]).shape.rank() == rank;
  }

  bool push_unary(size_t t, size_t k, const std::vector<int64_t>& perm) {
    if (!single_output(g_.nodes[k], perm.size())) return false;
    touch_node(t);
    touch_node(k);
    g_.nodes[k].inputs[0] = g_.nodes[t].inputs[0];
    transpose_output(k, perm);
    return true;
  }

  // The untransposed form of input `id` of a node being pushed through: the input of
  // Transpose(?, perm) producing it, or an existing Transpose(id, inverse perm).
  TensorId untransposed(TensorId id, const std::vector<int64_t>& perm,
                        std::vector<size_t>& used_nodes) const {
    if (dirty_tensor(id)) return kNoTensor;
    int32_t p = producers_[id];
    if (p >= 0 && !dirty_node(static_cast<size_t>(p)) && g_.nodes[p].op_type == "Transpose" &&
        transpose_perm(g_, g_.nodes[p]) == perm && !dirty_tensor(g_.nodes[p].inputs[0])) {
      used_nodes.push_back(static_cast<size_t>(p));
      return g_.nodes[p].inputs[0];
    }
    // Only for transposes back to NCHW (moving ops into the NHWC island); the other
    // direction could undo this rewrite.
    if (perm != kToNchw) return kNoTensor;
    const std::vector<int64_t> inv = inverse_perm(perm);
    for (const passes::Use& u : consumers_[id]) {
      const size_t c = static_cast<size_t>(u.node);
      if (dirty_node(c) || g_.nodes[c].op_type != "Transpose") continue;
      if (transpose_perm(g_, g_.nodes[c]) != inv) continue;
      used_nodes.push_back(c);
      return g_.nodes[c].outputs[0];
    }
    return kNoTensor;
  }

  // Broadcasting pointwise ops and Concat: every input must be a transpose with the same
  // perm, or have one already in the other layout, or be a constant that can be moved.
  bool push_multi(size_t t, size_t k, const std::vector<int64_t>& perm) {
    const Node& n = g_.nodes[k];
    const size_t rank = perm.size();
    if (!single_output(n, rank)) return false;
    const bool concat = n.op_type == "Concat";
    std::vector<TensorId> new_inputs;
    std::vector<size_t> used_nodes{t};
    std::vector<std::pair<size_t, Dims>> moved;  // constants to permute: slot, padded dims
    for (TensorId in : n.inputs) {
      if (in == kNoTensor) {
        new_inputs.push_back(in);
        continue;
      }
      const TensorInfo& info = g_.tensor(in);
      if (TensorId z = untransposed(in, perm, used_nodes); z != kNoTensor) {
        new_inputs.push_back(z);
      } else if (info.is_constant() && info.shape.is_concrete() && info.shape.rank() <= rank &&
                 dtype_size(info.dtype) > 0) {
        Dims d = info.shape.concrete();
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
    for (size_t u : used_nodes) touch_node(u);
    touch_node(k);
    // Moved constants are new tensors: shared bytes are never modified.
    for (const auto& [slot, dims] : moved) {
      const TensorId src = new_inputs[slot];
      TensorId padded = passes::new_tensor(g_, names_, g_.tensor(src).name + "_r", g_.tensor(src).dtype);
      g_.tensor(padded).shape = Shape::of(dims);
      g_.tensor(padded).data = g_.tensor(src).data;  // same bytes, new dims
      new_inputs[slot] = passes::transpose_constant(g_, names_, padded, inverse_perm(perm));
    }
    Node& m = g_.nodes[k];
    if (concat) m.attrs.set("axis", perm[static_cast<size_t>(axis)]);
    m.inputs = new_inputs;
    transpose_output(k, perm);
    return true;
  }

  Graph& g_;
  PassReport& report_;
  passes::Namer names_;
  std::vector<std::vector<passes::Use>> consumers_;
  std::vector<int32_t> producers_;
  size_t node_count_ = 0, tensor_count_ = 0;
  std::vector<char> dirty_nodes_, dirty_tensors_, dead_;
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

// The 2-D form of a 1-D node's spatial attributes: a leading unit (or zero) dimension.
void add_unit_spatial_dim(Attributes& a) {
  for (const char* key : {"kernel_shape", "strides", "dilations", "output_shape"})
    if (a.has(key)) {
      std::vector<int64_t> v = a.get_ints(key);
      v.insert(v.begin(), 1);
      a.set(key, v);
    }
  if (a.has("output_padding")) {
    std::vector<int64_t> v = a.get_ints("output_padding");
    v.insert(v.begin(), 0);
    a.set("output_padding", v);
  }
  if (a.has("pads")) {
    const std::vector<int64_t> p = a.get_ints("pads");  // [begin, end]
    if (p.size() == 2) a.set("pads", std::vector<int64_t>{0, p[0], 0, p[1]});
  }
}

TensorId add_reshape(Graph& g, Namer& names, TensorId input, const Dims& dims,
                     const std::string& node_name, TensorId output = kNoTensor) {
  const std::vector<int64_t> shape(dims.begin(), dims.end());
  const TensorId shape_id = passes::new_tensor(g, names, node_name + "_shape", DType::kI64);
  g.tensor(shape_id).shape = Shape::of({int64_t(shape.size())});
  g.tensor(shape_id).data = Buffer::copy_of(shape.data(), shape.size() * sizeof(int64_t));
  if (output == kNoTensor) output = passes::new_tensor(g, names, node_name, g.tensor(input).dtype);
  g.tensor(output).dtype = g.tensor(input).dtype;
  g.tensor(output).shape = Shape::of(dims);
  Node n;
  n.name = names.node(node_name);
  n.op_type = "Reshape";
  n.inputs = {input, shape_id};
  n.outputs = {output};
  g.nodes.push_back(std::move(n));
  return output;
}

// A 1-D node of the NHWC island ([N, C, L]: Conv1d, pools, BatchNorm1d) runs as its 2-D form
// channels-last over [N, 1, L, C]: a Transpose to [N, L, C] (cancelled by the optimizer
// against the transpose a channels-last exporter writes before it) and a free Reshape. The
// weight gets its unit dimension as a new constant sharing the data; a weight that is not
// constant leaves the node as it is (false).
bool run_1d_channels_last(Graph& g, Namer& names, size_t k) {
  const int weight_slot = param_slots(g.nodes[k].op_type).weight;
  TensorId w4 = kNoTensor;
  if (weight_slot >= 0 && g.nodes[k].has_input(size_t(weight_slot))) {
    const TensorInfo& w = g.tensor(g.nodes[k].inputs[size_t(weight_slot)]);
    if (!w.is_constant() || !w.shape.is_concrete() || w.shape.rank() != 3) return false;
    Dims d = w.shape.concrete();
    d.insert(d.begin() + 2, 1);
    w4 = g.add_constant(names.tensor(w.name + "_2d"), w.dtype, d, w.data);
    g.tensor(w4).quant = g.tensor(g.nodes[k].inputs[size_t(weight_slot)]).quant;
  }
  const std::string name = g.nodes[k].name;
  const TensorId x = g.nodes[k].inputs[0];
  const TensorId y = g.nodes[k].outputs[0];
  const Dims xd = g.tensor(x).shape.concrete(), yd = g.tensor(y).shape.concrete();
  const std::vector<int64_t> swap{0, 2, 1};
  const TensorId x_nwc = add_transpose(g, names, x, swap, name + "/to_nwc");
  const TensorId x_nhwc = add_reshape(g, names, x_nwc, {xd[0], 1, xd[2], xd[1]}, name + "/to_nhwc");
  const TensorId y_nhwc = passes::new_tensor(g, names, g.tensor(y).name + "_nhwc", g.tensor(y).dtype);
  g.tensor(y_nhwc).shape = Shape::of({yd[0], 1, yd[2], yd[1]});
  const TensorId y_nwc = add_reshape(g, names, y_nhwc, {yd[0], yd[2], yd[1]}, name + "/to_nwc_out");
  add_transpose(g, names, y_nwc, swap, name + "/to_ncw", y);
  for (TensorId t : {x_nwc, x_nhwc}) copy_layout_free_quant(g, x, t);
  for (TensorId t : {y_nhwc, y_nwc}) copy_layout_free_quant(g, y, t);
  Node& n = g.nodes[k];
  n.inputs[0] = x_nhwc;
  if (w4 != kNoTensor) n.inputs[size_t(weight_slot)] = w4;
  n.outputs[0] = y_nhwc;
  add_unit_spatial_dim(n.attrs);
  n.attrs.set("_layout", std::string("NHWC"));
  return true;
}

}  // namespace

PassReport convert_to_channels_last(Graph& graph) {
  PassReport report{"channels-last", 0, {}};
  const std::vector<int32_t> uses = graph.use_counts();
  const size_t count = graph.nodes.size();
  passes::Namer names(graph);
  for (size_t k = 0; k < count; ++k) {
    {
      Node& n = graph.nodes[k];
      if (!is_layout_op(n.op_type) || n.attrs.has("_layout")) continue;
      if (n.inputs.empty() || n.inputs[0] == kNoTensor || n.outputs.empty() ||
          n.outputs[0] == kNoTensor)
        continue;
      const TensorInfo& x = graph.tensor(n.inputs[0]);
      const TensorInfo& y = graph.tensor(n.outputs[0]);
      const size_t rank = x.shape.is_concrete() ? x.shape.rank() : 0;
      if ((rank != 3 && rank != 4) || !y.shape.is_concrete() || y.shape.rank() != rank ||
          x.is_constant())
        continue;
      bool extra_used = false;  // MaxPool's Indices, training BatchNormalization's stats
      for (size_t o = 1; o < n.outputs.size(); ++o)
        if (n.outputs[o] != kNoTensor && uses[n.outputs[o]] > 0) extra_used = true;
      if (extra_used) {
        report.notes.push_back(n.op_type + " '" + n.name + "' stays NCHW: it has extra outputs");
        continue;
      }
      n.outputs.resize(1);
      if (rank == 3) {
        if (run_1d_channels_last(graph, names, k)) report.changed++;
        continue;
      }
    }
    const std::string name = graph.nodes[k].name;
    const TensorId x = graph.nodes[k].inputs[0];
    const TensorId y = graph.nodes[k].outputs[0];
    const TensorId x_nhwc = add_transpose(graph, names, x, kToNhwc, name + "/to_nhwc");
    const TensorId y_nhwc =
        passes::new_tensor(graph, names, graph.tensor(y).name + "_nhwc", graph.tensor(y).dtype);
    graph.tensor(y_nhwc).shape = Shape::of(permute_dims(graph.tensor(y).shape.concrete(), kToNhwc));
    copy_layout_free_quant(graph, y, y_nhwc);
    copy_layout_free_quant(graph, x, x_nhwc);
    Node& n = graph.nodes[k];
    n.inputs[0] = x_nhwc;
    n.outputs[0] = y_nhwc;
    n.attrs.set("_layout", std::string("NHWC"));
    add_transpose(graph, names, y_nhwc, kToNchw, name + "/to_nchw", y);
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
