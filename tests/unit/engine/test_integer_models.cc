// Integer execution of the MNIST fixtures: lowering, `int` == `exact` bit for bit over whole
// networks (1 and 2 threads), and accuracy against float.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "loaders/octet_format.h"
#include "quant/qdq_export.h"
#include "quant/quantsim.h"
#include "tests/support/mnist_eval_util.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using namespace octet::quant;
using octet::testing::bit_equal;

namespace {

using Run = octet::testing::MnistRun;
using octet::testing::run_mnist;
std::string data_path(const std::string& name) { return octet::testing::test_data(name); }

std::shared_ptr<Graph> calibrated(const std::string& file, int param_bw, bool per_channel) {
  QuantSimOptions qo;
  qo.param_bitwidth = param_bw;
  qo.per_channel = per_channel;
  QuantSim sim(load_model(data_path(file)), QuantsimConfig::load_shipped("default_config"), qo);
  CalibrationOptions co;
  co.batch_size = 50;
  co.threads = 2;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  return sim.annotated_model();
}

}  // namespace

// One fixture at one weight bitwidth (A8) through float, qdq, int at 2 and 1 threads and exact.
// A test case each, so that the test runner can spread them over processes.
namespace {
void check_int_equals_exact_on_mnist(const char* file, int bits) {
  CAPTURE(std::string(file));
  CAPTURE(bits);
  auto model = calibrated(file, bits, bits != 8);
  const Run fl = run_mnist(model, ExecutionMode::kFloat, 2);
  const Run qdq = run_mnist(model, ExecutionMode::kQdq, 2);
  LoweringReport report;
  const Run i2 = run_mnist(model, ExecutionMode::kInt, 2, "onnxruntime", &report);
  const Run i1 = run_mnist(model, ExecutionMode::kInt, 1);
  const Run e2 = run_mnist(model, ExecutionMode::kExact, 2);
  MESSAGE(std::string(file) << " W" << bits << "A8: float " << fl.percent() << "%, qdq " << qdq.percent()
               << "%, int " << i2.percent() << "%, exact " << e2.percent() << "%; "
               << report.integer_nodes << " integer nodes, " << report.float_nodes.size()
               << " float");
  for (const std::string& f : report.float_nodes) MESSAGE("  float: " << f);
  CHECK(bit_equal(i2.logits, e2.logits));
  CHECK(bit_equal(i1.logits, i2.logits));
  CHECK(i2.correct == e2.correct);
  if (bits == 8) CHECK(std::abs(i2.percent() - fl.percent()) <= 0.3);
}
}  // namespace

TEST_CASE("integer models: int == exact on MNIST ResNet W8A8, accuracy near float") {
  check_int_equals_exact_on_mnist("mnist_resnet.onnx", 8);
}
TEST_CASE("integer models: int == exact on MNIST ResNet W6A8") {
  check_int_equals_exact_on_mnist("mnist_resnet.onnx", 6);
}
TEST_CASE("integer models: int == exact on MNIST ResNet W4A8") {
  check_int_equals_exact_on_mnist("mnist_resnet.onnx", 4);
}
TEST_CASE("integer models: int == exact on MNIST MobileNet W8A8, accuracy near float") {
  check_int_equals_exact_on_mnist("mnist_mobilenet.onnx", 8);
}
TEST_CASE("integer models: int == exact on MNIST MobileNet W6A8") {
  check_int_equals_exact_on_mnist("mnist_mobilenet.onnx", 6);
}
TEST_CASE("integer models: int == exact on MNIST MobileNet W4A8") {
  check_int_equals_exact_on_mnist("mnist_mobilenet.onnx", 4);
}

TEST_CASE("integer models: every shipped target profile, int == exact") {
  auto model = calibrated("mnist_resnet.onnx", 8, true);
  const Run fl = run_mnist(model, ExecutionMode::kFloat, 2);
  for (const char* target : {"xnnpack", "tflite", "tflite-single-rounding"}) {
    CAPTURE(target);
    LoweringReport report;
    const Run i = run_mnist(model, ExecutionMode::kInt, 2, target, &report);
    const Run e = run_mnist(model, ExecutionMode::kExact, 1, target);
    MESSAGE(std::string(target) << ": int " << i.percent() << "%, exact " << e.percent() << "% (float "
                   << fl.percent() << "%), " << i.logits.size() << " outputs compared, "
                   << report.float_nodes.size() << " float nodes");
    CHECK(bit_equal(i.logits, e.logits));
    CHECK(report.float_nodes.empty());
    CHECK(std::abs(i.percent() - fl.percent()) <= 0.3);
  }
}

