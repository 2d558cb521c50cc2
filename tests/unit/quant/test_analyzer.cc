// QuantAnalyzer on the CLE fixture (tests/data/mnist_cle.onnx: BN-folded depthwise weights whose
// per-channel ranges differ by >= 100x), W8A8 per-tensor: the weights are what breaks it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "loaders/model_loader.h"
#include "quant/analysis_report.h"
#include "quant/analyzer.h"
#include "tests/support/ptq_test_util.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using namespace octet::quant;
using namespace octet::ptq_test;
namespace fs = std::filesystem;

namespace {

// The page as headless Chromium leaves it after its scripts ran; nullopt without a chromium.
std::optional<std::string> chromium_dump_dom(const fs::path& page) {
  const char* candidates[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser"};
  const char* browser = nullptr;
  for (const char* c : candidates)
    if (fs::exists(c)) browser = c;
  if (!browser) return std::nullopt;
  const fs::path profile = fs::temp_directory_path() / "octet_chromium_profile";
  const fs::path out = fs::temp_directory_path() / "octet_report_dom.html";
  fs::remove_all(profile);
  const std::string cmd = std::string("timeout 120 ") + browser +
                          " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --user-data-dir=" + profile.string() + " --dump-dom 'file://" + page.string() +
                          "' > " + out.string() + " 2>/dev/null";
  const int rc = std::system(cmd.c_str());
  std::ifstream f(out);
  std::string dom(std::istreambuf_iterator<char>(f), {});
  fs::remove_all(profile);
  fs::remove(out);
  REQUIRE_MESSAGE(rc == 0, "chromium failed: ", cmd);
  return dom;
}

}  // namespace

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
  CHECK_FALSE(r.agreement);  // labels: the score is accuracy, no agreement beside it
  CHECK(r.fp32_sanity == r.float_score);
  CHECK(r.weights_only < r.activations_only - 10);  // per-tensor weights break it, not activations
  CHECK(r.all_quantized < r.float_score - 10);
  CHECK(r.evaluations == int64_t(4 + 2 * r.layers.size() + r.kept_scores.size()));
  CHECK(sweeps.size() == size_t(r.evaluations) + 2);  // and the MSE and histogram passes
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
  // The most sensitive layer's weights have channels far wider than the rest, flagged.
  const LayerWeightRanges* top_ranges = nullptr;
  for (const LayerWeightRanges& w : r.weight_ranges)
    if (w.node == top.node) top_ranges = &w;
  REQUIRE(top_ranges != nullptr);
  CHECK(!top_ranges->outliers.empty());
  CHECK(*std::max_element(top_ranges->relative_range.begin(), top_ranges->relative_range.end()) >= 100);
  // A histogram per enabled quantizer, every value counted, the encoding's range inside the bins.
  size_t enabled = 0;
  for (const Quantizer& q : sim.quantizers()) enabled += q.enabled;
  CHECK(r.histograms.size() == enabled);
  for (const ValueHistogram& h : r.histograms) {
    int64_t sum = 0;
    for (int64_t c : h.counts) sum += c;
    CHECK(sum == h.values);
    CHECK(h.values > 0);
    CHECK(h.lo <= h.encoding_min);
    CHECK(h.hi >= h.encoding_max);
    CHECK(h.lo <= h.observed_min);
    CHECK(h.hi >= h.observed_max);
  }

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
  CHECK(read("weight_ranges.json").size() == r.weight_ranges.size());
  CHECK(read("histograms.json").size() == r.histograms.size());

