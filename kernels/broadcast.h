// Numpy-style (multidirectional) broadcasting: output shapes, and iteration plans that
// walk K broadcast inputs and the contiguous output in runs along the innermost dimension.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace octet::kernels {

using Dims = std::vector<int64_t>;

// Broadcast shape of a and b (right-aligned; each dim pair equal or one of them 1).
// Returns false when the shapes are incompatible.
bool broadcast_dims(const Dims& a, const Dims& b, Dims* out);
// True when `in` broadcasts to exactly `out` (unidirectional broadcasting).
bool broadcasts_to(const Dims& in, const Dims& out);

// Inputs broadcast to the output, with adjacent dimensions merged wherever every input
// stays contiguous-or-broadcast across them, and size-1 output dims dropped.
struct BroadcastPlan {
  Dims dims;                         // merged output dims, at least one
  std::vector<Dims> strides;         // per input, element stride per merged dim (0: broadcast)
  int64_t numel = 0;

  int64_t inner() const { return dims.back(); }
  // Element stride of input k along the innermost dim: 0 (one value repeated) or 1.
  int64_t inner_stride(size_t k) const { return strides[k].back(); }
};

// Every input must broadcast to `out` (checked by the caller).
BroadcastPlan make_broadcast_plan(const std::vector<Dims>& inputs, const Dims& out);

// Calls fn(offsets, out_offset, count) for each run of the output range [begin, end): the
// run covers output elements out_offset .. out_offset+count-1, input k starts at offsets[k]
// and advances by inner_stride(k).
template <size_t K, class Fn>
void for_each_run(const BroadcastPlan& p, int64_t begin, int64_t end, Fn&& fn) {
  if (begin >= end) return;
  const size_t R = p.dims.size();
  const int64_t inner = p.inner();
  int64_t row = begin / inner, col = begin % inner;
  // Odometer over the outer dims, with each input's offset of the row start.
  std::vector<int64_t> idx(R, 0);
  std::array<int64_t, K> base{};
  for (size_t d = R - 1; d-- > 0;) {
    idx[d] = row % p.dims[d];
    row /= p.dims[d];
    for (size_t k = 0; k < K; ++k) base[k] += idx[d] * p.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(inner - col, end - pos);
    std::array<int64_t, K> off;
    for (size_t k = 0; k < K; ++k) off[k] = base[k] + col * p.strides[k][R - 1];
    fn(off, pos, n);
    pos += n;
    col = 0;
    for (size_t d = R - 1; d-- > 0;) {
      for (size_t k = 0; k < K; ++k) base[k] += p.strides[k][d];
      if (++idx[d] < p.dims[d]) break;
      for (size_t k = 0; k < K; ++k) base[k] -= p.strides[k][d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

// Splits the output into chunks processed by OpenMP threads (one chunk, in this thread,
// for small outputs); each chunk is walked with for_each_run.
template <size_t K, class Fn>
void parallel_runs(const BroadcastPlan& p, int threads, Fn&& fn) {
  constexpr int64_t kChunk = 32768;
  const int64_t n = p.numel;
  if (n <= 0) return;
  if (threads <= 1 || n < 2 * kChunk) {
    for_each_run<K>(p, 0, n, fn);
    return;
  }
  const int64_t chunks = std::min<int64_t>((n + kChunk - 1) / kChunk, int64_t{threads} * 4);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    for_each_run<K>(p, n * c / chunks, n * (c + 1) / chunks, fn);
  }
}

// Element offset in an input of dims `in` for the output multi-index `idx` (right-aligned);
// the plain per-element walk used by the reference kernels.
inline int64_t broadcast_offset(const Dims& in, const Dims& out, const int64_t* idx) {
  int64_t off = 0, stride = 1;
  const size_t shift = out.size() - in.size();
  for (size_t d = in.size(); d-- > 0;) {
    if (in[d] != 1) off += idx[d + shift] * stride;
    stride *= in[d];
  }
  return off;
}

// Advances a row-major multi-index over `dims` by one.
inline void next_index(const Dims& dims, int64_t* idx) {
  for (size_t d = dims.size(); d-- > 0;) {
    if (++idx[d] < dims[d]) return;
    idx[d] = 0;
  }
}

}  // namespace octet::kernels
