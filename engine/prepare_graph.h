// Turns a loaded graph into one ready to run: concrete input shapes, inferred shapes,
// constants folded, optimization passes applied.
#pragma once
#include <map>
#include <string>

#include "engine/graph.h"

namespace octet {

// Fixes symbolic input dimensions. `shapes` maps input name -> full concrete dims;
// an entry naming no input is an error. Inputs given in `constants` become constants
// (used for shape-deciding inputs such as a Reshape target fed as an input).
struct ShapeBinding {
  std::map<std::string, Dims> shapes;
};
void bind_input_shapes(Graph& graph, const ShapeBinding& binding);

// Every node's op type must be registered; one error lists all unsupported ones.
void check_ops_supported(const Graph& graph, const std::string& source);

// Infers every tensor's dtype and concrete shape in topological order. A node whose
// inputs are all constant is executed right away with its reference kernel and
// replaced by its constant outputs (constant folding). Folding a node whose outputs would
// take more than `memory_limit` bytes (0: default_memory_limit()) is an error, before any
// allocation.
struct InferReport {
  int folded_nodes = 0;
};
InferReport infer_shapes_and_fold(Graph& graph, size_t memory_limit = 0);

// Fills in the shapes (and dtypes) of intermediate tensors from a scratch copy whose unknown
// input dimensions are set to 1 (passes that need channel counts on a model with a symbolic
// batch). Inputs, outputs and constants keep theirs.
void fill_intermediate_shapes(Graph& graph);

}  // namespace octet
