// Integer Conv: octet's QConv2dNhwc (weights packed before timing) against oneDNN 2.6's int8
// convolution (u8 nhwc src with a zero point, s8 per-channel weights in the primitive's own
// layout, s32 bias, per-channel output scales, u8 nhwc dst with a zero point; primitive built
// before timing) on the conv layers of MobileNetV2 and ResNet-18 (224x224, batch 1), at 1 and
// 2 threads. Before timing, each shape's outputs are checked to agree within 1 code (oneDNN
// adds the bias and applies the scale its own way, so a rounding may differ).
//
// ISA caps (octet reads OCTET_MAX_CPU_ISA, oneDNN ONEDNN_MAX_CPU_ISA; give both the same):
//   OCTET_MAX_CPU_ISA=AVX512_CORE_VNNI ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI ./build/bench/bench_qconv
//   OCTET_MAX_CPU_ISA=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 ./build/bench/bench_qconv
//   OCTET_MAX_CPU_ISA=AVX512_CORE_AMX ONEDNN_MAX_CPU_ISA=AVX512_CORE_AMX ./build/bench/bench_qconv
//   (no variables: the best of each on this CPU)
// Useful flags: --benchmark_min_time=0.05 --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true; OCTET_BENCH_THREADS=1,2 (default) picks the
// thread counts; OCTET_BENCH_METRIC=cpu ranks by CPU time (one thread on a busy machine). Each ratio uses the fastest repetition. After the runs it prints the
// octet/oneDNN time ratio per shape and the geometric mean. OCTET_BENCH_W4=1 adds octet with
// int4 weights (W4A8, packed nibbles) and prints its time over octet's int8 time.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/conv_shapes.h"
#include "bench/onednn_conv.h"
#include "bench/ratio_report.h"
#include "dnnl.hpp"
#include "kernels/qconv.h"

namespace {

using namespace octet::bench;
namespace k = octet::kernels;

int64_t out_size(int64_t in, int64_t kk, int64_t s, int64_t p) { return (in + 2 * p - kk) / s + 1; }

constexpr int32_t kXZero = 120, kYZero = 100;

struct Data {
  std::vector<uint8_t> x, y;
  std::vector<int8_t> w;
  std::vector<int32_t> b;
  std::vector<float> scales;  // per output channel: x_scale * w_scale / y_scale
  int64_t OH, OW;
  explicit Data(const ConvShape& s) {
    OH = out_size(s.H, s.k, s.stride, s.pad);
    OW = out_size(s.W, s.k, s.stride, s.pad);
    std::mt19937 g(1);
    x.resize(size_t(s.C * s.H * s.W));
    for (auto& v : x) v = uint8_t(g());
    w.resize(size_t(s.M * (s.C / s.group) * s.k * s.k));
    for (auto& v : w) v = int8_t(int(g() % 255) - 127);
    b.resize(size_t(s.M));
    for (auto& v : b) v = int32_t(g() % 20001) - 10000;
    const double K = double((s.C / s.group) * s.k * s.k);
    std::uniform_real_distribution<double> f(0.5, 2.0);
    for (int64_t m = 0; m < s.M; ++m) scales.push_back(float(40.0 / (75.0 * 73.0 * std::sqrt(K)) * f(g)));
    y.assign(size_t(s.M * OH * OW), 0);
  }
};

k::ConvParams params(const ConvShape& s, const Data& d) {
  k::ConvParams p;
  p.N = 1; p.C = s.C; p.H = s.H; p.W = s.W; p.M = s.M; p.OH = d.OH; p.OW = d.OW;
  p.KH = p.KW = s.k; p.sh = p.sw = s.stride; p.pt = p.pl = s.pad; p.group = s.group;
  return p;
}

k::QConvQuant quant(const Data& d) {
  k::QConvQuant q;
  q.x_signed = false;
  q.x_zero_point = kXZero;
  q.out_type = octet::DType::kU8;
  q.requant.scheme = k::RequantScheme::kFp32;
  for (float sc : d.scales) {
    k::ChannelMultiplier m;
    m.multiplier = sc;
    q.requant.multipliers.push_back(m);
  }
  q.requant.zero_point = kYZero;
  q.requant.qmin = 0;
  q.requant.qmax = 255;
  return q;
}

int64_t macs(const ConvShape& s, const Data& d) {
  return s.M * d.OH * d.OW * (s.C / s.group) * s.k * s.k;
}

void bm_octet(benchmark::State& st, ConvShape s) {
  const int threads = static_cast<int>(st.range(0));
  Data d(s);
  k::QConv2dNhwc conv(params(s, d), quant(d), d.w.data(), d.b.data(), threads,
                      k::qgemm_best_isa());  // packs: not timed
  conv.run(d.x.data(), d.y.data());
  for (auto _ : st) {
    conv.run(d.x.data(), d.y.data());
    benchmark::ClobberMemory();
  }
  st.SetLabel(std::string(conv.impl_name()));
  st.counters["GOPS"] = benchmark::Counter(2.0 * double(macs(s, d)),
                                           benchmark::Counter::kIsIterationInvariantRate,
                                           benchmark::Counter::kIs1000);
}

// W4A8: the same convolution with int4 weights (values in [-8, 7], nibbles kept packed on the
// GEMM paths), octet only; compared with octet's int8 time (OCTET_BENCH_W4=1).
void bm_octet_w4(benchmark::State& st, ConvShape s) {
  const int threads = static_cast<int>(st.range(0));
  Data d(s);
  std::vector<uint8_t> nib((d.w.size() + 1) / 2, 0);
  std::mt19937 g(7);
  for (size_t i = 0; i < d.w.size(); ++i) nib[i / 2] |= uint8_t((g() % 16) << (4 * (i % 2)));
  k::QConvQuant q = quant(d);
  for (auto& m : q.requant.multipliers) m.multiplier *= 16.f;  // weights ~16x smaller
  k::QConv2dNhwc conv(params(s, d), q, k::Int4Weights{nib.data()}, d.b.data(), threads,
                      k::qgemm_best_isa());
  conv.run(d.x.data(), d.y.data());
  for (auto _ : st) {
    conv.run(d.x.data(), d.y.data());
    benchmark::ClobberMemory();
  }
  st.SetLabel(std::string(conv.impl_name()) + "_w4");
  st.counters["GOPS"] = benchmark::Counter(2.0 * double(macs(s, d)),
                                           benchmark::Counter::kIsIterationInvariantRate,
                                           benchmark::Counter::kIs1000);
}

OneDnnConv make_onednn(const ConvShape& s, Data& d) {
  using dt = dnnl::memory::data_type;
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 1, d.scales);
  attr.set_zero_points(DNNL_ARG_SRC, 0, {kXZero});
  attr.set_zero_points(DNNL_ARG_DST, 0, {kYZero});
  return OneDnnConv(s, d.OH, d.OW, {dt::u8, dt::s8, dt::s32, dt::u8}, attr, d.x.data(),
                    d.w.data(), d.b.data(), d.y.data());
}

