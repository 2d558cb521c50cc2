#include "quant/analyzer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "base/atomic_file.h"
#include "base/error.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "quant/analysis_json.h"
#include "quant/analysis_report.h"
#include "quant/encoding.h"
#include "quant/fidelity.h"

namespace octet::quant {
namespace {

using Clock = std::chrono::steady_clock;

double default_score(const EvalResult& run, const EvalResult& float_run) {
  if (run.has_labels)
    return run.samples ? 100.0 * double(run.top1) / double(run.samples) : 0.0;
  double sum = 0;
  for (size_t k = 0; k < run.outputs.size() && k < float_run.outputs.size(); ++k) {
    const Fidelity f = compare_outputs(float_run.outputs[k].values, run.outputs[k].values, 0);
    sum += std::isnan(f.sqnr_db) ? -kMaxSqnrDb : std::min(f.sqnr_db, kMaxSqnrDb);
  }
  return run.outputs.empty() ? 0.0 : sum / double(run.outputs.size());
}

// Top-1 agreement (%) of the first outputs when they are rows of class scores; NaN otherwise.
double top1_agreement(const EvalResult& run, const EvalResult& float_run) {
  if (run.outputs.empty() || float_run.outputs.empty()) return std::nan("");
  const EvalResult::KeptOutput &a = float_run.outputs[0], &b = run.outputs[0];
  if (a.sample_dims.size() != 1 || a.sample_dims[0] < 2 || a.values.size() != b.values.size())
    return std::nan("");
  const Fidelity f = compare_outputs(a.values, b.values, a.sample_dims[0]);
  return f.rows ? 100.0 * double(f.top1_agree) / double(f.rows) : std::nan("");
}

// Every node with a quantizer on one of its inputs, outputs or parameters, and those quantizers.
struct Layer {
  size_t node;
  std::vector<size_t> quantizers;
};

std::vector<Layer> layers_of(const QuantSim& sim) {
  const Graph& g = sim.model();
  std::unordered_map<std::string, std::vector<size_t>> by_tensor;
  for (size_t q = 0; q < sim.quantizers().size(); ++q)
    if (sim.quantizers()[q].enabled) by_tensor[sim.quantizers()[q].tensor].push_back(q);
  std::vector<Layer> layers;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    std::set<size_t> qs;
    for (const auto* list : {&g.nodes[n].inputs, &g.nodes[n].outputs})
      for (TensorId t : *list)
        if (t != kNoTensor)
          if (auto it = by_tensor.find(g.tensor(t).name); it != by_tensor.end())
            qs.insert(it->second.begin(), it->second.end());
    if (!qs.empty()) layers.push_back({n, {qs.begin(), qs.end()}});
  }
  return layers;
}

// Mean squared error of each node's first float output, all quantized (qdq) against float, over
// the first samples of the data; a node whose output has a quantizer is compared after it. The
// float and the qdq session run one sample at a time side by side: only the sums are kept.
std::vector<double> output_mse(const QuantSim& sim, const std::vector<Layer>& layers,
                               const SampleBatch& data, int threads) {
  const int64_t samples = std::min<int64_t>(data.rows(), 16);
  std::vector<double> sum(layers.size(), 0.0);
  std::vector<int64_t> count(layers.size(), 0);
  if (samples == 0) return sum;
  struct Run {
    std::shared_ptr<Graph> graph;
    std::vector<int64_t> output_of_layer;  // index into the session's outputs, -1: not compared
    std::unique_ptr<Session> session;
  };
  Run runs[2];  // 0: float, 1: qdq
  for (int pass = 0; pass < 2; ++pass) {
    Run& run = runs[pass];
    run.graph = std::make_shared<Graph>(*sim.annotated_model());
    Graph& g = *run.graph;
    if (pass == 1) insert_fake_quantization(g);
    // The tensor a consumer reads for each named tensor: its fake quantizer's output, if any.
    std::unordered_map<std::string, TensorId> read_as;
    for (const Node& n : g.nodes)
      if (n.op_type == "octet.QuantizeDequantize") read_as[g.tensor(n.inputs[0]).name] = n.outputs[0];
    for (TensorInfo& t : g.tensors) t.quant = QuantParams{};
    for (const Layer& l : layers) {
      run.output_of_layer.push_back(-1);
      const Node& n = sim.model().nodes[l.node];
      if (n.outputs.empty() || n.outputs[0] == kNoTensor) continue;
      const std::string name = sim.model().tensor(n.outputs[0]).name;
      auto id = g.find_tensor(name);
      if (!id || g.tensor(*id).dtype != DType::kF32) continue;
      const TensorId shown = read_as.count(name) ? read_as[name] : *id;
      auto at = std::find(g.outputs.begin(), g.outputs.end(), shown);
      if (at == g.outputs.end()) at = g.outputs.insert(g.outputs.end(), shown);
      run.output_of_layer.back() = at - g.outputs.begin();
    }
    SessionOptions so;
    so.optimize = false;
    so.threads = threads;
    for (const HostTensor& t : data.slice(0, 1).inputs) so.input_shapes[t.name] = t.dims;
    run.session = std::make_unique<Session>(run.graph, so);
  }
  for (int64_t s = 0; s < samples; ++s) {
    const SampleBatch row = data.slice(s, s + 1);
    const std::vector<HostTensor> ref = runs[0].session->run(row.inputs);
    const std::vector<HostTensor> test = runs[1].session->run(row.inputs);
    for (size_t i = 0; i < layers.size(); ++i) {
      const int64_t a = runs[0].output_of_layer[i], b = runs[1].output_of_layer[i];
      if (a < 0 || b < 0) continue;
      const auto x = ref[size_t(a)].values<float>(), y = test[size_t(b)].values<float>();
      if (x.size() != y.size()) continue;
      for (size_t k = 0; k < x.size(); ++k) {
        const double d = double(x[k]) - double(y[k]);
        sum[i] += d * d;
      }
      count[i] += int64_t(x.size());
    }
  }
  for (size_t i = 0; i < layers.size(); ++i) sum[i] = count[i] ? sum[i] / double(count[i]) : 0.0;
  return sum;
}

}  // namespace

