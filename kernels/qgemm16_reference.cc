// Plain loops of the W8A16 GEMM and convolution: the definition of their results
// (kernels/qgemm16.h). Sums are exact in int64.
#include "base/error.h"
#include "kernels/qgemm16.h"

namespace octet::kernels {

bool is_wide_input_type(DType t) {
  return t == DType::kU8 || t == DType::kI8 || t == DType::kU16 || t == DType::kI16;
}
bool is_wide_output_type(DType t) { return is_wide_input_type(t); }

static int32_t code_at(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::kU8: return static_cast<const uint8_t*>(p)[i];
    case DType::kI8: return static_cast<const int8_t*>(p)[i];
    case DType::kU16: return static_cast<const uint16_t*>(p)[i];
    default: return static_cast<const int16_t*>(p)[i];
  }
}

static void check_epilogue(const QGemm16Epilogue& ep) {
  OCTET_CHECK(ep.requant ? is_wide_output_type(ep.out_type) : ep.out_type == DType::kI64,
              "qgemm16: output type ", dtype_name(ep.out_type), " does not match the epilogue");
}

void qgemm16_reference(int64_t M, int64_t N, int64_t K, const QGemm16A& a, const int8_t* b_nk,
                       const QGemm16Epilogue& ep, void* c, int64_t ldc) {
  OCTET_CHECK(is_wide_input_type(a.type), "qgemm16: input type ", dtype_name(a.type));
  check_epilogue(ep);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += int64_t(code_at(a.data, a.type, m * a.lda + k) - a.zero_point) * b_nk[n * K + k];
      if (ep.bias) acc += ep.bias[n];
      if (!ep.requant) {
        static_cast<int64_t*>(c)[m * ldc + n] = acc;
        continue;
      }
      const Requantizer& rq = *ep.requant;
      store_code_any(c, ep.out_type, m * ldc + n,
                     requantize_one64(rq.scheme, acc, rq.channel(n), rq.zero_point, rq.qmin, rq.qmax));
    }
}

void qconv16_reference(const ConvParams& p, const QConv16Quant& q, const void* x, const int8_t* w,
                       const int64_t* bias, void* y) {
  OCTET_CHECK(is_wide_input_type(q.x_type) && is_wide_output_type(q.out_type),
              "qconv16: code types ", dtype_name(q.x_type), " -> ", dtype_name(q.out_type));
  const int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oh = 0; oh < p.OH; ++oh)
      for (int64_t ow = 0; ow < p.OW; ++ow)
        for (int64_t m = 0; m < p.M; ++m) {
          const int64_t g = m / Mg;
          int64_t acc = 0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh) {
              const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t iw = ow * p.sw - p.pl + kw * p.dw;
                const bool inside = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W;
                const int32_t xv = inside ? code_at(x, q.x_type, ((n * p.H + ih) * p.W + iw) * p.C + g * Cg + c)
                                          : q.x_zero_point;
                acc += int64_t(xv - q.x_zero_point) * w[((m * Cg + c) * p.KH + kh) * p.KW + kw];
              }
            }
          if (bias) acc += bias[m];
          const Requantizer& rq = q.requant;
          store_code_any(y, q.out_type, ((n * p.OH + oh) * p.OW + ow) * p.M + m,
                         requantize_one64(rq.scheme, acc, rq.channel(m), rq.zero_point, rq.qmin, rq.qmax));
        }
}

}  // namespace octet::kernels
