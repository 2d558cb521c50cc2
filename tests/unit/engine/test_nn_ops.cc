// Conv, ConvTranspose, Gemm, MatMul, BatchNormalization: optimized kernels against the plain
// reference kernels on randomized shapes, layouts and attributes, plus fixed values.
#include <doctest/doctest.h>

#include <filesystem>

#include "loaders/model_loader.h"
#include "loaders/onnx_loader.h"
#include "tests/support/op_test_util.h"
#include "tests/support/test_paths.h"

using namespace octet;

namespace {

HostTensor rand_tensor(const std::string& name, const Dims& d, uint32_t seed) {
  return HostTensor::from<float>(name, d, test::random_floats(static_cast<size_t>(checked_numel(d)), seed));
}

// NCHW-style (N, C, spatial...) -> channels last (N, spatial..., C).
HostTensor to_nhwc(const HostTensor& t) {
  const int64_t N = t.dims[0], C = t.dims[1];
  int64_t S = 1;
  Dims d{N};
  for (size_t i = 2; i < t.dims.size(); ++i) {
    S *= t.dims[i];
    d.push_back(t.dims[i]);
  }
  d.push_back(C);
  std::vector<float> v(t.values<float>().size());
  auto x = t.values<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) v[(n * S + s) * C + c] = x[(n * C + c) * S + s];
  return HostTensor::from<float>(t.name, d, v);
}

// Runs a case optimized (1 or 2 threads) and reference, and checks they agree.
std::vector<HostTensor> check_opt_vs_ref(const test::OpCase& c, int threads, float rtol = 1e-4f) {
  auto ref = test::run_op(c, true);
  auto opt = test::run_op(c, false, threads);
  REQUIRE(ref.size() == opt.size());
  for (size_t i = 0; i < ref.size(); ++i) test::check_close(opt[i], ref[i], rtol, 1e-4f);
  return ref;
}

struct Rng {
  std::mt19937 g;
  explicit Rng(uint32_t s) : g(s) {}
  int64_t operator()(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(g);
  }
};

}  // namespace

TEST_CASE("nn: Conv optimized matches reference on random shapes (NCHW and NHWC)") {
  Rng r(1234);
  for (int iter = 0; iter < 70; ++iter) {
    const int sp = r(0, 4) == 0 ? 1 : 2;
    const int kind = static_cast<int>(r(0, 3));  // 0 general, 1 depthwise, 2 pointwise, 3 grouped
    int64_t group = 1, Cg = r(1, 9), Mg = r(1, 40);
    if (kind == 1) { group = r(2, 21); Cg = 1; Mg = r(0, 2) ? 1 : 2; }
    if (kind == 3) { group = r(2, 3); }
    const int64_t C = group * Cg, M = group * Mg, N = r(1, 2);
    Dims x{N, C}, w{M, Cg};
    std::vector<int64_t> ks, st, dl, pads(2 * sp);
    for (int i = 0; i < sp; ++i) {
      ks.push_back(kind == 2 ? 1 : r(1, 4) == 4 ? 5 : r(1, 3));
      st.push_back(kind == 2 ? 1 : r(1, 3) == 3 ? 2 : 1);
      dl.push_back(kind == 2 ? 1 : r(1, 4) == 4 ? 2 : 1);
      x.push_back((ks.back() - 1) * dl.back() + r(1, 11));  // the kernel fits (VALID too)
      pads[i] = kind == 2 ? 0 : r(0, 2);
      pads[i + sp] = kind == 2 ? 0 : r(0, 2);
      w.push_back(ks.back());
    }
    test::OpCase c{.op = "Conv"};
    c.attrs.set("group", group);
    if (r(0, 1)) c.attrs.set("kernel_shape", ks);
    c.attrs.set("strides", st);
    c.attrs.set("dilations", dl);
    const int ap = static_cast<int>(r(0, 5));
    if (ap == 1) c.attrs.set("auto_pad", std::string("SAME_UPPER"));
    else if (ap == 2) c.attrs.set("auto_pad", std::string("SAME_LOWER"));
    else if (ap == 3) c.attrs.set("auto_pad", std::string("VALID"));
    else c.attrs.set("pads", pads);
    if (r(0, 2) == 0) {
      c.attrs.set("_act_min", 0.f);
      if (r(0, 1)) c.attrs.set("_act_max", 0.5f);
    }
    const bool nhwc = r(0, 1);
    HostTensor X = rand_tensor("x", x, 10 + iter);
    c.inputs = {nhwc ? to_nhwc(X) : X, rand_tensor("w", w, 20 + iter)};
    const bool bias = r(0, 2) != 0;
    if (bias) c.inputs.push_back(rand_tensor("b", {M}, 30 + iter));
    const bool const_w = r(0, 4) != 0;
    c.constant = {false, const_w, const_w};
    if (nhwc) c.attrs.set("_layout", std::string("NHWC"));
    CAPTURE(iter);
    CAPTURE(kind);
    CAPTURE(nhwc);
    CAPTURE(dims_to_string(x));
    CAPTURE(dims_to_string(w));
    auto ref = check_opt_vs_ref(c, iter % 2 ? 2 : 1);
    if (nhwc) {  // the NHWC result equals the NCHW result, transposed
      test::OpCase d = c;
      d.attrs.erase("_layout");
      d.inputs[0] = X;
      test::check_close(ref[0], to_nhwc(test::run_op(d, true)[0]), 1e-5f, 1e-5f);
    }
  }
}

