// Integer convolution with per-block int4 weights (kernels/qconv_blockwise.h): the optimized
// kernel on every path this CPU has, at 1 and 2 threads, against the reference bit for bit;
// `int` == `exact` for octet.QConv with per-block weights; the MNIST fixtures quantized with
// block size 32 run their convolutions on the blockwise kernel.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/support/test_rng.h"
#include "tests/support/mnist_eval_util.h"
#include "engine/session.h"
#include "kernels/qconv_blockwise.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/quantsim.h"
#include "tests/support/test_paths.h"

using namespace octet;
using namespace octet::kernels;

namespace {

using octet::testing::Rng;

// A random convolution whose C/group is a multiple of the block (a few channels per block
// count: keep the reference loops cheap).
struct Case {
  ConvParams p;
  int64_t block = 32;
};

bool random_geometry(Rng& r, Case& c) {
  ConvParams& p = c.p;
  const int64_t blocks[] = {32, 64, 128};
  c.block = blocks[r.coin(0.6) ? 0 : r.i(1, 2)];
  const int kind = int(r.i(0, 3));  // pointwise, general, grouped, 1-D
  p.N = r.i(1, 2);
  p.group = kind == 2 ? r.i(2, 3) : 1;
  const int64_t Cg = c.block * (c.block == 32 ? r.i(1, 3) : 1);
  p.C = p.group * Cg;
  p.M = p.group * r.i(1, r.coin(0.2) ? 40 : 12);
  int64_t pb = 0, pr = 0;
  if (kind == 0) {
    p.H = r.i(1, 7);
    p.W = r.i(1, 9);
  } else {
    p.KH = kind == 3 ? 1 : r.i(1, 3);
    p.KW = r.coin(0.7) && kind != 3 ? p.KH : r.i(1, 3);
    p.H = kind == 3 ? 1 : r.i(1, 7);
    p.W = r.i(1, 8);
    p.sh = kind == 3 ? 1 : r.i(1, 2);
    p.sw = r.i(1, 2);
    p.dh = kind == 3 ? 1 : (r.coin(0.2) ? 2 : 1);
    p.dw = r.coin(0.2) ? 2 : 1;
    p.pt = kind == 3 ? 0 : r.i(0, 2);
    p.pl = r.i(0, 2);
    pb = kind == 3 ? 0 : r.i(0, 2);
    pr = r.i(0, 2);
  }
  const int64_t eh = (p.KH - 1) * p.dh + 1, ew = (p.KW - 1) * p.dw + 1;
  if (p.H + p.pt + pb < eh || p.W + p.pl + pr < ew) return false;
  p.OH = (p.H + p.pt + pb - eh) / p.sh + 1;
  p.OW = (p.W + p.pl + pr - ew) / p.sw + 1;
  return true;
}

struct Stats {
  int64_t cases = 0, pointwise = 0, im2col = 0, grouped = 0, elements = 0, inside = 0, ref_elements = 0;
  int64_t by_block[3] = {0, 0, 0};
};

void run_kernel_case(Rng& r, Stats& st) {
  Case c;
  while (!random_geometry(r, c)) {
  }
  const ConvParams& p = c.p;
  const int64_t Cg = p.C / p.group, Cb = Cg / c.block, K = Cg * p.KH * p.KW;
  QConvBlockwiseQuant q;
  q.x_signed = r.coin();
  q.x_zero_point = q.x_signed ? int32_t(r.i(-128, 127)) : int32_t(r.i(0, 255));
  q.block = c.block;
  q.out_type = r.coin() ? DType::kU8 : DType::kI8;
  const int32_t lo = q.out_type == DType::kU8 ? 0 : -128;
  q.zero_point = lo + int32_t(r.i(0, 255));
  q.qmin = lo;
  q.qmax = lo + 255;
  if (r.coin(0.3)) {
    q.qmin = std::max(lo, q.zero_point - int32_t(r.i(0, 40)));
    q.qmax = std::min(lo + 255, q.qmin + 1 + int32_t(r.i(0, 200)));
  }
  std::vector<float> scales(size_t(p.M * Cb * p.KH * p.KW));
  for (float& s : scales) s = r.f(0.001f, 0.02f) * (r.coin(0.05) ? 100.f : 1.f);
  q.w_scale = scales.data();
  // Outputs spread over the code range: |f| ~ sqrt(K) * 70 * 4.6 * 0.01.
  q.m = 40.f / (std::sqrt(float(K)) * 70.f * 4.6f * 0.0105f) * r.f(0.3f, 3.f);
  std::vector<float> bias(size_t(p.M));
  for (float& b : bias) b = r.f(-60.f, 60.f);
  q.bias_f = r.coin(0.75) ? bias.data() : nullptr;
  std::vector<uint8_t> x(size_t(p.N * p.H * p.W * p.C));
  for (auto& v : x) v = uint8_t(r.i(0, 255));
  std::vector<uint8_t> w(size_t((p.M * K + 1) / 2));
  for (auto& v : w) v = uint8_t(r.i(0, 255));
  const size_t ysize = size_t(p.N * p.OH * p.OW * p.M);
  std::vector<uint8_t> ref(ysize);
  qconv2d_blockwise_reference(p, q, x.data(), w.data(), ref.data());
  // Thread count must not change the reference either.
  std::vector<uint8_t> ref2(ysize);
  qconv2d_blockwise_reference(p, q, x.data(), w.data(), ref2.data(), 2);
  CHECK(ref2 == ref);
  ++st.cases;
  st.grouped += p.group > 1;
  st.by_block[c.block == 32 ? 0 : c.block == 64 ? 1 : 2]++;
  for (uint8_t v : ref) {
    const int32_t code = q.out_type == DType::kI8 ? int32_t(int8_t(v)) : int32_t(v);
    st.inside += code > q.qmin && code < q.qmax;
  }
  st.ref_elements += int64_t(ysize);
  for (int isa = 0; isa <= int(qgemm_cpu_isa()); ++isa)
    for (int threads : {1, 2}) {
      QConvBlockwiseNhwc conv(p, q, w.data(), threads, QIsa(isa));
      CAPTURE(std::string(conv.impl_name()));
      CAPTURE(threads);
      CAPTURE(p.N); CAPTURE(p.C); CAPTURE(p.H); CAPTURE(p.W); CAPTURE(p.M); CAPTURE(p.group);
      CAPTURE(p.KH); CAPTURE(p.KW); CAPTURE(p.sh); CAPTURE(p.sw); CAPTURE(p.dh); CAPTURE(p.dw);
      CAPTURE(p.pt); CAPTURE(p.pl); CAPTURE(c.block);
      if (isa == 0 && threads == 1) {
        const std::string name(conv.impl_name());
        st.pointwise += name.find("pointwise") != std::string::npos;
        st.im2col += name.find("im2col") != std::string::npos;
      }
      std::vector<uint8_t> y(ysize, 0xCD);
      conv.run(x.data(), y.data());
      CHECK(y == ref);
      st.elements += int64_t(ysize);
    }
}

}  // namespace

