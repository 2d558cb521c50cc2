#include <doctest/doctest.h>

#include "engine/passes/passes.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using test::GraphBuilder;

namespace {

// What the pipeline does, without its final re-inference (needs registered ops).
void optimize(Graph& g) {
  remove_identities(g);
  remove_dead_nodes(g);
  fold_batch_norms(g);
  fuse_activations(g);
  convert_to_channels_last(g);
  optimize_transposes(g);
  g.compact();
  g.topo_sort();  // the result is a well-formed graph
}

const Node* producer_of(const Graph& g, TensorId id) {
  for (const Node& n : g.nodes)
    for (TensorId o : n.outputs)
      if (o == id) return &n;
  return nullptr;
}

std::vector<const Node*> readers_of(const Graph& g, TensorId id) {
  std::vector<const Node*> r;
  for (const Node& n : g.nodes)
    for (TensorId i : n.inputs)
      if (i == id) r.push_back(&n);
  return r;
}

Dims dims_of(const Graph& g, TensorId id) { return g.tensor(id).shape.concrete(); }

std::string skip_reason(const Graph& g) {
  return test::missing_ops(g, {"Transpose"});
}

// ResNet / MobileNet-like: Conv+BN+Relu, depthwise+BN+ReLU6, pointwise+BN, residual Add,
// Relu, MaxPool, Conv+Relu, GlobalAveragePool, Flatten, Gemm.
std::shared_ptr<Graph> mobile_chain() {
  GraphBuilder b(13);
  TensorId x = b.input("x", {1, 3, 16, 16});
  TensorId c1 = b.unary("Relu", b.batch_norm(b.conv(x, 8, 3, 2, 1, 1, false, 1), 10));
  TensorId dw = b.relu6(b.batch_norm(b.conv(c1, 8, 3, 1, 1, 8, false, 2), 20));
  TensorId pw = b.batch_norm(b.conv(dw, 8, 1, 1, 0, 1, false, 3), 30);
  TensorId r = b.unary("Relu", b.node("Add", {pw, c1}, {1, 8, 8, 8}));
  Attributes mp;
  mp.set("kernel_shape", std::vector<int64_t>{2, 2});
  mp.set("strides", std::vector<int64_t>{2, 2});
  TensorId m = b.node("MaxPool", {r}, {1, 8, 4, 4}, mp);
  TensorId e = b.unary("Relu", b.conv(m, 16, 1, 1, 0, 1, true, 4));
  TensorId gap = b.node("GlobalAveragePool", {e}, {1, 16, 1, 1});
  TensorId f = b.node("Flatten", {gap}, {1, 16});
  b.output(b.node("Gemm", {f, b.random("wg", {16, 10}, 5), b.random("cg", {10}, 6)}, {1, 10},
                  {}, "logits"));
  return b.g;
}

}  // namespace

TEST_CASE("passes: a single Conv goes NHWC between two transposes") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 6, 5});
  TensorId y = b.conv(x, 4, 3, 1, 1, 1, true, 1);
  b.output(y);
  PassReport r = convert_to_channels_last(*b.g);
  CHECK(r.changed == 1);
  REQUIRE(b.g->nodes.size() == 3);
  const Node& t_in = b.g->nodes[0];
  const Node& conv = b.g->nodes[1];
  const Node& t_out = b.g->nodes[2];
  CHECK(t_in.op_type == "Transpose");
  CHECK(t_in.attrs.get_ints("perm") == std::vector<int64_t>{0, 2, 3, 1});
  CHECK(conv.attrs.get_string("_layout", "") == "NHWC");
  CHECK(dims_of(*b.g, conv.inputs[0]) == Dims{1, 6, 5, 3});
  CHECK(dims_of(*b.g, conv.outputs[0]) == Dims{1, 6, 5, 4});
  CHECK(dims_of(*b.g, conv.inputs[1]) == Dims{4, 3, 3, 3});  // weights stay ONNX layout
  CHECK(t_out.attrs.get_ints("perm") == std::vector<int64_t>{0, 3, 1, 2});
  CHECK(t_out.outputs[0] == y);
  CHECK(dims_of(*b.g, y) == Dims{1, 4, 6, 5});
  // Already marked nodes are left alone.
  CHECK(convert_to_channels_last(*b.g).changed == 0);
}

