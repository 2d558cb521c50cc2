// PTQ passes: ReLU6 -> ReLU, BN folding with kept statistics, cross-layer scaling and
// high-bias absorption, as AIMET does them, on graphs built in code.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "quant/ptq/bn_fold_stats.h"
#include "quant/ptq/cle.h"
#include "quant/ptq/pipeline.h"
#include "quant/ptq/relu6.h"
#include "quant/quantsim_config.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using namespace octet::quant;
using test::GraphBuilder;

namespace {

std::vector<float> values(const Graph& g, TensorId id) {
  const TensorInfo& t = g.tensor(id);
  REQUIRE(t.is_constant());
  const float* p = t.data->as<float>();
  return std::vector<float>(p, p + checked_numel(t.shape.concrete()));
}

// Multiplies output channel o of the last node's weights by scales[o % size] (new constant).
void spread_channels(GraphBuilder& b, float lo, float hi) {
  Node& n = b.g->nodes.back();
  std::vector<float> w = values(*b.g, n.inputs[1]);
  const Dims wd = b.g->tensor(n.inputs[1]).shape.concrete();
  const size_t cout = static_cast<size_t>(wd[0]), per = w.size() / cout;
  for (size_t o = 0; o < cout; ++o) {
    const float f = lo * std::pow(hi / lo, static_cast<float>(o) / static_cast<float>(cout - 1));
    for (size_t k = 0; k < per; ++k) w[o * per + k] *= f;
  }
  n.inputs[1] = b.constant(n.name + "_wspread", wd, w);
}

std::vector<HostTensor> run(const Graph& g, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::vector<HostTensor> feeds;
  for (TensorId id : g.inputs) {
    const TensorInfo& t = g.tensor(id);
    Dims d = t.shape.concrete();
    feeds.push_back(HostTensor::from<float>(
        t.name, d, test::random_floats(static_cast<size_t>(checked_numel(d)), seed, lo, hi)));
  }
  SessionOptions opt;
  opt.optimize = false;
  opt.reference_kernels = true;
  Session s(std::make_shared<const Graph>(g), opt);
  return s.run(feeds);
}

// Same outputs within `rtol` relative (atol scaled to the output's magnitude).
void check_same(const std::vector<HostTensor>& got, const std::vector<HostTensor>& want,
                float rtol = 1e-5f) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    float mag = 0.f;
    for (float v : want[i].values<float>()) mag = std::max(mag, std::fabs(v));
    test::check_close(got[i], want[i], rtol, rtol * mag);
  }
}

}  // namespace

TEST_CASE("ptq: relu6 -> relu for opset 17 inputs and opset 9 attributes") {
  GraphBuilder b(17);
  TensorId x = b.input("x", {1, 2, 3, 3});
  TensorId y = b.relu6(x);
  TensorId lo = b.constant("lo", {}, {0.f}), hi = b.constant("hi", {}, {4.f});
  b.output(b.node("Clip", {y, lo, hi}, b.dims(y)));  // Clip(0,4) stays
  Relu6Report r = replace_relu6_with_relu(*b.g);
  REQUIRE(r.changed.size() == 1);
  CHECK(r.changed[0] == b.g->nodes[0].name);
  CHECK(b.g->nodes[0].op_type == "Relu");
  CHECK(b.g->nodes[0].inputs.size() == 1);
  CHECK(b.g->nodes[1].op_type == "Clip");

  GraphBuilder old(9);
  TensorId x9 = old.input("x", {1, 2});
  Attributes a;
  a.set("min", 0.f);
  a.set("max", 6.f);
  old.output(old.node("Clip", {x9}, {1, 2}, a));
  CHECK(replace_relu6_with_relu(*old.g).changed.size() == 1);
  CHECK(old.g->nodes[0].op_type == "Relu");
  CHECK(!old.g->nodes[0].attrs.has("max"));
}

