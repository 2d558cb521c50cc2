// octet eval MODEL --data X.npy|X.npz|NAME=X.npy... [--labels Y.npy] [--batch N] [--mode M]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "loaders/model_loader.h"
#include "quant/fidelity.h"
#include "loaders/npy.h"
#include "quant/data_stream.h"
#include "quant/non_finite_origin.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kEvalUsage =
    "usage: octet eval MODEL --data DATA [--data NAME=FILE ...] [--labels Y.npy] [--batch N]\n"
    "                  [--threads N] [--shape NAME=d0,...] [--mode float|qdq|exact|int]\n"
    "                  [--target PROFILE] [--metric-cmd CMD]\n"
    "\n"
    "Runs every sample (first dimension = samples) through the model, in slices of the\n"
    "model's batch size (a symbolic batch dimension is fixed to --batch). With labels (one\n"
    "integer class per sample) it prints top-1 and top-5 accuracy of the first output;\n"
    "without, statistics of every output. In qdq, exact or int mode every output is compared\n"
    "with float. Progress is shown on a terminal.\n"
    "\n"
    "options:\n"
    OCTET_CLI_DATA_HELP
    "  --labels Y.npy           integer class labels, one per sample\n"
    "  -b, --batch N            batch size when the model's batch is symbolic (default 32)\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    "  --shape NAME=d0,d1,...   fix the input shape (batch first) instead\n"
    OCTET_CLI_MODE_HELP
    "                           (on a model with encodings, every output is compared with float:\n"
    "                           SQNR, cosine, max error; top-1 agreement for class scores)\n"
    OCTET_CLI_ENCODINGS_HELP
    "  --metric-cmd CMD         also print the number CMD prints on its last line, run on the\n"
    "                           outputs: {outputs} becomes a folder holding OUTPUT.npy per output\n"
    "                           (samples along axis 0); in qdq/exact/int mode also for float\n"
    "  -h, --help               show this help\n";

void print_eval_result(const EvalResult& r) {
  std::printf("samples: %lld, batch %d, input", static_cast<long long>(r.samples), r.batch);
  for (const auto& [name, dims] : r.inputs)
    std::printf("%s %s", r.inputs.size() > 1 ? (" " + name).c_str() : "", dims_to_string(dims).c_str());
  std::printf("\n");
  if (r.has_labels) {
    std::printf("top-1 accuracy: %.2f%% (%lld/%lld)\n", 100.0 * r.top1 / r.samples,
                static_cast<long long>(r.top1), static_cast<long long>(r.samples));
    if (r.classes >= 5)
      std::printf("top-5 accuracy: %.2f%% (%lld/%lld)\n", 100.0 * r.top5 / r.samples,
                  static_cast<long long>(r.top5), static_cast<long long>(r.samples));
  } else {
    for (const quant::OutputStats& s : r.stats) {
      std::printf("output %s: %lld values, min %.6g, max %.6g, mean %.6g, std %.6g", s.name.c_str(),
                  static_cast<long long>(s.count), s.min, s.max, s.mean, s.stddev);
      if (s.nan) std::printf(", %lld NaN", static_cast<long long>(s.nan));
      std::printf("\n");
    }
    if (!r.predicted_counts.empty() && r.predicted_counts.size() <= 20) {
      std::printf("predicted classes (argmax of the first output):");
      for (size_t c = 0; c < r.predicted_counts.size(); ++c)
        std::printf(" %zu:%lld", c, static_cast<long long>(r.predicted_counts[c]));
      std::printf("\n");
    }
  }
  std::printf("time: %.3f s in inference (%.3f ms per sample), %.3f s to prepare\n", r.seconds,
              r.samples ? 1000.0 * r.seconds / r.samples : 0.0, r.prepare_seconds);
}

