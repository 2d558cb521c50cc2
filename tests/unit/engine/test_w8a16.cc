// W8A16: 16-bit activation codes (u16 / i16) with <= 8-bit weights on Conv, Gemm and MatMul.
// - kernels: every QIsa path of qgemm16 / QConv16Nhwc against the int64 reference loops;
// - ops: `exact` == `int` for octet.QConv / QGemm / QMatMul with 16-bit (and mixed 8/16-bit)
//   codes over randomized cases;
// - a whole MNIST network quantized with 16-bit activations: int == exact, Conv/Gemm integer,
//   accuracy near float.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <chrono>

#include "tests/support/test_rng.h"
#include "tests/support/mnist_eval_util.h"
#include "engine/session.h"
#include "engine/target_profile.h"
#include "kernels/qgemm16.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/integer_model.h"
#include "quant/quantsim.h"

using namespace octet;
using namespace octet::kernels;

namespace {

using octet::testing::Rng;

int32_t tmin(DType t) { return t == DType::kU8 || t == DType::kU16 ? 0 : t == DType::kI8 ? -128 : -32768; }
int32_t tmax(DType t) {
  return t == DType::kU8 ? 255 : t == DType::kI8 ? 127 : t == DType::kU16 ? 65535 : 32767;
}
int bits_of(DType t) { return t == DType::kU8 || t == DType::kI8 ? 8 : 16; }

DType random_in_type(Rng& r) {
  static const DType t[] = {DType::kU16, DType::kI16, DType::kU16, DType::kI16, DType::kU8, DType::kI8};
  return t[r.i(0, 5)];
}
DType random_out_type(Rng& r, DType in) {
  if (bits_of(in) == 8) return r.coin() ? DType::kU16 : DType::kI16;  // one side must be 16-bit
  static const DType t[] = {DType::kU16, DType::kI16, DType::kU8, DType::kI8};
  return t[r.i(0, 3)];
}

int32_t random_zp(Rng& r, DType t) {
  if (t == DType::kI16 && r.coin(0.7)) return 0;        // TFLite 16x8
  if (t == DType::kU16 && r.coin(0.3)) return 32768;    // QNN-style symmetric u16
  const int32_t lo = tmin(t), hi = tmax(t), span = hi - lo;
  return int32_t(lo + span / 10 + r.i(0, span * 8 / 10));
}

// Codes of type t: mostly around zp, some anywhere (extremes included).
std::vector<uint8_t> random_code_bytes(Rng& r, DType t, int32_t zp, int64_t n) {
  const size_t es = dtype_size(t);
  std::vector<uint8_t> v(static_cast<size_t>(n) * es);
  const int32_t lo = tmin(t), hi = tmax(t), spread = bits_of(t) == 8 ? 60 : 15000;
  for (int64_t i = 0; i < n; ++i) {
    int32_t q;
    const double u = r.f(0.f, 1.f);
    if (u < 0.05) q = lo;
    else if (u < 0.1) q = hi;
    else if (u < 0.2) q = int32_t(r.i(lo, hi));
    else q = std::clamp(int32_t(zp + r.i(-spread, spread)), lo, hi);
    std::memcpy(v.data() + size_t(i) * es, &q, es);
  }
  return v;
}

std::vector<int8_t> random_weights(Rng& r, int64_t n, bool full, bool small_bits) {
  std::vector<int8_t> w(static_cast<size_t>(n));
  for (auto& x : w)
    x = int8_t(small_bits ? r.i(-8, 7) : full ? r.i(-128, 127) : std::clamp<int64_t>(r.i(-60, 60), -127, 127));
  return w;
}

Requantizer random_requant(Rng& r, int64_t channels, double typical, DType out, RequantScheme s) {
  Requantizer rq;
  rq.scheme = s;
  const int64_t n = r.coin() ? channels : 1;
  for (int64_t c = 0; c < n; ++c) {
    double real = typical * std::exp2(r.f(-2.f, 2.f));
    if (r.i(0, 7) == 0) real = std::ldexp(1.0, -int(r.i(0, 20)));  // exact powers: ties
    real = std::clamp(real, std::ldexp(1.0, -31), 200.0);
    rq.multipliers.push_back(make_multiplier_from_real(s, real));
  }
  rq.zero_point = random_zp(r, out);
  rq.qmin = tmin(out);
  rq.qmax = tmax(out);
  if (r.coin(0.25)) {  // a fused activation's clamp
    rq.qmin = std::max(tmin(out), rq.zero_point - int32_t(r.i(0, 400)));
    rq.qmax = std::min(tmax(out), rq.qmin + 1 + int32_t(r.i(0, 30000)));
  }
  return rq;
}

double typical_multiplier(DType in, DType out, int64_t K) {
  const double acc = std::sqrt(double(K)) * (bits_of(in) == 8 ? 60.0 : 15000.0) * 50.0;
  return double(tmax(out) - tmin(out)) / 4.0 / acc;
}

std::vector<QIsa> isas_here() {
  std::vector<QIsa> v;
  for (int i = 0; i <= int(qgemm_cpu_isa()); ++i) v.push_back(QIsa(i));
  return v;
}

}  // namespace