// Issue 27, finding 4: tf2onnx writes ReLU6 as Clip(0,6) with min/max attributes (opset < 11)
// and records no type for intermediate tensors; the relu6 step found none and CLE no set.
TEST_CASE("ptq: tf2onnx's Clip(0,6) on untyped tensors is ReLU6 for the relu6 step and for CLE") {
  for (int64_t opset : {8, 13}) {
    CAPTURE(opset);
    GraphBuilder b(opset);
    TensorId x = b.input("x", {1, 3, 6, 6});
    TensorId c1 = b.conv(x, 4, 3, 1, 1, 1, true, 1);
    spread_channels(b, 0.05f, 4.f);
    b.g->tensor(c1).dtype = DType::kUndefined;  // no value_info in the file
    TensorId clipped;
    if (opset < 11) {
      Attributes a;
      a.set("min", 0.f);
      a.set("max", 6.f);
      clipped = b.node("Clip", {c1}, b.dims(c1), a);
    } else {
      clipped = b.relu6(c1);
    }
    b.g->tensor(clipped).dtype = DType::kUndefined;
    b.output(b.conv(clipped, 2, 3, 1, 1, 1, true, 2));
    Graph copy = *b.g;
    CHECK(replace_relu6_with_relu(copy).changed.size() == 1);
    CHECK(test::count_ops(copy, "Relu") == 1);
    const ClsReport r = cross_layer_scale(copy, nullptr, {});
    CHECK(r.sets.size() == 1);
    // Without the replacement the Clip blocks the pair: no set.
    CHECK(cross_layer_scale(*b.g, nullptr, {}).sets.empty());
  }
}

TEST_CASE("ptq: the cle step replaces ReLU6 first, as AIMET's equalize_model does") {
  GraphBuilder b(8);
  TensorId x = b.input("x", {2, 3, 6, 6});
  TensorId c1 = b.conv(x, 4, 3, 1, 1, 1, true, 1);
  spread_channels(b, 0.05f, 4.f);
  Attributes a;
  a.set("min", 0.f);
  a.set("max", 6.f);
  TensorId clipped = b.node("Clip", {c1}, b.dims(c1), a);
  b.output(b.conv(clipped, 2, 3, 1, 1, 1, true, 2));
  const HostTensor samples =
      HostTensor::from<float>("x", {8, 3, 6, 6}, test::random_floats(8 * 3 * 36, 5, -1.f, 1.f));
  PtqOptions po;
  po.calibration.batch_size = 2;
  const PtqResult r = run_ptq(std::make_shared<const Graph>(*b.g), QuantsimConfig::load_shipped("default_config"),
                              {PtqStep::kCle}, SampleBatch{{samples}}, po);
  REQUIRE(r.steps.size() >= 3);
  CHECK(r.steps[0].step == "relu6");
  CHECK(r.steps[0].lines[0] == "1 ReLU6 replaced by ReLU (part of cle)");
  auto line = [](const PtqStepReport& s, const std::string& prefix) -> std::string {
    for (const std::string& l : s.lines)
      if (l.rfind(prefix, 0) == 0) return l;
    return "";
  };
  const std::string measured = "the float model's outputs without the clipping: SQNR ";
  const std::string warning = "warning: this model relies on ReLU6's clipping";
  MESSAGE(line(r.steps[0], measured));
  CHECK(!line(r.steps[0], measured).empty());
  // Inputs 20x larger: the first conv's outputs pass 6, ReLU no longer equals ReLU6.
  const HostTensor loud = HostTensor::from<float>("x", {8, 3, 6, 6}, test::random_floats(8 * 3 * 36, 5, -20.f, 20.f));
  const PtqResult clipped_run = run_ptq(std::make_shared<const Graph>(*b.g), QuantsimConfig::load_shipped("default_config"),
                                        {PtqStep::kCle}, SampleBatch{{loud}}, po);
  MESSAGE(line(clipped_run.steps[0], measured));
  CHECK(!line(clipped_run.steps[0], warning).empty());
  bool one_set = false;
  for (const PtqStepReport& s : r.steps)
    if (s.step == "cle")
      for (const std::string& l : s.lines) one_set = one_set || l.rfind("1 sets", 0) == 0;
  CHECK(one_set);
}

