// A software model of the AMX tile instructions the AMX GEMM uses (LDTILECFG, TILEZERO,
// TILELOADD, TILESTORED, TDPBUSD, TILERELEASE), per thread like the hardware's tile registers,
// running the same driver source as simd/qgemm_amx.cc. It lets the AMX path's tiling, packing
// and epilogue be tested bit for bit on a CPU with AVX-512 VNNI but no AMX; the instructions
// themselves are only exercised on AMX hardware.
#pragma once
#include "simd/qgemm_kernels.h"

namespace octet::testing {

void qgemm_amx_emulated(const simd::QGemmTile& t);
// Uses of the model the hardware would fault on (bad configuration, mismatched tile shapes,
// tiles used before configuration); counted over all threads since the start.
int amx_emulation_faults();

}  // namespace octet::testing