TEST_CASE("passes: mobile chain keeps one transpose at the input and one before Flatten") {
  auto g = mobile_chain();
  optimize(*g);
  CHECK(test::count_ops(*g, "BatchNormalization") == 0);
  CHECK(test::count_ops(*g, "Relu") == 1);  // the one after Add
  CHECK(test::count_ops(*g, "Clip") == 0);
  CHECK(test::count_ops(*g, "Identity") == 0);
  REQUIRE(test::count_ops(*g, "Transpose") == 2);
  // Conv x4, Add, Relu (after Add), MaxPool, GAP, Flatten, Gemm, 2 Transposes.
  CHECK(g->nodes.size() == 12);
  const TensorId x = g->inputs[0];
  for (const Node& n : g->nodes) {
    if (n.op_type == "Transpose") {
      const bool at_input = n.inputs[0] == x;
      const auto readers = readers_of(*g, n.outputs[0]);
      REQUIRE(readers.size() == 1);
      if (at_input) {
        CHECK(readers[0]->op_type == "Conv");
      } else {
        CHECK(readers[0]->op_type == "Flatten");
        CHECK(dims_of(*g, n.outputs[0]) == Dims{1, 16, 1, 1});
        CHECK(producer_of(*g, n.inputs[0])->op_type == "GlobalAveragePool");
        CHECK(dims_of(*g, n.inputs[0]) == Dims{1, 1, 1, 16});
      }
    }
    if (n.op_type == "Conv" || n.op_type == "MaxPool" || n.op_type == "GlobalAveragePool")
      CHECK(n.attrs.get_string("_layout", "") == "NHWC");
    if (n.op_type == "Add") CHECK(dims_of(*g, n.outputs[0]) == Dims{1, 8, 8, 8});
    if (n.op_type == "MaxPool") CHECK(dims_of(*g, n.outputs[0]) == Dims{1, 4, 4, 8});
  }
  CHECK(g->tensor(g->outputs[0]).name == "logits");
  CHECK(dims_of(*g, g->outputs[0]) == Dims{1, 10});
}

TEST_CASE("passes: constants of binary ops are moved to NHWC, scalars kept") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 3, 3});
  TensorId c = b.conv(x, 2, 1, 1, 0, 1, false, 1);
  std::vector<float> k(18);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<float>(i);  // value = NCHW offset
  TensorId full = b.constant("full", {1, 2, 3, 3}, k);
  TensorId per_c = b.constant("per_c", {2, 1, 1}, {10.f, 20.f});
  TensorId scalar = b.constant("s", {}, {0.5f});
  TensorId a = b.node("Add", {c, full}, {1, 2, 3, 3});
  TensorId m = b.node("Mul", {per_c, a}, {1, 2, 3, 3});
  TensorId s = b.node("Sub", {m, scalar}, {1, 2, 3, 3});
  b.output(b.conv(s, 2, 1, 1, 0, 1, false, 2));
  optimize(*b.g);
  CHECK(test::count_ops(*b.g, "Transpose") == 2);
  for (const Node& n : b.g->nodes) {
    if (n.op_type == "Add") {
      const TensorInfo& t = b.g->tensor(n.inputs[1]);
      REQUIRE(t.is_constant());
      CHECK(t.shape.concrete() == Dims{1, 3, 3, 2});
      const float* v = t.data->as<float>();
      // NHWC (0, h, w, c) holds NCHW (0, c, h, w) = c*9 + h*3 + w.
      for (int h = 0; h < 3; ++h)
        for (int w = 0; w < 3; ++w)
          for (int ch = 0; ch < 2; ++ch) CHECK(v[(h * 3 + w) * 2 + ch] == ch * 9 + h * 3 + w);
    }
    if (n.op_type == "Mul") {
      const TensorInfo& t = b.g->tensor(n.inputs[0]);
      CHECK(t.shape.concrete() == Dims{1, 1, 1, 2});
      CHECK(t.data->as<float>()[1] == 20.f);
    }
    if (n.op_type == "Sub") CHECK(b.g->tensor(n.inputs[1]).name == "s");
  }
  // The NCHW constant is no longer read (new tensors were made, not edited in place).
  CHECK(b.g->find_tensor("full") == std::nullopt);
}

TEST_CASE("passes: Concat axis is remapped and inputs share one transpose") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 3, 4, 4});
  TensorId c1 = b.conv(x, 2, 1, 1, 0, 1, false, 1);
  TensorId c2 = b.conv(x, 3, 3, 1, 1, 1, false, 2);
  Attributes at;
  at.set("axis", int64_t{-3});
  TensorId cat = b.node("Concat", {c1, c2}, {1, 5, 4, 4}, at);
  b.output(b.conv(cat, 4, 1, 1, 0, 1, false, 3));
  optimize(*b.g);
  CHECK(test::count_ops(*b.g, "Transpose") == 2);
  for (const Node& n : b.g->nodes)
    if (n.op_type == "Concat") {
      CHECK(n.attrs.get_int("axis", -1) == 3);
      CHECK(dims_of(*b.g, n.outputs[0]) == Dims{1, 4, 4, 5});
    }
}

