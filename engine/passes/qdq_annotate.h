// ONNX QDQ models (QuantizeLinear / DequantizeLinear pairs around float ops, as ONNX Runtime's
// quantizer, AIMET's QDQ export or octet's --export-qdq write them) turned into the form
// octet's integer lowering reads: a float graph whose tensors carry their encodings.
//
// - x -> QuantizeLinear(s, zp) -> DequantizeLinear(s, zp) -> readers: the readers read x, and x
//   gets the encoding (per tensor, 8 or 16 bits);
// - DequantizeLinear(constant codes, s, zp[, axis]) -> readers: a float constant holding the
//   dequantized values, with the encoding (per tensor or per axis; i8/u8/i4/u4 weights);
//   an int32 constant (a bias) becomes its float value without an encoding (the lowering
//   quantizes biases with x_scale * w_scale itself);
// - anything else (a DequantizeLinear of a graph input, a QuantizeLinear feeding a graph
//   output, blocked or runtime scales) stays as it is and the report says so.
// Zero points are stored in QuantParams' unsigned domain (AIMET's -offset): an int8 zero point
// z becomes z + 128. Runs before constant folding.
#pragma once
#include "engine/graph.h"
#include "engine/passes/passes.h"

namespace octet {

// True when the graph has QuantizeLinear / DequantizeLinear nodes and no tensor carries an
// encoding yet.
bool is_qdq_model(const Graph& graph);

PassReport annotate_qdq_encodings(Graph& graph);

}  // namespace octet
