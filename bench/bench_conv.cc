// Float Conv: octet's NHWC kernel (weights packed before timing) against oneDNN's f32
// convolution (nhwc src/dst, format_tag::any weights, primitive built before timing) on the
// conv layers of MobileNetV2 and ResNet-18 (224x224, batch 1), at 1 and 2 threads.
//
//   ./build/bench/bench_conv [--benchmark_filter=...] [benchmark flags]
//   OCTET_BENCH_THREADS=1,2 (default) chooses the thread counts; OCTET_BENCH_METRIC=cpu ranks
//   by CPU time instead of real time. Each ratio uses the fastest of the repetitions, e.g.
//   --benchmark_min_time=0.02 --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
// After the runs it prints the octet/oneDNN time ratio per shape and the geometric mean.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/conv_shapes.h"
#include "bench/onednn_conv.h"
#include "bench/ratio_report.h"
#include "dnnl.hpp"
#include "kernels/conv.h"

namespace {

using namespace octet::bench;

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

std::vector<float> randv(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

struct Data {
  std::vector<float> x, w, b, y;
  int64_t OH, OW;
  explicit Data(const ConvShape& s) {
    OH = out_size(s.H, s.k, s.stride, s.pad);
    OW = out_size(s.W, s.k, s.stride, s.pad);
    x = randv(static_cast<size_t>(s.C * s.H * s.W), 1);
    w = randv(static_cast<size_t>(s.M * (s.C / s.group) * s.k * s.k), 2);
    b = randv(static_cast<size_t>(s.M), 3);
    y.assign(static_cast<size_t>(s.M * OH * OW), 0.f);
  }
};

void bm_octet(benchmark::State& st, ConvShape s) {
  const int threads = static_cast<int>(st.range(0));
  Data d(s);
  octet::kernels::ConvParams p;
  p.N = 1; p.C = s.C; p.H = s.H; p.W = s.W; p.M = s.M; p.OH = d.OH; p.OW = d.OW;
  p.KH = p.KW = s.k; p.sh = p.sw = s.stride; p.pt = p.pl = s.pad; p.group = s.group;
  octet::kernels::Conv2dNhwc conv(p, d.w.data(), d.b.data(), threads);  // packs: not timed
  conv.run_nhwc(d.x.data(), d.y.data());
  for (auto _ : st) {
    conv.run_nhwc(d.x.data(), d.y.data());
    benchmark::ClobberMemory();
  }
  st.SetLabel(std::string(conv.impl_name()));
  st.counters["GFLOPS"] = benchmark::Counter(
      2.0 * s.M * d.OH * d.OW * (s.C / s.group) * s.k * s.k, benchmark::Counter::kIsIterationInvariantRate,
      benchmark::Counter::kIs1000);
}

OneDnnConv make_onednn(const ConvShape& s, Data& d) {
  using dt = dnnl::memory::data_type;
  return OneDnnConv(s, d.OH, d.OW, {dt::f32, dt::f32, dt::f32, dt::f32}, dnnl::primitive_attr(),
                    d.x.data(), d.w.data(), d.b.data(), d.y.data());
}

void bm_onednn(benchmark::State& st, ConvShape s) {
  const int threads = static_cast<int>(st.range(0));
  omp_set_num_threads(threads);
  Data d(s);
  OneDnnConv c = make_onednn(s, d);
  c.run();
  for (auto _ : st) c.run();
  st.SetLabel(c.impl());
  st.counters["GFLOPS"] = benchmark::Counter(
      2.0 * s.M * d.OH * d.OW * (s.C / s.group) * s.k * s.k, benchmark::Counter::kIsIterationInvariantRate,
      benchmark::Counter::kIs1000);
}

// Checks once per shape that both compute the same convolution.
bool verify(const ConvShape& s) {
  Data a(s), b(s);
  octet::kernels::ConvParams p;
  p.N = 1; p.C = s.C; p.H = s.H; p.W = s.W; p.M = s.M; p.OH = a.OH; p.OW = a.OW;
  p.KH = p.KW = s.k; p.sh = p.sw = s.stride; p.pt = p.pl = s.pad; p.group = s.group;
  octet::kernels::Conv2dNhwc conv(p, a.w.data(), a.b.data(), 1);
  conv.run_nhwc(a.x.data(), a.y.data());
  omp_set_num_threads(1);
  OneDnnConv c = make_onednn(s, b);
  c.run();
  double worst = 0;
  for (size_t i = 0; i < a.y.size(); ++i)
    worst = std::max(worst, std::fabs(double(a.y[i]) - b.y[i]) / (1.0 + std::fabs(double(b.y[i]))));
  if (worst > 1e-4) std::fprintf(stderr, "MISMATCH %s: max rel error %g\n", s.name, worst);
  return worst <= 1e-4;
}

}  // namespace

int main(int argc, char** argv) {
  const auto threads = bench_thread_counts();
  int bad = 0;
  for (const ConvShape& s : octet::bench::conv_shapes()) bad += !verify(s);
  std::printf("verified octet against oneDNN on %zu shapes: %d mismatches\n",
              octet::bench::conv_shapes().size(), bad);
  std::vector<std::string> names;
  for (const ConvShape& s : octet::bench::conv_shapes()) {
    names.push_back(s.name);
    for (int t : threads) {
      configure(benchmark::RegisterBenchmark((std::string("octet/") + s.name).c_str(), bm_octet, s), t);
      configure(benchmark::RegisterBenchmark((std::string("onednn/") + s.name).c_str(), bm_onednn, s), t);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  FastestRunCollector rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();
  print_ratio_table(rep, names, threads, "octet", "onednn", "octet/oneDNN");
  return 0;
}
