// Cross-layer scaling (DFQ, arXiv 1906.04721, as AIMET implements it) and high-bias absorption.
#pragma once
#include <string>
#include <vector>

#include "engine/graph.h"
#include "quant/ptq/bn_fold_stats.h"

namespace octet::quant {

// One CLS set: two layers (Conv/Gemm -> Conv/Gemm) or three (Conv -> depthwise Conv ->
// Conv), joined by Relu, PRelu (constant slope), a fused ReLU or directly.
struct ClsSet {
  std::vector<std::string> layers;       // node names, in order
  std::vector<std::string> activations;  // between layers: "Relu", "PRelu" or "" (direct)
  // Cumulative per-channel scales over all iterations: scales[0] = S12 (layer 1's output
  // channels were divided by it, layer 2's input channels multiplied), scales[1] = S23 for
  // a three-layer set.
  std::vector<std::vector<float>> scales;
  // Per layer: max/min ratio of its per-output-channel weight ranges (max |W|), before and
  // after (channels whose range is 0 are ignored).
  std::vector<double> ratio_before, ratio_after;
};

struct ClsOptions {
  int max_iterations = 20;  // passes over all sets
  float tolerance = 1e-4f;  // stop when every scale of a pass is within 1 +- tolerance
  bool include_gemm = true; // AIMET's torch CLS leaves Linear out; octet includes Gemm
};

struct ClsReport {
  std::vector<ClsSet> sets;
  int iterations = 0;
  bool converged = false;
  std::vector<std::string> notes;
};

// Scales the weights of every CLS set (new constants; shared buffers are never modified),
// iterating until the scales stop changing. `stats` (optional) is updated so that each
// scaled layer's BN beta/gamma describe its new output.
ClsReport cross_layer_scale(Graph& graph, BnStatsMap* stats = nullptr,
                            const ClsOptions& options = {});

struct HbaLayer {
  std::string layer, next;  // the bias of `layer` went into `next`
  std::vector<float> absorbed;  // c per channel
};

struct HbaReport {
  std::vector<HbaLayer> layers;
  std::vector<std::string> notes;  // pairs skipped and why
};

// High-bias absorption over the same pairs CLS uses: where `layer`'s output had a folded BN
// and a Relu (or fused ReLU) follows, c = max(0, beta - 3|gamma|) per channel, b1 -= c,
// b2 += sum W2[:, i, ...] * c_i; beta in `stats` is lowered by c. Exact when each
// pre-activation is >= c (the 3-sigma assumption).
HbaReport absorb_high_biases(Graph& graph, BnStatsMap& stats, const ClsOptions& options = {});

}  // namespace octet::quant
