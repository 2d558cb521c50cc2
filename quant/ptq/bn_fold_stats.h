// BatchNorm folding that keeps the folded BNs' statistics (as AIMET does) for the later
// PTQ steps (high-bias absorption, analytical bias correction).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/passes/passes.h"

namespace octet::quant {

// Per output channel of the layer a BN was folded into. After folding, the layer's output
// is the BN's output, distributed (by DFQ's Gaussian assumption) with mean `beta` and
// standard deviation |gamma|. Cross-layer scaling keeps beta/gamma in step with the
// scaled layer (both divided by the channel's scale); `mean` and `var` stay those of the
// original conv output, before the BN.
struct BnStats {
  std::vector<float> gamma, beta, mean, var;
  float eps = 1e-5f;
  std::string bn_node;     // the folded BatchNormalization
  std::string layer_node;  // the Conv / ConvTranspose / Gemm it was folded into
};

// Key: the name of the folded layer's output tensor (= the BN's former output).
using BnStatsMap = std::map<std::string, BnStats>;

struct BnFoldReport {
  PassReport pass;   // engine's fold_batch_norms report (notes say why a BN stayed)
  BnStatsMap stats;  // one entry per folded BN
};

// Runs engine's fold_batch_norms and records the statistics of every BN it folded.
BnFoldReport fold_batch_norms_keep_stats(Graph& graph);

}  // namespace octet::quant