TEST_CASE("nn: Conv fixed values, pads and auto_pad") {
  // 1x1x5x5 input 0..24, 3x3 ones kernel (ONNX conformance example).
  std::vector<float> xv(25);
  for (int i = 0; i < 25; ++i) xv[i] = static_cast<float>(i);
  test::OpCase c{.op = "Conv"};
  c.inputs = {HostTensor::from<float>("x", {1, 1, 5, 5}, xv),
              HostTensor::from<float>("w", {1, 1, 3, 3}, std::vector<float>(9, 1.f))};
  c.constant = {false, true};
  c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  for (bool ref : {true, false}) {
    auto y = test::run_op(c, ref);
    CHECK(y[0].dims == Dims{1, 1, 5, 5});
    CHECK(y[0].values<float>()[0] == 12.f);
    CHECK(y[0].values<float>()[12] == 108.f);
  }
  c.attrs.erase("pads");
  c.attrs.set("strides", std::vector<int64_t>{2, 2});
  c.attrs.set("auto_pad", std::string("SAME_UPPER"));
  auto y = test::run_op(c, false);
  CHECK(y[0].dims == Dims{1, 1, 3, 3});
  // in 5, stride 2 -> out 3, total pad 2 -> 1 before, 1 after: first window rows/cols -1..1.
  CHECK(y[0].values<float>()[0] == 12.f);
  CHECK(y[0].values<float>()[4] == 108.f);
}

TEST_CASE("nn: Conv rejects bad attributes") {
  test::OpCase c{.op = "Conv"};
  c.inputs = {rand_tensor("x", {1, 4, 5, 5}, 1), rand_tensor("w", {2, 4, 3, 3}, 2)};
  c.constant = {false, true};
  c.attrs.set("group", int64_t{3});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.attrs.set("group", int64_t{1});
  c.attrs.set("strides", std::vector<int64_t>{0, 1});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.attrs.set("strides", std::vector<int64_t>{1, 1});
  c.attrs.set("pads", std::vector<int64_t>{1, 1});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.attrs.erase("pads");
  c.attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.attrs.erase("kernel_shape");
  c.inputs[1] = rand_tensor("w", {2, 3, 3, 3}, 2);
  CHECK_THROWS_WITH_AS(test::run_op(c, false), doctest::Contains("node"), Error);
}

TEST_CASE("nn: ConvTranspose optimized matches reference on random shapes") {
  Rng r(99);
  for (int iter = 0; iter < 40; ++iter) {
    const int sp = r(0, 3) == 0 ? 1 : 2;
    const int64_t group = r(0, 2) == 0 ? r(2, 3) : 1;
    const int64_t Cg = r(1, 6), Mg = r(1, 36), N = r(1, 2);
    const int64_t C = group * Cg;
    Dims x{N, C}, w{C, Mg};
    std::vector<int64_t> ks, st, dl, pads(2 * sp), opad, oshape;
    for (int i = 0; i < sp; ++i) {
      x.push_back(r(2, 8));
      ks.push_back(r(1, 4));
      st.push_back(r(1, 3));
      dl.push_back(r(1, 4) == 4 ? 2 : 1);
      pads[i] = r(0, (ks.back() - 1) * dl.back() / 2);
      pads[i + sp] = r(0, (ks.back() - 1) * dl.back() / 2);
      opad.push_back(r(0, st.back() - 1));
      w.push_back(ks.back());
      oshape.push_back(x.back() * st.back() + r(-1, 1));
    }
    test::OpCase c{.op = "ConvTranspose"};
    c.attrs.set("group", group);
    c.attrs.set("strides", st);
    c.attrs.set("dilations", dl);
    const int mode = static_cast<int>(r(0, 4));
    if (mode == 0) c.attrs.set("output_shape", oshape);
    else if (mode == 1) c.attrs.set("auto_pad", std::string("SAME_UPPER"));
    else if (mode == 2) c.attrs.set("auto_pad", std::string("SAME_LOWER"));
    else { c.attrs.set("pads", pads); c.attrs.set("output_padding", opad); }
    if (r(0, 2) == 0) c.attrs.set("_act_min", 0.f);
    const bool nhwc = r(0, 1);
    HostTensor X = rand_tensor("x", x, 50 + iter);
    c.inputs = {nhwc ? to_nhwc(X) : X, rand_tensor("w", w, 60 + iter)};
    if (r(0, 1)) c.inputs.push_back(rand_tensor("b", {group * Mg}, 70 + iter));
    c.constant = {false, true, true};
    if (nhwc) c.attrs.set("_layout", std::string("NHWC"));
    CAPTURE(iter);
    CAPTURE(dims_to_string(x));
    CAPTURE(dims_to_string(w));
    auto ref = check_opt_vs_ref(c, iter % 2 ? 2 : 1);
    if (nhwc) {
      test::OpCase d = c;
      d.attrs.erase("_layout");
      d.inputs[0] = X;
      test::check_close(ref[0], to_nhwc(test::run_op(d, true)[0]), 1e-5f, 1e-5f);
    }
  }
}