TEST_CASE("passes: SiLU and squeeze-excite stay inside the NHWC island") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 4, 5, 5});
  TensorId c = b.conv(x, 4, 3, 1, 1, 1, true, 1);
  TensorId silu = b.node("Mul", {c, b.unary("Sigmoid", c)}, {1, 4, 5, 5});
  TensorId gap = b.node("GlobalAveragePool", {silu}, {1, 4, 1, 1});
  TensorId se = b.unary("HardSigmoid", b.conv(b.unary("Relu", b.conv(gap, 2, 1, 1, 0, 1, true, 2)),
                                               4, 1, 1, 0, 1, true, 3));
  TensorId scaled = b.node("Mul", {silu, se}, {1, 4, 5, 5});
  b.output(b.conv(scaled, 4, 1, 1, 0, 1, false, 4));
  optimize(*b.g);
  CHECK(test::count_ops(*b.g, "Transpose") == 2);
  for (const Node& n : b.g->nodes)
    if (n.op_type == "Mul" && dims_of(*b.g, n.inputs[1]) == Dims{1, 1, 1, 4})
      CHECK(dims_of(*b.g, n.outputs[0]) == Dims{1, 5, 5, 4});
}

TEST_CASE("passes: transposes stay before layout-sensitive ops and graph outputs") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  TensorId r = b.node("Relu", {b.conv(x, 2, 1, 1, 0, 1, false, 1)}, {1, 2, 4, 4}, {}, "r");
  b.output(r);  // an intermediate graph output
  TensorId c2 = b.conv(r, 2, 1, 1, 0, 1, false, 2);
  TensorId shape = b.g->add_constant("shape", DType::kI64, {2},
                                     Buffer::copy_of(std::vector<int64_t>{1, 32}.data(), 16));
  b.output(b.node("Reshape", {c2, shape}, {1, 32}, {}, "flat"));
  optimize(*b.g);
  // x -> NHWC, the output "r" back to NCHW, before Reshape back to NCHW.
  CHECK(test::count_ops(*b.g, "Transpose") == 3);
  const TensorId out_r = b.g->require_tensor("r");
  CHECK(dims_of(*b.g, out_r) == Dims{1, 2, 4, 4});
  CHECK(producer_of(*b.g, out_r)->op_type == "Transpose");
  CHECK(b.g->tensor(b.g->outputs[0]).name == "r");
  CHECK(b.g->tensor(b.g->outputs[1]).name == "flat");
  for (const Node& n : b.g->nodes)
    if (n.op_type == "Reshape") CHECK(producer_of(*b.g, n.inputs[0])->op_type == "Transpose");
}

TEST_CASE("passes: consecutive transposes merge, inverse pairs cancel") {
  SUBCASE("merge into one") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 3, 4});
    Attributes p;
    p.set("perm", std::vector<int64_t>{0, 2, 3, 1});
    TensorId t1 = b.node("Transpose", {x}, {1, 3, 4, 2}, p);
    TensorId t2 = b.node("Transpose", {t1}, {1, 4, 2, 3}, p, "y");
    b.output(t2);
    optimize_transposes(*b.g);
    REQUIRE(b.g->nodes.size() == 1);
    CHECK(b.g->nodes[0].inputs[0] == x);
    CHECK(b.g->nodes[0].attrs.get_ints("perm") == std::vector<int64_t>{0, 3, 1, 2});
    CHECK(dims_of(*b.g, b.g->nodes[0].outputs[0]) == Dims{1, 4, 2, 3});
  }
  SUBCASE("inverse pair from input to output keeps a copy under the output's name") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 3, 4});
    Attributes p1, p2;
    p1.set("perm", std::vector<int64_t>{0, 2, 3, 1});
    p2.set("perm", std::vector<int64_t>{0, 3, 1, 2});
    TensorId t1 = b.node("Transpose", {x}, {1, 3, 4, 2}, p1);
    b.output(b.node("Transpose", {t1}, {1, 2, 3, 4}, p2, "y"));
    optimize_transposes(*b.g);
    REQUIRE(b.g->nodes.size() == 1);
    CHECK(b.g->nodes[0].op_type == "Identity");
    CHECK(b.g->tensor(b.g->nodes[0].outputs[0]).name == "y");
  }
  SUBCASE("inverse pair inside the graph disappears") {
    GraphBuilder b;
    TensorId x = b.input("x", {1, 2, 3, 4});
    Attributes p1, p2;
    p1.set("perm", std::vector<int64_t>{0, 2, 3, 1});
    p2.set("perm", std::vector<int64_t>{0, 3, 1, 2});
    TensorId r = b.unary("Relu", x);
    TensorId t1 = b.node("Transpose", {r}, {1, 3, 4, 2}, p1);
    TensorId t2 = b.node("Transpose", {t1}, {1, 2, 3, 4}, p2);
    b.output(b.node("Sigmoid", {t2}, {1, 2, 3, 4}, {}, "y"));
    optimize_transposes(*b.g);
    CHECK(b.g->nodes.size() == 2);
    CHECK(b.g->nodes[1].inputs[0] == r);
  }
}

