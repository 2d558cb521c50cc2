// Every format octet writes, written, read back and written again: the second writing must
// equal the first byte for byte (a round trip loses or changes nothing the format carries), and
// what a writer wrote must read back. Shared by the fuzz_write_read target and the test over the
// committed corpus. A writer that refuses a graph (octet::Error) skips that format.
#pragma once
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/host_tensor.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_loader.h"
#include "loaders/onnx_writer.h"
#include "quant/encodings_io.h"
#include "quant/quantsim.h"

namespace octet::fuzz {

// "at byte N: '...first...' vs '...second...'" around the first difference of two texts.
inline std::string first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const size_t from = i > 60 ? i - 60 : 0;
  return "at byte " + std::to_string(i) + ": '" + a.substr(from, 120) + "' vs '" +
         b.substr(from, 120) + "'";
}

// Empty when every round trip holds, else what broke.
inline std::string check_write_read(const std::shared_ptr<Graph>& model,
                                    const quant::SampleBatch& calibration) {
  std::vector<std::byte> octet1;
  try {
    octet1 = save_octet_bytes(*model);
  } catch (const Error&) {
  }
  if (!octet1.empty()) {
    std::shared_ptr<Graph> back;
    try {
      back = load_octet_bytes(octet1.data(), octet1.size(), nullptr, "written.octet");
    } catch (const Error& e) {
      return std::string(".octet written does not read back: ") + e.what();
    }
    if (save_octet_bytes(*back) != octet1) return ".octet written, read and written again differs";
  }
  std::string onnx1;
  try {
    OnnxWriteOptions o;
    o.external_data = OnnxExternalData::kNever;
    onnx1 = serialize_onnx(*model, o);
  } catch (const Error&) {
  }
  if (!onnx1.empty()) {
    std::shared_ptr<Graph> back;
    try {
      back = load_onnx_bytes(onnx1.data(), onnx1.size(), "written.onnx", "/nonexistent-octet-fuzz");
    } catch (const Error& e) {
      return std::string(".onnx written does not read back: ") + e.what();
    }
    OnnxWriteOptions o;
    o.external_data = OnnxExternalData::kNever;
    if (serialize_onnx(*back, o) != onnx1) return ".onnx written, read and written again differs";
  }
  if (calibration.inputs.empty()) return {};
  quant::EncodingsFile file;
  try {
    quant::QuantSim sim(model, quant::QuantsimConfig::load_shipped("default_config"));
    sim.calibrate(calibration, quant::CalibrationOptions{});
    file = quant::make_encodings_file(sim, "tf_enhanced");
  } catch (const Error&) {
    return {};
  }
  for (auto v : {quant::EncodingsVersion::kV0_6_1, quant::EncodingsVersion::kV1_0_0,
                 quant::EncodingsVersion::kV2_0_0}) {
    std::string text;
    try {
      text = quant::write_encodings_json(file, v);
    } catch (const Error&) {
      continue;
    }
    const std::string name = std::string("encodings ") + quant::encodings_version_name(v);
    quant::EncodingsFile back;
    try {
      back = quant::parse_encodings_json(text, "written.encodings");
    } catch (const Error& e) {
      return name + " written does not read back: " + e.what();
    }
    back.shapes = file.shapes;  // not in 0.6.1 / 1.0.0 files; the writer of 2.0.0 needs them
    std::string again;
    try {
      again = quant::write_encodings_json(back, v);
    } catch (const Error& e) {
      return name + " read back cannot be written again: " + e.what();
    }
    if (again != text)
      return name + " written, read and written again differs " + first_difference(text, again);
  }
  return {};
}

}  // namespace octet::fuzz
