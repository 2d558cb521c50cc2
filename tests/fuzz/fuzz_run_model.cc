// libFuzzer target: a fuzzed ONNX model is loaded, prepared and run, so shape inference,
// constant folding, the passes and the kernels see hostile shapes and attributes. Symbolic
// input dimensions are fixed to 2; inputs hold small values (integers in [-2, 2], so that
// shape and index inputs are plausible). The session's memory is capped (64 MiB): a model
// that plans more must fail with octet::Error before allocating. Each model runs with the
// optimized kernels and with the reference kernels.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "engine/session.h"
#include "loaders/onnx_loader.h"

namespace {

constexpr size_t kMemoryLimit = size_t(64) << 20;
constexpr int64_t kMaxInputElements = int64_t(1) << 16;

// Returns false when the input cannot be made (no rank, too large): the model is skipped.
bool make_input(const octet::TensorInfo& info, octet::SessionOptions& options, octet::HostTensor& out) {
  if (!info.shape.has_rank) return false;
  octet::Dims dims;
  bool symbolic = false;
  for (const octet::Dim& d : info.shape.dims) {
    symbolic |= !d.is_known();
    dims.push_back(d.is_known() ? d.value : 2);
  }
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d > kMaxInputElements) return false;
    n *= d;
    if (n > kMaxInputElements) return false;
  }
  if (symbolic) options.input_shapes[info.name] = dims;
  out.name = info.name;
  out.dtype = info.dtype;
  out.dims = dims;
  out.bytes.assign(octet::dtype_storage_bytes(info.dtype, n), std::byte{0});
  const size_t elem = octet::dtype_size(info.dtype);
  for (int64_t i = 0; elem != 0 && i < n; ++i) {
    std::byte* p = out.bytes.data() + size_t(i) * elem;
    if (info.dtype == octet::DType::kF32) {
      const float v = float(i % 7) * 0.37f - 1.f;
      std::memcpy(p, &v, 4);
    } else if (octet::dtype_is_integer(info.dtype)) {
      const int64_t v = i % 5 - 2;  // little-endian: the low bytes of v are v in narrower types
      std::memcpy(p, &v, elem < 8 ? elem : 8);
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<octet::Graph> model;
  try {
    model = octet::load_onnx_bytes(data, size, "fuzz.onnx", "/nonexistent-octet-fuzz");
  } catch (const octet::Error&) {
    return 0;
  }
  octet::SessionOptions options;
  options.max_memory_bytes = kMemoryLimit;
  std::vector<octet::HostTensor> inputs;
  try {
    for (octet::TensorId id : model->inputs) {
      const octet::TensorInfo& info = model->tensor(id);
      if (info.is_constant()) continue;
      octet::HostTensor t;
      if (!make_input(info, options, t)) return 0;
      inputs.push_back(std::move(t));
    }
  } catch (const octet::Error&) {  // e.g. a dtype that has no storage size
    return 0;
  }
  for (bool reference : {false, true}) {
    options.reference_kernels = reference;
    try {
      octet::Session session(model, options);
      session.run(inputs);
    } catch (const octet::Error&) {
    }
  }
  return 0;
}
