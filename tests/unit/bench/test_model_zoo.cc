// The benchmark model builders (bench/model_zoo.h) give graphs that prepare and run in float:
// MobileNetV2 and ResNet-18 at 32x32 (structure as at 224), finite outputs of the right shape.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

// The builders are bench code (not in the octet library); tests/CMakeLists.txt compiles them in.
#include "bench/model_zoo.h"
#include "engine/session.h"

using namespace octet;

namespace {

HostTensor random_input(int64_t n, int64_t hw) {
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(size_t(n * 3 * hw * hw));
  for (float& x : v) x = d(rng);
  return HostTensor::from<float>("input", {n, 3, hw, hw}, v);
}

void check_runs(const std::shared_ptr<Graph>& g, int64_t batch, int64_t hw, int64_t classes) {
  SessionOptions so;
  so.input_shapes["input"] = {batch, 3, hw, hw};
  Session s(g, so);
  auto out = s.run({random_input(batch, hw)});
  REQUIRE(out.size() == 1);
  CHECK(out[0].name == "logits");
  CHECK(out[0].dims == Dims{batch, classes});
  double max_abs = 0;
  for (float v : out[0].values<float>()) {
    REQUIRE(std::isfinite(v));
    max_abs = std::max(max_abs, double(std::fabs(v)));
  }
  CHECK(max_abs > 1e-3);  // not dead
  CHECK(max_abs < 1e3);   // not exploding
  // BN folded into the convolutions, activations fused.
  CHECK(bench::count_nodes(s.prepared_graph(), "BatchNormalization") == 0);
}

}  // namespace

TEST_CASE("model zoo: MobileNetV2 structure, prepares and runs in float at 32x32") {
  bench::ZooOptions o;
  o.resolution = 32;
  o.num_classes = 10;
  o.symbolic_batch = true;
  auto g = bench::build_mobilenet_v2(o);
  CHECK(bench::count_nodes(*g, "Conv") == 52);  // stem + 17 blocks (first has no expansion) + 1280
  CHECK(bench::count_nodes(*g, "Add") == 10);
  CHECK(bench::count_nodes(*g, "Clip") == 35);
  CHECK(bench::count_nodes(*g, "Gemm") == 1);
  check_runs(g, 2, 32, 10);
}

TEST_CASE("model zoo: ResNet-18 structure, prepares and runs in float at 32x32") {
  bench::ZooOptions o;
  o.resolution = 32;
  o.num_classes = 10;
  auto g = bench::build_resnet18(o);
  CHECK(bench::count_nodes(*g, "Conv") == 20);  // stem + 16 + 3 projections
  CHECK(bench::count_nodes(*g, "Add") == 8);
  CHECK(bench::count_nodes(*g, "MaxPool") == 1);
  check_runs(g, 1, 32, 10);
}

TEST_CASE("model zoo: weights are deterministic per seed") {
  bench::ZooOptions o;
  o.resolution = 32;
  auto a = bench::build_resnet18(o), b = bench::build_resnet18(o);
  o.seed = 2;
  auto c = bench::build_resnet18(o);
  const TensorInfo& wa = a->tensor(a->require_tensor("conv1.weight"));
  const TensorInfo& wb = b->tensor(b->require_tensor("conv1.weight"));
  const TensorInfo& wc = c->tensor(c->require_tensor("conv1.weight"));
  REQUIRE(wa.data->size() == wb.data->size());
  CHECK(std::memcmp(wa.data->data(), wb.data->data(), wa.data->size()) == 0);
  CHECK(std::memcmp(wa.data->data(), wc.data->data(), wa.data->size()) != 0);
}
