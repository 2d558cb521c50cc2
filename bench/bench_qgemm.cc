// Integer GEMM, 1024 x 1024 x 1024, u8 A (zero point 0) x s8 B -> s32 C, one thread: octet's
// qgemm (B packed before timing) against oneDNN 2.6's matmul (u8 x s8 -> s32, weights in the
// primitive's layout). Reports GOPS (2 ops per multiply-add) and the fraction of the VNNI peak
// of one core: 128 multiply-adds (256 ops) per cycle at the core clock, which the program
// measures with a chain of dependent register adds (one per cycle) before the runs.
//
// ISA caps (octet reads OCTET_MAX_CPU_ISA, oneDNN ONEDNN_MAX_CPU_ISA; give both the same):
//   OCTET_MAX_CPU_ISA=AVX512_CORE_VNNI ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI ./build/bench/bench_qgemm
//   OCTET_MAX_CPU_ISA=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 ./build/bench/bench_qgemm
//   (no variables: the best of each, AMX where the CPU and OS have it)
// Rates use the CPU time of the (single) thread, robust on a machine shared with other work.
// Also: octet with int4 weights (nibble panels) and qgemm_blockwise (per-block int4, blocks of
// 32 and 128, u8 out).
// Flags: --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"
#include "kernels/qgemm.h"

namespace {

constexpr int64_t kM = 1024, kN = 1024, kK = 1024;
double g_ghz = 0;

// CPU time of this thread (not counting time the scheduler gave to other work).
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Core clock: a chain of dependent register adds (x += x) retires one per cycle (adds of an
// immediate would not do: recent cores fold those at rename).
double measure_ghz() {
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const uint64_t iters = 50'000'000;
    uint64_t x = 1;
    const double t0 = thread_seconds();
    for (uint64_t i = 0; i < iters; ++i) {
      asm volatile(
          "add %0, %0\n\tadd %0, %0\n\tadd %0, %0\n\tadd %0, %0\n\tadd %0, %0\n\t"
          "add %0, %0\n\tadd %0, %0\n\tadd %0, %0\n\tadd %0, %0\n\tadd %0, %0"
          : "+r"(x));
    }
    const double s = thread_seconds() - t0;
    best = std::max(best, 10.0 * double(iters) / s / 1e9);
  }
  return best;
}

struct Data {
  std::vector<uint8_t> a;
  std::vector<int8_t> b_nk, b_kn;
  std::vector<int32_t> c;
  Data() : a(size_t(kM * kK)), b_nk(size_t(kN * kK)), b_kn(size_t(kN * kK)), c(size_t(kM * kN)) {
    std::mt19937 g(1);
    for (auto& v : a) v = uint8_t(g());
    for (int64_t n = 0; n < kN; ++n)
      for (int64_t k = 0; k < kK; ++k) {
        const int8_t w = int8_t(int(g() % 255) - 127);
        b_nk[size_t(n * kK + k)] = w;
        b_kn[size_t(k * kN + n)] = w;
      }
  }
};

void counters(benchmark::State& st) {
  const double ops = 2.0 * double(kM * kN * kK);
  st.counters["GOPS"] =
      benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  // Fraction of the VNNI peak (256 ops per cycle): GOPS / (256 * GHz).
  st.counters["peak_frac"] = benchmark::Counter(ops / (256.0 * g_ghz * 1e9),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void bm_octet(benchmark::State& st) {
  Data d;
  namespace k = octet::kernels;
  const k::QGemmPackedB pb(d.b_nk.data(), kN, kK, k::qgemm_best_isa());
  const k::QGemmA a{d.a.data(), kK, false, 0};
  const k::QGemmEpilogue ep{nullptr, nullptr, octet::DType::kI32};
  for (auto _ : st) {
    k::qgemm(kM, a, pb, 0, kN, ep, d.c.data(), kN);
    benchmark::ClobberMemory();
  }
  st.SetLabel(std::string(k::qisa_name(pb.isa())));
  counters(st);
}

// W4A8: the same GEMM with int4 weights (values in [-8, 7]) kept as nibbles in the panels.
void bm_octet_int4(benchmark::State& st) {
  Data d;
  namespace k = octet::kernels;
  std::vector<uint8_t> nib(size_t(kN * kK / 2), 0);
  std::mt19937 g(2);
  for (auto& v : nib) v = uint8_t(g());
  const k::QGemmPackedB pb = k::QGemmPackedB::from_int4(nib.data(), kN, kK, k::qgemm_best_isa());
  const k::QGemmA a{d.a.data(), kK, false, 0};
  const k::QGemmEpilogue ep{nullptr, nullptr, octet::DType::kI32};
  for (auto _ : st) {
    k::qgemm(kM, a, pb, 0, kN, ep, d.c.data(), kN);
    benchmark::ClobberMemory();
  }
  st.SetLabel(std::string(k::qisa_name(pb.isa())) + (pb.is_int4() ? " int4" : " int8 panels"));
  counters(st);
}

// Per-block int4 (qgemm_blockwise, u8 out), blocks of st.range(0).
void bm_octet_blockwise(benchmark::State& st) {
  Data d;
  namespace k = octet::kernels;
  const int64_t B = st.range(0);
  std::vector<uint8_t> nib(size_t(kN * kK / 2), 0);
  std::mt19937 g(3);
  for (auto& v : nib) v = uint8_t(g());
  std::vector<float> ws(size_t(kN * (kK / B)), 1e-3f);
  const k::QGemmPackedB pb = k::QGemmPackedB::from_int4(nib.data(), kN, kK, k::qgemm_best_isa());
  const k::QGemmA a{d.a.data(), kK, false, 128};
  k::QGemmBlockwise p;
  p.block = B;
  p.w_scale = ws.data();
  p.m = 0.5f;
  p.zero_point = 128;
  std::vector<uint8_t> out(size_t(kM * kN));
  for (auto _ : st) {
    k::qgemm_blockwise(kM, a, pb, 0, kN, p, out.data(), kN);
    benchmark::ClobberMemory();
  }
  st.SetLabel(std::string(k::qisa_name(pb.isa())) + " blockwise int4");
  counters(st);
}

void bm_onednn(benchmark::State& st) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  omp_set_num_threads(1);
  Data d;
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  auto a_md = memory::desc({kM, kK}, dt::u8, tag::ab);
  auto b_any = memory::desc({kK, kN}, dt::s8, tag::any);
  auto c_md = memory::desc({kM, kN}, dt::s32, tag::ab);
  matmul::primitive_desc pd(matmul::desc(a_md, b_any, c_md), eng);
  memory a(a_md, eng, d.a.data()), c(c_md, eng, d.c.data());
  memory b_user(memory::desc({kK, kN}, dt::s8, tag::ab), eng, d.b_kn.data());
  memory b(pd.weights_desc(), eng);
  reorder(b_user, b).execute(strm, b_user, b);
  strm.wait();
  matmul mm(pd);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
  for (auto _ : st) {
    mm.execute(strm, args);
    strm.wait();
  }
  st.SetLabel(pd.impl_info_str());
  counters(st);
}

}  // namespace

BENCHMARK(bm_octet)->Name("octet/qgemm_1024")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_onednn)->Name("onednn/matmul_1024")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_octet_int4)->Name("octet/qgemm_int4_1024")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_octet_blockwise)->Name("octet/qgemm_blockwise_int4_1024")->Arg(32)->Arg(128)
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  g_ghz = measure_ghz();
  std::printf("core clock (dependent-add chain): %.2f GHz; VNNI peak %.0f GOPS per core\n", g_ghz,
              256.0 * g_ghz);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
