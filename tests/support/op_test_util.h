// Helpers to run one op through the engine in tests.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/session.h"

namespace octet::test {

struct OpCase {
  std::string op;
  Attributes attrs;
  std::vector<HostTensor> inputs;   // an input with empty name is omitted (kNoTensor)
  std::vector<bool> constant;       // per input: make it a constant (default: runtime input)
  int num_outputs = 1;
  int64_t opset = 17;
};

// Runs a one-input model on `x` (renamed to the model's input, shape fixed to x's) and returns
// its first output as floats.
inline std::vector<float> run_first_output(std::shared_ptr<const Graph> model, ExecutionMode mode,
                                           const HostTensor& x, int threads = 1) {
  SessionOptions options;
  options.mode = mode;
  options.threads = threads;
  const std::string input = model->tensor(model->inputs[0]).name;
  options.input_shapes[input] = x.dims;
  Session session(model, options);
  HostTensor in = x;
  in.name = input;
  const auto out = session.run({in});
  const auto y = out[0].values<float>();
  return {y.begin(), y.end()};
}

// Builds a one-node graph for the case.
inline std::shared_ptr<Graph> make_op_graph(const OpCase& c) {
  auto g = std::make_shared<Graph>();
  g->opset = c.opset;
  Node n;
  n.name = "node";
  n.op_type = c.op;
  n.attrs = c.attrs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const HostTensor& h = c.inputs[i];
    if (h.name.empty()) {
      n.inputs.push_back(kNoTensor);
      continue;
    }
    bool is_const = i < c.constant.size() && c.constant[i];
    if (is_const) {
      n.inputs.push_back(g->add_constant(h.name, h.dtype, h.dims,
                                         Buffer::copy_of(h.bytes.data(), h.bytes.size())));
    } else {
      TensorInfo t;
      t.name = h.name;
      t.dtype = h.dtype;
      t.shape = Shape::of(h.dims);
      n.inputs.push_back(g->add_tensor(t));
      g->inputs.push_back(n.inputs.back());
    }
  }
  for (int o = 0; o < c.num_outputs; ++o) {
    TensorInfo t;
    t.name = "out" + std::to_string(o);
    n.outputs.push_back(g->add_tensor(t));
    g->outputs.push_back(n.outputs.back());
  }
  g->nodes.push_back(std::move(n));
  return g;
}

// Runs the case; `reference` selects the plain reference kernels.
inline std::vector<HostTensor> run_op(const OpCase& c, bool reference, int threads = 1) {
  SessionOptions opt;
  opt.threads = threads;
  opt.reference_kernels = reference;
  Session s(make_op_graph(c), opt);
  std::vector<HostTensor> feeds;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool is_const = i < c.constant.size() && c.constant[i];
    if (!c.inputs[i].name.empty() && !is_const) feeds.push_back(c.inputs[i]);
  }
  return s.run(feeds);
}

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Checks |a-b| <= atol + rtol*|b| elementwise, reporting the first mismatch.
inline void check_close(const HostTensor& a, const HostTensor& b, float rtol = 1e-5f,
                        float atol = 1e-6f) {
  REQUIRE(a.dims == b.dims);
  REQUIRE(a.dtype == DType::kF32);
  REQUIRE(b.dtype == DType::kF32);
  auto x = a.values<float>();
  auto y = b.values<float>();
  for (size_t i = 0; i < x.size(); ++i) {
    bool ok = std::fabs(x[i] - y[i]) <= atol + rtol * std::fabs(y[i]) ||
              (std::isnan(x[i]) && std::isnan(y[i]));
    if (!ok) {
      INFO("element " << i << ": " << x[i] << " vs " << y[i]);
      CHECK(ok);
      return;
    }
  }
}

}  // namespace octet::test
