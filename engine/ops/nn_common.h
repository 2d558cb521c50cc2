// Helpers shared by the nn op bindings (Conv, ConvTranspose, Gemm, MatMul, BatchNormalization).
#pragma once
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "kernels/conv.h"

namespace octet::nn {

// Clamp attributes set by activation fusion.
inline void act_range(const Node& node, float& lo, float& hi) {
  lo = node.attrs.get_float("_act_min", -INFINITY);
  hi = node.attrs.get_float("_act_max", INFINITY);
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    node_fail(node, "bad _act_min/_act_max range [", lo, ", ", hi, "]");
}

inline bool is_nhwc(const Node& node) {
  std::string l = node.attrs.get_string("_layout", "NCHW");
  if (l != "NHWC" && l != "NCHW") node_fail(node, "unknown _layout '", l, "'");
  return l == "NHWC";
}

// Copies a constant f32 tensor's values (checking the byte size).
inline std::vector<float> const_floats(const Node& node, const TensorInfo& t) {
  int64_t n = checked_numel(t.shape.concrete());
  if (t.dtype != DType::kF32) node_fail(node, "'", t.name, "' must be float32");
  if (t.data->size() < static_cast<size_t>(n) * sizeof(float))
    node_fail(node, "constant '", t.name, "' is truncated");
  std::vector<float> v(static_cast<size_t>(n));
  if (n) std::memcpy(v.data(), t.data->data(), v.size() * sizeof(float));
  return v;
}

// Geometry of a Conv or ConvTranspose node (attributes checked against the input and weight
// dims; `_layout` and `_act_min/_act_max` applied). Shared with the integer QConv.
struct ConvGeom {
  bool nhwc = false;
  int spatial = 2;
  kernels::ConvParams p;
  Dims out;
};
ConvGeom conv_geom(const Node& node, const Dims& x, const Dims& w, bool transpose);

inline void require_f32(const Node& node, DType dt, const char* what) {
  if (dt != DType::kF32) node_fail(node, what, " must be float32, not ", dtype_name(dt));
}

}  // namespace octet::nn
