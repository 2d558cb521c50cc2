// octet autoquant MODEL --data CALIB --eval-data X [--labels Y] [--allowed-drop P] -o OUT.octet
#include <cstdio>
#include <sstream>
#include <iostream>

#include "base/error.h"
#include "base/file_util.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/autoquant.h"
#include "quant/encodings_io.h"
#include "quant/fidelity.h"
#include "quant/data_stream.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kAutoquantUsage =
    "usage: octet autoquant MODEL --data CALIB [--data NAME=FILE ...] --eval-data X.npy\n"
    "                       [--eval-data NAME=FILE ...] [--labels Y.npy]\n"
    "                       [--allowed-drop P] -o OUT.octet [--encodings OUT.encodings]\n"
    "                       [--report REPORT.json] [--report-html FILE] [--mode int|exact|qdq]\n"
    "                       [--target PROFILE]\n"
    "                       [--config CFG] [--param-bw N] [--act-bw N] [--per-channel]\n"
    "                       [--candidates baseline,cle,bc,adaround] [--adaround-iterations N]\n"
    "                       [--batch N] [--threads N] [--metric-cmd CMD]\n"
    "\n"
    "Quantizes MODEL with the post-training techniques in AIMET's order — the baseline\n"
    "(BN folded), then cross-layer equalization with high-bias absorption, then bias\n"
    "correction, then AdaRound — evaluating each candidate until its score is within the\n"
    "allowed drop of the float model's, and writes the best one: the integer model (-o), its\n"
    "encodings and a report of every candidate. The score is top-1 accuracy on X with labels,\n"
    "else agreement with the float model in percent (top-1 agreement where the first output\n"
    "is rows of class scores, else the mean cosine similarity of every output), or the number\n"
    "--metric-cmd prints (detection mAP, mask IoU, ...). Exit status 3 when no candidate\n"
    "meets the target (the best one is written anyway).\n"
    "\n"
    "options:\n"
    "  --data CALIB             calibration samples: a .npy (one-input models), a .npz with one\n"
    "                           array per input (keys = input names), or a folder of either;\n"
    "                           --data NAME=FILE, repeated, feeds one input each\n"
    "  --eval-data X            evaluation samples (.npy, .npz or folder, or NAME=FILE\n"
    "                           repeated, as --data)\n"
    "  --shape NAME=d0,d1,...   the integer model's input shape (batch first); without it,\n"
    "                           symbolic dimensions come from the first calibration sample\n"
    "  --model-batch N          the integer model's batch when the model's is symbolic (default 1)\n"
    "  --labels Y.npy           integer class labels of X (else: agreement with float, above)\n"
    "  --metric-cmd CMD         the score is what CMD prints on its last line, run on the\n"
    "                           outputs: {outputs} in CMD becomes a folder holding OUTPUT.npy\n"
    "                           per model output (samples along axis 0), e.g.\n"
    "                           --metric-cmd 'python3 map.py {outputs}' (higher is better)\n"
    "  --allowed-drop P         accepted score drop in points (default 1.0)\n"
    "  -o, --output OUT.octet   the chosen candidate's integer model\n"
    "  --encodings FILE         its encodings (AIMET 1.0.0 JSON)\n"
    "  --report FILE            a JSON report: float score, target, every candidate\n"
    "  --report-html FILE       the chosen candidate analyzed as `octet analyze` does, on the\n"
    "                           evaluation data with this score (in --mode), as an HTML report\n"
    "  --mode M                 how candidates are evaluated: int (default), exact or qdq\n"
    "  --target PROFILE         integer arithmetic (default onnxruntime)\n"
    "  --config CFG             quantsim config (default default_config)\n"
    "  --param-bw N, --act-bw N bitwidths (default 8)\n"
    "  --per-channel            per-channel weight encodings\n"
    "  --candidates LIST        the candidates to try, in this order (default all four)\n"
    "  --adaround-iterations N  AdaRound iterations per layer (default AIMET's)\n"
    "  -b, --batch N            batch size for symbolic batch dimensions (default 32)\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    "  -h, --help               show this help\n";

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void write_report(const std::string& path, const quant::AutoQuantResult& r) {
  std::ostringstream f;
  f << "{\n  \"float_score\": " << r.float_score << ",\n  \"target_score\": " << r.target_score
    << ",\n  \"target_met\": " << (r.target_met ? "true" : "false")
    << ",\n  \"chosen\": " << json_string(r.candidates[r.best].name) << ",\n  \"candidates\": [\n";
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const quant::AutoQuantCandidate& c = r.candidates[i];
    f << "    {\"name\": " << json_string(c.name) << ", \"score\": " << c.score
      << ", \"meets_target\": " << (c.meets_target ? "true" : "false")
      << ", \"seconds\": " << c.seconds << ", \"steps\": [";
    for (size_t k = 0; k < c.steps.size(); ++k) f << (k ? ", " : "") << json_string(c.steps[k]);
    f << "], \"report\": [";
    for (size_t k = 0; k < c.report.size(); ++k) f << (k ? ", " : "") << json_string(c.report[k]);
    f << "]}" << (i + 1 < r.candidates.size() ? "," : "") << "\n";
  }
  f << "  ]\n}\n";
  const std::string text = f.str();
  write_file_bytes(path, text.data(), text.size());
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    if (comma > pos) out.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int cmd_autoquant(const std::vector<std::string>& argv) {
  Args args = Args::parse(
      argv,
      {kDataOpt, {"--eval-data", "", true, true}, {"--labels", "", true, false},
       {"--allowed-drop", "", true, false}, {"--output", "-o", true, false},
       {"--encodings", "", true, false}, {"--report", "", true, false}, {"--report-html", "", true, false}, kModeOpt, kTargetOpt,
       {"--config", "", true, false}, {"--param-bw", "", true, false}, {"--act-bw", "", true, false},
       {"--per-channel", "", false, false}, {"--candidates", "", true, false},
       {"--adaround-iterations", "", true, false}, {"--batch", "-b", true, false}, kThreadsOpt,
       kShapeOpt, {"--model-batch", "", true, false}, {"--metric-cmd", "", true, false}},
      1, 1);
  if (args.help()) {
    std::cout << kAutoquantUsage;
    return 0;
  }
  for (const char* required : {"--data", "--eval-data", "--output"})
    if (!args.has(required)) throw UsageError(std::string("missing ") + required);
  quant::AutoQuantOptions ao;
  ao.mode = parse_mode(args.get("--mode", "int"));
  if (ao.mode == ExecutionMode::kFloat) throw UsageError("--mode float does not quantize");
  try {
    ao.allowed_drop = std::stod(args.get("--allowed-drop", "1.0"));
  } catch (const std::exception&) {
    throw UsageError("--allowed-drop needs a number");
  }
  if (!(ao.allowed_drop >= 0)) throw UsageError("--allowed-drop must be >= 0");
  if (args.has("--candidates")) ao.candidates = split_list(args.get("--candidates"));
  for (const std::string& c : ao.candidates) {
    try {
      quant::autoquant_candidate_steps(c);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  const int threads = args.get_int("--threads", 1, 0, 1024);
  const int batch = args.get_int("--batch", 32, 1, 1 << 20);
  ao.ptq.sim.param_bitwidth = args.get_int("--param-bw", 8, 2, 16);
  ao.ptq.sim.act_bitwidth = args.get_int("--act-bw", 8, 2, 16);
  if (args.has("--per-channel")) ao.ptq.sim.per_channel = true;
  ao.ptq.calibration.batch_size = batch;
  ao.ptq.calibration.threads = threads;
  ao.ptq.adaround.threads = threads;
  ao.ptq.adaround.batch_size = batch;
  ao.ptq.adaround.num_iterations = args.get_int("--adaround-iterations", 0, 0, 1 << 24);
  const std::string target = args.get("--target", "onnxruntime");

  {
    std::vector<NamedPath> inputs = data_paths("--data", args.all("--data"));
    for (const NamedPath& p : data_paths("--eval-data", args.all("--eval-data"))) inputs.push_back(p);
    inputs.push_back({"MODEL", args.positional()[0]});
    inputs.push_back({"--labels", args.get("--labels")});
    check_output_paths(inputs, {{"-o", args.get("--output")},
                                {"--encodings", args.get("--encodings")},
                                {"--report", args.get("--report")},
                                {"--report-html", args.get("--report-html")}});
  }
  std::shared_ptr<Graph> model = load_model(args.positional()[0]);
  const quant::SampleBatch data = quant::load_samples(args.all("--eval-data"), *model);
  HostTensor labels;
  if (args.has("--labels")) labels = load_npy(args.get("--labels"));
  EvalOptions eo;
  eo.batch = batch;
  eo.threads = threads;
  eo.target = target;
  // Top-1 accuracy with labels; a user's metric; else agreement with the float model, in
  // percent: top-1 agreement where the first output is rows of class scores, otherwise the mean
  // cosine similarity of every output with float's (a detector's boxes, a mask).
  const std::string metric = args.get("--metric-cmd");
  if (!metric.empty() && args.has("--labels")) throw UsageError("--metric-cmd and --labels exclude each other");
  eo.keep_outputs = !args.has("--labels");
  std::vector<EvalResult::KeptOutput> float_outputs;
  quant::AutoQuantEval eval = [&](std::shared_ptr<const Graph> m, ExecutionMode mode) {
    eo.mode = mode;
    if (!metric.empty()) return run_metric_command(metric, evaluate(m, data, nullptr, eo));
    EvalResult r = evaluate(m, data, args.has("--labels") ? &labels : nullptr, eo);
    if (r.has_labels) return 100.0 * double(r.top1) / double(r.samples);
    if (mode == ExecutionMode::kFloat) {
      float_outputs = std::move(r.outputs);
      return 100.0;
    }
    OCTET_CHECK(r.outputs.size() == float_outputs.size() && !r.outputs.empty(),
                "autoquant: the candidate's outputs differ from the float model's");
    const EvalResult::KeptOutput& first = r.outputs[0];
    if (first.sample_dims.size() == 1 && first.sample_dims[0] >= 2) {
      const quant::Fidelity f = quant::compare_outputs(float_outputs[0].values, first.values, first.sample_dims[0]);
      return f.rows ? 100.0 * double(f.top1_agree) / double(f.rows) : 0.0;
    }
    double cosine = 0;
    for (size_t k = 0; k < r.outputs.size(); ++k)
      cosine += quant::compare_outputs(float_outputs[k].values, r.outputs[k].values, 0).cosine;
    return 100.0 * cosine / double(r.outputs.size());
  };
  ao.on_candidate = [](const quant::AutoQuantCandidate& c) {
    std::printf("candidate %-9s score %.2f%s (%.1f s)\n", c.name.c_str(), c.score,
                c.meets_target ? ", meets the target" : "", c.seconds);
    std::fflush(stdout);
  };
  ao.ptq.adaround.progress = [](const quant::AdaroundLayerReport& l, size_t i, size_t n) {
    std::fprintf(stderr, "  adaround %zu/%zu %s\n", i + 1, n, l.node.c_str());
  };
  const quant::QuantsimConfig config = load_config(args.get("--config", "default_config"));
  quant::AutoQuantResult r =
      quant::run_autoquant(model, config, args.all("--data"), eval, ao);
  std::printf("float score %.2f, target %.2f (allowed drop %.2f): %s; chosen: %s (%.2f)\n",
              r.float_score, r.target_score, ao.allowed_drop,
              r.target_met ? "met" : "NOT met", r.candidates[r.best].name.c_str(),
              r.candidates[r.best].score);
  const quant::IntegerModelShapes shapes = integer_model_shapes(args, r.sim->model(), args.all("--data"));
  const LoweringReport lowering =
      quant::save_integer_model(*r.sim->annotated_model(), target, shapes, args.get("--output"));
  std::printf("wrote %s (integer model, %d integer nodes, %zu in float)\n",
              args.get("--output").c_str(), lowering.integer_nodes, lowering.float_nodes.size());
  if (args.has("--encodings")) {
    quant::save_encodings(args.get("--encodings"),
                          quant::make_encodings_file(*r.sim, "post_training_tf_enhanced"),
                          quant::EncodingsVersion::kV1_0_0);
    std::printf("wrote %s\n", args.get("--encodings").c_str());
  }
  if (args.has("--report")) {
    write_report(args.get("--report"), r);
    std::printf("wrote %s\n", args.get("--report").c_str());
  }
  if (args.has("--report-html")) {
    quant::AnalyzerOptions an;
    an.eval.mode = ao.mode;
    an.eval.target = target;
    an.eval.batch = batch;
    an.eval.threads = threads;
    write_html_report(args.get("--report-html"), *r.sim, data, args.has("--labels") ? &labels : nullptr, metric, an);
  }
  return r.target_met ? 0 : 3;
}

}  // namespace octet::cli