TEST_CASE("ptq: BN folding keeps the folded BN statistics") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 5, 5});
  TensorId c = b.conv(x, 4, 3, 1, 1, 1, true, 1);
  TensorId bn = b.batch_norm(c, 10);
  const Node bn_node = b.g->nodes.back();
  TensorId r = b.unary("Relu", bn);
  b.output(b.conv(r, 2, 1, 1, 0, 1, true, 2));
  const std::string key = b.g->tensor(bn).name;
  const auto gamma = values(*b.g, bn_node.inputs[1]), beta = values(*b.g, bn_node.inputs[2]);
  BnFoldReport rep = fold_batch_norms_keep_stats(*b.g);
  CHECK(rep.pass.changed == 1);
  REQUIRE(rep.stats.count(key) == 1);
  const BnStats& s = rep.stats.at(key);
  CHECK(s.gamma == gamma);
  CHECK(s.beta == beta);
  CHECK(s.var.size() == 4);
  CHECK(s.eps == doctest::Approx(1e-3f));
  CHECK(s.bn_node == bn_node.name);
  CHECK(s.layer_node == b.g->nodes[0].name);
  CHECK(test::count_ops(*b.g, "BatchNormalization") == 0);
}

TEST_CASE("ptq: cross-layer scaling of Conv->BN->Relu->Conv keeps outputs, equalizes ranges") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 6, 6});
  b.conv(x, 8, 3, 1, 1, 1, true, 1);
  spread_channels(b, 0.01f, 3.f);  // per-channel ranges differ 300x
  TensorId c = b.g->nodes.back().outputs[0];
  TensorId r = b.unary("Relu", b.batch_norm(c, 10));
  b.output(b.conv(r, 4, 3, 1, 1, 1, true, 2));
  BnFoldReport fold = fold_batch_norms_keep_stats(*b.g);
  const auto want = run(*b.g, 7);
  const std::string key = fold.stats.begin()->first;
  const auto beta0 = fold.stats.begin()->second.beta;
  const TensorId w_old = b.g->nodes[0].inputs[1];
  const auto w_before = values(*b.g, w_old);

  ClsReport rep = cross_layer_scale(*b.g, &fold.stats);
  REQUIRE(rep.sets.size() == 1);
  CHECK(rep.sets[0].layers.size() == 2);
  CHECK(rep.sets[0].activations[0] == "Relu");
  CHECK(rep.converged);
  CHECK(rep.sets[0].ratio_before[0] > 100.0);
  CHECK(rep.sets[0].ratio_after[0] < rep.sets[0].ratio_before[0] / 10.0);
  check_same(run(*b.g, 7), want);
  // BN beta follows the scaling; the old weight buffer is untouched.
  const auto& sc = rep.sets[0].scales[0];
  for (size_t i = 0; i < sc.size(); ++i)
    CHECK(fold.stats.at(key).beta[i] == doctest::Approx(beta0[i] / sc[i]).epsilon(1e-4));
  CHECK(b.g->nodes[0].inputs[1] != w_old);
  CHECK(values(*b.g, w_old) == w_before);
}