TEST_CASE("w8a16 kernels: qgemm16 on every path == qgemm16_reference") {
  Rng r(1611);
  int64_t cases = 0, elements = 0;
  const RequantScheme schemes[] = {RequantScheme::kFp32, RequantScheme::kFixedPoint,
                                   RequantScheme::kFixedPointSingle};
  for (int it = 0; it < 1100; ++it) {
    const int64_t M = r.i(1, 24), N = r.i(1, 50);
    const int64_t K = r.coin(0.1) ? r.i(250, 1300) : r.i(1, 90);
    const int64_t lda = K + (r.coin(0.3) ? r.i(1, 5) : 0);
    const DType in = random_in_type(r);
    const bool raw = r.coin(0.1);
    const DType out = raw ? DType::kI64 : random_out_type(r, in);
    const int32_t zp = random_zp(r, in);
    const std::vector<uint8_t> a = random_code_bytes(r, in, zp, M * lda);
    const std::vector<int8_t> w = random_weights(r, N * K, r.coin(), r.coin(0.15));
    std::vector<int64_t> bias(static_cast<size_t>(N));
    for (auto& b : bias) b = r.coin(0.1) ? r.i(-(int64_t(1) << 40), int64_t(1) << 40) : r.i(-3000000, 3000000);
    const Requantizer rq = raw ? Requantizer{} : random_requant(r, N, typical_multiplier(in, out, K), out, schemes[it % 3]);
    QGemm16Epilogue ep{r.coin(0.8) ? bias.data() : nullptr, raw ? nullptr : &rq, out};
    const QGemm16A qa{a.data(), lda, in, zp};
    const size_t os = raw ? 8 : dtype_size(out);
    std::vector<uint8_t> ref(size_t(M * N) * os), got(ref.size());
    qgemm16_reference(M, N, K, qa, w.data(), ep, ref.data(), N);
    for (QIsa isa : isas_here()) {
      const QGemm16PackedB pb(w.data(), N, K, isa);
      std::fill(got.begin(), got.end(), 0xAB);
      // The whole range, or two column ranges split at a panel boundary.
      const int64_t pw = pb.panel_width();
      const int64_t split = N > pw && r.coin() ? pw * r.i(1, (N - 1) / pw) : N;
      qgemm16(M, qa, pb, 0, split, ep, got.data(), N);
      if (split < N) qgemm16(M, qa, pb, split, N, ep, got.data(), N);
      const bool equal = std::memcmp(ref.data(), got.data(), ref.size()) == 0;
      if (!equal)
        FAIL("qgemm16 ", qisa_name(isa), " != reference: M ", M, " N ", N, " K ", K, " in ",
             dtype_name(in), " zp ", zp, " out ", dtype_name(out), " scheme ", it % 3);
      cases++;
      elements += M * N;
    }
  }
  MESSAGE("qgemm16: " << cases << " (case, path) pairs, " << elements << " outputs compared");
  CHECK(cases >= 1000);
}