TEST_CASE("integer models: an integer .octet file runs with no float weights") {
  auto model = calibrated("mnist_mobilenet.onnx", 8, true);
  SessionOptions so;
  so.mode = ExecutionMode::kInt;
  so.input_shapes["input"] = {250, 1, 28, 28};  // the batch run_mnist() runs
  Session s(model, so);
  const std::vector<std::byte> bytes = save_octet_bytes(s.prepared_graph());
  const std::vector<std::byte> float_bytes = save_octet_bytes(*model);
  MESSAGE("integer .octet " << bytes.size() << " B, float .octet " << float_bytes.size() << " B");
  std::shared_ptr<Graph> loaded = load_octet_bytes(bytes.data(), bytes.size(), nullptr, "int.octet");
  CHECK(is_integer_graph(*loaded));
  for (const TensorInfo& t : loaded->tensors)
    if (t.is_constant() && t.dtype == DType::kF32) CHECK(checked_numel(t.shape.concrete()) <= 1);
  CHECK(bytes.size() * 2 < float_bytes.size());
  // Same outputs as the session that lowered it, in both modes.
  const Run a = run_mnist(model, ExecutionMode::kInt, 1);
  const Run b = run_mnist(loaded, ExecutionMode::kInt, 1);
  const Run c = run_mnist(loaded, ExecutionMode::kExact, 2);
  CHECK(bit_equal(a.logits, b.logits));
  CHECK(bit_equal(a.logits, c.logits));
  CHECK_THROWS_WITH_AS(run_mnist(loaded, ExecutionMode::kQdq, 1),
                       doctest::Contains("integer model"), Error);
  // A NaN or infinity has no integer code: refused with the input's name, not quantized.
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    SessionOptions one;
    one.mode = ExecutionMode::kInt;
    one.input_shapes["input"] = {250, 1, 28, 28};
    Session s(loaded, one);
    HostTensor x = HostTensor::from<float>("input", {250, 1, 28, 28},
                                         std::vector<float>(250 * 28 * 28, 0.5f));
    x.values<float>()[1234] = bad;
    CHECK_THROWS_WITH_AS(s.run({x}), doctest::Contains("'input' holds a NaN or infinity at element 1234"),
                         Error);
  }
}

TEST_CASE("integer models: an ONNX QDQ export runs on the integer kernels like the model it came from") {
  for (bool per_channel : {false, true}) {
    QuantSimOptions qo;
    qo.per_channel = per_channel;
    QuantSim sim(load_model(data_path("mnist_resnet.onnx")),
                 QuantsimConfig::load_shipped("default_config"), qo);
    CalibrationOptions co;
    co.batch_size = 50;
    sim.calibrate(data_path("mnist_calib_images.npy"), co);
    const std::string path =
        (std::filesystem::temp_directory_path() / ("octet_qdq_" + std::to_string(per_channel) + ".onnx")).string();
    export_qdq_onnx(sim, path);
    std::shared_ptr<Graph> qdq = load_model(path);
    std::filesystem::remove(path);
    LoweringReport report;
    const Run from_qdq = run_mnist(qdq, ExecutionMode::kInt, 2, "onnxruntime", &report);
    const Run direct = run_mnist(sim.annotated_model(), ExecutionMode::kInt, 2);
    const Run exact = run_mnist(qdq, ExecutionMode::kExact, 1);
    const Run simulated = run_mnist(qdq, ExecutionMode::kFloat, 2);  // the Q/DQ ops in float
    MESSAGE("QDQ export (per-channel " << per_channel << "): " << report.integer_nodes
            << " integer nodes, " << report.float_nodes.size() << " float; int "
            << from_qdq.percent() << "%, as QDQ ops in float " << simulated.percent() << "%");
    CHECK(bit_equal(from_qdq.logits, direct.logits));
    CHECK(bit_equal(from_qdq.logits, exact.logits));
    CHECK(report.integer_nodes >= 17);
  }
}

