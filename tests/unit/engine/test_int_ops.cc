// Integer-graph ops (issue 4): octet.QAdd, QMul, Requantize, QLookup, QAveragePool,
// QGlobalAveragePool, QSoftmax, QResize; MaxPool / GlobalMaxPool and the movement ops on u8 / i8.
// Optimized (`int` mode) == reference (`exact` mode / reference kernels) bit for bit over random
// cases, 1 vs 2 threads, and hand-computed values that check the arithmetic itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "engine/op.h"
#include "kernels/qlookup.h"
#include "tests/support/op_test_util.h"

using namespace octet;

namespace {

// A tensor of a one-node integer graph: codes (one byte each for u8 / i8) or other data, with
// optional per-tensor quantization parameters.
struct QT {
  std::string name;
  DType dtype = DType::kU8;
  Dims dims;
  std::vector<uint8_t> bytes;  // raw bytes (codes for u8 / i8)
  float scale = 0.f;           // 0: no quantization parameters
  int32_t zp = 0;
  bool constant = false;
};

struct QCase {
  std::string op;
  Attributes attrs;
  std::vector<QT> inputs;  // an input with empty name is omitted
  QT output;               // dtype, scale, zp (dims and bytes unused)
  int64_t opset = 17;
};

struct QResult {
  Dims dims;
  std::vector<uint8_t> bytes;
  std::string impl;
};

// Runs the case through the op's schema: infer, prepare (mode, reference, threads), run.
QResult run_q(const QCase& c, ExecutionMode mode, bool reference, int threads) {
  Graph g;
  g.opset = c.opset;
  Node n;
  n.name = "node";
  n.op_type = c.op;
  n.attrs = c.attrs;
  auto quant_of = [](const QT& t) {
    QuantParams q;
    if (t.scale != 0.f) {
      q.scale = {t.scale};
      q.zero_point = {t.zp};
    }
    return q;
  };
  for (const QT& t : c.inputs) {
    if (t.name.empty()) {
      n.inputs.push_back(kNoTensor);
      continue;
    }
    TensorId id;
    if (t.constant) {
      id = g.add_constant(t.name, t.dtype, t.dims, Buffer::copy_of(t.bytes.data(), t.bytes.size()));
    } else {
      TensorInfo info;
      info.name = t.name;
      info.dtype = t.dtype;
      info.shape = Shape::of(t.dims);
      id = g.add_tensor(info);
      g.inputs.push_back(id);
    }
    g.tensor(id).quant = quant_of(t);
    n.inputs.push_back(id);
  }
  TensorInfo out;
  out.name = "y";
  out.dtype = c.output.dtype;
  out.quant = quant_of(c.output);
  n.outputs.push_back(g.add_tensor(out));
  g.outputs.push_back(n.outputs[0]);
  g.nodes.push_back(n);
  const Node& node = g.nodes[0];
  const OpSchema* schema = OpRegistry::instance().find(c.op);
  REQUIRE(schema);
  InferContext ictx(g, node, {&g.tensor(node.outputs[0])});
  schema->infer(ictx);
  PrepareContext pctx{g, node, threads, reference, mode};
  std::unique_ptr<Kernel> k = schema->prepare(pctx);
  std::vector<TensorRef> ins;
  std::vector<std::vector<uint8_t>> storage;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    TensorRef r;
    if (!c.inputs[i].name.empty()) {
      r.dtype = c.inputs[i].dtype;
      r.dims = c.inputs[i].dims;
      storage.push_back(c.inputs[i].bytes);
      storage.back().push_back(0);  // never empty
      r.data = storage.back().data();
    }
    ins.push_back(r);
  }
  const TensorInfo& yi = g.tensor(node.outputs[0]);
  QResult res;
  res.dims = yi.shape.concrete();
  res.bytes.assign(dtype_storage_bytes(yi.dtype, checked_numel(res.dims)) + 1, 0xcd);
  std::vector<TensorRef> outs(1);
  outs[0].dtype = yi.dtype;
  outs[0].dims = res.dims;
  outs[0].data = res.bytes.data();
  k->run(ins, outs);
  res.bytes.pop_back();
  res.impl = std::string(k->impl_name());
  return res;
}

// Reference (exact mode, or the reference flag) vs optimized (int mode) with 1 and 2 threads.
QResult check_opt_vs_ref(const QCase& c, int threads = 2) {
  const QResult ref = run_q(c, ExecutionMode::kExact, false, 1);
  const QResult ref2 = run_q(c, ExecutionMode::kInt, true, 1);
  const QResult opt1 = run_q(c, ExecutionMode::kInt, false, 1);
  const QResult optn = run_q(c, ExecutionMode::kInt, false, threads);
  REQUIRE(ref.dims == opt1.dims);
  CHECK(ref.bytes == ref2.bytes);
  if (ref.bytes != opt1.bytes) {
    size_t i = 0;
    while (ref.bytes[i] == opt1.bytes[i]) ++i;
    INFO(c.op << " " << opt1.impl << " first mismatch at " << i << ": ref " << int(ref.bytes[i])
              << " opt " << int(opt1.bytes[i]) << " dims " << dims_to_string(ref.dims));
    CHECK(ref.bytes == opt1.bytes);
  }
  CHECK(opt1.bytes == optn.bytes);
  return ref;
}

std::vector<uint8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng() & 0xff);
  return v;
}

DType random_q8(std::mt19937& rng) { return rng() % 2 ? DType::kU8 : DType::kI8; }

