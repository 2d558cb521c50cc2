// Per-output-channel weight ranges of every layer (the PTQ guide's first look: skewed channel
// ranges call for cross-layer equalization or per-channel weights).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace octet::quant {

struct LayerWeightRanges {
  std::string node, op_type, weight;
  std::vector<float> min, max, mean;  // one per output channel
  // Each channel's range (max - min) over the smallest non-zero channel range.
  std::vector<double> relative_range;
  // Channels whose relative range is above Q3 + 1.5 * IQR of the layer's relative ranges.
  std::vector<int64_t> outliers;
};

// Every node with an f32 constant weight whose output-channel axis the op table names, in
// graph order.
std::vector<LayerWeightRanges> weight_channel_ranges(const Graph& g);

// Tukey's upper fence (Q3 + 1.5 * IQR, quartiles by linear interpolation) of `values`.
double upper_outlier_fence(std::vector<double> values);

}  // namespace octet::quant
