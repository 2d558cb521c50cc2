// QDQ -> integer fusion (engine/passes/qdq_fusion.h): structure of the rewritten graph (node
// types, the quantization parameters on tensors, weights and biases), on a graph built here
// and on the QDQ model octet's own exporter writes for the MNIST ResNet.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "engine/passes/qdq_fusion.h"
#include "loaders/npy.h"
#include "loaders/onnx_loader.h"
#include "loaders/model_loader.h"
#include "quant/qdq_export.h"
#include "quant/quantsim.h"
#include "test_passes_builder.h"

using namespace octet;
using test::GraphBuilder;

namespace {

struct QdqBuilder : GraphBuilder {
  explicit QdqBuilder(int64_t opset) : GraphBuilder(opset) {}
  int next = 0;
  std::string uniq(const std::string& base) { return base + std::to_string(next++); }

  TensorId scalar_f(float v) { return constant(uniq("s"), {}, {v}); }
  TensorId code_const(DType t, const Dims& dims, const std::vector<int32_t>& v) {
    std::vector<uint8_t> bytes;
    if (t == DType::kI32) {
      bytes.resize(v.size() * 4);
      std::memcpy(bytes.data(), v.data(), bytes.size());
    } else {
      for (int32_t x : v) bytes.push_back(uint8_t(x));
    }
    return g->add_constant(uniq("c"), t, dims, Buffer::copy_of(bytes.data(), bytes.size()));
  }
  // Q(x) with per-tensor scale/zp of `t`; output codes.
  TensorId quantize(TensorId x, float s, int zp, DType t) {
    TensorId out = node("QuantizeLinear", {x, scalar_f(s), code_const(t, {}, {zp})}, dims(x));
    g->tensor(out).dtype = t;
    return out;
  }
  TensorId dequantize(TensorId q, TensorId s, TensorId zp, Attributes a = {}) {
    return node("DequantizeLinear", {q, s, zp}, dims(q), std::move(a));
  }
  TensorId dq_act(TensorId q, float s, int zp, DType t) {
    return dequantize(q, scalar_f(s), code_const(t, {}, {zp}));
  }
};

const Node& only(const Graph& g, const std::string& op, int index = 0) {
  int k = 0;
  for (const Node& n : g.nodes)
    if (n.op_type == op && k++ == index) return n;
  FAIL("no node " << op << " #" << index);
  return g.nodes[0];
}

int count(const Graph& g, const std::string& op) {
  int k = 0;
  for (const Node& n : g.nodes) k += n.op_type == op;
  return k;
}

std::vector<int32_t> i32_values(const Graph& g, TensorId id) {
  const TensorInfo& t = g.tensor(id);
  REQUIRE(t.is_constant());
  REQUIRE(t.dtype == DType::kI32);
  std::vector<int32_t> v(t.data->size() / 4);
  std::memcpy(v.data(), t.data->data(), v.size() * 4);
  return v;
}
std::vector<int8_t> i8_values(const Graph& g, TensorId id) {
  const TensorInfo& t = g.tensor(id);
  REQUIRE(t.is_constant());
  REQUIRE(t.dtype == DType::kI8);
  std::vector<int8_t> v(t.data->size());
  std::memcpy(v.data(), t.data->data(), v.size());
  return v;
}

}  // namespace