int32_t random_zp(DType t, std::mt19937& rng) {
  const int32_t z = int32_t(rng() % 256);
  return t == DType::kU8 ? z : z - 128;
}

float random_scale(std::mt19937& rng, float lo = 1e-3f, float hi = 1.f) {
  std::uniform_real_distribution<float> d(std::log(lo), std::log(hi));
  return std::exp(d(rng));
}

QT random_q(const std::string& name, const Dims& dims, std::mt19937& rng) {
  QT t;
  t.name = name;
  t.dtype = random_q8(rng);
  t.dims = dims;
  t.bytes = random_bytes(size_t(checked_numel(dims)), rng);
  t.scale = random_scale(rng);
  t.zp = random_zp(t.dtype, rng);
  return t;
}

QT q_of(const std::string& name, DType t, Dims dims, std::vector<int> codes, float scale, int32_t zp) {
  QT q;
  q.name = name;
  q.dtype = t;
  q.dims = std::move(dims);
  for (int c : codes) q.bytes.push_back(uint8_t(c));
  q.scale = scale;
  q.zp = zp;
  return q;
}

QT out_q(DType t, float scale, int32_t zp) {
  QT q;
  q.dtype = t;
  q.scale = scale;
  q.zp = zp;
  return q;
}

int code_at(const QResult& r, DType t, size_t i) {
  return t == DType::kU8 ? int(r.bytes[i]) : int(int8_t(r.bytes[i]));
}

const char* kSchemes[] = {"fp32", "fixed-point", "fixed-point-single"};

void random_act(Attributes& a, std::mt19937& rng) {
  switch (rng() % 4) {
    case 0: a.set("_act_min", 0.f); break;
    case 1: a.set("_act_min", 0.f); a.set("_act_max", 6.f); break;
    default: break;
  }
}

Dims random_dims(std::mt19937& rng, int rank, int64_t max_dim) {
  Dims d(static_cast<size_t>(rank));
  for (auto& x : d) x = 1 + int64_t(rng() % uint32_t(max_dim));
  return d;
}

// dims, with leading dims dropped and some dims set to 1 (broadcasts to `dims`).
Dims broadcast_from(const Dims& dims, std::mt19937& rng) {
  Dims d(dims.begin() + std::ptrdiff_t(rng() % (dims.size() + 1)), dims.end());
  for (auto& x : d)
    if (rng() % 3 == 0) x = 1;
  return d;
}

}  // namespace

// --- QAdd / QMul ---------------------------------------------------------------------

TEST_CASE("int ops: QAdd and QMul optimized == reference over random broadcasts, types, schemes") {
  std::mt19937 rng(11);
  int cases = 0;
  for (int iter = 0; iter < 2000; ++iter) {  // 1000 per op
    QCase c;
    c.op = iter % 2 ? "octet.QMul" : "octet.QAdd";
    const int rank = int(rng() % 5);
    const Dims y = random_dims(rng, rank, iter % 50 == 0 ? 40 : 6);
    c.inputs = {random_q("a", broadcast_from(y, rng), rng), random_q("b", broadcast_from(y, rng), rng)};
    if (rng() % 2) c.inputs[rng() % 2].dims = y;  // at least one full input, mostly
    for (QT& t : c.inputs) t.bytes = random_bytes(size_t(checked_numel(t.dims)), rng);
    const float smax = std::max(c.inputs[0].scale, c.inputs[1].scale);
    c.output = out_q(random_q8(rng), smax * random_scale(rng, 0.02f, 4.f), 0);
    if (iter % 2) c.output.scale = c.inputs[0].scale * c.inputs[1].scale * random_scale(rng, 0.02f, 4.f);
    c.output.zp = random_zp(c.output.dtype, rng);
    c.attrs.set("requant", std::string(kSchemes[rng() % 3]));
    random_act(c.attrs, rng);
    check_opt_vs_ref(c, 1 + int(rng() % 2));
    ++cases;
  }
  CHECK(cases == 2000);
}

TEST_CASE("int ops: QAdd / QMul large outputs, 1 vs 2 threads") {
  std::mt19937 rng(12);
  for (int iter = 0; iter < 6; ++iter) {
    QCase c;
    c.op = iter % 2 ? "octet.QMul" : "octet.QAdd";
    c.inputs = {random_q("a", {3, 160, 160}, rng), random_q("b", iter < 4 ? Dims{160, 1} : Dims{3, 160, 160}, rng)};
    c.output = out_q(random_q8(rng), 0.05f, 3);
    c.attrs.set("requant", std::string(kSchemes[iter % 3]));
    check_opt_vs_ref(c, 2);
    const std::string impl = run_q(c, ExecutionMode::kInt, false, 2).impl;
    CHECK(impl.find(iter % 3 == 0 ? "_hwy" : "_table") != std::string::npos);  // 76800 outputs
  }
}