TEST_CASE("integer models: the op zoo lowers with float fallbacks named, int == exact") {
  HostTensor x = load_npy(data_path("opzoo_input.npy"));
  x.name = "input";
  auto values = x.values<float>();
  std::vector<float> calib;
  for (float scale : {1.f, 0.5f, 1.5f, -1.f})
    for (float v : values) calib.push_back(v * scale);
  Dims cd = x.dims;
  cd[0] = 4;
  QuantSim sim(load_model(data_path("opzoo.onnx")), QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  co.batch_size = 1;
  sim.calibrate(HostTensor::from<float>("input", cd, calib), co);
  for (const char* target : {"onnxruntime", "tflite"}) {
    CAPTURE(std::string(target));
    SessionOptions io, eo;
    io.mode = ExecutionMode::kInt;
    eo.mode = ExecutionMode::kExact;
    io.target = eo.target = target;
    io.threads = 2;
    Session si(sim.annotated_model(), io), se(sim.annotated_model(), eo);
    const LoweringReport& r = *si.lowering_report();
    MESSAGE(std::string(target) << ": " << r.integer_nodes << " integer nodes, " << r.float_nodes.size()
                   << " float fallbacks");
    CHECK(r.integer_nodes > 40);
    for (const std::string& f : r.float_nodes) CHECK(f.find(": ") != std::string::npos);
    const std::vector<HostTensor> a = si.run({x}), b = se.run({x});
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      REQUIRE(a[i].bytes.size() == b[i].bytes.size());
      CHECK(std::memcmp(a[i].bytes.data(), b[i].bytes.data(), a[i].bytes.size()) == 0);
    }
  }
}

TEST_CASE("integer models: per-block int4 weights (Gemm on the blockwise kernel), int == exact") {
  QuantSimOptions qo;
  qo.param_bitwidth = 4;
  qo.block_size = 32;
  QuantSim sim(load_model(data_path("mnist_resnet.onnx")),
               QuantsimConfig::load_shipped("default_config"), qo);
  CalibrationOptions co;
  co.batch_size = 50;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  auto model = sim.annotated_model();
  SessionOptions so;
  so.mode = ExecutionMode::kInt;
  so.input_shapes["input"] = {1, 1, 28, 28};
  Session s(model, so);
  bool blockwise = false;
  for (const KernelChoice& k : s.kernel_choices())
    blockwise = blockwise || k.impl.find("blockwise") != std::string::npos;
  CHECK(blockwise);
  const Run i = run_mnist(model, ExecutionMode::kInt, 2);
  const Run e = run_mnist(model, ExecutionMode::kExact, 1);
  const Run q = run_mnist(model, ExecutionMode::kQdq, 2);
  MESSAGE("W4A8 per-block 32: qdq " << q.percent() << "%, int " << i.percent() << "%, exact "
          << e.percent() << "%");
  CHECK(bit_equal(i.logits, e.logits));
  CHECK(std::abs(i.percent() - q.percent()) <= 0.5);
}