TEST_CASE("qconv blockwise: every path and thread count equals the reference bit for bit") {
  Rng r(20261124);
  Stats st;
  for (int i = 0; i < 1100; ++i) run_kernel_case(r, st);
  MESSAGE("qconv blockwise kernel: " << st.cases << " cases (" << st.pointwise << " pointwise, "
          << st.im2col << " im2col, " << st.grouped << " grouped; blocks 32/64/128: "
          << st.by_block[0] << "/" << st.by_block[1] << "/" << st.by_block[2] << "), "
          << st.elements << " output codes compared, ISAs up to "
          << qisa_name(qgemm_cpu_isa()));
  MESSAGE(st.inside << " of " << st.ref_elements << " reference codes inside the clamp");
  CHECK(st.inside > st.ref_elements / 3);
  CHECK(st.cases >= 1000);
  CHECK(st.pointwise > 100);
  CHECK(st.grouped > 100);
  for (int64_t b : st.by_block) CHECK(b > 100);
}

TEST_CASE("qconv blockwise: unsupported geometry and parameters are rejected") {
  ConvParams p;
  p.C = 48;
  p.M = 8;
  p.H = p.W = p.OH = p.OW = 4;
  CHECK(!qconv_blockwise_unsupported(p, 32).empty());  // 48 % 32
  CHECK(!qconv_blockwise_unsupported(p, 16).empty());  // block size
  p.C = p.M = p.group = 32;
  CHECK(qconv_blockwise_unsupported(p, 32).find("depthwise") != std::string::npos);
  p.C = 64;
  p.M = 64;
  p.group = 2;
  CHECK(qconv_blockwise_unsupported(p, 32).empty());
  std::vector<float> s(64 * 1, 0.01f);
  std::vector<uint8_t> w(64 * 32 / 2), x(16 * 64), y(16 * 64);
  QConvBlockwiseQuant q;
  q.block = 64;  // C/group = 32
  q.w_scale = s.data();
  CHECK_THROWS(qconv2d_blockwise_reference(p, q, x.data(), w.data(), y.data()));
  q.block = 32;
  q.qmax = 300;
  CHECK_THROWS(QConvBlockwiseNhwc(p, q, w.data(), 1, QIsa::kScalar));
}

