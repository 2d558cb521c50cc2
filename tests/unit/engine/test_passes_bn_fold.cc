#include <doctest/doctest.h>

#include <cmath>

#include "base/error.h"
#include "engine/passes/passes.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using test::GraphBuilder;

namespace {

std::vector<float> values(const Graph& g, TensorId id) {
  const TensorInfo& t = g.tensor(id);
  REQUIRE(t.is_constant());
  const float* p = t.data->as<float>();
  return std::vector<float>(p, p + checked_numel(t.shape.concrete()));
}

struct BnParams {
  std::vector<float> gamma, beta, mean, var;
  float eps;
  float scale(size_t c) const { return gamma[c] / std::sqrt(var[c] + eps); }
  float shift(size_t c) const { return beta[c] - mean[c] * scale(c); }
};

BnParams bn_params(const Graph& g, const Node& bn) {
  return {values(g, bn.inputs[1]), values(g, bn.inputs[2]), values(g, bn.inputs[3]),
          values(g, bn.inputs[4]), bn.attrs.get_float("epsilon", 1e-5f)};
}

bool has_note(const PassReport& r, const std::string& text) {
  for (const std::string& n : r.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("passes: BN folds into Conv with bias, shared weights untouched") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 6, 6});
  TensorId c = b.conv(x, 4, 3, 1, 1, 1, true, 1);
  TensorId y = b.batch_norm(c, 10);
  b.output(y);
  const Node conv = b.g->nodes[0];
  const Node bn = b.g->nodes[1];
  const auto w = values(*b.g, conv.inputs[1]);
  const auto bias = values(*b.g, conv.inputs[2]);
  const BnParams p = bn_params(*b.g, bn);

  PassReport r = fold_batch_norms(*b.g);
  CHECK(r.changed == 1);
  REQUIRE(b.g->nodes.size() == 1);
  const Node& f = b.g->nodes[0];
  CHECK(f.op_type == "Conv");
  CHECK(f.outputs[0] == y);  // writes the BN's output
  CHECK(f.inputs[1] != conv.inputs[1]);  // new constants
  CHECK(values(*b.g, conv.inputs[1]) == w);  // the old buffer is unchanged
  const auto w2 = values(*b.g, f.inputs[1]);
  const auto b2 = values(*b.g, f.inputs[2]);
  CHECK(b.g->tensor(f.inputs[1]).shape == b.g->tensor(conv.inputs[1]).shape);
  const size_t per = w.size() / 4;
  for (size_t ch = 0; ch < 4; ++ch) {
    CHECK(w2[ch * per + 5] == doctest::Approx(w[ch * per + 5] * p.scale(ch)));
    CHECK(b2[ch] == doctest::Approx(bias[ch] * p.scale(ch) + p.shift(ch)));
  }
}

TEST_CASE("passes: BN folds into Conv without bias (bias created)") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  TensorId c = b.conv(x, 3, 1, 1, 0, 1, false, 2);
  b.output(b.batch_norm(c, 20));
  const Node bn = b.g->nodes[1];
  const BnParams p = bn_params(*b.g, bn);
  CHECK(fold_batch_norms(*b.g).changed == 1);
  REQUIRE(b.g->nodes.size() == 1);
  REQUIRE(b.g->nodes[0].has_input(2));
  const auto b2 = values(*b.g, b.g->nodes[0].inputs[2]);
  REQUIRE(b2.size() == 3);
  for (size_t ch = 0; ch < 3; ++ch) CHECK(b2[ch] == doctest::Approx(p.shift(ch)));
}