TEST_CASE("qdq fusion: Conv, Gemm and MatMul patterns become integer nodes") {
  QdqBuilder b(13);
  const DType u8 = DType::kU8, i8 = DType::kI8, i32 = DType::kI32;
  TensorId x = b.input("x", {1, 3, 6, 6});
  TensorId xq = b.quantize(x, 0.02f, 128, u8);
  TensorId xf = b.dq_act(xq, 0.02f, 128, u8);
  // Conv 1: i8 weights, per-channel scales on axis 0, zp 0, float bias, then Relu.
  std::vector<int32_t> w1(4 * 3 * 3 * 3);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] = int32_t(i * 37 % 255) - 127;
  const std::vector<float> ws1{0.01f, 0.02f, 0.005f, 0.03f};
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  TensorId w1f = b.dequantize(b.code_const(i8, {4, 3, 3, 3}, w1), b.constant("ws1", {4}, ws1),
                              b.code_const(i8, {4}, {0, 0, 0, 0}), axis0);
  const std::vector<float> bias1{0.1f, -0.2f, 0.0033f, 1.5f};
  Attributes ca;
  ca.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  TensorId y1 = b.node("Conv", {xf, w1f, b.constant("b1", {4}, bias1)}, {1, 4, 6, 6}, ca);
  TensorId y1r = b.unary("Relu", y1);
  TensorId y1q = b.quantize(y1r, 0.05f, 0, u8);
  // Conv 2 (1x1): weights still DQ(Q(float constant)) (before constant folding), i32 bias
  // already on the scale x_scale * w_scale.
  TensorId y1f = b.dq_act(y1q, 0.05f, 0, u8);
  const std::vector<float> w2{0.5f, -0.25f, 0.13f, 1.f, -1.f, 0.3f, 0.2f, -0.7f};  // [2,4,1,1]
  TensorId w2q = b.quantize(b.constant("w2", {2, 4, 1, 1}, w2), 0.01f, 0, i8);
  TensorId w2f = b.dq_act(w2q, 0.01f, 0, i8);
  TensorId b2 = b.dequantize(b.code_const(i32, {2}, {1000, -7}), b.scalar_f(0.05f * 0.01f),
                             b.code_const(i32, {}, {0}));
  TensorId y2 = b.node("Conv", {y1f, w2f, b2}, {1, 2, 6, 6});
  TensorId y2q = b.quantize(y2, 0.1f, 10, u8);
  // Flatten stays float between DQ and Q.
  TensorId flat = b.node("Flatten", {b.dq_act(y2q, 0.1f, 10, u8)}, {1, 72});
  TensorId fq = b.quantize(flat, 0.1f, 10, u8);
  // Gemm, transB = 1, per-tensor weights, i32 bias on another scale (rescaled).
  std::vector<int32_t> w3(5 * 72);
  for (size_t i = 0; i < w3.size(); ++i) w3[i] = int32_t(i * 11 % 200) - 100;
  TensorId w3f = b.dequantize(b.code_const(i8, {5, 72}, w3), b.scalar_f(0.004f), b.code_const(i8, {}, {0}));
  TensorId b3 = b.dequantize(b.code_const(i32, {5}, {100, 200, -300, 0, 6}), b.scalar_f(0.001f),
                             b.code_const(i32, {}, {0}));
  Attributes ga;
  ga.set("transB", int64_t{1});
  TensorId y3 = b.node("Gemm", {b.dq_act(fq, 0.1f, 10, u8), w3f, b3}, {1, 5}, ga);
  TensorId y3q = b.quantize(y3, 0.2f, 100, u8);
  // MatMul, [K][N] weights with per-column scales (axis 1).
  std::vector<int32_t> w4(5 * 3);
  for (size_t i = 0; i < w4.size(); ++i) w4[i] = int32_t(i) * 9 - 60;
  Attributes axis1;
  axis1.set("axis", int64_t{1});
  TensorId w4f = b.dequantize(b.code_const(i8, {5, 3}, w4), b.constant("ws4", {3}, {0.1f, 0.2f, 0.3f}),
                              b.code_const(i8, {3}, {0, 0, 0}), axis1);
  TensorId y4 = b.node("MatMul", {b.dq_act(y3q, 0.2f, 100, u8), w4f}, {1, 3});
  TensorId y4q = b.quantize(y4, 0.5f, 128, u8);
  b.output(b.dq_act(y4q, 0.5f, 128, u8));
  const std::string y1q_name = b.g->tensor(y1q).name, y2q_name = b.g->tensor(y2q).name,
                    xq_name = b.g->tensor(xq).name, y4q_name = b.g->tensor(y4q).name;

  Graph& g = *b.g;
  const PassReport r = fuse_qdq_to_integer(g);
  INFO("notes: " << (r.notes.empty() ? "" : r.notes[0]));
  CHECK(r.changed == 4);
  CHECK(r.notes.empty());
  CHECK(count(g, "octet.QConv") == 2);
  CHECK(count(g, "octet.QGemm") == 1);
  CHECK(count(g, "octet.QMatMul") == 1);
  for (const char* op : {"Conv", "Gemm", "MatMul", "Relu"}) CHECK(count(g, op) == 0);
  // Q after the input and before Gemm (after the float Flatten); DQ before Flatten and output.
  CHECK(count(g, "QuantizeLinear") == 2);
  CHECK(count(g, "DequantizeLinear") == 2);
  // Into NHWC once; QConv 2 reads QConv 1's NHWC output; back to NCHW once for the Flatten.
  CHECK(count(g, "Transpose") == 2);
  CHECK(only(g, "QuantizeLinear").inputs[0] == g.inputs[0]);
  CHECK(g.nodes[g.producers()[g.outputs[0]]].op_type == "DequantizeLinear");

  const Node& c1 = only(g, "octet.QConv", 0);
  const Node& c2 = only(g, "octet.QConv", 1);
  CHECK(c1.attrs.get_string("_layout", "") == "NHWC");
  CHECK(c1.attrs.get_string("requant", "") == "fp32");
  CHECK(c1.attrs.get_float("_act_min", -1.f) == 0.f);
  CHECK(!c2.attrs.has("_act_min"));
  CHECK(c1.attrs.get_ints("pads") == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(c2.inputs[0] == c1.outputs[0]);
  // Codes and their encodings.
  const TensorInfo& x_nhwc = g.tensor(c1.inputs[0]);
  CHECK(x_nhwc.dtype == u8);
  CHECK(x_nhwc.shape.concrete() == Dims{1, 6, 6, 3});
  CHECK(x_nhwc.quant.scale == std::vector<float>{0.02f});
  CHECK(x_nhwc.quant.zero_point == std::vector<int32_t>{128});
  CHECK(g.tensor(g.require_tensor(xq_name)).quant.zero_point == std::vector<int32_t>{128});
  const TensorInfo& y1_nhwc = g.tensor(c1.outputs[0]);
  CHECK(y1_nhwc.dtype == u8);
  CHECK(y1_nhwc.shape.concrete() == Dims{1, 6, 6, 4});
  CHECK(y1_nhwc.quant.scale == std::vector<float>{0.05f});
  CHECK(g.tensor(c2.outputs[0]).quant.zero_point == std::vector<int32_t>{10});
  CHECK(!g.find_tensor(y1q_name));  // only its NHWC form is left
  CHECK(g.find_tensor(y2q_name));   // read by the DequantizeLinear before Flatten
  // Weights: i8 constants with their scales; conv 2's quantized here (0.5 / 0.01 = 50 ...).
  const TensorInfo& w1t = g.tensor(c1.inputs[1]);
  CHECK(w1t.quant.scale == ws1);
  CHECK(w1t.quant.axis == 0);
  CHECK(w1t.quant.zero_point == std::vector<int32_t>{0, 0, 0, 0});
  const std::vector<int8_t> w1q = i8_values(g, c1.inputs[1]);
  CHECK(std::vector<int32_t>(w1q.begin(), w1q.end()) == w1);
  CHECK(i8_values(g, c2.inputs[1]) == std::vector<int8_t>{50, -25, 13, 100, -100, 30, 20, -70});
  CHECK(g.tensor(c2.inputs[1]).quant.axis == -1);
  // Biases: float quantized with x_scale * w_scale[c]; i32 on that scale copied.
  const std::vector<int32_t> bq1 = i32_values(g, c1.inputs[2]);
  for (int c = 0; c < 4; ++c)
    CHECK(bq1[c] == int32_t(std::nearbyint(double(bias1[c]) / (double(0.02f) * double(ws1[c])))));
  CHECK(g.tensor(c1.inputs[2]).quant.scale.size() == 4);
  CHECK(i32_values(g, c2.inputs[2]) == std::vector<int32_t>{1000, -7});
  // Gemm: weights [N][K] per tensor, bias rescaled from 0.001 to 0.1 * 0.004.
  const Node& gm = only(g, "octet.QGemm");
  CHECK(g.tensor(gm.inputs[1]).shape.concrete() == Dims{5, 72});
  CHECK(g.tensor(gm.inputs[1]).quant.scale == std::vector<float>{0.004f});
  CHECK(i32_values(g, gm.inputs[2]) == std::vector<int32_t>{250, 500, -750, 0, 15});
  CHECK(g.tensor(gm.inputs[0]).quant.zero_point == std::vector<int32_t>{10});
  CHECK(g.tensor(gm.outputs[0]).quant.scale == std::vector<float>{0.2f});
  CHECK(!gm.attrs.has("transB"));
  // MatMul: [K][N] -> [N][K], per-column scales on axis 0 now.
  const Node& mm = only(g, "octet.QMatMul");
  CHECK(g.tensor(mm.inputs[1]).shape.concrete() == Dims{3, 5});
  CHECK(g.tensor(mm.inputs[1]).quant.axis == 0);
  CHECK(g.tensor(mm.inputs[1]).quant.scale == std::vector<float>{0.1f, 0.2f, 0.3f});
  const std::vector<int8_t> w4t = i8_values(g, mm.inputs[1]);
  for (int n = 0; n < 3; ++n)
    for (int k = 0; k < 5; ++k) CHECK(w4t[n * 5 + k] == w4[k * 3 + n]);
  CHECK(mm.outputs[0] == g.require_tensor(y4q_name));
  CHECK(g.tensor(mm.outputs[0]).quant.zero_point == std::vector<int32_t>{128});
}

