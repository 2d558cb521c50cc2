// octet quantize MODEL --data CALIB [--config CFG] [--param-bw N] [--act-bw N]
//                [--per-channel] [--scheme S] -o OUT.octet [--encodings OUT.encodings]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_writer.h"
#include "quant/data_stream.h"
#include "quant/encodings_io.h"
#include "quant/kernel_support.h"
#include "quant/ptq/pipeline.h"
#include "quant/qdq_export.h"
#include "quant/quantsim.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kQuantizeUsage =
    "usage: octet quantize MODEL --data DATA [--data NAME=FILE ...] -o OUT.octet [--shape NAME=d0,...]\n"
    "                      [--config CFG] [--param-bw N]\n"
    "                      [--act-bw N] [--per-channel] [--scheme tf|tf-enhanced|percentile|mse]\n"
    "                      [--batch N] [--threads N] [--no-fold-bn]\n"
    "                      [--encodings OUT.encodings [--encodings-version 0.6.1|1.0.0|2.0.0]]\n"
    "                      [--export-onnx OUT.onnx] [--export-qdq OUT.onnx]\n"
    "                      [--ptq STEPS [--adaround-iterations N] [--ptq-samples N]]\n"
    "                      [--bits TENSOR=N ...] [--float TENSOR ...]\n"
    "                      [--report-html FILE [--report-samples N]]\n"
    "\n"
    "Places quantizers on MODEL as the AIMET quantsim config says (weights, activations,\n"
    "supergroups such as Conv+Relu quantized only at the end), computes their encodings from\n"
    "the calibration samples (streamed file by file), lowers the model to integer ops for the\n"
    "target profile and writes that integer model (`octet run/eval/bench OUT.octet --mode int`\n"
    "runs it, `--mode exact` simulates it bit for bit). --calibrated-out writes the float model\n"
    "with its encodings instead, for `octet eval FILE --mode qdq|exact|int`.\n"
    "\n"
    "options:\n"
    OCTET_CLI_DATA_HELP
    "  -o, --output OUT.octet   the integer model (int8 / int4 weights, no float weights)\n"
    "  --shape NAME=d0,d1,...   the integer model's input shape (batch first); without it,\n"
    "                           symbolic dimensions are taken from the first calibration sample\n"
    "                           (the batch from --model-batch) and printed\n"
    "  --target PROFILE         integer arithmetic: onnxruntime (default; u8, fp32 requant),\n"
    "                           xnnpack (s8, fp32), tflite (s8, fixed point), tflite-single-rounding,\n"
    "                           or a profile .json file\n"
    "  --model-batch N          batch size of the integer model when the batch is symbolic\n"
    "                           (default 1; eval runs larger data sets in slices)\n"
    "  --calibrated-out FILE    also write the float model with its encodings (.octet)\n"
    "  --config CFG             a quantsim config JSON file, or a shipped one by name:\n"
    "                           default_config (default), ort_u8s8_per_channel, tflite_s8\n"
    "  --param-bw N             parameter bitwidth, 2..16 (default 8)\n"
    "  --act-bw N               activation bitwidth, 2..16 (default 8)\n"
    "  --per-channel            per-channel weight encodings (overrides the config)\n"
    "  --per-tensor             per-tensor weight encodings (overrides the config)\n"
    "  --block-size B           per-block weight encodings: one per output channel and block of\n"
    "                           B input channels (Conv / Gemm / MatMul; e.g. 32, 64, 128 for\n"
    "                           W4 models; encodings files then need --encodings-version 1.0.0)\n"
    "  --bits TENSOR=N          this tensor's quantizer at N bits (2..16), e.g. a detector's\n"
    "                           output that holds pixels and scores; repeatable\n"
    "  --float TENSOR           no quantizer on this tensor (it stays float); repeatable\n"
    "  --scheme S               range scheme: tf (min/max), tf-enhanced (default), percentile, mse\n"
    "  --percentile P           percentile for --scheme percentile (default 99.99)\n"
    "  -b, --batch N            batch size when the model's batch is symbolic (default 32)\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    "  --no-fold-bn             keep BatchNormalization nodes (they get their own quantizers)\n"
    "  --encodings FILE         also write the encodings as an AIMET encodings JSON, keyed by\n"
    "                           the tensor names of the model --export-onnx writes\n"
    "  --encodings-version V    0.6.1 (default, what QNN-style converters read), 1.0.0 or 2.0.0\n"
    "  --export-onnx FILE       also write the float model the encodings refer to (BN folded,\n"
    "                           tensor names unchanged) as ONNX\n"
    "  --export-qdq FILE        also write that model with QuantizeLinear/DequantizeLinear\n"
    "                           pairs at every quantizer (QDQ ONNX, opset >= 13)\n"
    "  --ptq STEPS              post-training steps before calibration, comma-separated, run\n"
    "                           in AIMET's order: relu6, bn-reest, fold-bn, cle, hbf, adaround,\n"
    "                           bc-analytical, bc (bc + bc-analytical = hybrid); each step's\n"
    "                           report is printed\n"
    "  --adaround-iterations N  AdaRound iterations per layer (default: AIMET's, 10000, or\n"
    "                           15000 below 8 bits)\n"
    "  --ptq-samples N          samples for bias correction / BN re-estimation (default 500)\n"
    "  --bc-with-activations    bc measures the quantized means with the activation quantizers\n"
    "                           on too (default: off, as AIMET: weights and inputs quantized)\n"
    "  --report-html FILE       also analyze the quantized model as `octet analyze` does, on the\n"
    "                           first --report-samples calibration samples (default 32), scored\n"
    "                           by output SQNR against float, and write its HTML report\n"
    "  -h, --help               show this help\n";