// ---- int == exact on octet.QConv with per-block weights -------------------------------------

namespace {

struct Built {
  std::shared_ptr<Graph> graph;
  HostTensor input;
};

Built build_blockwise_qconv(Rng& r) {
  Case c;
  while (!random_geometry(r, c)) {
  }
  const ConvParams& p = c.p;
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  const DType type = r.coin() ? DType::kU8 : DType::kI8;
  const int32_t lo = type == DType::kI8 ? -128 : 0;
  QuantParams xq;
  xq.scale = {r.f(0.005f, 0.05f)};
  xq.zero_point = {int32_t(r.i(lo + 20, lo + 235))};
  TensorInfo xi;
  xi.name = "x";
  xi.dtype = type;
  xi.shape = Shape::of({p.N, p.H, p.W, p.C});
  xi.quant = xq;
  const TensorId xid = g->add_tensor(xi);
  g->inputs.push_back(xid);
  const int64_t Cg = p.C / p.group, K = Cg * p.KH * p.KW, Cb = Cg / c.block;
  const bool one_d = p.KH == 1 && p.H == 1 && p.sh == 1 && p.pt == 0 && r.coin(0.5);
  std::vector<uint8_t> wb(size_t((p.M * K + 1) / 2));
  for (auto& v : wb) v = uint8_t(r.i(0, 255));
  QuantParams wq;
  for (int64_t i = 0; i < p.M * Cb * p.KH * p.KW; ++i) {
    wq.scale.push_back(r.f(0.001f, 0.02f));
    wq.zero_point.push_back(0);
  }
  wq.axis = 1;
  wq.block_size = int32_t(c.block);
  wq.bitwidth = 4;
  wq.symmetric = true;
  const Dims wd = one_d ? Dims{p.M, Cg, p.KW} : Dims{p.M, Cg, p.KH, p.KW};
  const TensorId wid = g->add_constant("w", DType::kI4, wd,
                                       Buffer::copy_of(reinterpret_cast<const std::byte*>(wb.data()), wb.size()));
  g->tensor(wid).quant = wq;
  Node n;
  n.name = "qconv";
  n.op_type = "octet.QConv";
  n.attrs.set("_layout", std::string("NHWC"));
  n.attrs.set("group", p.group);
  if (one_d) {
    n.attrs.set("strides", std::vector<int64_t>{p.sw});
    n.attrs.set("dilations", std::vector<int64_t>{p.dw});
    const int64_t pr = (p.OW - 1) * p.sw + (p.KW - 1) * p.dw + 1 - p.W - p.pl;
    n.attrs.set("pads", std::vector<int64_t>{p.pl, std::max<int64_t>(pr, 0)});
    xi.shape = Shape::of({p.N, p.W, p.C});
    g->tensor(xid).shape = xi.shape;
  } else {
    n.attrs.set("strides", std::vector<int64_t>{p.sh, p.sw});
    n.attrs.set("dilations", std::vector<int64_t>{p.dh, p.dw});
    const int64_t pb = (p.OH - 1) * p.sh + (p.KH - 1) * p.dh + 1 - p.H - p.pt;
    const int64_t pr = (p.OW - 1) * p.sw + (p.KW - 1) * p.dw + 1 - p.W - p.pl;
    n.attrs.set("pads", std::vector<int64_t>{p.pt, p.pl, std::max<int64_t>(pb, 0),
                                             std::max<int64_t>(pr, 0)});
  }
  static const char* const schemes[] = {"fp32", "fixed-point", "fixed-point-single"};
  n.attrs.set("requant", std::string(schemes[r.i(0, 2)]));  // ignored by the blockwise path
  if (r.coin(0.3)) n.attrs.set("_act_min", 0.f);
  if (r.coin(0.2)) n.attrs.set("_act_max", r.f(0.5f, 6.f));
  n.inputs = {xid, wid};
  if (r.coin(0.75)) {
    std::vector<float> b(size_t(p.M));
    for (float& v : b) v = r.f(-1.f, 1.f);
    n.inputs.push_back(g->add_constant(
        "b", DType::kF32, {p.M},
        Buffer::copy_of(reinterpret_cast<const std::byte*>(b.data()), b.size() * 4)));
  }
  TensorInfo y;
  y.name = "y";
  y.dtype = type;
  QuantParams yq;
  yq.scale = {xq.scale[0] * 0.0105f * std::sqrt(float(K)) * 70.f * 4.6f / 40.f * r.f(0.5f, 3.f)};
  yq.zero_point = {int32_t(r.i(lo + 20, lo + 235))};
  y.quant = yq;
  n.outputs = {g->add_tensor(y)};
  g->outputs.push_back(n.outputs[0]);
  g->nodes.push_back(n);
  HostTensor in;
  in.name = "x";
  in.dtype = type;
  in.dims = xi.shape.concrete();
  const int64_t count = checked_numel(in.dims);
  in.bytes.resize(size_t(count));
  for (auto& b : in.bytes) {
    int32_t v = r.coin(0.1) ? int32_t(r.i(lo, lo + 255)) : int32_t(xq.zero_point[0] + r.i(-60, 60));
    b = std::byte(uint8_t(std::clamp(v, lo, lo + 255)));
  }
  return {g, in};
}

}  // namespace

