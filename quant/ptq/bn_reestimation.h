// BatchNorm re-estimation (as in AIMET): with the model's weights quantized (QuantSim qdq of
// every Conv / Gemm / MatMul weight, BNs not folded), each BatchNormalization's running mean
// and variance are recomputed from data, so that they describe what the layer before it
// produces in the quantized model. BNs are processed in topological order, each seeing the
// upstream BNs already re-estimated (what AIMET gets from a training-mode pass). Fold the BNs
// afterwards (fold_batch_norms_keep_stats, or QuantSim's folding).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "quant/data_stream.h"
#include "quant/quantsim.h"

namespace octet::quant {

struct BnReestimationOptions {
  QuantSimOptions sim;          // weight bitwidth / per-channel (fold_batch_norms is ignored)
  ObserverOptions observer;     // weight range scheme
  int64_t num_samples = 500;    // samples of `samples` used at most
  int64_t batch_size = 32;      // when the model's batch is symbolic
  int threads = 1;
};

struct BnReestimationLayer {
  std::string bn;
  int64_t channels = 0;
  std::vector<float> old_mean, old_var, new_mean, new_var;
  double mean_abs_mean_change = 0;  // mean over channels of |new_mean - old_mean|
  double mean_var_ratio = 1;        // mean over channels of new_var / old_var
};

struct BnReestimationReport {
  std::vector<BnReestimationLayer> layers;
  int64_t samples = 0;
  std::vector<std::string> notes;
};

// Rewrites the running mean / var inputs of every BatchNormalization of `graph` (new
// constants). `samples` feeds every model input, samples along axis 0.
BnReestimationReport reestimate_batch_norms(Graph& graph, const QuantsimConfig& config,
                                            const SampleBatch& samples,
                                            const BnReestimationOptions& options = {});

}  // namespace octet::quant
