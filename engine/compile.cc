#include "engine/compile.h"

#include <algorithm>

#include "base/error.h"
#include "engine/memory_limit.h"
#include "engine/passes/passes.h"
#include "engine/passes/qdq_annotate.h"
#include "engine/prepare_graph.h"
#include "engine/target_profile.h"

namespace octet {
namespace {

void bind_constant_inputs(Graph& g, const std::vector<HostTensor>& constants) {
  for (const HostTensor& c : constants) {
    auto id = g.find_tensor(c.name);
    OCTET_CHECK(id && g.is_graph_input(*id), "constant input '", c.name,
                "' is not an input of the model");
    TensorInfo& t = g.tensor(*id);
    OCTET_CHECK(!t.shape.has_rank || t.shape.rank() == c.dims.size(), "constant input '", c.name,
                "' has rank ", c.dims.size(), ", the model says ", t.shape.to_string());
    t.shape = Shape::of(c.dims);
    OCTET_CHECK(t.dtype == c.dtype, "constant input '", c.name, "' must be ",
                dtype_name(t.dtype), ", got ", dtype_name(c.dtype));
    OCTET_CHECK(c.bytes.size() == dtype_storage_bytes(c.dtype, c.numel()), "constant input '",
                c.name, "' has ", c.bytes.size(), " bytes for shape ", dims_to_string(c.dims));
    t.data = Buffer::copy_of(c.bytes.data(), c.bytes.size());
    std::erase(g.inputs, g.require_tensor(c.name));
  }
}

}  // namespace

size_t memory_limit_of(const CompileOptions& options) {
  return options.max_memory_bytes ? options.max_memory_bytes : default_memory_limit();
}

CompiledGraph compile(const Graph& model, const CompileOptions& options) {
  CompiledGraph out;
  Graph& g = out.graph;
  g = model;
  const bool integer_mode =
      options.mode == ExecutionMode::kInt || options.mode == ExecutionMode::kExact;
  const bool integer_model = is_integer_graph(g);
  OCTET_CHECK(integer_mode || !integer_model, "the model is an integer model (lowered for a ",
              "target); run it in mode int or exact, not ", execution_mode_name(options.mode));
  if (integer_mode && !integer_model && is_qdq_model(g)) annotate_qdq_encodings(g);
  switch (options.mode) {
    case ExecutionMode::kFloat:
      for (TensorInfo& t : g.tensors) t.quant = QuantParams{};
      break;
    case ExecutionMode::kQdq:
      insert_fake_quantization(g);
      break;
    case ExecutionMode::kExact:
    case ExecutionMode::kInt:
      break;
  }
  bind_input_shapes(g, ShapeBinding{options.input_shapes});
  bind_constant_inputs(g, options.constant_inputs);

  const size_t memory_limit = memory_limit_of(options);
  infer_shapes_and_fold(g, memory_limit);
  if (options.optimize && !integer_model) run_optimization_passes(g);
  if (integer_mode && !integer_model) {
    const bool calibrated = std::any_of(g.tensors.begin(), g.tensors.end(),
                                        [](const TensorInfo& t) { return !t.quant.empty(); });
    OCTET_CHECK(calibrated, "mode ", execution_mode_name(options.mode), " needs a quantized ",
                "model (tensors with encodings, e.g. from `octet quantize`); this one has none");
    out.lowering = lower_to_integer(g, load_target_profile(options.target));
    infer_shapes_and_fold(g, memory_limit);
  }
  return out;
}

}  // namespace octet
