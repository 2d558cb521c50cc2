// The AMX integer GEMM (TDPBUSD): 2 x 2 tiles of 16 x 16 int32 accumulators (32 rows x 32
// columns), A copied 32 rows at a time into a zero padded buffer (K rounded up to 64, the 0x80
// flip applied), B panels in the VNNI layout ([Kp/4][16][4], 64 bytes per tile row).
// Included, inside an anonymous namespace of octet::simd and after
// simd/qgemm_epilogue_avx512-inl.h, by simd/qgemm_amx.cc (the hardware tile instructions) and
// by the tests (a software emulation of them), with the tile operations given as macros:
// OCTET_TILE_LOADCONFIG(cfg), OCTET_TILE_RELEASE(), OCTET_TILE_ZERO(i),
// OCTET_TILE_LOADD(i, base, stride), OCTET_TILE_STORED(i, base, stride), OCTET_TILE_DPBUSD(c, a, b).

struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

void copy_rows(const QGemmTile& t, int64_t m0, int64_t rows, uint8_t* abuf) {
  const __m512i x80 = _mm512_set1_epi8(char(0x80));
  for (int64_t r = 0; r < 32; ++r) {
    uint8_t* dst = abuf + r * t.Kp;
    if (r >= rows) {
      memset(dst, 0, size_t(t.Kp));
      continue;
    }
    const uint8_t* src = t.a + (m0 + r) * t.lda;
    for (int64_t k = 0; k < t.Kp; k += 64) {
      const int64_t n = t.K - k >= 64 ? 64 : (t.K > k ? t.K - k : 0);
      const __mmask64 m = n >= 64 ? ~__mmask64(0) : ((__mmask64(1) << n) - 1);
      __m512i v = _mm512_maskz_loadu_epi8(m, src + k);
      if (t.flip) v = _mm512_xor_si512(v, x80);  // padding x zero weights = 0 either way
      _mm512_storeu_si512(dst + k, v);
    }
  }
}

// The driver: 32 rows of A at a time against pairs of 16-column panels.
inline void qgemm_amx_tiles(const QGemmTile& t) {
  TileConfig cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int i = 0; i < 8; ++i) {
    cfg.rows[i] = 16;
    cfg.colsb[i] = 64;
  }
  OCTET_TILE_LOADCONFIG(&cfg);
  uint8_t* abuf = static_cast<uint8_t*>(t.scratch);
  int32_t* cbuf = reinterpret_cast<int32_t*>(abuf + 32 * t.Kp);  // [32][32]
  const int8_t* b = static_cast<const int8_t*>(t.b);
  const int64_t npan = (t.ncols + 15) / 16, kchunks = t.Kp / 64;
  for (int64_t m = 0; m < t.M; m += 32) {
    const int64_t rows = t.M - m >= 32 ? 32 : t.M - m;
    copy_rows(t, m, rows, abuf);
    for (int64_t p = 0; p < npan; p += 2) {
      const int8_t* b0 = b + p * t.panel_bytes;
      // A lone last panel pairs with itself; its duplicate columns are never stored.
      const int8_t* b1 = p + 1 < npan ? b0 + t.panel_bytes : b0;
      OCTET_TILE_ZERO(0);
      OCTET_TILE_ZERO(1);
      OCTET_TILE_ZERO(2);
      OCTET_TILE_ZERO(3);
      for (int64_t kc = 0; kc < kchunks; ++kc) {
        OCTET_TILE_LOADD(4, abuf + kc * 64, t.Kp);
        OCTET_TILE_LOADD(5, abuf + 16 * t.Kp + kc * 64, t.Kp);
        OCTET_TILE_LOADD(6, b0 + kc * 1024, 64);
        OCTET_TILE_LOADD(7, b1 + kc * 1024, 64);
        OCTET_TILE_DPBUSD(0, 4, 6);
        OCTET_TILE_DPBUSD(1, 4, 7);
        OCTET_TILE_DPBUSD(2, 5, 6);
        OCTET_TILE_DPBUSD(3, 5, 7);
      }
      OCTET_TILE_STORED(0, cbuf, 128);
      OCTET_TILE_STORED(1, cbuf + 16, 128);
      OCTET_TILE_STORED(2, cbuf + 16 * 32, 128);
      OCTET_TILE_STORED(3, cbuf + 16 * 32 + 16, 128);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t h = 0; h < 2 && p + h < npan; ++h) {
          const int64_t col = (p + h) * 16;
          epilogue16(t, _mm512_loadu_si512(cbuf + r * 32 + h * 16), m + r, col,
                     col_mask(t.ncols - col));
        }
    }
  }
  OCTET_TILE_RELEASE();
}
