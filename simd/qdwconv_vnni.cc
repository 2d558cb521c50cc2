// Depthwise integer convolution, AVX-512 VNNI: several output pixels per step with each tap's
// weights loaded once (see simd/qdwconv.h, QDwVnniArgs).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "simd/qdwconv.h"
#include "simd/isa_target.h"

// GCC 12 warns about the _mm512_undefined_* inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
OCTET_ISA_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")

namespace octet::simd {
namespace {

inline __mmask64 pos_mask(int64_t n) {
  if (n <= 0) return 0;
  return n >= 64 ? ~__mmask64(0) : ((__mmask64(1) << n) - 1);
}

// Requantizes the 4 accumulators of one vector and stores its bytes (or int32 sums).
inline void store_vec(const QDwVnniArgs& a, const int64_t b, __m512i c0, __m512i c1, __m512i c2,
                      __m512i c3, __mmask64 m, void* out, int64_t n) {
  if (!a.mult) {
    alignas(64) int32_t tmp[4][16];
    _mm512_store_si512(tmp[0], c0);
    _mm512_store_si512(tmp[1], c1);
    _mm512_store_si512(tmp[2], c2);
    _mm512_store_si512(tmp[3], c3);
    int32_t* o = static_cast<int32_t*>(out);
    for (int64_t p = 0; p < n; ++p) o[p] = tmp[p % 4][p / 4];
    return;
  }
  const float* mu = a.mult + b * 64;
  const __m512 lo = _mm512_set1_ps(a.lo), hi = _mm512_set1_ps(a.hi);
  const __m512i zp = _mm512_set1_epi32(a.zp);
  auto rq = [&](__m512i acc, int q) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(mu + 16 * q));
    f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
    return _mm512_add_epi32(_mm512_cvtps_epi32(f), zp);
  };
  const __m512i q0 = rq(c0, 0), q1 = rq(c1, 1), q2 = rq(c2, 2), q3 = rq(c3, 3);
  // Byte 4i + q of the result = low byte of lane i of q_q: (x & C) | B.
  const __m512i ff = _mm512_set1_epi32(0xFF), ffff = _mm512_set1_epi32(0xFFFF);
  const __m512i a01 = _mm512_ternarylogic_epi32(q0, _mm512_slli_epi32(q1, 8), ff, 0xEC);
  const __m512i a23 = _mm512_ternarylogic_epi32(q2, _mm512_slli_epi32(q3, 8), ff, 0xEC);
  const __m512i r = _mm512_ternarylogic_epi32(a01, _mm512_slli_epi32(a23, 16), ffff, 0xEC);
  _mm512_mask_storeu_epi8(out, m, r);
}

template <int PW, bool FLIP, bool MASKED>
void chunk(const QDwVnniArgs& a, int64_t b, int64_t x0, __mmask64 m, void* out, int64_t n) {
  const int32_t* cp = a.comp + b * 64;
  const __m512i k0 = _mm512_loadu_si512(cp), k1 = _mm512_loadu_si512(cp + 16),
                k2 = _mm512_loadu_si512(cp + 32), k3 = _mm512_loadu_si512(cp + 48);
  __m512i acc[PW][4];
#pragma GCC unroll 8
  for (int j = 0; j < PW; ++j) {
    acc[j][0] = k0;
    acc[j][1] = k1;
    acc[j][2] = k2;
    acc[j][3] = k3;
  }
  const __m512i x80 = _mm512_set1_epi8(char(0x80));
  const int8_t* w = a.w + b * a.KH * a.KW * 256;
  const int64_t vin = a.vec_in, tb = a.tap_bytes;
  for (int64_t kh = 0; kh < a.KH; ++kh) {
    const uint8_t* r = a.rows[kh] + b * 64 + x0;
    for (int64_t kw = 0; kw < a.KW; ++kw, w += 256, r += tb) {
      const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64),
                    w2 = _mm512_loadu_si512(w + 128), w3 = _mm512_loadu_si512(w + 192);
#pragma GCC unroll 8
      for (int j = 0; j < PW; ++j) {
        __m512i x = MASKED ? _mm512_maskz_loadu_epi8(m, r + j * vin) : _mm512_loadu_si512(r + j * vin);
        if (FLIP) x = _mm512_xor_si512(x, x80);
        acc[j][0] = _mm512_dpbusd_epi32(acc[j][0], x, w0);
        acc[j][1] = _mm512_dpbusd_epi32(acc[j][1], x, w1);
        acc[j][2] = _mm512_dpbusd_epi32(acc[j][2], x, w2);
        acc[j][3] = _mm512_dpbusd_epi32(acc[j][3], x, w3);
      }
    }
  }
  const size_t es = a.mult ? 1 : 4;
