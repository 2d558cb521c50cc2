#include "bench/model_zoo.h"

#include <cmath>
#include <random>
#include <vector>

#include "engine/attributes.h"
#include "base/error.h"

namespace octet::bench {
namespace {

// Builds a float graph node by node; tensors between nodes get no shape (inferred later).
class Builder {
 public:
  Builder(const ZooOptions& o, const std::string& name) : rng_(o.seed) {
    OCTET_CHECK(o.resolution >= 8 && o.resolution <= 4096, "model zoo: resolution ",
                o.resolution, " out of [8, 4096]");
    OCTET_CHECK(o.num_classes >= 1 && o.num_classes <= 100000, "model zoo: num_classes ",
                o.num_classes, " out of range");
    OCTET_CHECK(o.symbolic_batch || (o.batch >= 1 && o.batch <= 4096), "model zoo: batch ",
                o.batch, " out of range");
    g_ = std::make_shared<Graph>();
    g_->name = name;
    g_->opset = o.opset;
    TensorInfo in{"input", DType::kF32, {}, nullptr, {}};
    in.shape.has_rank = true;
    in.shape.dims = {o.symbolic_batch ? Dim::symbolic("N") : Dim::known(o.batch),
                     Dim::known(3), Dim::known(o.resolution), Dim::known(o.resolution)};
    g_->inputs.push_back(g_->add_tensor(in));
    ch_ = 3;
  }

  TensorId input() const { return g_->inputs[0]; }
  int64_t channels() const { return ch_; }

  // Conv (no bias, as in the published models: the BN after it supplies one).
  TensorId conv(TensorId x, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t group,
                float gain) {
    const std::string n = "conv" + std::to_string(++convs_);
    const int64_t fan_in = (cin / group) * k * k;
    TensorId w = normal(n + ".weight", {cout, cin / group, k, k}, std::sqrt(gain / float(fan_in)));
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("strides", std::vector<int64_t>{stride, stride});
    const int64_t p = (k - 1) / 2;
    a.set("pads", std::vector<int64_t>{p, p, p, p});
    a.set("dilations", std::vector<int64_t>{1, 1});
    a.set("group", group);
    ch_ = cout;
    return node("Conv", n, {x, w}, std::move(a));
  }
  // BatchNormalization with random statistics near the identity; gamma in [g_lo, g_hi].
  TensorId bn(TensorId x, int64_t c, float g_lo = 0.8f, float g_hi = 1.2f, float beta_mean = 0.f) {
    const std::string n = "bn" + std::to_string(++bns_);
    TensorId gamma = uniform(n + ".weight", c, g_lo, g_hi);
    TensorId beta = uniform(n + ".bias", c, beta_mean - 0.1f, beta_mean + 0.1f);
    TensorId mean = uniform(n + ".running_mean", c, -0.1f, 0.1f);
    TensorId var = uniform(n + ".running_var", c, 0.8f, 1.25f);
    Attributes a;
    a.set("epsilon", 1e-5f);
    return node("BatchNormalization", n, {x, gamma, beta, mean, var}, std::move(a));
  }
  TensorId relu(TensorId x) { return node("Relu", "relu" + std::to_string(++acts_), {x}, {}); }
  TensorId relu6(TensorId x) {
    const std::string n = "clip" + std::to_string(++acts_);
    if (g_->opset < 11) {
      Attributes a;
      a.set("min", 0.f);
      a.set("max", 6.f);
      return node("Clip", n, {x}, std::move(a));
    }
    TensorId lo = constant(n + ".min", {}, {0.f});
    TensorId hi = constant(n + ".max", {}, {6.f});
    return node("Clip", n, {x, lo, hi}, {});
  }
  TensorId add(TensorId a, TensorId b) { return node("Add", "add" + std::to_string(++adds_), {a, b}, {}); }
  TensorId max_pool(TensorId x, int64_t k, int64_t s, int64_t p) {
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("strides", std::vector<int64_t>{s, s});
    a.set("pads", std::vector<int64_t>{p, p, p, p});
    return node("MaxPool", "maxpool", {x}, std::move(a));
  }
  // GlobalAveragePool, Flatten, Gemm(transB=1) -> graph output "logits".
  void head(TensorId x, int64_t classes) {
    TensorId pooled = node("GlobalAveragePool", "gap", {x}, {});
    Attributes fa;
    fa.set("axis", int64_t{1});
    TensorId flat = node("Flatten", "flatten", {pooled}, std::move(fa));
    TensorId w = normal("fc.weight", {classes, ch_}, std::sqrt(1.f / float(ch_)));
    TensorId b = uniform("fc.bias", classes, -0.1f, 0.1f);
    Attributes ga;
    ga.set("transB", int64_t{1});
    TensorId y = node("Gemm", "fc", {flat, w, b}, std::move(ga));
    g_->rename_tensor(y, "logits");
    g_->outputs.push_back(y);
  }
  std::shared_ptr<Graph> finish() {
    g_->topo_sort();
    return g_;
  }

