// QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger: the fast path (constant s8 weights
// with zero point 0: qconv / qgemm) against the general int32 reference, the reference
// against plain loops here, and the ONNX conformance cases with constant weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "base/error.h"
#include "loaders/onnx_loader.h"
#include "tests/support/op_test_util.h"
#include "tests/support/test_paths.h"

using namespace octet;
using test::OpCase;

namespace {

std::mt19937& rng() {
  static std::mt19937 r(20240611);
  return r;
}
int64_t rand_int(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng()); }
float rand_float(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng()); }
bool coin() { return rand_int(0, 1) == 1; }

HostTensor codes(const std::string& name, Dims dims, bool is_signed, int lo = -999, int hi = 999) {
  const int64_t n = checked_numel(dims);
  if (is_signed) {
    std::vector<int8_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = int8_t(rand_int(std::max(lo, -128), std::min(hi, 127)));
    return HostTensor::from(name, dims, v);
  }
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = uint8_t(rand_int(std::max(lo, 0), std::min(hi, 255)));
  return HostTensor::from(name, dims, v);
}
HostTensor scalar_code(const std::string& name, bool is_signed, int value) {
  if (is_signed) return HostTensor::from(name, {}, std::vector<int8_t>{int8_t(value)});
  return HostTensor::from(name, {}, std::vector<uint8_t>{uint8_t(value)});
}
HostTensor zeros_code(const std::string& name, Dims dims, bool is_signed) {
  return codes(name, dims, is_signed, 0, 0);
}
HostTensor floats(const std::string& name, Dims dims, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(checked_numel(dims)));
  for (float& x : v) x = rand_float(lo, hi);
  return HostTensor::from(name, dims, v);
}
int random_zp(bool is_signed) { return is_signed ? int(rand_int(-20, 20)) : int(rand_int(100, 150)); }

std::string impl_of(const OpCase& c, bool reference, int threads = 1) {
  SessionOptions opt;
  opt.reference_kernels = reference;
  opt.threads = threads;
  Session s(test::make_op_graph(c), opt);
  for (const KernelChoice& k : s.kernel_choices())
    if (k.op_type == c.op) return k.impl;
  return "";
}

void check_equal(const HostTensor& a, const HostTensor& b) {
  REQUIRE(a.dtype == b.dtype);
  REQUIRE(a.dims == b.dims);
  REQUIRE(a.bytes.size() == b.bytes.size());
  const size_t es = dtype_size(a.dtype);
  for (size_t i = 0; i < a.bytes.size(); i += es)
    if (std::memcmp(a.bytes.data() + i, b.bytes.data() + i, es) != 0) {
      FAIL_CHECK("element " << i / es << " differs");
      return;
    }
}

// Runs fast (optimized, checking the impl name) and general (reference kernels); equal bits.
void check_fast_equals_reference(const OpCase& c, const std::string& fast_impl, int threads) {
  CHECK(impl_of(c, false, threads) == fast_impl);
  const auto fast = test::run_op(c, false, threads);
  const auto ref = test::run_op(c, true);
  REQUIRE(fast.size() == 1);
  check_equal(fast[0], ref[0]);
}

// A random conv geometry; returns the attributes and fills dims.
Attributes conv_attrs(int64_t& N, int64_t& C, int64_t& M, Dims& xd, Dims& wd, int64_t& group) {
  const bool one_d = rand_int(0, 5) == 0;
  N = rand_int(1, 2);
  const int kind = int(rand_int(0, 3));  // 0 dense, 1 grouped, 2 depthwise, 3 pointwise
  group = 1;
  C = rand_int(1, 12);
  M = rand_int(1, 16);
  if (kind == 1) {
    group = rand_int(2, 3);
    C = group * rand_int(1, 4);
    M = group * rand_int(1, 4);
  } else if (kind == 2) {
    group = C = rand_int(2, 16);
    M = C * rand_int(1, 2);
  }
  const int64_t KH = one_d ? 1 : (kind == 3 ? 1 : rand_int(1, 3)),
                KW = kind == 3 ? 1 : rand_int(1, 3);
  const int64_t H = one_d ? 1 : rand_int(KH, 9), W = rand_int(KW + 1, 9);
  Attributes a;
  a.set("group", group);
  const int64_t s = rand_int(1, 2), d = kind == 3 ? 1 : rand_int(1, 2);
  std::vector<int64_t> pads;
  if (one_d) {
    xd = {N, C, W};
    wd = {M, C / group, KW};
    a.set("strides", std::vector<int64_t>{s});
    a.set("dilations", std::vector<int64_t>{d});
    pads = {rand_int(0, 1), rand_int(0, 2)};
  } else {
    xd = {N, C, H, W};
    wd = {M, C / group, KH, KW};
    a.set("strides", std::vector<int64_t>{s, rand_int(1, 2)});
    a.set("dilations", std::vector<int64_t>{d, d});
    pads = {rand_int(0, 1), rand_int(0, 1), rand_int(0, 2), rand_int(0, 1)};
  }
  // Keep the dilated kernel inside the padded input.
  const size_t sp = wd.size() - 2;
  for (size_t i = 0; i < sp; ++i) {
    const int64_t eff = (wd[2 + i] - 1) * d + 1;
    while (xd[2 + i] + pads[i] + pads[i + sp] < eff) ++pads[i];
  }
  a.set("pads", pads);
  return a;
}

}  // namespace

