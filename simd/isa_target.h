#pragma once
// Compiles the rest of a file for an instruction set beyond the build's baseline:
//   OCTET_ISA_TARGET_BEGIN("avx2,fma") ... OCTET_ISA_TARGET_END
// GCC takes `#pragma GCC target`; clang ignores that pragma and takes a target attribute pushed
// onto every function defined in the region instead. Put it after the standard headers, so that
// their inline functions keep the baseline (the linker may keep any one copy of them).
// The caller checks the CPU before calling anything defined in the region (kernels/qgemm.h, QIsa).
#define OCTET_ISA_STRINGIFY_(...) #__VA_ARGS__
#define OCTET_ISA_STRINGIFY(...) OCTET_ISA_STRINGIFY_(__VA_ARGS__)

#if defined(__clang__)
#define OCTET_ISA_TARGET_BEGIN(isa) \
  _Pragma(OCTET_ISA_STRINGIFY(clang attribute push(__attribute__((target(isa))), apply_to = function)))
#define OCTET_ISA_TARGET_END _Pragma("clang attribute pop")
#else
#define OCTET_ISA_TARGET_BEGIN(isa) _Pragma(OCTET_ISA_STRINGIFY(GCC target(isa)))
#define OCTET_ISA_TARGET_END
#endif
