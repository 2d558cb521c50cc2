#include "quant/analysis_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "quant/analysis_json.h"
#include "report/analysis_report_assets.h"

namespace octet::quant {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Share of a histogram's values in bins whose centre lies outside the encoding's range.
double clipped_fraction(const ValueHistogram& h) {
  if (h.values == 0 || h.counts.empty()) return 0;
  const double width = (h.hi - h.lo) / double(h.counts.size());
  int64_t outside = 0;
  for (size_t k = 0; k < h.counts.size(); ++k) {
    const double centre = h.lo + (double(k) + 0.5) * width;
    if (centre < h.encoding_min || centre > h.encoding_max) outside += h.counts[k];
  }
  return double(outside) / double(h.values);
}

double widest_relative_range(const LayerWeightRanges& w) {
  double widest = 0;
  for (double r : w.relative_range) widest = std::max(widest, r);
  return widest;
}

}  // namespace

std::vector<AnalysisFinding> analysis_findings(const AnalysisReport& r) {
  std::vector<AnalysisFinding> out;
  const double total_drop = r.float_score - r.all_quantized;
  const double tolerance = 1e-3 * std::max(1.0, std::fabs(r.float_score));
  if (std::fabs(r.fp32_sanity - r.float_score) > tolerance)
    out.push_back({"warning", "model",
                   "with every quantizer disabled it scores " + num(r.fp32_sanity) + ", float scores " +
                       num(r.float_score) + ": something besides the quantizers changes the model "
                       "(BatchNorm folding, a fused op)",
                   "--no-fold-bn, or compare `octet eval --mode float` of the model and the calibrated one"});
  // With the SQNR score float's is a cap, not a level to recover: 40 dB (noise 1e-4 of the
  // signal's power) counts as costing nothing, and a layer is sensitive when its noise alone
  // is at least a fifth of all the layers' (its SQNR within 7 dB of all quantized).
  if (r.score_is_sqnr ? r.all_quantized >= 40 : total_drop <= tolerance) {
    out.push_back({"info", "model",
                   "all quantized scores " + num(r.all_quantized) + " against float's " + num(r.float_score) +
                       ": quantization costs nothing measurable on these samples",
                   ""});
    return out;
  }
  // Skewed channel ranges cost accuracy only where a weight has one encoding for all channels.
  std::map<std::string, size_t> encodings_of;
  for (const QuantizerRange& q : r.ranges) encodings_of[q.tensor] = q.min.size();
  auto per_tensor = [&](const LayerWeightRanges& w) {
    auto it = encodings_of.find(w.weight);
    return it != encodings_of.end() && it->second == 1;
  };
  size_t skewed_layers = 0, per_tensor_weights = 0;
  for (const LayerWeightRanges& w : r.weight_ranges) {
    skewed_layers += !w.outliers.empty() && per_tensor(w);
    per_tensor_weights += per_tensor(w);
  }
  if (r.weights_only < r.activations_only)
    out.push_back({"warning", "weights",
                   "weights only score " + num(r.weights_only) + ", activations only " +
                       num(r.activations_only) + " (float " + num(r.float_score) + "): the weights cost more",
                   skewed_layers      ? "--ptq cle (" + std::to_string(skewed_layers) +
                                            " per-tensor weights have outlier channels), or --per-channel"
                   : per_tensor_weights ? "--per-channel, --ptq adaround, or a higher --param-bw for the layers below"
                                        : "--ptq adaround, or a higher --param-bw for the layers below"});
  else
    out.push_back({"warning", "activations",
                   "activations only score " + num(r.activations_only) + ", weights only " + num(r.weights_only) +
                       " (float " + num(r.float_score) + "): the activations cost more",
                   "--scheme tf-enhanced or percentile, --act-bw 16, or the overrides config for the layers below"});

  std::map<std::string, const LayerWeightRanges*> ranges;
  for (const LayerWeightRanges& w : r.weight_ranges) ranges[w.node] = &w;
  std::map<std::string, const ValueHistogram*> histograms;
  for (const ValueHistogram& h : r.histograms) histograms[h.tensor] = &h;
  size_t shown = 0;
  for (size_t i : sensitivity_order(r)) {
    const LayerSensitivity& l = r.layers[i];
    const bool sensitive = r.score_is_sqnr ? l.only_this - r.all_quantized <= 10 * std::log10(5.0)
                                           : r.float_score - l.only_this >= 0.2 * total_drop;
    if (!sensitive || shown == 5) break;
    shown++;
    AnalysisFinding f{"warning", l.node,
                      l.op_type + ": only it quantized scores " + num(l.only_this) + ", all but it " +
                          num(l.all_but_this) + " (float " + num(r.float_score) + ", all quantized " +
                          num(r.all_quantized) + ")",
                      ""};
    std::vector<std::string> fixes;
    if (auto w = ranges.find(l.node); w != ranges.end() && !w->second->outliers.empty() && per_tensor(*w->second)) {
      const double widest = widest_relative_range(*w->second);
      f.text += "; its weight's widest output channel spans " + num(widest) + "x the narrowest (" +
                std::to_string(w->second->outliers.size()) + " outlier channels)";
      fixes.push_back("--ptq cle or --per-channel");
    }
    for (const std::string& t : l.quantizers) {
      auto h = histograms.find(t);
      if (h == histograms.end() || h->second->param) continue;
      const double clipped = clipped_fraction(*h->second);
      if (clipped > 1e-3) {
        f.text += "; " + t + " clips " + num(100 * clipped) + "% of its values";
        fixes.push_back("--scheme tf (no clipping) or a higher --percentile");
      }
    }
    fixes.push_back("keep its quantizers at 16 bits (the overrides config, or --bits TENSOR=16)");
    std::set<std::string> said;
    for (const std::string& fix : fixes)
      if (said.insert(fix).second) f.fix += (f.fix.empty() ? "" : "; ") + fix;
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> most_sensitive_quantizers(const AnalysisReport& report, size_t layers) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  const std::vector<size_t> order = sensitivity_order(report);
  for (size_t k = 0; k < order.size() && k < layers; ++k)
    for (const std::string& t : report.layers[order[k]].quantizers)
      if (seen.insert(t).second) out.push_back(t);
  return out;
}

std::string analysis_report_html(const AnalysisReport& r) {
  using json = nlohmann::ordered_json;
  json d = analysis_summary_json(r);
  std::vector<size_t> graph_order(r.layers.size());
  for (size_t i = 0; i < graph_order.size(); ++i) graph_order[i] = i;
  d["layers"] = layer_sensitivity_json(r, graph_order);
  d["ranked"] = sensitivity_order(r);
  d["weight_ranges"] = weight_ranges_json(r);
  d["histograms"] = histograms_json(r);
  d["ranges"] = json::array();
  for (const QuantizerRange& q : r.ranges)
    d["ranges"].push_back({{"tensor", q.tensor}, {"param", q.param}, {"min", q.min}, {"max", q.max}});
  d["findings"] = json::array();
  for (const AnalysisFinding& f : analysis_findings(r))
    d["findings"].push_back({{"severity", f.severity}, {"subject", f.subject}, {"text", f.text}, {"fix", f.fix}});

  // '<' only occurs inside JSON strings: escaping it keeps "</script>" in a name inert.
  std::string data;
  for (char c : d.dump(-1, ' ', false, json::error_handler_t::replace))
    if (c == '<') data += "\\u003c";
    else data += c;
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
       << "<title>octet quantization analysis</title>\n<style>\n" << kAnalysisReportCss << "</style>\n"
       << "</head>\n<body>\n<nav id=\"nav\"></nav>\n<p id=\"errors\"></p>\n<div id=\"main\"></div>\n"
       << "<script id=\"analysis\" type=\"application/json\">" << data << "</script>\n"
       << "<script>\n" << kAnalysisReportJs << "</script>\n</body>\n</html>\n";
  return html.str();
}

void write_bitwidth_overrides(const std::string& config_path, const std::vector<std::string>& tensors,
                              int bits, const std::string& out_path) {
  OCTET_CHECK(bits >= 2 && bits <= 32, "overrides: bitwidth ", bits, " is outside [2, 32]");
  std::ifstream f(config_path, std::ios::binary);
  OCTET_CHECK(f, config_path, ": cannot open the quantsim config");
  nlohmann::ordered_json config;
  try {
    config = nlohmann::ordered_json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    fail(config_path, ": invalid JSON: ", e.what());
  }
  OCTET_CHECK(config.is_object(), config_path, ": a quantsim config is a JSON object");
  nlohmann::ordered_json& overrides = config["tensor_bitwidths"];
  if (!overrides.is_object()) overrides = nlohmann::ordered_json::object();
  for (const std::string& t : tensors) overrides[t] = bits;
  const std::string text = config.dump(2) + "\n";
  write_file_atomically(out_path, text.data(), text.size());
}

}  // namespace octet::quant
