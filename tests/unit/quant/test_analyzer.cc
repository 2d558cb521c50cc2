// QuantAnalyzer on the CLE fixture (tests/data/mnist_cle.onnx: BN-folded depthwise weights whose
// per-channel ranges differ by >= 100x), W8A8 per-tensor: the weights are what breaks it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "loaders/model_loader.h"
#include "quant/analyzer.h"
#include "tests/support/ptq_test_util.h"

using namespace octet;
using namespace octet::quant;
using namespace octet::ptq_test;
namespace fs = std::filesystem;

TEST_CASE("analyzer: the CLE fixture's per-tensor weights are found, its depthwise layers ranked first") {
  QuantSimOptions so;
  so.per_channel = false;
  QuantSim sim(load_model(data_path("mnist_cle.onnx")), QuantsimConfig::load_shipped("default_config"), so);
  CalibrationOptions co;
  co.batch_size = 50;
  co.threads = 2;
  sim.calibrate(mnist_calib(), co);
  std::vector<char> before;
  for (const Quantizer& q : sim.quantizers()) before.push_back(q.enabled);

  SampleBatch eval;
  eval.inputs = {test_images()};
  eval.inputs[0].name = sim.model().tensor(sim.model().inputs[0]).name;
  eval = eval.slice(0, 100);
  HostTensor labels = test_labels();
  labels.dims[0] = 100;
  labels.bytes.resize(100 * dtype_size(labels.dtype));
  AnalyzerOptions ao;
  ao.eval.threads = 2;
  std::vector<std::string> sweeps;
  ao.progress = [&](const std::string& sweep, size_t, size_t) { sweeps.push_back(sweep); };
  const AnalysisReport r = analyze(sim, eval, &labels, ao);
  MESSAGE("float " << r.float_score << "%, FP32 sanity " << r.fp32_sanity << "%, weights only "
                   << r.weights_only << "%, activations only " << r.activations_only
                   << "%, all " << r.all_quantized << "%; " << r.evaluations << " evaluations in "
                   << r.seconds << " s, one float evaluation " << r.float_eval_seconds << " s");
  CHECK(r.score_name == "top-1 accuracy (%)");
  CHECK(r.fp32_sanity == r.float_score);
  CHECK(r.weights_only < r.activations_only - 10);  // per-tensor weights break it, not activations
  CHECK(r.all_quantized < r.float_score - 10);
  CHECK(r.evaluations == int64_t(4 + 2 * r.layers.size()));
  CHECK(sweeps.size() == size_t(r.evaluations) + 1);  // and the MSE pass
  for (size_t q = 0; q < before.size(); ++q) CHECK(sim.quantizers()[q].enabled == bool(before[q]));
  const std::vector<size_t> order = sensitivity_order(r);
  REQUIRE(order.size() == r.layers.size());
  const LayerSensitivity& top = r.layers[order[0]];
  MESSAGE("most sensitive: " << top.node << " (" << top.op_type << "): " << top.only_this
                             << "% with only it quantized, " << top.all_but_this << "% with all but it");
  CHECK(top.node.find("/dw/") != std::string::npos);  // a depthwise conv: the skewed channels
  CHECK(top.only_this < r.float_score - 5);
  for (const LayerSensitivity& l : r.layers) {
    CHECK(!l.quantizers.empty());
    CHECK(l.output_mse >= 0);
  }
  CHECK(r.layers[order[0]].output_mse > 0);

  const fs::path dir = fs::temp_directory_path() / "octet_analyzer_test";
  fs::remove_all(dir);
  write_analysis(r, dir.string());
  auto read = [&](const std::string& name) {
    std::ifstream f(dir / name);
    return nlohmann::json::parse(f);
  };
  CHECK(read("per_layer_quant_enabled.json").size() == r.layers.size());
  CHECK(read("per_layer_quant_disabled.json")[top.node] == top.all_but_this);
  CHECK(read("per_layer_mse_loss.json").size() == r.layers.size());
  const nlohmann::json weights = read("min_max_ranges/weights.json");
  CHECK(weights.size() > 10);
  for (const auto& [name, range] : weights.items()) CHECK(range["min"].size() == range["max"].size());
  const nlohmann::json s = read("sensitivity.json");
  CHECK(s["layers_most_sensitive_first"][0]["layer"] == top.node);
  CHECK(s["weights_only"] == r.weights_only);
  fs::remove_all(dir);
}
