// Softmax, Reduce*, LayerNormalization, Resize/Upsample: values, optimized vs reference, errors.
#include <doctest/doctest.h>

#include "tests/support/op_test_util.h"

using namespace octet;

namespace {

std::vector<float> vals(const HostTensor& t) {
  auto v = t.values<float>();
  return {v.begin(), v.end()};
}

test::OpCase rand_case(const char* op, Dims dims, uint32_t seed, int64_t opset = 17) {
  test::OpCase c;
  c.op = op;
  c.opset = opset;
  c.inputs = {HostTensor::from<float>("x", dims, test::random_floats(checked_numel(dims), seed, -4, 4))};
  return c;
}

}  // namespace

TEST_CASE("misc: Softmax values and opset-dependent axis") {
  test::OpCase c{.op = "Softmax",
                 .inputs = {HostTensor::from<float>("x", {1, 3}, {1, 2, 3})}, .opset = 13};
  for (bool ref : {true, false}) {
    auto y = vals(test::run_op(c, ref)[0]);
    CHECK(y[0] == doctest::Approx(0.09003057));
    CHECK(y[2] == doctest::Approx(0.66524096));
  }
  // opset 11: the default axis 1 coerces (2,2,2) to (2,4).
  test::OpCase d{.op = "Softmax",
                 .inputs = {HostTensor::from<float>("x", {2, 2, 2}, {0, 0, 0, 0, 1, 1, 1, 1})},
                 .opset = 11};
  CHECK(vals(test::run_op(d, false)[0])[0] == doctest::Approx(0.25));
  d.opset = 13;  // along the last axis: pairs
  CHECK(vals(test::run_op(d, false)[0])[0] == doctest::Approx(0.5));
  d.attrs.set("axis", int64_t{3});
  CHECK_THROWS_AS(test::run_op(d, false), Error);
}

TEST_CASE("misc: Softmax and LogSoftmax optimized match the reference") {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 24; ++iter) {
    Dims dims{1 + iter % 3, 2 + static_cast<int64_t>(rng() % 40), 1 + static_cast<int64_t>(rng() % 9)};
    auto c = rand_case(iter % 2 ? "Softmax" : "LogSoftmax", dims, iter, iter % 4 == 0 ? 11 : 13);
    c.attrs.set("axis", int64_t(iter % 3) - (iter % 5 == 0 ? 3 : 0));
    INFO("iter " << iter);
    test::check_close(test::run_op(c, false, 2)[0], test::run_op(c, true)[0], 1e-5f, 1e-6f);
  }
}

TEST_CASE("misc: ReduceMean/Sum/Max/Min, attribute and input axes") {
  test::OpCase c{.op = "ReduceMean",
                 .inputs = {HostTensor::from<float>("x", {2, 3}, {1, 2, 3, 4, 5, 6})}, .opset = 13};
  c.attrs.set("axes", std::vector<int64_t>{1});
  auto y = test::run_op(c, false)[0];
  CHECK(y.dims == Dims{2, 1});
  CHECK(vals(y) == std::vector<float>{2, 5});
  c.attrs.set("keepdims", int64_t{0});
  c.attrs.set("axes", std::vector<int64_t>{0});
  y = test::run_op(c, false)[0];
  CHECK(y.dims == Dims{3});
  CHECK(vals(y) == std::vector<float>{2.5f, 3.5f, 4.5f});
  // opset 18: axes is an input; empty axes reduce everything unless noop_with_empty_axes.
  test::OpCase d{.op = "ReduceMean",
                 .inputs = {c.inputs[0], HostTensor::from<int64_t>("axes", {1}, {-1})},
                 .constant = {false, true}, .opset = 18};
  CHECK(vals(test::run_op(d, false)[0]) == std::vector<float>{2, 5});
  test::OpCase e{.op = "ReduceSum", .inputs = {c.inputs[0]}, .opset = 18};
  CHECK(vals(test::run_op(e, false)[0]) == std::vector<float>{21});
  e.attrs.set("noop_with_empty_axes", int64_t{1});
  CHECK(test::run_op(e, false)[0].dims == Dims{2, 3});
  d.inputs[1] = HostTensor::from<int64_t>("axes", {1}, {2});
  CHECK_THROWS_WITH_AS(test::run_op(d, false), doctest::Contains("out of range"), Error);
  d.inputs[1] = HostTensor::from<int64_t>("axes", {2}, {1, -1});
  CHECK_THROWS_AS(test::run_op(d, false), Error);
}

