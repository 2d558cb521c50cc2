// octet.QSoftmax: softmax of 8-bit codes along the middle axis of an (outer, n, inner) view.
// Per row (the same scalar float32 code in the reference and the optimized kernels, so the
// bits are identical; the library builds with -ffp-contract=off):
//   v[i] = float(x[i] - zx) * sx;  m = max_i v[i]
//   e[i] = expf(v[i] - m);  sum = e[0] + e[1] + ... + e[n-1]   (in index order, from 0.f)
//   y[i] = clamp(roundeven((e[i] / sum) / sy) + zy, qmin, qmax)   (simd::quantize_code_f32)
// The optimized kernel runs rows in parallel and, for large inputs, reads e[i] from a table of
// the 256 x 256 values expf(v(q) - v(qmax_of_row)) computed with that same expression.
//
// arith kMlas: ONNX Runtime's QLinearSoftmax (what it fuses DQ -> Softmax -> Q into), which
// ignores zx and uses sy only as Ys = floorf(1.f / sy):
//   b = max(0, logf(FLT_MAX / float(n)) - 5) / sx                           (double)
//   T[j] = float(exp((double(j) - 255 + b) * double(sx))),  j = 0..255      (qsoftmax_mlas_table)
//   per row: m = max code; e[i] = T[255 - (m - x[i])]; sum = e[0] + ... (float, index order)
//   y[i] = uint32(nearbyintf((e[i] * Ys) / sum)) + zy, at most the type's largest code (s8: and
//   at least its smallest); a quotient out of range (inf: n == 1 overflows T[255] * Ys) gives 0
//   there, as ORT's x86-64 conversion does.
#pragma once
#include <cstdint>
#include <vector>

#include "base/dtype.h"
#include "kernels/requant.h"

namespace octet::kernels {

struct QSoftmaxParams {
  int64_t outer = 1, n = 1, inner = 1;
  DType x_type = DType::kU8, y_type = DType::kU8;
  float sx = 1.f, sy = 1.f;
  int32_t zx = 0, zy = 0, qmin = 0, qmax = 255;
  OpArithmetic arith = OpArithmetic::kRequantization;
};

void qsoftmax_reference(const QSoftmaxParams& p, const void* x, void* y);
// The exp table of the optimized kernel: 65536 floats, [(m - code_min) * 256 + (q - code_min)].
std::vector<float> qsoftmax_exp_table(const QSoftmaxParams& p);
// kMlas: the 256 values T[j] above.
std::vector<float> qsoftmax_mlas_table(const QSoftmaxParams& p);
// table: from qsoftmax_exp_table(p), or empty to call expf; kMlas: qsoftmax_mlas_table(p).
void qsoftmax(const QSoftmaxParams& p, const std::vector<float>& table, const void* x, void* y,
              int threads);

}  // namespace octet::kernels
