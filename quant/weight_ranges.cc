#include "quant/weight_ranges.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/op.h"
#include "quant/encoding.h"

namespace octet::quant {
namespace {

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * double(sorted.size() - 1);
  const size_t lo = size_t(pos);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

double upper_outlier_fence(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const double q1 = quantile(values, 0.25), q3 = quantile(values, 0.75);
  return q3 + 1.5 * (q3 - q1);
}

std::vector<LayerWeightRanges> weight_channel_ranges(const Graph& g) {
  std::vector<LayerWeightRanges> layers;
  for (const Node& n : g.nodes) {
    const ParamSlots& p = param_slots(n.op_type);
    if (p.weight < 0 || !p.channel_axis) continue;
    const TensorId w = n.input(size_t(p.weight));
    if (w == kNoTensor) continue;
    const TensorInfo& wt = g.tensor(w);
    if (!wt.is_constant() || wt.dtype != DType::kF32 || !wt.shape.is_concrete()) continue;
    const Dims dims = wt.shape.concrete();
    const int rank = static_cast<int>(dims.size());
    if (rank < 1) continue;
    const int axis = p.channel_axis(n, rank);
    if (axis < 0 || axis >= rank) continue;
    const AxisLayout l = axis_layout(dims, axis);
    const float* v = wt.data->as<float>();
    LayerWeightRanges r{n.name, n.op_type, wt.name, {}, {}, {}, {}, {}};
    r.min.assign(l.channels, std::numeric_limits<float>::infinity());
    r.max.assign(l.channels, -std::numeric_limits<float>::infinity());
    std::vector<double> sum(l.channels, 0.0);
    for (size_t o = 0; o < l.outer; ++o)
      for (size_t c = 0; c < l.channels; ++c)
        for (size_t i = 0; i < l.inner; ++i) {
          const float x = v[(o * l.channels + c) * l.inner + i];
          r.min[c] = std::min(r.min[c], x);
          r.max[c] = std::max(r.max[c], x);
          sum[c] += x;
        }
    double smallest = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < l.channels; ++c) {
      r.mean.push_back(static_cast<float>(sum[c] / double(l.outer * l.inner)));
      const double range = double(r.max[c]) - double(r.min[c]);
      if (range > 0) smallest = std::min(smallest, range);
    }
    for (size_t c = 0; c < l.channels; ++c)
      r.relative_range.push_back(std::isfinite(smallest) ? (double(r.max[c]) - double(r.min[c])) / smallest : 0.0);
    const double fence = upper_outlier_fence(r.relative_range);
    for (size_t c = 0; c < l.channels; ++c)
      if (r.relative_range[c] > fence) r.outliers.push_back(int64_t(c));
    layers.push_back(std::move(r));
  }
  return layers;
}

}  // namespace octet::quant