TEST_CASE("misc: Reduce optimized matches the reference on random axes") {
  std::mt19937 rng(5);
  const char* ops[] = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"};
  for (int iter = 0; iter < 40; ++iter) {
    Dims dims{1 + static_cast<int64_t>(rng() % 3), 1 + static_cast<int64_t>(rng() % 5),
              1 + static_cast<int64_t>(rng() % 70)};
    auto c = rand_case(ops[iter % 4], dims, iter, 13);
    std::vector<int64_t> axes;
    for (int64_t a = 0; a < 3; ++a)
      if (rng() % 2) axes.push_back(a);
    if (iter % 3 == 0) axes = {2};
    if (c.op == "ReduceSum") {
      c.opset = 18;
      c.inputs.push_back(HostTensor::from<int64_t>("axes", {static_cast<int64_t>(axes.size())}, axes));
      c.constant = {false, true};
      if (axes.empty()) c.inputs.pop_back();
    } else {
      c.attrs.set("axes", axes);
    }
    c.attrs.set("keepdims", int64_t(iter % 2));
    INFO(c.op << " iter " << iter);
    test::check_close(test::run_op(c, false, 2)[0], test::run_op(c, true)[0], 1e-4f, 1e-5f);
  }
}

TEST_CASE("misc: LayerNormalization values, statistics, broadcasting") {
  test::OpCase c{.op = "LayerNormalization",
                 .inputs = {HostTensor::from<float>("x", {2, 2}, {1, 3, 0, 4}),
                            HostTensor::from<float>("s", {2}, {1, 2}),
                            HostTensor::from<float>("b", {2}, {0, 1})},
                 .num_outputs = 3};
  c.attrs.set("epsilon", 0.f);
  for (bool ref : {true, false}) {
    auto out = test::run_op(c, ref);
    CHECK(vals(out[0]) == std::vector<float>{-1, 3, -1, 3});
    CHECK(vals(out[2])[1] == doctest::Approx(0.5));
    CHECK(out[1].dims == Dims{2, 1});
    CHECK(vals(out[1]) == std::vector<float>{2, 2});
    CHECK(vals(out[2])[0] == doctest::Approx(1.0));
  }
  std::mt19937 rng(9);
  for (int iter = 0; iter < 12; ++iter) {
    Dims dims{1 + iter % 3, 3, 5 + static_cast<int64_t>(rng() % 60)};
    int64_t axis = 1 + iter % 2;
    Dims tail(dims.begin() + axis, dims.end());
    Dims sdims = iter % 3 == 0 ? Dims{tail.back()} : tail;  // broadcast scale over the tail
    test::OpCase d{.op = "LayerNormalization",
                   .inputs = {HostTensor::from<float>("x", dims, test::random_floats(checked_numel(dims), iter)),
                              HostTensor::from<float>("s", sdims, test::random_floats(checked_numel(sdims), 50 + iter)),
                              HostTensor::from<float>("b", sdims, test::random_floats(checked_numel(sdims), 80 + iter))},
                   .num_outputs = 3};
    if (iter % 4 == 1) d.inputs.pop_back();
    d.attrs.set("axis", axis);
    auto a = test::run_op(d, false, 2), b = test::run_op(d, true);
    for (int o = 0; o < 3; ++o) test::check_close(a[o], b[o], 1e-4f, 1e-5f);
  }
  c.inputs[1] = HostTensor::from<float>("s", {3}, {1, 2, 3});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
}

