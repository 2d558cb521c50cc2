// Issue 29, finding 9: `quantize` wrote an integer model whose requantization scale the kernels
// refuse, exit 0; the next `run` failed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "base/error.h"
#include "quant/integer_model.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

// x [1, 2, 4, 4] -> 1x1 Conv -> y with 8-bit encodings: input and weight scale 1, output scale
// `y_scale` (the requantization scale is 1 / y_scale).
std::shared_ptr<Graph> calibrated_conv(float y_scale) {
  test::GraphBuilder b;
  const TensorId x = b.input("x", {1, 2, 4, 4});
  const TensorId w = b.constant("w", {2, 2, 1, 1}, {1.f, -1.f, 2.f, 1.f});
  const TensorId y = b.node("Conv", {x, w}, {1, 2, 4, 4}, {}, "y");
  b.output(y);
  QuantParams act;
  act.scale = {1.f};
  act.zero_point = {128};
  act.bitwidth = 8;
  b.g->tensor(x).quant = act;
  b.g->tensor(y).quant = act;
  b.g->tensor(y).quant.scale = {y_scale};
  QuantParams wq = act;
  wq.symmetric = true;
  b.g->tensor(w).quant = wq;
  return b.g;
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
                     ": octet.QConv node 'Conv_0': requantization scale 1000 is outside") != std::string::npos);
  CHECK_FALSE(fs::exists(path));
  fs::remove_all(dir);
}