TEST_CASE("int ops: QAdd and QMul hand-computed values") {
  // a: u8, scale 0.5, zp 128; b: i8, scale 0.25, zp 0; y: u8, scale 0.1, zp 10.
  // a = 130 -> 1.0, b = 8 -> 2.0; a + b = 3.0 -> 30 + 10 = 40; a * b = 2.0 -> 30.
  for (const char* scheme : kSchemes) {
    QCase c;
    c.op = "octet.QAdd";
    c.attrs.set("requant", std::string(scheme));
    c.inputs = {q_of("a", DType::kU8, {3}, {130, 100, 128}, 0.5f, 128),
                q_of("b", DType::kI8, {3}, {8, 0, -8}, 0.25f, 0)};
    c.output = out_q(DType::kU8, 0.1f, 10);
    QResult r = check_opt_vs_ref(c);
    CHECK(code_at(r, DType::kU8, 0) == 40);  // 3.0
    CHECK(code_at(r, DType::kU8, 1) == 0);   // -14.0 saturates to the u8 range
    CHECK(code_at(r, DType::kU8, 2) == 0);   // -2.0 -> -20 + 10 = -10 -> 0
    c.attrs.set("_act_min", 0.f);  // fused ReLU: the range starts at the zero point
    r = check_opt_vs_ref(c);
    CHECK(code_at(r, DType::kU8, 1) == 10);
    CHECK(code_at(r, DType::kU8, 2) == 10);
    c.op = "octet.QMul";
    c.attrs.erase("_act_min");
    r = check_opt_vs_ref(c);
    CHECK(code_at(r, DType::kU8, 0) == 30);  // 2.0
    CHECK(code_at(r, DType::kU8, 1) == 10);  // -14 * 0 = 0
    CHECK(code_at(r, DType::kU8, 2) == 10);  // 0 * -2
  }
  // Ties: sa = sb = 0.5, sy = 1 -> the add gives (a - za) / 2: 2.5 and 3.5, -2.5.
  // fp32 rounds half to even (2, 4, -2); TFLite's fixed point rounds the final shift half away
  // from zero (3, 4, -3); the single rounding of fixed-point-single is half up (3, 4, -2).
  for (const char* scheme : kSchemes) {
    QCase c;
    c.op = "octet.QAdd";
    c.attrs.set("requant", std::string(scheme));
    c.inputs = {q_of("a", DType::kI8, {3}, {5, 7, -5}, 0.5f, 0),
                q_of("b", DType::kI8, {1}, {0}, 0.5f, 0)};
    c.output = out_q(DType::kI8, 1.f, 0);
    const QResult r = check_opt_vs_ref(c);
    // fixed-point-single rounds once, half up: 3, 4, -2.
    const std::string s = scheme;
    CHECK(code_at(r, DType::kI8, 0) == (s == "fp32" ? 2 : 3));
    CHECK(code_at(r, DType::kI8, 1) == 4);
    CHECK(code_at(r, DType::kI8, 2) == (s == "fixed-point" ? -3 : -2));
  }
  // The fp32 formula against a float evaluation of it, with broadcasting (3x1 + 1x4).
  QCase c;
  c.op = "octet.QAdd";
  c.inputs = {q_of("a", DType::kU8, {3, 1}, {0, 77, 255}, 0.02f, 100),
              q_of("b", DType::kI8, {1, 4}, {-128, -3, 50, 127}, 0.035f, -7)};
  c.output = out_q(DType::kI8, 0.04f, 5);
  const QResult r = check_opt_vs_ref(c);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      const int a = c.inputs[0].bytes[i], b = int8_t(c.inputs[1].bytes[j]);
      float f = float(a - 100) * (0.02f / 0.04f) + float(b + 7) * (0.035f / 0.04f);
      f = std::min(std::max(f, -128.f - 5.f), 127.f - 5.f);
      CHECK(code_at(r, DType::kI8, size_t(i * 4 + j)) == int(std::nearbyint(f)) + 5);
    }
}

// --- Requantize / QLookup ----------------------------------------------------------------

TEST_CASE("int ops: Requantize and QLookup optimized == reference over random cases") {
  std::mt19937 rng(21);
  for (int iter = 0; iter < 2000; ++iter) {  // 1000 per op
    QCase c;
    const Dims d = random_dims(rng, 1 + int(rng() % 3), iter % 100 == 0 ? 300 : 20);
    QT x = random_q("x", d, rng);
    if (iter % 2 == 0) {
      c.op = "octet.Requantize";
      c.inputs = {x};
      c.output = out_q(random_q8(rng), x.scale * random_scale(rng, 0.05f, 8.f), 0);
      c.output.zp = random_zp(c.output.dtype, rng);
      c.attrs.set("requant", std::string(kSchemes[rng() % 3]));
      random_act(c.attrs, rng);
    } else {
      c.op = "octet.QLookup";
      QT table;
      table.name = "table";
      table.dtype = random_q8(rng);
      table.dims = {256};
      table.bytes = random_bytes(256, rng);
      table.constant = true;
      x.scale = 0.f;  // QLookup needs no encodings
      c.inputs = {x, table};
      c.output = out_q(table.dtype, 0.f, 0);
    }
    check_opt_vs_ref(c, 1 + int(rng() % 2));
  }
  // Large: several OpenMP blocks.
  QCase c;
  c.op = "octet.Requantize";
  c.inputs = {random_q("x", {200000}, rng)};
  c.output = out_q(DType::kI8, 0.3f, -4);
  check_opt_vs_ref(c);
}

