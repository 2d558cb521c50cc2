// Pooling geometry of MaxPool / AveragePool nodes (engine/ops/pool_ops.cc), shared with
// octet.QAveragePool (engine/ops/int_pool.cc).
#pragma once
#include "engine/graph.h"
#include "kernels/pool.h"

namespace octet {

// `_layout` is "NHWC" (throws on a value other than NCHW / NHWC).
bool pool_is_nhwc(const Node& n);
// Resolves kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, count_include_pad for
// input dims `x` (ONNX order, or NHWC); throws naming the node. kind: kMax for MaxPool only.
kernels::PoolParams pool_geometry(const Node& n, const Dims& x, int64_t opset);

}  // namespace octet
