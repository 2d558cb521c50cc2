// Issue 28, item 4: an ONNX QDQ model in the form AIMET 2.x writes it (aimet_onnx
// QuantizationSimModel.to_onnx_qdq, aimet_torch.onnx.export; rules read in AIMET 2.15's
// aimet_common/onnx/_utils.py and aimet_onnx/quantsim.py): every quantizer a QuantizeLinear ->
// DequantizeLinear pair named QcQuantizeOp_<tensor>_q / _dq; weights kept as float initializers
// holding their quantize-dequantized values, then Q -> DQ; biases as int32 initializers
// (scale = input scale x weight scale, zero point 0) read through a DequantizeLinear;
// activations unsigned. Built here from a calibrated MNIST model by those rules, it must run on
// the integer kernels exactly like octet's own QDQ export of the same encodings.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "loaders/model_loader.h"
#include "loaders/onnx_writer.h"
#include "quant/qdq_export.h"
#include "quant/quantsim.h"
#include "tests/support/mnist_eval_util.h"
#include "tests/support/ptq_test_util.h"

using namespace octet;
using namespace octet::quant;
namespace fs = std::filesystem;

namespace {

std::vector<float> floats(const Graph& g, TensorId id) {
  const TensorInfo& t = g.tensor(id);
  REQUIRE((t.is_constant() && t.dtype == DType::kF32));
  const float* p = t.data->as<float>();
  return std::vector<float>(p, p + checked_numel(t.shape.concrete()));
}

// Zero points of a Q/DQ node as integers (any 8-bit or 32-bit type).
std::vector<int64_t> zero_points(const Graph& g, TensorId id) {
  const TensorInfo& t = g.tensor(id);
  const int64_t n = checked_numel(t.shape.concrete());
  std::vector<int64_t> z(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kU8: z[size_t(i)] = t.data->as<uint8_t>()[i]; break;
      case DType::kI8: z[size_t(i)] = t.data->as<int8_t>()[i]; break;
      default: FAIL("zero point type ", dtype_name(t.dtype));
    }
  }
  return z;
}

const Node* producer(const Graph& g, TensorId id) {
  for (const Node& n : g.nodes)
    for (TensorId o : n.outputs)
      if (o == id) return &n;
  return nullptr;
}

// octet's QDQ graph rewritten into AIMET's form.
std::shared_ptr<Graph> aimet_form(const Graph& own) {
  auto g = std::make_shared<Graph>(own);
  int weights = 0, biases = 0;
  // Weights: the float initializer holds its quantize-dequantized values (ONNX's arithmetic:
  // round half to even of x / scale in float, saturate, (q - zp) * scale).
  for (Node& n : g->nodes) {
    if (n.op_type != "QuantizeLinear" || !g->tensor(n.inputs[0]).is_constant()) continue;
    const Dims dims = g->tensor(n.inputs[0]).shape.concrete();
    std::vector<float> w = floats(*g, n.inputs[0]);
    const std::vector<float> scale = floats(*g, n.inputs[1]);
    const std::vector<int64_t> zp = zero_points(*g, n.inputs[2]);
    const bool is_signed = g->tensor(n.inputs[2]).dtype == DType::kI8;
    const int64_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    const int64_t inner = scale.size() == 1 ? int64_t(w.size()) : int64_t(w.size()) / dims[0];
    for (size_t i = 0; i < w.size(); ++i) {
      const size_t c = scale.size() == 1 ? 0 : i / size_t(inner);  // AIMET's Conv weight axis: 0
      const float s = scale[c];
      const int64_t q = std::min(hi, std::max(lo, int64_t(std::nearbyint(w[i] / s)) + zp[c]));
      w[i] = float(q - zp[c]) * s;
    }
    const TensorInfo info = g->tensor(n.inputs[0]);
    n.inputs[0] = g->add_constant(info.name + "_qdq", DType::kF32, dims,
                                  Buffer::copy_of(reinterpret_cast<const std::byte*>(w.data()), w.size() * 4));
    ++weights;
  }
  // Biases: int32 codes at input scale x weight scale, zero point 0, through a DequantizeLinear.
  std::vector<Node> added;
  for (Node& n : g->nodes) {
    if ((n.op_type != "Conv" && n.op_type != "Gemm") || n.inputs.size() < 3 || !g->tensor(n.inputs[2]).is_constant())
      continue;
    const Node* x_dq = producer(*g, n.inputs[0]);
    const Node* w_dq = producer(*g, n.inputs[1]);
    // AIMET writes an int32 bias where the input and the weight are quantized.
    if (!x_dq || !w_dq || x_dq->op_type != "DequantizeLinear" || w_dq->op_type != "DequantizeLinear") continue;
    const float s_x = floats(*g, x_dq->inputs[1])[0];
    const std::vector<float> s_w = floats(*g, w_dq->inputs[1]);
    const std::vector<float> b = floats(*g, n.inputs[2]);
    std::vector<float> s_b(b.size());
    std::vector<int32_t> q(b.size()), zero(b.size(), 0);
    for (size_t c = 0; c < b.size(); ++c) {
      s_b[c] = s_x * s_w[s_w.size() == 1 ? 0 : c];
      q[c] = int32_t(std::nearbyint(b[c] / s_b[c]));
    }
    const std::string name = g->tensor(n.inputs[2]).name;
    const Dims d{int64_t(b.size())};
    const TensorId qt = g->add_constant(name + "_q", DType::kI32, d,
                                        Buffer::copy_of(reinterpret_cast<const std::byte*>(q.data()), q.size() * 4));
    const TensorId st = g->add_constant(name + "_scale", DType::kF32, d,
                                        Buffer::copy_of(reinterpret_cast<const std::byte*>(s_b.data()), s_b.size() * 4));
    const TensorId zt = g->add_constant(name + "_zero_point", DType::kI32, d,
                                        Buffer::copy_of(reinterpret_cast<const std::byte*>(zero.data()), zero.size() * 4));
    const TensorId out = g->add_unique_tensor(name + "_qdq", DType::kF32);
    Node dq{"QcQuantizeOp_" + name + "_dq", "DequantizeLinear", {qt, st, zt}, {out}, {}};
    dq.attrs.set("axis", int64_t{0});
    added.push_back(dq);
    n.inputs[2] = out;
    ++biases;
  }
  for (Node& n : added) g->nodes.push_back(std::move(n));
  // AIMET's node names.
  for (Node& n : g->nodes) {
    const size_t slash = n.name.rfind('/');
    if (slash == std::string::npos) continue;
    const std::string tensor = n.name.substr(0, slash);
    if (n.op_type == "QuantizeLinear") n.name = "QcQuantizeOp_" + tensor + "_q";
    if (n.op_type == "DequantizeLinear") n.name = "QcQuantizeOp_" + tensor + "_dq";
  }
  g->topo_sort();
  CHECK(weights > 0);
  CHECK(biases > 0);
  return g;
}

}  // namespace

