// Histograms of the values each quantizer sees, with its encoding's range beside them (AIMET's
// QuantAnalyzer plots these to show clipping and wasted range).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quant/data_stream.h"
#include "quant/quantsim.h"

namespace octet::quant {

struct ValueHistogram {
  std::string tensor;
  bool param = false;
  double lo = 0, hi = 0;         // equal-width bins over [lo, hi]
  std::vector<int64_t> counts;
  int64_t values = 0;            // values counted
  double observed_min = 0, observed_max = 0;
  double encoding_min = 0, encoding_max = 0;  // per-channel: the widest of the channels'
};

// Every enabled quantizer with an encoding: a parameter from its values, an activation or a
// model input from float runs over the first `samples` rows of `data` (one row per run). The
// bins span the observed values and the encoding's range together.
std::vector<ValueHistogram> value_histograms(const QuantSim& sim, const SampleBatch& data,
                                             int threads, int64_t samples = 8, int bins = 64);

}  // namespace octet::quant
