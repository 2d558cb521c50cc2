// Target profile files (engine/target_profile.h): the optional keys and the shipped profiles.
#include <doctest/doctest.h>

#include <string>

#include "base/error.h"
#include "engine/target_profile.h"

using namespace octet;

TEST_CASE("target profile: 'arithmetic' picks the formulas of Add, Mul and global pooling") {
  const std::string base = R"({"name": "t", "activation_type": "uint8", "weight_range": "full",
      "requantization": "fp32", "quantize_rounding": "half-even")";
  CHECK(parse_target_profile(base + "}", "p.json").arithmetic == kernels::OpArithmetic::kRequantization);
  CHECK(parse_target_profile(base + R"(, "arithmetic": "mlas"})", "p.json").arithmetic ==
        kernels::OpArithmetic::kMlas);
  CHECK(parse_target_profile(base + R"(, "arithmetic": "requantization"})", "p.json").arithmetic ==
        kernels::OpArithmetic::kRequantization);
  CHECK_THROWS_WITH_AS(parse_target_profile(base + R"(, "arithmetic": "xnnpack"})", "p.json"),
                       doctest::Contains("p.json: arithmetic must be \"requantization\" or \"mlas\""), Error);
  // ONNX Runtime's profile: its own kernels' formulas, and s8 weights over the full range (the
  // VNNI path multiplies -128 exactly).
  const TargetProfile ort = load_target_profile("onnxruntime");
  CHECK(ort.arithmetic == kernels::OpArithmetic::kMlas);
  CHECK(ort.weight_min(8) == -128);
  for (const char* other : {"xnnpack", "tflite", "tflite-single-rounding"})
    CHECK(load_target_profile(other).arithmetic == kernels::OpArithmetic::kRequantization);
}