TEST_CASE("qdq fusion: near-matches stay float and the report says why") {
  const DType u8 = DType::kU8, i8 = DType::kI8;
  for (int variant = 0; variant < 4; ++variant) {
    QdqBuilder b(13);
    TensorId x = b.input("x", {1, 4});
    TensorId xq = b.quantize(x, 0.02f, 128, u8);
    std::vector<int32_t> w(4 * 2, 3);
    // 0: weight zero point 5; 1: u8 weights; 2: output codes i8 (input u8); 3: two readers.
    TensorId wq = b.code_const(variant == 1 ? u8 : i8, {4, 2}, w);
    TensorId wzp = b.code_const(variant == 1 ? u8 : i8, {}, {variant == 0 ? 5 : 0});
    TensorId y = b.node("MatMul", {b.dq_act(xq, 0.02f, 128, u8), b.dequantize(wq, b.scalar_f(0.1f), wzp)}, {1, 2});
    TensorId yq = b.quantize(y, 0.3f, 0, variant == 2 ? i8 : u8);
    b.output(b.dq_act(yq, 0.3f, 0, variant == 2 ? i8 : u8));
    if (variant == 3) b.output(b.unary("Relu", y));
    const PassReport r = fuse_qdq_to_integer(*b.g);
    CHECK(r.changed == 0);
    CHECK(count(*b.g, "MatMul") == 1);
    REQUIRE(r.notes.size() == 1);
    MESSAGE(r.notes[0]);
  }
}

