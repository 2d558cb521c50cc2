// Elementwise ops: hand-computed values, and optimized vs reference kernels over random
// shapes and broadcasts.
//
// Tolerances (optimized vs reference): arithmetic (Add, Sub, Mul, Div, Max, Min, PRelu,
// Relu, Clip, ...) rtol 1e-6 (+1e-7 absolute for unary ops: HardSigmoid/HardSwish use a
// fused multiply-add); transcendental approximations
// (Exp, Log, Tanh, Sigmoid, Erf, Softplus, Gelu, Elu, Selu) 2e-6 absolute + 1e-5 relative;
// integer types exact.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/broadcast.h"
#include "tests/support/op_test_util.h"

using namespace octet;

namespace {

HostTensor f32(const char* name, Dims dims, std::vector<float> v) {
  return HostTensor::from<float>(name, std::move(dims), v);
}

std::vector<float> run1(test::OpCase c, bool reference = false) {
  auto out = test::run_op(c, reference);
  REQUIRE(out.size() == 1);
  auto v = out[0].values<float>();
  return {v.begin(), v.end()};
}

HostTensor bools(const char* name, Dims dims, std::vector<uint8_t> v) {
  HostTensor t = HostTensor::from<uint8_t>(name, std::move(dims), v);
  t.dtype = DType::kBool;
  return t;
}

void check_values(const std::vector<float>& got, const std::vector<float>& want,
                  float tol = 1e-6f) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": " << got[i] << " vs " << want[i]);
    CHECK(std::fabs(got[i] - want[i]) <= tol * (1.f + std::fabs(want[i])));
  }
}

void check_same_bytes(const HostTensor& a, const HostTensor& b) {
  REQUIRE(a.dims == b.dims);
  REQUIRE(a.dtype == b.dtype);
  REQUIRE(a.bytes.size() == b.bytes.size());
  CHECK(std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) == 0);
}

// Random broadcast-compatible shapes: an output shape and an input shape that drops some
// leading dims and sets some dims to 1.
Dims random_out_dims(std::mt19937& rng) {
  std::uniform_int_distribution<int> rank(0, 5), dim(1, 6);
  Dims d(static_cast<size_t>(rank(rng)));
  for (auto& x : d) x = dim(rng);
  return d;
}
Dims random_input_dims(const Dims& out, std::mt19937& rng) {
  std::uniform_int_distribution<size_t> drop(0, out.size());
  std::bernoulli_distribution one(0.35);
  Dims d(out.begin() + static_cast<long>(drop(rng)), out.end());
  for (auto& x : d)
    if (one(rng)) x = 1;
  return d;
}

template <typename T>
HostTensor random_ints(const char* name, const Dims& dims, std::mt19937& rng, int64_t lo,
                       int64_t hi) {
  std::uniform_int_distribution<int64_t> d(lo, hi);
  std::vector<T> v(static_cast<size_t>(checked_numel(dims)));
  for (auto& x : v) x = static_cast<T>(d(rng));
  return HostTensor::from<T>(name, dims, v);
}

}  // namespace

