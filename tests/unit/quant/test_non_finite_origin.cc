#include <doctest/doctest.h>

#include "quant/non_finite_origin.h"
#include "quant/quantsim.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using namespace octet::quant;

TEST_CASE("non-finite origin: a denominator quantized to 0 is found at the Div, its inputs described") {
  // x / sqrt(x * x): finite in float for any x != 0; in qdq a small x squares to below half a
  // step of the square's grid, so the Div sees 0 / 0 or x / 0 (a LayerNorm's variance, in small).
  test::GraphBuilder b(13);
  TensorId x = b.input("x", {1, 4});
  TensorId sq = b.node("Mul", {x, x}, {1, 4});
  TensorId root = b.unary("Sqrt", sq);
  b.output(b.node("Div", {x, root}, {1, 4}, {}, "y"));
  QuantSim sim(b.g, QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  co.batch_size = 1;
  sim.calibrate(HostTensor::from<float>("x", {2, 4}, {-2.f, 2.f, 1.f, -1.f, 0.5f, -0.5f, 1.5f, 0.25f}), co);

  SampleBatch data;
  data.inputs = {HostTensor::from<float>("x", {3, 4}, {1.f, -1.f, 0.5f, 2.f,  //
                                                       1.5f, 0.7f, -0.3f, 1.f,
                                                       0.004f, 1.f, -1.f, 0.5f})};
  CHECK_FALSE(find_non_finite_origin(sim.annotated_model(), data, ExecutionMode::kFloat));
  const auto origin = find_non_finite_origin(sim.annotated_model(), data, ExecutionMode::kQdq);
  REQUIRE(origin);
  MESSAGE(describe(*origin));
  CHECK(origin->node == "Div_2");
  CHECK(origin->op_type == "Div");
  CHECK(origin->sample == 2);
  CHECK(origin->nan + origin->inf == 1);
  REQUIRE(origin->inputs.size() == 2);
  CHECK(origin->inputs[1].name == b.g->tensor(root).name);
  CHECK(origin->inputs[1].quantized);
  CHECK(origin->inputs[1].zeros == 1);
  CHECK(origin->inputs[1].count == 4);
  CHECK(describe(*origin).find("'Div_2' (Div) on sample 2") != std::string::npos);
  CHECK_THROWS_WITH_AS(find_non_finite_origin(sim.annotated_model(), data, ExecutionMode::kInt),
                       doctest::Contains("float or qdq"), Error);
}