TEST_CASE("passes: BN folds into Gemm (transB 0 and 1, with C and alpha/beta)") {
  for (int64_t trans_b : {0, 1}) {
    CAPTURE(trans_b);
    GraphBuilder b;
    TensorId a = b.input("a", {2, 5});
    TensorId w = trans_b ? b.random("w", {3, 5}, 3) : b.random("w", {5, 3}, 3);
    TensorId cc = b.random("c", {3}, 4);
    Attributes at;
    at.set("transB", trans_b);
    at.set("alpha", 0.5f);
    at.set("beta", 2.f);
    TensorId g = b.node("Gemm", {a, w, cc}, {2, 3}, at);
    b.output(b.batch_norm(g, 30));
    const auto wv = values(*b.g, w);
    const auto cv = values(*b.g, cc);
    const BnParams p = bn_params(*b.g, b.g->nodes[1]);
    CHECK(fold_batch_norms(*b.g).changed == 1);
    REQUIRE(b.g->nodes.size() == 1);
    const Node& f = b.g->nodes[0];
    CHECK(f.attrs.get_float("beta", 0.f) == 1.f);
    CHECK(f.attrs.get_float("alpha", 0.f) == 0.5f);
    const auto w2 = values(*b.g, f.inputs[1]);
    const auto c2 = values(*b.g, f.inputs[2]);
    for (size_t n = 0; n < 3; ++n) {
      size_t idx = trans_b ? n * 5 + 2 : 2 * 3 + n;  // element (k=2, n)
      CHECK(w2[idx] == doctest::Approx(wv[idx] * p.scale(n)));
      CHECK(c2[n] == doctest::Approx(2.f * cv[n] * p.scale(n) + p.shift(n)));
    }
  }
}

TEST_CASE("passes: BN folds into grouped ConvTranspose") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 4, 3, 3});
  // ConvTranspose weights [C_in, M/group, k, k]; group 2, M = 6.
  TensorId w = b.random("w", {4, 3, 2, 2}, 5);
  Attributes at;
  at.set("group", int64_t{2});
  TensorId ct = b.node("ConvTranspose", {x, w}, {1, 6, 4, 4}, at);
  b.output(b.batch_norm(ct, 40));
  const auto wv = values(*b.g, w);
  const BnParams p = bn_params(*b.g, b.g->nodes[1]);
  CHECK(fold_batch_norms(*b.g).changed == 1);
  const Node& f = b.g->nodes.at(0);
  const auto w2 = values(*b.g, f.inputs[1]);
  for (int64_t ci = 0; ci < 4; ++ci)
    for (int64_t j = 0; j < 3; ++j) {
      size_t oc = static_cast<size_t>((ci / 2) * 3 + j);
      size_t idx = static_cast<size_t>((ci * 3 + j) * 4 + 1);
      CHECK(w2[idx] == doctest::Approx(wv[idx] * p.scale(oc)));
    }
  const auto b2 = values(*b.g, f.inputs[2]);
  for (size_t oc = 0; oc < 6; ++oc) CHECK(b2[oc] == doctest::Approx(p.shift(oc)));
}

TEST_CASE("passes: BN that cannot fold stays, with a reason") {
  SUBCASE("intermediate read twice") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    TensorId c = b.conv(x, 2, 1, 1, 0, 1, true, 1);
    b.output(b.batch_norm(c, 2));
    b.output(b.unary("Relu", c));
    PassReport r = fold_batch_norms(*b.g);
    CHECK(r.changed == 0);
    CHECK(b.count("BatchNormalization") == 1);
    CHECK(has_note(r, "other uses"));
  }
  SUBCASE("after a Relu") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    b.output(b.batch_norm(b.unary("Relu", x), 2));
    PassReport r = fold_batch_norms(*b.g);
    CHECK(r.changed == 0);
    CHECK(has_note(r, "Relu"));
  }
  SUBCASE("weights not constant") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    TensorId w = b.input("w", {2, 2, 1, 1});
    TensorId c = b.node("Conv", {x, w}, {1, 2, 4, 4});
    b.output(b.batch_norm(c, 2));
    PassReport r = fold_batch_norms(*b.g);
    CHECK(r.changed == 0);
    CHECK(has_note(r, "weights"));
  }
  SUBCASE("conv with a fused activation") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    TensorId c = b.conv(x, 2, 1, 1, 0, 1, true, 1);
    b.g->nodes[0].attrs.set("_act_min", 0.f);
    b.output(b.batch_norm(c, 2));
    PassReport r = fold_batch_norms(*b.g);
    CHECK(r.changed == 0);
    CHECK(has_note(r, "activation"));
  }
}