TEST_CASE("int ops: the QLookup kernel equals its reference at every tail length and block edge") {
  MESSAGE("qlookup path here: " << std::string(kernels::qlookup_vectorized() ? "AVX-512 VBMI" : "scalar"));
  std::mt19937 rng(5);
  const std::vector<uint8_t> table = random_bytes(256, rng);
  std::vector<int64_t> sizes;
  for (int64_t n = 0; n <= 200; ++n) sizes.push_back(n);
  for (int64_t n : {65535, 65536, 65537, 3 * 65536 + 63}) sizes.push_back(n);
  for (DType type : {DType::kU8, DType::kI8})
    for (int64_t n : sizes) {
      const std::vector<uint8_t> x = random_bytes(size_t(n) + 1, rng);  // + 1: never empty
      std::vector<uint8_t> want(size_t(n) + 1, 0xAB);
      kernels::qlookup_reference(x.data(), type, table.data(), want.data(), n);
      CAPTURE(n);
      for (bool vectorized : {false, kernels::qlookup_vectorized()}) {
        std::vector<uint8_t> got(size_t(n) + 1, 0xAB);
        kernels::qlookup(x.data(), type, table.data(), got.data(), n, 2, vectorized);
        REQUIRE(got == want);  // the byte after the last one untouched too
      }
    }
}

TEST_CASE("int ops: Requantize and QLookup hand-computed values") {
  for (const char* scheme : kSchemes) {
    // u8 (0.5, 128) -> i8 (0.25, 0): 130 -> 1.0 -> 4; 0 -> -64 -> -128 clamps; 255 -> 63.5 -> 127.
    // 129 -> 0.5 -> 2. Tie: x = 128 + 1 with sy = 1.0 gives 0.5: fp32 -> 0, fixed point -> 1.
    QCase c;
    c.op = "octet.Requantize";
    c.attrs.set("requant", std::string(scheme));
    c.inputs = {q_of("x", DType::kU8, {4}, {130, 0, 255, 129}, 0.5f, 128)};
    c.output = out_q(DType::kI8, 0.25f, 0);
    QResult r = check_opt_vs_ref(c);
    CHECK(code_at(r, DType::kI8, 0) == 4);
    CHECK(code_at(r, DType::kI8, 1) == -128);
    CHECK(code_at(r, DType::kI8, 2) == 127);
    CHECK(code_at(r, DType::kI8, 3) == 2);
    c.output = out_q(DType::kU8, 1.f, 0);
    r = check_opt_vs_ref(c);
    CHECK(code_at(r, DType::kU8, 3) == (std::string(scheme) == "fp32" ? 0 : 1));
  }
  // QLookup: an i8 input indexes entry q + 128, a u8 input entry q.
  std::vector<int> table(256);
  for (int i = 0; i < 256; ++i) table[size_t(i)] = 255 - i;
  QT t = q_of("table", DType::kU8, {256}, table, 0.f, 0);
  t.constant = true;
  QCase c;
  c.op = "octet.QLookup";
  c.inputs = {q_of("x", DType::kI8, {3}, {-128, 0, 127}, 0.f, 0), t};
  c.output = out_q(DType::kU8, 0.f, 0);
  QResult r = check_opt_vs_ref(c);
  CHECK(std::vector<uint8_t>(r.bytes) == std::vector<uint8_t>{255, 127, 0});
  c.inputs[0].dtype = DType::kU8;  // bytes 128, 0, 127
  r = check_opt_vs_ref(c);
  CHECK(std::vector<uint8_t>(r.bytes) == std::vector<uint8_t>{127, 255, 128});
}

// --- pools --------------------------------------------------------------------------------

namespace {

Attributes random_pool_attrs(std::mt19937& rng, size_t rank, const Dims& spatial) {
  Attributes a;
  std::vector<int64_t> k(rank), s(rank), d(rank), pads(2 * rank);
  for (size_t i = 0; i < rank; ++i) {
    k[i] = 1 + int64_t(rng() % 3);
    s[i] = 1 + int64_t(rng() % 2);
    d[i] = rng() % 5 == 0 ? 2 : 1;
    const int64_t ek = (k[i] - 1) * d[i] + 1;
    if (ek > spatial[i]) k[i] = d[i] = 1;
    pads[i] = int64_t(rng() % uint32_t((k[i] - 1) * d[i] + 1));
    pads[i + rank] = int64_t(rng() % uint32_t((k[i] - 1) * d[i] + 1));
  }
  a.set("kernel_shape", k);
  a.set("strides", s);
  a.set("dilations", d);
  a.set("pads", pads);
  if (rng() % 2) a.set("count_include_pad", int64_t(1));
  if (rng() % 4 == 0) a.set("ceil_mode", int64_t(1));
  return a;
}

}  // namespace

TEST_CASE("int ops: QAveragePool and MaxPool (u8/i8) optimized == reference over random cases") {
  std::mt19937 rng(31);
  for (int iter = 0; iter < 2000; ++iter) {  // 1000 per op
    const bool nhwc = rng() % 3 == 0;
    const size_t rank = nhwc ? 2 : 1 + rng() % 3;
    Dims x{1 + int64_t(rng() % 2), 1 + int64_t(rng() % 5)};
    Dims spatial = random_dims(rng, int(rank), rank == 3 ? 5 : 9);
    x.insert(x.end(), spatial.begin(), spatial.end());
    QCase c;
    c.op = iter % 2 == 0 ? "MaxPool" : "octet.QAveragePool";
    c.opset = 19;
    c.attrs = random_pool_attrs(rng, rank, spatial);
    if (nhwc) {
      c.attrs.set("_layout", std::string("NHWC"));
      x = {x[0], x[2], x[3], x[1]};
    }
    c.inputs = {random_q("x", x, rng)};
    if (c.op == "MaxPool") {
      c.attrs.erase("count_include_pad");
      c.inputs[0].scale = 0.f;
      c.output = out_q(c.inputs[0].dtype, 0.f, 0);
    } else {
      c.output = out_q(random_q8(rng), c.inputs[0].scale * random_scale(rng, 0.3f, 3.f), 0);
      c.output.zp = random_zp(c.output.dtype, rng);
      c.attrs.set("requant", std::string(kSchemes[rng() % 3]));
      random_act(c.attrs, rng);
    }
    check_opt_vs_ref(c, 1 + int(rng() % 2));
  }
}

