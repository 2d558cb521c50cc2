// AdaRound: row caching from the simulated / float models, and the per-layer optimisation with
// hand-written gradients (see adaround.h for what follows AIMET and what differs).
#include "quant/ptq/adaround.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>

#include "base/error.h"
#include "engine/op.h"
#include "engine/passes/pass_util.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "kernels/gemm.h"
#include "loaders/npy.h"
#include "quant/batch_runner.h"
#include "quant/data_stream.h"
#include "quant/quantize.h"
#include "simd/adaround_f32.h"
#include "simd/gemm_f32.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define OCTET_ADAROUND_FTZ 1
#endif

namespace octet::quant {
namespace {

constexpr float kZeta = 1.1f, kGamma = -0.1f;
constexpr float kAdamBeta1 = 0.9f, kAdamBeta2 = 0.999f, kAdamEps = 1e-8f;
constexpr float kInf = std::numeric_limits<float>::infinity();

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// ------------------------------------------------------------------------------ optimiser

struct Workspace {
  int64_t K, N, G, Ng, Kt, B;
  std::vector<float> xb, xd, tb, out, grad, gw, wt, gwt, wq, xpack, tiles;
  std::vector<float> bias_padded;
  kernels::PackedB packw, packg;
};

// out[b, n] = clamp(bias[n] + sum_k x[b, g(n) K + k] w[k, n], lo, hi) for `rows` rows.
void forward(const AdaroundProblem& p, const float* x, int64_t rows, const float* w,
             Workspace& ws, float* out, int threads) {
  const int64_t K = p.k, N = p.n, Kt = ws.Kt, Ng = ws.Ng;
  if (p.groups == 1) {
    ws.packw.pack(w, static_cast<size_t>(K), static_cast<size_t>(N), N, 1);
    kernels::gemm_packed(static_cast<size_t>(rows), x, static_cast<size_t>(Kt), ws.packw, out,
                         static_cast<size_t>(N), p.bias ? ws.bias_padded.data() : nullptr,
                         p.act_lo, p.act_hi, threads);
    return;
  }
  // Grouped: dot products of contiguous K-vectors (x slice of the group, transposed weights).
  ws.wt.resize(static_cast<size_t>(K * N));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) ws.wt[static_cast<size_t>(n * K + k)] = w[k * N + n];
  const float* wt = ws.wt.data();
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t b = 0; b < rows; ++b) {
    for (int64_t n = 0; n < N; ++n) {
      const float* xr = x + b * Kt + (n / Ng) * K;
      const float* wr = wt + n * K;
      float acc = 0.f;
      for (int64_t k = 0; k < K; ++k) acc += xr[k] * wr[k];
      if (p.bias) acc += p.bias[n];
      out[b * N + n] = std::min(std::max(acc, p.act_lo), p.act_hi);
    }
  }
}

// Whether any of n sigmoid values s gives an unsaturated h (0 <= s (zeta - gamma) + gamma <= 1).
bool any_active(const float* s, int64_t n) {
  int active = 0;
#pragma omp simd reduction(| : active)
  for (int64_t i = 0; i < n; ++i) {
    const float hr = s[i] * (kZeta - kGamma) + kGamma;
    active |= static_cast<int>((hr >= 0.f) & (hr <= 1.f));
  }
  return active != 0;
}

int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Flush-to-zero / denormals-are-zero while alive (this thread): Adam's moments decay into
// denormals where gradients vanish, which makes every later operation on them ~100x slower.
// Results are unaffected in practice (values below 1e-38).
class FlushDenormals {
 public:
#ifdef OCTET_ADAROUND_FTZ
  FlushDenormals() : old_(_mm_getcsr()) { _mm_setcsr(old_ | 0x8040u); }
  ~FlushDenormals() { _mm_setcsr(old_); }

 private:
  unsigned old_;
#endif
};

std::vector<float> nearest_weights(const AdaroundProblem& p) {
  std::vector<float> w(p.weight.size());
  const int64_t N = p.n;
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t n = i % static_cast<size_t>(N);
    const float s = p.scale[n];
    const float q = std::nearbyint(p.weight[i] / s);
    w[i] = s * std::min(std::max(q, p.code_lo[n]), p.code_hi[n]);
  }
  return w;
}

void check_problem(const AdaroundProblem& p) {
  OCTET_CHECK(p.rows > 0 && p.k > 0 && p.n > 0 && p.groups > 0 && p.n % p.groups == 0,
              "adaround: bad problem sizes");
  OCTET_CHECK(p.x && p.target, "adaround: missing rows");
  const size_t kn = static_cast<size_t>(p.k * p.n);
  OCTET_CHECK(p.weight.size() == kn && p.scale.size() == static_cast<size_t>(p.n) &&
                  p.code_lo.size() == p.scale.size() && p.code_hi.size() == p.scale.size(),
              "adaround: weight / encoding sizes do not match");
  for (size_t n = 0; n < p.scale.size(); ++n)
    OCTET_CHECK(std::isfinite(p.scale[n]) && p.scale[n] > 0.f && p.code_lo[n] < p.code_hi[n],
                "adaround: bad grid in column ", n);
}

}  // namespace

double reconstruction_mse(const AdaroundProblem& p, const std::vector<float>& w, int threads) {
  check_problem(p);
  Workspace ws;
  ws.K = p.k, ws.N = p.n, ws.G = p.groups, ws.Ng = p.n / p.groups, ws.Kt = p.k * p.groups;
  if (p.bias) ws.bias_padded = kernels::pad_bias(p.bias, static_cast<size_t>(p.n));
  const int64_t step = 4096;
  std::vector<float> out(static_cast<size_t>(step * p.n));
  double total = 0;
  for (int64_t r0 = 0; r0 < p.rows; r0 += step) {
    const int64_t rows = std::min(step, p.rows - r0);
    forward(p, p.x + r0 * ws.Kt, rows, w.data(), ws, out.data(), threads);
    const float* t = p.target + r0 * p.n;
    double s = 0;
    for (int64_t i = 0; i < rows * p.n; ++i) {
      const double d = static_cast<double>(out[static_cast<size_t>(i)]) - t[i];
      s += d * d;
    }
    total += s;
  }
  return total / static_cast<double>(p.rows * p.n);
}

