// Integer GEMM: C[m, n] = epilogue( sum_k (A[m, k] - a_zp) * B[n, k] ), A of u8 or s8 codes,
// B of symmetric s8 weights (zero point 0; int4 weights unpacked to s8, or kept packed as
// nibbles: QGemmPackedB::from_int4), int32 accumulation, then either the raw int32 sums (+ bias) or a
// requantization to u8/s8 codes (kernels/requant.h).
//
// Paths chosen at run time: AMX tiles, AVX-512 VNNI, AVX2, scalar. Every path gives the same
// bits as qgemm_reference (integer sums are exact; the epilogue is requantize_one).
// qgemm_blockwise (end of file): per-block int4 weights with the fp32 block accumulation
// defined there.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/dtype.h"
#include "kernels/requant.h"
#include "simd/cpu_isa.h"

namespace octet::simd {
struct QGemmTile;
}

namespace octet::kernels {

// The integer paths (simd/cpu_isa.h detects what the CPU allows).
using QIsa = simd::CpuIsa;
inline std::string_view qisa_name(QIsa isa) { return simd::cpu_isa_name(isa); }
// The best path this CPU and OS allow, capped by the environment variable OCTET_MAX_CPU_ISA
// (oneDNN's names: AVX2, AVX512_CORE_VNNI, AVX512_CORE_AMX; or SCALAR).
QIsa qgemm_best_isa();
// The best path this CPU and OS allow, ignoring OCTET_MAX_CPU_ISA.
QIsa qgemm_cpu_isa();
// Tests only: `kernel` replaces the AMX tile kernel behind the AMX path (e.g. a software
// emulation of the tile instructions), and a CPU with AVX-512 VNNI but no AMX then offers
// that path (qgemm_cpu_isa() says kAmx); nullptr restores the hardware kernel. Set it while no
// GEMM runs; weights packed for one setting must not run under the other.
void set_amx_tile_kernel_for_testing(void (*kernel)(const simd::QGemmTile&));
inline QIsa parse_qisa_cap(std::string_view name) { return simd::parse_cpu_isa_cap(name); }

struct QGemmA {
  const void* data = nullptr;  // M rows of K codes, row stride lda bytes
  int64_t lda = 0;
  bool is_signed = false;      // s8 codes, else u8
  int32_t zero_point = 0;
  // Bytes readable from the start of every row (0: K). When it reaches K rounded up to 4,
  // the VNNI path reads the padding bytes (their products with zero weights vanish) instead
  // of copying rows of A whose K is not a multiple of 4.
  int64_t readable = 0;
  // Indirect rows (implicit im2col; VNNI, AVX2 and scalar paths, K a multiple of 4): row m's
  // bytes 4g .. 4g + 3 are at rows[m] + koff[g]; `data` and `lda` are then unused.
  const uint8_t* const* rows = nullptr;
  const int64_t* koff = nullptr;
};

struct QGemmEpilogue {
  const int32_t* bias = nullptr;        // N values (added with wrap-around), or null
  const Requantizer* requant = nullptr;  // null: C holds int32 sums (+ bias)
  DType out_type = DType::kU8;          // kU8 / kI8 with requant; kI32 without
};

// B (N x K, row n = output channel n, K contiguous) packed once for one path, with the
// per-column sums that fold A's zero point into a constant term.
class QGemmPackedB {
 public:
  QGemmPackedB(const int8_t* b_nk, int64_t N, int64_t K, QIsa isa);
  // Int4 weights (W4A8): B [N][K] row-major signed nibbles in [-8, 7], two per byte, low
  // nibble first (element i of the flattened array in byte i / 2). The VNNI, AVX2 and scalar
  // paths keep the panels as nibbles (half the bytes of int8 panels) and unpack them in
  // registers; AMX unpacks to int8 panels here. Same results as the int8 constructor with the
  // unpacked values.
  static QGemmPackedB from_int4(const uint8_t* nibbles, int64_t N, int64_t K, QIsa isa);
  bool is_int4() const;
  // Bytes of packed weights (panels), for the record.
  int64_t packed_bytes() const;
  ~QGemmPackedB();
  QGemmPackedB(QGemmPackedB&&) noexcept;
  QGemmPackedB& operator=(QGemmPackedB&&) noexcept;
  int64_t N() const;
  int64_t K() const;
  QIsa isa() const;
  // Columns are computed in panels of this many; a column range given to qgemm starts at a
  // multiple of it.
  int64_t panel_width() const;
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  QGemmPackedB() = default;
  std::unique_ptr<Impl> impl_;
};

// Signed nibble i of a packed int4 array (low nibble first).
inline int8_t int4_at(const uint8_t* nibbles, int64_t i) {
  const uint8_t byte = nibbles[i / 2];
  const int v = (i % 2 ? byte >> 4 : byte) & 0xF;
  return int8_t(v >= 8 ? v - 16 : v);
}

// Rows [0, M) and columns [n0, n1) of C (row stride ldc elements of ep.out_type).
// Single-threaded: callers split rows and/or panels across threads.
void qgemm(int64_t M, const QGemmA& a, const QGemmPackedB& b, int64_t n0, int64_t n1,
           const QGemmEpilogue& ep, void* c, int64_t ldc);

// All of C (M x N) on `threads` threads, rows and panels divided by split_gemm. A direct
// (not indirect) A.
void qgemm_parallel(int64_t M, const QGemmA& a, const QGemmPackedB& b, const QGemmEpilogue& ep,
                    void* c, int64_t ldc, int threads);

// Plain loops over unpacked B [N][K]; the definition of the result.
void qgemm_reference(int64_t M, int64_t N, int64_t K, const QGemmA& a, const int8_t* b_nk,
                     const QGemmEpilogue& ep, void* c, int64_t ldc);

// Per-block int4 weights (W4A8 with blocks of `block` weights along K, K % block == 0):
// weight scale w_scale[n][b] for block b = k / block of column n. The result of one output is
// defined by this exact arithmetic (every path and the `exact` simulation give these bits):
//   s_b = sum over k in block b of (x[m][k] - x_zp) * w[n][k]     int32, wrapping
//   f = 0.f; for b = 0 .. K/block - 1 in order: f = f + float(s_b) * w_scale[n][b]
//                                           (fp32, a multiply then an add: no FMA)
//   g = f * m                               (m = x_scale / y_scale)
//   g = g + bias_f[n]                       (only when bias_f is not null; = bias / y_scale)
//   g = g > lo ? g : lo;  g = g < hi ? g : hi   with lo = qmin - zp, hi = qmax - zp (a NaN
//                                           becomes lo)
//   q = round_half_even(g) + zp             (u8 or s8 code)
struct QGemmBlockwise {
  int64_t block = 32;              // 32, 64 or 128
  const float* w_scale = nullptr;  // [N][K / block]
  float m = 1.f;                   // x_scale / y_scale
  const float* bias_f = nullptr;   // N values or null
  int32_t zero_point = 0;          // output zero point
  int32_t qmin = 0, qmax = 255;    // output code range (a fused activation's clamp included)
  DType out_type = DType::kU8;     // kU8 or kI8
};

// The definition: plain loops over int4 weights [N][K] (nibbles, low first, as from_int4).
void qgemm_blockwise_reference(int64_t M, int64_t N, int64_t K, const QGemmA& a,
                               const uint8_t* w_nibbles, const QGemmBlockwise& p, void* c,
                               int64_t ldc);
// Rows [0, M), columns [n0, n1) (n0 a multiple of panel_width) with packed weights (int4 from
// from_int4, or int8): the integer block sums on the SIMD kernels, then the float steps above.
void qgemm_blockwise(int64_t M, const QGemmA& a, const QGemmPackedB& b, int64_t n0, int64_t n1,
                     const QGemmBlockwise& p, void* c, int64_t ldc);
// All of C on `threads` threads, as qgemm_parallel.
void qgemm_blockwise_parallel(int64_t M, const QGemmA& a, const QGemmPackedB& b,
                              const QGemmBlockwise& p, void* c, int64_t ldc, int threads);

}  // namespace octet::kernels