TEST_CASE("int ops: QGlobalAveragePool and GlobalMaxPool optimized == reference over random cases") {
  std::mt19937 rng(32);
  for (int iter = 0; iter < 2000; ++iter) {  // 1000 per op
    const bool nhwc = rng() % 2 == 0;
    Dims x{1 + int64_t(rng() % 2), 1 + int64_t(rng() % (iter % 50 == 0 ? 300 : 6))};
    const size_t rank = 1 + rng() % 2;
    Dims spatial = random_dims(rng, int(rank), 7);
    x.insert(x.end(), spatial.begin(), spatial.end());
    QCase c;
    c.op = iter % 2 == 0 ? "GlobalMaxPool" : "octet.QGlobalAveragePool";
    if (nhwc) {
      c.attrs.set("_layout", std::string("NHWC"));
      std::rotate(x.begin() + 1, x.begin() + 2, x.end());
    }
    c.inputs = {random_q("x", x, rng)};
    if (c.op == "GlobalMaxPool") {
      c.inputs[0].scale = 0.f;
      c.output = out_q(c.inputs[0].dtype, 0.f, 0);
    } else {
      c.output = out_q(random_q8(rng), c.inputs[0].scale * random_scale(rng, 0.3f, 3.f), 0);
      c.output.zp = random_zp(c.output.dtype, rng);
      c.attrs.set("requant", std::string(kSchemes[rng() % 3]));
      random_act(c.attrs, rng);
    }
    check_opt_vs_ref(c, 1 + int(rng() % 2));
  }
}

TEST_CASE("int ops: pools hand-computed values") {
  // 2x2 input codes (u8, scale 0.1, zp 10): 10 20 / 30 41 -> reals 0, 1, 2, 3.1.
  for (const char* scheme : kSchemes) {
    QCase c;
    c.op = "octet.QAveragePool";
    c.attrs.set("requant", std::string(scheme));
    c.attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
    c.inputs = {q_of("x", DType::kU8, {1, 1, 2, 2}, {10, 20, 30, 41}, 0.1f, 10)};
    c.output = out_q(DType::kI8, 0.05f, -3);  // mean 1.525 -> 30.5 -> 30 (even) or 31, - 3
    QResult r = check_opt_vs_ref(c);
    REQUIRE(r.dims == Dims{1, 1, 1, 1});
    CHECK(code_at(r, DType::kI8, 0) == (std::string(scheme) == "fp32" ? 27 : 28));
    // pads 1 and count_include_pad: the corner window holds one value: 0 / 4 or 0 / 1.
    c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    c.inputs[0].bytes = {50, 10, 10, 10};  // reals 4, 0, 0, 0
    r = check_opt_vs_ref(c);
    REQUIRE(r.dims == Dims{1, 1, 3, 3});
    CHECK(code_at(r, DType::kI8, 0) == 80 - 3);  // 4 / 1 = 4.0 -> 80
    CHECK(code_at(r, DType::kI8, 4) == 20 - 3);  // 4 / 4 = 1.0 -> 20
    c.attrs.set("count_include_pad", int64_t(1));
    r = check_opt_vs_ref(c);
    CHECK(code_at(r, DType::kI8, 0) == 20 - 3);  // 4 / 4 = 1.0
    // The global average: (4 + 0 + 0 + 0) / 4 = 1.0 -> 20.
    QCase g;
    g.op = "octet.QGlobalAveragePool";
    g.attrs.set("requant", std::string(scheme));
    g.inputs = c.inputs;
    g.output = c.output;
    r = check_opt_vs_ref(g);
    REQUIRE(r.dims == Dims{1, 1, 1, 1});
    CHECK(code_at(r, DType::kI8, 0) == 17);
  }
  // MaxPool on i8 with padding: all values negative, the padding (0) never wins.
  QCase m;
  m.op = "MaxPool";
  m.attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  m.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  m.inputs = {q_of("x", DType::kI8, {1, 1, 2, 2}, {-100, -50, -20, -128}, 0.f, 0)};
  m.output = out_q(DType::kI8, 0.f, 0);
  QResult r = check_opt_vs_ref(m);
  for (int i = 0; i < 4; ++i) CHECK(code_at(r, DType::kI8, size_t(i)) == -20);
  m.op = "GlobalMaxPool";
  m.attrs = Attributes{};
  r = check_opt_vs_ref(m);
  CHECK(code_at(r, DType::kI8, 0) == -20);
  m.inputs[0].dtype = DType::kU8;  // bytes 156, 206, 236, 128
  r = check_opt_vs_ref(m);
  CHECK(code_at(r, DType::kU8, 0) == 236);
}

// --- QSoftmax ----------------------------------------------------------------------------

