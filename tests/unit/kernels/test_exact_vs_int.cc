// `exact` (float kernels on integer-valued data, int32 where fp32 could round) against `int`
// (integer kernels) for octet.QConv, octet.QGemm and octet.QMatMul: every output code equal,
// over randomized shapes, zero points, scales, weights (i8 and i4), clamps and all three
// requantization schemes. The other integer ops run their reference kernel in exact mode and
// are compared with their optimized kernels in test_int_ops.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "tests/support/test_rng.h"
#include "engine/session.h"

using namespace octet;

namespace {

using octet::testing::Rng;

struct Codes {
  DType type;
  float scale;
  int32_t zp;
};

QuantParams per_tensor(const Codes& c) {
  QuantParams q;
  q.scale = {c.scale};
  q.zero_point = {c.zp};
  return q;
}

Codes random_codes(Rng& r, DType type) {
  const int32_t lo = type == DType::kI8 ? -128 : 0;
  return Codes{type, r.f(0.005f, 0.05f), int32_t(r.i(lo + 20, lo + 235))};
}

std::vector<uint8_t> random_code_bytes(Rng& r, const Codes& c, int64_t n) {
  std::vector<uint8_t> v(static_cast<size_t>(n));
  // Mostly near the zero point, some at the extremes.
  const int32_t lo = c.type == DType::kI8 ? -128 : 0;
  for (auto& b : v) {
    int32_t q = r.coin(0.1) ? int32_t(r.i(lo, lo + 255)) : int32_t(c.zp + r.i(-60, 60));
    q = std::clamp(q, lo, lo + 255);
    b = uint8_t(q);
  }
  return v;
}

struct Weights {
  DType type;
  std::vector<uint8_t> bytes;
  QuantParams quant;
};

// N rows of K weights (per output channel), i8 in [-127, 127] or i4 in [-8, 7].
Weights random_weights(Rng& r, int64_t N, int64_t K, bool int4, bool per_channel, bool full) {
  Weights w;
  w.type = int4 ? DType::kI4 : DType::kI8;
  const int64_t n = N * K;
  std::vector<int8_t> v(static_cast<size_t>(n));
  const int lo = int4 ? -8 : -127, hi = int4 ? 7 : 127;
  for (auto& x : v) x = int8_t(full ? r.i(lo, hi) : std::clamp<int64_t>(r.i(-40, 40) / (int4 ? 6 : 1), lo, hi));
  if (int4) {
    w.bytes.assign(static_cast<size_t>((n + 1) / 2), 0);
    for (int64_t i = 0; i < n; ++i)
      w.bytes[size_t(i / 2)] |= uint8_t((uint8_t(v[size_t(i)]) & 0xF) << ((i % 2) * 4));
  } else {
    w.bytes.assign(reinterpret_cast<uint8_t*>(v.data()), reinterpret_cast<uint8_t*>(v.data()) + n);
  }
  const int64_t scales = per_channel ? N : 1;
  for (int64_t c = 0; c < scales; ++c) {
    w.quant.scale.push_back(r.f(0.001f, 0.02f));
    w.quant.zero_point.push_back(0);
  }
  w.quant.axis = per_channel ? 0 : -1;
  w.quant.bitwidth = int4 ? 4 : 8;
  w.quant.symmetric = true;
  return w;
}

struct Built {
  std::shared_ptr<Graph> graph;
  HostTensor input;
};

TensorId add_constant(Graph& g, const std::string& name, DType t, const Dims& dims,
                      const void* bytes, size_t size, QuantParams q = {}) {
  const TensorId id =
      g.add_constant(name, t, dims, Buffer::copy_of(static_cast<const std::byte*>(bytes), size));
  g.tensor(id).quant = std::move(q);
  return id;
}

// Adds the output tensor with an encoding chosen so that codes spread over the range.
TensorId add_output(Graph& g, Rng& r, DType type, float x_scale, float w_scale, int64_t K) {
  TensorInfo y;
  y.name = "y";
  y.dtype = type;
  const float spread = std::sqrt(float(K)) * 40.f * 25.f;
  Codes c = random_codes(r, type);
  c.scale = x_scale * w_scale * spread / 40.f * r.f(0.5f, 3.f);
  y.quant = per_tensor(c);
  const TensorId id = g.add_tensor(y);
  g.outputs.push_back(id);
  return id;
}

void maybe_clamp(Rng& r, Node& n) {
  if (r.coin(0.3)) n.attrs.set("_act_min", 0.f);
  if (r.coin(0.2)) n.attrs.set("_act_max", r.f(0.5f, 6.f));
}

const char* random_scheme(Rng& r, int index) {
  static const char* const schemes[] = {"fp32", "fixed-point", "fixed-point-single"};
  (void)r;
  return schemes[index % 3];
}

Built build_qconv(Rng& r, int index) {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  const DType type = r.coin() ? DType::kU8 : DType::kI8;
  const bool depthwise = r.coin(0.25);
  int64_t group = 1, C, M;
  if (depthwise) {
    C = M = group = r.i(1, 48);
  } else {
    group = r.coin(0.15) ? r.i(2, 4) : 1;
    C = group * r.i(1, r.coin(0.02) ? 320 : 24);
    M = group * r.i(1, 24);
  }
  const int64_t KH = r.i(1, 3) * 2 - 1 + (r.coin(0.1) ? 1 : 0), KW = r.coin(0.8) ? KH : r.i(1, 5);
  const int64_t sh = r.i(1, 2), sw = r.i(1, 2), dh = r.coin(0.15) ? 2 : 1, dw = dh;
  const int64_t H = r.i((KH - 1) * dh + 1, 14), W = r.i((KW - 1) * dw + 1, 14);
  const int64_t pt = r.i(0, KH / 2 + 1), pl = r.i(0, KW / 2 + 1), pb = r.i(0, KH / 2), pr = r.i(0, KW / 2);
  const int64_t N = r.i(1, 2);
  const Codes x = random_codes(r, type);
  TensorInfo xi;
  xi.name = "x";
  xi.dtype = type;
  xi.shape = Shape::of({N, H, W, C});
  xi.quant = per_tensor(x);
  const TensorId xid = g->add_tensor(xi);
  g->inputs.push_back(xid);
  const int64_t K = (C / group) * KH * KW;
  const bool int4 = r.coin(0.25);
  const Weights w = random_weights(r, M, K, int4, r.coin(0.7), r.coin(0.5));
  Node n;
  n.name = "qconv";
  n.op_type = "octet.QConv";
  n.attrs.set("_layout", std::string("NHWC"));
  n.attrs.set("group", group);
  n.attrs.set("strides", std::vector<int64_t>{sh, sw});
  n.attrs.set("dilations", std::vector<int64_t>{dh, dw});
  n.attrs.set("pads", std::vector<int64_t>{pt, pl, pb, pr});
  n.attrs.set("requant", std::string(random_scheme(r, index)));
  maybe_clamp(r, n);
  n.inputs = {xid, add_constant(*g, "w", w.type, {M, C / group, KH, KW}, w.bytes.data(),
                                w.bytes.size(), w.quant)};
  if (r.coin(0.8)) {
    std::vector<int32_t> b(static_cast<size_t>(M));
    for (auto& v : b) v = int32_t(r.i(-20000, 20000));
    n.inputs.push_back(add_constant(*g, "b", DType::kI32, {M}, b.data(), b.size() * 4));
  }
  n.outputs = {add_output(*g, r, type, x.scale, w.quant.scale[0], K)};
  g->nodes.push_back(n);
  const std::vector<uint8_t> xb = random_code_bytes(r, x, N * H * W * C);
  HostTensor in;
  in.name = "x";
  in.dtype = type;
  in.dims = {N, H, W, C};
  in.bytes.assign(reinterpret_cast<const std::byte*>(xb.data()),
                  reinterpret_cast<const std::byte*>(xb.data()) + xb.size());
  return {g, in};
}

Built build_qlinear(Rng& r, int index, bool gemm) {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  const DType type = r.coin() ? DType::kU8 : DType::kI8;
  const int64_t M = r.i(1, 40), N = r.i(1, 70);
  const int64_t K = r.coin(0.06) ? r.i(300, 2600) : r.i(1, 100);
  Dims a = {M, K};
  if (!gemm && r.coin(0.5)) a = {r.i(1, 3), M, K};
  const Codes x = random_codes(r, type);
  TensorInfo xi;
  xi.name = "x";
  xi.dtype = type;
  xi.shape = Shape::of(a);
  xi.quant = per_tensor(x);
  const TensorId xid = g->add_tensor(xi);
  g->inputs.push_back(xid);
  const Weights w = random_weights(r, N, K, r.coin(0.25), r.coin(0.7), r.coin(0.6));
  Node n;
  n.name = "qlinear";
  n.op_type = gemm ? "octet.QGemm" : "octet.QMatMul";
  n.attrs.set("requant", std::string(random_scheme(r, index)));
  maybe_clamp(r, n);
  n.inputs = {xid, add_constant(*g, "w", w.type, {N, K}, w.bytes.data(), w.bytes.size(), w.quant)};
  if (r.coin(0.7)) {
    std::vector<int32_t> b(static_cast<size_t>(N));
    for (auto& v : b) v = int32_t(r.i(-50000, 50000));
    n.inputs.push_back(add_constant(*g, "b", DType::kI32, {N}, b.data(), b.size() * 4));
  }
  n.outputs = {add_output(*g, r, type, x.scale, w.quant.scale[0], K)};
  g->nodes.push_back(n);
  const std::vector<uint8_t> xb = random_code_bytes(r, x, checked_numel(a));
  HostTensor in;
  in.name = "x";
  in.dtype = type;
  in.dims = a;
  in.bytes.assign(reinterpret_cast<const std::byte*>(xb.data()),
                  reinterpret_cast<const std::byte*>(xb.data()) + xb.size());
  return {g, in};
}

struct Tally {
  int64_t cases = 0, elements = 0, float_path = 0, int32_path = 0;
};

void compare(const Built& b, int threads, Tally& tally) {
  SessionOptions io, eo;
  io.mode = ExecutionMode::kInt;
  eo.mode = ExecutionMode::kExact;
  io.threads = eo.threads = threads;
  Session si(b.graph, io), se(b.graph, eo);
  const std::string impl(se.kernel_choices()[0].impl);
  (impl.find("exact_f32") != std::string::npos ? tally.float_path : tally.int32_path)++;
  const std::vector<HostTensor> yi = si.run({b.input});
  const std::vector<HostTensor> ye = se.run({b.input});
  REQUIRE(yi[0].bytes.size() == ye[0].bytes.size());
  const bool equal = yi[0].bytes.empty() ||
                     std::memcmp(yi[0].bytes.data(), ye[0].bytes.data(), yi[0].bytes.size()) == 0;
  if (!equal) {
    const Node& n = b.graph->nodes[0];
    FAIL("int != exact for ", n.op_type, " requant ", n.attrs.get_string("requant", "?"),
         " (int impl ", si.kernel_choices()[0].impl, ", exact impl ", impl, ")");
  }
  tally.cases++;
  tally.elements += int64_t(yi[0].bytes.size());
}

}  // namespace

TEST_CASE("exact vs int: QConv, QGemm, QMatMul give the same codes on randomized cases") {
  Rng r(20261123);
  for (const char* op : {"octet.QConv", "octet.QGemm", "octet.QMatMul"}) {
    Tally t;
    const std::string name(op);
    for (int i = 0; i < 1050; ++i) {
      const Built b = name == "octet.QConv" ? build_qconv(r, i) : build_qlinear(r, i, name == "octet.QGemm");
      compare(b, (i % 5 == 0) ? 2 : 1, t);
    }
    MESSAGE(name << ": " << t.cases << " cases, " << t.elements << " output codes compared ("
               << t.float_path << " on the f32 path, " << t.int32_path << " on the int32 path)");
    CHECK(t.cases >= 1000);
    CHECK(t.int32_path > 0);  // the 2^24 bound is exercised both ways
    CHECK(t.float_path > 0);
  }
}