 private:
  TensorId node(const std::string& op, const std::string& name, std::vector<TensorId> ins,
                Attributes a) {
    TensorId out = g_->add_tensor(TensorInfo{name + "_out", DType::kF32, Shape::unknown(), nullptr, {}});
    g_->nodes.push_back(Node{name, op, std::move(ins), {out}, std::move(a)});
    return out;
  }
  TensorId constant(const std::string& name, const Dims& dims, const std::vector<float>& v) {
    return g_->add_constant(name, DType::kF32, dims, Buffer::copy_of(v.data(), v.size() * 4));
  }
  TensorId normal(const std::string& name, const Dims& dims, float stddev) {
    std::normal_distribution<float> d(0.f, stddev);
    std::vector<float> v(static_cast<size_t>(checked_numel(dims)));
    for (float& x : v) x = d(rng_);
    return constant(name, dims, v);
  }
  TensorId uniform(const std::string& name, int64_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = d(rng_);
    return constant(name, {n}, v);
  }

  std::shared_ptr<Graph> g_;
  std::mt19937 rng_;
  int64_t ch_ = 0;
  int convs_ = 0, bns_ = 0, acts_ = 0, adds_ = 0;
};

}  // namespace

std::shared_ptr<Graph> build_mobilenet_v2(const ZooOptions& options) {
  Builder b(options, "mobilenet_v2");
  TensorId x = b.relu6(b.bn(b.conv(b.input(), 3, 32, 3, 2, 1, 2.f), 32, 0.8f, 1.2f, 0.5f));
  struct Stage { int64_t t, c, n, s; };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t cin = 32;
  for (const Stage& st : stages) {
    for (int64_t i = 0; i < st.n; ++i) {
      const int64_t stride = i == 0 ? st.s : 1;
      const int64_t hidden = cin * st.t;
      TensorId h = x;
      if (st.t != 1) h = b.relu6(b.bn(b.conv(h, cin, hidden, 1, 1, 1, 2.f), hidden, 0.8f, 1.2f, 0.5f));
      h = b.relu6(b.bn(b.conv(h, hidden, hidden, 3, stride, hidden, 2.f), hidden, 0.8f, 1.2f, 0.5f));
      // Linear bottleneck; a smaller gamma on residual branches keeps the sum's range steady.
      const bool residual = stride == 1 && cin == st.c;
      h = b.bn(b.conv(h, hidden, st.c, 1, 1, 1, 1.f), st.c, residual ? 0.3f : 0.8f,
               residual ? 0.6f : 1.2f);
      x = residual ? b.add(x, h) : h;
      cin = st.c;
    }
  }
  x = b.relu6(b.bn(b.conv(x, cin, 1280, 1, 1, 1, 2.f), 1280, 0.8f, 1.2f, 0.5f));
  b.head(x, options.num_classes);
  return b.finish();
}

std::shared_ptr<Graph> build_resnet18(const ZooOptions& options) {
  Builder b(options, "resnet18");
  TensorId x = b.relu(b.bn(b.conv(b.input(), 3, 64, 7, 2, 1, 2.f), 64));
  x = b.max_pool(x, 3, 2, 1);
  int64_t cin = 64;
  for (int64_t stage = 0; stage < 4; ++stage) {
    const int64_t c = int64_t{64} << stage;
    for (int64_t i = 0; i < 2; ++i) {
      const int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      TensorId h = b.relu(b.bn(b.conv(x, cin, c, 3, stride, 1, 2.f), c));
      h = b.bn(b.conv(h, c, c, 3, 1, 1, 2.f), c, 0.3f, 0.5f);
      TensorId skip = x;
      if (stride != 1 || cin != c) skip = b.bn(b.conv(x, cin, c, 1, stride, 1, 1.f), c, 0.6f, 0.9f);
      x = b.relu(b.add(skip, h));
      cin = c;
    }
  }
  b.head(x, options.num_classes);
  return b.finish();
}

int count_nodes(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

}  // namespace octet::bench
