#include <doctest/doctest.h>

#include <xtensor/xmath.hpp>

#include "engine/xtensor_view.h"
#include "tests/support/op_test_util.h"

using namespace octet;

TEST_CASE("xtensor views: a session's output viewed in place, an input written through a view") {
  HostTensor x = HostTensor::from<float>("x", {2, 3}, {0, 0, 0, 0, 0, 0});
  auto xv = xtensor_view<float>(x);
  REQUIRE(xv.dimension() == 2);
  CHECK(xv.shape()[0] == 2);
  CHECK(xv.shape()[1] == 3);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) xv(i, j) = static_cast<float>(i) - static_cast<float>(j);
  CHECK(x.values<float>()[5] == -1.f);  // the write reached the tensor's own bytes

  test::OpCase c;
  c.op = "Relu";
  c.inputs = {x};
  auto out = test::run_op(c, false);
  REQUIRE(out.size() == 1);
  const HostTensor& y = out[0];
  const auto yv = xtensor_view<float>(y);
  CHECK(yv.data() == y.values<float>().data());  // no copy
  CHECK(xt::sum(yv)() == doctest::Approx(1.0));  // relu of [[0,-1,-2],[1,0,-1]]
  CHECK(yv(1, 0) == 1.f);
}

TEST_CASE("xtensor views: a wrong element type or a short buffer is an error") {
  HostTensor x = HostTensor::from<float>("x", {2, 2}, {1, 2, 3, 4});
  CHECK_THROWS_WITH_AS(xtensor_view<int32_t>(x), doctest::Contains("view of i32"), Error);
  x.bytes.resize(12);
  CHECK_THROWS_WITH_AS(xtensor_view<float>(x), doctest::Contains("holds 12 bytes"), Error);
}