TEST_CASE("eltwise: unary ops, hand-computed values") {
  const std::vector<float> x = {-2.f, -0.5f, 0.f, 0.5f, 1.f, 3.f};
  auto unary = [&](const char* op, Attributes attrs = {}, int64_t opset = 17) {
    test::OpCase c{.op = op, .attrs = attrs, .inputs = {f32("x", {2, 3}, x)}, .opset = opset};
    auto opt = run1(c, false);
    auto ref = run1(c, true);
    check_values(opt, ref, 2e-6f);
    return opt;
  };
  check_values(unary("Relu"), {0, 0, 0, 0.5f, 1, 3});
  Attributes alpha;
  alpha.set("alpha", 0.1f);
  check_values(unary("LeakyRelu", alpha), {-0.2f, -0.05f, 0, 0.5f, 1, 3});
  check_values(unary("Sigmoid"), {0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.73105858f,
                                  0.95257413f});
  check_values(unary("Tanh"), {-0.96402758f, -0.46211716f, 0, 0.46211716f, 0.76159416f,
                               0.99505475f});
  check_values(unary("Erf"), {-0.99532227f, -0.52049988f, 0, 0.52049988f, 0.84270079f,
                              0.99997791f});
  check_values(unary("Exp"), {0.13533528f, 0.60653066f, 1, 1.64872127f, 2.71828183f,
                              20.08553692f});
  check_values(unary("Neg"), {2, 0.5f, 0, -0.5f, -1, -3});
  check_values(unary("Abs"), {2, 0.5f, 0, 0.5f, 1, 3});
  check_values(unary("Floor"), {-2, -1, 0, 0, 1, 3});
  check_values(unary("Ceil"), {-2, -0.f, 0, 1, 1, 3});
  check_values(unary("Round"), {-2, -0.f, 0, 0, 1, 3});
  check_values(unary("Softplus"), {0.12692801f, 0.47407698f, 0.69314718f, 0.97407698f,
                                   1.31326169f, 3.04858735f});
  check_values(unary("Mish", {}, 18), {-0.25250148f, -0.22074377f, 0, 0.37524521f, 0.86509839f,
                                       2.986535f});
  check_values(unary("HardSigmoid"), {0.1f, 0.4f, 0.5f, 0.6f, 0.7f, 1.0f});
  check_values(unary("HardSwish"), {-2.f / 6, -0.5f * (1.f / 6 * -0.5f + 0.5f), 0,
                                    0.5f * (0.5f / 6 + 0.5f), 1.f * (1.f / 6 + 0.5f), 3});
  check_values(unary("Gelu", {}, 20), {-0.04550026f, -0.15426877f, 0, 0.34573123f, 0.84134475f,
                                       2.99595031f});
  Attributes tanh_approx;
  tanh_approx.set("approximate", std::string("tanh"));
  check_values(unary("Gelu", tanh_approx, 20), {-0.04540231f, -0.15428599f, 0, 0.34571401f,
                                                0.84119199f, 2.99636261f});
  check_values(unary("Softsign"), {-2.f / 3, -1.f / 3, 0, 1.f / 3, 0.5f, 0.75f});
  check_values(unary("Sign"), {-1, -1, 0, 1, 1, 1});
  const std::vector<float> pos = {0.25f, 1.f, 4.f, 2.718281828f};
  auto positive = [&](const char* op) {
    return run1({.op = op, .inputs = {f32("x", {4}, pos)}});
  };
  check_values(positive("Sqrt"), {0.5f, 1, 2, 1.64872127f});
  check_values(positive("Log"), {-1.38629436f, 0, 1.38629436f, 1});
  check_values(positive("Reciprocal"), {4, 1, 0.25f, 0.36787944f});
}

TEST_CASE("eltwise: unary edge values (overflow, log of 0 and negatives)") {
  const float inf = std::numeric_limits<float>::infinity();
  auto exp = run1({.op = "Exp", .inputs = {f32("x", {5}, {88.f, 88.5f, 89.f, -200.f, 1000.f})}});
  CHECK(exp[0] == doctest::Approx(std::exp(88.f)).epsilon(1e-6));
  CHECK(exp[1] == doctest::Approx(std::exp(88.5f)).epsilon(1e-6));
  CHECK(exp[2] == inf);
  CHECK(exp[3] == 0.f);
  CHECK(exp[4] == inf);
  auto log = run1({.op = "Log", .inputs = {f32("x", {4}, {0.f, -1.f, inf, 1e-30f})}});
  CHECK(log[0] == -inf);
  CHECK(std::isnan(log[1]));
  CHECK(log[2] == inf);
  CHECK(log[3] == doctest::Approx(std::log(1e-30f)).epsilon(1e-6));
  auto sig = run1({.op = "Sigmoid", .inputs = {f32("x", {3}, {-100.f, 100.f, -1e30f})}});
  CHECK(sig[0] == doctest::Approx(0.f));
  CHECK(sig[1] == 1.f);
  CHECK(sig[2] == 0.f);
  auto sp = run1({.op = "Softplus", .inputs = {f32("x", {2}, {100.f, -100.f})}});
  CHECK(sp[0] == 100.f);
  CHECK(sp[1] == doctest::Approx(0.f));
}