AdaroundSolution adaround_optimize(const AdaroundProblem& p, int iterations,
                                   const AdaroundOptions& o, uint32_t seed) {
  check_problem(p);
  const auto t0 = Clock::now();
  FlushDenormals ftz;
  const int threads = std::max(1, o.threads);
  Workspace ws;
  const int64_t K = p.k, N = p.n, KN = p.k * p.n;
  ws.K = K, ws.N = N, ws.G = p.groups, ws.Ng = N / p.groups, ws.Kt = K * p.groups;
  const int64_t Kt = ws.Kt;
  const int64_t B = std::max<int64_t>(1, std::min(o.batch_rows, p.rows));
  ws.B = B;
  // The optimiser state (V, Adam moments, floor(W/s), dL/dW~, the soft weights) lives in the
  // packed-B panel layout of simd/gemm_f32.h: the soft weights are written straight into the
  // forward GEMM's packed operand and the gradient GEMM writes dL/dW~ panel by panel.
  constexpr int64_t NR = static_cast<int64_t>(simd::kGemmNR);
  const int64_t P = (N + NR - 1) / NR, Np = P * NR, KNp = K * Np;
  const auto pidx = [&](int64_t k, int64_t n) { return static_cast<size_t>((n / NR) * K * NR + k * NR + n % NR); };
  const bool dense = p.groups == 1;
  // Rows of dL/dW~ per fused gradient + update block (long runs of the state arrays for the
  // prefetchers; a few blocks per thread). Multiple of simd::kXtgRows.
  const int64_t kRowBlock = std::max<int64_t>(
      8, std::min<int64_t>(256, (K + 4 * threads - 1) / (4 * threads) + 7) / 8 * 8);
  if (p.bias) ws.bias_padded = kernels::pad_bias(p.bias, static_cast<size_t>(N));
  const int64_t ldx = Kt;  // row stride of the batch rows (a padded stride measured no faster)
  ws.xb.resize(static_cast<size_t>(B * ldx));
  ws.tb.resize(static_cast<size_t>(B * N));
  ws.out.resize(static_cast<size_t>(B * N));
  if (!dense) {
    ws.grad.resize(static_cast<size_t>(B * N));
    ws.gw.resize(static_cast<size_t>(KN));
  }
  // Depthwise (one output channel per group): the cached rows re-laid out once as [k][n], so
  // that the products below run along n (contiguous, vectorized). Doubles this layer's cache.
  const bool depthwise = p.groups > 1 && p.groups == N;
  std::vector<float> xdw;
  if (depthwise) {
    ws.xd.resize(static_cast<size_t>(B * Kt));
    xdw.resize(static_cast<size_t>(p.rows * Kt));
    for (int64_t r = 0; r < p.rows; ++r) {
      const float* src = p.x + r * Kt;
      float* dst = xdw.data() + r * Kt;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) dst[k * N + n] = src[n * K + k];
    }
  }

  AdaroundSolution sol;
  const std::vector<float> nearest = nearest_weights(p);
  sol.mse_nearest = reconstruction_mse(p, nearest, threads);

  // Per padded column grid (padding: scale 0, so padded soft weights are 0).
  std::vector<float> scale_p(static_cast<size_t>(Np), 0.f), lo_p(static_cast<size_t>(Np), 0.f),
      hi_p(static_cast<size_t>(Np), 1.f);
  std::copy(p.scale.begin(), p.scale.end(), scale_p.begin());
  std::copy(p.code_lo.begin(), p.code_lo.end(), lo_p.begin());
  std::copy(p.code_hi.begin(), p.code_hi.end(), hi_p.begin());
  // V starts where h(V) = W/s - floor(W/s).
  std::vector<float> fl(static_cast<size_t>(KNp), 0.f), V(static_cast<size_t>(KNp), 0.f),
      m(static_cast<size_t>(KNp), 0.f), v(static_cast<size_t>(KNp), 0.f), S(static_cast<size_t>(KNp), 0.f);
  std::vector<float> gwp(dense ? 0 : static_cast<size_t>(KNp), 0.f);  // dL/dW~ (grouped paths)
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const float s = p.scale[static_cast<size_t>(n)];
      const float ws_ = p.weight[static_cast<size_t>(k * N + n)] / s;
      const float f = std::floor(ws_);
      const float rest = std::min(std::max(ws_ - f, 0.f), 1.f);
      fl[pidx(k, n)] = f;
      V[pidx(k, n)] = -std::log((kZeta - kGamma) / (rest - kGamma) - 1.f);
    }
  ws.packw.K = static_cast<size_t>(K);
  ws.packw.N = static_cast<size_t>(N);
  ws.packw.data.assign(static_cast<size_t>(KNp), 0.f);
  if (dense) {
    ws.packg.K = static_cast<size_t>(B);
    ws.packg.N = static_cast<size_t>(N);
    ws.packg.data.assign(static_cast<size_t>(B * Np), 0.f);
    ws.xpack.resize(static_cast<size_t>(threads * kRowBlock * B));
    ws.tiles.resize(static_cast<size_t>(threads * kRowBlock * NR));
  } else {
    ws.wq.resize(static_cast<size_t>(KN));  // row-major soft weights for the grouped paths
  }

  std::mt19937 rng(seed);
  std::vector<int64_t> order(static_cast<size_t>(p.rows));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  size_t cursor = 0;
  std::vector<int64_t> idx(static_cast<size_t>(B));

  // Threads only where the work pays for a parallel region (small layers run serially).
  // A parallel region costs microseconds on an idle machine but can stall for a scheduler
  // time slice when the cores are shared, so the thresholds are high (~0.1 ms of work or more).
  const int gemm_threads = B * K * N >= (int64_t{1} << 22) ? threads : 1;
  const int ew_threads = KN >= (int64_t{1} << 16) ? threads : 1;
  const int copy_threads = B * Kt >= (int64_t{1} << 20) ? threads : 1;
  const int warm = static_cast<int>(o.warm_start * static_cast<float>(iterations));

  simd::AdaroundStepF32 st;
  st.K = static_cast<size_t>(K);
  st.scale = scale_p.data();
  st.lo = lo_p.data();
  st.hi = hi_p.data();
  st.fl = fl.data();
  st.V = V.data();
  st.S = S.data();
  st.m = m.data();
  st.v = v.data();
  // The fused elementwise pass over all panel rows, in fixed chunks (deterministic).
  const int64_t prow_total = P * K;
  const int64_t prow_chunk = std::max<int64_t>(1, 8192 / NR);
  const int64_t prow_chunks = (prow_total + prow_chunk - 1) / prow_chunk;
  const auto elementwise = [&](const simd::AdaroundStepF32& s) {
#pragma omp parallel for num_threads(ew_threads) schedule(static) if (ew_threads > 1 && prow_chunks > 1)
    for (int64_t c = 0; c < prow_chunks; ++c) {
      FlushDenormals ftz_;
      simd::adaround_step_f32(s, static_cast<size_t>(c * prow_chunk),
                              static_cast<size_t>(std::min(prow_total, (c + 1) * prow_chunk)));
    }
  };
  if (iterations > 0) {
    simd::AdaroundStepF32 s0 = st;
    s0.w_out = ws.packw.data.data();
    elementwise(s0);
  }

  static const bool prof = std::getenv("OCTET_ADAROUND_PROFILE") != nullptr;
  double ph[6] = {0, 0, 0, 0, 0, 0};
  auto tp = Clock::now();
  auto mark = [&](int i) { if (prof) { auto t = Clock::now(); ph[i] += std::chrono::duration<double>(t - tp).count(); tp = t; } };
  double bc1 = 1.0, bc2 = 1.0;
  for (int it = 0; it < iterations; ++it) {
    // Mini-batch: the next B rows of a shuffled order (reshuffled when used up).
    for (int64_t b = 0; b < B; ++b) {
      if (cursor == order.size()) {
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
      }
      idx[static_cast<size_t>(b)] = order[cursor++];
    }
#pragma omp parallel for num_threads(copy_threads) schedule(static) if (copy_threads > 1)
    for (int64_t b = 0; b < B; ++b) {
      const int64_t r = idx[static_cast<size_t>(b)];
      std::memcpy((depthwise ? ws.xd : ws.xb).data() + b * ldx, (depthwise ? xdw.data() : p.x) + r * Kt,
                  static_cast<size_t>(Kt) * sizeof(float));
      std::memcpy(ws.tb.data() + b * N, p.target + r * N, static_cast<size_t>(N) * sizeof(float));
    }
    mark(0);
    if (!dense) {
      // Row-major soft weights for the grouped / depthwise products.
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) ws.wq[static_cast<size_t>(k * N + n)] = ws.packw.data[pidx(k, n)];
    }
    mark(1);

    // Forward, dL/dout (recon = mean over rows of the sum over columns).
    const float* wq = ws.wq.data();
    if (dense) {
      kernels::gemm_packed(static_cast<size_t>(B), ws.xb.data(), static_cast<size_t>(ldx), ws.packw,
                           ws.out.data(), static_cast<size_t>(N), p.bias ? ws.bias_padded.data() : nullptr,
                           p.act_lo, p.act_hi, gemm_threads);
    } else if (depthwise) {
      for (int64_t b = 0; b < B; ++b) {
        float* __restrict o = ws.out.data() + b * N;
        std::fill(o, o + N, 0.f);
        for (int64_t k = 0; k < K; ++k) {
          const float* __restrict xr = ws.xd.data() + b * Kt + k * N;
          const float* __restrict wr = wq + k * N;
#pragma omp simd
          for (int64_t n = 0; n < N; ++n) o[n] += xr[n] * wr[n];
        }
        const float alo = p.act_lo, ahi = p.act_hi;
        if (p.bias) {
          const float* __restrict bb = p.bias;
#pragma omp simd
          for (int64_t n = 0; n < N; ++n) o[n] = std::min(std::max(o[n] + bb[n], alo), ahi);
        } else {
#pragma omp simd
          for (int64_t n = 0; n < N; ++n) o[n] = std::min(std::max(o[n], alo), ahi);
        }
      }
    } else {
      forward(p, ws.xb.data(), B, wq, ws, ws.out.data(), gemm_threads);
    }
    const float gscale = 2.f / static_cast<float>(B);
    {
      const float alo = p.act_lo, ahi = p.act_hi;
      if (dense) {
        // Straight into the packed (B x N panels) right operand of the gradient GEMM.
        for (int64_t b = 0; b < B; ++b) {
          const float* __restrict yo = ws.out.data() + b * N;
          const float* __restrict yt = ws.tb.data() + b * N;
          for (int64_t p0 = 0; p0 < N; p0 += NR) {
            float* __restrict gd = ws.packg.data.data() + (p0 / NR) * B * NR + b * NR - p0;
            const int64_t p1 = std::min(N, p0 + NR);
#pragma omp simd
            for (int64_t n = p0; n < p1; ++n) {
              const float active = static_cast<float>((yo[n] > alo) & (yo[n] < ahi));
              gd[n] = active * (gscale * (yo[n] - yt[n]));
            }
          }
        }
      } else {
        const float* __restrict yo = ws.out.data();
        const float* __restrict yt = ws.tb.data();
        float* __restrict gd = ws.grad.data();
#pragma omp simd
        for (int64_t i = 0; i < B * N; ++i) {
          const float active = static_cast<float>((yo[i] > alo) & (yo[i] < ahi));
          gd[i] = active * (gscale * (yo[i] - yt[i]));
        }
      }
    }
    mark(2);

    // Regulariser (after the warm start) and Adam on V, then the next soft weights.
    const bool reg = it >= warm;
    float beta = o.beta_start;
    if (reg) {
      const double denom = std::max(1, iterations - warm);
      const double rel = static_cast<double>(it - warm) / denom;
      beta = static_cast<float>(o.beta_end + 0.5 * (o.beta_start - o.beta_end) * (1.0 + std::cos(rel * M_PI)));
    }
    bc1 *= kAdamBeta1;
    bc2 *= kAdamBeta2;
    simd::AdaroundStepF32 s = st;
    s.grad = gwp.data();
    s.reg_coef = reg ? -o.reg_param * beta * 2.f : 0.f;
    s.beta_minus_1 = beta - 1.f;
    s.step = o.learning_rate / static_cast<float>(1.0 - bc1);
    s.inv_sqrt_bc2 = 1.f / static_cast<float>(std::sqrt(1.0 - bc2));
    s.w_out = it + 1 < iterations ? ws.packw.data.data() : nullptr;

    // dL/dW~ = X^T G, then the update.
    if (dense) {
      // Fused per tile: kRowBlock rows of dL/dW~ for one panel (from X rows in L2 and the
      // packed G panel), then the elementwise step on those panel rows while they are in L1.
      const int64_t MP = static_cast<int64_t>(simd::kXtgRows);
      const int64_t rblocks = (K + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for num_threads(gemm_threads) schedule(static) if (gemm_threads > 1 && rblocks > 1)
      for (int64_t rb = 0; rb < rblocks; ++rb) {
        FlushDenormals ftz_;
        const int64_t r0 = rb * kRowBlock, r1 = std::min(K, r0 + kRowBlock);
        // This block of X^T in micro-panels of MP rows (zero padded), then every panel of G.
        float* xp = ws.xpack.data() + static_cast<size_t>(thread_index()) * static_cast<size_t>(kRowBlock * B);
        for (int64_t q0 = r0; q0 < r1; q0 += MP) {
          const int64_t q1 = std::min(r1, q0 + MP);
          float* dst = xp + (q0 - r0) * B;
          for (int64_t b = 0; b < B; ++b) {
            const float* src = ws.xb.data() + b * ldx + q0;
            float* d = dst + b * MP;
            for (int64_t q = 0; q < q1 - q0; ++q) d[q] = src[q];
            for (int64_t q = q1 - q0; q < MP; ++q) d[q] = 0.f;
          }
        }
        float* tile = ws.tiles.data() + static_cast<size_t>(thread_index()) * static_cast<size_t>(kRowBlock * NR);
        for (int64_t pp = 0; pp < P; ++pp) {
          // Micro-panels whose h are all saturated (dh = 0: their gradient is not used) are
          // skipped (late in the optimisation most are).
          const int64_t nrows = r1 - r0;
          for (int64_t q0 = 0; q0 < nrows; q0 += MP) {
            const int64_t q1 = std::min(nrows, q0 + MP);
            float* ct = tile + q0 * NR;
            if (any_active(S.data() + (pp * K + r0 + q0) * NR, (q1 - q0) * NR))
              simd::adaround_xtg_f32(static_cast<size_t>(q1 - q0), static_cast<size_t>(B), xp + q0 * B,
                                     ws.packg.data.data() + pp * B * NR, ct);
            else
              std::fill(ct, ct + (q1 - q0) * NR, 0.f);
          }
          simd::AdaroundStepF32 sl = s;
          sl.grad = tile;
          sl.grad_row0 = static_cast<size_t>(pp * K + r0);
          simd::adaround_step_f32(sl, static_cast<size_t>(pp * K + r0), static_cast<size_t>(pp * K + r1));
        }
      }
    } else if (depthwise) {
      std::fill(ws.gw.begin(), ws.gw.end(), 0.f);
      for (int64_t b = 0; b < B; ++b) {
        const float* __restrict gr = ws.grad.data() + b * N;
        for (int64_t k = 0; k < K; ++k) {
          const float* __restrict xr = ws.xd.data() + b * Kt + k * N;
          float* __restrict acc = ws.gw.data() + k * N;
#pragma omp simd
          for (int64_t n = 0; n < N; ++n) acc[n] += xr[n] * gr[n];
        }
      }
    } else {
      // dW^T[n, k] = sum_b x[b, g(n) K + k] g[b, n], accumulated in b order per column.
      const int64_t Ng = ws.Ng;
      ws.gwt.resize(static_cast<size_t>(KN));
#pragma omp parallel for num_threads(gemm_threads) schedule(static) if (gemm_threads > 1)
      for (int64_t n = 0; n < N; ++n) {
        float* acc = ws.gwt.data() + n * K;
        std::fill(acc, acc + K, 0.f);
        const int64_t off = (n / Ng) * K;
        for (int64_t b = 0; b < B; ++b) {
          const float gb = ws.grad[static_cast<size_t>(b * N + n)];
          if (gb == 0.f) continue;
          const float* xr = ws.xb.data() + b * Kt + off;
          for (int64_t k = 0; k < K; ++k) acc[k] += xr[k] * gb;
        }
      }
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) ws.gw[static_cast<size_t>(k * N + n)] = ws.gwt[static_cast<size_t>(n * K + k)];
    }
    if (!dense)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) gwp[pidx(k, n)] = ws.gw[static_cast<size_t>(k * N + n)];
    mark(3);
    if (!dense) elementwise(s);
    mark(4);
  }
  if (prof && iterations > 0) {
    int64_t sat = 0, tiles = 0, tsat = 0;
    for (int64_t r = 0; r < P * K; r += 8) {
      bool all = true;
      for (int64_t i = r * NR; i < std::min(P * K, r + 8) * NR; ++i) {
        const float hr = S[static_cast<size_t>(i)] * (kZeta - kGamma) + kGamma;
        const bool s_ = hr < 0.f || hr > 1.f;
        sat += s_;
        all = all && s_;
      }
      ++tiles;
      tsat += all;
    }
    std::fprintf(stderr, "saturated: %.4f of elements, %.4f of 8x32 tiles\n", double(sat) / double(P * K * NR), double(tsat) / double(tiles));
  }
  if (prof && iterations > 0)
    std::fprintf(stderr, "adaround k %ld n %ld: ms/it gather %.3f soft %.3f fwd %.3f gradgemm %.3f adam %.3f\n",
                 (long)K, (long)N, 1e3 * ph[0] / iterations, 1e3 * ph[1] / iterations, 1e3 * ph[2] / iterations,
                 1e3 * ph[3] / iterations, 1e3 * ph[4] / iterations);

  // Hard rounding h = [V >= 0].
  sol.weight.resize(static_cast<size_t>(KN));
  int64_t changed = 0;
  for (int64_t i = 0; i < KN; ++i) {
    const size_t n = static_cast<size_t>(i % N);
    const size_t j = pidx(i / N, i % N);
    const float q = fl[j] + (V[j] >= 0.f ? 1.f : 0.f);
    sol.weight[static_cast<size_t>(i)] = p.scale[n] * std::min(std::max(q, p.code_lo[n]), p.code_hi[n]);
    changed += sol.weight[static_cast<size_t>(i)] != nearest[static_cast<size_t>(i)];
  }
  sol.changed_fraction = static_cast<double>(changed) / static_cast<double>(KN);
  sol.mse_adaround = reconstruction_mse(p, sol.weight, threads);
  sol.iterations = iterations;
  sol.seconds = since(t0);
  return sol;
}


