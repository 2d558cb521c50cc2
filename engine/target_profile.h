// A target profile: the integer arithmetic of one runtime (activation type, weight range,
// requantization scheme; see quant/profiles/*.json). The integer lowering and the `exact`
// simulation read the same profile.
//
// File format (JSON, every key required, unknown keys rejected):
//   {"name": "onnxruntime",
//    "activation_type": "uint8" | "int8",
//    "weight_range": "narrow" | "full",     narrow: int8 [-127, 127], int4 [-7, 7]
//    "requantization": "fp32" | "fixed-point" | "fixed-point-single",
//    "quantize_rounding": "half-even" | "half-away",   float -> code at the graph inputs
//    "activation_type_16": "uint16" | "int16" | "none",  optional (default "none"): the code
//        type of 16-bit activation encodings (W8A16). "uint16": asymmetric, any zero point
//        (QNN-style u16); "int16": symmetric, zero point 0 (TFLite 16x8); "none": 16-bit
//        activations stay in float (fake-quantized).
//    "arithmetic": "requantization" | "mlas"}  optional (default "requantization"): the formulas
//        of 8-bit Add, Mul and GlobalAveragePool. "requantization": those of the requantization
//        scheme (kernels/qeltwise.h, kernels/qpool_global.h); "mlas": ONNX Runtime's
//        QLinearAdd / QLinearMul / QLinearGlobalAveragePool (MLAS, x86-64).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include "base/dtype.h"
#include "kernels/requant.h"

namespace octet {

struct TargetProfile {
  std::string name = "onnxruntime";
  DType activation_type = DType::kU8;
  bool narrow_weights = true;
  kernels::RequantScheme requant = kernels::RequantScheme::kFp32;
  bool quantize_half_away = false;
  // Code type of 16-bit activation encodings: kU16, kI16, or kUndefined (none: float).
  DType activation_type_16 = DType::kUndefined;
  kernels::OpArithmetic arithmetic = kernels::OpArithmetic::kRequantization;

  // Code range of weights of `bits` bits (4 or 8).
  int32_t weight_min(int bits) const;
  int32_t weight_max(int bits) const;
};

TargetProfile parse_target_profile(std::string_view json_text, const std::string& source);
TargetProfile load_target_profile_file(const std::filesystem::path& path);
// A shipped profile by name (quant/profiles/<name>.json), or a path to a .json file.
TargetProfile load_target_profile(const std::string& name_or_path);
std::filesystem::path shipped_profile_dir();

}  // namespace octet
