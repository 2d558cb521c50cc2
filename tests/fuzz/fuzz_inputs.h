// The inputs the model-running fuzz targets feed a fuzzed model: symbolic dimensions fixed to 2,
// small values (integers in [-2, 2], so that shape and index inputs are plausible), at most
// kMaxInputElements each; sessions capped at kMemoryLimit (a model that plans more must fail
// with octet::Error before allocating).
#pragma once
#include <cstring>
#include <vector>

#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "engine/session.h"

namespace octet::fuzz {

constexpr size_t kMemoryLimit = size_t(64) << 20;
constexpr int64_t kMaxInputElements = int64_t(1) << 16;

// Returns false when the input cannot be made (no rank, too large): the model is skipped.
inline bool make_input(const TensorInfo& info, SessionOptions& options, HostTensor& out) {
  if (!info.shape.has_rank) return false;
  Dims dims;
  bool symbolic = false;
  for (const Dim& d : info.shape.dims) {
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
  out.bytes.assign(dtype_storage_bytes(info.dtype, n), std::byte{0});
  const size_t elem = dtype_size(info.dtype);
  for (int64_t i = 0; elem != 0 && i < n; ++i) {
    std::byte* p = out.bytes.data() + size_t(i) * elem;
    if (info.dtype == DType::kF32) {
      const float v = float(i % 7) * 0.37f - 1.f;
      std::memcpy(p, &v, 4);
    } else if (dtype_is_integer(info.dtype)) {
      const int64_t v = i % 5 - 2;  // little-endian: the low bytes of v are v in narrower types
      std::memcpy(p, &v, elem < 8 ? elem : 8);
    }
  }
  return true;
}

// Every fed input of `model` (octet::Error for a dtype without a storage size); false when one
// cannot be made.
inline bool make_inputs(const Graph& model, SessionOptions& options, std::vector<HostTensor>& inputs) {
  for (TensorId id : model.inputs) {
    const TensorInfo& info = model.tensor(id);
    if (info.is_constant()) continue;
    HostTensor t;
    if (!make_input(info, options, t)) return false;
    inputs.push_back(std::move(t));
  }
  return true;
}

}  // namespace octet::fuzz
