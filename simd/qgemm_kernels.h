// Integer GEMM microkernel drivers, one per instruction set (compiled for that set only and
// called only after a run-time CPU check). They compute
//   C[m, n] = sum_k A[m, k] * B[k, n] + comp[n]
// over a block of rows and packed column panels, with A's bytes read as u8 (s8 input is
// flipped to u8 with xor 0x80 by the driver: `flip`), and either store the int32 sums or
// requantize them with the fp32 scheme (float(acc) * mult[n], clamp to [lo, hi], round half
// to even, + zp), which gives the same bits as kernels::requantize_one.
// Packed layouts (kernels/qgemm.cc packs them):
//   VNNI / AMX: panels of 16 columns, panel = [Kp/4][16][4] s8 (Kp = K rounded up to 4; to 64
//               for AMX), zero padded.
//   AVX2:       panels of 8 columns, panel = [Kp/2][8][2] int16 (Kp = K rounded up to 2).
//   Int4 (VNNI, AVX2): two consecutive panel rows share one row of nibbles (see `int4`).
#pragma once
#include <cstdint>

namespace octet::simd {

struct QGemmTile {
  // A: M rows of K codes, row stride lda bytes.
  const uint8_t* a = nullptr;
  int64_t lda = 0, M = 0, K = 0;
  // Indirect A (VNNI, AVX2; then `a` and `lda` are unused): row m's bytes 4g..4g+3 at
  // rows[m] + koff[g], K a multiple of 4.
  const uint8_t* const* rows = nullptr;
  const int64_t* koff = nullptr;
  bool flip = false;  // xor A bytes with 0x80 (s8 codes read as u8 = code + 128)
  // Packed B: `ncols` columns starting at panel 0 of `b`, panels `panel_bytes` apart.
  const void* b = nullptr;
  int64_t Kp = 0, panel_bytes = 0, ncols = 0;
  // Int4 panels (VNNI, AVX2): two panel rows (VNNI: k-groups of 4 x 16 columns; AVX2: k-pairs
  // x 8 columns) share one row of nibbles, byte i = row 2h's weight i | row 2h + 1's << 4;
  // the row count is rounded up to even.
  bool int4 = false;
  // Epilogue: comp[n] added to every sum (bias - zero point * column sum); ncols values.
  const int32_t* comp = nullptr;
  // fp32 requantization when mult != null (u8/s8 out, 1 byte per element), else int32 out.
  const float* mult = nullptr;
  float lo = 0.f, hi = 0.f;  // qmin - zp, qmax - zp
  int32_t zp = 0;
  void* c = nullptr;
  int64_t ldc = 0;  // elements
  bool vbmi = false;  // the CPU has AVX-512 VBMI (VNNI epilogue packs bytes with vpermt2b)
  // Caller-owned work space, 64-byte aligned: qgemm_scratch_bytes(isa, Kp) bytes.
  void* scratch = nullptr;
};

// AVX2: 6 widened rows of A; AMX: 32 rows of A padded to Kp plus a 32 x 32 int32 tile.
inline int64_t qgemm_scratch_bytes_avx2(int64_t Kp) { return 6 * Kp * 2 + 64; }
inline int64_t qgemm_scratch_bytes_amx(int64_t Kp) { return 32 * Kp + 32 * 32 * 4 + 64; }

void qgemm_vnni(const QGemmTile& t);

// Per-block int4 GEMM (kernels::qgemm_blockwise) on VNNI panels (int8 or int4 nibbles): M rows of
// K codes (K % block == 0), columns [0, ncols) of the panels at b; u8/s8 out.
struct QGemmBlockTile {
  const uint8_t* a = nullptr;
  int64_t lda = 0, M = 0, K = 0, block = 32;
  bool flip = false, int4 = false;
  const void* b = nullptr;
  int64_t panel_bytes = 0, ncols = 0;
  const int32_t* comp = nullptr;  // [K / block][ldp]: -zp * block column sums, zero padded
  const float* scale = nullptr;   // [K / block][ldp]: weight scales, zero padded
  int64_t ldp = 0;                // ncols rounded up to 32
  float m = 1.f;
  const float* bias = nullptr;    // ncols values or null
  float lo = 0.f, hi = 0.f;
  int32_t zp = 0;
  uint8_t* c = nullptr;
  int64_t ldc = 0;
};
void qgemm_blockwise_vnni(const QGemmBlockTile& t);
void qgemm_avx2(const QGemmTile& t);
void qgemm_amx(const QGemmTile& t);
// Asks Linux for the AMX tile state once per process; false if the OS refuses.
bool amx_enable();

}  // namespace octet::simd
