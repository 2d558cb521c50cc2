// Graph passes: each is `Graph& -> report`; none reaches into a kernel.
// Passes expect concrete shapes (run after infer_shapes_and_fold) and keep every tensor's
// dtype and shape up to date themselves, so they work on graphs whose ops are not
// registered (tests); the pipeline re-runs shape inference at its end as a check.
#pragma once
#include <string>
#include <vector>

#include "engine/graph.h"

namespace octet {

struct PassReport {
  std::string pass;
  int changed = 0;              // nodes rewritten or removed
  std::vector<std::string> notes;  // what a user may want to know (e.g. a BN left unfolded)
};

// Nodes whose outputs nothing reads (transitively) are removed.
PassReport remove_dead_nodes(Graph& graph);
// Identity, inference Dropout (mask unused) and Cast to the same type are bypassed.
PassReport remove_identities(Graph& graph);

// Inference BatchNormalization after a Conv, ConvTranspose or Gemm with constant
// weights (and no other reader of the intermediate) is folded into new weight and bias
// constants. A BN that cannot be folded stays; the report's notes say why.
PassReport fold_batch_norms(Graph& graph);

// Relu and constant Clip after Conv, ConvTranspose, Gemm or MatMul (single reader) are
// fused: the producer gets `_act_min` / `_act_max` and writes the activation's output.
PassReport fuse_activations(Graph& graph);

// Every 4-D Conv, ConvTranspose, MaxPool, AveragePool, Global*Pool and BatchNormalization
// gets `_layout` = "NHWC" between Transpose([0,2,3,1]) and Transpose([0,3,1,2]).
PassReport convert_to_channels_last(Graph& graph);
// Pushes transposes through pointwise ops and Concat, merges consecutive transposes and
// cancels inverse pairs; removes the identities and dead nodes this leaves.
PassReport optimize_transposes(Graph& graph);

struct PassOptions {
  bool fold_batch_norms = true;
  bool fuse_activations = true;
  bool channels_last = true;  // only done when the Transpose op is registered
};

// `qdq` mode: an octet.QuantizeDequantize node after every tensor with QuantParams (the
// tensor's readers read the fake-quantized value; a graph output keeps its name). Clears the
// QuantParams it consumed.
PassReport insert_fake_quantization(Graph& graph);

// The pipeline a Session runs after shape inference and constant folding.
std::vector<PassReport> run_optimization_passes(Graph& graph, const PassOptions& options = {});

}  // namespace octet