TEST_CASE("w8a16 kernels: accumulators beyond int32 (K = 20000 at the extremes)") {
  // |x - zp| = 65535 and |w| = 127 everywhere: sums of about 1.7e11, exact only in int64.
  const int64_t M = 3, N = 17, K = 20000;
  std::vector<uint16_t> a(size_t(M * K), 65535);
  std::vector<int8_t> w(size_t(N * K), 127);
  for (int64_t i = 0; i < N * K; i += 3) w[size_t(i)] = -128;
  const QGemm16A qa{a.data(), K, DType::kU16, 0};
  QGemm16Epilogue ep{nullptr, nullptr, DType::kI64};
  std::vector<int64_t> ref(size_t(M * N)), got(ref.size());
  qgemm16_reference(M, N, K, qa, w.data(), ep, ref.data(), N);
  CHECK(std::abs(ref[0]) > (int64_t(1) << 33));
  for (QIsa isa : isas_here()) {
    const QGemm16PackedB pb(w.data(), N, K, isa);
    qgemm16(M, qa, pb, 0, N, ep, got.data(), N);
    CHECK(ref == got);
  }
}

TEST_CASE("w8a16 kernels: QConv16Nhwc on every path and 1 or 2 threads == qconv16_reference") {
  Rng r(4242);
  int64_t cases = 0, elements = 0;
  const RequantScheme schemes[] = {RequantScheme::kFp32, RequantScheme::kFixedPoint,
                                   RequantScheme::kFixedPointSingle};
  for (int it = 0; it < 520; ++it) {
    ConvParams p;
    const bool depthwise = r.coin(0.25);
    if (depthwise) {
      p.C = p.M = p.group = r.i(1, 24);
    } else {
      p.group = r.coin(0.15) ? r.i(2, 3) : 1;
      p.C = p.group * r.i(1, r.coin(0.05) ? 150 : 12);
      p.M = p.group * r.i(1, 20);
    }
    p.KH = r.i(1, 3);
    p.KW = r.coin(0.8) ? p.KH : r.i(1, 4);
    p.sh = r.i(1, 2);
    p.sw = r.i(1, 2);
    p.dh = p.dw = r.coin(0.15) ? 2 : 1;
    p.H = r.i((p.KH - 1) * p.dh + 1, 10);
    p.W = r.i((p.KW - 1) * p.dw + 1, 10);
    p.pt = r.i(0, p.KH / 2 + 1);
    p.pl = r.i(0, p.KW / 2 + 1);
    const int64_t pb_ = r.i(0, p.KH / 2), pr = r.i(0, p.KW / 2);
    p.OH = (p.H + p.pt + pb_ - (p.KH - 1) * p.dh - 1) / p.sh + 1;
    p.OW = (p.W + p.pl + pr - (p.KW - 1) * p.dw - 1) / p.sw + 1;
    p.N = r.i(1, 2);
    if (r.coin(0.1)) {  // pointwise
      p.KH = p.KW = p.sh = p.sw = p.group = 1;
      p.pt = p.pl = 0;
      p.OH = p.H;
      p.OW = p.W;
    }
    const int64_t K = (p.C / p.group) * p.KH * p.KW;
    QConv16Quant q;
    q.x_type = random_in_type(r);
    q.out_type = random_out_type(r, q.x_type);
    q.x_zero_point = random_zp(r, q.x_type);
    q.requant = random_requant(r, p.M, typical_multiplier(q.x_type, q.out_type, K), q.out_type, schemes[it % 3]);
    const std::vector<uint8_t> x = random_code_bytes(r, q.x_type, q.x_zero_point, p.N * p.H * p.W * p.C);
    const std::vector<int8_t> w = random_weights(r, p.M * K, r.coin(), r.coin(0.15));
    std::vector<int64_t> bias(static_cast<size_t>(p.M));
    for (auto& b : bias) b = r.i(-3000000, 3000000);
    const int64_t* bp = r.coin(0.8) ? bias.data() : nullptr;
    const size_t ny = size_t(p.N * p.OH * p.OW * p.M) * dtype_size(q.out_type);
    std::vector<uint8_t> ref(ny), got(ny);
    qconv16_reference(p, q, x.data(), w.data(), bp, ref.data());
    for (QIsa isa : isas_here()) {
      const int threads = r.coin() ? 2 : 1;
      QConv16Nhwc conv(p, q, w.data(), bp, threads, isa);
      std::fill(got.begin(), got.end(), 0xCD);
      conv.run(x.data(), got.data());
      if (std::memcmp(ref.data(), got.data(), ny) != 0)
        FAIL("qconv16 ", qisa_name(isa), " != reference: C ", p.C, " M ", p.M, " group ", p.group,
             " K ", p.KH, "x", p.KW, " in ", dtype_name(q.x_type), " out ", dtype_name(q.out_type),
             " threads ", threads);
      cases++;
      elements += p.N * p.OH * p.OW * p.M;
    }
  }
  MESSAGE("qconv16: " << cases << " (case, path) pairs, " << elements << " outputs compared");
  CHECK(cases >= 1000);
}