TEST_CASE("int ops: QSoftmax optimized == reference over random cases, and with the exp table") {
  std::mt19937 rng(41);
  for (int iter = 0; iter < 1000; ++iter) {
    QCase c;
    c.op = "octet.QSoftmax";
    const int rank = 1 + int(rng() % 3);
    const Dims d = random_dims(rng, rank, 12);
    c.attrs.set("axis", int64_t(rng() % uint32_t(rank)) - (rng() % 2 ? rank : 0));
    c.inputs = {random_q("x", d, rng)};
    c.inputs[0].scale = random_scale(rng, 1e-3f, 0.5f);
    c.output = out_q(random_q8(rng), 1.f / 256.f, 0);
    if (c.output.dtype == DType::kI8) c.output.zp = -128;
    if (rng() % 4 == 0) c.output.scale = random_scale(rng, 1e-3f, 0.1f);
    check_opt_vs_ref(c, 1 + int(rng() % 2));
  }
  for (int iter = 0; iter < 4; ++iter) {  // >= 2^18 elements: the optimized kernel's exp table
    QCase c;
    c.op = "octet.QSoftmax";
    c.attrs.set("axis", int64_t(iter % 2 ? 1 : -1));
    c.inputs = {random_q("x", {64, 64, 64}, rng)};
    c.inputs[0].scale = random_scale(rng, 1e-2f, 0.2f);
    c.output = out_q(iter % 2 ? DType::kU8 : DType::kI8, 1.f / 256.f, iter % 2 ? 0 : -128);
    check_opt_vs_ref(c, 2);
    CHECK(run_q(c, ExecutionMode::kInt, false, 1).impl == "qsoftmax_omp_table");
  }
}

TEST_CASE("int ops: QSoftmax hand-computed values") {
  // Equal inputs: 1/4 each -> 64 (u8, scale 1/256). Codes 0 and 255 with scale 0.1:
  // softmax(-12.8, 12.7) = (e^-25.5 / (1 + e^-25.5), ...) -> 0 and 256 -> clamps to 255.
  QCase c;
  c.op = "octet.QSoftmax";
  c.inputs = {q_of("x", DType::kU8, {2, 4}, {7, 7, 7, 7, 0, 255, 128, 128}, 0.1f, 128)};
  c.output = out_q(DType::kU8, 1.f / 256.f, 0);
  QResult r = check_opt_vs_ref(c);
  for (int i = 0; i < 4; ++i) CHECK(code_at(r, DType::kU8, size_t(i)) == 64);
  // Second row: reals -12.8, 12.7, 0, 0.
  const double e[4] = {std::exp(-12.8 - 12.7), 1.0, std::exp(-12.7), std::exp(-12.7)};
  const double sum = e[0] + e[1] + e[2] + e[3];
  for (int i = 0; i < 4; ++i)
    CHECK(code_at(r, DType::kU8, size_t(4 + i)) ==
          std::min(255, int(std::nearbyint(e[i] / sum * 256.0))));
}

// --- QResize -----------------------------------------------------------------------------

TEST_CASE("int ops: QResize optimized == reference over random cases") {
  std::mt19937 rng(51);
  const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                          "tf_half_pixel_for_nn", "half_pixel_symmetric", "tf_crop_and_resize"};
  const char* nearest_modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  for (int iter = 0; iter < 1000; ++iter) {
    const bool nhwc = rng() % 3 == 0;
    const int rank = nhwc ? 4 : 1 + int(rng() % 4);
    Dims x = random_dims(rng, rank, rank >= 3 ? 5 : 9);
    QCase c;
    c.op = "octet.QResize";
    c.opset = 19;
    QT xq = random_q("x", x, rng);
    const std::string coord = coords[rng() % 7];
    c.attrs.set("mode", std::string(rng() % 2 ? "linear" : "nearest"));
    c.attrs.set("coordinate_transformation_mode", coord);
    c.attrs.set("nearest_mode", std::string(nearest_modes[rng() % 4]));
    if (nhwc) c.attrs.set("_layout", std::string("NHWC"));
    // scales in ONNX (NCHW) order; spatial axes resized, batch / channels mostly kept.
    std::vector<float> scales(size_t(rank), 1.f);
    const float choices[] = {0.5f, 0.75f, 1.f, 1.5f, 2.f, 3.f};
    for (int a = 0; a < rank; ++a)
      if (rank <= 2 || a >= 2 || rng() % 4 == 0) scales[size_t(a)] = choices[rng() % 6];
    QT roi;
    if (coord == "tf_crop_and_resize") {
      std::vector<float> r(2 * size_t(rank));
      for (int a = 0; a < rank; ++a) {
        r[size_t(a)] = float(rng() % 5) * 0.1f - 0.1f;
        r[size_t(a + rank)] = 0.8f + float(rng() % 5) * 0.1f;
      }
      roi = q_of("roi", DType::kF32, {2 * int64_t(rank)}, {}, 0.f, 0);
      roi.bytes.resize(r.size() * 4);
      std::memcpy(roi.bytes.data(), r.data(), roi.bytes.size());
      roi.constant = true;
      c.attrs.set("extrapolation_value", float(rng() % 10) * 0.1f);
    }
    QT sc = q_of("scales", DType::kF32, {int64_t(rank)}, {}, 0.f, 0);
    sc.bytes.resize(scales.size() * 4);
    std::memcpy(sc.bytes.data(), scales.data(), sc.bytes.size());
    sc.constant = true;
    c.inputs = {xq, roi, sc};
    c.output = out_q(xq.dtype, xq.scale, xq.zp);
    check_opt_vs_ref(c, 1 + int(rng() % 2));
  }
}

