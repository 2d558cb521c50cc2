// QDQ ONNX export of a QuantSim: the exported model, run in float mode by octet's own
// QuantizeLinear/DequantizeLinear ops, equals octet's qdq simulation bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/qdq_export.h"
#include "quant/quantsim.h"
#include "tests/support/op_test_util.h"
#include "tests/support/test_paths.h"

using namespace octet;
using namespace octet::quant;

namespace {

using octet::test::data_path;

std::vector<float> run_model(std::shared_ptr<const Graph> model, ExecutionMode mode, const HostTensor& x) {
  return test::run_first_output(std::move(model), mode, x, 2);
}

QuantSim make_sim(const std::string& file, bool per_channel) {
  QuantSimOptions qo;
  qo.per_channel = per_channel;
  QuantSim sim(load_model(data_path(file)), QuantsimConfig::load_shipped("default_config"), qo);
  static const HostTensor calib = slice_rows(load_npy(data_path("mnist_calib_images.npy")), 0, 100);
  CalibrationOptions co;
  co.batch_size = 50;
  co.threads = 2;
  sim.calibrate(calib, co);
  return sim;
}

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("octet_qdq_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("qdq export: MNIST ResNet/MobileNet W8A8 exports equal the qdq simulation bit for bit") {
  static const HostTensor images = slice_rows(load_npy_dataset(data_path("mnist_test")), 0, 200);
  for (std::string file : {"mnist_resnet.onnx", "mnist_mobilenet.onnx"}) {
    for (bool per_channel : {false, true}) {
      CAPTURE(file);
      CAPTURE(per_channel);
      QuantSim sim = make_sim(file, per_channel);
      const std::string path = temp_file(file);
      export_qdq_onnx(sim, path);
      auto loaded = load_model(path);
      std::filesystem::remove(path);
      CHECK(loaded->opset >= 13);
      int q = 0, dq = 0, enabled = 0;
      for (const Node& n : loaded->nodes) {
        q += n.op_type == "QuantizeLinear";
        dq += n.op_type == "DequantizeLinear";
        if (n.op_type == "QuantizeLinear" && per_channel && loaded->tensor(n.inputs[0]).is_constant())
          CHECK(loaded->tensor(n.inputs[1]).shape.concrete().size() == 1);
      }
      for (const Quantizer& z : sim.quantizers()) enabled += z.enabled && z.encoding.has_value();
      CHECK(q == enabled);
      CHECK(dq == enabled);
      // Graph outputs keep their names.
      CHECK(loaded->tensor(loaded->outputs[0]).name == sim.model().tensor(sim.model().outputs[0]).name);

      const std::vector<float> sim_out = run_model(sim.annotated_model(), ExecutionMode::kQdq, images);
      const std::vector<float> qdq_out = run_model(loaded, ExecutionMode::kFloat, images);
      REQUIRE(sim_out.size() == qdq_out.size());
      size_t differ = 0;
      for (size_t i = 0; i < sim_out.size(); ++i)
        differ += std::memcmp(&sim_out[i], &qdq_out[i], sizeof(float)) != 0;
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("qdq export: zero-point types and refused bitwidths") {
  QuantSim sim = make_sim("mnist_resnet.onnx", true);
  auto g = qdq_graph(sim);
  bool saw_signed_weight = false, saw_unsigned_act = false;
  for (const Node& n : g->nodes) {
    if (n.op_type != "QuantizeLinear") continue;
    const TensorInfo& zp = g->tensor(n.inputs[2]);
    if (g->tensor(n.inputs[0]).is_constant()) {
      CHECK(zp.dtype == DType::kI8);  // symmetric weights
      CHECK(n.attrs.has("axis"));
      saw_signed_weight = true;
      for (size_t i = 0; i < zp.data->size(); ++i) CHECK(static_cast<int8_t>(zp.data->data()[i]) == 0);
    } else {
      CHECK(zp.dtype == DType::kU8);  // asymmetric activations
      saw_unsigned_act = true;
    }
  }
  CHECK(saw_signed_weight);
  CHECK(saw_unsigned_act);

  // 12 bits have no ONNX type: the error names the tensor.
  Quantizer* w = nullptr;
  for (Quantizer& z : sim.quantizers())
    if (z.role == QuantizerRole::kParam && z.encoding) w = &z;
  REQUIRE(w);
  for (Encoding& e : w->encoding->encodings) e.bitwidth = 12;
  try {
    qdq_graph(sim);
    FAIL("12-bit export should fail");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(w->tensor) != std::string::npos);
  }
}