namespace {

// AIMET's QuantScheme names, as encodings files record them.
std::string scheme_aimet_name(quant::RangeScheme s) {
  switch (s) {
    case quant::RangeScheme::kTf: return "post_training_tf";
    case quant::RangeScheme::kTfEnhanced: return "post_training_tf_enhanced";
    case quant::RangeScheme::kPercentile: return "post_training_percentile";
    case quant::RangeScheme::kMse: return "post_training_mse";
  }
  return "unknown";
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv,
                          with_ptq_options(with_quantsim_options(
                          {kDataOpt, {"--output", "-o", true, false}, kShapeOpt,
                           {"--batch", "-b", true, false}, kThreadsOpt,
                           {"--encodings", "", true, false}, {"--encodings-version", "", true, false},
                           {"--export-onnx", "", true, false}, {"--export-qdq", "", true, false},
                           {"--target", "", true, false}, {"--model-batch", "", true, false},
                           {"--calibrated-out", "", true, false}, {"--report-html", "", true, false},
                           {"--report-samples", "", true, false}})),
                          1, 1);
  if (args.help()) {
    std::cout << kQuantizeUsage;
    return 0;
  }
  if (!args.has("--data")) throw UsageError("missing --data");
  const std::vector<std::string> data = args.all("--data");
  if (!args.has("--output")) throw UsageError("missing -o OUT.octet");
  quant::QuantSimOptions qo;
  quant::CalibrationOptions co;
  parse_quantsim_options(args, qo, co);

