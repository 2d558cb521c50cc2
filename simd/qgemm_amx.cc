// AMX integer GEMM on the hardware tile instructions; the driver (tiles, layouts) is
// simd/qgemm_amx-inl.h, shared with the tests' emulation of the tiles. Compiled for AMX; kernels/qgemm.cc calls it only after CPUID and Linux's permission.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "simd/qgemm_kernels.h"
#include "simd/isa_target.h"

namespace octet::simd {

bool amx_enable() {
  // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 (Linux >= 5.16).
  static const bool ok = syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  return ok;
}

}  // namespace octet::simd

// GCC 12 warns about the _mm512_undefined_* inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
OCTET_ISA_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,amx-tile,amx-int8")

namespace octet::simd {
namespace {

#include "simd/qgemm_epilogue_avx512-inl.h"

#define OCTET_TILE_LOADCONFIG(cfg) _tile_loadconfig(cfg)
#define OCTET_TILE_RELEASE() _tile_release()
#define OCTET_TILE_ZERO(i) _tile_zero(i)
#define OCTET_TILE_LOADD(i, base, stride) _tile_loadd(i, base, stride)
#define OCTET_TILE_STORED(i, base, stride) _tile_stored(i, base, stride)
#define OCTET_TILE_DPBUSD(c, a, b) _tile_dpbusd(c, a, b)
#include "simd/qgemm_amx-inl.h"

}  // namespace

void qgemm_amx(const QGemmTile& t) { qgemm_amx_tiles(t); }

}  // namespace octet::simd

OCTET_ISA_TARGET_END
