#include "quant/autoquant.h"

#include <chrono>

#include "base/error.h"

namespace octet::quant {

std::vector<PtqStep> autoquant_candidate_steps(const std::string& name) {
  if (name == "baseline") return {PtqStep::kFoldBn};
  if (name == "cle") return {PtqStep::kFoldBn, PtqStep::kCle, PtqStep::kHbf};
  if (name == "bc")
    return {PtqStep::kFoldBn, PtqStep::kCle, PtqStep::kHbf, PtqStep::kBcAnalytical, PtqStep::kBc};
  if (name == "adaround") return {PtqStep::kFoldBn, PtqStep::kCle, PtqStep::kHbf, PtqStep::kAdaround};
  fail("unknown AutoQuant candidate '", name, "' (baseline, cle, bc, adaround)");
}

AutoQuantResult run_autoquant(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
                              const std::vector<std::string>& data_specs, const AutoQuantEval& eval,
                              const AutoQuantOptions& options) {
  OCTET_CHECK(model, "AutoQuant needs a model");
  OCTET_CHECK(eval, "AutoQuant needs an evaluation callback");
  OCTET_CHECK(!options.candidates.empty(), "AutoQuant needs at least one candidate");
  OCTET_CHECK(options.allowed_drop >= 0, "allowed drop must be >= 0, got ", options.allowed_drop);
  for (const std::string& c : options.candidates) autoquant_candidate_steps(c);  // validate first

  AutoQuantResult result;
  result.float_score = eval(model, ExecutionMode::kFloat);
  result.target_score = result.float_score - options.allowed_drop;
  double best_score = 0;
  for (const std::string& name : options.candidates) {
    const auto start = std::chrono::steady_clock::now();
    AutoQuantCandidate c;
    c.name = name;
    const std::vector<PtqStep> steps = autoquant_candidate_steps(name);
    for (PtqStep s : steps) c.steps.push_back(ptq_step_name(s));
    PtqOptions po = options.ptq;
    po.on_step = nullptr;
    PtqResult ptq = run_ptq(model, config, steps, data_specs, po);
    for (const PtqStepReport& r : ptq.steps) {
      c.report.push_back(r.step + ":");
      for (const std::string& line : r.lines) c.report.push_back("  " + line);
    }
    c.score = eval(ptq.sim->annotated_model(), options.mode);
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    c.meets_target = c.score >= result.target_score;
    if (options.on_candidate) options.on_candidate(c);
    const bool better = result.candidates.empty() || c.score > best_score;
    result.candidates.push_back(std::move(c));
    if (better) {
      best_score = result.candidates.back().score;
      result.best = result.candidates.size() - 1;
      result.sim = std::move(ptq.sim);
    }
    if (result.candidates.back().meets_target) {
      result.best = result.candidates.size() - 1;
      result.target_met = true;
      break;
    }
  }
  return result;
}

}  // namespace octet::quant
