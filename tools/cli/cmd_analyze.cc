// octet analyze MODEL --data CALIB [--eval-data X] [--labels Y] -o DIR [quantsim options]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "base/error.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/analysis_report.h"
#include "quant/analyzer.h"
#include "quant/data_stream.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kAnalyzeUsage =
    "usage: octet analyze MODEL --data DATA [--data NAME=FILE ...] -o DIR\n"
    "                     [--eval-data X [--eval-data NAME=FILE ...]] [--labels Y.npy]\n"
    "                     [--metric-cmd CMD] [--mode qdq|int|exact] [--target PROFILE]\n"
    "                     [quantize's quantsim options] [--ptq STEPS] [--batch N] [--threads N]\n"
    "\n"
    "AIMET's QuantAnalyzer: places quantizers on MODEL (BN folded), calibrates once on DATA,\n"
    "then scores, on the evaluation samples, float; every quantizer disabled (FP32 sanity);\n"
    "weights only; activations only; all quantized; and per layer (a node with a quantizer on\n"
    "an input, output or parameter) with only its quantizers enabled and with all but its\n"
    "quantizers enabled; plus each layer's output MSE against float and every encoding's\n"
    "range, every layer's per-channel weight ranges (outlier channels flagged) and histograms\n"
    "of what each quantizer sees. The score: top-1 accuracy with --labels, the number --metric-cmd prints, else the\n"
    "mean output SQNR against float (dB). Writes AIMET's per_layer_quant_enabled.json,\n"
    "per_layer_quant_disabled.json, per_layer_mse_loss.json, min_max_ranges/{activations,\n"
    "weights}.json, sensitivity.json (layers ranked most sensitive first), weight_ranges.json,\n"
    "histograms.json, report.html (the whole analysis as one self-contained page) and\n"
    "overrides_config.json (the --config with the most sensitive layers at a higher bitwidth)\n"
    "to DIR, and prints the findings with what to try for each.\n"
    "\n"
    "options:\n"
    OCTET_CLI_DATA_HELP
    "  -o, --output DIR         the folder the analysis files go to (created)\n"
    "  --eval-data X            evaluation samples (as --data; default: the calibration data)\n"
    "  --labels Y.npy           integer class labels of the evaluation samples\n"
    "  --metric-cmd CMD         the score is the number CMD prints on its last line, run on\n"
    "                           {outputs} (OUTPUT_NAME.npy each), higher is better\n"
    "  --mode M                 how each configuration runs: qdq (default, fake quantization),\n"
    "                           int (integer kernels) or exact\n"
    "  --target PROFILE         the integer arithmetic for int/exact (default onnxruntime)\n"
    "  --config, --param-bw, --act-bw, --per-channel, --per-tensor, --block-size, --scheme,\n"
    "  --percentile, --no-fold-bn, --bits, --float   as for `octet quantize`\n"
    "  --override-layers N      overrides_config.json keeps the quantizers of the N most\n"
    "                           sensitive layers at --override-bits (default: as many as the\n"
    "                           sweep found to recover 90% of the loss, none if it found none)\n"
    "  --override-bits B        their bitwidth, 2 to 16 (default 16)\n"
    "  --ptq STEPS              post-training steps before the analysis, as for `octet quantize`\n"
    "                           (--adaround-iterations, --ptq-samples, --bc-with-activations\n"
    "                           too); the weight ranges are reported before and after them\n"
    "  -b, --batch N            batch size when the model's batch is symbolic (default 32)\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    "  -h, --help               show this help\n";

