// BN re-estimation (quant/ptq/bn_reestimation.h).
#include <doctest/doctest.h>

#include <cmath>

#include "loaders/model_loader.h"
#include "tests/support/ptq_test_util.h"
#include "quant/ptq/bn_reestimation.h"
#include "quant/ptq/pipeline.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using namespace octet::quant;

TEST_CASE("ptq: BN re-estimation moves the statistics to the quantized model's") {
  // x -> Conv (4 out, biased 4-bit rounding as in the bias-correction test) -> BN -> output.
  test::GraphBuilder b;
  TensorId x = b.input("x", {16, 2, 6, 6});
  std::vector<float> w(4 * 2 * 9);
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 18; ++k) w[static_cast<size_t>(c * 18 + k)] = 0.3f + 0.02f * static_cast<float>(c);
  w[0] = 1.0f;
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{3, 3});
  TensorId y = b.node("Conv", {x, b.constant("w", {4, 2, 3, 3}, w)}, {16, 4, 4, 4}, a, "y");
  Attributes bn_attrs;
  bn_attrs.set("epsilon", 1e-5f);
  TensorId z = b.node("BatchNormalization",
                      {y, b.constant("gamma", {4}, {1, 1, 1, 1}), b.constant("beta", {4}, {0, 0, 0, 0}),
                       b.constant("mean", {4}, {0, 0, 0, 0}), b.constant("var", {4}, {1, 1, 1, 1})},
                      {16, 4, 4, 4}, bn_attrs, "z");
  b.output(z);
  std::vector<float> xv(16 * 2 * 36);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>((i * 7919) % 1000) / 1000.f;
  const HostTensor samples = HostTensor::from("x", {16, 2, 6, 6}, xv);
  BnReestimationOptions o;
  o.sim.param_bitwidth = 4;
  Graph g = *b.g;
  const BnReestimationReport r = reestimate_batch_norms(g, QuantsimConfig::load_shipped("default_config"), quant::SampleBatch{{samples}}, o);
  REQUIRE(r.layers.size() == 1);
  const BnReestimationLayer& l = r.layers[0];
  // Expected: mean / unbiased var of the fake-quantized conv output. Weights on the 4-bit grid
  // of absmax 1.0: scale 1/7; channel c's 0.3 + 0.02c rounds to 2/7 (c = 0..2) or 2/7 (c = 3).
  for (int c = 0; c < 4; ++c) {
    double s1 = 0, s2 = 0;
    int64_t n = 0;
    for (int i = 0; i < 16; ++i)
      for (int oh = 0; oh < 4; ++oh)
        for (int ow = 0; ow < 4; ++ow) {
          double acc = 0;
          for (int ci = 0; ci < 2; ++ci)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 3; ++kw) {
                const size_t widx = static_cast<size_t>(((c * 2 + ci) * 3 + kh) * 3 + kw);
                const double wq = std::nearbyint(w[widx] * 7.0) / 7.0;
                acc += wq * xv[static_cast<size_t>(((i * 2 + ci) * 6 + oh + kh) * 6 + ow + kw)];
              }
          s1 += acc, s2 += acc * acc, n++;
        }
    const double m = s1 / n, var = (s2 - n * m * m) / (n - 1);
    CHECK(l.new_mean[static_cast<size_t>(c)] == doctest::Approx(m).epsilon(1e-4));
    CHECK(l.new_var[static_cast<size_t>(c)] == doctest::Approx(var).epsilon(1e-3));
    CHECK(l.old_mean[static_cast<size_t>(c)] == 0.f);
  }
  // The graph's BN now reads the new statistics.
  const Node& bn = g.nodes.back();
  CHECK(g.tensor(bn.inputs[3]).data->as<float>()[1] == l.new_mean[1]);
}

TEST_CASE("ptq: BN re-estimation on MNIST MobileNet W4A8 per-channel") {
  using namespace octet::ptq_test;
  const QuantsimConfig config = QuantsimConfig::load_shipped("default_config");
  const quant::SampleBatch calib = mnist_calib(100);
  PtqOptions po;
  po.sim.param_bitwidth = 4;
  po.sim.per_channel = true;
  po.calibration.batch_size = 50;
  po.calibration.threads = 2;
  po.bc_samples = 100;
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  PtqResult plain = run_ptq(model, config, parse_ptq_steps("fold-bn"), calib, po);
  PtqResult re = run_ptq(model, config, parse_ptq_steps("bn-reest"), calib, po);
  REQUIRE(re.bn_reestimation.layers.size() >= 10);
  double change = 0;
  for (const BnReestimationLayer& l : re.bn_reestimation.layers) {
    change += l.mean_abs_mean_change;
    for (float v : l.new_var) CHECK(v >= 0.f);
  }
  CHECK(change > 0);
  const double acc_plain = accuracy(plain.sim->annotated_model());
  const double acc_re = accuracy(re.sim->annotated_model());
  MESSAGE("W4A8 per-channel MobileNet: nearest " << acc_plain << "%, BN re-estimated (100 images) "
                                                << acc_re << "%; mean |mean change| per BN "
                                                << change / re.bn_reestimation.layers.size());
}
