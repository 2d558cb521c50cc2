// What analyze, quantize --report-html and autoquant --report-html share: the sweep progress
// and the report of a calibrated QuantSim.
#include <chrono>
#include <cstdio>

#include "quant/analysis_report.h"
#include "base/atomic_file.h"
#include "tools/cli/cli.h"

namespace octet::cli {

std::function<void(const std::string&, size_t, size_t)> analysis_progress() {
  const bool tty = stderr_is_terminal();
  const auto start = std::chrono::steady_clock::now();
  auto last_tenth = std::make_shared<size_t>(0);
  return [tty, start, last_tenth](const std::string& sweep, size_t done, size_t total) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double left = done ? elapsed / double(done) * double(total - done) : 0.0;
    if (tty) {
      std::fprintf(stderr, "\ranalyze %zu/%zu, %.1f s, ~%.0f s left: %-50.50s", done + 1, total, elapsed, left,
                   sweep.c_str());
      if (done + 1 == total) std::fprintf(stderr, "\n");
    } else if (const size_t tenth = total ? 10 * done / total : 0; tenth > *last_tenth || done == 0) {
      *last_tenth = tenth;
      std::fprintf(stderr, "analyze %zu/%zu, %.1f s, ~%.0f s left: %s\n", done + 1, total, elapsed, left,
                   sweep.c_str());
    }
  };
}

void write_html_report(const std::string& path, quant::QuantSim& sim, const quant::SampleBatch& samples,
                       const HostTensor* labels, const std::string& metric_command,
                       const quant::AnalyzerOptions& options) {
  quant::AnalyzerOptions ao = options;
  if (!metric_command.empty()) {
    ao.score = [metric_command](const quant::EvalResult& r, const quant::EvalResult&) {
      return run_metric_command(metric_command, r);
    };
    ao.score_name = "--metric-cmd";
  }
  if (!ao.progress) ao.progress = analysis_progress();
  const quant::AnalysisReport report = quant::analyze(sim, samples, labels, ao);
  const std::string html = quant::analysis_report_html(report);
  write_file_atomically(path, html.data(), html.size());
  std::printf("wrote %s (the analysis on %lld samples: %lld evaluations in %.1f s)\n", path.c_str(),
              static_cast<long long>(samples.rows()), static_cast<long long>(report.evaluations), report.seconds);
}

}  // namespace octet::cli