TEST_CASE("eltwise: unary f32 optimized vs reference over random sizes") {
  struct OpRange {
    const char* op;
    float lo, hi;
    bool transcendental;
  };
  const OpRange ops[] = {
      {"Relu", -5, 5, false},      {"LeakyRelu", -5, 5, false},   {"Sigmoid", -30, 30, true},
      {"HardSigmoid", -5, 5, false}, {"HardSwish", -5, 5, false}, {"Tanh", -10, 10, true},
      {"Erf", -5, 5, true},        {"Exp", -90, 88.5f, true},        {"Log", 1e-6f, 1e6f, true},
      {"Sqrt", 0, 100, false},     {"Neg", -5, 5, false},         {"Abs", -5, 5, false},
      {"Reciprocal", 0.1f, 10, false}, {"Floor", -5, 5, false},   {"Ceil", -5, 5, false},
      {"Round", -5, 5, false},     {"Softplus", -30, 30, true},   {"Softsign", -5, 5, false},
      {"Elu", -10, 5, true},       {"Selu", -10, 5, true},        {"Gelu", -8, 8, true},
      {"ThresholdedRelu", -3, 3, false}, {"Sign", -2, 2, false},  {"Clip", -3, 3, false},
      {"Mish", -30, 30, true},
  };
  std::mt19937 rng(7);
  for (const OpRange& o : ops) {
    for (int64_t n : {1, 7, 16, 33, 1000, 70001}) {
      CAPTURE(o.op);
      CAPTURE(n);
      test::OpCase c{.op = o.op,
                     .inputs = {f32("x", {n}, test::random_floats(n, rng(), o.lo, o.hi))},
                     .opset = 20};
      auto opt = test::run_op(c, false, 2);
      auto ref = test::run_op(c, true);
      if (o.transcendental) test::check_close(opt[0], ref[0], 1e-5f, 2e-6f);
      else test::check_close(opt[0], ref[0], 1e-6f, 1e-7f);
    }
  }
  // Gelu with the tanh approximation.
  Attributes a;
  a.set("approximate", std::string("tanh"));
  test::OpCase c{.op = "Gelu", .attrs = a,
                 .inputs = {f32("x", {999}, test::random_floats(999, 3, -8, 8))}, .opset = 20};
  test::check_close(test::run_op(c, false)[0], test::run_op(c, true)[0], 1e-5f, 2e-6f);
}

TEST_CASE("eltwise: Erf accuracy against std::erf on a dense grid") {
  std::vector<float> x;
  for (float v = -6.f; v <= 6.f; v += 0.001f) x.push_back(v);
  const int64_t n = static_cast<int64_t>(x.size());
  auto y = run1({.op = "Erf", .inputs = {f32("x", {n}, x)}});
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i)
    worst = std::max(worst, std::fabs(y[i] - std::erf(double{x[i]})) /
                                (1e-30 + std::fabs(std::erf(double{x[i]}))));
  MESSAGE("Erf worst relative error " << worst);
  CHECK(worst < 1e-6);
}

TEST_CASE("eltwise: Clip with attributes (opset 6), inputs (opset 13) and integers") {
  Attributes mm;
  mm.set("min", -1.f);
  mm.set("max", 2.f);
  check_values(run1({.op = "Clip", .attrs = mm, .inputs = {f32("x", {4}, {-3, 0, 1.5f, 9})},
                     .opset = 6}),
               {-1, 0, 1.5f, 2});
  check_values(run1({.op = "Clip",
                     .inputs = {f32("x", {4}, {-3, 0, 1.5f, 9}), f32("lo", {}, {-1}),
                                f32("hi", {}, {2})},
                     .opset = 13}),
               {-1, 0, 1.5f, 2});
  // Only max given (min omitted), as a constant.
  check_values(run1({.op = "Clip",
                     .inputs = {f32("x", {4}, {-3, 0, 1.5f, 9}), HostTensor{}, f32("hi", {}, {1})},
                     .constant = {false, false, true},
                     .opset = 13}),
               {-3, 0, 1, 1});
  // min > max gives max everywhere.
  check_values(run1({.op = "Clip",
                     .inputs = {f32("x", {3}, {-2, 0, 6}), f32("lo", {}, {2}), f32("hi", {}, {1})},
                     .opset = 13}),
               {1, 1, 1});
  auto out = test::run_op({.op = "Clip",
                           .inputs = {HostTensor::from<int8_t>("x", {4}, {-128, -5, 5, 127}),
                                      HostTensor::from<int8_t>("lo", {}, {-10})},
                           .opset = 13},
                          false);
  auto v = out[0].values<int8_t>();
  CHECK(std::vector<int8_t>(v.begin(), v.end()) == std::vector<int8_t>{-10, -5, 5, 127});
  auto ut = test::run_op({.op = "Clip",
                         .inputs = {HostTensor::from<uint64_t>("x", {3}, {0, 5, ~0ull}),
                                    HostTensor{}, HostTensor::from<uint64_t>("hi", {1}, {7})},
                         .opset = 13},
                        false)[0];
  auto u = ut.values<uint64_t>();
  CHECK(std::vector<uint64_t>(u.begin(), u.end()) == std::vector<uint64_t>{0, 5, 7});
}