TEST_CASE("qconv blockwise: int == exact for octet.QConv with per-block weights") {
  Rng r(7771);
  int64_t cases = 0, elements = 0, varied = 0;
  for (int i = 0; i < 1050; ++i) {
    const Built b = build_blockwise_qconv(r);
    const int threads = i % 4 == 0 ? 2 : 1;
    SessionOptions io, eo;
    io.mode = ExecutionMode::kInt;
    eo.mode = ExecutionMode::kExact;
    io.threads = eo.threads = threads;
    Session si(b.graph, io), se(b.graph, eo);
    const std::string ii(si.kernel_choices()[0].impl), ei(se.kernel_choices()[0].impl);
    CAPTURE(ii);
    REQUIRE(ii.find("qconv_blockwise_") == 0);
    REQUIRE(ei == "qconv_blockwise_exact");
    const std::vector<HostTensor> yi = si.run({b.input}), ye = se.run({b.input});
    REQUIRE(yi[0].bytes.size() == ye[0].bytes.size());
    CHECK(std::memcmp(yi[0].bytes.data(), ye[0].bytes.data(), yi[0].bytes.size()) == 0);
    // Outputs not all at one code: the case tests something.
    bool differ = false;
    for (size_t k = 1; k < yi[0].bytes.size() && !differ; ++k) differ = yi[0].bytes[k] != yi[0].bytes[0];
    varied += differ;
    ++cases;
    elements += int64_t(yi[0].bytes.size());
  }
  MESSAGE("octet.QConv per-block: " << cases << " cases, " << elements
          << " output codes compared int vs exact (" << varied << " cases with varied outputs)");
  CHECK(cases >= 1000);
  CHECK(varied > cases / 2);
}

