// y[i] = table[x[i]]: a 256-entry byte table indexed by bytes, vectorized.
#pragma once
#include <cstdint>

namespace octet::simd {

// AVX-512 VBMI: vpermi2b looks 64 bytes up in a 128-entry half of the table, twice, and each
// index's top bit picks the half. The caller checks the CPU (cpu_has_avx512_vbmi, and the
// AVX-512 path allowed by cpu_isa_cap).
void lookup_bytes_vbmi(const uint8_t* table, const uint8_t* x, uint8_t* y, int64_t n);

}  // namespace octet::simd
