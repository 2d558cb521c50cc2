// ReLU6 -> ReLU replacement (as AIMET does it): done before cross-layer scaling, because a
// clipping activation is not positively scale-equivariant. It may change float outputs
// (values above 6 are no longer clipped): the report names every layer changed.
#pragma once
#include <string>
#include <vector>

#include "engine/graph.h"

namespace octet::quant {

struct Relu6Report {
  std::vector<std::string> changed;  // names of the Clip nodes (or fused layers) changed
  std::vector<std::string> notes;
};

// Clip(0, 6) (attributes min/max before opset 11, constant inputs from 11) becomes Relu; a
// Conv/ConvTranspose/Gemm/MatMul with a fused `_act_min` = 0, `_act_max` = 6 gets plain ReLU
// (`_act_max` removed). Other Clips are left alone.
Relu6Report replace_relu6_with_relu(Graph& graph);

}  // namespace octet::quant