TEST_CASE("integer models: 1-D convolutions and pools run on the integer kernels, int == exact") {
  // As tf2onnx writes a Conv1D: NWC data between Transposes (DTLN's encoder and decoder).
  test::GraphBuilder b(13);
  Attributes swap;
  swap.set("perm", std::vector<int64_t>{0, 2, 1});
  TensorId x = b.input("x", {1, 16, 8});
  TensorId ncw = b.node("Transpose", {x}, {1, 8, 16}, swap);
  TensorId c1 = b.unary("Relu", b.conv1d(ncw, 12, 3, 1, 1, 1, true, 1));
  TensorId c2 = b.conv1d(c1, 12, 3, 2, 2, 3, true, 2, 2);
  Attributes mp;
  mp.set("kernel_shape", std::vector<int64_t>{2});
  mp.set("strides", std::vector<int64_t>{2});
  TensorId m = b.node("MaxPool", {c2}, {1, 12, 4}, mp);
  TensorId c3 = b.conv1d(m, 8, 1, 1, 0, 1, true, 3);
  b.output(b.node("Transpose", {c3}, {1, 4, 8}, swap, "y"));

  std::vector<float> calib = test::random_floats(8 * 16 * 8, 7, -2.f, 2.f);
  QuantSim sim(b.g, QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  co.batch_size = 2;
  sim.calibrate(HostTensor::from<float>("x", {8, 16, 8}, calib), co);
  const HostTensor feed = HostTensor::from<float>("x", {1, 16, 8}, test::random_floats(16 * 8, 9, -2.f, 2.f));
  SessionOptions io, eo;
  io.mode = ExecutionMode::kInt;
  eo.mode = ExecutionMode::kExact;
  io.threads = 2;
  Session si(sim.annotated_model(), io), se(sim.annotated_model(), eo);
  const LoweringReport& r = *si.lowering_report();
  for (const std::string& f : r.float_nodes) CHECK_MESSAGE(f.find("(Conv)") == std::string::npos, f);
  for (const std::string& f : r.float_nodes) CHECK_MESSAGE(f.find("(MaxPool)") == std::string::npos, f);
  int qconv = 0;
  for (const Node& n : si.prepared_graph().nodes) qconv += n.op_type == "octet.QConv";
  CHECK(qconv == 3);
  SessionOptions qo;
  qo.mode = ExecutionMode::kQdq;
  Session sq(sim.annotated_model(), qo);
  const std::vector<HostTensor> want = sq.run({feed}), a = si.run({feed}), e = se.run({feed});
  REQUIRE(a[0].bytes.size() == e[0].bytes.size());
  CHECK(std::memcmp(a[0].bytes.data(), e[0].bytes.data(), a[0].bytes.size()) == 0);
  const auto fy = want[0].values<float>();
  const auto iy = a[0].values<float>();
  REQUIRE(fy.size() == iy.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < fy.size(); ++i) {
    err += (fy[i] - iy[i]) * double(fy[i] - iy[i]);
    ref += fy[i] * double(fy[i]);
  }
  MESSAGE("int against qdq: " << 10 * std::log10(ref / err) << " dB");
  CHECK(10 * std::log10(ref / err) > 30.0);  // the integer kernels follow the simulation
}

TEST_CASE("integer models: a 16-bit tensor after 8-bit ones lowers (the joining op in float), int == exact") {
  // A detector's output set to 16 bits (quantize --bits output=16) behind 8-bit branches: the
  // 8-bit Concat rule gave it 8-bit codes under its 16-bit encoding, and preparing failed.
  test::GraphBuilder b(13);
  TensorId x = b.input("x", {1, 4});
  TensorId a = b.unary("Relu", x);
  TensorId s = b.unary("Sigmoid", x);
  Attributes axis;
  axis.set("axis", int64_t{1});
  TensorId y = b.node("Concat", {a, s}, {1, 8}, axis, "y");
  b.output(b.node("Reshape", {y, b.g->add_constant("shape", DType::kI64, {2}, [] {
                              const int64_t d[2] = {2, 4};
                              return Buffer::copy_of(d, sizeof d);
                            }())}, {2, 4}, {}, "z"));
  QuantSimOptions qo;
  qo.tensor_bitwidths["y"] = 16;
  QuantSim sim(b.g, QuantsimConfig::load_shipped("default_config"), qo);
  CalibrationOptions co;
  co.batch_size = 1;
  sim.calibrate(HostTensor::from<float>("x", {4, 4}, test::random_floats(16, 3, -3.f, 3.f)), co);
  SessionOptions io, eo;
  io.mode = ExecutionMode::kInt;
  eo.mode = ExecutionMode::kExact;
  Session si(sim.annotated_model(), io), se(sim.annotated_model(), eo);
  bool concat_in_float = false;
  for (const std::string& f : si.lowering_report()->float_nodes)
    concat_in_float = concat_in_float || f.find("(Concat): 8-bit inputs, 16-bit output") != std::string::npos;
  CHECK(concat_in_float);
  const HostTensor feed = HostTensor::from<float>("x", {1, 4}, {-1.f, 0.5f, 2.f, 2.9f});
  const std::vector<HostTensor> i = si.run({feed}), e = se.run({feed});
  REQUIRE(i[0].bytes.size() == e[0].bytes.size());
  CHECK(std::memcmp(i[0].bytes.data(), e[0].bytes.data(), i[0].bytes.size()) == 0);
  const auto z = i[0].values<float>();
  CHECK(std::abs(z[0] - 0.f) < 0.05f);                        // Relu(-1)
  CHECK(std::abs(z[7] - 1.f / (1.f + std::exp(-2.9f))) < 0.05f);  // Sigmoid(2.9), x clipped a little
}

namespace {
// Three branches of different ranges -> Concat -> `tail` -> graph output, W8A8; int and exact
// against the qdq simulation on one input.
void check_concat_output(const std::function<TensorId(test::GraphBuilder&, TensorId)>& tail,
                         const std::map<std::string, QuantParams>& drop_encodings = {}) {
  test::GraphBuilder b(12);
  TensorId x = b.input("x", {1, 2, 4, 4});
  std::vector<TensorId> branches;
  for (int i = 0; i < 3; ++i) {
    Attributes scale;
    branches.push_back(b.node("Mul", {x, b.constant("k" + std::to_string(i), {}, {float(1 << (2 * i))})},
                              {1, 2, 4, 4}, {}, "branch" + std::to_string(i)));
  }
  Attributes axis;
  axis.set("axis", int64_t{1});
  TensorId cat = b.node("Concat", branches, {1, 6, 4, 4}, axis, "cat");
  b.output(tail(b, cat));
  QuantSim sim(b.g, QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  co.batch_size = 1;
  sim.calibrate(HostTensor::from<float>("x", {2, 2, 4, 4}, test::random_floats(64, 5, -1.f, 1.f)), co);
  auto model = std::make_shared<Graph>(*sim.annotated_model());
  for (auto& [name, q] : drop_encodings) model->tensor(model->require_tensor(name)).quant = q;
  SessionOptions qo, io, eo;
  qo.mode = ExecutionMode::kQdq;
  io.mode = ExecutionMode::kInt;
  eo.mode = ExecutionMode::kExact;
  Session sq(model, qo), si(model, io), se(model, eo);
  const HostTensor feed = HostTensor::from<float>("x", {1, 2, 4, 4}, test::random_floats(32, 6, -1.f, 1.f));
  const std::vector<HostTensor> q = sq.run({feed}), i = si.run({feed}), e = se.run({feed});
  REQUIRE(i[0].bytes.size() == e[0].bytes.size());
  CHECK(std::memcmp(i[0].bytes.data(), e[0].bytes.data(), i[0].bytes.size()) == 0);
  const auto qv = q[0].values<float>(), iv = i[0].values<float>();
  REQUIRE(qv.size() == iv.size());
  float worst = 0.f;
  for (size_t k = 0; k < qv.size(); ++k) worst = std::max(worst, std::abs(qv[k] - iv[k]));
  CHECK(worst < 0.1f);  // codes of steps <= 4 / 255: a requantization step or two, not garbage
}
}  // namespace

// A float model written as fp16 and converted back keeps Cast(to float) before the graph
// output (YOLOv5n): removing the identity Cast let its output name take over without the
// encoding quantsim had put on the Concat, and the integer run returned values near 1e26.
TEST_CASE("integer models: an identity Cast before the graph output keeps the Concat's encoding") {
  check_concat_output([](test::GraphBuilder& b, TensorId cat) {
    b.g->tensor(cat).dtype = DType::kUndefined;  // as loaded from a file without value_info
    Attributes to;
    to.set("to", int64_t{1});
    return b.node("Cast", {cat}, {1, 6, 4, 4}, to, "y");
  });
}

// A Concat whose output has no encoding (an encodings file without it) wrote codes on input 0's
// grid and its reader dequantized them with no encoding at all (garbage): now the Concat runs in
// float unless every input shares one grid.
TEST_CASE("integer models: a Concat with an unquantized output concatenates in float") {
  check_concat_output([](test::GraphBuilder&, TensorId cat) { return cat; }, {{"cat", QuantParams{}}});
}

// ONNX Runtime 1.30 drops the DequantizeLinear / QuantizeLinear pair only around a nearest
// Resize: a linear one runs in float between them. The onnxruntime profile lowers it so (1,000
// random one-op QDQ cases against ORT: 97.1 % of elements equal in float, 87.8 % on codes);
// other profiles interpolate codes. int == exact either way.
TEST_CASE("integer models: linear Resize runs in float under the onnxruntime profile only") {
  test::GraphBuilder b(13);
  TensorId x = b.input("x", {1, 2, 3, 3});
  TensorId c = b.conv(x, 2, 1, 1, 0, 1, false, 4);
  const TensorId scales = b.constant("scales", {4}, {1.f, 1.f, 2.f, 2.f});
  Attributes linear;
  linear.set("mode", std::string("linear"));
  b.output(b.node("Resize", {c, kNoTensor, scales}, {1, 2, 6, 6}, linear, "y"));
  QuantSim sim(b.g, QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  co.batch_size = 1;
  sim.calibrate(HostTensor::from<float>("x", {2, 2, 3, 3}, test::random_floats(36, 8, -1.f, 1.f)), co);
  const HostTensor feed = HostTensor::from<float>("x", {1, 2, 3, 3}, test::random_floats(18, 9, -1.f, 1.f));
  for (const char* target : {"onnxruntime", "xnnpack"}) {
    CAPTURE(std::string(target));
    SessionOptions io, eo;
    io.mode = ExecutionMode::kInt;
    eo.mode = ExecutionMode::kExact;
    io.target = eo.target = target;
    Session si(sim.annotated_model(), io), se(sim.annotated_model(), eo);
    bool resize_in_float = false;
    for (const std::string& f : si.lowering_report()->float_nodes)
      resize_in_float = resize_in_float || f.find("(Resize): a linear Resize runs in float") != std::string::npos;
    CHECK(resize_in_float == (std::string(target) == "onnxruntime"));
    const std::vector<HostTensor> i = si.run({feed}), e = se.run({feed});
    REQUIRE(i[0].bytes.size() == e[0].bytes.size());
    CHECK(std::memcmp(i[0].bytes.data(), e[0].bytes.data(), i[0].bytes.size()) == 0);
  }
}
