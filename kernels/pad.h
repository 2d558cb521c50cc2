// Copies through per-dimension index maps, by element size: the engine of Pad (all
// modes, negative pads) and Tile.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace octet::kernels {

struct IndexMapCopy {
  std::vector<int64_t> src_dims;
  std::vector<int64_t> dst_dims;
  // maps[d][o] = source index along dim d of destination index o, or -1: the element
  // takes the fill value. maps.size() == rank, maps[d].size() == dst_dims[d]; no maps (empty
  // vectors) for a destination with no elements, which the copies leave alone.
  std::vector<std::vector<int64_t>> maps;
};

// Index maps of a pad along one dim of size n (after cropping negative pads).
// mode: 0 constant, 1 reflect, 2 edge, 3 wrap. Requires n > 0 unless mode is constant.
std::vector<int64_t> pad_index_map(int64_t n, int64_t pad_begin, int64_t pad_end, int mode);

void index_map_copy_reference(const void* src, void* dst, size_t elem_size,
                              const IndexMapCopy& m, const void* fill);
// Rows of the last dim are split into runs of consecutive source elements copied with
// memcpy; rows entirely outside the source are filled from a prebuilt fill row.
void index_map_copy(const void* src, void* dst, size_t elem_size, const IndexMapCopy& m,
                    const void* fill, int threads);

}  // namespace octet::kernels
