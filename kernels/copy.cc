#include "kernels/copy.h"

#include <algorithm>
#include <cstring>

#include "kernels/parallel.h"

namespace octet::kernels {

void copy_bytes(const void* src, void* dst, size_t bytes, int threads) {
  if (src == dst || bytes == 0) return;
  constexpr size_t kChunk = size_t(1) << 20;
  if (bytes < 2 * kChunk || threads <= 1) {
    std::memmove(dst, src, bytes);
    return;
  }
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  const long chunks = static_cast<long>((bytes + kChunk - 1) / kChunk);
  parallel_for(chunks, threads, [&](int64_t c, int) {
    size_t begin = static_cast<size_t>(c) * kChunk;
    std::memcpy(d + begin, s + begin, std::min(kChunk, bytes - begin));
  });
}

}  // namespace octet::kernels
