// Fused elementwise passes of the AdaRound optimiser (quant/ptq/adaround.cc), Highway dispatch.
//
// All K x N arrays are in the packed-B panel layout of simd/gemm_f32.h: element (k, n) at
// (n / kGemmNR) * K * kGemmNR + k * kGemmNR + n % kGemmNR, N padded to whole panels; per-column
// arrays (scale, lo, hi) hold one value per padded column. A "panel row" r is the kGemmNR
// values of panel r / K at k = r % K.
//
// Per element, with s = sigmoid(V) (kept in S), h = clamp(s (zeta - gamma) + gamma, 0, 1):
//   update (grad != null): gradient of  loss(W~ = scale * clamp(fl + h, lo, hi))  +
//     reg * (1 - |2h - 1|^beta)  w.r.t. V (grad = dL/dW~, s read from S), then one Adam step
//     on V;
//   soft weights (w_out != null): S = sigmoid(V) of the (updated) V and
//     w_out = scale * clamp(fl + h, lo, hi).
// Divisions, square roots, exp and log use polynomial / Newton-refined approximations (relative
// error ~1e-7, like the float library functions); results do not depend on how rows are split.
#pragma once
#include <cstddef>

namespace octet::simd {

struct AdaroundStepF32 {
  size_t K = 0;  // rows per panel
  const float* scale = nullptr;
  const float* lo = nullptr;
  const float* hi = nullptr;
  const float* fl = nullptr;  // floor(W / scale)
  float* V = nullptr;
  float* S = nullptr;  // sigmoid(V)
  // Update (skipped when grad is null). grad holds panel rows from grad_row0 on.
  const float* grad = nullptr;
  size_t grad_row0 = 0;
  float* m = nullptr;  // Adam moments
  float* v = nullptr;
  float reg_coef = 0.f;     // -2 reg beta (0: no regulariser)
  float beta_minus_1 = 0.f;
  float step = 0.f;          // lr / (1 - beta1^t)
  float inv_sqrt_bc2 = 1.f;  // 1 / sqrt(1 - beta2^t)
  // Soft weights of the (updated) V; skipped when null.
  float* w_out = nullptr;
};

// Processes panel rows [row0, row1).
void adaround_step_f32(const AdaroundStepF32& s, size_t row0, size_t row1);

// One panel of the weight gradient X^T G from X packed in micro-panels of 8 rows of X^T:
//   C[r, j] = sum_{b < batch} Xp[(r / 8) * batch * 8 + b * 8 + r % 8] * G[b * kGemmNR + j]
// for r < rows (rounded up to a multiple of 8: C must hold that many rows), j < kGemmNR;
// G one packed panel (batch x kGemmNR), C rows x kGemmNR. Sums run in b order.
inline constexpr size_t kXtgRows = 8;
void adaround_xtg_f32(size_t rows, size_t batch, const float* Xp, const float* G, float* C);

}  // namespace octet::simd
