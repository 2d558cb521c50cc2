// N-dimensional strided copies (by element size, any dtype): the common engine of
// Transpose, Slice and Expand.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace octet::kernels {

// dst[i0,...,ik] = src[i0,...,ik], where element (i0..ik) of src lies at
// sum(i_d * src_strides[d]) elements from `src` (strides may be 0 or negative), and
// likewise for dst. Pointers point at element (0,...,0).
struct StridedCopy {
  std::vector<int64_t> dims;
  std::vector<int64_t> src_strides;
  std::vector<int64_t> dst_strides;
};

// Dense row-major strides of `dims` (in elements).
std::vector<int64_t> dense_strides(const std::vector<int64_t>& dims);

// Drops size-1 dims and merges dims that are contiguous in both src and dst.
StridedCopy coalesce(const StridedCopy& c);

// Plain index-by-index copy.
void strided_copy_reference(const void* src, void* dst, size_t elem_size, const StridedCopy& c);
// Coalesced; memcpy of rows contiguous in both; cache-blocked 2-D tiles when the
// innermost destination dim is strided in src but some other dim is contiguous in src
// (transposes such as NCHW<->NHWC; on x86-64, SSE2 register transposes of 4x4 blocks of
// 4-byte elements and 8x8 blocks of 2- and 1-byte ones);
// OpenMP over outer blocks.
void strided_copy(const void* src, void* dst, size_t elem_size, const StridedCopy& c,
                  int threads);

}  // namespace octet::kernels