AnalysisReport analyze(QuantSim& sim, const SampleBatch& eval_data, const HostTensor* labels,
                       const AnalyzerOptions& options) {
  const auto start = Clock::now();
  for (const Quantizer& q : sim.quantizers())
    OCTET_CHECK(!q.enabled || q.encoding, "analyze needs a calibrated QuantSim: the quantizer on '",
                q.tensor, "' has no encoding");
  OCTET_CHECK(options.eval.mode != ExecutionMode::kFloat, "analyze scores quantized runs: mode ",
              "qdq, int or exact, not float");
  std::vector<char> enabled;
  for (const Quantizer& q : sim.quantizers()) enabled.push_back(q.enabled);
  auto restore = [&] {
    for (size_t q = 0; q < enabled.size(); ++q) sim.quantizers()[q].enabled = enabled[q];
  };
  const auto score_fn = options.score ? options.score : default_score;
  AnalysisReport report;
  report.score_is_sqnr = !options.score && !labels;
  report.score_name = !options.score_name.empty() ? options.score_name
                      : labels                     ? "top-1 accuracy (%)"
                                                   : "mean output SQNR against float (dB)";
  const std::vector<Layer> layers = layers_of(sim);
  const size_t total = 6 + 2 * layers.size() + std::min(layers.size(), options.max_override_layers);
  size_t done = 0;

  EvalOptions fo = options.eval;
  fo.mode = ExecutionMode::kFloat;
  fo.keep_outputs = true;
  fo.progress = nullptr;
  const auto float_start = Clock::now();
  const EvalResult float_run = evaluate(sim.model_ptr(), eval_data, labels, fo);
  report.float_eval_seconds = std::chrono::duration<double>(Clock::now() - float_start).count();
  report.float_score = score_fn(float_run, float_run);

  double last_agreement = std::nan("");  // of the latest score_with run
  report.agreement = !labels && !std::isnan(top1_agreement(float_run, float_run));
  // The score with the quantizers `on` says are enabled (of those enabled to begin with).
  auto score_with = [&](const std::string& sweep, const std::function<bool(size_t)>& on) {
    if (options.progress) options.progress(sweep, done, total);
    bool any = false;
    for (size_t q = 0; q < enabled.size(); ++q) {
      sim.quantizers()[q].enabled = enabled[q] && on(q);
      any |= bool(sim.quantizers()[q].enabled);
    }
    EvalOptions eo = options.eval;
    eo.keep_outputs = true;
    eo.progress = nullptr;
    // No quantizer left: every mode runs the float model (int and exact refuse a model
    // without encodings); the FP32 sanity check then tests the placement's graph changes.
    if (!any) eo.mode = ExecutionMode::kFloat;
    const EvalResult r = evaluate(sim.annotated_model(), eval_data, labels, eo);
    done++;
    report.evaluations++;
    last_agreement = labels ? std::nan("") : top1_agreement(r, float_run);
    return score_fn(r, float_run);
  };
  try {
    auto is_param = [&](size_t q) { return sim.quantizers()[q].role == QuantizerRole::kParam; };
    report.fp32_sanity = score_with("FP32 sanity", [](size_t) { return false; });
    report.fp32_sanity_agreement = last_agreement;
    report.weights_only = score_with("weights only", is_param);
    report.weights_only_agreement = last_agreement;
    report.activations_only = score_with("activations only", [&](size_t q) { return !is_param(q); });
    report.activations_only_agreement = last_agreement;
    report.all_quantized = score_with("all quantized", [](size_t) { return true; });
    report.all_quantized_agreement = last_agreement;
    for (const Layer& l : layers) {
      LayerSensitivity s;
      s.node = sim.model().nodes[l.node].name;
      s.op_type = sim.model().nodes[l.node].op_type;
      for (size_t q : l.quantizers) s.quantizers.push_back(sim.quantizers()[q].tensor);
      auto mine = [&](size_t q) { return std::binary_search(l.quantizers.begin(), l.quantizers.end(), q); };
      s.only_this = score_with("per-layer enabled: " + s.node, mine);
      s.only_this_agreement = last_agreement;
      s.all_but_this = score_with("per-layer disabled: " + s.node, [&](size_t q) { return !mine(q); });
      s.all_but_this_agreement = last_agreement;
      report.layers.push_back(std::move(s));
    }
    restore();
    report.override_bits = options.override_bits;
    // Recovering a share of the loss; for the SQNR score (float's is the cap), removing that
    // share of the noise power: 90% is +10 dB.
    const double target = report.score_is_sqnr
                              ? report.all_quantized + 10 * std::log10(1 / std::max(1e-9, 1 - options.recovery))
                              : report.float_score - (1 - options.recovery) * (report.float_score - report.all_quantized);
    if (report.all_quantized < target) {
      OCTET_CHECK(options.override_bits >= 2 && options.override_bits <= 16, "analyze: override bitwidth ",
                  options.override_bits, " is outside [2, 16]");
      const std::vector<size_t> order = sensitivity_order(report);
      std::vector<std::optional<TensorEncoding>> saved;
      for (const Quantizer& q : sim.quantizers()) saved.push_back(q.encoding);
      std::vector<char> widened(saved.size(), 0);  // a tensor shared by two layers: once
      try {
        for (size_t k = 0; k < order.size() && k < options.max_override_layers; ++k) {
          for (size_t q : layers[order[k]].quantizers) {
            Quantizer& qz = sim.quantizers()[q];
            if (!qz.encoding || widened[q]) continue;
            widened[q] = 1;
            TensorEncoding wide = *qz.encoding;
            for (Encoding& e : wide.encodings)
              e = compute_encoding(float(e.min), float(e.max), options.override_bits, qz.kind);
            qz.encoding = wide;
          }
          report.kept_scores.push_back(score_with(
              "most sensitive " + std::to_string(k + 1) + " at " + std::to_string(options.override_bits) + " bits",
              [](size_t) { return true; }));
          if (report.kept_scores.back() >= target) {
            report.override_layers = k + 1;
            break;
          }
        }
      } catch (...) {
        for (size_t q = 0; q < saved.size(); ++q) sim.quantizers()[q].encoding = saved[q];
        throw;
      }
      for (size_t q = 0; q < saved.size(); ++q) sim.quantizers()[q].encoding = saved[q];
      restore();
      if (report.override_layers == 0 && !report.kept_scores.empty()) {  // the best the sweep saw
        const auto best = std::max_element(report.kept_scores.begin(), report.kept_scores.end());
        if (*best > report.all_quantized) report.override_layers = size_t(best - report.kept_scores.begin()) + 1;
      }
    }
    if (options.progress) options.progress("per-layer MSE", done, total);
    const std::vector<double> mse = output_mse(sim, layers, eval_data, options.eval.threads);
    for (size_t i = 0; i < layers.size(); ++i) report.layers[i].output_mse = mse[i];
    done++;
  } catch (...) {
    restore();
    throw;
  }
  for (const Quantizer& q : sim.quantizers()) {
    if (!q.enabled || !q.encoding) continue;
    QuantizerRange r{q.tensor, q.role == QuantizerRole::kParam, {}, {}};
    for (const Encoding& e : q.encoding->encodings) {
      r.min.push_back(e.min);
      r.max.push_back(e.max);
    }
    report.ranges.push_back(std::move(r));
  }
  report.weight_ranges = weight_channel_ranges(sim.model());
  if (options.before_ptq) {
    report.weight_ranges_before_ptq = weight_channel_ranges(*options.before_ptq);
    report.ptq_steps = options.ptq_steps;
  }
  if (options.progress) options.progress("histograms", done, total);
  report.histograms = value_histograms(sim, eval_data, options.eval.threads, options.histogram_samples);
  done++;
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

double score_quantsim(const QuantSim& sim, const SampleBatch& eval_data, const HostTensor* labels,
                      const AnalyzerOptions& options) {
  const auto score_fn = options.score ? options.score : default_score;
  EvalOptions fo = options.eval;
  fo.mode = ExecutionMode::kFloat;
  fo.keep_outputs = true;
  fo.progress = nullptr;
  const EvalResult float_run = evaluate(sim.model_ptr(), eval_data, labels, fo);
  EvalOptions eo = options.eval;
  eo.keep_outputs = true;
  eo.progress = nullptr;
  return score_fn(evaluate(sim.annotated_model(), eval_data, labels, eo), float_run);
}

std::vector<size_t> sensitivity_order(const AnalysisReport& report) {
  std::vector<size_t> order(report.layers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const LayerSensitivity &x = report.layers[a], &y = report.layers[b];
    if (x.only_this != y.only_this) return x.only_this < y.only_this;
    return x.all_but_this > y.all_but_this;
  });
  return order;
}