TEST_CASE("passes: MaxPool with used indices stays NCHW") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 4, 4});
  Attributes mp;
  mp.set("kernel_shape", std::vector<int64_t>{2, 2});
  TensorId y = b.node("MaxPool", {x}, {1, 2, 3, 3}, mp);
  TensorId idx = b.g->add_tensor(TensorInfo{"idx", DType::kI64, Shape::of({1, 2, 3, 3}), nullptr, {}});
  b.g->nodes.back().outputs.push_back(idx);
  b.output(y);
  b.output(idx);
  PassReport r = convert_to_channels_last(*b.g);
  CHECK(r.changed == 0);
  CHECK(r.notes.size() == 1);
}

// ---- numeric: the optimized graph computes the same (runs once the ops exist) ----

TEST_CASE("passes: mobile chain gives the same outputs with passes (numeric)") {
  auto g = mobile_chain();
  if (std::string m = skip_reason(*g); !m.empty()) {
    MESSAGE("skipped: ops not registered:" << m);
    return;
  }
  Graph opt;
  test::compare_optimized(g, 11, 1e-4f, 1e-4f, &opt);
  CHECK(test::count_ops(opt, "Transpose") == 2);
  CHECK(test::count_ops(opt, "BatchNormalization") == 0);
}

TEST_CASE("passes: constants, Concat, SiLU and SE blocks in NHWC give the same outputs (numeric)") {
  GraphBuilder b(13);
  TensorId x = b.input("x", {2, 3, 9, 9});
  TensorId c1 = b.conv(x, 4, 3, 2, 1, 1, true, 1);
  TensorId c2 = b.conv(x, 2, 1, 2, 0, 1, false, 2);
  TensorId cat = b.node("Concat", {c1, c2}, {2, 6, 5, 5}, [] {
    Attributes a;
    a.set("axis", int64_t{1});
    return a;
  }());
  TensorId bias = b.random("cbias", {6, 1, 1}, 3);
  TensorId full = b.random("cfull", {1, 6, 5, 5}, 4);
  TensorId a = b.node("Mul", {b.node("Add", {cat, bias}, {2, 6, 5, 5}), full}, {2, 6, 5, 5});
  TensorId silu = b.node("Mul", {a, b.unary("Sigmoid", a)}, {2, 6, 5, 5});
  TensorId gap = b.node("GlobalAveragePool", {silu}, {2, 6, 1, 1});
  TensorId se = b.unary("Sigmoid", b.conv(b.unary("Relu", b.conv(gap, 3, 1, 1, 0, 1, true, 5)), 6,
                                          1, 1, 0, 1, true, 6));
  TensorId scaled = b.node("Mul", {silu, se}, {2, 6, 5, 5});
  Attributes ap;
  ap.set("kernel_shape", std::vector<int64_t>{3, 3});
  ap.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  TensorId pooled = b.node("AveragePool", {scaled}, {2, 6, 5, 5}, ap);
  TensorId bn = b.batch_norm(pooled, 7);  // not foldable: stays, runs NHWC
  b.output(b.node("Relu", {bn}, {2, 6, 5, 5}, {}, "y"));
  TensorId ct = b.node("ConvTranspose", {bn, b.random("wt", {6, 2, 2, 2}, 8)}, {2, 2, 10, 10},
                       [] {
                         Attributes t;
                         t.set("strides", std::vector<int64_t>{2, 2});
                         return t;
                       }());
  b.output(b.node("GlobalMaxPool", {ct}, {2, 2, 1, 1}, {}, "z"));
  if (std::string m = skip_reason(*b.g); !m.empty()) {
    MESSAGE("skipped: ops not registered:" << m);
    return;
  }
  test::compare_optimized(b.g, 21);
}