// ---- whole networks ---------------------------------------------------------------------------

namespace {

std::string data_path(const std::string& name) { return octet::test::data_path(name); }

std::shared_ptr<Graph> calibrated_w4(const std::string& file, int block_size) {
  quant::QuantSimOptions qo;
  qo.param_bitwidth = 4;
  qo.per_channel = true;
  qo.block_size = block_size;
  quant::QuantSim sim(load_model(data_path(file)), quant::QuantsimConfig::load_shipped("default_config"), qo);
  quant::CalibrationOptions co;
  co.batch_size = 50;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  return sim.annotated_model();
}

using NetRun = octet::testing::MnistRun;
using octet::testing::bit_equal;

// The first `images` test images in batches of 250.
NetRun run_net(std::shared_ptr<const Graph> model, ExecutionMode mode, int threads, int64_t images,
               std::vector<KernelChoice>* kernels = nullptr, LoweringReport* report = nullptr) {
  NetRun r = octet::testing::run_mnist(std::move(model), mode, threads, "onnxruntime", report, images);
  if (kernels) *kernels = r.kernels;
  return r;
}

}  // namespace

TEST_CASE("qconv blockwise: MNIST fixtures with block size 32 run their convolutions per block, int == exact") {
  for (const char* file : {"mnist_resnet.onnx", "mnist_mobilenet.onnx"}) {
    CAPTURE(std::string(file));
    const auto blocked = calibrated_w4(file, 32);
    const auto per_channel = calibrated_w4(file, 0);
    std::vector<KernelChoice> kernels;
    LoweringReport report;
    const NetRun i2 = run_net(blocked, ExecutionMode::kInt, 2, 10000, &kernels, &report);
    int64_t block_convs = 0, convs = 0;
    for (const KernelChoice& k : kernels) {
      if (k.op_type != "octet.QConv") continue;
      ++convs;
      block_convs += k.impl.find("qconv_blockwise_") == 0;
    }
    // Every Conv left in float is there for a reason other than its per-block weights, unless
    // the blocks cannot exist (depthwise, C/group not a multiple of the block).
    for (const std::string& f : report.float_nodes) {
      CAPTURE(f);
      if (f.find("(Conv)") != std::string::npos && f.find("per-block") != std::string::npos)
        CHECK((f.find("depthwise") != std::string::npos || f.find("not a multiple") != std::string::npos));
    }
    const NetRun i1 = run_net(blocked, ExecutionMode::kInt, 1, 2500);
    const NetRun e2 = run_net(blocked, ExecutionMode::kExact, 2, 10000);
    const NetRun pc = run_net(per_channel, ExecutionMode::kInt, 2, 10000);
    int64_t qualifying = 0;  // Convs whose weights QuantSim gave blocks
    for (const Node& n : blocked->nodes)
      qualifying += n.op_type == "Conv" && blocked->tensor(n.inputs[1]).quant.block_size > 0;
    MESSAGE(std::string(file) << ": " << block_convs << " of " << convs << " integer convolutions per block ("
            << qualifying << " with per-block weights), "
            << report.float_nodes.size() << " float nodes; W4A8 block 32: int " << i2.percent()
            << "%, exact " << e2.percent() << "%; per-channel W4A8 int " << pc.percent() << "%");
    CHECK(block_convs > 0);
    CHECK(block_convs == qualifying);
    CHECK(bit_equal(i2.logits, e2.logits));
    CHECK(bit_equal(i1.logits, std::vector<float>(e2.logits.begin(), e2.logits.begin() + int64_t(i1.logits.size()))));
    CHECK(std::abs(i2.percent() - pc.percent()) <= 1.0);
  }
}

// ---- lowering: what cannot run per block falls back to float with a reason ------------------