TEST_CASE("eltwise: integer unary ops") {
  auto rt = test::run_op({.op = "Relu", .inputs = {HostTensor::from<int32_t>("x", {3}, {-4, 0, 9})}},
                        false)[0];
  auto r = rt.values<int32_t>();
  CHECK(std::vector<int32_t>(r.begin(), r.end()) == std::vector<int32_t>{0, 0, 9});
  auto nt = test::run_op({.op = "Neg", .inputs = {HostTensor::from<int8_t>("x", {3}, {-128, -1, 7})}},
                        false)[0];
  auto n = nt.values<int8_t>();
  CHECK(std::vector<int8_t>(n.begin(), n.end()) == std::vector<int8_t>{-128, 1, -7});
  auto at = test::run_op({.op = "Abs", .inputs = {HostTensor::from<int64_t>("x", {2}, {-5, 6})}},
                        false)[0];
  auto a = at.values<int64_t>();
  CHECK(std::vector<int64_t>(a.begin(), a.end()) == std::vector<int64_t>{5, 6});
  CHECK_THROWS_AS(test::run_op({.op = "Neg", .inputs = {HostTensor::from<uint8_t>("x", {1}, {1})}},
                               false),
                  Error);
  CHECK_THROWS_AS(test::run_op({.op = "Sigmoid", .inputs = {HostTensor::from<int32_t>("x", {1}, {1})}},
                               false),
                  Error);
}

TEST_CASE("eltwise: binary ops, hand-computed values") {
  auto bin = [](const char* op, HostTensor a, HostTensor b) {
    test::OpCase c{.op = op, .inputs = {std::move(a), std::move(b)}};
    auto opt = test::run_op(c, false);
    check_same_bytes(opt[0], test::run_op(c, true)[0]);
    return opt[0];
  };
  // Row broadcast and per-channel broadcast.
  auto add = bin("Add", f32("a", {2, 3}, {1, 2, 3, 4, 5, 6}), f32("b", {3}, {10, 20, 30}));
  CHECK(add.dims == Dims{2, 3});
  check_values({add.values<float>().begin(), add.values<float>().end()}, {11, 22, 33, 14, 25, 36});
  auto mul = bin("Mul", f32("a", {2, 1}, {2, 3}), f32("b", {1, 3}, {1, 10, 100}));
  check_values({mul.values<float>().begin(), mul.values<float>().end()},
               {2, 20, 200, 3, 30, 300});
  auto sub = bin("Sub", f32("a", {}, {1}), f32("b", {2}, {5, -5}));
  check_values({sub.values<float>().begin(), sub.values<float>().end()}, {-4, 6});
  // Integer Div truncates toward zero; division by zero gives 0; INT_MIN / -1 wraps.
  auto div = bin("Div", HostTensor::from<int32_t>("a", {6}, {-3, 3, -3, 3, 7, INT32_MIN}),
                 HostTensor::from<int32_t>("b", {6}, {2, 2, -2, -2, 0, -1}));
  auto dv = div.values<int32_t>();
  CHECK(std::vector<int32_t>(dv.begin(), dv.end()) ==
        std::vector<int32_t>{-1, 1, 1, -1, 0, INT32_MIN});
  // Integer Add wraps around.
  auto wrap = bin("Add", HostTensor::from<int8_t>("a", {2}, {127, -128}),
                  HostTensor::from<int8_t>("b", {2}, {1, -1}));
  CHECK(wrap.values<int8_t>()[0] == -128);
  CHECK(wrap.values<int8_t>()[1] == 127);
  auto mulu16 = bin("Mul", HostTensor::from<uint16_t>("a", {1}, {65535}),
                    HostTensor::from<uint16_t>("b", {1}, {65535}));
  CHECK(mulu16.values<uint16_t>()[0] == 1);
  // Pow with mixed types: the output has the base's type.
  auto p1 = bin("Pow", HostTensor::from<int32_t>("a", {3}, {1, 2, 3}), f32("b", {3}, {4, 5, 6}));
  CHECK(p1.dtype == DType::kI32);
  CHECK(p1.values<int32_t>()[2] == 729);
  auto p2 = bin("Pow", f32("a", {3}, {1, 2, 3}), HostTensor::from<uint64_t>("b", {3}, {4, 5, 6}));
  CHECK(p2.values<float>()[1] == 32.f);
  auto p3 = bin("Pow", HostTensor::from<int64_t>("a", {3}, {2, -3, 5}),
                HostTensor::from<int64_t>("b", {3}, {10, 3, -1}));
  CHECK(std::vector<int64_t>(p3.values<int64_t>().begin(), p3.values<int64_t>().end()) ==
        std::vector<int64_t>{1024, -27, 0});
  auto p4 = bin("Pow", f32("a", {3}, {1.5f, -2, 4}), f32("b", {}, {2}));
  check_values({p4.values<float>().begin(), p4.values<float>().end()}, {2.25f, 4, 16});
  // Mod: Python sign for integers, C fmod with fmod=1.
  auto mod = bin("Mod", HostTensor::from<int32_t>("a", {4}, {-7, 7, -7, 7}),
                 HostTensor::from<int32_t>("b", {4}, {3, -3, -3, 3}));
  CHECK(std::vector<int32_t>(mod.values<int32_t>().begin(), mod.values<int32_t>().end()) ==
        std::vector<int32_t>{2, -2, -1, 1});
  // Comparisons give bool.
  auto less = bin("Less", f32("a", {3}, {1, 2, 3}), f32("b", {}, {2}));
  CHECK(less.dtype == DType::kBool);
  CHECK(std::vector<uint8_t>(less.values<uint8_t>().begin(), less.values<uint8_t>().end()) ==
        std::vector<uint8_t>{1, 0, 0});
  auto eq = bin("Equal", HostTensor::from<int64_t>("a", {2, 1}, {1, 2}),
                HostTensor::from<int64_t>("b", {2}, {1, 2}));
  CHECK(std::vector<uint8_t>(eq.values<uint8_t>().begin(), eq.values<uint8_t>().end()) ==
        std::vector<uint8_t>{1, 0, 0, 1});
  auto andv = bin("And", bools("a", {4}, {1, 1, 0, 0}),
                  bools("b", {4}, {1, 0, 1, 0}));
  CHECK(std::vector<uint8_t>(andv.values<uint8_t>().begin(), andv.values<uint8_t>().end()) ==
        std::vector<uint8_t>{1, 0, 0, 0});
  CHECK_THROWS_AS(bin("Add", f32("a", {2, 3}, {1, 2, 3, 4, 5, 6}), f32("b", {2}, {1, 2})), Error);
  CHECK_THROWS_AS(bin("Add", f32("a", {1}, {1}), HostTensor::from<int32_t>("b", {1}, {1})), Error);
}