TEST_CASE("w8a16 requantize_one64: equals the int32 definition for fp32, TFLite's int64 overload") {
  const ChannelMultiplier m = make_multiplier_from_real(RequantScheme::kFixedPoint, 0.3);
  // m16 = round(m0 / 2^16); v = (acc * m16 + 2^(t-1)) >> t, t = 15 - shift.
  const int32_t m16 = int32_t((int64_t(m.m0) + (1 << 15)) >> 16);
  const int64_t acc = 123456789;
  const int total = 15 - m.shift;
  const int64_t want = (acc * m16 + (int64_t(1) << (total - 1))) >> total;
  CHECK(scale_accumulator64(RequantScheme::kFixedPoint, acc, m) == want);
  CHECK(scale_accumulator64(RequantScheme::kFixedPointSingle, -acc, m) ==
        ((-acc * m16 + (int64_t(1) << (total - 1))) >> total));
  const ChannelMultiplier f = make_multiplier_from_real(RequantScheme::kFp32, 0.013);
  for (int32_t a : {0, 1, -77, 1000003, -16777215})
    CHECK(requantize_one64(RequantScheme::kFp32, a, f, 3, -128, 127) ==
          requantize_one(RequantScheme::kFp32, a, f, 3, -128, 127));
}

// ---- exact == int on the ops ------------------------------------------------------------------

namespace {

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

QuantParams act_params(float scale, int32_t zp, DType t) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  q.bitwidth = bits_of(t);
  return q;
}

const char* type_attr(DType t) {
  return t == DType::kU8 ? "u8" : t == DType::kI8 ? "i8" : t == DType::kU16 ? "u16" : "i16";
}

// Common parts: input tensor, weights, bias, output; the node gets its op-specific attributes.
Built finish(std::shared_ptr<Graph> g, Rng& r, Node n, DType in, const Dims& xdims,
             const Dims& wdims, int64_t channels, int64_t K, int index) {
  static const char* const schemes[] = {"fp32", "fixed-point", "fixed-point-single"};
  const int32_t xzp = random_zp(r, in);
  const float xs = r.f(0.0001f, 0.01f);
  TensorInfo xi;
  xi.name = "x";
  xi.dtype = in;
  xi.shape = Shape::of(xdims);
  xi.quant = act_params(xs, xzp, in);
  const TensorId xid = g->add_tensor(xi);
  g->inputs.push_back(xid);
  const bool small = r.coin(0.2);
  const std::vector<int8_t> w = random_weights(r, channels * K, r.coin(), small);
  QuantParams wq;
  const bool per_channel = r.coin(0.7);
  for (int64_t c = 0; c < (per_channel ? channels : 1); ++c) {
    wq.scale.push_back(r.f(0.001f, 0.02f));
    wq.zero_point.push_back(0);
  }
  wq.axis = per_channel ? 0 : -1;
  wq.bitwidth = small ? 4 : 8;
  wq.symmetric = true;
  n.attrs.set("requant", std::string(schemes[index % 3]));
  if (r.coin(0.3)) n.attrs.set("_act_min", 0.f);
  if (r.coin(0.2)) n.attrs.set("_act_max", r.f(0.5f, 6.f));
  const DType out = random_out_type(r, in);
  if (out != in) n.attrs.set("_out_type", std::string(type_attr(out)));
  n.inputs = {xid, add_constant(*g, "w", DType::kI8, wdims, w.data(), w.size(), wq)};
  if (r.coin(0.8)) {
    if (r.coin()) {
      std::vector<int64_t> b(static_cast<size_t>(channels));
      for (auto& v : b) v = r.i(-5000000, 5000000);
      n.inputs.push_back(add_constant(*g, "b", DType::kI64, {channels}, b.data(), b.size() * 8));
    } else {
      std::vector<int32_t> b(static_cast<size_t>(channels));
      for (auto& v : b) v = int32_t(r.i(-5000000, 5000000));
      n.inputs.push_back(add_constant(*g, "b", DType::kI32, {channels}, b.data(), b.size() * 4));
    }
  }
  // Output scale: codes spread over the output range.
  const double spread = std::sqrt(double(K)) * (bits_of(in) == 8 ? 60.0 : 15000.0) * 50.0;
  const float ys = float(double(xs) * wq.scale[0] * spread / (double(tmax(out) - tmin(out)) / 4.0) *
                         r.f(0.5f, 3.f));
  TensorInfo yi;
  yi.name = "y";
  yi.dtype = out;
  yi.quant = act_params(ys, random_zp(r, out), out);
  const TensorId yid = g->add_tensor(yi);
  g->outputs.push_back(yid);
  n.outputs = {yid};
  g->nodes.push_back(n);
  const std::vector<uint8_t> xb = random_code_bytes(r, in, xzp, checked_numel(xdims));
  HostTensor hin;
  hin.name = "x";
  hin.dtype = in;
  hin.dims = xdims;
  hin.bytes.assign(reinterpret_cast<const std::byte*>(xb.data()),
                   reinterpret_cast<const std::byte*>(xb.data()) + xb.size());
  return {g, hin};
}

