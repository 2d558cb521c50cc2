// AutoQuant: the PTQ techniques applied in AIMET's order until the quantized model is within
// an allowed drop of the float model's score (as AIMET's AutoQuant).
//
// Candidates, each built from the float model and evaluated by the caller's callback:
//   1. "baseline"  BN folding + QuantSim calibration
//   2. "cle"       + cross-layer equalization and high-bias absorption
//   3. "bc"        + bias correction (analytical where BN statistics exist, empirical elsewhere)
//   4. "adaround"  cle + AdaRound (AIMET does not combine AdaRound with bias correction)
// It stops at the first candidate that meets the target; otherwise it keeps the best one.
// The result holds the chosen QuantSim (its annotated model lowers to the integer model), and
// one report line set per candidate.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/execution_mode.h"
#include "engine/graph.h"
#include "quant/ptq/pipeline.h"

namespace octet::quant {

// Scores a model (higher is better, e.g. top-1 accuracy in percent) run in `mode`
// (kFloat for the reference, the AutoQuant mode for candidates).
using AutoQuantEval = std::function<double(std::shared_ptr<const Graph> model, ExecutionMode mode)>;

struct AutoQuantOptions {
  PtqOptions ptq;                                // QuantSim, calibration, AdaRound, BC settings
  double allowed_drop = 1.0;                     // target = float score - allowed_drop
  ExecutionMode mode = ExecutionMode::kInt;      // how candidates are evaluated
  std::vector<std::string> candidates = {"baseline", "cle", "bc", "adaround"};
  // Called after each candidate is evaluated.
  std::function<void(const struct AutoQuantCandidate&)> on_candidate;
};

struct AutoQuantCandidate {
  std::string name;
  std::vector<std::string> steps;  // the PTQ steps it ran
  double score = 0;
  double seconds = 0;              // PTQ + evaluation
  bool meets_target = false;
  std::vector<std::string> report;  // the steps' reports
};

struct AutoQuantResult {
  double float_score = 0;
  double target_score = 0;
  std::vector<AutoQuantCandidate> candidates;
  size_t best = 0;                  // index into candidates
  bool target_met = false;
  std::unique_ptr<QuantSim> sim;    // the best candidate's, calibrated
};

// `data_specs`: calibration data (quant/data_stream.h's specs, feeding every model input).
AutoQuantResult run_autoquant(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
                              const std::vector<std::string>& data_specs, const AutoQuantEval& eval,
                              const AutoQuantOptions& options = {});

// The PTQ steps of a candidate name; throws naming an unknown one.
std::vector<PtqStep> autoquant_candidate_steps(const std::string& name);

}  // namespace octet::quant