int cmd_analyze(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv,
                          with_ptq_options(with_quantsim_options({kDataOpt, {"--output", "-o", true, false},
                                                 {"--eval-data", "", true, true},
                                                 {"--labels", "", true, false},
                                                 {"--metric-cmd", "", true, false}, kModeOpt,
                                                 kTargetOpt, {"--batch", "-b", true, false},
                                                 {"--override-layers", "", true, false},
                                                 {"--override-bits", "", true, false},
                                                 kThreadsOpt})),
                          1, 1);
  if (args.help()) {
    std::cout << kAnalyzeUsage;
    return 0;
  }
  if (!args.has("--data")) throw UsageError("missing --data");
  if (!args.has("--output")) throw UsageError("missing -o DIR");
  quant::QuantSimOptions qo;
  quant::CalibrationOptions co;
  parse_quantsim_options(args, qo, co);
  quant::AnalyzerOptions ao;
  const int override_bits = int(args.get_int("--override-bits", 16, 2, 16));
  ao.override_bits = override_bits;
  ao.eval.mode = parse_mode(args.get("--mode", "qdq"));
  if (ao.eval.mode == ExecutionMode::kFloat) throw UsageError("--mode: analyze scores qdq, int or exact");
  ao.eval.target = args.get("--target", "onnxruntime");
  ao.eval.batch = co.batch_size;
  ao.eval.threads = co.threads;
  const std::vector<std::string> data = args.all("--data");
  const std::vector<std::string> eval_specs = args.has("--eval-data") ? args.all("--eval-data") : data;
  {
    std::vector<NamedPath> inputs = data_paths("--data", data);
    for (const NamedPath& p : data_paths("--eval-data", args.all("--eval-data"))) inputs.push_back(p);
    inputs.push_back({"MODEL", args.positional()[0]});
    if (args.has("--labels")) inputs.push_back({"--labels", args.get("--labels")});
    check_output_paths(inputs, {{"-o", args.get("--output")}});
  }
  const std::string metric = args.get("--metric-cmd");
  if (!metric.empty()) {
    ao.score = [&metric](const quant::EvalResult& r, const quant::EvalResult&) {
      return run_metric_command(metric, r);
    };
    ao.score_name = "--metric-cmd";
  }
  ao.progress = analysis_progress();

  std::shared_ptr<Graph> model = load_model(args.positional()[0]);
  const quant::QuantsimConfig config = load_config(args.get("--config", "default_config"));
  std::unique_ptr<quant::QuantSim> sim_holder = calibrated_quantsim(args, model, config, qo, co, data);
  quant::QuantSim& sim = *sim_holder;
  if (args.has("--ptq")) {
    // The weights as they were before the steps changed them (BN folded like the sim's).
    ao.before_ptq = quant::QuantSim(model, config, qo).model_ptr();
    ao.ptq_steps = args.get("--ptq");
  }
  const quant::SampleBatch eval_data = quant::load_samples(eval_specs, sim.model());
  HostTensor labels;
  if (args.has("--labels")) labels = load_npy(args.get("--labels"));
  const quant::AnalysisReport r =
      quant::analyze(sim, eval_data, args.has("--labels") ? &labels : nullptr, ao);
  quant::write_analysis(r, args.get("--output"));
  const size_t override_layers =
      args.has("--override-layers") ? size_t(args.get_int("--override-layers", 0, 0, 1 << 20)) : r.override_layers;
  const std::vector<std::string> sensitive = quant::most_sensitive_quantizers(r, override_layers);
  const std::string overrides = (std::filesystem::path(args.get("--output")) / "overrides_config.json").string();
  std::error_code ec;
  std::filesystem::remove(overrides, ec);  // none from an earlier analysis left beside this one
  if (!sensitive.empty())
    quant::write_bitwidth_overrides(config_file(args.get("--config", "default_config")), sensitive,
                                    override_bits, overrides);

  std::printf("score: %s, %lld samples%s\n", r.score_name.c_str(),
              static_cast<long long>(eval_data.rows()),
              args.has("--eval-data") ? "" : " (the calibration data: give --eval-data for others)");
  std::printf("  float               %.4g\n  FP32 sanity         %.4g (every quantizer disabled)\n"
              "  weights only        %.4g\n  activations only    %.4g\n  all quantized       %.4g\n",
              r.float_score, r.fp32_sanity, r.weights_only, r.activations_only, r.all_quantized);
  if (r.agreement)
    std::printf("  top-1 agreement with float (%%): FP32 sanity %.4g, weights only %.4g, activations only "
                "%.4g, all quantized %.4g\n",
                r.fp32_sanity_agreement, r.weights_only_agreement, r.activations_only_agreement,
                r.all_quantized_agreement);
  std::printf("layers, most sensitive first (score with only this layer quantized / with all but "
              "this layer):\n");
  const std::vector<size_t> order = quant::sensitivity_order(r);
  for (size_t k = 0; k < order.size() && k < 10; ++k) {
    const quant::LayerSensitivity& l = r.layers[order[k]];
    std::printf("  %2zu. %-40s %-12s %10.4g %10.4g   output MSE %.3g\n", k + 1, l.node.c_str(),
                l.op_type.c_str(), l.only_this, l.all_but_this, l.output_mse);
  }
  if (order.size() > 10) std::printf("  ... %zu more in sensitivity.json\n", order.size() - 10);
  auto summarize = [](const std::vector<quant::LayerWeightRanges>& layers) {
    size_t flagged = 0;
    double widest = 0;
    std::string where;
    for (const quant::LayerWeightRanges& w : layers) {
      flagged += !w.outliers.empty();
      for (double r : w.relative_range)
        if (r > widest) widest = r, where = w.node;
    }
    return std::to_string(flagged) + " of " + std::to_string(layers.size()) +
           " layers with outlier channels, widest channel " + std::to_string(int64_t(std::lround(widest))) +
           "x the narrowest" + (where.empty() ? "" : " (" + where + ")");
  };
  std::printf("weight ranges per output channel: %s\n", summarize(r.weight_ranges).c_str());
  if (!r.weight_ranges_before_ptq.empty())
    std::printf("  before --ptq %s: %s\n", r.ptq_steps.c_str(), summarize(r.weight_ranges_before_ptq).c_str());
  std::printf("findings:\n");
  for (const quant::AnalysisFinding& f : quant::analysis_findings(r)) {
    std::printf("  %s: %s\n", f.subject.c_str(), f.text.c_str());
    if (!f.fix.empty()) std::printf("    try: %s\n", f.fix.c_str());
  }
  if (!r.kept_scores.empty()) {
    std::printf("the most sensitive layers at %d bits (scores for 1, 2, ... of them):", r.override_bits);
    for (double v : r.kept_scores) std::printf(" %.4g", v);
    if (r.override_layers) {
      const double kept = r.kept_scores[r.override_layers - 1];
      if (r.score_is_sqnr)
        std::printf("; %zu of them raise it by %.1f dB\n", r.override_layers, kept - r.all_quantized);
      else
        std::printf("; %zu of them recover %.0f%% of the loss\n", r.override_layers,
                    100 * (kept - r.all_quantized) / (r.float_score - r.all_quantized));
    } else {
      std::printf("; none of these recovers any of the loss\n");
    }
  }
  if (sensitive.empty())
    std::printf("no overrides_config.json written (no layer chosen: --override-layers N picks N)\n");
  else
    std::printf("wrote %s: the config with the quantizers of the %zu most sensitive layers (%zu tensors) at "
                "%d bits; `octet quantize --config %s` applies it\n",
                overrides.c_str(), std::min(override_layers, r.layers.size()), sensitive.size(), override_bits,
                overrides.c_str());
  if (!sensitive.empty()) {
    // What quantize --config OVERRIDES gives: calibrated again, at the new bitwidths.
    const std::unique_ptr<quant::QuantSim> check = calibrated_quantsim(args, model, load_config(overrides), qo, co, data);
    std::printf("checked: `octet quantize --config %s%s` scores %.4g (float %.4g, all quantized %.4g)\n",
                overrides.c_str(), args.has("--ptq") ? (" --ptq " + args.get("--ptq")).c_str() : "",
                quant::score_quantsim(*check, eval_data, args.has("--labels") ? &labels : nullptr, ao),
                r.float_score, r.all_quantized);
  }
  std::printf("%lld evaluations in %.2f s (one float evaluation: %.3f s)\n",
              static_cast<long long>(r.evaluations), r.seconds, r.float_eval_seconds);
  std::printf("wrote %s/{sensitivity.json, per_layer_quant_enabled.json, "
              "per_layer_quant_disabled.json, per_layer_mse_loss.json, min_max_ranges/, "
              "weight_ranges.json, histograms.json, report.html}\n",
              args.get("--output").c_str());
  return 0;
}

}  // namespace octet::cli
