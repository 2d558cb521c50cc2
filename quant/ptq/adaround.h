// AdaRound (adaptive rounding, arXiv 2004.10568, as AIMET implements it): per
// Conv / Gemm / MatMul (constant 2-D weight) layer, in topological order, learn whether each
// weight rounds down or up on its (fixed) quantization grid so that the layer output stays
// close to the float model's.
//
// What octet follows (AIMET v1 torch `adaround_*` code):
//  * parametrisation W~ = s * clamp(floor(W/s) + h(V), o, o + N) (o = the encoding's offset,
//    N its number of steps), rectified sigmoid h(V) = clamp(sigmoid(V) (zeta - gamma) + gamma,
//    0, 1) with zeta = 1.1, gamma = -0.1; V starts where h(V) = W/s - floor(W/s); the result is
//    the hard rounding h = [V >= 0];
//  * loss = mean over rows of sum over channels of (f(X_q W~ + b) - f(Y_fp))^2 (AIMET's
//    ||.||_2^2 over dim 1, mean over batch and positions) + reg * sum(1 - |2h - 1|^beta), f the
//    activation fused with the layer (a single-reader Relu / Clip, or `_act_min/_act_max`),
//    applied to both; the regulariser is off during the warm start, then beta follows AIMET's
//    cosine decay from beta_start to beta_end;
//  * inputs X_q: the layer's input in the simulated model with *weight* quantization only
//    (AIMET disables activation quantizers; `quantized_activations` turns them on), upstream
//    layers already AdaRounded; targets Y_fp: the float model's layer output;
//  * defaults: 10000 iterations (15000 when the weight bitwidth is below 8), reg 0.01, beta
//    (20, 2), warm start 0.2, Adam (PyTorch defaults: lr 1e-3, betas 0.9/0.999, eps 1e-8) on V
//    only, at most 2000 input samples.
// Differences: AIMET draws mini-batches of 32 *samples* (whole feature maps); octet works on
// im2col rows (one output position of one sample = one row of X, K = C/g * kh * kw columns),
// caches a random subset of at most `max_rows` rows per layer (memory: one layer's rows at a
// time) and draws `batch_rows` rows per iteration. Gradients are computed by hand.
// Implementation (speed, same algorithm): the optimiser state (V, sigmoid(V), Adam moments,
// floor(W/s)) lives in the packed-B panel layout of simd/gemm_f32.h; one fused Highway pass per
// block (simd/adaround_f32.h) computes dL/dW~ = X^T G for a block of rows of one panel, the
// gradient w.r.t. V with the regulariser, the Adam step and the next soft weights, written
// straight into the forward GEMM's packed operand. Blocks whose h are all saturated (dh = 0)
// skip the gradient product and the regulariser math (exact; most blocks late in the schedule).
// Results are deterministic and the same for any thread count. OCTET_ADAROUND_PROFILE=1 prints
// a per-phase time breakdown of each optimisation to stderr.
// The weight encodings are not changed: AdaRound replaces the weights by the rounded grid
// values (new constant buffers) and freezes the weight quantizers, so later calibration and
// export keep them.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/host_tensor.h"
#include "quant/quantsim.h"

namespace octet::quant {

struct AdaroundLayerReport {
  std::string node;
  std::string op_type;
  std::string weight;         // the weight tensor (replaced by its rounded values)
  bool skipped = false;
  std::string reason;         // why skipped
  int bitwidth = 0;
  bool per_channel = false;
  int64_t rows = 0;           // cached rows (im2col patches / matrix rows)
  int64_t cache_bytes = 0;    // what those rows (inputs and targets) take
  int64_t k = 0, n = 0;       // weight matrix K (per group) x N (output channels)
  int64_t groups = 1;
  std::string activation;     // "", "Relu", "Clip"
  int iterations = 0;
  double mse_nearest = 0;     // reconstruction MSE on the cached rows (mean over rows x N)
  double mse_adaround = 0;
  double changed_fraction = 0;  // weights whose rounding differs from round-to-nearest
  double collect_seconds = 0;   // running the models to cache inputs / targets
  double optimize_seconds = 0;
  double iterations_per_second = 0;
};

struct AdaroundReport {
  std::vector<AdaroundLayerReport> layers;
  int64_t samples = 0;       // model inputs used
  double seconds = 0;
  int64_t peak_rss_kb = 0;   // VmHWM of the process at the end
  int layers_rounded = 0;
};

struct AdaroundOptions {
  int num_iterations = 0;     // 0: AIMET's default (10000; 15000 below 8 bits)
  float reg_param = 0.01f;
  float beta_start = 20.f, beta_end = 2.f;
  float warm_start = 0.2f;
  float learning_rate = 1e-3f;
  int64_t num_samples = 2000;  // model inputs (axis-0 samples) used at most
  int64_t max_rows = 16384;    // cached rows per layer
  int64_t max_cache_bytes = int64_t{512} << 20;  // bounds max_rows for wide layers
  int64_t batch_rows = 256;    // rows per iteration
  int64_t batch_size = 32;     // model batch for the forward passes when symbolic
  int threads = 1;
  uint32_t seed = 0;
  bool quantized_activations = false;  // inputs with activation qdq too (needs encodings)
  std::vector<std::string> skip_layers;  // node names left at nearest rounding
  // Called after each layer with (report, index, total layers).
  std::function<void(const AdaroundLayerReport&, size_t, size_t)> progress;
};

// Runs AdaRound on every eligible layer of sim (param encodings are computed first where
// missing; frozen ones are used as they are). `data_specs`: the data specs of
// quant/data_stream.h, streamed file by file, once per layer.
AdaroundReport apply_adaround(QuantSim& sim, const std::vector<std::string>& data_specs,
                              const AdaroundOptions& options = {});
// Same with samples in memory, feeding every model input.
AdaroundReport apply_adaround(QuantSim& sim, const SampleBatch& samples,
                              const AdaroundOptions& options = {});

// The optimisation of one layer on matrices (exposed for tests and benchmarks).
//   x: rows x (groups * k) row-major (im2col rows); target: rows x n, already activated;
//   weight: k x n (column j of group j / (n / groups) reads x columns [g*k, (g+1)*k));
//   scale, code_lo, code_hi: per column (the grid is scale * [code_lo, code_hi]).
struct AdaroundProblem {
  int64_t rows = 0, k = 0, n = 0, groups = 1;
  const float* x = nullptr;
  const float* target = nullptr;
  const float* bias = nullptr;  // n values or null
  float act_lo = -std::numeric_limits<float>::infinity();
  float act_hi = std::numeric_limits<float>::infinity();
  std::vector<float> weight;
  std::vector<float> scale, code_lo, code_hi;
};

struct AdaroundSolution {
  std::vector<float> weight;  // k x n rounded grid values
  double mse_nearest = 0, mse_adaround = 0;
  double changed_fraction = 0;
  int iterations = 0;
  double seconds = 0;
};

AdaroundSolution adaround_optimize(const AdaroundProblem& problem, int iterations,
                                   const AdaroundOptions& options, uint32_t seed);

// Reconstruction MSE (mean over rows x n) of weight w (k x n) on the problem's rows.
double reconstruction_mse(const AdaroundProblem& problem, const std::vector<float>& w,
                          int threads);

// Peak resident set size of this process in KiB (VmHWM from /proc/self/status; 0 if unknown).
int64_t peak_rss_kb();

}  // namespace octet::quant
