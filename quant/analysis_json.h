// The JSON forms of an AnalysisReport's parts, shared by the analysis files (write_analysis)
// and the data of report.html, so that both say the same thing under the same names. Internal:
// nlohmann_json is a private dependency of the library.
#pragma once
#include <nlohmann/json.hpp>

#include "quant/analyzer.h"

namespace octet::quant {

// score, float, fp32_sanity, weights_only, activations_only, all_quantized,
// top1_agreement_with_float (when measured), evaluations, seconds, float_evaluation_seconds,
// override_bits, scores_with_most_sensitive_layers_at_override_bits, override_layers.
nlohmann::ordered_json analysis_summary_json(const AnalysisReport& report);
// One object per layer, in `order`: layer, op_type, only_this_quantized, all_but_this_quantized,
// output_mse, quantizers (and the two top-1 agreements when measured).
nlohmann::ordered_json layer_sensitivity_json(const AnalysisReport& report, const std::vector<size_t>& order);
// One object per weight layer: layer, op_type, weight, min, max, mean, relative_range,
// outlier_channels, and `before` (the same before the PTQ steps, or null).
nlohmann::ordered_json weight_ranges_json(const AnalysisReport& report);
nlohmann::ordered_json histograms_json(const AnalysisReport& report);

}  // namespace octet::quant