// The QDQ model octet's exporter writes (what `octet quantize ... --export-qdq` saves), loaded
// back from ONNX: every Conv and the Gemm become integer nodes.
TEST_CASE("qdq fusion: MNIST ResNet QDQ export") {
  using namespace octet::quant;
  const std::string dir = OCTET_TEST_DATA_DIR;
  QuantSimOptions qo;
  qo.per_channel = true;
  QuantSim sim(load_model(dir + "/mnist_resnet.onnx"), QuantsimConfig::load_shipped("default_config"), qo);
  CalibrationOptions co;
  co.batch_size = 50;
  co.threads = 2;
  sim.calibrate(slice_rows(load_npy(dir + "/mnist_calib_images.npy"), 0, 50), co);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("octet_qdq_fusion_" + std::to_string(::getpid()) + ".onnx")).string();
  export_qdq_onnx(sim, path);
  std::shared_ptr<Graph> g = load_onnx(path);
  std::filesystem::remove(path);
  const int convs = count(*g, "Conv"), gemms = count(*g, "Gemm");
  REQUIRE(convs > 0);
  const PassReport r = fuse_qdq_to_integer(*g);
  for (const std::string& n : r.notes) MESSAGE(n);
  CHECK(r.changed == convs + gemms);
  CHECK(count(*g, "octet.QConv") == convs);
  CHECK(count(*g, "octet.QGemm") == gemms);
  CHECK(count(*g, "Conv") == 0);
  // Only the Relus after the residual Adds (which stay float) are left.
  for (const Node& n : g->nodes)
    if (n.op_type == "Relu") CHECK(g->nodes[g->producers()[n.inputs[0]]].op_type == "Add");
  // The Gemm reads the Flatten moved onto the codes.
  const Node& fc = only(*g, "octet.QGemm");
  CHECK(g->nodes[g->producers()[fc.inputs[0]]].op_type == "Flatten");
  // The graph input is quantized, the output dequantized.
  const auto producers = g->producers();
  bool input_quantized = false;
  for (const Node& n : g->nodes) input_quantized |= n.op_type == "QuantizeLinear" && n.inputs[0] == g->inputs[0];
  CHECK(input_quantized);
  CHECK(g->nodes[producers[g->outputs[0]]].op_type == "DequantizeLinear");
  for (const Node& n : g->nodes) {
    if (n.op_type.rfind("octet.Q", 0) != 0) continue;
    INFO(n.name);
    const TensorInfo &x = g->tensor(n.inputs[0]), &w = g->tensor(n.inputs[1]), &y = g->tensor(n.outputs[0]);
    CHECK((x.dtype == DType::kU8 || x.dtype == DType::kI8));
    CHECK(y.dtype == x.dtype);
    CHECK(x.quant.scale.size() == 1);
    CHECK(y.quant.scale.size() == 1);
    CHECK(w.dtype == DType::kI8);
    CHECK(w.is_constant());
    CHECK(w.quant.scale.size() == size_t(w.shape.concrete()[0]));  // per channel
    CHECK(w.quant.axis == 0);
    if (n.inputs.size() > 2) CHECK(g->tensor(n.inputs[2]).dtype == DType::kI32);
    CHECK(n.attrs.get_string("requant", "") == "fp32");
    if (n.op_type == "octet.QConv") CHECK(n.attrs.get_string("_layout", "") == "NHWC");
  }
}