Built build_qconv16(Rng& r, int index) {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  const DType in = random_in_type(r);
  int64_t group = 1, C, M;
  if (r.coin(0.25)) {
    C = M = group = r.i(1, 24);
  } else {
    group = r.coin(0.15) ? r.i(2, 3) : 1;
    C = group * r.i(1, r.coin(0.03) ? 160 : 12);
    M = group * r.i(1, 16);
  }
  const int64_t KH = r.i(1, 3), KW = r.coin(0.8) ? KH : r.i(1, 4);
  const int64_t sh = r.i(1, 2), sw = r.i(1, 2), d = r.coin(0.15) ? 2 : 1;
  const int64_t H = r.i((KH - 1) * d + 1, 10), W = r.i((KW - 1) * d + 1, 10);
  const int64_t pt = r.i(0, KH / 2 + 1), pl = r.i(0, KW / 2 + 1), pb = r.i(0, KH / 2), pr = r.i(0, KW / 2);
  Node n;
  n.name = "qconv";
  n.op_type = "octet.QConv";
  n.attrs.set("_layout", std::string("NHWC"));
  n.attrs.set("group", group);
  n.attrs.set("strides", std::vector<int64_t>{sh, sw});
  n.attrs.set("dilations", std::vector<int64_t>{d, d});
  n.attrs.set("pads", std::vector<int64_t>{pt, pl, pb, pr});
  const int64_t N = r.i(1, 2);
  return finish(g, r, n, in, {N, H, W, C}, {M, C / group, KH, KW}, M, (C / group) * KH * KW, index);
}

Built build_qlinear16(Rng& r, int index, bool gemm) {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  const DType in = random_in_type(r);
  const int64_t M = r.i(1, 30), N = r.i(1, 50);
  const int64_t K = r.coin(0.06) ? r.i(300, 1500) : r.i(1, 90);
  Dims a = {M, K};
  if (!gemm && r.coin(0.5)) a = {r.i(1, 3), M, K};
  Node n;
  n.name = "qlinear";
  n.op_type = gemm ? "octet.QGemm" : "octet.QMatMul";
  return finish(g, r, n, in, a, {N, K}, N, K, index);
}

struct Tally {
  int64_t cases = 0, elements = 0, float_path = 0, int_path = 0, split = 0;
};

