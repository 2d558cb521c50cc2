#include <doctest/doctest.h>

#include <limits>

#include "engine/passes/passes.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using test::GraphBuilder;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
}

TEST_CASE("passes: Relu after Conv fuses and the graph output keeps its name") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  TensorId c = b.conv(x, 3, 3, 1, 1, 1, true, 1);
  TensorId y = b.node("Relu", {c}, b.dims(c), {}, "y");
  b.output(y);
  PassReport r = fuse_activations(*b.g);
  CHECK(r.changed == 1);
  REQUIRE(b.g->nodes.size() == 1);
  const Node& n = b.g->nodes[0];
  CHECK(n.op_type == "Conv");
  CHECK(n.outputs[0] == y);
  CHECK(b.g->tensor(b.g->outputs[0]).name == "y");
  CHECK(n.attrs.get_float("_act_min", -1.f) == 0.f);
  CHECK(n.attrs.get_float("_act_max", 0.f) == kInf);
  b.g->compact();
  CHECK(b.g->tensors.size() == 4);  // x, w, b, y: the intermediate is gone
}

TEST_CASE("passes: Clip fuses with opset-11 inputs and opset-6 attributes") {
  SUBCASE("ReLU6 as inputs") {
    GraphBuilder b(13);
    TensorId a = b.input("a", {2, 4});
    TensorId g = b.node("Gemm", {a, b.random("w", {4, 3}, 1)}, {2, 3});
    b.output(b.relu6(g));
    CHECK(fuse_activations(*b.g).changed == 1);
    REQUIRE(b.g->nodes.size() == 1);
    CHECK(b.g->nodes[0].attrs.get_float("_act_min", -1.f) == 0.f);
    CHECK(b.g->nodes[0].attrs.get_float("_act_max", 0.f) == 6.f);
  }
  SUBCASE("attributes before opset 11") {
    GraphBuilder b(9);
    TensorId a = b.input("a", {2, 4});
    TensorId m = b.node("MatMul", {a, b.random("w", {4, 3}, 1)}, {2, 3});
    Attributes at;
    at.set("min", -1.f);
    at.set("max", 2.5f);
    b.output(b.unary("Clip", m, at));
    CHECK(fuse_activations(*b.g).changed == 1);
    CHECK(b.g->nodes[0].attrs.get_float("_act_min", 0.f) == -1.f);
    CHECK(b.g->nodes[0].attrs.get_float("_act_max", 0.f) == 2.5f);
  }
  SUBCASE("only a max bound") {
    GraphBuilder b(13);
    TensorId a = b.input("a", {2, 4});
    TensorId m = b.node("MatMul", {a, b.random("w", {4, 3}, 1)}, {2, 3});
    TensorId hi = b.constant("hi", {}, {3.f});
    b.output(b.node("Clip", {m, kNoTensor, hi}, {2, 3}));
    CHECK(fuse_activations(*b.g).changed == 1);
    CHECK(b.g->nodes[0].attrs.get_float("_act_min", 0.f) == -kInf);
    CHECK(b.g->nodes[0].attrs.get_float("_act_max", 0.f) == 3.f);
  }
}

TEST_CASE("passes: existing bounds are intersected") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  TensorId c = b.conv(x, 2, 1, 1, 0, 1, false, 1);
  b.g->nodes[0].attrs.set("_act_min", 0.f);
  TensorId lo = b.constant("lo", {}, {-1.f});
  TensorId hi = b.constant("hi", {}, {6.f});
  b.output(b.node("Clip", {c, lo, hi}, b.dims(c)));
  CHECK(fuse_activations(*b.g).changed == 1);
  CHECK(b.g->nodes[0].attrs.get_float("_act_min", -5.f) == 0.f);
  CHECK(b.g->nodes[0].attrs.get_float("_act_max", 0.f) == 6.f);
}

TEST_CASE("passes: activations that must not fuse") {
  SUBCASE("intermediate has two readers") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    TensorId c = b.conv(x, 2, 1, 1, 0, 1, false, 1);
    b.output(b.unary("Relu", c));
    b.output(b.unary("Sigmoid", c));
    CHECK(fuse_activations(*b.g).changed == 0);
  }
  SUBCASE("intermediate is a graph output") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    TensorId c = b.conv(x, 2, 1, 1, 0, 1, false, 1);
    b.output(c);
    b.output(b.unary("Relu", c));
    CHECK(fuse_activations(*b.g).changed == 0);
  }
  SUBCASE("Clip bound is not constant") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    TensorId hi = b.input("hi", {});
    TensorId c = b.conv(x, 2, 1, 1, 0, 1, false, 1);
    b.output(b.node("Clip", {c, kNoTensor, hi}, b.dims(c)));
    PassReport r = fuse_activations(*b.g);
    CHECK(r.changed == 0);
    CHECK(r.notes.size() == 1);
  }
  SUBCASE("disjoint ranges") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    TensorId c = b.conv(x, 2, 1, 1, 0, 1, false, 1);
    b.g->nodes[0].attrs.set("_act_max", 1.f);
    TensorId lo = b.constant("lo", {}, {2.f});
    b.output(b.node("Clip", {c, lo}, b.dims(c)));
    CHECK(fuse_activations(*b.g).changed == 0);
  }
  SUBCASE("producer is not fusable") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 4, 4});
    b.output(b.unary("Relu", b.unary("Sigmoid", x)));
    CHECK(fuse_activations(*b.g).changed == 0);
  }
}

TEST_CASE("passes: Conv+BN+Relu becomes one Conv") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 5, 5});
  TensorId y = b.unary("Relu", b.batch_norm(b.conv(x, 4, 3, 1, 1, 1, false, 1), 7));
  b.output(y);
  fold_batch_norms(*b.g);
  fuse_activations(*b.g);
  REQUIRE(b.g->nodes.size() == 1);
  CHECK(b.g->nodes[0].outputs[0] == y);
  CHECK(b.g->nodes[0].attrs.has("_act_min"));
}

TEST_CASE("passes: fused activations give the same outputs (numeric)") {
  GraphBuilder b(13);
  TensorId x = b.input("x", {1, 3, 6, 6});
  TensorId c = b.unary("Relu", b.conv(x, 4, 3, 1, 1, 1, true, 1));
  TensorId d = b.relu6(b.conv(c, 4, 3, 1, 1, 4, true, 2));
  TensorId f = b.node("Flatten", {d}, {1, 144});
  TensorId g = b.node("Gemm", {f, b.random("wg", {144, 5}, 3), b.random("cg", {5}, 4)}, {1, 5});
  TensorId lo = b.constant("lo", {}, {-0.1f});
  TensorId hi = b.constant("hi", {}, {0.2f});
  b.output(b.node("Clip", {g, lo, hi}, {1, 5}, {}, "y"));
  if (std::string m = test::missing_ops(*b.g); !m.empty()) {
    MESSAGE("skipped: ops not registered:" << m);
    return;
  }
  Graph opt;
  test::compare_optimized(b.g, 5, 1e-4f, 1e-4f, &opt);
  CHECK(test::count_ops(opt, "Relu") == 0);
  CHECK(test::count_ops(opt, "Clip") == 0);
}
