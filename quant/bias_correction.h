// Empirical bias correction (AIMET's default flavour, REFERENCE aimet.md §3.5): for each
// Conv/Gemm in topological order, the per-output-channel mean of the layer's pre-activation
// output over (batch, spatial) in the quantized simulation — upstream layers already quantized
// and corrected — is compared with the float model's, and the difference is subtracted from
// the bias (a zero bias is created where the layer has none).
#pragma once
#include <string>
#include <vector>

#include "engine/host_tensor.h"
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
};

struct BiasCorrectionReport {
  std::vector<LayerBiasCorrection> layers;
  int64_t samples = 0;
  int layers_corrected = 0;
};

// Corrects the biases in sim's model in place (new constant buffers; the old ones are never
// written). `sim` must have encodings (calibrate it first); `samples` holds the model's single
// input along axis 0.
BiasCorrectionReport correct_bias_empirical(QuantSim& sim, const HostTensor& samples,
                                            const BiasCorrectionOptions& options = {});

// Per-channel mean |E[float] - E[quant]| of every Conv/Gemm's pre-activation output, with
// `reference` the float model (e.g. sim.model() before correction) and sim's current quantized
// model; `node` names the layers to measure (empty: all Conv/Gemm). Returns one value per layer,
// in the order of the `layers` names returned through `names`.
std::vector<double> measure_output_shift(const Graph& reference, const QuantSim& sim,
                                         const HostTensor& samples,
                                         std::vector<std::string>* names = nullptr,
                                         int64_t batch_size = 50, int threads = 1);

}  // namespace octet::quant