TEST_CASE("ptq: cross-layer scaling of Conv->Relu->DW->Relu->Conv (3-layer set)") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 4, 7, 7});
  b.conv(x, 8, 1, 1, 0, 1, true, 1);
  spread_channels(b, 0.02f, 4.f);  // 200x
  TensorId h = b.unary("Relu", b.g->nodes.back().outputs[0]);
  b.conv(h, 8, 3, 1, 1, 8, true, 2);  // depthwise
  spread_channels(b, 5.f, 0.04f);     // 125x, reversed
  TensorId d = b.unary("Relu", b.g->nodes.back().outputs[0]);
  b.output(b.conv(d, 6, 1, 1, 0, 1, true, 3));
  const auto want = run(*b.g, 11);
  ClsReport rep = cross_layer_scale(*b.g);
  REQUIRE(rep.sets.size() == 1);
  const ClsSet& s = rep.sets[0];
  REQUIRE(s.layers.size() == 3);
  CHECK(s.scales.size() == 2);
  CHECK(s.ratio_before[0] > 100.0);
  CHECK(s.ratio_before[1] > 100.0);
  CHECK(s.ratio_after[0] < s.ratio_before[0] / 10.0);
  CHECK(s.ratio_after[1] < s.ratio_before[1] / 10.0);
  check_same(run(*b.g, 11), want);
}

TEST_CASE("ptq: cross-layer scaling of grouped convs, PRelu and a Gemm pair") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 4, 5, 5});
  b.conv(x, 8, 3, 1, 1, 2, true, 1);  // 2 groups
  spread_channels(b, 0.01f, 2.f);
  TensorId slope = b.constant("slope", {8, 1, 1}, test::random_floats(8, 5, 0.1f, 0.5f));
  TensorId p = b.node("PRelu", {b.g->nodes.back().outputs[0], slope}, {1, 8, 5, 5});
  b.output(b.conv(p, 4, 1, 1, 0, 4, true, 2));  // 4 groups of 2 inputs
  const auto want = run(*b.g, 3);
  ClsReport rep = cross_layer_scale(*b.g);
  REQUIRE(rep.sets.size() == 1);
  CHECK(rep.sets[0].activations[0] == "PRelu");
  CHECK(rep.sets[0].ratio_after[0] < rep.sets[0].ratio_before[0] / 10.0);
  check_same(run(*b.g, 3), want);

  GraphBuilder m;
  TensorId in = m.input("x", {2, 6});
  std::vector<float> w1 = test::random_floats(6 * 5, 1);
  for (size_t r = 0; r < 5; ++r)
    for (size_t k = 0; k < 6; ++k) w1[r * 6 + k] *= r == 0 ? 0.001f : 1.f;  // transB: row = out
  Attributes tb;
  tb.set("transB", int64_t{1});
  TensorId g1 = m.node("Gemm", {in, m.constant("w1", {5, 6}, w1), m.random("c1", {5}, 2)}, {2, 5}, tb);
  TensorId rl = m.unary("Relu", g1);
  m.output(m.node("Gemm", {rl, m.random("w2", {5, 3}, 3)}, {2, 3}));  // no bias, transB = 0
  const auto want2 = run(*m.g, 4);
  ClsReport rep2 = cross_layer_scale(*m.g);
  REQUIRE(rep2.sets.size() == 1);
  CHECK(rep2.sets[0].ratio_after[0] < rep2.sets[0].ratio_before[0] / 10.0);
  check_same(run(*m.g, 4), want2);
}

