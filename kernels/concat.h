// Concat and Split along one axis, by bytes: a tensor viewed as [outer, inner] where
// inner = dims[axis] * prod(dims[axis+1:]) * element size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace octet::kernels {

struct ConcatParams {
  int64_t outer = 1;                 // prod(dims[:axis])
  std::vector<int64_t> part_bytes;   // per input (Concat) / output (Split): inner bytes
};

// Concat: dst row o = [src_0 row o | src_1 row o | ...].
void concat_reference(const std::vector<const void*>& srcs, void* dst, const ConcatParams& p);
void concat(const std::vector<const void*>& srcs, void* dst, const ConcatParams& p, int threads);

// Split: the inverse; dsts[k] row o = src row o bytes [off_k, off_k + part_bytes[k]).
void split_reference(const void* src, const std::vector<void*>& dsts, const ConcatParams& p);
void split(const void* src, const std::vector<void*>& dsts, const ConcatParams& p, int threads);

}  // namespace octet::kernels
