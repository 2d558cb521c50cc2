// 2-D transposed convolution (1-D runs as H = 1): reference over either layout, and an
// optimized NHWC version (GEMM into columns, then a conflict-free gather per output row).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/gemm.h"

namespace octet::kernels {

struct ConvTransposeParams {
  int64_t N = 1, C = 1, H = 1, W = 1;  // input
  int64_t M = 1, OH = 1, OW = 1;       // output channels and size
  int64_t KH = 1, KW = 1;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0;  // leading pads
  int64_t group = 1;
  float lo = -__builtin_inff(), hi = __builtin_inff();
};

// Weights [C][M/group][KH][KW] (ONNX), bias M floats or null.
void conv_transpose2d_reference(const ConvTransposeParams& p, const float* x, const float* w,
                                const float* bias, float* y, bool nhwc);

class ConvTranspose2dNhwc {
 public:
  ConvTranspose2dNhwc(const ConvTransposeParams& p, const float* w, const float* bias,
                      int threads);
  void run_nhwc(const float* x, float* y);
  void run_nchw(const float* x, float* y);
  std::string_view impl_name() const { return "conv_transpose_nhwc_f32_gemm_col2im"; }

 private:
  ConvTransposeParams p_;
  int threads_;
  int64_t Cg_, Mg_;
  std::vector<PackedB> packed_;  // per group: Cg x (KH*KW*Mg)
  std::vector<float> bias_;
  std::vector<float> cols_, xt_, yt_;
};

}  // namespace octet::kernels