TEST_CASE("passes: two Convs sharing weights each get their own folded copy") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  TensorId w = b.random("w", {2, 2, 1, 1}, 9);
  TensorId c1 = b.node("Conv", {x, w}, {1, 2, 4, 4});
  TensorId c2 = b.node("Conv", {x, w}, {1, 2, 4, 4});
  b.output(b.batch_norm(c1, 50));
  b.output(b.batch_norm(c2, 60));
  const auto wv = values(*b.g, w);
  CHECK(fold_batch_norms(*b.g).changed == 2);
  REQUIRE(b.g->nodes.size() == 2);
  CHECK(b.g->nodes[0].inputs[1] != b.g->nodes[1].inputs[1]);
  CHECK(values(*b.g, w) == wv);
}

TEST_CASE("passes: BN folding gives the same outputs (numeric)") {
  GraphBuilder b;
  TensorId x = b.input("x", {2, 3, 7, 7});
  TensorId c = b.batch_norm(b.conv(x, 8, 3, 2, 1, 1, true, 1), 100);
  TensorId d = b.batch_norm(b.conv(c, 8, 3, 1, 1, 8, false, 2), 200);  // depthwise
  Attributes at;
  at.set("group", int64_t{2});
  TensorId wt = b.random("wt", {8, 2, 2, 2}, 7);
  TensorId t = b.batch_norm(b.node("ConvTranspose", {d, wt}, {2, 4, 5, 5}, at), 300);
  b.output(t);
  if (std::string m = test::missing_ops(*b.g); !m.empty()) {
    MESSAGE("skipped: ops not registered:" << m);
    return;
  }
  Graph opt;
  test::compare_optimized(b.g, 1, 1e-4f, 1e-4f, &opt);
  CHECK(test::count_ops(opt, "BatchNormalization") == 0);
}

TEST_CASE("passes: BN folding into Gemm gives the same outputs (numeric)") {
  for (int64_t trans_b : {0, 1}) {
    GraphBuilder b;
    TensorId a = b.input("a", {3, 6});
    TensorId w = trans_b ? b.random("w", {4, 6}, 3) : b.random("w", {6, 4}, 3);
    Attributes at;
    at.set("transB", trans_b);
    at.set("beta", 0.5f);
    TensorId g = b.node("Gemm", {a, w, b.random("c", {1, 4}, 4)}, {3, 4}, at);
    b.output(b.batch_norm(g, 30));
    if (std::string m = test::missing_ops(*b.g); !m.empty()) {
      MESSAGE("skipped: ops not registered:" << m);
      return;
    }
    test::compare_optimized(b.g, 2);
  }
}

// Issue 29, finding 9: a negative variance was folded into NaN weights and reported against them.
TEST_CASE("passes: BN statistics that give no finite scale are named, not folded into NaN") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  TensorId c = b.conv(x, 3, 1, 1, 0, 1, true, 2);
  b.output(b.batch_norm(c, 20));
  Node& bn = b.g->nodes[1];
  const Dims cd{3};
  bn.inputs[4] = b.constant("bad_var", cd, {0.5f, -2.f, 1.f});
  CHECK_THROWS_WITH_AS(fold_batch_norms(*b.g),
                       doctest::Contains("', channel 1: gamma "), Error);
  CHECK_THROWS_WITH_AS(fold_batch_norms(*b.g),
                       doctest::Contains(", var -2, epsilon 0.001 give no finite scale gamma / sqrt(var + epsilon) "
                                         "and shift: the model's statistics are invalid"),
                       Error);
}
