// Post-training quantization pipeline: the steps of `octet quantize --ptq LIST`, run in
// AIMET's recommended order whatever the order given:
//   relu6 -> bn-reest -> fold-bn -> cle -> hbf -> (QuantSim) -> adaround -> bc-analytical / bc
//   -> activation calibration
// cle includes relu6, as AIMET's equalize_model does.
// fold-bn (keeping the BN statistics) is done whenever a later step needs it (cle, hbf,
// bc-analytical, and QuantSim folds anyway unless fold_batch_norms is off). "bc" and
// "bc-analytical" together mean the hybrid (analytical where BN statistics exist, empirical
// elsewhere). AIMET advises against combining AdaRound and bias correction; both run if asked,
// with a note.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "quant/ptq/bias_correction.h"
#include "quant/ptq/adaround.h"
#include "quant/ptq/bn_reestimation.h"
#include "quant/ptq/cle.h"
#include "quant/quantsim.h"

namespace octet::quant {

enum class PtqStep { kRelu6, kBnReest, kFoldBn, kCle, kHbf, kAdaround, kBcAnalytical, kBc };

const char* ptq_step_name(PtqStep step);
// "fold-bn,cle,..." (any order, duplicates allowed) -> steps in AIMET's order. Throws
// octet::Error naming an unknown step.
std::vector<PtqStep> parse_ptq_steps(const std::string& list);

struct PtqOptions {
  QuantSimOptions sim;
  CalibrationOptions calibration;  // final activation calibration (observer used for params too)
  ClsOptions cls;
  AdaroundOptions adaround;        // threads / batch_size taken from `calibration` when unset
  BiasCorrectionOptions bias_correction;
  BnReestimationOptions bn_reestimation;
  int64_t bc_samples = 500;        // samples loaded for bias correction / BN re-estimation
  // Called when a step is done, with its report (already in PtqResult::steps).
  std::function<void(const struct PtqStepReport&)> on_step;
};

struct PtqStepReport {
  std::string step;
  std::vector<std::string> lines;  // human-readable report
  double seconds = 0;
};

struct PtqResult {
  std::unique_ptr<QuantSim> sim;   // calibrated
  std::vector<PtqStepReport> steps;
  BnStatsMap bn_stats;             // statistics of the folded BNs (after CLE / HBF updates)
  AdaroundReport adaround;
  BiasCorrectionReport bias_correction;
  BnReestimationReport bn_reestimation;
};

// `data_specs`: calibration data (quant/data_stream.h's specs, feeding every model input),
// streamed for calibration and AdaRound; bias correction and BN re-estimation load the first
// `bc_samples`.
PtqResult run_ptq(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
                  const std::vector<PtqStep>& steps, const std::vector<std::string>& data_specs,
                  const PtqOptions& options = {});
// Same with samples in memory.
PtqResult run_ptq(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
                  const std::vector<PtqStep>& steps, const SampleBatch& samples,
                  const PtqOptions& options = {});

}  // namespace octet::quant
