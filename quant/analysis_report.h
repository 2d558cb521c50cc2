// What an analysis means for the user: findings with the fix each suggests, the self-contained
// HTML report (quant/analysis_report.js draws it), and a quantsim config that keeps the most
// sensitive layers' quantizers at a higher bitwidth.
#pragma once
#include <string>
#include <vector>

#include "quant/analyzer.h"

namespace octet::quant {

struct AnalysisFinding {
  std::string severity;  // "warning" (costs accuracy) or "info"
  std::string subject;   // a layer, a tensor or "model"
  std::string text;      // what was measured
  std::string fix;       // what to try, as octet options; may be empty
};

std::vector<AnalysisFinding> analysis_findings(const AnalysisReport& report);

// One HTML page, scripts, styles and data inline, fetching nothing (a Content-Security-Policy
// forbids every request); navigable by layer name.
std::string analysis_report_html(const AnalysisReport& report);

// The quantizer tensors of the `layers` most sensitive layers (sensitivity_order), each once.
std::vector<std::string> most_sensitive_quantizers(const AnalysisReport& report, size_t layers);

// The quantsim config at `config_path` (JSON) with those tensors at `bits`, under the key
// "tensor_bitwidths" (octet's one addition to AIMET's config format), written atomically to
// `out_path`: `octet quantize --config OUT` applies it.
void write_bitwidth_overrides(const std::string& config_path, const std::vector<std::string>& tensors,
                              int bits, const std::string& out_path);

}  // namespace octet::quant