void compare(const Built& b, int threads, Tally& tally) {
  SessionOptions io, eo;
  io.mode = ExecutionMode::kInt;
  eo.mode = ExecutionMode::kExact;
  io.threads = eo.threads = threads;
  Session si(b.graph, io), se(b.graph, eo);
  const std::string impl(se.kernel_choices()[0].impl), iimpl(si.kernel_choices()[0].impl);
  REQUIRE(iimpl.find("16") != std::string::npos);
  (impl.find("exact_f32") != std::string::npos ? tally.float_path : tally.int_path)++;
  if (impl.find("split") != std::string::npos) tally.split++;
  const std::vector<HostTensor> yi = si.run({b.input});
  const std::vector<HostTensor> ye = se.run({b.input});
  REQUIRE(yi[0].bytes.size() == ye[0].bytes.size());
  const bool equal = yi[0].bytes.empty() ||
                     std::memcmp(yi[0].bytes.data(), ye[0].bytes.data(), yi[0].bytes.size()) == 0;
  if (!equal) {
    const Node& n = b.graph->nodes[0];
    FAIL("int != exact for ", n.op_type, " requant ", n.attrs.get_string("requant", "?"),
         " (int impl ", iimpl, ", exact impl ", impl, ")");
  }
  tally.cases++;
  tally.elements += int64_t(yi[0].dims.empty() ? 1 : checked_numel(yi[0].dims));
}

}  // namespace

TEST_CASE("w8a16 exact vs int: QConv, QGemm, QMatMul with 16-bit codes give the same codes") {
  Rng r(16081);
  for (const char* op : {"octet.QConv", "octet.QGemm", "octet.QMatMul"}) {
    Tally t;
    const std::string name(op);
    for (int i = 0; i < 1020; ++i) {
      const Built b = name == "octet.QConv" ? build_qconv16(r, i) : build_qlinear16(r, i, name == "octet.QGemm");
      compare(b, (i % 4 == 0) ? 2 : 1, t);
    }
    MESSAGE(name << " (16-bit): " << t.cases << " cases, " << t.elements
                 << " output codes compared (" << t.float_path << " on the f32 path, "
                 << t.int_path << " on the int64 path; " << t.split << " of the f32 ones split)");
    CHECK(t.split > 0);
    CHECK(t.cases >= 1000);
    CHECK((t.int_path > 0 || name == "octet.QConv"));  // convs here stay under the split bound
    CHECK(t.float_path > 0);
  }
}

// ---- a whole network ------------------------------------------------------------------------

namespace {

std::string data_path(const std::string& name) { return octet::testing::test_data(name); }

using Run = octet::testing::MnistRun;
using octet::testing::bit_equal;

// The first 1000 test images.
Run evaluate(std::shared_ptr<const Graph> model, ExecutionMode mode, int threads,
             const std::string& target, LoweringReport* report = nullptr) {
  return octet::testing::run_mnist(std::move(model), mode, threads, target, report, 1000);
}

std::shared_ptr<Graph> calibrate_now(const std::string& file, int act_bw);
// Calibrated once per bit width (the network tests share it).
std::shared_ptr<Graph> calibrated(const std::string& file, int act_bw) {
  static std::map<std::pair<std::string, int>, std::shared_ptr<Graph>> cache;
  auto& g = cache[{file, act_bw}];
  if (!g) g = calibrate_now(file, act_bw);
  return g;
}
std::shared_ptr<Graph> calibrate_now(const std::string& file, int act_bw) {
  quant::QuantSimOptions qo;
  qo.param_bitwidth = 8;
  qo.act_bitwidth = act_bw;
  qo.per_channel = true;
  quant::QuantSim sim(load_model(data_path(file)), quant::QuantsimConfig::load_shipped("default_config"), qo);
  quant::CalibrationOptions co;
  co.batch_size = 50;
  co.threads = 2;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  return sim.annotated_model();
}

}  // namespace

