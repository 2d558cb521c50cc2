// Empirical bias correction (AIMET's default flavour): for each
// Conv/Gemm in topological order, the per-output-channel mean of the layer's pre-activation
// output over (batch, spatial) in the quantized simulation — upstream layers already quantized
// and corrected — is compared with the float model's, and the difference is subtracted from
// the bias (a zero bias is created where the layer has none).
//
// Analytical bias correction (DFQ, data-free): for a layer whose input is the
// output of a layer with a folded BatchNorm (directly, through Relu / Clip, a fused activation,
// or a Flatten / GlobalAveragePool that keeps channel means), E[x] per input channel comes from
// the BN's beta / |gamma| under the Gaussian assumption, passed through the activation as the
// mean of a clipped normal; the bias then loses (sum over the kernel of (W_q - W)) . E[x].
// Hybrid: analytical where BN statistics exist, empirical elsewhere.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/host_tensor.h"
#include "quant/data_stream.h"
#include "quant/ptq/bn_fold_stats.h"
#include "quant/quantsim.h"

namespace octet::quant {

struct BiasCorrectionOptions {
  int64_t batch_size = 50;  // samples per session run (when the model's batch is symbolic)
  int threads = 1;
  // After correcting, recompute the encodings like a fresh AIMET QuantSim on the corrected
  // model would: param encodings (weights are unchanged; quantized biases get new ones) and
  // activation encodings from `samples`. Off: encodings stay as calibrated before BC.
  bool recalibrate = true;
  CalibrationOptions calibration;  // used when recalibrate (its batch_size/threads too)
  // Layers (node names) to correct; empty: every Conv/Gemm. The others keep their bias and are
  // reported as skipped.
  std::vector<std::string> only_layers;
  // The float model to match (same node names); null: sim.model() as it is before correcting.
  std::shared_ptr<const Graph> reference;
  // What the quantized means are measured with. False (AIMET's empirical bias correction, which
  // disables every output quantizer): the weights and the model inputs quantized, so that a
  // bias corrects what weight rounding shifts. True: the activation quantizers too; their
  // clipping moves a channel's mean through its largest values, and shifting the whole channel
  // for it can wreck a detector's scores (YOLOv5n: recall 91 -> 75 %).
  bool measure_with_activation_quantizers = false;
};

struct LayerBiasCorrection {
  std::string node;     // Conv/Gemm node name
  std::string op_type;
  std::string bias;     // bias tensor in sim.model() (created when the layer had none)
  bool created_bias = false;
  bool skipped = false; // not corrected (reason says why)
  std::string reason;
  int64_t channels = 0;
  // Mean over output channels of |E[float] - E[quant]| of the pre-activation output:
  double shift_uncorrected = 0;  // whole model without any correction
  double shift_before = 0;       // upstream layers corrected, this one not yet
  double shift_after = 0;        // whole model corrected
  // Analytical: shift_before = mean over channels of |(W_q - W) . E[x]| (the correction made),
  // shift_uncorrected = shift_after = 0 (no data).
  std::string method;            // "empirical" or "analytical"
};

struct BiasCorrectionReport {
  std::vector<LayerBiasCorrection> layers;
  int64_t samples = 0;
  int layers_corrected = 0;
};

// Corrects the biases in sim's model in place (new constant buffers; the old ones are never
// written). `sim` must have encodings (calibrate it first); `samples` feeds every model input,
// samples along axis 0.
BiasCorrectionReport correct_bias_empirical(QuantSim& sim, const SampleBatch& samples,
                                            const BiasCorrectionOptions& options = {});

// Per-channel mean |E[float] - E[quant]| of every Conv/Gemm's pre-activation output, with
// `reference` the float model (e.g. sim.model() before correction) and sim's current quantized
// model; `node` names the layers to measure (empty: all Conv/Gemm). Returns one value per layer,
// in the order of the `layers` names returned through `names`.
std::vector<double> measure_output_shift(const Graph& reference, const QuantSim& sim,
                                         const SampleBatch& samples,
                                         std::vector<std::string>* names = nullptr,
                                         int64_t batch_size = 50, int threads = 1);

// Analytical bias correction of every Conv/Gemm whose input is backed by BN statistics
// (`stats` from fold_batch_norms_keep_stats, kept up to date by CLS / high-bias absorption).
// Weight errors use sim's weight encodings (param encodings are computed when missing).
// Layers without statistics are reported as skipped (reason says why) and left alone.
BiasCorrectionReport correct_bias_analytical(QuantSim& sim, const BnStatsMap& stats);

// Hybrid: analytical where BN statistics exist, then empirical (from `samples`) on the rest.
BiasCorrectionReport correct_bias_hybrid(QuantSim& sim, const BnStatsMap& stats,
                                         const SampleBatch& samples,
                                         const BiasCorrectionOptions& options = {});

// Mean of a normal(mu, sigma) clipped to [lo, hi] (lo / hi may be infinite); sigma = 0 gives
// clamp(mu, lo, hi).
double clipped_normal_mean(double mu, double sigma, double lo, double hi);

}  // namespace octet::quant
