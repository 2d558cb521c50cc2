// 2-D convolution (1-D runs as H = 1): plain reference over either layout, and an optimized
// NHWC implementation (pointwise GEMM, implicit-GEMM tiles, direct depthwise) that also serves
// NCHW tensors by transposing through scratch buffers.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "kernels/gemm.h"

namespace octet::kernels {

struct ConvParams {
  int64_t N = 1, C = 1, H = 1, W = 1;  // input
  int64_t M = 1, OH = 1, OW = 1;       // output channels and size
  int64_t KH = 1, KW = 1;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0;  // leading pads; trailing pads are implied by OH, OW
  int64_t group = 1;
  float lo = -__builtin_inff(), hi = __builtin_inff();  // output clamp
};

// Reference: weights [M][C/group][KH][KW], bias M floats or null. `nhwc` selects the layout
// of x and y.
void conv2d_reference(const ConvParams& p, const float* x, const float* w, const float* bias,
                      float* y, bool nhwc);

class Conv2dNhwc {
 public:
  // Packs the weights (ONNX layout) and bias once.
  Conv2dNhwc(const ConvParams& p, const float* w, const float* bias, int threads);
  void run_nhwc(const float* x, float* y);
  void run_nchw(const float* x, float* y);  // via transposes into scratch buffers
  std::string_view impl_name() const;

 private:
  enum class Kind { kPointwise, kDepthwise, kTiled };
  ConvParams p_;
  int threads_;
  Kind kind_;
  int64_t Cg_, Mg_, K_;
  std::vector<PackedB> packed_;              // per group
  std::vector<std::vector<float>> bias_;     // per group, padded
  std::vector<float> dw_weights_, dw_bias_;  // depthwise: [KH][KW][C]
  int64_t tile_rows_ = 0;
  std::vector<float> col_;                   // im2col tiles, one per thread
  std::vector<float> xt_, yt_;               // NCHW <-> NHWC scratch
};

// Layout transposes, parallel over the outer dimension.
void nchw_to_nhwc(const float* x, float* y, int64_t N, int64_t C, int64_t S, int threads);
void nhwc_to_nchw(const float* x, float* y, int64_t N, int64_t C, int64_t S, int threads);

}  // namespace octet::kernels