  quant::EncodingsVersion version = quant::EncodingsVersion::kV0_6_1;
  const std::string version_name = args.get("--encodings-version", "0.6.1");
  try {
    version = quant::parse_encodings_version(version_name);
  } catch (const Error& e) {
    throw UsageError(std::string("--encodings-version: ") + e.what());
  }
  const std::string in = args.positional()[0];
  const std::string out = args.get("--output");
  {
    std::vector<NamedPath> inputs = data_paths("--data", data);
    inputs.push_back({"MODEL", in});
    if (args.get("--config", "").find('/') != std::string::npos || args.get("--config", "").find(".json") != std::string::npos)
      inputs.push_back({"--config", args.get("--config")});
    check_output_paths(inputs, {{"-o", out},
                                {"--calibrated-out", args.get("--calibrated-out")},
                                {"--encodings", args.get("--encodings")},
                                {"--export-onnx", args.get("--export-onnx")},
                                {"--export-qdq", args.get("--export-qdq")},
                                {"--report-html", args.get("--report-html")}});
  }
  if (args.has("--report-samples") && !args.has("--report-html"))
    throw UsageError("--report-samples needs --report-html");
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<Graph> model = load_model(in);
  const quant::QuantsimConfig config = load_config(args.get("--config", "default_config"));
  for (const std::string& w : config.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const std::string& u : config.unapplied())
    std::fprintf(stderr, "note: config setting not applied: %s\n", u.c_str());
  std::unique_ptr<quant::QuantSim> sim_holder = calibrated_quantsim(args, model, config, qo, co, data);
  quant::QuantSim& sim = *sim_holder;
  for (const std::string& w : quant::kernel_support_warnings(sim))
    std::fprintf(stderr, "warning: %s\n", w.c_str());
  int params = 0, acts = 0;
  for (const quant::Quantizer& q : sim.quantizers()) {
    if (!q.enabled) continue;
    OCTET_CHECK(q.encoding, "quantizer on '", q.tensor, "' has no encoding after calibration");
    (q.role == quant::QuantizerRole::kParam ? params : acts)++;
  }
  if (args.has("--calibrated-out")) {
    save_octet(*sim.annotated_model(), args.get("--calibrated-out"));
    std::printf("wrote %s (float weights + encodings)\n", args.get("--calibrated-out").c_str());
  }
  const quant::IntegerModelShapes shapes = integer_model_shapes(args, sim.model(), data);
  const LoweringReport lowering =
      quant::save_integer_model(*sim.annotated_model(), args.get("--target", "onnxruntime"), shapes, out);
  if (args.has("--encodings")) {
    quant::save_encodings(args.get("--encodings"),
                          quant::make_encodings_file(sim, scheme_aimet_name(co.observer.scheme)),
                          version);
    std::printf("wrote %s (encodings %s)\n", args.get("--encodings").c_str(), version_name.c_str());
  }
  if (args.has("--export-onnx")) {
    save_onnx(sim.model(), args.get("--export-onnx"));
    std::printf("wrote %s\n", args.get("--export-onnx").c_str());
  }
  if (args.has("--export-qdq")) {
    quant::export_qdq_onnx(sim, args.get("--export-qdq"));
    std::printf("wrote %s (QDQ)\n", args.get("--export-qdq").c_str());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("quantizers: %d parameter, %d activation (W%d A%d, %s, scheme %s)\n", params, acts,
              *qo.param_bitwidth, *qo.act_bitwidth,
              args.has("--per-channel") ? "per-channel" : args.has("--per-tensor") ? "per-tensor" : "config granularity",
              quant::range_scheme_name(co.observer.scheme));
  for (const auto& [name, bits] : qo.tensor_bitwidths)
    std::printf("  --bits: '%s' at %d bits\n", name.c_str(), bits);
  for (const std::string& name : qo.float_tensors) std::printf("  --float: '%s' has no quantizer\n", name.c_str());
  std::printf("integer model (target %s): %d integer nodes, %zu in float\n",
              args.get("--target", "onnxruntime").c_str(), lowering.integer_nodes,
              lowering.float_nodes.size());
  for (const std::string& n : sim.notes()) std::printf("  note: %s\n", n.c_str());
  for (const std::string& f : lowering.float_nodes) std::printf("  float: %s\n", f.c_str());
  for (const std::string& n : lowering.notes) std::printf("  note: %s\n", n.c_str());
  std::printf("wrote %s in %.2f s\n", out.c_str(), seconds);
  if (args.has("--report-html")) {
    const int64_t rows = args.get_int("--report-samples", 32, 1, 1 << 24);
    const quant::SampleBatch samples = quant::load_samples(data, sim.model(), rows);  // only those rows read
    quant::AnalyzerOptions ao;
    ao.eval.batch = co.batch_size;
    ao.eval.threads = co.threads;
    write_html_report(args.get("--report-html"), sim, samples, nullptr, "", ao);
  }
  return 0;
}

}  // namespace octet::cli
