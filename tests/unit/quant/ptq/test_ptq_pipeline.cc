// PTQ pipeline (quant/ptq/pipeline.h) and analytical / hybrid bias correction on the MNIST
// fixtures.
#include <doctest/doctest.h>

#include <cmath>

#include "loaders/model_loader.h"
#include "tests/support/ptq_test_util.h"
#include "quant/ptq/bias_correction.h"
#include "quant/ptq/bn_fold_stats.h"
#include "quant/ptq/pipeline.h"
#include "quant/quantsim.h"

using namespace octet;
using namespace octet::quant;
using namespace octet::ptq_test;

TEST_CASE("ptq: step list parsing gives AIMET's order") {
  const std::vector<PtqStep> s = parse_ptq_steps("bc, cle,fold-bn,relu6,hbf,adaround,bn-reest,bc-analytical,cle");
  REQUIRE(s.size() == 8);
  CHECK(s[0] == PtqStep::kRelu6);
  CHECK(s[1] == PtqStep::kBnReest);
  CHECK(s[2] == PtqStep::kFoldBn);
  CHECK(s[3] == PtqStep::kCle);
  CHECK(s[4] == PtqStep::kHbf);
  CHECK(s[5] == PtqStep::kAdaround);
  CHECK(s[6] == PtqStep::kBcAnalytical);
  CHECK(s[7] == PtqStep::kBc);
  CHECK_THROWS_WITH_AS(parse_ptq_steps("cle,foo"), doctest::Contains("unknown PTQ step 'foo'"), Error);
}

TEST_CASE("ptq: clipped normal mean") {
  CHECK(clipped_normal_mean(1.0, 0.0, 0.0, INFINITY) == doctest::Approx(1.0));
  CHECK(clipped_normal_mean(0.0, 1.0, -INFINITY, INFINITY) == doctest::Approx(0.0));
  // ReLU of N(0, 1): 1/sqrt(2 pi).
  CHECK(clipped_normal_mean(0.0, 1.0, 0.0, INFINITY) == doctest::Approx(0.3989422804));
  // DFQ's ReLU formula: beta (1 - Phi(-beta/gamma)) + gamma phi(-beta/gamma).
  const double b = 0.7, g = 1.3, z = -b / g;
  const double phi = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI), Phi = 0.5 * std::erfc(-z / std::sqrt(2.0));
  CHECK(clipped_normal_mean(b, g, 0.0, INFINITY) == doctest::Approx(b * (1 - Phi) + g * phi));
  // ReLU6 mean lies in [0, 6] and below the ReLU one.
  const double r6 = clipped_normal_mean(5.0, 3.0, 0.0, 6.0);
  CHECK(r6 > 0.0);
  CHECK(r6 < clipped_normal_mean(5.0, 3.0, 0.0, INFINITY));
}

namespace {

QuantSimOptions w4a8pc() {
  QuantSimOptions qo;
  qo.param_bitwidth = 4;
  qo.act_bitwidth = 8;
  qo.per_channel = true;
  return qo;
}

}  // namespace

TEST_CASE("ptq: analytical bias correction reduces the output shift of BN-backed layers") {
  // MobileNet at W4A8 per-channel: fold with statistics, then correct analytically.
  auto g = std::make_shared<Graph>(*load_model(data_path("mnist_mobilenet.onnx")));
  const QuantsimConfig config = QuantsimConfig::load_shipped("default_config");
  PtqOptions po;
  po.sim = w4a8pc();
  po.calibration.batch_size = 50;
  po.calibration.threads = 2;
  const quant::SampleBatch calib = mnist_calib(100);
  PtqResult base = run_ptq(g, config, parse_ptq_steps("fold-bn"), calib, po);
  const Graph reference = base.sim->model();
  std::vector<std::string> names;
  const std::vector<double> before = measure_output_shift(reference, *base.sim, calib, &names, 50, 2);
  const double acc_before = accuracy(base.sim->annotated_model());

  BiasCorrectionReport rep = correct_bias_analytical(*base.sim, base.bn_stats);
  base.sim->calibrate(calib, po.calibration);
  const std::vector<double> after = measure_output_shift(reference, *base.sim, calib, nullptr, 50, 2);
  const double acc_after = accuracy(base.sim->annotated_model());
  REQUIRE(rep.layers.size() == names.size());
  double sb = 0, sa = 0;
  int corrected = 0, skipped = 0;
  for (size_t i = 0; i < rep.layers.size(); ++i) {
    const LayerBiasCorrection& l = rep.layers[i];
    MESSAGE(l.node << ": " << (l.skipped ? "skipped (" + l.reason + ")" : "analytical") << ", shift "
                   << before[i] << " -> " << after[i]);
    if (l.skipped) {
      skipped++;
      continue;
    }
    corrected++;
    sb += before[i];
    sa += after[i];
  }
  MESSAGE("analytical BC: " << corrected << " layers corrected, " << skipped << " skipped; mean shift "
                            << sb / corrected << " -> " << sa / corrected << "; accuracy "
                            << acc_before << "% -> " << acc_after << "%");
  CHECK(corrected >= 10);  // every layer fed by a folded BN (through ReLU6 / directly)
  CHECK(skipped >= 1);     // the stem reads the model input
  CHECK(sa < 0.8 * sb);
}

TEST_CASE("ptq: pipeline cle,hbf,bc / hybrid / no BN statistics") {
  const QuantsimConfig config = QuantsimConfig::load_shipped("default_config");
  const quant::SampleBatch calib = mnist_calib(50);
  PtqOptions po;
  po.sim.param_bitwidth = 8;
  po.sim.per_channel = false;
  po.calibration.batch_size = 50;
  po.calibration.threads = 2;
  po.bc_samples = 50;
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  {
    PtqResult r = run_ptq(model, config, parse_ptq_steps("relu6,cle,hbf,bc,bc-analytical"), calib, po);
    std::vector<std::string> steps;
    for (const PtqStepReport& s : r.steps) steps.push_back(s.step);
    CHECK(steps == std::vector<std::string>{"relu6", "fold-bn", "cle", "hbf", "bc (hybrid)"});
    int analytical = 0, empirical = 0;
    for (const LayerBiasCorrection& l : r.bias_correction.layers) {
      CHECK(!l.skipped);
      analytical += l.method == "analytical";
      empirical += l.method == "empirical";
    }
    CHECK(analytical > 0);
    CHECK(empirical > 0);
    for (const Quantizer& q : r.sim->quantizers()) CHECK((!q.enabled || q.encoding));
    MESSAGE("W8A8 per-tensor relu6,cle,hbf,bc hybrid: " << accuracy(r.sim->annotated_model()) << "%");
  }
  {
    // No BN statistics: folded before the pipeline sees the model; hbf / bc-analytical skip.
    QuantSimOptions fold_only;
    QuantSim folded(model, config, fold_only);
    auto no_stats = std::make_shared<Graph>(folded.model());
    PtqResult r = run_ptq(no_stats, config, parse_ptq_steps("relu6,cle,hbf,bc"), calib, po);
    CHECK(r.bn_stats.empty());
    bool said = false;
    for (const PtqStepReport& s : r.steps)
      if (s.step == "hbf")
        for (const std::string& l : s.lines) said |= l.find("no BatchNorm statistics") != std::string::npos;
    CHECK(said);
    PtqResult a = run_ptq(no_stats, config, parse_ptq_steps("bc-analytical"), calib, po);
    for (const LayerBiasCorrection& l : a.bias_correction.layers) CHECK(l.skipped);
    CHECK(a.bias_correction.layers_corrected == 0);
  }
}