TEST_CASE("nn: ConvTranspose fixed values") {
  // x 1x1x3x3 = 0..8, W 1x2x3x3 ones, strides 3x2, pads 1,2,1,2 -> 1x2x7x3 (ONNX example).
  std::vector<float> xv(9);
  for (int i = 0; i < 9; ++i) xv[i] = static_cast<float>(i);
  test::OpCase c{.op = "ConvTranspose"};
  c.inputs = {HostTensor::from<float>("x", {1, 1, 3, 3}, xv),
              HostTensor::from<float>("w", {1, 2, 3, 3}, std::vector<float>(18, 1.f))};
  c.constant = {false, true};
  c.attrs.set("strides", std::vector<int64_t>{3, 2});
  c.attrs.set("pads", std::vector<int64_t>{1, 2, 1, 2});
  const std::vector<float> row0{1, 1, 3}, row2{7, 4, 9}, row6{13, 7, 15};
  for (bool ref : {true, false}) {
    auto y = test::run_op(c, ref);
    REQUIRE(y[0].dims == Dims{1, 2, 7, 3});
    auto v = y[0].values<float>();
    for (int j = 0; j < 3; ++j) {
      CHECK(v[j] == row0[j]);
      CHECK(v[6 + j] == row2[j]);
      CHECK(v[18 + j] == row6[j]);
      CHECK(v[21 + 18 + j] == row6[j]);
    }
  }
}

TEST_CASE("nn: Gemm optimized matches reference (transposes, alpha, beta, C broadcast)") {
  Rng r(7);
  for (int iter = 0; iter < 40; ++iter) {
    const int64_t M = r(1, 50), N = r(1, 70), K = r(1, 300);
    const bool ta = r(0, 1), tb = r(0, 1);
    test::OpCase c{.op = "Gemm"};
    c.attrs.set("transA", int64_t{ta});
    c.attrs.set("transB", int64_t{tb});
    if (r(0, 1)) c.attrs.set("alpha", 0.5f);
    if (r(0, 1)) c.attrs.set("beta", -2.f);
    if (r(0, 3) == 0) c.attrs.set("_act_min", 0.f);
    c.inputs = {rand_tensor("a", ta ? Dims{K, M} : Dims{M, K}, iter),
                rand_tensor("b", tb ? Dims{N, K} : Dims{K, N}, 100 + iter)};
    const int cm = static_cast<int>(r(0, 5));
    Dims cd = cm == 0 ? Dims{} : cm == 1 ? Dims{N} : cm == 2 ? Dims{1, N} : cm == 3 ? Dims{M, 1}
            : cm == 4 ? Dims{M, N} : Dims{1};
    if (cm != 0) c.inputs.push_back(rand_tensor("c", cd, 200 + iter));
    const bool cb = r(0, 2) != 0;
    c.constant = {false, cb, cb};
    CAPTURE(iter);
    check_opt_vs_ref(c, iter % 2 ? 2 : 1);
  }
}

TEST_CASE("nn: MatMul numpy semantics: 1-D operands, batches, broadcast") {
  struct Case { Dims a, b, out; };
  const std::vector<Case> cases = {
      {{5}, {5}, {}},          {{3, 5}, {5}, {3}},        {{5}, {5, 4}, {4}},
      {{2, 3, 5}, {5, 7}, {2, 3, 7}}, {{2, 3, 5}, {2, 5, 7}, {2, 3, 7}},
      {{3, 5}, {4, 5, 33}, {4, 3, 33}}, {{2, 1, 3, 5}, {1, 4, 5, 6}, {2, 4, 3, 6}},
      {{5}, {2, 5, 3}, {2, 3}},  {{2, 3, 5}, {5}, {2, 3}}, {{37, 100}, {100, 65}, {37, 65}}};
  int seed = 0;
  for (const Case& k : cases) {
    for (bool cb : {false, true}) {
      test::OpCase c{.op = "MatMul"};
      c.inputs = {rand_tensor("a", k.a, ++seed), rand_tensor("b", k.b, ++seed)};
      c.constant = {false, cb};
      if (seed % 3 == 0) c.attrs.set("_act_max", 0.25f);
      CAPTURE(dims_to_string(k.a));
      CAPTURE(dims_to_string(k.b));
      auto y = check_opt_vs_ref(c, seed % 2 ? 2 : 1);
      CHECK(y[0].dims == k.out);
    }
  }
  test::OpCase bad{.op = "MatMul"};
  bad.inputs = {rand_tensor("a", {2, 3, 4}, 1), rand_tensor("b", {3, 4, 5}, 2)};
  CHECK_THROWS_AS(test::run_op(bad, false), Error);
}

