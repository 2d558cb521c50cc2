#include "kernels/qlookup.h"

#include <algorithm>

#include "kernels/parallel.h"
#include "simd/cpu_isa.h"
#include "simd/lookup.h"

namespace octet::kernels {

void qlookup_reference(const void* x, DType x_type, const uint8_t* table, void* y, int64_t n) {
  auto* out = static_cast<uint8_t*>(y);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t index = x_type == DType::kU8 ? int32_t(static_cast<const uint8_t*>(x)[i])
                                               : int32_t(static_cast<const int8_t*>(x)[i]) + 128;
    out[i] = table[index];
  }
}

void qlookup(const void* x, DType x_type, const uint8_t* table, void* y, int64_t n, int threads,
             bool vectorized) {
  // i8 codes + 128 is the byte with its top bit flipped: one table rotated by 128 serves both.
  uint8_t t[256];
  const int rot = x_type == DType::kU8 ? 0 : 128;
  for (int i = 0; i < 256; ++i) t[i] = table[(i + rot) & 255];
  const auto* in = static_cast<const uint8_t*>(x);
  auto* out = static_cast<uint8_t*>(y);
  constexpr int64_t kBlock = 65536;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for(blocks, (blocks > 1) ? threads : 1, [&](int64_t blk, int) {
    const int64_t b = blk * kBlock, e = std::min(n, b + kBlock);
    if (vectorized) {
      simd::lookup_bytes_vbmi(t, in + b, out + b, e - b);
      return;
    }
    for (int64_t i = b; i < e; ++i) out[i] = t[in[i]];
  });
}

bool qlookup_vectorized() {
  return simd::cpu_isa_cap() >= simd::CpuIsa::kAvx512Vnni &&
         simd::cpu_isa_detected() >= simd::CpuIsa::kAvx512Vnni && simd::cpu_has_avx512_vbmi();
}

}  // namespace octet::kernels