TEST_CASE("eltwise: variadic Sum, Mean, Max, Min and Where") {
  test::OpCase sum{.op = "Sum",
                   .inputs = {f32("a", {3}, {1, 2, 3}), f32("b", {1}, {10}),
                              f32("c", {2, 1}, {100, 200})}};
  auto s = run1(sum);
  check_values(s, {111, 112, 113, 211, 212, 213});
  check_values(run1(sum, true), s, 0.f);
  sum.op = "Mean";
  check_values(run1(sum), {37, 112.f / 3, 113.f / 3, 211.f / 3, 212.f / 3, 71});
  sum.op = "Max";
  check_values(run1(sum), {100, 100, 100, 200, 200, 200});
  sum.op = "Min";
  check_values(run1(sum), {1, 2, 3, 1, 2, 3});
  check_values(run1({.op = "Max", .inputs = {f32("a", {2}, {4, -1})}}), {4, -1});
  auto mx = test::run_op({.op = "Max",
                          .inputs = {HostTensor::from<uint32_t>("a", {2}, {4, 4000000000u}),
                                     HostTensor::from<uint32_t>("b", {2}, {5, 1})}},
                         false)[0];
  CHECK(mx.values<uint32_t>()[1] == 4000000000u);
  auto w = test::run_op({.op = "Where",
                         .inputs = {bools("c", {2, 1}, {1, 0}),
                                    f32("x", {3}, {1, 2, 3}), f32("y", {}, {-1})}},
                        false)[0];
  CHECK(w.dims == Dims{2, 3});
  check_values({w.values<float>().begin(), w.values<float>().end()}, {1, 2, 3, -1, -1, -1});
}

TEST_CASE("eltwise: PRelu broadcasts the slope to X") {
  test::OpCase c{.op = "PRelu",
                 .inputs = {f32("x", {1, 2, 2}, {-1, 2, -3, 4}), f32("slope", {2, 1}, {0.5f, 0.1f})}};
  check_values(run1(c), {-0.5f, 2, -0.3f, 4});
  check_values(run1(c, true), {-0.5f, 2, -0.3f, 4});
  c.inputs[1] = f32("slope", {3}, {1, 2, 3});
  CHECK_THROWS_AS(run1(c), Error);
}