TEST_CASE("passes: residual from the graph input joins the NHWC island") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 4, 6, 6});
  TensorId cur = x;
  for (int i = 0; i < 20; ++i) {
    TensorId c = b.unary("Relu", b.conv(cur, 4, 1, 1, 0, 1, true, 10 + i));
    TensorId d = b.conv(c, 4, 3, 1, 1, 4, true, 100 + i);
    cur = b.node("Add", {d, cur}, {1, 4, 6, 6});
  }
  b.output(b.node("Relu", {cur}, {1, 4, 6, 6}, {}, "y"));
  optimize(*b.g);
  // One transpose of x (shared by the first Conv and the first Add), one at the output.
  CHECK(test::count_ops(*b.g, "Transpose") == 2);
  CHECK(b.g->nodes.size() == 20 * 3 + 1 + 2);
  CHECK(b.g->tensor(b.g->outputs[0]).name == "y");
  CHECK(dims_of(*b.g, b.g->outputs[0]) == Dims{1, 4, 6, 6});
}

namespace {

// Conv1d as a channels-last exporter writes it (tf2onnx: NWC data, a Transpose before and after),
// then a strided grouped dilated Conv1d, BatchNorm1d, MaxPool1d.
std::shared_ptr<Graph> conv1d_chain(GraphBuilder& b) {
  Attributes swap;
  swap.set("perm", std::vector<int64_t>{0, 2, 1});
  TensorId x = b.input("x", {2, 12, 6});  // N, L, C
  TensorId ncw = b.node("Transpose", {x}, {2, 6, 12}, swap);
  TensorId c1 = b.unary("Relu", b.conv1d(ncw, 8, 3, 1, 1, 1, true, 1));
  TensorId c2 = b.batch_norm(b.conv1d(c1, 8, 3, 2, 2, 2, false, 2, 2), 30);
  Attributes mp;
  mp.set("kernel_shape", std::vector<int64_t>{2});
  mp.set("strides", std::vector<int64_t>{2});
  TensorId m = b.node("MaxPool", {c2}, {2, 8, 3}, mp);
  b.output(b.node("Transpose", {m}, {2, 3, 8}, swap, "y"));
  return b.g;
}

}  // namespace

TEST_CASE("passes: a 1-D Conv runs as its 2-D form channels-last, the exporter's transposes cancelled") {
  GraphBuilder b;
  TensorId x = b.input("x", {1, 4, 10});
  TensorId y = b.conv1d(x, 5, 3, 1, 1, 1, true, 1);
  b.output(y);
  PassReport r = convert_to_channels_last(*b.g);
  CHECK(r.changed == 1);
  const Node* conv = nullptr;
  for (const Node& n : b.g->nodes)
    if (n.op_type == "Conv") conv = &n;
  REQUIRE(conv);
  CHECK(conv->attrs.get_string("_layout", "") == "NHWC");
  CHECK(dims_of(*b.g, conv->inputs[0]) == Dims{1, 1, 10, 4});
  CHECK(dims_of(*b.g, conv->inputs[1]) == Dims{5, 4, 1, 3});
  CHECK(dims_of(*b.g, conv->outputs[0]) == Dims{1, 1, 10, 5});
  CHECK(conv->attrs.get_ints("kernel_shape") == std::vector<int64_t>{1, 3});
  CHECK(conv->attrs.get_ints("pads") == std::vector<int64_t>{0, 1, 0, 1});
  CHECK(conv->attrs.get_ints("strides") == std::vector<int64_t>{1, 1});
  CHECK(dims_of(*b.g, y) == Dims{1, 5, 10});  // the graph's output keeps its name and shape

  GraphBuilder c;
  auto g = conv1d_chain(c);
  optimize(*g);
  CHECK(test::count_ops(*g, "Transpose") == 0);
  CHECK(test::count_ops(*g, "BatchNormalization") == 0);
  for (const Node& n : g->nodes)
    if (n.op_type == "Conv" || n.op_type == "MaxPool") CHECK(n.attrs.get_string("_layout", "") == "NHWC");
}

TEST_CASE("passes: 1-D Conv, BatchNorm and MaxPool channels-last give the same outputs (numeric)") {
  GraphBuilder b;
  auto g = conv1d_chain(b);
  if (std::string m = skip_reason(*g); !m.empty()) {
    MESSAGE("skipped: ops not registered:" << m);
    return;
  }
  Graph opt;
  test::compare_optimized(g, 21, 1e-4f, 1e-4f, &opt);
  CHECK(test::count_ops(opt, "Transpose") == 0);
  int nhwc = 0;
  for (const Node& n : opt.nodes) nhwc += n.attrs.get_string("_layout", "") == "NHWC";
  CHECK(nhwc == 3);
}