TEST_CASE("onnx integer: QLinearConv fast path equals the general reference") {
  for (int it = 0; it < 90; ++it) {
    int64_t N, C, M, group;
    Dims xd, wd;
    OpCase c;
    c.op = "QLinearConv";
    c.opset = 10;
    c.attrs = conv_attrs(N, C, M, xd, wd, group);
    const bool xs8 = coin(), ys8 = coin(), per_channel = coin(), with_bias = coin();
    const int64_t K = wd[1] * wd[2] * (wd.size() > 3 ? wd[3] : 1);
    const float xs = rand_float(0.01f, 0.05f);
    const float ws = rand_float(0.002f, 0.02f);
    // Output scale around the accumulator's spread (some values saturate).
    const float ys = xs * ws * 40.f * std::sqrt(float(K)) * rand_float(0.5f, 2.f);
    INFO("case " << it << " x " << dims_to_string(xd) << " w " << dims_to_string(wd) << " group " << group);
    c.inputs = {codes("x", xd, xs8),
                HostTensor::from("xs", {}, std::vector<float>{xs}),
                scalar_code("xzp", xs8, random_zp(xs8)),
                codes("w", wd, true, -127, 127),
                per_channel ? floats("ws", {M}, 0.002f, 0.02f) : HostTensor::from("ws", {}, std::vector<float>{ws}),
                per_channel && coin() ? zeros_code("wzp", {M}, true) : scalar_code("wzp", true, 0),
                HostTensor::from("ys", {}, std::vector<float>{ys}),
                scalar_code("yzp", ys8, random_zp(ys8))};
    if (with_bias) {
      std::vector<int32_t> b(static_cast<size_t>(M));
      for (auto& v : b) v = int32_t(rand_int(-2000, 2000));
      c.inputs.push_back(HostTensor::from("b", {M}, b));
    }
    c.constant.assign(c.inputs.size(), true);
    c.constant[0] = false;
    check_fast_equals_reference(c, "qlinearconv_qconv2d_nhwc", it % 5 == 0 ? 2 : 1);
  }
}

TEST_CASE("onnx integer: ConvInteger fast path equals the general reference") {
  for (int it = 0; it < 40; ++it) {
    int64_t N, C, M, group;
    Dims xd, wd;
    OpCase c;
    c.op = "ConvInteger";
    c.opset = 10;
    c.attrs = conv_attrs(N, C, M, xd, wd, group);
    const bool xs8 = coin();
    INFO("case " << it << " x " << dims_to_string(xd) << " w " << dims_to_string(wd) << " group " << group);
    c.inputs = {codes("x", xd, xs8), codes("w", wd, true, -127, 127)};
    const int variant = int(rand_int(0, 2));  // 0: no zero points, 1: x_zp, 2: both
    if (variant >= 1) c.inputs.push_back(scalar_code("xzp", xs8, random_zp(xs8)));
    if (variant == 2) c.inputs.push_back(scalar_code("wzp", true, 0));
    c.constant.assign(c.inputs.size(), true);
    c.constant[0] = false;
    if (variant >= 1 && coin()) c.constant[2] = false;  // runtime x zero point is fine
    check_fast_equals_reference(c, "convinteger_im2col_qgemm", it % 5 == 0 ? 2 : 1);
  }
}

namespace {
Dims random_a_dims(int64_t K) {
  Dims a;
  const int rank = int(rand_int(1, 4));
  for (int i = 0; i + 2 < rank; ++i) a.push_back(rand_int(1, 3));
  if (rank >= 2) a.push_back(rand_int(1, 70));
  a.push_back(K);
  return a;
}
}  // namespace

