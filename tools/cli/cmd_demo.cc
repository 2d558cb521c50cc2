// octet demo: the whole path on the bundled MNIST model.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/error.h"
#include "engine/prepare_graph.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "loaders/octet_format.h"
#include "quant/fidelity.h"
#include "quant/quantsim.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kDemoUsage =
    "usage: octet demo [--threads N] [--batch N]\n"
    "\n"
    "Runs the whole path on the bundled MNIST MobileNet: loads tests/data/mnist_mobilenet.onnx,\n"
    "converts it to a temporary .octet file and loads that, runs the 1000 test images and\n"
    "prints the accuracy next to PyTorch's (from tests/data/fixtures.json) and the largest\n"
    "difference from PyTorch's logits (mnist_mobilenet.golden.npy).\n"
    "The data folder is $OCTET_DATA_DIR, or tests/data found next to the executable.\n"
    "\n"
    "options:\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    "  -b, --batch N            batch size (default 32)\n"
    "  -h, --help               show this help\n";

namespace {

// PyTorch's accuracy for `model` from fixtures.json: models.<model>.accuracy. A small
// targeted scan: the file is written by tools/make_fixtures.py.
bool fixture_accuracy(const std::string& json_path, const std::string& model, double& accuracy) {
  std::ifstream in(json_path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  size_t models = text.find("\"models\"");
  if (models == std::string::npos) return false;
  size_t entry = text.find("\"" + model + "\"", models);
  if (entry == std::string::npos) return false;
  size_t open = text.find('{', entry);
  size_t close = text.find('}', open);
  size_t key = text.find("\"accuracy\"", open);
  if (open == std::string::npos || key == std::string::npos || key > close) return false;
  size_t colon = text.find(':', key);
  if (colon == std::string::npos) return false;
  try {
    accuracy = std::stod(text.substr(colon + 1, 40));
  } catch (const std::exception&) {
    return false;
  }
  return std::isfinite(accuracy);
}

}  // namespace

int cmd_demo(const std::vector<std::string>& argv) {
  namespace fs = std::filesystem;
  Args args = Args::parse(argv, {kThreadsOpt, {"--batch", "-b", true, false}}, 0, 0);
  if (args.help()) {
    std::cout << kDemoUsage;
    return 0;
  }
  EvalOptions o;
  o.threads = args.get_int("--threads", 1, 0, 1024);
  o.batch = args.get_int("--batch", 32, 1, 1 << 20);
  o.progress = eval_progress();
  o.keep_scores = true;

  const std::string dir = find_data_dir();
  OCTET_CHECK(!dir.empty(), "cannot find the bundled data folder (tests/data with "
              "mnist_mobilenet.onnx); set OCTET_DATA_DIR to it");
  const fs::path data(dir);
  const std::string onnx_path = (data / "mnist_mobilenet.onnx").string();
  std::printf("data folder: %s\n", dir.c_str());

  // 1. Load the ONNX model.
  std::shared_ptr<Graph> graph = load_model(onnx_path);
  int64_t params = 0;
  for (const TensorInfo& t : graph->tensors)
    if (t.is_constant() && t.shape.is_concrete()) params += checked_numel(t.shape.concrete());
  std::printf("1. loaded %s: %zu nodes, %s parameters, opset %lld\n", onnx_path.c_str(),
              graph->nodes.size(), format_count(params).c_str(),
              static_cast<long long>(graph->opset));

  check_ops_supported(*graph, onnx_path);

  // 2. Convert to .octet and load it back.
  const fs::path octet_path =
      fs::temp_directory_path() / ("octet_demo_" + std::to_string(getpid()) + ".octet");
  std::shared_ptr<Graph> model = graph;
  try {
    save_octet(*graph, octet_path.string());
    std::error_code ec;
    auto size = fs::file_size(octet_path, ec);
    model = load_model(octet_path.string());
    std::printf("2. converted to %s (%s) and loaded it back\n", octet_path.string().c_str(),
                ec ? "?" : format_bytes(size).c_str());
  } catch (const Error& e) {
    std::printf("2. .octet conversion skipped: %s\n   (continuing with the ONNX model)\n",
                e.what());
    model = graph;
  }
  std::error_code ec;
  fs::remove(octet_path, ec);

  // 3. Run the test images.
  HostTensor images = load_npy_dataset((data / "mnist_test").string());
  HostTensor labels = load_npy((data / "mnist_test_labels.npy").string());
  std::printf("3. running %lld test images %s\n", static_cast<long long>(images.dims.at(0)),
              dims_to_string(images.dims).c_str());
  EvalResult r = evaluate(model, images, &labels, o);
  print_eval_result(r);

  // 4. Compare with PyTorch.
  const double acc = r.samples ? double(r.top1) / double(r.samples) : 0.0;
  double torch_acc = 0;
  if (fixture_accuracy((data / "fixtures.json").string(), "mnist_mobilenet.onnx", torch_acc))
    std::printf("4. accuracy: octet %.2f%%, PyTorch %.2f%% (difference %+.2f points)\n",
                100 * acc, 100 * torch_acc, 100 * (acc - torch_acc));
  else
    std::printf("4. accuracy: octet %.2f%% (no fixtures.json with PyTorch's accuracy found)\n",
                100 * acc);
  const fs::path golden_path = data / "mnist_mobilenet.golden.npy";
  if (fs::exists(golden_path)) {
    HostTensor golden = convert_dtype(load_npy(golden_path.string()), DType::kF32);
    if (golden.numel() == static_cast<int64_t>(r.scores.size())) {
      double max_diff = 0;
      auto g = golden.values<float>();
      for (size_t i = 0; i < r.scores.size(); ++i)
        max_diff = std::max(max_diff, std::fabs(double(r.scores[i]) - double(g[i])));
      std::printf("   largest |logit - PyTorch logit|: %.3g over %zu logits\n", max_diff,
                  r.scores.size());
    }
  }

  // 5. Quantize W8A8 (AIMET's default config, tf-enhanced) and simulate it.
  const fs::path calib = data / "mnist_calib_images.npy";
  if (!fs::exists(calib)) {
    std::printf("5. quantization skipped: %s is missing\n", calib.string().c_str());
    return 0;
  }
  quant::QuantSim sim(graph, quant::QuantsimConfig::load_shipped("default_config"));
  quant::CalibrationOptions co;
  co.batch_size = o.batch;
  co.threads = o.threads;
  sim.calibrate(calib.string(), co);
  EvalOptions qo = o;
  qo.mode = ExecutionMode::kQdq;
  qo.progress = nullptr;
  EvalResult q = evaluate(sim.annotated_model(), images, &labels, qo);
  const double qacc = q.samples ? double(q.top1) / double(q.samples) : 0.0;
  const quant::Fidelity f = quant::compare_outputs(r.scores, q.scores, r.classes);
  std::printf("5. quantized W8A8 (default config, tf-enhanced, %lld calibration images): "
              "accuracy %.2f%% (float %.2f%%, drop %.2f points), SQNR %.1f dB vs float\n",
              static_cast<long long>(load_npy(calib.string()).dims.at(0)), 100 * qacc, 100 * acc,
              100 * (acc - qacc), f.sqnr_db);

  // 6. Lower it to integer ops and run the int8 kernels, then the bit-exact simulation.
  EvalOptions io = qo;
  io.mode = ExecutionMode::kInt;
  EvalResult ir = evaluate(sim.annotated_model(), images, &labels, io);
  io.mode = ExecutionMode::kExact;
  EvalResult er = evaluate(sim.annotated_model(), images, &labels, io);
  const bool same = ir.scores == er.scores;
  std::printf("6. int8 kernels (target onnxruntime): accuracy %.2f%% in %.3f s; exact simulation "
              "%.2f%%, outputs %s\n",
              100.0 * double(ir.top1) / double(ir.samples), ir.seconds,
              100.0 * double(er.top1) / double(er.samples),
              same ? "bit-identical to int" : "DIFFERENT from int");
  return same ? 0 : 1;
}

}  // namespace octet::cli