TEST_CASE("w8a16 network: mnist_resnet with 16-bit activations, int == exact, integer Conv/Gemm") {
  auto m16 = calibrated("mnist_resnet.onnx", 16);
  auto m8 = calibrated("mnist_resnet.onnx", 8);
  const Run fl = evaluate(m16, ExecutionMode::kFloat, 2, "onnxruntime");
  LoweringReport report;
  const Run i16 = evaluate(m16, ExecutionMode::kInt, 2, "onnxruntime", &report);
  const Run e16 = evaluate(m16, ExecutionMode::kExact, 2, "onnxruntime");
  const Run i8 = evaluate(m8, ExecutionMode::kInt, 2, "onnxruntime");
  MESSAGE("mnist_resnet: float " << fl.percent() << "%, W8A8 int " << i8.percent() << "%, W8A16 int "
          << i16.percent() << "%, exact " << e16.percent() << "%; " << i16.logits.size()
          << " logits compared; " << report.integer_nodes << " integer nodes, "
          << report.float_nodes.size() << " float");
  for (const std::string& f : report.float_nodes) MESSAGE("  float: " << f);
  CHECK(bit_equal(i16.logits, e16.logits));
  int wide = 0, conv_gemm = 0;
  for (const KernelChoice& k : i16.kernels) {
    if (k.op_type == "Conv" || k.op_type == "Gemm" || k.op_type == "MatMul") conv_gemm++;
    if (k.op_type.starts_with("octet.Q") && k.impl.find("16") != std::string::npos) wide++;
  }
  CHECK(conv_gemm == 0);  // no float Conv / Gemm left
  CHECK(wide > 0);
  for (const std::string& f : report.float_nodes) {
    CHECK(f.find("(Conv)") == std::string::npos);
    CHECK(f.find("(Gemm)") == std::string::npos);
  }
  CHECK(std::abs(i16.percent() - fl.percent()) <= 0.3);
  CHECK(i16.percent() >= i8.percent() - 0.1);
}

TEST_CASE("w8a16 network: profiles without a 16-bit type or with int16 fall back with reasons") {
  auto m16 = calibrated("mnist_resnet.onnx", 16);
  for (const char* target : {"xnnpack", "tflite"}) {
    CAPTURE(target);
    LoweringReport report;
    const Run i = evaluate(m16, ExecutionMode::kInt, 2, target, &report);
    const Run e = evaluate(m16, ExecutionMode::kExact, 1, target);
    CHECK(bit_equal(i.logits, e.logits));
    // The default config's activations are asymmetric: int16 (TFLite 16x8) cannot carry them.
    bool named = false;
    for (const std::string& f : report.float_nodes)
      named = named || f.find(std::string(target) == "xnnpack" ? "no 16-bit activation type"
                                                               : "not symmetric") != std::string::npos;
    CHECK(named);
  }
}

TEST_CASE("w8a16 profile: activation_type_16 is validated") {
  const std::string base = R"({"name": "t", "activation_type": "int8", "weight_range": "narrow",
      "requantization": "fp32", "quantize_rounding": "half-even")";
  CHECK(parse_target_profile(base + "}", "p.json").activation_type_16 == DType::kUndefined);
  CHECK(parse_target_profile(base + R"(, "activation_type_16": "uint16"})", "p.json").activation_type_16 == DType::kU16);
  CHECK(parse_target_profile(base + R"(, "activation_type_16": "int16"})", "p.json").activation_type_16 == DType::kI16);
  CHECK_THROWS_WITH_AS(parse_target_profile(base + R"(, "activation_type_16": "int12"})", "p.json"),
                       doctest::Contains("p.json: activation_type_16"), Error);
  CHECK_THROWS_WITH_AS(parse_target_profile(base + R"(, "activation_type_16": 16})", "p.json"),
                       doctest::Contains("p.json: 'activation_type_16'"), Error);
  CHECK(load_target_profile("onnxruntime").activation_type_16 == DType::kU16);
  CHECK(load_target_profile("tflite").activation_type_16 == DType::kI16);
  CHECK(load_target_profile("xnnpack").activation_type_16 == DType::kUndefined);
}

TEST_CASE("w16a8: a fallback reason speaks of the 16-bit weights, not of 16-bit activations") {
  quant::QuantSimOptions qo;
  qo.param_bitwidth = 16;
  qo.act_bitwidth = 8;
  quant::QuantSim sim(load_model(data_path("mnist_resnet.onnx")), quant::QuantsimConfig::load_shipped("default_config"), qo);
  quant::CalibrationOptions co;
  co.batch_size = 20;
  sim.calibrate(slice_rows(load_npy(data_path("mnist_calib_images.npy")), 0, 20), co);
  const CompiledGraph c = quant::compile_integer_model(*sim.annotated_model(), "onnxruntime", 1);
  bool weights = false;
  for (const std::string& f : c.lowering->float_nodes) {
    CAPTURE(f);
    CHECK(f.find("16-bit activations") == std::string::npos);
    weights = weights || f.find("weights have 16 bits") != std::string::npos;
  }
  CHECK(weights);
}
