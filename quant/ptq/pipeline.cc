#include "quant/ptq/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "base/error.h"
#include "engine/passes/passes.h"
#include "engine/prepare_graph.h"
#include "loaders/npy.h"
#include "quant/data_stream.h"
#include "quant/evaluate.h"
#include "quant/fidelity.h"
#include "quant/ptq/bn_fold_stats.h"
#include "quant/ptq/relu6.h"

namespace octet::quant {
namespace {

struct StepName {
  PtqStep step;
  const char* name;
};
constexpr StepName kSteps[] = {
    {PtqStep::kRelu6, "relu6"},   {PtqStep::kBnReest, "bn-reest"},
    {PtqStep::kFoldBn, "fold-bn"}, {PtqStep::kCle, "cle"},
    {PtqStep::kHbf, "hbf"},       {PtqStep::kAdaround, "adaround"},
    {PtqStep::kBcAnalytical, "bc-analytical"}, {PtqStep::kBc, "bc"},
};

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

// The data, from data specs (streamed) or in memory.
struct Data {
  const std::vector<std::string>* specs = nullptr;
  const SampleBatch* samples = nullptr;
  const Graph* model = nullptr;  // what the specs' arrays are matched against

  SampleBatch first(int64_t n) const {
    if (samples) return samples->slice(0, std::min(n, samples->rows()));
    return load_samples(*specs, *model, n);
  }
  void calibrate(QuantSim& sim, const CalibrationOptions& co) const {
    if (samples) sim.calibrate(*samples, co);
    else sim.calibrate(*specs, co);
  }
  AdaroundReport adaround(QuantSim& sim, const AdaroundOptions& ao) const {
    return samples ? apply_adaround(sim, *samples, ao) : apply_adaround(sim, *specs, ao);
  }
};

PtqResult run(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
              const std::vector<PtqStep>& steps_in, const Data& data, const PtqOptions& options) {
  OCTET_CHECK(model, "run_ptq needs a model");
  std::set<PtqStep> steps(steps_in.begin(), steps_in.end());
  auto has = [&](PtqStep s) { return steps.count(s) != 0; };
  PtqResult result;
  using Clock = std::chrono::steady_clock;
  auto t = Clock::now();
  auto done = [&](PtqStepReport r) {
    r.seconds = std::chrono::duration<double>(Clock::now() - t).count();
    result.steps.push_back(std::move(r));
    if (options.on_step) options.on_step(result.steps.back());
    t = Clock::now();
  };
  SampleBatch small;  // samples for BC / BN re-estimation, loaded once
  auto small_data = [&]() -> const SampleBatch& {
    if (small.inputs.empty()) small = data.first(options.bc_samples);
    return small;
  };

  auto g = std::make_shared<Graph>(*model);
  remove_identities(*g);
  remove_dead_nodes(*g);
  g->compact();
  g->topo_sort();

  // CLE includes the ReLU6 replacement, as AIMET's equalize_model does: a clipping activation
  // between two layers blocks their scaling.
  if (has(PtqStep::kRelu6) || has(PtqStep::kCle)) {
    PtqStepReport r{"relu6", {}, 0};
    const Relu6Report rr = replace_relu6_with_relu(*g);
    r.lines.push_back(std::to_string(rr.changed.size()) + " ReLU6 replaced by ReLU" +
                      (has(PtqStep::kRelu6) ? "" : " (part of cle)"));
    for (const std::string& n : rr.notes) r.lines.push_back(n);
    if (!rr.changed.empty()) {
      // ReLU passes what ReLU6 clipped: say how far that moves the float model, which every
      // later figure (CLE's included) is measured against.
      const SampleBatch few = small_data().slice(0, std::min<int64_t>(small_data().rows(), 32));
      EvalOptions eo;
      eo.keep_outputs = true;
      eo.threads = options.calibration.threads;
      eo.batch = int(options.calibration.batch_size);
      const EvalResult before = evaluate(model, few, nullptr, eo), after = evaluate(g, few, nullptr, eo);
      double worst = std::numeric_limits<double>::infinity();
      for (size_t k = 0; k < before.outputs.size() && k < after.outputs.size(); ++k)
        worst = std::min(worst, compare_outputs(before.outputs[k].values, after.outputs[k].values, 0).sqnr_db);
      r.lines.push_back("the float model's outputs without the clipping: SQNR " + fmt("%.1f", worst) +
                        " dB against the original (lowest over outputs, " +
                        std::to_string(few.rows()) + " samples)");
      if (worst < 30)
        r.lines.push_back("warning: this model relies on ReLU6's clipping; the float model the "
                          "later steps and figures start from is no longer the original");
    }
    done(std::move(r));
  }
  if (has(PtqStep::kBnReest)) {
    PtqStepReport r{"bn-reest", {}, 0};
    BnReestimationOptions bo = options.bn_reestimation;
    bo.sim = options.sim;
    bo.observer = options.calibration.observer;
    bo.threads = options.calibration.threads;
    bo.batch_size = options.calibration.batch_size;
    result.bn_reestimation = reestimate_batch_norms(*g, config, small_data(), bo);
    for (const BnReestimationLayer& l : result.bn_reestimation.layers)
      r.lines.push_back(l.bn + ": " + std::to_string(l.channels) + " channels, mean |new - old| mean " +
                        fmt("%.4g", l.mean_abs_mean_change) + ", mean new/old var " +
                        fmt("%.4g", l.mean_var_ratio));
    for (const std::string& n : result.bn_reestimation.notes) r.lines.push_back(n);
    done(std::move(r));
  }
  const bool fold = has(PtqStep::kFoldBn) || has(PtqStep::kCle) || has(PtqStep::kHbf) ||
                    has(PtqStep::kBcAnalytical) || options.sim.fold_batch_norms;
  if (fold) {
    PtqStepReport r{"fold-bn", {}, 0};
    fill_intermediate_shapes(*g);
    BnFoldReport fr = fold_batch_norms_keep_stats(*g);
    remove_dead_nodes(*g);
    g->compact();
    g->topo_sort();
    result.bn_stats = std::move(fr.stats);
    r.lines.push_back(std::to_string(result.bn_stats.size()) + " BatchNorm folded (statistics kept)");
    for (const std::string& n : fr.pass.notes) r.lines.push_back(n);
    if (!options.sim.fold_batch_norms)
      r.lines.push_back("BN folding done although not requested: a later step needs it");
    done(std::move(r));
  }
  if (has(PtqStep::kCle)) {
    PtqStepReport r{"cle", {}, 0};
    const ClsReport cr = cross_layer_scale(*g, &result.bn_stats, options.cls);
    for (const ClsSet& s : cr.sets) {
      std::string line;
      for (size_t i = 0; i < s.layers.size(); ++i) {
        line += (i ? " -> " : "") + s.layers[i];
        if (i < s.ratio_before.size())
          line += " (range ratio " + fmt("%.3g", s.ratio_before[i]) + " -> " + fmt("%.3g", s.ratio_after[i]) + ")";
      }
      r.lines.push_back(line);
    }
    r.lines.push_back(std::to_string(cr.sets.size()) + " sets, " + std::to_string(cr.iterations) +
                      " iterations" + (cr.converged ? ", converged" : ""));
    for (const std::string& n : cr.notes) r.lines.push_back(n);
    done(std::move(r));
  }
  if (has(PtqStep::kHbf)) {
    PtqStepReport r{"hbf", {}, 0};
    const HbaReport hr = absorb_high_biases(*g, result.bn_stats, options.cls);
    for (const HbaLayer& l : hr.layers) {
      double sum = 0;
      int n = 0;
      for (float c : l.absorbed) sum += c, n += c > 0;
      r.lines.push_back(l.layer + " -> " + l.next + ": " + std::to_string(n) + " channels absorbed, mean " +
                        fmt("%.4g", l.absorbed.empty() ? 0.0 : sum / l.absorbed.size()));
    }
    if (hr.layers.empty()) r.lines.push_back("no layer absorbed");
    for (const std::string& n : hr.notes) r.lines.push_back(n);
    done(std::move(r));
  }

  QuantSimOptions so = options.sim;
  so.fold_batch_norms = fold;
  result.sim = std::make_unique<QuantSim>(g, config, so);
  QuantSim& sim = *result.sim;
  sim.compute_param_encodings(options.calibration.observer);
  bool calibrated = false;

  if (has(PtqStep::kAdaround)) {
    PtqStepReport r{"adaround", {}, 0};
    AdaroundOptions ao = options.adaround;
    if (ao.threads <= 1) ao.threads = std::max(1, options.calibration.threads);
    result.adaround = data.adaround(sim, ao);
    for (const AdaroundLayerReport& l : result.adaround.layers) {
      if (l.skipped) {
        r.lines.push_back(l.node + ": skipped (" + l.reason + ")");
        continue;
      }
      r.lines.push_back(l.node + " (" + l.op_type + (l.activation.empty() ? "" : "+" + l.activation) +
                        ", " + std::to_string(l.k) + "x" + std::to_string(l.n) +
                        (l.groups > 1 ? " g" + std::to_string(l.groups) : "") + ", " +
                        std::to_string(l.rows) + " rows, " +
                        fmt("%.1f", double(l.cache_bytes) / (1 << 20)) +
                        " MiB): MSE " + fmt("%.4g", l.mse_nearest) + " -> " +
                        fmt("%.4g", l.mse_adaround) + ", " + fmt("%.1f", 100 * l.changed_fraction) +
                        "% flipped, " + std::to_string(l.iterations) + " it in " +
                        fmt("%.2f", l.optimize_seconds) + " s (" + fmt("%.0f", l.iterations_per_second) +
                        " it/s) + " + fmt("%.2f", l.collect_seconds) + " s caching");
    }
    r.lines.push_back(std::to_string(result.adaround.layers_rounded) + " layers rounded in " +
                      fmt("%.1f", result.adaround.seconds) + " s, peak RSS " +
                      fmt("%.0f", result.adaround.peak_rss_kb / 1024.0) + " MiB (it holds one layer's rows at a " +
                      "time, at most " + fmt("%.0f", double(options.adaround.max_cache_bytes) / (1 << 20)) +
                      " MiB, beside the forward passes' sessions)");
    done(std::move(r));
  }
  const bool bc = has(PtqStep::kBc), bca = has(PtqStep::kBcAnalytical);
  if (bc || bca) {
    PtqStepReport r{bc && bca ? "bc (hybrid)" : bca ? "bc-analytical" : "bc", {}, 0};
    if (has(PtqStep::kAdaround))
      r.lines.push_back("note: AIMET advises against combining AdaRound with bias correction");
    BiasCorrectionOptions bo = options.bias_correction;
    bo.recalibrate = false;
    bo.threads = options.calibration.threads;
    bo.calibration = options.calibration;
    if (bc && bca) {
      result.bias_correction = correct_bias_hybrid(sim, result.bn_stats, small_data(), bo);
    } else if (bca) {
      result.bias_correction = correct_bias_analytical(sim, result.bn_stats);
    } else {
      sim.calibrate(small_data(), options.calibration);
      result.bias_correction = correct_bias_empirical(sim, small_data(), bo);
    }
    for (const LayerBiasCorrection& l : result.bias_correction.layers) {
      if (l.skipped) r.lines.push_back(l.node + ": skipped (" + l.reason + ")");
      else if (l.method == "analytical")
        r.lines.push_back(l.node + ": analytical, mean |shift| corrected " + fmt("%.4g", l.shift_before));
      else
        r.lines.push_back(l.node + ": empirical, mean |shift| " + fmt("%.4g", l.shift_uncorrected) +
                          " uncorrected, " + fmt("%.4g", l.shift_before) + " before, " +
                          fmt("%.4g", l.shift_after) + " after");
    }
    // The shifts are measured on the samples the corrections were estimated from: "after" is
    // near zero by construction and says nothing of unseen data (evaluate the result for that).
    if (bc) r.lines.push_back("shifts measured on the " + std::to_string(small_data().rows()) +
                              " samples the corrections were estimated from (in-sample), with " +
                              (bo.measure_with_activation_quantizers
                                   ? "every quantizer on"
                                   : "the weights and model inputs quantized, activations in float (as AIMET)"));
    r.lines.push_back(std::to_string(result.bias_correction.layers_corrected) + " of " +
                      std::to_string(result.bias_correction.layers.size()) + " layers corrected");
    done(std::move(r));
  }
  if (!calibrated) {
    data.calibrate(sim, options.calibration);
    calibrated = true;
  }
  return result;
}

}  // namespace

const char* ptq_step_name(PtqStep step) {
  for (const StepName& s : kSteps)
    if (s.step == step) return s.name;
  return "?";
}

std::vector<PtqStep> parse_ptq_steps(const std::string& list) {
  std::set<PtqStep> set;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(pos, end - pos);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (!name.empty()) {
      bool found = false;
      for (const StepName& s : kSteps)
        if (name == s.name) set.insert(s.step), found = true;
      if (!found) {
        std::string known;
        for (const StepName& s : kSteps) known += std::string(known.empty() ? "" : ", ") + s.name;
        fail("unknown PTQ step '", name, "' (known: ", known, ")");
      }
    }
    pos = end + 1;
  }
  return std::vector<PtqStep>(set.begin(), set.end());  // enum order = AIMET's order
}

PtqResult run_ptq(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
                  const std::vector<PtqStep>& steps, const std::vector<std::string>& data_specs,
                  const PtqOptions& options) {
  const Data data{&data_specs, nullptr, model.get()};
  return run(std::move(model), config, steps, data, options);
}

PtqResult run_ptq(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
                  const std::vector<PtqStep>& steps, const SampleBatch& samples,
                  const PtqOptions& options) {
  return run(std::move(model), config, steps, Data{nullptr, &samples}, options);
}

}  // namespace octet::quant
