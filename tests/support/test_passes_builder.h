// Builds small graphs in code for the pass tests: shapes are set by the builder, so the
// structural tests run without any op registered.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"
#include "engine/session.h"
#include "tests/support/op_test_util.h"

namespace octet::test {

struct GraphBuilder {
  std::shared_ptr<Graph> g = std::make_shared<Graph>();

  explicit GraphBuilder(int64_t opset = 17) { g->opset = opset; }

  TensorId input(const std::string& name, const Dims& dims) {
    TensorId id = g->add_tensor(TensorInfo{name, DType::kF32, Shape::of(dims), nullptr, {}});
    g->inputs.push_back(id);
    return id;
  }
  TensorId constant(const std::string& name, const Dims& dims, const std::vector<float>& v) {
    return g->add_constant(name, DType::kF32, dims, Buffer::copy_of(v.data(), v.size() * 4));
  }
  TensorId random(const std::string& name, const Dims& dims, uint32_t seed, float lo = -1.f,
                  float hi = 1.f) {
    return constant(name, dims, random_floats(static_cast<size_t>(checked_numel(dims)), seed, lo, hi));
  }
  TensorId node(const std::string& op, std::vector<TensorId> inputs, const Dims& out_dims,
                Attributes attrs = {}, const std::string& out_name = "") {
    std::string name = op + "_" + std::to_string(g->nodes.size());
    TensorId out = g->add_tensor(TensorInfo{out_name.empty() ? name + "_out" : out_name,
                                            DType::kF32, Shape::of(out_dims), nullptr, {}});
    g->nodes.push_back(Node{name, op, std::move(inputs), {out}, std::move(attrs)});
    return out;
  }
  void output(TensorId id) { g->outputs.push_back(id); }

  Dims dims(TensorId id) const { return g->tensor(id).shape.concrete(); }

  // 2-D convolution with square kernel k, symmetric padding `pad`, stride s.
  TensorId conv(TensorId x, int64_t cout, int64_t k, int64_t s, int64_t pad, int64_t group,
                bool bias, uint32_t seed) {
    Dims xd = dims(x);
    int64_t cin = xd[1];
    TensorId w = random("w" + std::to_string(seed), {cout, cin / group, k, k}, seed);
    std::vector<TensorId> ins{x, w};
    if (bias) ins.push_back(random("b" + std::to_string(seed), {cout}, seed + 1000));
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("strides", std::vector<int64_t>{s, s});
    a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    a.set("group", group);
    int64_t oh = (xd[2] + 2 * pad - k) / s + 1, ow = (xd[3] + 2 * pad - k) / s + 1;
    return node("Conv", ins, {xd[0], cout, oh, ow}, a);
  }
  // 1-D convolution over [N, C, L]: kernel k, symmetric padding `pad`, stride s, dilation d.
  TensorId conv1d(TensorId x, int64_t cout, int64_t k, int64_t s, int64_t pad, int64_t group,
                  bool bias, uint32_t seed, int64_t d = 1) {
    Dims xd = dims(x);
    TensorId w = random("w" + std::to_string(seed), {cout, xd[1] / group, k}, seed);
    std::vector<TensorId> ins{x, w};
    if (bias) ins.push_back(random("b" + std::to_string(seed), {cout}, seed + 1000));
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{k});
    a.set("strides", std::vector<int64_t>{s});
    a.set("pads", std::vector<int64_t>{pad, pad});
    a.set("dilations", std::vector<int64_t>{d});
    a.set("group", group);
    return node("Conv", ins, {xd[0], cout, (xd[2] + 2 * pad - d * (k - 1) - 1) / s + 1}, a);
  }
  TensorId batch_norm(TensorId x, uint32_t seed) {
    int64_t c = dims(x)[1];
    std::string s = std::to_string(seed);
    TensorId gamma = random("gamma" + s, {c}, seed, 0.5f, 1.5f);
    TensorId beta = random("beta" + s, {c}, seed + 1);
    TensorId mean = random("mean" + s, {c}, seed + 2);
    TensorId var = random("var" + s, {c}, seed + 3, 0.2f, 2.f);
    Attributes a;
    a.set("epsilon", 1e-3f);
    return node("BatchNormalization", {x, gamma, beta, mean, var}, dims(x), a);
  }
  TensorId unary(const std::string& op, TensorId x, Attributes a = {}) {
    return node(op, {x}, dims(x), std::move(a));
  }
  TensorId relu6(TensorId x) {
    TensorId lo = constant("c0_" + std::to_string(g->tensors.size()), {}, {0.f});
    TensorId hi = constant("c6_" + std::to_string(g->tensors.size()), {}, {6.f});
    return node("Clip", {x, lo, hi}, dims(x));
  }

  int count(const std::string& op) const {
    int n = 0;
    for (const Node& node : g->nodes) n += node.op_type == op;
    return n;
  }
  const Node* producer(TensorId id) const {
    for (const Node& node : g->nodes)
      for (TensorId o : node.outputs)
        if (o == id) return &node;
    return nullptr;
  }
};

inline int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

// Names the ops of `g` (plus `extra`) that are not registered; empty when all are.
inline std::string missing_ops(const Graph& g, std::vector<std::string> extra = {}) {
  for (const Node& n : g.nodes) extra.push_back(n.op_type);
  std::set<std::string> missing;
  for (const std::string& op : extra)
    if (!OpRegistry::instance().find(op)) missing.insert(op);
  std::string text;
  for (const std::string& op : missing) text += " " + op;
  return text;
}

// Runs the graph with and without the optimization passes on random inputs and
// compares the outputs. Returns the optimized session's prepared graph node count.
inline size_t compare_optimized(const std::shared_ptr<Graph>& g, uint32_t seed,
                                float rtol = 1e-4f, float atol = 1e-4f,
                                Graph* optimized = nullptr) {
  std::vector<HostTensor> feeds;
  for (TensorId id : g->inputs) {
    const TensorInfo& t = g->tensor(id);
    Dims d = t.shape.concrete();
    feeds.push_back(HostTensor::from<float>(
        t.name, d, random_floats(static_cast<size_t>(checked_numel(d)), seed++, -2.f, 2.f)));
  }
  SessionOptions plain;
  plain.optimize = false;
  plain.reference_kernels = true;
  Session reference(g, plain);
  SessionOptions opt;
  opt.optimize = true;
  Session fast(g, opt);
  auto want = reference.run(feeds);
  auto got = fast.run(feeds);
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i].name == want[i].name);
    check_close(got[i], want[i], rtol, atol);
  }
  if (optimized) *optimized = fast.prepared_graph();
  return fast.prepared_graph().nodes.size();
}

}  // namespace octet::test