TEST_CASE("onnx integer: QLinearMatMul fast path equals the general reference") {
  for (int it = 0; it < 60; ++it) {
    const int64_t K = rand_int(1, 90), N = rand_int(1, 40);
    const Dims ad = random_a_dims(K);
    const bool as8 = coin(), ys8 = coin(), per_col = coin();
    const float as = rand_float(0.01f, 0.05f), bs = rand_float(0.002f, 0.02f);
    const float ys = as * bs * 40.f * std::sqrt(float(K)) * rand_float(0.5f, 2.f);
    INFO("case " << it << " a " << dims_to_string(ad) << " N " << N);
    OpCase c;
    c.op = "QLinearMatMul";
    c.opset = 10;
    c.inputs = {codes("a", ad, as8),
                HostTensor::from("as", {}, std::vector<float>{as}),
                scalar_code("azp", as8, random_zp(as8)),
                codes("b", {K, N}, true, -127, 127),
                per_col ? floats("bs", {N}, 0.002f, 0.02f) : HostTensor::from("bs", {}, std::vector<float>{bs}),
                per_col && coin() ? zeros_code("bzp", {N}, true) : scalar_code("bzp", true, 0),
                HostTensor::from("ys", {}, std::vector<float>{ys}),
                scalar_code("yzp", ys8, random_zp(ys8))};
    c.constant.assign(c.inputs.size(), true);
    c.constant[0] = false;
    if (coin()) c.constant[1] = c.constant[2] = c.constant[6] = false;  // runtime scales are fine
    check_fast_equals_reference(c, "qlinearmatmul_qgemm", it % 5 == 0 ? 2 : 1);
  }
}

TEST_CASE("onnx integer: MatMulInteger fast path equals the general reference") {
  for (int it = 0; it < 40; ++it) {
    const int64_t K = rand_int(1, 200), N = rand_int(1, 40);
    const Dims ad = random_a_dims(K);
    const bool as8 = coin();
    INFO("case " << it << " a " << dims_to_string(ad) << " N " << N);
    OpCase c;
    c.op = "MatMulInteger";
    c.opset = 10;
    // Extreme codes: sums far from 0 (u8 255 * 127 * K).
    c.inputs = {codes("a", ad, as8), codes("b", {K, N}, true, -127, 127)};
    const int variant = int(rand_int(0, 2));
    if (variant >= 1) c.inputs.push_back(scalar_code("azp", as8, random_zp(as8)));
    if (variant == 2) c.inputs.push_back(zeros_code("bzp", {N}, true));
    c.constant.assign(c.inputs.size(), true);
    c.constant[0] = false;
    check_fast_equals_reference(c, "matmulinteger_qgemm", it % 5 == 0 ? 2 : 1);
  }
}

