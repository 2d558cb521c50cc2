#include "base/error.h"
#include "kernels/qgemm.h"

namespace octet::kernels {

static int32_t load_code(const QGemmA& a, int64_t m, int64_t k) {
  const auto* row = static_cast<const uint8_t*>(a.data) + m * a.lda;
  return a.is_signed ? int32_t(int8_t(row[k])) : int32_t(row[k]);
}

void qgemm_reference(int64_t M, int64_t N, int64_t K, const QGemmA& a, const int8_t* b_nk,
                     const QGemmEpilogue& ep, void* c, int64_t ldc) {
  OCTET_CHECK(ep.requant ? (ep.out_type == DType::kU8 || ep.out_type == DType::kI8)
                         : ep.out_type == DType::kI32,
              "qgemm: output type ", dtype_name(ep.out_type), " does not match the epilogue");
  const size_t out_size = dtype_size(ep.out_type);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      int32_t acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc = wrapping_add(acc, (load_code(a, m, k) - a.zero_point) * int32_t(b_nk[n * K + k]));
      if (ep.bias) acc = wrapping_add(acc, ep.bias[n]);
      auto* out = static_cast<uint8_t*>(c) + (m * ldc + n) * out_size;
      if (!ep.requant) {
        *reinterpret_cast<int32_t*>(out) = acc;
        continue;
      }
      requantize_row_reference(&acc, nullptr, 1, n, *ep.requant, out, ep.out_type);
    }
  }
}

}  // namespace octet::kernels
