// The one place that asks the CPU (and the OS, for AMX tile state) what it can run, and reads
// the user's cap OCTET_MAX_CPU_ISA. The integer kernels dispatch on it; the float kernels use
// Highway's own dynamic dispatch.
#pragma once
#include <cstdint>
#include <string_view>

namespace octet::simd {

// The integer paths, in order: a higher one needs everything a lower one does.
enum class CpuIsa : uint8_t { kScalar = 0, kAvx2 = 1, kAvx512Vnni = 2, kAmx = 3 };
std::string_view cpu_isa_name(CpuIsa isa);

// The best integer path this CPU and OS allow (detected once).
CpuIsa cpu_isa_detected();
// AVX-512 VBMI (byte permutes the int4 unpacking uses when present).
bool cpu_has_avx512_vbmi();

// oneDNN's ISA names (SSE41, AVX2, AVX512_CORE, AVX512_CORE_VNNI, AVX512_CORE_AMX, ALL, ...) or
// SCALAR to the highest path they allow; throws octet::Error on an unknown name.
CpuIsa parse_cpu_isa_cap(std::string_view name);
// OCTET_MAX_CPU_ISA as parsed by parse_cpu_isa_cap, kAmx (no cap) when unset.
CpuIsa cpu_isa_cap();

}  // namespace octet::simd