namespace {

// A calibrated float graph: x [1, C, 5, 5] -> Conv (weights [M, C/group, 3, 3] quantized with
// `wq`) -> y, activations with 8-bit encodings.
std::shared_ptr<Graph> conv_graph(int64_t C, int64_t M, int64_t group, const QuantParams& wq) {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  QuantParams act;
  act.scale = {0.02f};
  act.zero_point = {128};
  act.bitwidth = 8;
  TensorInfo x;
  x.name = "x";
  x.dtype = DType::kF32;
  x.shape = Shape::of({1, C, 5, 5});
  x.quant = act;
  const TensorId xid = g->add_tensor(x);
  g->inputs.push_back(xid);
  Rng r(3);
  std::vector<float> w(size_t(M * (C / group) * 9));
  for (float& v : w) v = r.f(-0.5f, 0.5f);
  const TensorId wid = g->add_constant("w", DType::kF32, {M, C / group, 3, 3},
                                       Buffer::copy_of(reinterpret_cast<const std::byte*>(w.data()), w.size() * 4));
  g->tensor(wid).quant = wq;
  TensorInfo y;
  y.name = "y";
  y.dtype = DType::kF32;
  y.quant = act;
  y.quant.scale = {0.2f};
  const TensorId yid = g->add_tensor(y);
  g->outputs.push_back(yid);
  Node n;
  n.name = "conv";
  n.op_type = "Conv";
  n.attrs.set("group", group);
  n.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  n.inputs = {xid, wid};
  n.outputs = {yid};
  g->nodes.push_back(n);
  return g;
}

QuantParams block_params(int64_t M, int64_t Cg, int64_t block, int bits) {
  QuantParams q;
  const int64_t cells = M * ((Cg + block - 1) / block) * 9;
  q.scale.assign(size_t(cells), 0.05f);
  q.zero_point.assign(size_t(cells), 1 << (bits - 1));
  q.axis = 1;
  q.block_size = int32_t(block);
  q.bitwidth = bits;
  q.symmetric = true;
  return q;
}

// The lowering report's line for the conv ("" when it runs on integer codes) and its kernel.
std::pair<std::string, std::string> lower_conv(std::shared_ptr<Graph> g) {
  SessionOptions so;
  so.mode = ExecutionMode::kInt;
  Session s(g, so);
  std::string why, impl;
  for (const std::string& f : s.lowering_report()->float_nodes)
    if (f.rfind("conv ", 0) == 0) why = f;
  for (const KernelChoice& k : s.kernel_choices())
    if (k.node == "conv") impl = k.impl;
  return {why, impl};
}

}  // namespace

TEST_CASE("qconv blockwise: lowering runs eligible convolutions per block, names why others fall back") {
  {  // grouped, C/group = 64 in blocks of 32
    auto [why, impl] = lower_conv(conv_graph(128, 32, 2, block_params(32, 64, 32, 4)));
    CHECK(why.empty());
    CHECK(impl.rfind("qconv_blockwise_", 0) == 0);
  }
  {  // depthwise: C/group = 1
    auto [why_binding, impl] = lower_conv(conv_graph(32, 32, 32, block_params(32, 1, 32, 4)));
    const std::string why = why_binding;  // CAPTURE cannot take a binding (clang 14)
    CAPTURE(why);
    CHECK(why.find("depthwise") != std::string::npos);
  }
  {  // C/group = 48 not a multiple of 32
    auto [why_binding, impl] = lower_conv(conv_graph(48, 8, 1, block_params(8, 48, 32, 4)));
    const std::string why = why_binding;  // CAPTURE cannot take a binding (clang 14)
    CAPTURE(why);
    CHECK(why.find("not a multiple of the block") != std::string::npos);
  }
  {  // 8-bit per-block weights
    auto [why_binding, impl] = lower_conv(conv_graph(64, 8, 1, block_params(8, 64, 32, 8)));
    const std::string why = why_binding;  // CAPTURE cannot take a binding (clang 14)
    CAPTURE(why);
    CHECK(why.find("4-bit") != std::string::npos);
  }
  {  // block 16
    auto [why_binding, impl] = lower_conv(conv_graph(64, 8, 1, block_params(8, 64, 16, 4)));
    const std::string why = why_binding;  // CAPTURE cannot take a binding (clang 14)
    CAPTURE(why);
    CHECK(why.find("blocks of 32, 64 or 128") != std::string::npos);
  }
}
