#include "kernels/concat.h"

#include <cstring>

#include "kernels/parallel.h"

namespace octet::kernels {
namespace {

constexpr int64_t kParallelBytes = int64_t(1) << 17;

int64_t row_bytes(const ConcatParams& p) {
  int64_t total = 0;
  for (int64_t b : p.part_bytes) total += b;
  return total;
}

// Moves between the whole rows (`whole`) and the parts; to_whole selects the direction.
void move_parts(unsigned char* whole, const std::vector<unsigned char*>& parts,
                const ConcatParams& p, bool to_whole, int threads) {
  const int64_t row = row_bytes(p);
  const size_t np = parts.size();
  std::vector<int64_t> offset(np);
  for (size_t k = 0, acc = 0; k < np; acc += p.part_bytes[k], ++k) offset[k] = acc;
  const int nt = p.outer > 1 && p.outer * row >= kParallelBytes ? threads : 1;
  parallel_for(p.outer, nt, [&](int64_t o, int) {
    for (size_t k = 0; k < np; ++k) {
      const int64_t b = p.part_bytes[k];
      if (b == 0 || !parts[k]) continue;
      if (to_whole) std::memcpy(whole + o * row + offset[k], parts[k] + o * b, b);
      else std::memcpy(parts[k] + o * b, whole + o * row + offset[k], b);
    }
  });
}

}  // namespace

void concat_reference(const std::vector<const void*>& srcs, void* dst, const ConcatParams& p) {
  // Byte by byte: destination byte (o, c) comes from the part whose range holds c.
  const int64_t row = row_bytes(p);
  auto* d = static_cast<unsigned char*>(dst);
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t c = 0; c < row; ++c) {
      size_t k = 0;
      int64_t base = 0;
      while (c >= base + p.part_bytes[k]) base += p.part_bytes[k++];
      d[o * row + c] = static_cast<const unsigned char*>(srcs[k])[o * p.part_bytes[k] + c - base];
    }
}

void concat(const std::vector<const void*>& srcs, void* dst, const ConcatParams& p, int threads) {
  std::vector<unsigned char*> parts;
  for (const void* s : srcs) parts.push_back(static_cast<unsigned char*>(const_cast<void*>(s)));
  move_parts(static_cast<unsigned char*>(dst), parts, p, true, threads);
}

void split_reference(const void* src, const std::vector<void*>& dsts, const ConcatParams& p) {
  const int64_t row = row_bytes(p);
  const auto* s = static_cast<const unsigned char*>(src);
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t c = 0; c < row; ++c) {
      size_t k = 0;
      int64_t base = 0;
      while (c >= base + p.part_bytes[k]) base += p.part_bytes[k++];
      if (dsts[k])
        static_cast<unsigned char*>(dsts[k])[o * p.part_bytes[k] + c - base] = s[o * row + c];
    }
}

void split(const void* src, const std::vector<void*>& dsts, const ConcatParams& p, int threads) {
  std::vector<unsigned char*> parts;
  for (void* d : dsts) parts.push_back(static_cast<unsigned char*>(d));
  move_parts(static_cast<unsigned char*>(const_cast<void*>(src)), parts, p, false, threads);
}

}  // namespace octet::kernels
