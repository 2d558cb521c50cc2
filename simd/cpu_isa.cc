#include "simd/cpu_isa.h"

#include <cpuid.h>

#include <cctype>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "simd/qgemm_kernels.h"

namespace octet::simd {

std::string_view cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar: return "scalar";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kAvx512Vnni: return "avx512_vnni";
    case CpuIsa::kAmx: return "amx";
  }
  return "?";
}

CpuIsa cpu_isa_detected() {
  static const CpuIsa detected = [] {
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vnni");
    unsigned a = 0, b = 0, c = 0, d = 0;
    // CPUID.(7,0):EDX bits 24 (AMX-TILE) and 25 (AMX-INT8); the OS must grant the tile state.
    const bool amx_cpu = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 24 & 1) && (d >> 25 & 1);
    if (vnni && amx_cpu && amx_enable()) return CpuIsa::kAmx;
    if (vnni) return CpuIsa::kAvx512Vnni;
    if (avx2) return CpuIsa::kAvx2;
    return CpuIsa::kScalar;
  }();
  return detected;
}

bool cpu_has_avx512_vbmi() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") != 0;
  }();
  return has;
}

CpuIsa parse_cpu_isa_cap(std::string_view name) {
  std::string n(name);
  for (char& ch : n) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  if (n == "SCALAR" || n == "SSE41" || n == "AVX") return CpuIsa::kScalar;
  if (n == "AVX2" || n == "AVX2_VNNI" || n == "AVX512_CORE") return CpuIsa::kAvx2;
  if (n == "AVX512_CORE_VNNI" || n == "AVX512_CORE_BF16" || n == "AVX512_CORE_FP16")
    return CpuIsa::kAvx512Vnni;
  if (n == "AVX512_CORE_AMX" || n == "ALL" || n.empty()) return CpuIsa::kAmx;
  fail("OCTET_MAX_CPU_ISA: unknown ISA '", name,
       "' (SCALAR, AVX2, AVX512_CORE_VNNI, AVX512_CORE_AMX)");
}

CpuIsa cpu_isa_cap() {
  const char* cap = std::getenv("OCTET_MAX_CPU_ISA");
  return cap ? parse_cpu_isa_cap(cap) : CpuIsa::kAmx;
}

}  // namespace octet::simd
