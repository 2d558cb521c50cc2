// Weights on the integer kernels: an encoding whose grid reaches a code the target profile's
// weights exclude (AIMET's symmetric grid has -128, narrow int8 weights stop at -127).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/session.h"
#include "tests/support/op_test_util.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;

// Issue 27, finding 7: per-channel weights put a channel's dominant weight at code -128; the
// lowering clamped it to -127, shifting that channel's every output (BodyPix: 4 dB below qdq).
TEST_CASE("lowering: a weight at code -128 widens its channel's scale instead of being clamped") {
  test::GraphBuilder b;
  TensorId x = b.input("x", {1, 2, 6, 6});
  TensorId y = b.conv(x, 3, 3, 1, 1, 1, false, 7);
  b.output(y);
  Graph& g = *b.g;
  // Channel 1's centre tap (input channel 0) is the one code -128 of the whole tensor.
  const Node& conv = g.nodes.back();
  std::vector<float> w(3 * 2 * 9);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * float(int(i % 11) - 5);
  const std::vector<float> scales{0.05f, 0.02f, 0.04f};
  w[1 * 18 + 4] = -128 * scales[1];
  g.tensor(conv.inputs[1]).data = Buffer::copy_of(w.data(), w.size() * 4);
  QuantParams wq;
  wq.scale = scales;
  wq.zero_point = {128, 128, 128};  // AIMET symmetric, not strict: grid [-128, 127]
  wq.axis = 0;
  wq.bitwidth = 8;
  wq.symmetric = true;
  g.tensor(conv.inputs[1]).quant = wq;
  QuantParams act;
  act.bitwidth = 8;
  act.scale = {1.f / 64};
  act.zero_point = {128};
  g.tensor(x).quant = act;
  act.scale = {1.f / 16};
  g.tensor(y).quant = act;

  const HostTensor input = HostTensor::from<float>("x", {1, 2, 6, 6}, test::random_floats(72, 3, 1.0f, 1.9f));
  // A u8 profile with narrow int8 weights [-127, 127] (as xnnpack's and tflite's are).
  const std::string narrow = (std::filesystem::temp_directory_path() / "octet_narrow_u8.json").string();
  std::ofstream(narrow) << R"({"name": "narrow-u8", "activation_type": "uint8", "weight_range": "narrow",
                               "requantization": "fp32", "quantize_rounding": "half-even"})";
  auto run = [&](ExecutionMode mode, std::vector<std::string>* notes = nullptr) {
    SessionOptions o;
    o.mode = mode;
    o.target = narrow;
    Session s(std::make_shared<const Graph>(g), o);
    if (notes) *notes = s.lowering_report()->notes;
    return s.run({input})[0];
  };
  std::vector<std::string> notes;
  const HostTensor q = run(ExecutionMode::kQdq), i = run(ExecutionMode::kInt, &notes), e = run(ExecutionMode::kExact);
  bool noted = false;
  for (const std::string& n : notes) noted = noted || n.find("1 of 3 output channels' scales widened") != std::string::npos;
  CHECK(noted);
  CHECK(i.bytes == e.bytes);
  // Channel 1 (outputs 36..71): int within one output step of qdq and not shifted on average,
  // as the clamped tap shifted it (by 0.02 x, about a third of a step, on every output).
  double worst = 0, mean = 0;
  for (int p = 0; p < 36; ++p) {
    const double d = double(i.values<float>()[size_t(36 + p)]) - double(q.values<float>()[size_t(36 + p)]);
    worst = std::max(worst, std::fabs(d));
    mean += d / 36;
  }
  CHECK(worst <= 1.0 / 16 + 1e-6);
  CHECK(std::fabs(mean) < 0.2 / 16);
}
