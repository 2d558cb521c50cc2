// Integer 2-D convolution, NHWC codes in and out (1-D runs as H = 1): u8 or s8 activations with
// a zero point, symmetric s8 weights (ONNX layout [M][C/group][KH][KW]; int4 weights either
// unpacked to s8 or packed, see Int4Weights), int32 bias, requantization per output channel. Padding reads the input zero
// point (the code of real 0). A plain reference beside the optimized kernel (pointwise GEMM,
// implicit or explicit im2col + GEMM tiles, direct depthwise), which gives the same bits on
// every path.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include "kernels/conv.h"
#include "kernels/qgemm.h"
#include "kernels/requant.h"

namespace octet::kernels {

struct QConvQuant {
  bool x_signed = false;       // s8 input codes, else u8
  int32_t x_zero_point = 0;
  Requantizer requant;         // output scale, zero point, clamp; per output channel multipliers
  DType out_type = DType::kU8;  // kU8 or kI8
};

// p.lo / p.hi are ignored (the clamp is requant.qmin/qmax). bias: M values or null.
void qconv2d_reference(const ConvParams& p, const QConvQuant& q, const void* x, const int8_t* w,
                       const int32_t* bias, void* y);

// Int4 weights: ONNX layout [M][C/group][KH][KW] flattened, signed nibbles in [-8, 7], two per
// byte, low nibble first (element i in byte i / 2).
struct Int4Weights {
  const uint8_t* nibbles = nullptr;
};

class QConv2dNhwc {
 public:
  QConv2dNhwc(const ConvParams& p, const QConvQuant& q, const int8_t* w, const int32_t* bias,
              int threads, QIsa isa);
  // W4A8: the GEMM paths keep the weights as nibbles (QGemmPackedB::from_int4); depthwise
  // unpacks them to int8. Same results as the int8 constructor with the unpacked values.
  QConv2dNhwc(const ConvParams& p, const QConvQuant& q, Int4Weights w, const int32_t* bias,
              int threads, QIsa isa);
  ~QConv2dNhwc();
  void run(const void* x, void* y);
  std::string_view impl_name() const;

 private:
  void init(const ConvParams& p, const QConvQuant& q, const int8_t* w, const int32_t* bias,
            int threads, QIsa isa);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace octet::kernels