TEST_CASE("nn: BatchNormalization NCHW, NHWC and opset 7 spatial=0") {
  for (bool nhwc : {false, true}) {
    const int64_t C = 5;
    HostTensor X = rand_tensor("x", {2, C, 3, 4}, 3);
    test::OpCase c{.op = "BatchNormalization"};
    c.inputs = {nhwc ? to_nhwc(X) : X, rand_tensor("s", {C}, 4), rand_tensor("b", {C}, 5),
                rand_tensor("m", {C}, 6),
                HostTensor::from<float>("v", {C}, test::random_floats(C, 7, 0.1f, 2.f))};
    c.constant = {false, true, true, true, true};
    c.attrs.set("epsilon", 1e-3f);
    if (nhwc) c.attrs.set("_layout", std::string("NHWC"));
    auto y = check_opt_vs_ref(c, 2, 1e-5f);
    auto x = c.inputs[0].values<float>();
    const float s0 = c.inputs[1].values<float>()[0], b0 = c.inputs[2].values<float>()[0];
    const float m0 = c.inputs[3].values<float>()[0], v0 = c.inputs[4].values<float>()[0];
    CHECK(y[0].values<float>()[0] == doctest::Approx((x[0] - m0) / std::sqrt(v0 + 1e-3f) * s0 + b0));
    c.constant = {false, false, false, false, false};  // run-time parameters
    check_opt_vs_ref(c, 1, 1e-5f);
  }
  test::OpCase c{.op = "BatchNormalization", .opset = 7};
  const Dims pd{3, 2, 2};
  c.inputs = {rand_tensor("x", {2, 3, 2, 2}, 3), rand_tensor("s", pd, 4), rand_tensor("b", pd, 5),
              rand_tensor("m", pd, 6),
              HostTensor::from<float>("v", pd, test::random_floats(12, 7, 0.1f, 2.f))};
  c.constant = {false, true, true, true, true};
  c.attrs.set("spatial", int64_t{0});
  check_opt_vs_ref(c, 1, 1e-5f);
  test::OpCase t = c;
  t.opset = 9;
  t.num_outputs = 3;
  CHECK_THROWS_WITH_AS(test::run_op(t, false), doctest::Contains("training"), Error);
}

// The ONNX conformance node tests for these ops, when the shared copy is present.
TEST_CASE("nn: ONNX node tests for Conv, ConvTranspose, Gemm, MatMul, BatchNormalization") {
  namespace fs = std::filesystem;
  const fs::path root = octet::test::onnx_node_tests_dir();
  if (!fs::exists(root)) return;
  int ran = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    bool ours = false;
    for (const char* p : {"test_conv_", "test_basic_conv", "test_convtranspose", "test_gemm_",
                          "test_matmul_", "test_batchnorm_"})
      if (name.rfind(p, 0) == 0) ours = true;
    if (!ours || name.find("_3d") != std::string::npos || name.find("training") != std::string::npos)
      continue;
    const fs::path data = entry.path() / "test_data_set_0";
    if (!fs::exists(data)) continue;
    auto graph = load_model((entry.path() / "model.onnx").string());
    std::vector<HostTensor> feeds;
    for (size_t i = 0; i < graph->inputs.size(); ++i) {
      HostTensor t = load_onnx_tensor_file((data / ("input_" + std::to_string(i) + ".pb")).string());
      t.name = graph->tensor(graph->inputs[i]).name;
      feeds.push_back(t);
    }
    for (bool ref : {true, false}) {
      CAPTURE(name);
      CAPTURE(ref);
      SessionOptions opt;
      opt.reference_kernels = ref;
      Session s(graph, opt);
      auto out = s.run(feeds);
      for (size_t i = 0; i < out.size(); ++i) {
        HostTensor want = load_onnx_tensor_file((data / ("output_" + std::to_string(i) + ".pb")).string());
        test::check_close(out[i], want, 1e-4f, 1e-4f);
      }
    }
    ++ran;
  }
  CHECK(ran >= 20);
}