// The general path against plain loops written here: u8 / s8 weights with nonzero zero
// points, per-channel / per-column / per-row parameters.
TEST_CASE("onnx integer: general reference matches plain loops (any zero points)") {
  auto code_at = [](const HostTensor& t, int64_t i) {
    return t.dtype == DType::kI8 ? int32_t(t.values<int8_t>()[i]) : int32_t(t.values<uint8_t>()[i]);
  };
  auto requant = [](int64_t acc, float mult, int32_t zp, DType t) {
    float f = float(int32_t(acc)) * mult;
    const float lo = t == DType::kU8 ? 0.f : -128.f, hi = t == DType::kU8 ? 255.f : 127.f;
    f = std::min(std::max(f, lo - float(zp)), hi - float(zp));
    return int32_t(std::nearbyint(f)) + zp;
  };
  for (int it = 0; it < 30; ++it) {
    // MatMulInteger with N-D zero points per batch-row and per batch-column.
    const int64_t B = rand_int(1, 3), M = rand_int(1, 6), K = rand_int(1, 20), N = rand_int(1, 7);
    const bool as8 = coin(), bs8 = coin();
    OpCase c;
    c.op = "MatMulInteger";
    c.opset = 10;
    c.inputs = {codes("a", {B, M, K}, as8), codes("b", {B, K, N}, bs8), codes("azp", {B, M, 1}, as8),
                codes("bzp", {B, 1, N}, bs8)};
    c.constant = {false, true, true, true};
    const auto got = test::run_op(c, it % 2 == 0);
    REQUIRE(got[0].dims == Dims{B, M, N});
    auto y = got[0].values<int32_t>();
    int bad = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t acc = 0;
          for (int64_t k = 0; k < K; ++k)
            acc += int64_t(code_at(c.inputs[0], (b * M + m) * K + k) - code_at(c.inputs[2], b * M + m)) *
                   (code_at(c.inputs[1], (b * K + k) * N + n) - code_at(c.inputs[3], b * N + n));
          bad += y[(b * M + m) * N + n] != acc;
        }
    CHECK(bad == 0);
  }
  for (int it = 0; it < 30; ++it) {
    // QLinearMatMul with per-row a / y parameters and per-column b, u8 or s8 weights with zps.
    const int64_t M = rand_int(1, 6), K = rand_int(1, 30), N = rand_int(1, 7);
    const bool as8 = coin(), bs8 = coin(), ys8 = coin();
    OpCase c;
    c.op = "QLinearMatMul";
    c.opset = 10;
    c.inputs = {codes("a", {M, K}, as8), floats("as", {M}, 0.01f, 0.05f), codes("azp", {M}, as8),
                codes("b", {K, N}, bs8), floats("bs", {N}, 0.002f, 0.02f), codes("bzp", {N}, bs8),
                floats("ys", {M}, 0.05f, 0.3f), codes("yzp", {M}, ys8, -20, 150)};
    c.constant = {false, true, true, coin(), true, true, true, true};
    const auto got = test::run_op(c, it % 2 == 0);
    REQUIRE(got[0].dims == Dims{M, N});
    int bad = 0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int64_t acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += int64_t(code_at(c.inputs[0], m * K + k) - code_at(c.inputs[2], m)) *
                 (code_at(c.inputs[3], k * N + n) - code_at(c.inputs[5], n));
        const float mult = (c.inputs[1].values<float>()[m] * c.inputs[4].values<float>()[n]) /
                           c.inputs[6].values<float>()[m];
        bad += code_at(got[0], m * N + n) != requant(acc, mult, code_at(c.inputs[7], m), got[0].dtype);
      }
    CHECK(bad == 0);
  }
  for (int it = 0; it < 30; ++it) {
    // QLinearConv with u8 weights and per-channel zero points (the general path), with bias.
    int64_t N, C, M, group;
    Dims xd, wd;
    OpCase c;
    c.op = "QLinearConv";
    c.opset = 10;
    c.attrs = conv_attrs(N, C, M, xd, wd, group);
    if (xd.size() == 3) continue;
    const bool xs8 = coin(), ws8 = coin(), ys8 = coin();
    std::vector<int32_t> bias(static_cast<size_t>(M));
    for (auto& v : bias) v = int32_t(rand_int(-3000, 3000));
    c.inputs = {codes("x", xd, xs8), floats("xs", {}, 0.01f, 0.05f), scalar_code("xzp", xs8, random_zp(xs8)),
                codes("w", wd, ws8), floats("ws", {M}, 0.002f, 0.02f), codes("wzp", {M}, ws8),
                floats("ys", {}, 0.2f, 1.f), scalar_code("yzp", ys8, random_zp(ys8)),
                HostTensor::from("b", {M}, bias)};
    c.constant.assign(c.inputs.size(), true);
    c.constant[0] = false;
    const auto got = test::run_op(c, false);
    CHECK(impl_of(c, false) == "qlinearconv_reference");
    const auto strides = c.attrs.get_ints("strides", {}), dil = c.attrs.get_ints("dilations", {}),
               pads = c.attrs.get_ints("pads", {});
    const int64_t H = xd[2], W = xd[3], KH = wd[2], KW = wd[3], Cg = C / group, Mg = M / group;
    const int64_t OH = got[0].dims[2], OW = got[0].dims[3];
    const float xs = c.inputs[1].values<float>()[0], ys = c.inputs[6].values<float>()[0];
    const int32_t xzp = code_at(c.inputs[2], 0), yzp = code_at(c.inputs[7], 0);
    int bad = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            int64_t acc = bias[m];
            for (int64_t ci = 0; ci < Cg; ++ci)
              for (int64_t kh = 0; kh < KH; ++kh)
                for (int64_t kw = 0; kw < KW; ++kw) {
                  const int64_t ih = oh * strides[0] - pads[0] + kh * dil[0];
                  const int64_t iw = ow * strides[1] - pads[1] + kw * dil[1];
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  const int64_t cin = (m / Mg) * Cg + ci;
                  acc += int64_t(code_at(c.inputs[0], ((n * C + cin) * H + ih) * W + iw) - xzp) *
                         (code_at(c.inputs[3], ((m * Cg + ci) * KH + kh) * KW + kw) - code_at(c.inputs[5], m));
                }
            const float mult = (xs * c.inputs[4].values<float>()[m]) / ys;
            bad += code_at(got[0], ((n * M + m) * OH + oh) * OW + ow) != requant(acc, mult, yzp, got[0].dtype);
          }
    CHECK(bad == 0);
  }
}

