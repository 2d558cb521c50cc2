#include "engine/prepare_graph.h"

#include <set>

#include "engine/memory_limit.h"
#include "engine/op.h"

namespace octet {

void bind_input_shapes(Graph& graph, const ShapeBinding& binding) {
  for (const auto& [name, dims] : binding.shapes) {
    auto id = graph.find_tensor(name);
    OCTET_CHECK(id && graph.is_graph_input(*id), "--shape names '", name,
                "', which is not an input of the model");
    TensorInfo& t = graph.tensor(*id);
    if (t.shape.has_rank && t.shape.rank() != dims.size())
      fail("input '", name, "' has rank ", t.shape.rank(), " (", t.shape.to_string(),
           ") but the given shape ", dims_to_string(dims), " has rank ", dims.size());
    for (size_t i = 0; i < dims.size(); ++i) {
      OCTET_CHECK(dims[i] > 0, "input '", name, "': dimension ", i, " must be positive, got ",
                  dims[i]);
      if (t.shape.has_rank && t.shape.dims[i].is_known() && t.shape.dims[i].value != dims[i])
        fail("input '", name, "': dimension ", i, " is fixed to ", t.shape.dims[i].value,
             " by the model, cannot set it to ", dims[i]);
    }
    try {
      t.shape = Shape::of(dims);
    } catch (const Error& e) {
      fail("input '", name, "': ", e.what());
    }
  }
}

void check_ops_supported(const Graph& graph, const std::string& source) {
  const OpRegistry& registry = OpRegistry::instance();
  std::map<std::string, std::vector<std::string>> missing;
  for (const Node& n : graph.nodes)
    if (!registry.find(n.op_type)) missing[n.op_type].push_back(n.name);
  if (missing.empty()) return;
  std::string message = source + ": unsupported ops:";
  for (const auto& [op, names] : missing) {
    message += "\n  " + op + " (" + std::to_string(names.size()) + " node" +
               (names.size() > 1 ? "s" : "") + "):";
    for (size_t i = 0; i < names.size() && i < 8; ++i) message += " '" + names[i] + "'";
    if (names.size() > 8) message += " ...";
  }
  throw Error(message);
}

namespace {

void check_arity(const OpSchema& s, const Node& n) {
  int ins = static_cast<int>(n.inputs.size());
  int outs = static_cast<int>(n.outputs.size());
  // Trailing omitted inputs do not count.
  while (ins > 0 && n.inputs[ins - 1] == kNoTensor) --ins;
  OCTET_CHECK(ins >= s.min_inputs && ins <= s.max_inputs, n.op_type, " node '", n.name, "' has ",
              ins, " inputs, expected ", s.min_inputs, "..", s.max_inputs);
  OCTET_CHECK(outs >= s.min_outputs && outs <= s.max_outputs, n.op_type, " node '", n.name,
              "' has ", outs, " outputs, expected ", s.min_outputs, "..", s.max_outputs);
  for (int i = 0; i < s.min_inputs; ++i)
    OCTET_CHECK(n.inputs[i] != kNoTensor, n.op_type, " node '", n.name, "': input ", i,
                " is required");
}

// Runs a node whose inputs are all constant and stores its outputs as constants.
void fold_node(Graph& graph, const Node& node, const OpSchema& schema, size_t memory_limit) {
  size_t bytes = 0;
  for (TensorId id : node.outputs)
    if (id != kNoTensor) {
      const TensorInfo& t = graph.tensor(id);
      bytes += dtype_storage_bytes(t.dtype, checked_numel(t.shape.concrete()));
    }
  OCTET_CHECK(bytes <= memory_limit, node.op_type, " node '", node.name, "': its constant output",
              node.outputs.size() > 1 ? "s" : "", " would take ", format_byte_size(bytes),
              ", more than the memory limit of ", format_byte_size(memory_limit),
              " (SessionOptions::max_memory_bytes, --max-memory)");
  PrepareContext pc{graph, node, 1, true};
  std::unique_ptr<Kernel> kernel = schema.prepare(pc);
  std::vector<TensorRef> ins, outs;
  for (TensorId id : node.inputs) {
    TensorRef r;
    if (id != kNoTensor) {
      const TensorInfo& t = graph.tensor(id);
      r.dtype = t.dtype;
      r.dims = t.shape.concrete();
      r.data = t.data ? const_cast<std::byte*>(t.data->data()) : nullptr;
    }
    ins.push_back(std::move(r));
  }
  std::vector<std::vector<std::byte>> storage;
  for (TensorId id : node.outputs) {
    TensorRef r;
    if (id != kNoTensor) {
      const TensorInfo& t = graph.tensor(id);
      r.dtype = t.dtype;
      r.dims = t.shape.concrete();
      storage.emplace_back(dtype_storage_bytes(t.dtype, checked_numel(r.dims)) + 1);
      r.data = storage.back().data();
    } else {
      storage.emplace_back();
    }
    outs.push_back(std::move(r));
  }
  kernel->run(ins, outs);
  for (size_t i = 0; i < node.outputs.size(); ++i)
    if (node.outputs[i] != kNoTensor) {
      storage[i].pop_back();
      graph.tensor(node.outputs[i]).data = Buffer::from_vector(std::move(storage[i]));
    }
}

}  // namespace

InferReport infer_shapes_and_fold(Graph& graph, size_t memory_limit) {
  if (memory_limit == 0) memory_limit = default_memory_limit();
  graph.topo_sort();
  const OpRegistry& registry = OpRegistry::instance();
  for (TensorId id : graph.inputs) {
    const TensorInfo& t = graph.tensor(id);
    if (!t.is_constant() && !t.shape.is_concrete())
      fail("input '", t.name, "' has unknown dimensions ", t.shape.to_string(),
           ": fix them with --shape ", t.name, "=d0,d1,... (or SessionOptions::input_shapes)");
  }
  InferReport report;
  std::vector<Node> kept;
  for (Node& node : graph.nodes) {
    const OpSchema* schema = registry.find(node.op_type);
    OCTET_CHECK(schema, "op '", node.op_type, "' of node '", node.name, "' is not supported");
    check_arity(*schema, node);
    std::vector<TensorInfo*> outs;
    for (TensorId id : node.outputs) outs.push_back(id == kNoTensor ? nullptr : &graph.tensor(id));
    InferContext ctx(graph, node, outs);
    schema->infer(ctx);
    for (TensorInfo* t : outs)
      if (t && !t->shape.is_concrete())
        node_fail(node, "shape of output '", t->name, "' was not inferred");
    bool all_constant = true;  // or the outputs need only the (known) input shapes
    for (TensorId id : node.inputs)
      if (id != kNoTensor && !graph.tensor(id).is_constant() && !schema->depends_on_shapes_only)
        all_constant = false;
    bool outputs_are_graph_outputs = false;
    for (TensorId id : node.outputs)
      if (id != kNoTensor && graph.is_graph_output(id)) outputs_are_graph_outputs = true;
    if (all_constant && !outputs_are_graph_outputs) {
      fold_node(graph, node, *schema, memory_limit);
      report.folded_nodes++;
    } else {
      kept.push_back(std::move(node));
    }
  }
  graph.nodes = std::move(kept);
  graph.compact();
  return report;
}

void fill_intermediate_shapes(Graph& g) {
  Graph scratch = g;
  ShapeBinding binding;
  for (TensorId id : scratch.inputs) {
    Dims dims;
    for (const Dim& d : scratch.tensor(id).shape.dims) dims.push_back(d.is_known() ? d.value : 1);
    binding.shapes[scratch.tensor(id).name] = dims;
  }
  bind_input_shapes(scratch, binding);
  infer_shapes_and_fold(scratch);
  for (TensorInfo& t : g.tensors) {
    if (t.shape.is_concrete() || t.is_constant()) continue;
    auto id = g.find_tensor(t.name);
    if (id && (g.is_graph_input(*id) || g.is_graph_output(*id))) continue;
    if (auto s = scratch.find_tensor(t.name)) {
      t.shape = scratch.tensor(*s).shape;
      if (t.dtype == DType::kUndefined) t.dtype = scratch.tensor(*s).dtype;
    }
  }
}

}  // namespace octet
