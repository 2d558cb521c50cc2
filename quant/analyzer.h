// QuantAnalyzer (AIMET's analyze()): which quantizers cost accuracy, from one calibrated
// QuantSim, scored on evaluation data. Every sweep toggles quantizers of the same calibration
// (no recalibration): FP32 sanity, weights only, activations only, per layer "only this layer
// quantized" and "all but this layer", per-layer output MSE, and every encoding's range.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quant/evaluate.h"
#include "quant/quantsim.h"
#include "quant/value_histograms.h"
#include "quant/weight_ranges.h"

namespace octet::quant {

struct AnalyzerOptions {
  // How each configuration runs: mode qdq (default here) or int / exact with a target; batch,
  // threads, shapes as for evaluate().
  EvalOptions eval = [] {
    EvalOptions o;
    o.mode = ExecutionMode::kQdq;
    return o;
  }();
  // The score of a run (higher is better) given float's run on the same data; empty: top-1
  // accuracy in % with labels, else the mean over outputs of the SQNR against float in dB
  // (capped at kMaxSqnrDb, which also stands for "equal").
  std::function<double(const EvalResult& run, const EvalResult& float_run)> score;
  std::string score_name;  // what `score` measures, for the report
  // Called before each evaluation: the sweep ("per-layer enabled", ...), done and total.
  std::function<void(const std::string& sweep, size_t done, size_t total)> progress;
  // The model before post-training steps changed its weights (BN folded, no CLE, ...): its
  // per-channel weight ranges are reported beside the analysed model's. Null: none.
  std::shared_ptr<const Graph> before_ptq;
  std::string ptq_steps;  // what changed it, for the report ("cle", ...)
  int64_t histogram_samples = 8;  // evaluation rows the activation histograms are taken over
  // The "keep the most sensitive layers wider" sweep: the k most sensitive layers' quantizers
  // re-encoded at `override_bits` from their calibrated ranges, k = 1, 2, ... until the score
  // recovers `recovery` of the drop from float to all quantized (with the SQNR score: removes
  // that share of the noise power, +10 dB for 0.9), or k = max_override_layers.
  int override_bits = 16;
  size_t max_override_layers = 20;
  double recovery = 0.9;
};

inline constexpr double kMaxSqnrDb = 100.0;

struct LayerSensitivity {
  std::string node, op_type;
  std::vector<std::string> quantizers;  // tensors of its inputs', outputs' and parameters' quantizers
  double only_this = 0;     // score with only this layer's quantizers enabled
  double all_but_this = 0;  // score with every quantizer enabled but this layer's
  double output_mse = 0;    // mean squared error of its first output, all quantized vs float
  // Top-1 agreement with float (%) of the same two runs, for a classifier scored without labels
  // (AnalysisReport::agreement); NaN otherwise.
  double only_this_agreement = std::nan(""), all_but_this_agreement = std::nan("");
};

struct QuantizerRange {
  std::string tensor;
  bool param = false;
  std::vector<double> min, max;  // one per encoding (per channel / block)
};

struct AnalysisReport {
  std::string score_name;
  bool score_is_sqnr = false;  // the default unlabelled score: dB, float's capped at kMaxSqnrDb
  double float_score = 0, fp32_sanity = 0, weights_only = 0, activations_only = 0,
         all_quantized = 0;
  // Without labels and with a first output of class scores per sample (a classifier): each
  // run's top-1 agreement with float (%) beside its score, in the same order as above.
  bool agreement = false;
  double fp32_sanity_agreement = std::nan(""), weights_only_agreement = std::nan(""),
         activations_only_agreement = std::nan(""), all_quantized_agreement = std::nan("");
  std::vector<LayerSensitivity> layers;  // in graph order; sensitivity_order() ranks them
  std::vector<QuantizerRange> ranges;
  std::vector<LayerWeightRanges> weight_ranges;             // of the analysed model
  std::vector<LayerWeightRanges> weight_ranges_before_ptq;  // of options.before_ptq, if given
  std::string ptq_steps;
  std::vector<ValueHistogram> histograms;
  // kept_scores[k - 1]: the score with the k most sensitive layers at override_bits.
  std::vector<double> kept_scores;
  int override_bits = 16;
  // The smallest k that recovers enough, else the smallest with the sweep's best score if that
  // beats all quantized; 0: none.
  size_t override_layers = 0;
  int64_t evaluations = 0;
  double seconds = 0, float_eval_seconds = 0;
};

// `sim` must be calibrated (every enabled quantizer has an encoding); its quantizers' enabled
// flags are restored before returning. `labels` may be null.
AnalysisReport analyze(QuantSim& sim, const SampleBatch& eval_data, const HostTensor* labels,
                       const AnalyzerOptions& options);

// The score of `sim` (calibrated) as analyze() scores a configuration: same data, labels,
// options (to check a change the analysis suggested, such as its overrides).
double score_quantsim(const QuantSim& sim, const SampleBatch& eval_data, const HostTensor* labels,
                      const AnalyzerOptions& options);

// Indices of report.layers, most sensitive first: the largest drop from float with only the
// layer quantized, then the largest gain from leaving it float.
std::vector<size_t> sensitivity_order(const AnalysisReport& report);

// AIMET's files in DIR (created): per_layer_quant_enabled.json, per_layer_quant_disabled.json,
// per_layer_mse_loss.json ({layer: value}), min_max_ranges/activations.json and weights.json
// ({tensor: {"min": [...], "max": [...]}}), and sensitivity.json (the summary and the layers
// ranked most sensitive first), weight_ranges.json (per layer and output channel, outliers
// flagged, before the PTQ steps too), histograms.json and report.html (quant/analysis_report.h).
// Written atomically, one file at a time.
void write_analysis(const AnalysisReport& report, const std::string& dir);

}  // namespace octet::quant