TEST_CASE("eltwise: broadcasting plan merges dims") {
  auto p = kernels::make_broadcast_plan({{2, 3, 4, 5}, {3, 1, 1}}, {2, 3, 4, 5});
  CHECK(p.dims == Dims{2, 3, 20});
  CHECK(p.strides[0] == Dims{60, 20, 1});
  CHECK(p.strides[1] == Dims{0, 1, 0});
  auto same = kernels::make_broadcast_plan({{4, 5}, {4, 5}}, {4, 5});
  CHECK(same.dims == Dims{20});
  auto scalar = kernels::make_broadcast_plan({{}, {}}, {});
  CHECK(scalar.dims == Dims{1});
  CHECK(scalar.numel == 1);
}

TEST_CASE("eltwise: binary optimized vs reference over random broadcasts") {
  std::mt19937 rng(11);
  const char* float_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Less", "Equal"};
  for (int iter = 0; iter < 60; ++iter) {
    const Dims out = random_out_dims(rng);
    const Dims da = random_input_dims(out, rng), db = random_input_dims(out, rng);
    CAPTURE(dims_to_string(da));
    CAPTURE(dims_to_string(db));
    for (const char* op : float_ops) {
      CAPTURE(op);
      const bool pow = std::string(op) == "Pow";
      test::OpCase c{.op = op,
                     .inputs = {f32("a", da, test::random_floats(checked_numel(da), rng(),
                                                                 pow ? 0.1f : -2.f, 2.f)),
                                f32("b", db, test::random_floats(checked_numel(db), rng(),
                                                                 pow ? -3.f : 0.5f, 3.f))}};
      auto opt = test::run_op(c, false, 2);
      auto ref = test::run_op(c, true);
      if (opt[0].dtype == DType::kF32) test::check_close(opt[0], ref[0], 1e-6f, 0.f);
      else check_same_bytes(opt[0], ref[0]);
    }
  }
  const char* int_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Mod", "Greater"};
  for (int iter = 0; iter < 30; ++iter) {
    const Dims out = random_out_dims(rng);
    const Dims da = random_input_dims(out, rng), db = random_input_dims(out, rng);
    for (const char* op : int_ops) {
      CAPTURE(op);
      std::vector<test::OpCase> cases = {
          {.op = op, .inputs = {random_ints<int8_t>("a", da, rng, -128, 127),
                                random_ints<int8_t>("b", db, rng, -128, 127)}},
          {.op = op, .inputs = {random_ints<uint16_t>("a", da, rng, 0, 65535),
                                random_ints<uint16_t>("b", db, rng, 0, 65535)}},
          {.op = op, .inputs = {random_ints<int64_t>("a", da, rng, -1000000, 1000000),
                                random_ints<int64_t>("b", db, rng, -5, 5)}},
          {.op = op, .inputs = {random_ints<uint32_t>("a", da, rng, 0, 4000000000),
                                random_ints<uint32_t>("b", db, rng, 0, 9)}},
      };
      for (auto& c : cases) check_same_bytes(test::run_op(c, false, 2)[0], test::run_op(c, true)[0]);
    }
  }
}

TEST_CASE("eltwise: large tensors run in parallel chunks with the same results") {
  std::mt19937 rng(5);
  const Dims a{3, 200, 300}, b{200, 1};
  test::OpCase c{.op = "Mul",
                 .inputs = {f32("a", a, test::random_floats(checked_numel(a), 1)),
                            f32("b", b, test::random_floats(checked_numel(b), 2))}};
  test::check_close(test::run_op(c, false, 2)[0], test::run_op(c, true)[0], 1e-6f, 0.f);
  test::OpCase ci{.op = "Add", .inputs = {random_ints<int32_t>("a", a, rng, -1000, 1000),
                                          random_ints<int32_t>("b", {300}, rng, -1000, 1000)}};
  check_same_bytes(test::run_op(ci, false, 2)[0], test::run_op(ci, true)[0]);
  test::OpCase w{.op = "Where",
                 .inputs = {random_ints<uint8_t>("c", {200, 300}, rng, 0, 1),
                            f32("x", a, test::random_floats(checked_numel(a), 3)),
                            f32("y", {1}, {0.f})}};
  w.inputs[0].dtype = DType::kBool;
  check_same_bytes(test::run_op(w, false, 2)[0], test::run_op(w, true)[0]);
}