TEST_CASE("int ops: QResize hand-computed values") {
  // Linear 1-D, align_corners, 2 -> 5 over codes 0 and 10: 0, 2.5, 5, 7.5, 10 -> 0 2 5 8 10
  // (half to even).
  QCase c;
  c.op = "octet.QResize";
  c.opset = 13;
  c.attrs.set("mode", std::string("linear"));
  c.attrs.set("coordinate_transformation_mode", std::string("align_corners"));
  QT sizes = q_of("sizes", DType::kI64, {1}, {}, 0.f, 0);
  const int64_t five = 5;
  sizes.bytes.resize(8);
  std::memcpy(sizes.bytes.data(), &five, 8);
  sizes.constant = true;
  c.inputs = {q_of("x", DType::kU8, {2}, {0, 10}, 0.5f, 3), QT{}, QT{}, sizes};
  c.output = out_q(DType::kU8, 0.5f, 3);
  QResult r = check_opt_vs_ref(c);
  CHECK(r.bytes == std::vector<uint8_t>{0, 2, 5, 8, 10});
  // Nearest (asymmetric, floor) 2 -> 4 copies codes.
  c.attrs.set("mode", std::string("nearest"));
  c.attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
  c.attrs.set("nearest_mode", std::string("floor"));
  const int64_t four = 4;
  std::memcpy(c.inputs[3].bytes.data(), &four, 8);
  c.inputs[0].dtype = DType::kI8;
  c.inputs[0].bytes = {uint8_t(-7), 100};
  c.output.dtype = DType::kI8;
  r = check_opt_vs_ref(c);
  CHECK(r.bytes == std::vector<uint8_t>{uint8_t(-7), uint8_t(-7), 100, 100});
  // Bilinear 2x2 -> 3x3 (align_corners): the center is the mean of 4 codes 0, 10, 20, 31 = 15.25.
  c.attrs.set("mode", std::string("linear"));
  c.attrs.set("coordinate_transformation_mode", std::string("align_corners"));
  c.inputs[0] = q_of("x", DType::kU8, {1, 1, 2, 2}, {0, 10, 20, 31}, 0.5f, 3);
  c.output.dtype = DType::kU8;
  std::vector<int64_t> s4{1, 1, 3, 3};
  c.inputs[3].dims = {4};
  c.inputs[3].bytes.resize(32);
  std::memcpy(c.inputs[3].bytes.data(), s4.data(), 32);
  r = check_opt_vs_ref(c);
  REQUIRE(r.dims == Dims{1, 1, 3, 3});
  CHECK(r.bytes == std::vector<uint8_t>{0, 5, 10, 10, 15, 20, 20, 26, 31});
}

// --- movement ops on u8 / i8 -----------------------------------------------------------

namespace {

// Runs the op on the 8-bit data and on the same codes as f32: the results must agree.
void check_movement_int(test::OpCase c) {
  for (DType t : {DType::kU8, DType::kI8}) {
    test::OpCase ci = c, cf = c;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      const HostTensor& h = c.inputs[i];
      if (h.dtype != DType::kF32 || (i > 0 && c.op != "Concat")) continue;  // data inputs only
      if (c.op == "Pad" && i == 2) continue;
      std::vector<float> codes(h.values<float>().begin(), h.values<float>().end());
      HostTensor q;
      q.name = h.name;
      q.dtype = t;
      q.dims = h.dims;
      for (float v : codes) q.bytes.push_back(std::byte(uint8_t(t == DType::kI8 ? int8_t(uint8_t(v)) : uint8_t(v))));
      ci.inputs[i] = q;
      std::vector<float> back;
      for (float v : codes) back.push_back(t == DType::kI8 ? float(int8_t(uint8_t(v))) : float(uint8_t(v)));
      cf.inputs[i] = HostTensor::from<float>(h.name, h.dims, back);
    }
    if (c.op == "Pad" && c.inputs.size() > 2) {  // the constant: the zero point code
      const float v = c.inputs[2].values<float>()[0];
      HostTensor q;
      q.name = c.inputs[2].name;
      q.dtype = t;
      q.dims = c.inputs[2].dims;
      q.bytes = {std::byte(uint8_t(t == DType::kI8 ? int8_t(uint8_t(v)) : uint8_t(v)))};
      ci.inputs[2] = q;
      cf.inputs[2] = HostTensor::from<float>(q.name, q.dims,
                                             {t == DType::kI8 ? float(int8_t(uint8_t(v))) : float(uint8_t(v))});
    }
    for (bool ref : {true, false}) {
      INFO(c.op << " " << dtype_name(t) << (ref ? " reference" : " optimized"));
      const auto yi = test::run_op(ci, ref, 2);
      const auto yf = test::run_op(cf, true);
      REQUIRE(yi.size() == yf.size());
      for (size_t o = 0; o < yi.size(); ++o) {
        CHECK(yi[o].dtype == t);
        REQUIRE(yi[o].dims == yf[o].dims);
        std::vector<float> got;
        for (std::byte b : yi[o].bytes)
          got.push_back(t == DType::kI8 ? float(int8_t(uint8_t(b))) : float(uint8_t(b)));
        CHECK(got == std::vector<float>(yf[o].values<float>().begin(), yf[o].values<float>().end()));
      }
    }
  }
}

HostTensor codes_f(const std::string& name, Dims dims, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(size_t(checked_numel(dims)));
  for (float& x : v) x = float(rng() % 256);
  return HostTensor::from<float>(name, dims, v);
}

