// octet.QLookup: y = table[index(x)], a table of 256 output codes indexed by the input byte
// (u8 x: x; i8 x: x + 128). The table's dtype is the output's (u8 or i8: one byte either way).
#pragma once
#include <cstdint>

#include "base/dtype.h"

namespace octet::kernels {

void qlookup_reference(const void* x, DType x_type, const uint8_t* table, void* y, int64_t n);
// Whether this CPU may run the lookup 64 bytes a step (AVX-512 VBMI, allowed by
// OCTET_MAX_CPU_ISA); kernels ask once, when prepared, and pass it to qlookup.
bool qlookup_vectorized();
void qlookup(const void* x, DType x_type, const uint8_t* table, void* y, int64_t n, int threads,
             bool vectorized);

}  // namespace octet::kernels
