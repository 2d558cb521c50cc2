#include "kernels/gather.h"

#include <cstring>

#include "base/error.h"
#include "kernels/parallel.h"

namespace octet::kernels {
namespace {

inline int64_t index_at(const void* indices, bool is64, int64_t i) {
  return is64 ? static_cast<const int64_t*>(indices)[i]
              : static_cast<const int32_t*>(indices)[i];
}

}  // namespace

void check_gather_indices(const void* indices, bool index_is_64, const GatherParams& p,
                          const char* what) {
  for (int64_t i = 0; i < p.num_indices; ++i) {
    int64_t v = index_at(indices, index_is_64, i);
    if (v < -p.axis_dim || v >= p.axis_dim)
      fail(what, ": index ", v, " (position ", i, " of the indices) is out of range for an axis of size ",
           p.axis_dim, " (valid: ", -p.axis_dim, "..", p.axis_dim - 1, ")");
  }
}

void gather_reference(const void* data, const void* indices, bool index_is_64, void* dst,
                      const GatherParams& p) {
  const auto* s = static_cast<const unsigned char*>(data);
  auto* d = static_cast<unsigned char*>(dst);
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t i = 0; i < p.num_indices; ++i) {
      int64_t v = index_at(indices, index_is_64, i);
      if (v < 0) v += p.axis_dim;
      for (int64_t b = 0; b < p.inner_bytes; ++b)
        d[(o * p.num_indices + i) * p.inner_bytes + b] = s[(o * p.axis_dim + v) * p.inner_bytes + b];
    }
}

void gather(const void* data, const void* indices, bool index_is_64, void* dst,
            const GatherParams& p, int threads) {
  const auto* s = static_cast<const unsigned char*>(data);
  auto* d = static_cast<unsigned char*>(dst);
  const int64_t blocks = p.outer * p.num_indices;
  const int nt = blocks * p.inner_bytes >= (int64_t(1) << 17) && blocks > 1 ? threads : 1;
  const size_t n = static_cast<size_t>(p.inner_bytes);
  parallel_for(blocks, nt, [&](int64_t blk, int) {
    const int64_t o = blk / p.num_indices, i = blk % p.num_indices;
    int64_t v = index_at(indices, index_is_64, i);
    if (v < 0) v += p.axis_dim;
    std::memcpy(d + blk * p.inner_bytes, s + (o * p.axis_dim + v) * p.inner_bytes, n);
  });
}

}  // namespace octet::kernels