HostTensor i64s(const std::string& name, std::vector<int64_t> v) {
  return HostTensor::from<int64_t>(name, {int64_t(v.size())}, v);
}

}  // namespace

TEST_CASE("int ops: movement ops accept u8 and i8 data unchanged") {
  using test::OpCase;
  Attributes axis1;
  axis1.set("axis", int64_t(1));
  check_movement_int(OpCase{.op = "Concat", .attrs = axis1,
                            .inputs = {codes_f("a", {2, 3, 4}, 1), codes_f("b", {2, 2, 4}, 2)}});
  check_movement_int(OpCase{.op = "Reshape", .inputs = {codes_f("x", {2, 3, 4}, 3), i64s("s", {4, -1})},
                            .constant = {false, true}});
  check_movement_int(OpCase{.op = "Flatten", .attrs = axis1, .inputs = {codes_f("x", {2, 3, 4}, 4)}});
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{2, 0, 1});
  check_movement_int(OpCase{.op = "Transpose", .attrs = perm, .inputs = {codes_f("x", {2, 3, 5}, 5)}});
  check_movement_int(OpCase{.op = "Slice",
                            .inputs = {codes_f("x", {4, 6}, 6), i64s("st", {1, 5}), i64s("en", {3, 0}),
                                       i64s("ax", {0, 1}), i64s("sp", {1, -2})},
                            .constant = {false, true, true, true, true}});
  check_movement_int(OpCase{.op = "Squeeze", .inputs = {codes_f("x", {2, 1, 3}, 7), i64s("ax", {1})},
                            .constant = {false, true}});
  check_movement_int(OpCase{.op = "Unsqueeze", .inputs = {codes_f("x", {2, 3}, 8), i64s("ax", {0, 3})},
                            .constant = {false, true}});
  check_movement_int(OpCase{.op = "Pad",
                            .inputs = {codes_f("x", {2, 3}, 9), i64s("p", {1, 0, 0, 2}),
                                       HostTensor::from<float>("v", {}, {200.f})},
                            .constant = {false, true, true}});
  check_movement_int(OpCase{.op = "Gather", .attrs = axis1,
                            .inputs = {codes_f("x", {3, 5}, 10), i64s("i", {4, 0, -1, 2})},
                            .constant = {false, true}});
  check_movement_int(OpCase{.op = "Split", .attrs = axis1,
                            .inputs = {codes_f("x", {2, 5}, 11), i64s("sp", {2, 3})},
                            .constant = {false, true}, .num_outputs = 2});
}

// --- errors ------------------------------------------------------------------------------

TEST_CASE("int ops: missing or invalid quantization parameters and attributes fail naming them") {
  auto fails_with = [](const QCase& c, const std::string& what) {
    try {
      run_q(c, ExecutionMode::kInt, false, 1);
    } catch (const Error& e) {
      INFO(std::string(e.what()));
      CHECK(std::string(e.what()).find(what) != std::string::npos);
      return;
    }
    FAIL("no error for " << what);
  };
  QCase c;
  c.op = "octet.QAdd";
  c.inputs = {q_of("a", DType::kU8, {2}, {1, 2}, 0.5f, 3), q_of("bee", DType::kU8, {2}, {1, 2}, 0.f, 0)};
  c.output = out_q(DType::kU8, 0.1f, 0);
  fails_with(c, "'bee' has no quantization parameters");
  c.inputs[1].scale = -1.f;
  fails_with(c, "'bee' has scale -1");
  c.inputs[1].scale = 1.f;
  c.inputs[1].zp = 300;
  fails_with(c, "'bee' has zero point 300");
  c.inputs[1].zp = 0;
  c.output.scale = 0.f;
  fails_with(c, "output 'y' has no quantization parameters");
  c.output.scale = 0.1f;
  c.attrs.set("requant", std::string("fancy"));
  fails_with(c, "requant must be");
  c.attrs = Attributes{};
  c.attrs.set("_act_min", 5.f);
  c.attrs.set("_act_max", 1.f);
  fails_with(c, "_act_min/_act_max");
  c.attrs = Attributes{};
  c.inputs[1].dims = {3};
  c.inputs[1].bytes = {1, 2, 3};
  fails_with(c, "do not broadcast");

  QCase l;
  l.op = "octet.QLookup";
  QT t = q_of("tab", DType::kU8, {255}, std::vector<int>(255, 0), 0.f, 0);
  t.constant = true;
  l.inputs = {q_of("x", DType::kU8, {2}, {1, 2}, 0.f, 0), t};
  l.output = out_q(DType::kU8, 0.f, 0);
  fails_with(l, "must hold 256 codes");

  QCase r;
  r.op = "octet.QResize";
  QT sc = q_of("scales", DType::kF32, {1}, {}, 0.f, 0);
  const float two = 2.f;
  sc.bytes.resize(4);
  std::memcpy(sc.bytes.data(), &two, 4);
  sc.constant = true;
  r.inputs = {q_of("x", DType::kU8, {2}, {1, 2}, 0.5f, 3), QT{}, sc};
  r.output = out_q(DType::kU8, 0.25f, 3);
  fails_with(r, "must share one encoding");

  QCase p;
  p.op = "octet.QAveragePool";
  p.attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  p.inputs = {q_of("x", DType::kF32, {1, 1, 2, 2}, {}, 0.5f, 0)};
  p.inputs[0].bytes.resize(16);
  p.output = out_q(DType::kU8, 0.25f, 3);
  fails_with(p, "'x' must hold u8 or i8 codes");
}
