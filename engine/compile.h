// Compilation: a loaded model plus options (mode, target, input shapes) -> the prepared graph a
// Session runs, with concrete shapes, constants folded, the optimization passes applied and, in
// `int` / `exact` mode on a calibrated float model, lowered to integer ops for the target.
// Session calls it and then only picks kernels and plans memory; `octet quantize` calls it to
// write an integer model without building a runtime session.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/execution_mode.h"
#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "engine/passes/lower_integer.h"

namespace octet {

struct CompileOptions {
  ExecutionMode mode = ExecutionMode::kFloat;
  std::map<std::string, Dims> input_shapes;  // fixes symbolic input dimensions
  // Inputs whose values are known in advance; they become constants at prepare
  // (needed when an input decides shapes, e.g. the target of a Reshape).
  std::vector<HostTensor> constant_inputs;
  bool optimize = true;  // run the graph passes
  // `int` / `exact` on a calibrated float model: the target profile of the integer lowering
  // (a shipped profile's name or a .json path; see engine/target_profile.h). An integer
  // model (already lowered) keeps the arithmetic it was lowered for.
  std::string target = "onnxruntime";
  // The most bytes the session's tensors (the activation arena, and constants folded at
  // prepare) may take; a larger plan fails at prepare, naming its size, before allocating.
  // 0: default_memory_limit() (physical memory, or the CLI's --max-memory).
  size_t max_memory_bytes = 0;
  // The most operations one run may take (engine/operation_count.h's estimate); a larger
  // graph fails at prepare, naming its count. 0: default_operation_limit() (none, or the CLI's
  // --max-ops).
  double max_operations = 0;
};

struct CompiledGraph {
  Graph graph;
  std::optional<LoweringReport> lowering;  // set when this compilation lowered to integers
};

// Throws octet::Error naming the problem (an integer model in float mode, unknown input
// names, int/exact on a model without encodings, a folded constant over the memory limit...).
CompiledGraph compile(const Graph& model, const CompileOptions& options);

// `options.max_memory_bytes`, or the default limit when it is 0.
size_t memory_limit_of(const CompileOptions& options);

}  // namespace octet
