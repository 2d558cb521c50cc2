// Issue 29, finding 9: `quantize` wrote an integer model whose requantization scale the kernels
// refuse, exit 0; the next `run` failed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "base/error.h"
#include "quant/integer_model.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

// x [1, 2, 4, 4] -> 1x1 Conv -> y with 8-bit encodings: input and weight scale 1, output scale
// `y_scale` (the requantization scale is 1 / y_scale).
std::shared_ptr<Graph> calibrated_conv(float y_scale) {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  QuantParams act;
  act.scale = {1.f};
  act.zero_point = {128};
  act.bitwidth = 8;
  TensorInfo x;
  x.name = "x";
  x.dtype = DType::kF32;
  x.shape = Shape::of({1, 2, 4, 4});
  x.quant = act;
  g->inputs.push_back(g->add_tensor(x));
  const std::vector<float> w{1.f, -1.f, 2.f, 1.f};
  const TensorId wid = g->add_constant("w", DType::kF32, {2, 2, 1, 1},
                                       Buffer::copy_of(reinterpret_cast<const std::byte*>(w.data()), 16));
  QuantParams wq;
  wq.scale = {1.f};
  wq.zero_point = {128};
  wq.bitwidth = 8;
  wq.symmetric = true;
  g->tensor(wid).quant = wq;
  TensorInfo y;
  y.name = "y";
  y.dtype = DType::kF32;
  y.quant = act;
  y.quant.scale = {y_scale};
  const TensorId yid = g->add_tensor(y);
  g->outputs.push_back(yid);
  g->nodes.push_back(Node{"conv", "Conv", {g->inputs[0], wid}, {yid}, {}});
  return g;
}

}  // namespace

TEST_CASE("integer model: a model the kernels would refuse is not written") {
  const fs::path dir = fs::temp_directory_path() / ("octet_int_save_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "q.octet").string();
  // Scale 1/0.5 = 2: written.
  quant::save_integer_model(*calibrated_conv(0.5f), "onnxruntime", quant::IntegerModelShapes{}, path);
  CHECK(fs::exists(path));
  fs::remove(path);
  // Scale 1/0.001 = 1000: beyond what requantization takes.
  std::string message;
  try {
    quant::save_integer_model(*calibrated_conv(0.001f), "onnxruntime", quant::IntegerModelShapes{}, path);
  } catch (const Error& e) {
    message = e.what();
  }
  CAPTURE(message);
  CHECK(message.find("integer model: the lowered model does not run, nothing written to " + path +
                     ": octet.QConv node 'conv': requantization scale 1000 is outside") != std::string::npos);
  CHECK_FALSE(fs::exists(path));
  fs::remove_all(dir);
}
