#include "kernels/pad.h"

#include <cstring>

#include "base/dims.h"
#include "kernels/parallel.h"
#include "kernels/strided_copy.h"

namespace octet::kernels {

std::vector<int64_t> pad_index_map(int64_t n, int64_t pad_begin, int64_t pad_end, int mode) {
  // Negative pads crop: the kept source range is [crop_b, n - crop_e).
  const int64_t crop_b = pad_begin < 0 ? -pad_begin : 0;
  const int64_t crop_e = pad_end < 0 ? -pad_end : 0;
  const int64_t kept = n - crop_b - crop_e;  // caller ensures >= 0
  const int64_t pb = pad_begin > 0 ? pad_begin : 0, pe = pad_end > 0 ? pad_end : 0;
  std::vector<int64_t> map(static_cast<size_t>(pb + kept + pe));
  for (int64_t o = 0; o < static_cast<int64_t>(map.size()); ++o) {
    int64_t i = o - pb;  // index into the kept range
    if (i < 0 || i >= kept) {
      switch (mode) {
        case 0: map[o] = -1; continue;
        case 1:  // reflect (mirror without repeating the edge), periodic 2*(kept-1)
          if (kept == 1) {
            i = 0;
          } else {
            const int64_t period = 2 * (kept - 1);
            i %= period;
            if (i < 0) i += period;
            if (i >= kept) i = period - i;
          }
          break;
        case 2: i = i < 0 ? 0 : kept - 1; break;
        default:
          i %= kept;
          if (i < 0) i += kept;
          break;
      }
    }
    map[o] = i + crop_b;
  }
  return map;
}

void index_map_copy_reference(const void* src, void* dst, size_t elem_size,
                              const IndexMapCopy& m, const void* fill) {
  const size_t r = m.dst_dims.size();
  const auto src_strides = dense_strides(m.src_dims);
  int64_t total = checked_numel(m.dst_dims);
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t rest = flat, off = 0;
    bool filled = false;
    for (size_t k = r; k-- > 0;) {
      int64_t o = rest % m.dst_dims[k];
      rest /= m.dst_dims[k];
      int64_t i = m.maps[k][o];
      if (i < 0) filled = true;
      else off += i * src_strides[k];
    }
    std::memcpy(d + flat * elem_size, filled ? fill : s + off * elem_size, elem_size);
  }
}

void index_map_copy(const void* src, void* dst, size_t elem_size, const IndexMapCopy& m,
                    const void* fill, int threads) {
  const size_t r = m.dst_dims.size();
  if (r > 0 && checked_numel(m.dst_dims) == 0) return;  // no maps are built for an empty output
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (r == 0) {
    std::memcpy(d, s, elem_size);
    return;
  }
  int64_t rows = 1;
  for (size_t k = 0; k + 1 < r; ++k) rows *= m.dst_dims[k];
  const int64_t row_len = m.dst_dims[r - 1];
  if (rows == 0 || row_len == 0) return;
  const auto src_strides = dense_strides(m.src_dims);
  const int64_t es = static_cast<int64_t>(elem_size);

  // Runs of the last dim: [dst_begin, len, src_begin or -1].
  struct Run {
    int64_t dst, len, src;
  };
  std::vector<Run> runs;
  const auto& lm = m.maps[r - 1];
  for (int64_t o = 0; o < row_len; ++o) {
    int64_t i = lm[o];
    if (!runs.empty()) {
      Run& b = runs.back();
      if ((i < 0 && b.src < 0) || (i >= 0 && b.src >= 0 && i == b.src + b.len)) {
        ++b.len;
        continue;
      }
    }
    runs.push_back({o, 1, i});
  }
  std::vector<unsigned char> fill_row(static_cast<size_t>(row_len * es));
  for (int64_t o = 0; o < row_len; ++o) std::memcpy(fill_row.data() + o * es, fill, elem_size);

  const int nt = rows * row_len * es >= (int64_t(1) << 17) && rows > 1 ? threads : 1;
  parallel_for(rows, nt, [&](int64_t row, int) {
    unsigned char* drow = d + row * row_len * es;
    int64_t rest = row, off = 0;
    bool filled = false;
    for (size_t k = r - 1; k-- > 0;) {
      int64_t o = rest % m.dst_dims[k];
      rest /= m.dst_dims[k];
      int64_t i = m.maps[k][o];
      if (i < 0) filled = true;
      else off += i * src_strides[k];
    }
    if (filled) {
      std::memcpy(drow, fill_row.data(), static_cast<size_t>(row_len * es));
      return;
    }
    const unsigned char* srow = s + off * es;
    for (const Run& run : runs) {
      if (run.src < 0) std::memcpy(drow + run.dst * es, fill_row.data(), run.len * es);
      else std::memcpy(drow + run.dst * es, srow + run.src * es, run.len * es);
    }
  });
}

}  // namespace octet::kernels
