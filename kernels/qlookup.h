// octet.QLookup: y = table[index(x)], a table of 256 output codes indexed by the input byte
// (u8 x: x; i8 x: x + 128). The table's dtype is the output's (u8 or i8: one byte either way).
#pragma once
#include <cstdint>

#include "base/dtype.h"

namespace octet::kernels {

void qlookup_reference(const void* x, DType x_type, const uint8_t* table, void* y, int64_t n);
void qlookup(const void* x, DType x_type, const uint8_t* table, void* y, int64_t n, int threads);
// Whether qlookup runs 64 bytes a step here (AVX-512 VBMI, allowed by OCTET_MAX_CPU_ISA), or
// one byte a step.
bool qlookup_vectorized();

}  // namespace octet::kernels
