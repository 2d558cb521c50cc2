// The fused GEMM epilogue on 16 int32 columns, for files compiled with AVX-512 (include it
// after the target pragma, inside an anonymous namespace). Same bits as
// kernels::requantize_one with the fp32 scheme: float(acc) * m (one rounding), clamp to
// [qmin - zp, qmax - zp] in float, round half to even (cvtps under the default MXCSR), + zp.
// The clamped values lie inside the u8 / s8 range, so truncating to bytes is exact.

// Row `row` of C, columns [col, col + popcount(mask)) of the tile's column range.
inline void epilogue16(const QGemmTile& t, __m512i acc, int64_t row, int64_t col,
                       __mmask16 mask) {
  const __m512i v = _mm512_add_epi32(acc, _mm512_maskz_loadu_epi32(mask, t.comp + col));
  if (!t.mult) {
    _mm512_mask_storeu_epi32(static_cast<int32_t*>(t.c) + row * t.ldc + col, mask, v);
    return;
  }
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_maskz_loadu_ps(mask, t.mult + col));
  f = _mm512_max_ps(f, _mm512_set1_ps(t.lo));
  f = _mm512_min_ps(f, _mm512_set1_ps(t.hi));
  const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(t.zp));
  _mm_mask_storeu_epi8(static_cast<uint8_t*>(t.c) + row * t.ldc + col, mask,
                       _mm512_cvtepi32_epi8(q));
}

// Lanes of the columns that remain (none when `remaining` <= 0, e.g. a second panel past N).
inline __mmask16 col_mask(int64_t remaining) {
  if (remaining <= 0) return 0;
  return remaining >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << remaining) - 1);
}