TEST_CASE("misc: Resize and Upsample values") {
  std::vector<float> x{1, 2, 3, 4};
  // nearest 2x (asymmetric + floor via Upsample opset 9 scales input)
  test::OpCase u{.op = "Upsample",
                 .inputs = {HostTensor::from<float>("x", {1, 1, 2, 2}, x),
                            HostTensor::from<float>("scales", {4}, {1, 1, 2, 2})},
                 .constant = {false, true}, .opset = 9};
  auto y = test::run_op(u, false)[0];
  CHECK(y.dims == Dims{1, 1, 4, 4});
  CHECK(vals(y) == std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  test::OpCase u7{.op = "Upsample", .inputs = {u.inputs[0]}, .opset = 7};
  u7.attrs.set("scales", std::vector<float>{1, 1, 2, 2});
  CHECK(vals(test::run_op(u7, true)[0]) == vals(y));
  // linear, align_corners, sizes
  test::OpCase r{.op = "Resize",
                 .inputs = {HostTensor::from<float>("x", {1, 1, 2, 2}, x), HostTensor{}, HostTensor{},
                            HostTensor::from<int64_t>("sizes", {4}, {1, 1, 3, 3})},
                 .constant = {false, false, false, true}, .opset = 13};
  r.attrs.set("mode", std::string("linear"));
  r.attrs.set("coordinate_transformation_mode", std::string("align_corners"));
  for (bool ref : {true, false}) {
    auto z = test::run_op(r, ref)[0];
    CHECK(z.dims == Dims{1, 1, 3, 3});
    CHECK(vals(z) == std::vector<float>{1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  }
  r.attrs.set("mode", std::string("cubic"));
  CHECK_THROWS_WITH_AS(test::run_op(r, false), doctest::Contains("cubic"), Error);
}

TEST_CASE("misc: Resize optimized matches the reference; NHWC matches NCHW") {
  const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                          "half_pixel_symmetric", "tf_crop_and_resize"};
  std::mt19937 rng(13);
  for (int iter = 0; iter < 36; ++iter) {
    Dims dims{1 + iter % 2, 1 + static_cast<int64_t>(rng() % 5), 2 + static_cast<int64_t>(rng() % 6),
              2 + static_cast<int64_t>(rng() % 6)};
    std::vector<int64_t> sizes{dims[0], dims[1], 1 + static_cast<int64_t>(rng() % 11),
                               1 + static_cast<int64_t>(rng() % 11)};
    if (iter % 7 == 0) sizes[1] = 3;  // resize over channels too (N-linear)
    auto c = rand_case("Resize", dims, iter, 19);
    c.inputs.push_back(HostTensor::from<float>("roi", {8}, {0, 0, 0.1f, 0.2f, 1, 1, 0.8f, 1.1f}));
    c.inputs.push_back(HostTensor{});
    c.inputs.push_back(HostTensor::from<int64_t>("sizes", {4}, sizes));
    c.constant = {false, true, false, true};
    c.attrs.set("mode", std::string(iter % 2 ? "linear" : "nearest"));
    c.attrs.set("coordinate_transformation_mode", std::string(coords[(iter / 2) % 6]));
    c.attrs.set("extrapolation_value", 7.f);
    INFO("iter " << iter);
    auto ref = test::run_op(c, true)[0];
    test::check_close(test::run_op(c, false, 2)[0], ref, 1e-5f, 1e-5f);
    if (sizes[1] != dims[1]) continue;
    // NHWC: same values, channels-last.
    auto to_nhwc = [](const HostTensor& t) {
      const int64_t N = t.dims[0], C = t.dims[1], H = t.dims[2], W = t.dims[3];
      std::vector<float> o(t.numel());
      auto v = t.values<float>();
      for (int64_t n = 0; n < N; ++n) for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t h = 0; h < H; ++h) for (int64_t w = 0; w < W; ++w)
          o[((n * H + h) * W + w) * C + ch] = v[((n * C + ch) * H + h) * W + w];
      return HostTensor::from<float>(t.name, {N, H, W, C}, o);
    };
    c.inputs[0] = to_nhwc(c.inputs[0]);
    c.attrs.set("_layout", std::string("NHWC"));
    test::check_close(test::run_op(c, false, 2)[0], to_nhwc(ref), 1e-5f, 1e-5f);
  }
}
