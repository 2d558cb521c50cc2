#include "tests/support/amx_tile_emulation.h"

#include <immintrin.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include "simd/isa_target.h"

// GCC 12 warns about the _mm512_undefined_* inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
OCTET_ISA_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")

namespace octet::simd {
namespace {

std::atomic<int> faults{0};

// Palette 1: 8 tiles of up to 16 rows x 64 bytes.
struct TileState {
  bool configured = false;
  uint8_t rows[8] = {};
  uint16_t colsb[8] = {};
  alignas(64) uint8_t data[8][16][64] = {};
};
thread_local TileState tiles;

bool valid_tile(int i) {
  if (!tiles.configured || i < 0 || i >= 8 || tiles.rows[i] == 0 || tiles.colsb[i] == 0) {
    ++faults;
    return false;
  }
  return true;
}

// The architectural 64-byte configuration: palette (byte 0), start row (1), colsb[16] as
// uint16 from byte 16, rows[16] from byte 48.
void load_config(const void* cfg) {
  const auto* b = static_cast<const uint8_t*>(cfg);
  tiles = TileState{};
  if (b[0] != 1 || b[1] != 0) {
    ++faults;
    return;
  }
  for (int i = 0; i < 8; ++i) {
    uint16_t colsb;
    std::memcpy(&colsb, b + 16 + 2 * i, 2);
    const uint8_t rows = b[48 + i];
    if (rows > 16 || colsb > 64 || colsb % 4 != 0) {
      ++faults;
      return;
    }
    tiles.rows[i] = rows;
    tiles.colsb[i] = colsb;
  }
  tiles.configured = true;
}

void tile_zero(int i) {
  if (valid_tile(i)) std::memset(tiles.data[i], 0, sizeof tiles.data[i]);
}

void tile_load(int i, const void* base, int64_t stride) {
  if (!valid_tile(i)) return;
  for (int r = 0; r < tiles.rows[i]; ++r)
    std::memcpy(tiles.data[i][r], static_cast<const uint8_t*>(base) + r * stride, tiles.colsb[i]);
}

void tile_store(int i, void* base, int64_t stride) {
  if (!valid_tile(i)) return;
  for (int r = 0; r < tiles.rows[i]; ++r)
    std::memcpy(static_cast<uint8_t*>(base) + r * stride, tiles.data[i][r], tiles.colsb[i]);
}

// TDPBUSD: C[m][n] += sum over k, q of u8 A[m][4k + q] * s8 B[k][4n + q], in wrapping int32.
void tile_dpbusd(int c, int a, int b) {
  if (!valid_tile(c) || !valid_tile(a) || !valid_tile(b)) return;
  if (tiles.rows[a] != tiles.rows[c] || tiles.colsb[a] / 4 != tiles.rows[b] ||
      tiles.colsb[b] != tiles.colsb[c]) {
    ++faults;
    return;
  }
  for (int m = 0; m < tiles.rows[c]; ++m)
    for (int n = 0; n < tiles.colsb[c] / 4; ++n) {
      uint32_t acc;
      std::memcpy(&acc, &tiles.data[c][m][4 * n], 4);
      for (int k = 0; k < tiles.rows[b]; ++k)
        for (int q = 0; q < 4; ++q)
          acc += uint32_t(int32_t(tiles.data[a][m][4 * k + q]) *
                          int32_t(int8_t(tiles.data[b][k][4 * n + q])));
      std::memcpy(&tiles.data[c][m][4 * n], &acc, 4);
    }
}

#include "simd/qgemm_epilogue_avx512-inl.h"

#define OCTET_TILE_LOADCONFIG(cfg) load_config(cfg)
#define OCTET_TILE_RELEASE() (tiles = TileState{})
#define OCTET_TILE_ZERO(i) tile_zero(i)
#define OCTET_TILE_LOADD(i, base, stride) tile_load(i, base, stride)
#define OCTET_TILE_STORED(i, base, stride) tile_store(i, base, stride)
#define OCTET_TILE_DPBUSD(c, a, b) tile_dpbusd(c, a, b)
#include "simd/qgemm_amx-inl.h"

}  // namespace
}  // namespace octet::simd

namespace octet::testing {

void qgemm_amx_emulated(const simd::QGemmTile& t) { simd::qgemm_amx_tiles(t); }
int amx_emulation_faults() { return simd::faults.load(); }

}  // namespace octet::testing

OCTET_ISA_TARGET_END