  // What to do: the weights are named as the cost, with CLE; the sensitive depthwise layer's
  // skewed channels are named; keeping more layers at 16 bits helps.
  const std::vector<AnalysisFinding> findings = analysis_findings(r);
  REQUIRE(findings.size() >= 2);
  CHECK(findings[0].subject == "weights");
  CHECK(findings[0].fix.find("--ptq cle") != std::string::npos);
  CHECK(findings[1].subject == top.node);
  CHECK(findings[1].text.find("outlier channels") != std::string::npos);
  {  // Per-channel weights: skewed channels cost nothing, so neither CLE nor per-channel is advised.
    AnalysisReport per_channel = r;
    for (QuantizerRange& q : per_channel.ranges)
      if (q.param) q.min.push_back(q.min[0]), q.max.push_back(q.max[0]);
    const std::vector<AnalysisFinding> f = analysis_findings(per_channel);
    REQUIRE(!f.empty());
    CHECK(f[0].subject == "weights");
    CHECK(f[0].fix.find("--per-channel") == std::string::npos);
    CHECK(f[0].fix.find("cle") == std::string::npos);
    for (const AnalysisFinding& x : f) CHECK(x.text.find("outlier channels") == std::string::npos);
  }
  REQUIRE(!r.kept_scores.empty());
  CHECK(r.override_layers >= 1);
  CHECK(r.kept_scores[r.override_layers - 1] > r.all_quantized + 10);
  CHECK(most_sensitive_quantizers(r, 1) == top.quantizers);

  // The page: one file, nothing fetched, drawn without a script error.
  const std::string html = [&] {
    std::ifstream f(dir / "report.html");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }();
  CHECK(html.find("Content-Security-Policy") != std::string::npos);
  for (const char* scheme : {"https:", "http://", "src=", "href=\"http"}) {
    size_t at = html.find(scheme);
    if (at != std::string::npos && html.compare(at, 26, "http://www.w3.org/2000/svg") == 0)
      at = html.find(scheme, at + 1);  // the SVG namespace name, never fetched
    CHECK_MESSAGE(at == std::string::npos, "report.html refers to '", scheme, "'");
  }
  const std::optional<std::string> dom = chromium_dump_dom(dir / "report.html");
  if (!dom) {
    MESSAGE("skipped: the browser check needs Debian's chromium (tools/install_deps.sh --oracles)");
  } else {
    CHECK(dom->find("data-rendered=\"yes\"") != std::string::npos);
    CHECK(dom->find("data-errors=\"") == std::string::npos);  // set on <body> by any error
    CHECK(dom->find("<p id=\"errors\"></p>") != std::string::npos);
    size_t svgs = 0;
    for (size_t at = dom->find("<svg"); at != std::string::npos; at = dom->find("<svg", at + 1)) svgs++;
    MESSAGE("chromium drew " << svgs << " plots");
    CHECK(svgs >= 2 + r.weight_ranges.size() + r.histograms.size());
    CHECK(dom->find("class=\"channel outlier\"") != std::string::npos);
    CHECK(dom->find("id=\"" + std::string("layer-") + std::to_string(order[0]) + "\"") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("analyzer: per-channel weight ranges, relative to the narrowest, outliers past Tukey's fence") {
  // Conv weight [5,1,1,2]: channels of range 1, 1, 1.2, 0.8 and 10.
  test::GraphBuilder b;
  const TensorId x = b.input("x", {1, 1, 3, 3});
  const TensorId w = b.constant("w", {5, 1, 1, 2}, {0, 1, -0.5f, 0.5f, 0, 1.2f, 0.4f, -0.4f, -5, 5});
  CHECK(weight_channel_ranges(*b.g).empty());
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{1, 2});
  b.output(b.node("Conv", {x, w}, {1, 5, 3, 2}, a, "y"));
  const std::shared_ptr<Graph> g = b.g;
  const std::vector<LayerWeightRanges> r = weight_channel_ranges(*g);
  REQUIRE(r.size() == 1);
  CHECK(r[0].weight == "w");
  REQUIRE(r[0].relative_range.size() == 5);
  CHECK(r[0].relative_range[3] == doctest::Approx(1.0));
  CHECK(r[0].relative_range[4] == doctest::Approx(12.5));
  CHECK(r[0].min[4] == -5);
  CHECK(r[0].mean[2] == doctest::Approx(0.6));
  CHECK(r[0].outliers == std::vector<int64_t>{4});
}