void write_analysis(const AnalysisReport& report, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "min_max_ranges", ec);
  OCTET_CHECK(!ec, "cannot create the folder '", dir, "/min_max_ranges': ", ec.message());
  auto write = [&](const std::string& name, const nlohmann::ordered_json& j) {
    const std::string text = j.dump(2) + "\n";
    write_file_atomically((fs::path(dir) / name).string(), text.data(), text.size());
  };
  nlohmann::ordered_json enabled, disabled, mse, acts, weights;
  for (const LayerSensitivity& l : report.layers) {
    enabled[l.node] = l.only_this;
    disabled[l.node] = l.all_but_this;
    mse[l.node] = l.output_mse;
  }
  for (const QuantizerRange& r : report.ranges)
    (r.param ? weights : acts)[r.tensor] = {{"min", r.min}, {"max", r.max}};
  write("per_layer_quant_enabled.json", enabled);
  write("per_layer_quant_disabled.json", disabled);
  write("per_layer_mse_loss.json", mse);
  write("min_max_ranges/activations.json", acts);
  write("min_max_ranges/weights.json", weights);
  write("weight_ranges.json", weight_ranges_json(report));
  write("histograms.json", histograms_json(report));
  const std::string html = analysis_report_html(report);
  write_file_atomically((fs::path(dir) / "report.html").string(), html.data(), html.size());
  nlohmann::ordered_json s = analysis_summary_json(report);
  s["layers_most_sensitive_first"] = layer_sensitivity_json(report, sensitivity_order(report));
  write("sensitivity.json", s);
}

}  // namespace octet::quant