TEST_CASE("ptq: high-bias absorption across Relu keeps outputs when pre-activations >= c") {
  // BN with a large beta (4..6) and a small gamma (0.1..0.3) after a weak conv: the BN's
  // output is beta + gamma*(x-mean)/sqrt(var+eps) with |x-mean| < 2 and var >= 1, so it is
  // > beta - 2*gamma >= beta - 3*gamma = c > 0: every ReLU input stays above c, the
  // 3-sigma assumption holds exactly, and relu(y - c) + c = relu(y). The second conv has no
  // padding (zero padding would make the absorbed bias wrong at the borders).
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 6, 6});
  TensorId c = b.conv(x, 4, 1, 1, 0, 1, true, 1);
  {
    Node& n = b.g->nodes.back();
    std::vector<float> w = values(*b.g, n.inputs[1]);
    for (float& v : w) v *= 0.2f;  // |conv out| <= 3*0.2 + 1 < ... bounded by 1.6
    n.inputs[1] = b.constant("wsmall", {4, 3, 1, 1}, w);
    n.inputs[2] = b.constant("bsmall", {4}, test::random_floats(4, 9, -0.2f, 0.2f));
  }
  TensorId gamma = b.constant("g", {4}, test::random_floats(4, 1, 0.1f, 0.3f));
  TensorId beta = b.constant("be", {4}, test::random_floats(4, 2, 4.f, 6.f));
  TensorId mean = b.constant("mu", {4}, test::random_floats(4, 3, -0.2f, 0.2f));
  TensorId var = b.constant("var", {4}, test::random_floats(4, 4, 1.f, 2.f));
  TensorId y = b.node("BatchNormalization", {c, gamma, beta, mean, var}, b.dims(c));
  TensorId r = b.unary("Relu", y);
  b.output(b.conv(r, 5, 3, 1, 0, 1, true, 2));
  const auto want = run(*b.g, 5);
  BnFoldReport fold = fold_batch_norms_keep_stats(*b.g);
  cross_layer_scale(*b.g, &fold.stats);
  const auto b1 = values(*b.g, b.g->nodes[0].inputs[2]);
  const BnStats st = fold.stats.begin()->second;
  HbaReport h = absorb_high_biases(*b.g, fold.stats);
  REQUIRE(h.layers.size() == 1);
  CHECK(h.notes.empty());
  const auto b1_after = values(*b.g, b.g->nodes[0].inputs[2]);
  for (size_t i = 0; i < 4; ++i) {
    const float expect = std::max(0.f, st.beta[i] - 3.f * std::fabs(st.gamma[i]));
    CHECK(expect > 0.f);
    CHECK(h.layers[0].absorbed[i] == doctest::Approx(expect));
    CHECK(b1_after[i] == doctest::Approx(b1[i] - expect));
  }
  check_same(run(*b.g, 5), want);
}

TEST_CASE("ptq: high-bias absorption skips layers without BN statistics") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  TensorId r = b.unary("Relu", b.conv(x, 3, 1, 1, 0, 1, true, 1));
  b.output(b.conv(r, 2, 1, 1, 0, 1, true, 2));
  BnFoldReport fold = fold_batch_norms_keep_stats(*b.g);  // exporter-folded: no BN
  CHECK(fold.stats.empty());
  const auto want = run(*b.g, 1);
  HbaReport h = absorb_high_biases(*b.g, fold.stats);
  CHECK(h.layers.empty());
  REQUIRE(h.notes.size() == 1);
  CHECK(h.notes[0].find("no BatchNorm statistics") != std::string::npos);
  check_same(run(*b.g, 1), want, 0.f);
}

TEST_CASE("ptq: cross-layer scaling iterates over a chain of overlapping pairs (fused ReLU)") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 5, 5});
  b.conv(x, 6, 3, 1, 1, 1, true, 1);
  spread_channels(b, 0.01f, 2.f);
  b.g->nodes.back().attrs.set("_act_min", 0.f);  // fused ReLU
  TensorId h = b.g->nodes.back().outputs[0];
  b.conv(h, 6, 1, 1, 0, 1, true, 2);
  spread_channels(b, 3.f, 0.02f);
  TensorId r = b.unary("Relu", b.g->nodes.back().outputs[0]);
  b.output(b.conv(r, 2, 3, 1, 1, 1, true, 3));
  const auto want = run(*b.g, 2);
  ClsReport rep = cross_layer_scale(*b.g);
  REQUIRE(rep.sets.size() == 2);  // (conv0, conv1) and (conv1, conv2) share conv1
  CHECK(rep.sets[0].activations[0] == "Relu");
  CHECK(rep.iterations >= 2);
  CHECK(rep.converged);
  CHECK(rep.sets[0].ratio_after[0] < rep.sets[0].ratio_before[0] / 5.0);
  CHECK(rep.sets[1].ratio_after[0] < rep.sets[1].ratio_before[0] / 5.0);
  check_same(run(*b.g, 2), want);
}
