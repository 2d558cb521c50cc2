// The --ptq options of quantize and analyze, and the calibrated QuantSim they lead to.
#include <algorithm>
#include <cstdio>

#include "quant/ptq/pipeline.h"
#include "tools/cli/cli.h"

namespace octet::cli {

std::vector<OptionSpec> with_ptq_options(std::vector<OptionSpec> specs) {
  for (OptionSpec o : std::vector<OptionSpec>{{"--ptq", "", true, false},
                                             {"--adaround-iterations", "", true, false},
                                             {"--ptq-samples", "", true, false},
                                             {"--bc-with-activations", "", false, false}})
    specs.push_back(std::move(o));
  return specs;
}

std::unique_ptr<quant::QuantSim> calibrated_quantsim(const Args& args, std::shared_ptr<const Graph> model,
                                                     const quant::QuantsimConfig& config,
                                                     const quant::QuantSimOptions& qo,
                                                     const quant::CalibrationOptions& co,
                                                     const std::vector<std::string>& data) {
  std::vector<quant::PtqStep> steps;
  if (args.has("--ptq")) {
    try {
      steps = quant::parse_ptq_steps(args.get("--ptq"));
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  auto has = [&](quant::PtqStep s) { return std::find(steps.begin(), steps.end(), s) != steps.end(); };
  if (args.has("--bc-with-activations") && !has(quant::PtqStep::kBc))
    throw UsageError("--bc-with-activations needs bc in --ptq");
  if (args.has("--adaround-iterations") && !has(quant::PtqStep::kAdaround))
    throw UsageError("--adaround-iterations needs adaround in --ptq");
  if (args.has("--ptq-samples") && !has(quant::PtqStep::kBc) && !has(quant::PtqStep::kBcAnalytical) &&
      !has(quant::PtqStep::kBnReest))
    throw UsageError("--ptq-samples needs bc, bc-analytical or bn-reest in --ptq");
  if (steps.empty()) {
    auto sim = std::make_unique<quant::QuantSim>(model, config, qo);
    sim->calibrate(data, co);
    return sim;
  }
  quant::PtqOptions po;
  po.sim = qo;
  po.calibration = co;
  po.adaround.num_iterations = args.get_int("--adaround-iterations", 0, 0, 1 << 24);
  po.adaround.threads = co.threads;
  po.adaround.batch_size = co.batch_size;
  po.adaround.progress = [](const quant::AdaroundLayerReport& l, size_t i, size_t n) {
    std::fprintf(stderr, "adaround %zu/%zu %s: %s\n", i + 1, n, l.node.c_str(),
                 l.skipped ? ("skipped, " + l.reason).c_str()
                           : ("MSE " + std::to_string(l.mse_nearest) + " -> " +
                              std::to_string(l.mse_adaround) + ", " +
                              std::to_string(l.optimize_seconds) + " s").c_str());
  };
  po.bc_samples = args.get_int("--ptq-samples", 500, 1, 1 << 24);
  po.bias_correction.measure_with_activation_quantizers = args.has("--bc-with-activations");
  po.on_step = [](const quant::PtqStepReport& r) {
    std::printf("ptq %s (%.2f s):\n", r.step.c_str(), r.seconds);
    for (const std::string& line : r.lines) std::printf("  %s\n", line.c_str());
    std::fflush(stdout);
  };
  return std::move(quant::run_ptq(model, config, steps, data, po).sim);
}

}  // namespace octet::cli
