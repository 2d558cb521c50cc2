// Gather along one axis, by bytes: data viewed as [outer, axis_dim, inner_bytes].
#pragma once
#include <cstddef>
#include <cstdint>

namespace octet::kernels {

struct GatherParams {
  int64_t outer = 1;        // prod(data dims before axis)
  int64_t axis_dim = 0;     // data dims[axis]
  int64_t inner_bytes = 0;  // prod(data dims after axis) * element size
  int64_t num_indices = 0;  // numel(indices)
};

// Checks every index lies in [-axis_dim, axis_dim - 1]; throws octet::Error naming the
// first bad one. `indices` are int32 (index_is_64 = false) or int64.
void check_gather_indices(const void* indices, bool index_is_64, const GatherParams& p,
                          const char* what);

// dst[o, i, :] = data[o, idx(i), :] with negative indices counted from the end.
// The indices must have been checked.
void gather_reference(const void* data, const void* indices, bool index_is_64, void* dst,
                      const GatherParams& p);
void gather(const void* data, const void* indices, bool index_is_64, void* dst,
            const GatherParams& p, int threads);

}  // namespace octet::kernels