int64_t peak_rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  return 0;
}

// ------------------------------------------------------------------------------ layers

namespace {

enum class LayerKind { kConv, kGemm, kMatMul };

struct LayerSpec {
  std::string node, op_type, weight, output;
  LayerKind kind = LayerKind::kConv;
  Dims wd;
  int64_t K = 0, N = 0, groups = 1;
  bool trans_b = false;
  float alpha = 1.f;
  std::vector<float> bias;  // N values or empty
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad = "NOTSET";
  float act_lo = -kInf, act_hi = kInf;
  std::string act;
  size_t quantizer = 0;
};

std::optional<float> scalar_const(const Graph& g, const Node& n, size_t slot) {
  if (!n.has_input(slot)) return std::nullopt;
  auto v = passes::constant_f32(g, n.inputs[slot]);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

// The activation AIMET would fuse with the layer: `_act_min/_act_max`, or a single-reader
// Relu / Clip with constant bounds.
void find_activation(const Graph& g, const Node& n, const std::vector<std::vector<passes::Use>>& readers,
                     LayerSpec& L) {
  if (n.attrs.has("_act_min") || n.attrs.has("_act_max")) {
    L.act_lo = n.attrs.get_float("_act_min", -kInf);
    L.act_hi = n.attrs.get_float("_act_max", kInf);
    L.act = L.act_lo == 0.f && std::isinf(L.act_hi) ? "Relu" : "Clip";
    return;
  }
  const TensorId out = n.outputs[0];
  if (g.is_graph_output(out)) return;
  const auto& r = readers[static_cast<size_t>(out)];
  if (r.size() != 1 || r[0].slot != 0) return;
  const Node& c = g.nodes[static_cast<size_t>(r[0].node)];
  if (c.op_type == "Relu") {
    L.act_lo = 0.f;
    L.act = "Relu";
  } else if (c.op_type == "Clip") {
    std::optional<float> lo, hi;
    if (g.opset > 0 && g.opset < 11) {
      lo = c.attrs.get_float("min", -kInf);
      hi = c.attrs.get_float("max", kInf);
    } else {
      lo = c.has_input(1) ? scalar_const(g, c, 1) : std::optional<float>(-kInf);
      hi = c.has_input(2) ? scalar_const(g, c, 2) : std::optional<float>(kInf);
    }
    if (!lo || !hi) return;
    L.act_lo = *lo;
    L.act_hi = *hi;
    L.act = "Clip";
  }
}

// Why the node is not an AdaRound layer ("" = it is; "-" = not a candidate at all).
std::string make_spec(const QuantSim& sim, size_t node_index,
                      const std::vector<std::vector<passes::Use>>& readers, LayerSpec& L) {
  const Graph& g = sim.model();
  const Node& n = g.nodes[node_index];
  const ParamSlots& slots = param_slots(n.op_type);
  if (slots.weight != 1 || !slots.reduction_axis) return "-";  // Conv, Gemm, MatMul
  if (n.outputs.empty() || n.outputs[0] == kNoTensor || !n.has_input(0) || !n.has_input(1)) return "-";
  const TensorInfo& wt = g.tensor(n.inputs[1]);
  if (!wt.is_constant() || wt.dtype != DType::kF32 || !wt.shape.is_concrete()) return "-";
  L.node = n.name;
  L.op_type = n.op_type;
  L.weight = wt.name;
  L.output = g.tensor(n.outputs[0]).name;
  L.wd = wt.shape.concrete();
  const auto& qs = sim.quantizers();
  size_t qi = qs.size();
  for (size_t i = 0; i < qs.size(); ++i)
    if (qs[i].tensor == wt.name && qs[i].role == QuantizerRole::kParam) qi = i;
  if (qi == qs.size() || !qs[qi].enabled) return "weight not quantized";
  const Quantizer& q = qs[qi];
  if (!q.encoding) return "weight quantizer has no encoding";
  if (q.encoding->block_size > 0) return "per-block weight encodings are not supported";
  L.quantizer = qi;
  if (readers[static_cast<size_t>(n.inputs[1])].size() != 1) return "weight shared with another node";
  const int out_axis = slots.channel_axis(n, static_cast<int>(L.wd.size()));
  if (n.op_type == "Conv") {
    if (L.wd.size() != 4) return "only 2-D convolutions";
    L.kind = LayerKind::kConv;
    L.groups = n.attrs.get_int("group", 1);
    if (L.groups <= 0 || L.wd[0] % L.groups != 0) return "bad group count";
    L.N = L.wd[0];
    L.K = L.wd[1] * L.wd[2] * L.wd[3];
    L.kernel = {L.wd[2], L.wd[3]};
    L.strides = n.attrs.get_ints("strides", {1, 1});
    L.dilations = n.attrs.get_ints("dilations", {1, 1});
    L.pads = n.attrs.get_ints("pads", {0, 0, 0, 0});
    L.auto_pad = n.attrs.get_string("auto_pad", "NOTSET");
    if (L.strides.size() != 2 || L.dilations.size() != 2 || L.pads.size() != 4)
      return "unsupported conv attributes";
    for (int64_t s : L.strides) if (s <= 0) return "bad strides";
    for (int64_t d : L.dilations) if (d <= 0) return "bad dilations";
  } else if (n.op_type == "Gemm") {
    if (L.wd.size() != 2 || n.attrs.get_int("transA", 0) != 0) return "Gemm with transA";
    L.kind = LayerKind::kGemm;
    L.trans_b = n.attrs.get_int("transB", 0) != 0;
    L.N = L.trans_b ? L.wd[0] : L.wd[1];
    L.K = L.trans_b ? L.wd[1] : L.wd[0];
    L.alpha = n.attrs.get_float("alpha", 1.f);
  } else {
    if (L.wd.size() != 2) return "MatMul weight is not 2-D";
    L.kind = LayerKind::kMatMul;
    L.N = L.wd[1];
    L.K = L.wd[0];
  }
  if (q.encoding->axis >= 0 && q.encoding->axis != out_axis)
    return "per-channel axis is not the output-channel axis";
  // Bias (Conv B, Gemm beta * C).
  if (slots.bias >= 0 && n.has_input(size_t(slots.bias))) {
    auto b = passes::constant_f32(g, n.inputs[size_t(slots.bias)]);
    if (!b) return "bias is not an f32 constant";
    float scale = n.op_type == "Gemm" ? n.attrs.get_float("beta", 1.f) : 1.f;
    if (b->size() == static_cast<size_t>(L.N)) L.bias = *b;
    else if (b->size() == 1) L.bias.assign(static_cast<size_t>(L.N), (*b)[0]);
    else return "bias is not per output channel";
    for (float& x : L.bias) x *= scale;
  }
  find_activation(g, n, readers, L);
  return "";
}

// Weight tensor <-> K x N matrix (column n = output channel).
std::vector<float> to_matrix(const LayerSpec& L, const float* w) {
  std::vector<float> m(static_cast<size_t>(L.K * L.N));
  for (int64_t k = 0; k < L.K; ++k)
    for (int64_t n = 0; n < L.N; ++n) {
      float v;
      if (L.kind == LayerKind::kConv || (L.kind == LayerKind::kGemm && L.trans_b)) v = w[n * L.K + k];
      else v = w[k * L.N + n];
      m[static_cast<size_t>(k * L.N + n)] = v;
    }
  return m;
}
std::vector<float> from_matrix(const LayerSpec& L, const std::vector<float>& m) {
  std::vector<float> w(m.size());
  for (int64_t k = 0; k < L.K; ++k)
    for (int64_t n = 0; n < L.N; ++n) {
      const float v = m[static_cast<size_t>(k * L.N + n)];
      if (L.kind == LayerKind::kConv || (L.kind == LayerKind::kGemm && L.trans_b)) w[static_cast<size_t>(n * L.K + k)] = v;
      else w[static_cast<size_t>(k * L.N + n)] = v;
    }
  return w;
}

using BatchFn = std::function<void(const SampleBatch&)>;
using Source = std::function<void(const BatchFn&)>;

// Caches rows of one layer: X from the simulated model's input of the layer, targets from the
// float model's output.
struct RowCache {
  std::vector<float> x, y;
  int64_t rows = 0;
};

struct Collector {
  const LayerSpec& L;
  int64_t Kt, max_rows, per_sample;
  std::mt19937 rng;
  RowCache cache;
  std::vector<int64_t> positions;

  // xin: the layer's input [nb, ...], yout: its float output [nb, ...].
  void add(const HostTensor& xin, const HostTensor& yout) {
    const auto xv = xin.values<float>();
    const auto yv = yout.values<float>();
    OCTET_CHECK(!xin.dims.empty() && !yout.dims.empty() && xin.dims[0] == yout.dims[0],
                "adaround: '", L.node, "': input / output batch mismatch");
    const int64_t nb = xin.dims[0];
    const int64_t N = L.N;
    int64_t P = 0;  // rows per sample
    int64_t C = 0, H = 0, W = 0, OH = 0, OW = 0, pt = 0, pl = 0;
    if (L.kind == LayerKind::kConv) {
      OCTET_CHECK(xin.dims.size() == 4 && yout.dims.size() == 4 && yout.dims[1] == N,
                  "adaround: '", L.node, "': unexpected conv shapes");
      C = xin.dims[1], H = xin.dims[2], W = xin.dims[3], OH = yout.dims[2], OW = yout.dims[3];
      OCTET_CHECK(C * L.kernel[0] * L.kernel[1] == Kt, "adaround: '", L.node, "': channel mismatch");
      pt = L.pads[0], pl = L.pads[1];
      if (L.auto_pad == "VALID") pt = pl = 0;
      if (L.auto_pad == "SAME_UPPER" || L.auto_pad == "SAME_LOWER") {
        const int64_t th = std::max<int64_t>(0, (OH - 1) * L.strides[0] + (L.kernel[0] - 1) * L.dilations[0] + 1 - H);
        const int64_t tw = std::max<int64_t>(0, (OW - 1) * L.strides[1] + (L.kernel[1] - 1) * L.dilations[1] + 1 - W);
        pt = L.auto_pad == "SAME_UPPER" ? th / 2 : th - th / 2;
        pl = L.auto_pad == "SAME_UPPER" ? tw / 2 : tw - tw / 2;
      }
      P = OH * OW;
    } else {
      OCTET_CHECK(xin.dims.back() == Kt && yout.dims.back() == N, "adaround: '", L.node,
                  "': unexpected matrix shapes");
      P = xin.numel() / (nb * Kt);
      OCTET_CHECK(yout.numel() == nb * P * N, "adaround: '", L.node, "': row count mismatch");
    }
    const int64_t take = std::min(P, per_sample);
    positions.resize(static_cast<size_t>(P));
    for (int64_t s = 0; s < nb && cache.rows < max_rows; ++s) {
      std::iota(positions.begin(), positions.end(), 0);
      if (take < P)  // partial Fisher-Yates: the first `take` entries are a random subset
        for (int64_t i = 0; i < take; ++i) {
          std::uniform_int_distribution<int64_t> d(i, P - 1);
          std::swap(positions[static_cast<size_t>(i)], positions[static_cast<size_t>(d(rng))]);
        }
      for (int64_t t = 0; t < take && cache.rows < max_rows; ++t) {
        const int64_t pos = positions[static_cast<size_t>(t)];
        const size_t xo = cache.x.size(), yo = cache.y.size();
        cache.x.resize(xo + static_cast<size_t>(Kt));
        cache.y.resize(yo + static_cast<size_t>(N));
        float* xr = cache.x.data() + xo;
        float* yr = cache.y.data() + yo;
        if (L.kind == LayerKind::kConv) {
          const int64_t oh = pos / OW, ow = pos % OW;
          const int64_t KH = L.kernel[0], KW = L.kernel[1];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < KH; ++i) {
              const int64_t ih = oh * L.strides[0] - pt + i * L.dilations[0];
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t iw = ow * L.strides[1] - pl + j * L.dilations[1];
                *xr++ = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? xv[static_cast<size_t>(((s * C + c) * H + ih) * W + iw)] : 0.f;
              }
            }
          for (int64_t n = 0; n < N; ++n) yr[n] = yv[static_cast<size_t>(((s * N + n) * OH + oh) * OW + ow)];
        } else {
          const float* src = xv.data() + (s * P + pos) * Kt;
          for (int64_t k = 0; k < Kt; ++k) xr[k] = src[k] * L.alpha;
          std::memcpy(yr, yv.data() + (s * P + pos) * N, static_cast<size_t>(N) * sizeof(float));
        }
        for (int64_t n = 0; n < N; ++n) yr[n] = std::min(std::max(yr[n], L.act_lo), L.act_hi);
        cache.rows++;
      }
    }
  }
};