int cmd_eval(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv,
                          {kDataOpt, {"--labels", "", true, false},
                           {"--batch", "-b", true, false}, kThreadsOpt, kShapeOpt, kModeOpt, kTargetOpt,
                           kEncodingsOpt, kAllowPartialOpt, {"--metric-cmd", "", true, false}},
                          1, 1);
  if (args.help()) {
    std::cout << kEvalUsage;
    return 0;
  }
  if (!args.has("--data")) throw UsageError("missing --data");
  std::shared_ptr<Graph> model = load_model(args.positional()[0]);
  const ExecutionMode mode = mode_option(args, *model);
  EvalOptions o;
  o.batch = args.get_int("--batch", 32, 1, 1 << 20);
  o.threads = args.get_int("--threads", 1, 0, 1024);
  o.mode = mode;
  o.target = args.get("--target", "onnxruntime");
  o.shapes = parse_shapes(args.all("--shape"));
  o.progress = eval_progress();

  std::shared_ptr<Graph> graph = apply_encodings_option(args, mode, std::move(model));
  check_shape_names(*graph, o.shapes);
  const quant::SampleBatch data = quant::load_samples(args.all("--data"), *graph);
  HostTensor labels;
  if (args.has("--labels")) labels = load_npy(args.get("--labels"));
  const std::string metric = args.get("--metric-cmd");
  if (mode != ExecutionMode::kFloat || !metric.empty()) o.keep_outputs = true;
  EvalResult r = evaluate(graph, data, args.has("--labels") ? &labels : nullptr, o);
  std::printf("mode: %s\n", execution_mode_name(mode));
  print_eval_result(r);
  if (!metric.empty()) std::printf("metric (--metric-cmd): %.6g\n", run_metric_command(metric, r));
  if (mode != ExecutionMode::kFloat && is_integer_graph(*graph)) {
    std::printf("(an integer model has no float weights: no comparison against float)\n");
  } else if (mode != ExecutionMode::kFloat) {
    // Every output against the float model on the same samples.
    EvalOptions fo = o;
    fo.mode = ExecutionMode::kFloat;
    fo.progress = nullptr;
    EvalResult reference = evaluate(graph, data, args.has("--labels") ? &labels : nullptr, fo);
    if (!metric.empty()) std::printf("float metric (--metric-cmd): %.6g\n", run_metric_command(metric, reference));
    std::printf("against float:\n");
    bool trace_float = false, trace_mode = false;
    for (size_t k = 0; k < r.outputs.size() && k < reference.outputs.size(); ++k) {
      const EvalResult::KeptOutput& got = r.outputs[k];
      // Top-1 agreement only where a sample's output is one row of class scores.
      const int64_t row = got.sample_dims.size() == 1 && got.sample_dims[0] >= 2 ? got.sample_dims[0] : 0;
      const quant::Fidelity f = quant::compare_outputs(reference.outputs[k].values, got.values, row);
      std::printf("  output %s %s: SQNR %.2f dB, cosine %.6f, max |error| %.4g", got.name.c_str(),
                  dims_to_string(got.sample_dims).c_str(), f.sqnr_db, f.cosine, f.max_abs_error);
      if (row)
        std::printf(", top-1 agreement %.2f%% (%lld/%lld)",
                    f.rows ? 100.0 * static_cast<double>(f.top1_agree) / static_cast<double>(f.rows) : 0.0,
                    static_cast<long long>(f.top1_agree), static_cast<long long>(f.rows));
      // NaN or infinity makes the figures above meaningless: say so rather than print "nan".
      auto non_finite = [](const std::vector<float>& v) {
        return std::count_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); });
      };
      const auto bad = non_finite(got.values), bad_float = non_finite(reference.outputs[k].values);
      if (bad || bad_float)
        std::printf("; NOT comparable: %lld NaN/infinite values in the %s output, %lld in float's",
                    static_cast<long long>(bad), execution_mode_name(mode), static_cast<long long>(bad_float));
      std::printf("\n");
      if (bad_float) trace_float = true;
      else if (bad) trace_mode = true;
    }
    // Where the first NaN / infinity came from: float's own, else the simulation's (qdq).
    const ExecutionMode trace = trace_float ? ExecutionMode::kFloat : mode;
    if ((trace_float || trace_mode) && (trace == ExecutionMode::kFloat || trace == ExecutionMode::kQdq)) {
      const auto origin = quant::find_non_finite_origin(graph, data, trace, o.threads);
      if (origin)
        std::printf("first non-finite value (%s): %s\n", execution_mode_name(trace),
                    quant::describe(*origin).c_str());
    }
    if (reference.has_labels)
      std::printf("float top-1 accuracy: %.2f%% (drop %.2f points)\n",
                  100.0 * static_cast<double>(reference.top1) / static_cast<double>(reference.samples),
                  100.0 * static_cast<double>(reference.top1 - r.top1) / static_cast<double>(r.samples));
  }
  return 0;
}

}  // namespace octet::cli