TEST_CASE("aimet files: a QDQ model in AIMET's form runs on the integer kernels like octet's own export") {
  using octet::testing::bit_equal;
  using octet::testing::run_mnist;
  QuantSimOptions qo;
  qo.per_channel = true;
  QuantSim sim(load_model(octet::ptq_test::data_path("mnist_resnet.onnx")),
               QuantsimConfig::load_shipped("default_config"), qo);
  CalibrationOptions co;
  co.batch_size = 50;
  sim.calibrate(octet::ptq_test::mnist_calib(200), co);
  const std::shared_ptr<Graph> own = qdq_graph(sim);
  const std::shared_ptr<Graph> aimet = aimet_form(*own);

  const fs::path dir = fs::temp_directory_path() / ("octet_aimet_qdq_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  save_onnx(*own, (dir / "own.onnx").string());
  save_onnx(*aimet, (dir / "aimet.onnx").string());
  const auto own_loaded = load_model((dir / "own.onnx").string());
  const auto aimet_loaded = load_model((dir / "aimet.onnx").string());
  fs::remove_all(dir);

  LoweringReport report;
  const auto a_int = run_mnist(aimet_loaded, ExecutionMode::kInt, 2, "onnxruntime", &report, 500);
  const auto a_exact = run_mnist(aimet_loaded, ExecutionMode::kExact, 2, "onnxruntime", nullptr, 500);
  const auto o_int = run_mnist(own_loaded, ExecutionMode::kInt, 2, "onnxruntime", nullptr, 500);
  MESSAGE("AIMET-form QDQ MNIST ResNet W8A8 per-channel: int " << a_int.percent() << "% on 500 images, "
          << report.integer_nodes << " integer nodes, " << report.float_nodes.size() << " float");
  for (const std::string& f : report.float_nodes) MESSAGE("  float: " << f);
  CHECK(report.float_nodes.empty());
  CHECK(bit_equal(a_int.logits, a_exact.logits));
  // The same encodings: the same predictions. Codes can differ by one where the lowering widens
  // a channel's scale (a weight at code -128 of the reloaded full-range int8 grid, which the
  // profile's narrow weights exclude): the codes at the widened scale are rounded from AIMET's
  // on-grid values in one model and from the original weights in the other.
  int64_t agree = 0;
  double worst = 0;
  for (size_t r = 0; r * 10 < a_int.logits.size(); ++r) {
    size_t ba = 0, bo = 0;
    for (size_t c = 1; c < 10; ++c) {
      if (a_int.logits[r * 10 + c] > a_int.logits[r * 10 + ba]) ba = c;
      if (o_int.logits[r * 10 + c] > o_int.logits[r * 10 + bo]) bo = c;
    }
    agree += ba == bo;
    for (size_t c = 0; c < 10; ++c)
      worst = std::max(worst, double(std::fabs(a_int.logits[r * 10 + c] - o_int.logits[r * 10 + c])));
  }
  MESSAGE("top-1 agreement with octet's own export " << agree << " / 500, max logit difference " << worst);
  CHECK(agree >= 497);


}