#pragma GCC unroll 8
  for (int j = 0; j < PW; ++j)
    store_vec(a, b, acc[j][0], acc[j][1], acc[j][2], acc[j][3], m,
              static_cast<uint8_t*>(out) + size_t(j * a.vec_out + b * 64) * es, n);
}

template <bool FLIP, bool MASKED>
void row_blocks(const QDwVnniArgs& a, int64_t b, int64_t x0, int64_t nvec, __mmask64 m,
                void* out, int64_t n) {
  const size_t es = a.mult ? 1 : 4;
  int64_t v = 0;
  for (; v + 4 <= nvec; v += 4)
    chunk<4, FLIP, MASKED>(a, b, x0 + v * a.vec_in, m,
                           static_cast<uint8_t*>(out) + size_t(v * a.vec_out) * es, n);
  switch (nvec - v) {
    case 3: chunk<3, FLIP, MASKED>(a, b, x0 + v * a.vec_in, m, static_cast<uint8_t*>(out) + size_t(v * a.vec_out) * es, n); break;
    case 2: chunk<2, FLIP, MASKED>(a, b, x0 + v * a.vec_in, m, static_cast<uint8_t*>(out) + size_t(v * a.vec_out) * es, n); break;
    case 1: chunk<1, FLIP, MASKED>(a, b, x0 + v * a.vec_in, m, static_cast<uint8_t*>(out) + size_t(v * a.vec_out) * es, n); break;
    default: break;
  }
}

}  // namespace

void qdwconv_vnni_row(const QDwVnniArgs& a, int64_t x0, int64_t nvec, void* out) {
  for (int64_t b = 0; b < a.blocks; ++b) {
    const int64_t n = a.width - b * 64 >= 64 ? 64 : a.width - b * 64;
    const __mmask64 m = pos_mask(n);
    if (n == 64) {
      if (a.flip) row_blocks<true, false>(a, b, x0, nvec, m, out, n);
      else row_blocks<false, false>(a, b, x0, nvec, m, out, n);
    } else {
      if (a.flip) row_blocks<true, true>(a, b, x0, nvec, m, out, n);
      else row_blocks<false, true>(a, b, x0, nvec, m, out, n);
    }
  }
}

void qdwconv_vnni_taps(const QDwVnniArgs& a, const uint8_t* const* taps, void* out) {
  const int64_t T = a.KH * a.KW;
  const __m512i x80 = _mm512_set1_epi8(char(0x80));
  const size_t es = a.mult ? 1 : 4;
  for (int64_t b = 0; b < a.blocks; ++b) {
    const int64_t n = a.width - b * 64 >= 64 ? 64 : a.width - b * 64;
    const __mmask64 m = pos_mask(n);
    const int32_t* cp = a.comp + b * 64;
    __m512i c0 = _mm512_loadu_si512(cp), c1 = _mm512_loadu_si512(cp + 16),
            c2 = _mm512_loadu_si512(cp + 32), c3 = _mm512_loadu_si512(cp + 48);
    const int8_t* w = a.w + b * T * 256;
    for (int64_t t = 0; t < T; ++t, w += 256) {
      __m512i x = _mm512_maskz_loadu_epi8(m, taps[t] + b * 64);
      if (a.flip) x = _mm512_xor_si512(x, x80);
      c0 = _mm512_dpbusd_epi32(c0, x, _mm512_loadu_si512(w));
      c1 = _mm512_dpbusd_epi32(c1, x, _mm512_loadu_si512(w + 64));
      c2 = _mm512_dpbusd_epi32(c2, x, _mm512_loadu_si512(w + 128));
      c3 = _mm512_dpbusd_epi32(c3, x, _mm512_loadu_si512(w + 192));
    }
    store_vec(a, b, c0, c1, c2, c3, m, static_cast<uint8_t*>(out) + size_t(b * 64) * es, n);
  }
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
