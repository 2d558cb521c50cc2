// Lowering of a calibrated graph (tensors carrying QuantParams, as QuantSim annotates them) to
// the integer graph that the `int` and `exact` modes run, for one target profile.
//
// The integer graph (its arithmetic is the target profile's, engine/target_profile.h):
// - activations are u8 or i8 codes (the profile's type) with a per-tensor encoding in
//   TensorInfo::quant, real = scale * (code - zero_point);
// - weights are symmetric i8 (or i4, two a byte) constants, zero point 0, per-tensor or per
//   output channel (axis 0; Gemm/MatMul weights are stored transposed, [N][K]), within the
//   profile's weight range; bias is an i32 constant with scale x_scale * w_scale[c];
// - octet.QConv / QGemm / QMatMul (and, where registered, QAdd, QMul, QAveragePool,
//   QGlobalAveragePool, QLookup for pointwise functions, QSoftmax, QResize, Requantize) carry the
//   attribute `requant` (the profile's requantization scheme) and the fused activation's
//   `_act_min` / `_act_max`;
// - data-movement ops (Reshape, Transpose, MaxPool, Concat, Pad, ...) run unchanged on codes;
// - an op with no integer form runs in float between DequantizeLinear and QuantizeLinear (its
//   quantized constants fake-quantized), and the report names it;
// - graph inputs and outputs stay float: QuantizeLinear after a quantized input,
//   DequantizeLinear before a quantized output.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.h"
#include "engine/target_profile.h"

namespace octet {

struct LoweringReport {
  int integer_nodes = 0;                 // nodes running on codes
  std::vector<std::string> float_nodes;  // "name (op): reason" for each float fallback
  std::vector<std::string> notes;
};

// `graph` needs concrete shapes (run after infer_shapes_and_fold and the optimization passes,
// so that convolutions are channels-last and activations fused). Replaces it by the integer
// graph.
LoweringReport lower_to_integer(Graph& graph, const TargetProfile& profile);

// True when the lowering has an integer form for nodes of `op_type` (given quantized tensors).
bool has_integer_rule(std::string_view op_type);

// True when the graph already is an integer graph (has octet.Q* / Requantize nodes).
bool is_integer_graph(const Graph& graph);

}  // namespace octet
