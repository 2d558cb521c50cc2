// The integer lookup (octet.QLookup: Sigmoid, Tanh, SiLU's sigmoid... on 8-bit codes) against the
// float Sigmoid it replaces, over YOLOv5n's first SiLU (16 x 320 x 320), one thread.
//   build/bench/bench_qlookup --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/qlookup.h"
#include "kernels/unary.h"

namespace {

constexpr int64_t kElements = 16 * 320 * 320;

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = uint8_t(rng());
  return v;
}

void finish(benchmark::State& st) {
  st.SetItemsProcessed(st.iterations() * kElements);
  st.counters["ns/elem"] = benchmark::Counter(double(st.iterations() * kElements),
                                              benchmark::Counter::kIsRate |
                                                  benchmark::Counter::kInvert);
}

void bm_qlookup(benchmark::State& st, bool reference) {
  const std::vector<uint8_t> table = random_bytes(256, 1), x = random_bytes(kElements, 2);
  std::vector<uint8_t> y(kElements);
  const bool vectorized = octet::kernels::qlookup_vectorized();
  st.SetLabel(reference ? "scalar reference" : vectorized ? "AVX-512 VBMI" : "scalar");
  for (auto _ : st) {
    if (reference) octet::kernels::qlookup_reference(x.data(), octet::DType::kI8, table.data(), y.data(), kElements);
    else octet::kernels::qlookup(x.data(), octet::DType::kI8, table.data(), y.data(), kElements, 1, vectorized);
    benchmark::DoNotOptimize(y.data());
  }
  finish(st);
}

void bm_float_sigmoid(benchmark::State& st) {
  std::vector<float> x(kElements), y(kElements);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-6.f, 6.f);
  for (float& v : x) v = d(rng);
  octet::kernels::UnaryParams p;
  p.op = octet::kernels::UnaryOp::kSigmoid;
  for (auto _ : st) {
    octet::kernels::unary_optimized_f32(p, x.data(), y.data(), kElements, 1);
    benchmark::DoNotOptimize(y.data());
  }
  finish(st);
}

}  // namespace

BENCHMARK_CAPTURE(bm_qlookup, optimized, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_qlookup, reference, true)->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_float_sigmoid)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
