#include "kernels/fake_quant.h"

#include <algorithm>
#include <cmath>

#include "simd/fake_quant.h"

namespace octet::kernels {
namespace {

inline float fake_quant_one(float x, float scale, float offset, float qmin, float qmax) {
  float q = std::nearbyint(x / scale) - offset;  // default rounding mode: half to even
  q = std::min(std::max(q, qmin), qmax);
  return (q + offset) * scale;
}

}  // namespace

void fake_quant_f32_reference(const FakeQuantParams& p, const float* x, float* y, int64_t count) {
  const bool per_channel = p.scale.size() > 1;
  for (int64_t i = 0; i < count; ++i) {
    const size_t c = per_channel ? static_cast<size_t>((i / p.inner) % p.channels) : 0;
    y[i] = fake_quant_one(x[i], p.scale[c], static_cast<float>(p.offset[c]),
                          static_cast<float>(p.qmin), static_cast<float>(p.qmax));
  }
}

void fake_quant_f32(const FakeQuantParams& p, const float* x, float* y, int64_t count, int threads) {
  const bool per_channel = p.scale.size() > 1;
  // Runs of one channel: the whole tensor per-tensor, `inner` elements per-channel.
  const int64_t run = per_channel ? p.inner : count;
  const int64_t runs = run ? count / run : 0;
  const int64_t min_work = 1 << 15;
  const int use_threads = count >= min_work ? threads : 1;
  if (!per_channel) {
    const int64_t chunk = std::max<int64_t>(min_work, (count + use_threads - 1) / use_threads);
    const int64_t chunks = (count + chunk - 1) / chunk;
#pragma omp parallel for num_threads(use_threads)
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t begin = k * chunk, n = std::min(chunk, count - begin);
      simd::fake_quant_f32(x + begin, y + begin, n, p.scale[0], p.offset[0], p.qmin, p.qmax);
    }
    return;
  }
#pragma omp parallel for num_threads(use_threads)
  for (int64_t r = 0; r < runs; ++r) {
    const size_t c = static_cast<size_t>(r % p.channels);
    simd::fake_quant_f32(x + r * run, y + r * run, run, p.scale[c], p.offset[c], p.qmin, p.qmax);
  }
}

}  // namespace octet::kernels
