#include "quant/analysis_json.h"

namespace octet::quant {

using json = nlohmann::ordered_json;

json analysis_summary_json(const AnalysisReport& r) {
  json s;
  s["score"] = r.score_name;
  s["float"] = r.float_score;
  s["fp32_sanity"] = r.fp32_sanity;
  s["weights_only"] = r.weights_only;
  s["activations_only"] = r.activations_only;
  s["all_quantized"] = r.all_quantized;
  if (r.agreement)
    s["top1_agreement_with_float"] = {{"fp32_sanity", r.fp32_sanity_agreement},
                                      {"weights_only", r.weights_only_agreement},
                                      {"activations_only", r.activations_only_agreement},
                                      {"all_quantized", r.all_quantized_agreement}};
  s["evaluations"] = r.evaluations;
  s["seconds"] = r.seconds;
  s["float_evaluation_seconds"] = r.float_eval_seconds;
  s["ptq_steps"] = r.ptq_steps;
  s["override_bits"] = r.override_bits;
  s["scores_with_most_sensitive_layers_at_override_bits"] = r.kept_scores;
  s["override_layers"] = r.override_layers;
  return s;
}

json layer_sensitivity_json(const AnalysisReport& r, const std::vector<size_t>& order) {
  json out = json::array();
  for (size_t i : order) {
    const LayerSensitivity& l = r.layers[i];
    json j{{"layer", l.node}, {"op_type", l.op_type}, {"only_this_quantized", l.only_this},
           {"all_but_this_quantized", l.all_but_this}, {"output_mse", l.output_mse},
           {"quantizers", l.quantizers}};
    if (r.agreement) {
      j["only_this_quantized_top1_agreement"] = l.only_this_agreement;
      j["all_but_this_quantized_top1_agreement"] = l.all_but_this_agreement;
    }
    out.push_back(std::move(j));
  }
  return out;
}

json weight_ranges_json(const AnalysisReport& r) {
  auto ranges = [](const LayerWeightRanges& w) {
    return json{{"min", w.min}, {"max", w.max}, {"mean", w.mean}, {"relative_range", w.relative_range},
                {"outlier_channels", w.outliers}};
  };
  json out = json::array();
  for (const LayerWeightRanges& w : r.weight_ranges) {
    json j{{"layer", w.node}, {"op_type", w.op_type}, {"weight", w.weight}};
    j.update(ranges(w));
    j["before"] = nullptr;
    for (const LayerWeightRanges& b : r.weight_ranges_before_ptq)
      if (b.node == w.node && b.min.size() == w.min.size()) j["before"] = ranges(b);
    out.push_back(std::move(j));
  }
  return out;
}

json histograms_json(const AnalysisReport& r) {
  json out = json::array();
  for (const ValueHistogram& h : r.histograms)
    out.push_back({{"tensor", h.tensor}, {"param", h.param}, {"lo", h.lo}, {"hi", h.hi},
                   {"counts", h.counts}, {"values", h.values}, {"observed_min", h.observed_min},
                   {"observed_max", h.observed_max}, {"encoding_min", h.encoding_min},
                   {"encoding_max", h.encoding_max}});
  return out;
}

}  // namespace octet::quant