void bm_onednn(benchmark::State& st, ConvShape s) {
  const int threads = static_cast<int>(st.range(0));
  omp_set_num_threads(threads);
  Data d(s);
  OneDnnConv c = make_onednn(s, d);
  c.run();
  for (auto _ : st) c.run();
  st.SetLabel(c.impl());
  st.counters["GOPS"] = benchmark::Counter(2.0 * double(macs(s, d)),
                                           benchmark::Counter::kIsIterationInvariantRate,
                                           benchmark::Counter::kIs1000);
}

int g_not_compared = 0;  // shapes where the peer is not exact (verify())

// Checks once per shape that both compute the same convolution (within 1 code).
bool verify(const ConvShape& s) {
  Data a(s), b(s);
  k::QConv2dNhwc conv(params(s, a), quant(a), a.w.data(), a.b.data(), 1, k::qgemm_best_isa());
  conv.run(a.x.data(), a.y.data());
  omp_set_num_threads(1);
  OneDnnConv c = make_onednn(s, b);
  c.run();
  int worst = 0;
  size_t off = 0, interior = 0;
  for (size_t i = 0; i < a.y.size(); ++i) {
    const int diff = std::abs(int(a.y[i]) - int(b.y[i]));
    worst = std::max(worst, diff);
    off += diff != 0;
    interior += a.y[i] != 0 && a.y[i] != 255;
  }
  // oneDNN's int8 JIT kernels for an ISA without VNNI (the implementation name ends in one of
  // these) sum u8 x s8 pairs in saturating int16 (vpmaddubsw): with full-range data the peer
  // itself is off, so there is nothing to compare. Its VNNI, AMX and reference kernels are exact.
  const std::string impl = c.impl();
  bool peer_exact = true;
  for (const char* isa : {":sse41", ":avx", ":avx2", ":avx512_core"})
    if (impl.size() >= std::strlen(isa) && impl.compare(impl.size() - std::strlen(isa), std::string::npos, isa) == 0)
      peer_exact = false;
  if (!peer_exact) {
    ++g_not_compared;
    if (worst > 1)
      std::fprintf(stderr, "not compared %s: oneDNN's %s saturates int16 pair sums without VNNI "
                   "(max diff %d)\n", s.name, c.impl().c_str(), worst);
    return true;
  }
  if (worst > 1 || interior * 2 < a.y.size())
    std::fprintf(stderr, "MISMATCH %s: max diff %d, %zu of %zu differ, %zu unclamped (%s)\n",
                 s.name, worst, off, a.y.size(), interior, c.impl().c_str());
  return worst <= 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto threads = bench_thread_counts();
  std::printf("octet path: %s (OCTET_MAX_CPU_ISA=%s, ONEDNN_MAX_CPU_ISA=%s)\n",
              std::string(k::qisa_name(k::qgemm_best_isa())).c_str(),
              std::getenv("OCTET_MAX_CPU_ISA") ? std::getenv("OCTET_MAX_CPU_ISA") : "-",
              std::getenv("ONEDNN_MAX_CPU_ISA") ? std::getenv("ONEDNN_MAX_CPU_ISA") : "-");
  int bad = 0;
  for (const ConvShape& s : octet::bench::conv_shapes()) bad += !verify(s);
  std::printf("verified octet against oneDNN on %zu shapes: %d mismatches (> 1 code), %d not "
              "compared (oneDNN without VNNI)\n", octet::bench::conv_shapes().size(), bad,
              g_not_compared);
  const bool w4 = std::getenv("OCTET_BENCH_W4") && std::string(std::getenv("OCTET_BENCH_W4")) == "1";
  std::vector<std::string> names;
  for (const ConvShape& s : octet::bench::conv_shapes()) {
    names.push_back(s.name);
    for (int t : threads) {
      configure(benchmark::RegisterBenchmark((std::string("octet/") + s.name).c_str(), bm_octet, s), t);
      configure(benchmark::RegisterBenchmark((std::string("onednn/") + s.name).c_str(), bm_onednn, s), t);
      if (w4)
        configure(benchmark::RegisterBenchmark((std::string("octet_w4/") + s.name).c_str(), bm_octet_w4, s), t);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  FastestRunCollector rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();
  print_ratio_table(rep, names, threads, "octet", "onednn", "octet/oneDNN");
  if (w4) print_ratio_table(rep, names, threads, "octet_w4", "octet", "w4/int8");
  return bad ? 1 : 0;
}
