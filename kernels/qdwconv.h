// Integer depthwise NHWC convolution (group == C == M > 1), the depthwise path of QConv2dNhwc:
// direct kernels, no GEMM. AVX-512 VNNI: several pixels of a row per step, each tap's weights
// loaded once, pixels paired when C divides 64; AVX2: tap pairs, or for few channels at unit
// stride a row kernel sharing the widened input; scalar otherwise. Output rows are split
// across threads. Every path gives the bits of qconv2d_reference.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kernels/qconv.h"

namespace octet::kernels {

inline bool is_depthwise(const ConvParams& p) {
  return p.group == p.C && p.M == p.C && p.group > 1;
}

class QDwConv2dNhwc {
 public:
  // p: depthwise (is_depthwise), checked like QConv2dNhwc's; w: [C][KH][KW]; bias: C or null.
  QDwConv2dNhwc(const ConvParams& p, const QConvQuant& q, const int8_t* w, const int32_t* bias,
                int threads, QIsa isa);
  ~QDwConv2dNhwc();
  void run(const uint8_t* x, uint8_t* y);
  std::string_view impl_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace octet::kernels