const Node* find_node(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// The tensor a batch feeds to model input `name`.
const HostTensor& batch_input(const SampleBatch& batch, const std::string& name) {
  for (const HostTensor& t : batch.inputs)
    if (t.name == name) return t;
  fail("adaround: the data feeds no input '", name, "' (", batch.shapes(), ")");
}

AdaroundReport run_adaround(QuantSim& sim, const Source& source, int64_t total_samples,
                            const AdaroundOptions& options) {
  const auto t0 = Clock::now();
  AdaroundReport report;
  Graph& g = sim.mutable_model();
  // Param encodings where missing (frozen ones stay).
  bool missing = false;
  for (const Quantizer& q : sim.quantizers())
    missing |= q.role == QuantizerRole::kParam && q.enabled && !q.encoding;
  if (missing) sim.compute_param_encodings(ObserverOptions{});
  if (options.quantized_activations)
    for (const Quantizer& q : sim.quantizers())
      OCTET_CHECK(!q.enabled || q.encoding, "adaround with quantized activations: quantizer on '",
                  q.tensor, "' has no encoding (calibrate first)");
  const auto float_model = std::make_shared<Graph>(g);  // targets come from the float weights
  report.samples = std::min(total_samples, options.num_samples);

  std::vector<LayerSpec> specs;
  std::vector<std::string> reasons;
  {
    const auto readers = passes::consumers_of(g);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      LayerSpec L;
      const std::string why = make_spec(sim, i, readers, L);
      if (why == "-") continue;
      if (why.empty() && std::find(options.skip_layers.begin(), options.skip_layers.end(), L.node) !=
                             options.skip_layers.end()) {
        reasons.push_back("skipped by request");
      } else {
        reasons.push_back(why);
      }
      if (L.node.empty()) L.node = g.nodes[i].name;
      specs.push_back(std::move(L));
    }
  }

  for (size_t li = 0; li < specs.size(); ++li) {
    LayerSpec& L = specs[li];
    AdaroundLayerReport rec;
    rec.node = L.node;
    rec.op_type = L.op_type;
    rec.weight = L.weight;
    if (!reasons[li].empty()) {
      rec.skipped = true;
      rec.reason = reasons[li];
      report.layers.push_back(rec);
      if (options.progress) options.progress(report.layers.back(), li, specs.size());
      continue;
    }
    Quantizer& q = sim.quantizers()[L.quantizer];
    const TensorEncoding te = *q.encoding;
    rec.bitwidth = te.encodings[0].bitwidth;
    rec.per_channel = te.axis >= 0;
    rec.k = L.K;
    rec.n = L.N;
    rec.groups = L.groups;
    rec.activation = L.act;

    // Cache rows.
    const auto tc = Clock::now();
    auto qg = std::make_shared<Graph>(g);
    for (const Quantizer& qq : sim.quantizers())
      if (qq.enabled && qq.encoding && (qq.role == QuantizerRole::kParam || options.quantized_activations))
        qg->tensor(qg->require_tensor(qq.tensor)).quant = to_quant_params(*qq.encoding);
    insert_fake_quantization(*qg);
    const Node* qn = find_node(*qg, L.node);
    OCTET_CHECK(qn, "adaround: node '", L.node, "' vanished");
    const TensorId in_id = qn->inputs[0];
    const bool input_is_model_input = qg->is_graph_input(in_id);
    const std::string input_name = qg->tensor(in_id).name;
    qg->outputs = {in_id};
    auto fg = std::make_shared<Graph>(*float_model);
    const Node* fnode = find_node(*fg, L.node);
    fg->outputs = {fnode->outputs[0]};
    BatchRunner qrun(qg, options.threads, options.batch_size), frun(fg, options.threads, options.batch_size);

    const int64_t Kt = L.K * L.groups;  // columns of X: C * kh * kw (Conv) or K (matrix)
    const int64_t bytes_per_row = (Kt + L.N) * static_cast<int64_t>(sizeof(float));
    const int64_t max_rows = std::max<int64_t>(
        1, std::min(options.max_rows, options.max_cache_bytes / std::max<int64_t>(1, bytes_per_row)));
    Collector col{L, Kt, max_rows,
                  std::max<int64_t>(1, (max_rows + report.samples - 1) / std::max<int64_t>(1, report.samples)),
                  std::mt19937(options.seed * 7919u + static_cast<uint32_t>(li)), {}, {}};
    col.cache.x.reserve(static_cast<size_t>(max_rows * Kt));
    col.cache.y.reserve(static_cast<size_t>(max_rows * L.N));
    source([&](const SampleBatch& batch) {
      if (col.cache.rows >= max_rows) return;
      const HostTensor xin = input_is_model_input ? batch_input(batch, input_name) : qrun.run(batch)[0];
      col.add(xin, frun.run(batch)[0]);
    });
    OCTET_CHECK(col.cache.rows > 0, "adaround: no rows cached for '", L.node, "'");
    rec.collect_seconds = since(tc);
    rec.rows = col.cache.rows;
    rec.cache_bytes = col.cache.rows * bytes_per_row;

    // Optimise.
    AdaroundProblem p;
    p.rows = col.cache.rows;
    p.k = L.K;
    p.n = L.N;
    p.groups = L.groups;
    p.x = col.cache.x.data();
    p.target = col.cache.y.data();
    p.bias = L.bias.empty() ? nullptr : L.bias.data();
    p.act_lo = L.act_lo;
    p.act_hi = L.act_hi;
    TensorInfo& wt = g.tensor(g.require_tensor(L.weight));
    p.weight = to_matrix(L, wt.data->as<float>());
    for (int64_t n = 0; n < L.N; ++n) {
      const Encoding& e = te.encodings[te.axis >= 0 ? static_cast<size_t>(n) : 0];
      p.scale.push_back(static_cast<float>(e.scale));
      p.code_lo.push_back(static_cast<float>(e.offset));
      p.code_hi.push_back(static_cast<float>(e.offset + e.num_steps()));
    }
    int iters = options.num_iterations;
    if (iters <= 0) iters = rec.bitwidth < 8 ? 15000 : 10000;
    const AdaroundSolution sol = adaround_optimize(p, iters, options, options.seed + static_cast<uint32_t>(li));
    rec.iterations = sol.iterations;
    rec.mse_nearest = sol.mse_nearest;
    rec.mse_adaround = sol.mse_adaround;
    rec.changed_fraction = sol.changed_fraction;
    rec.optimize_seconds = sol.seconds;
    rec.iterations_per_second = sol.seconds > 0 ? sol.iterations / sol.seconds : 0;

    // Rounded weights (a new buffer; the old one may be shared with other graphs) and a
    // frozen encoding.
    const std::vector<float> w = from_matrix(L, sol.weight);
    wt.data = Buffer::copy_of(w.data(), w.size() * sizeof(float));
    q.frozen = true;
    report.layers_rounded++;
    report.layers.push_back(rec);
    if (options.progress) options.progress(report.layers.back(), li, specs.size());
  }
  report.seconds = since(t0);
  report.peak_rss_kb = peak_rss_kb();
  return report;
}

}  // namespace

