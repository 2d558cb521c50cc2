// octet eval MODEL --data X.npy [--labels Y.npy] [--batch N] [--threads N] [--mode float]
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "loaders/model_loader.h"
#include "quant/fidelity.h"
#include "loaders/npy.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kEvalUsage =
    "usage: octet eval MODEL --data X.npy [--labels Y.npy] [--batch N] [--threads N]\n"
    "                  [--shape NAME=d0,...] [--mode float|qdq|exact|int] [--target PROFILE]\n"
    "\n"
    "Runs every sample of X.npy (first dimension = samples) through a one-input model,\n"
    "in slices of the model's batch size (a symbolic batch dimension is fixed to --batch).\n"
    "With labels (one integer class per sample) it prints top-1 and top-5 accuracy of the\n"
    "first output; without, statistics of every output. Progress is shown on a terminal.\n"
    "\n"
    "options:\n"
    "  --data X.npy|DIR         the samples: one .npy, or a folder of .npy files joined along\n"
    "                           axis 0 in name order (numeric dtypes are converted)\n"
    "  --labels Y.npy           integer class labels, one per sample\n"
    "  -b, --batch N            batch size when the model's batch is symbolic (default 32)\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    "  --shape NAME=d0,d1,...   fix the input shape (batch first) instead\n"
    OCTET_CLI_MODE_HELP
    "                           (on a model with encodings, quantized outputs are compared with\n"
    "                           float: SQNR, cosine, max error, top-1 agreement)\n"
    OCTET_CLI_ENCODINGS_HELP
    "  -h, --help               show this help\n";

void print_eval_result(const EvalResult& r) {
  std::printf("samples: %lld, batch %d, input %s\n", static_cast<long long>(r.samples), r.batch,
              dims_to_string(r.input_dims).c_str());
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
                          {{"--data", "", true, false}, {"--labels", "", true, false},
                           {"--batch", "-b", true, false}, kThreadsOpt, kShapeOpt, kModeOpt, kTargetOpt,
                           kEncodingsOpt, kAllowPartialOpt},
                          1, 1);
  if (args.help()) {
    std::cout << kEvalUsage;
    return 0;
  }
  const ExecutionMode mode = parse_mode(args.get("--mode", "float"));
  if (!args.has("--data")) throw UsageError("missing --data X.npy");
  EvalOptions o;
  o.batch = args.get_int("--batch", 32, 1, 1 << 20);
  o.threads = args.get_int("--threads", 1, 0, 1024);
  o.mode = mode;
  o.target = args.get("--target", "onnxruntime");
  o.shapes = parse_shapes(args.all("--shape"));
  o.progress = eval_progress();

  std::shared_ptr<Graph> graph =
      apply_encodings_option(args, mode, load_model(args.positional()[0]));
  check_shape_names(*graph, o.shapes);
  HostTensor data = load_npy_dataset(args.get("--data"));
  HostTensor labels;
  if (args.has("--labels")) labels = load_npy(args.get("--labels"));
  if (mode != ExecutionMode::kFloat) o.keep_scores = true;
  EvalResult r = evaluate(graph, data, args.has("--labels") ? &labels : nullptr, o);
  std::printf("mode: %s\n", execution_mode_name(mode));
  print_eval_result(r);
  if (mode != ExecutionMode::kFloat && is_integer_graph(*graph)) {
    std::printf("(an integer model has no float weights: no comparison against float)\n");
  } else if (mode != ExecutionMode::kFloat) {
    // Fidelity of output 0 against the float model on the same samples.
    EvalOptions fo = o;
    fo.mode = ExecutionMode::kFloat;
    fo.progress = nullptr;
    EvalResult reference = evaluate(graph, data, args.has("--labels") ? &labels : nullptr, fo);
    const quant::Fidelity f = quant::compare_outputs(reference.scores, r.scores, r.classes);
    std::printf("against float: SQNR %.2f dB, cosine %.6f, max |error| %.4g, top-1 agreement "
                "%.2f%% (%lld/%lld)\n",
                f.sqnr_db, f.cosine, f.max_abs_error,
                f.rows ? 100.0 * static_cast<double>(f.top1_agree) / static_cast<double>(f.rows) : 0.0,
                static_cast<long long>(f.top1_agree), static_cast<long long>(f.rows));
    if (reference.has_labels)
      std::printf("float top-1 accuracy: %.2f%% (drop %.2f points)\n",
                  100.0 * static_cast<double>(reference.top1) / static_cast<double>(reference.samples),
                  100.0 * static_cast<double>(reference.top1 - r.top1) / static_cast<double>(r.samples));
  }
  return 0;
}

}  // namespace octet::cli
