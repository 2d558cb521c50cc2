#include "kernels/fake_quant.h"

#include <algorithm>
#include <cmath>

#include "kernels/parallel.h"
#include "simd/quantize.h"

namespace octet::kernels {
namespace {

// One run sharing (scale, offset), through the Highway qdq of simd/quantize.h (zp = -offset).
void fake_quant_run(const float* x, float* y, int64_t n, float scale, int32_t offset,
                    int32_t qmin, int32_t qmax) {
  const float zp = static_cast<float>(-offset);
  const simd::QRunParams p{&scale, &zp, false, static_cast<float>(qmin), static_cast<float>(qmax)};
  simd::quantize_dequantize_f32(x, y, static_cast<size_t>(n), p);
}

}  // namespace

void fake_quant_f32_reference(const FakeQuantParams& p, const float* x, float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const size_t c = p.scale_index(i);
    y[i] = simd::quantize_dequantize_f32_one(x[i], p.scale[c], static_cast<float>(-p.offset[c]),
                                             static_cast<float>(p.qmin), static_cast<float>(p.qmax));
  }
}

void fake_quant_f32(const FakeQuantParams& p, const float* x, float* y, int64_t count, int threads) {
  if (p.block > 0) {  // weights only (folded at prepare): the element loop is enough
    fake_quant_f32_reference(p, x, y, count);
    return;
  }
  const bool per_channel = p.scale.size() > 1;
  // Runs of one channel: the whole tensor per-tensor, `inner` elements per-channel.
  const int64_t run = per_channel ? p.inner : count;
  const int64_t runs = run ? count / run : 0;
  const int64_t min_work = 1 << 15;
  const int use_threads = count >= min_work ? threads : 1;
  if (!per_channel) {
    const int64_t chunk = std::max<int64_t>(min_work, (count + use_threads - 1) / use_threads);
    const int64_t chunks = (count + chunk - 1) / chunk;
    parallel_for(chunks, use_threads, [&](int64_t k, int) {
      const int64_t begin = k * chunk, n = std::min(chunk, count - begin);
      fake_quant_run(x + begin, y + begin, n, p.scale[0], p.offset[0], p.qmin, p.qmax);
    });
    return;
  }
  parallel_for(runs, use_threads, [&](int64_t r, int) {
    const size_t c = static_cast<size_t>(r % p.channels);
    fake_quant_run(x + r * run, y + r * run, run, p.scale[c], p.offset[c], p.qmin, p.qmax);
  });
}

}  // namespace octet::kernels