AdaroundReport apply_adaround(QuantSim& sim, const std::vector<std::string>& data_specs,
                              const AdaroundOptions& options) {
  const int64_t total = SampleStream(data_specs, sim.model()).total_samples();
  const int64_t mb = model_batch_size(sim.model(), options.batch_size);
  Source source = [&](const BatchFn& f) {
    SampleStream stream(data_specs, sim.model());
    SampleBatch chunk;
    int64_t done = 0;
    while (done < options.num_samples && stream.next(chunk)) {
      for (int64_t b = 0; b < chunk.rows() && done < options.num_samples; b += mb) {
        const int64_t e = std::min({chunk.rows(), b + mb, b + options.num_samples - done});
        f(chunk.slice(b, e));
        done += e - b;
      }
    }
  };
  return run_adaround(sim, source, total, options);
}

AdaroundReport apply_adaround(QuantSim& sim, const SampleBatch& samples,
                              const AdaroundOptions& options) {
  OCTET_CHECK(samples.rows() > 0, "adaround needs samples along axis 0");
  const int64_t mb = model_batch_size(sim.model(), options.batch_size);
  const int64_t total = std::min(samples.rows(), options.num_samples);
  Source source = [&](const BatchFn& f) {
    for (int64_t b = 0; b < total; b += mb) f(samples.slice(b, std::min(total, b + mb)));
  };
  return run_adaround(sim, source, samples.rows(), options);
}

}  // namespace octet::quant