// The conformance cases again, with every input but the first constant: the fast path where
// the weights allow it (s8, zero point 0), the general one otherwise; same expected bits.
TEST_CASE("onnx integer: conformance cases with constant weights") {
  namespace fs = std::filesystem;
  const fs::path root = octet::test::onnx_node_tests_dir();
  if (!fs::is_directory(root)) return;
  int ran = 0;
  for (const char* name :
       {"test_qlinearconv", "test_qlinearmatmul_2D_int8_float32", "test_qlinearmatmul_2D_uint8_float32",
        "test_qlinearmatmul_3D_int8_float32", "test_qlinearmatmul_3D_uint8_float16",
        "test_convinteger_with_padding", "test_convinteger_without_padding", "test_matmulinteger"}) {
    const fs::path dir = root / name;
    if (!fs::exists(dir / "model.onnx")) continue;
    INFO(name);
    auto g = load_onnx((dir / "model.onnx").string());
    const fs::path set = dir / "test_data_set_0";
    std::vector<HostTensor> inputs;
    for (int k = 0; fs::exists(set / ("input_" + std::to_string(k) + ".pb")); ++k)
      inputs.push_back(load_onnx_tensor_file((set / ("input_" + std::to_string(k) + ".pb")).string()));
    const HostTensor want = load_onnx_tensor_file((set / "output_0.pb").string());
    REQUIRE(inputs.size() == g->inputs.size());
    SessionOptions opt;
    std::vector<HostTensor> feeds;
    for (size_t k = 0; k < inputs.size(); ++k) {
      inputs[k].name = g->tensor(g->inputs[k]).name;
      (k == 0 ? feeds : opt.constant_inputs).push_back(inputs[k]);
    }
    Session s(g, opt);
    const auto got = s.run(feeds);
    check_equal(got[0], want);
    ++ran;
  }
  CHECK(ran == 8);
}

TEST_CASE("onnx integer: bad inputs are rejected") {
  OpCase c;
  c.op = "QLinearMatMul";
  c.opset = 10;
  c.inputs = {codes("a", {2, 3}, false), HostTensor::from("as", {}, std::vector<float>{0.1f}),
              scalar_code("azp", false, 0), codes("b", {3, 4}, true),
              HostTensor::from("bs", {3}, std::vector<float>{0.1f, 0.1f, 0.1f}),  // 3 != 4 columns
              scalar_code("bzp", true, 0), HostTensor::from("ys", {}, std::vector<float>{0.1f}),
              scalar_code("yzp", false, 0)};
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.inputs[4] = HostTensor::from("bs", {}, std::vector<float>{-1.f});  // non-positive scale
  CHECK_THROWS_AS(test::run_op(c, true), Error);
  c.inputs[4] = HostTensor::from("bs", {}, std::vector<float>{0.1f});
  c.inputs[5] = scalar_code("bzp", false, 0);  // zero point type differs from B
  CHECK_THROWS_AS(test::run_op(c, false), Error);

  OpCase conv;
  conv.op = "ConvInteger";
  conv.opset = 10;
  conv.inputs = {codes("x", {1, 2, 3, 3, 3}, false), codes("w", {1, 2, 1, 1, 1}, false)};
  try {
    test::run_op(conv, false);
    FAIL("3-D ConvInteger was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("not supported") != std::string::npos);
  }
  conv.inputs = {codes("x", {1, 4, 3, 3}, false), codes("w", {2, 3, 1, 1}, false)};  // 3 != 4 channels
  CHECK_THROWS_AS(test::run_op(conv, false), Error);
  conv.inputs = {codes("x", {1, 2, 3, 3}, false), codes("w", {2, 2, 1, 1}, false), scalar_code("xzp", false, 1),
                 codes("wzp", {3}, false)};  // 3 zero points for 2 channels
  CHECK_THROWS_AS(test::run_op(conv, false), Error);
}
