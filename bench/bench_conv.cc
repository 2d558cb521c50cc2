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
#include "dnnl.hpp"
#include "kernels/conv.h"

namespace {

using octet::bench::ConvShape;

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

// oneDNN's convolution on d (nhwc src/dst, weights reordered to the primitive's choice).
struct OneDnnConv {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::convolution_forward conv;
  std::unordered_map<int, dnnl::memory> args;
  std::string impl;
  OneDnnConv(const ConvShape& s, Data& d);
  void run() {
    conv.execute(strm, args);
    strm.wait();
  }
};

OneDnnConv::OneDnnConv(const ConvShape& s, Data& d) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  const memory::dims src_dims{1, s.C, s.H, s.W}, dst_dims{1, s.M, d.OH, d.OW};
  memory::dims w_dims = s.group > 1
                            ? memory::dims{s.group, s.M / s.group, s.C / s.group, s.k, s.k}
                            : memory::dims{s.M, s.C, s.k, s.k};
  auto src_md = memory::desc(src_dims, dt::f32, tag::nhwc);
  auto dst_md = memory::desc(dst_dims, dt::f32, tag::nhwc);
  auto w_any = memory::desc(w_dims, dt::f32, tag::any);
  auto b_md = memory::desc({s.M}, dt::f32, tag::x);
  convolution_forward::desc desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                 src_md, w_any, b_md, dst_md, {s.stride, s.stride}, {0, 0},
                                 {s.pad, s.pad}, {s.pad, s.pad});
  convolution_forward::primitive_desc pd(desc, eng);
  memory src(src_md, eng, d.x.data()), dst(dst_md, eng, d.y.data()), bias(b_md, eng, d.b.data());
  memory w_user(memory::desc(w_dims, dt::f32, s.group > 1 ? tag::goihw : tag::oihw), eng,
                d.w.data());
  memory w(pd.weights_desc(), eng);
  reorder(w_user, w).execute(strm, w_user, w);  // weight reorder: not timed
  strm.wait();
  conv = convolution_forward(pd);
  args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}};
  impl = pd.impl_info_str();
}

void bm_onednn(benchmark::State& st, ConvShape s) {
  const int threads = static_cast<int>(st.range(0));
  omp_set_num_threads(threads);
  Data d(s);
  OneDnnConv c(s, d);
  c.run();
  for (auto _ : st) c.run();
  st.SetLabel(c.impl);
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
  OneDnnConv c(s, b);
  c.run();
  double worst = 0;
  for (size_t i = 0; i < a.y.size(); ++i)
    worst = std::max(worst, std::fabs(double(a.y[i]) - b.y[i]) / (1.0 + std::fabs(double(b.y[i]))));
  if (worst > 1e-4) std::fprintf(stderr, "MISMATCH %s: max rel error %g\n", s.name, worst);
  return worst <= 1e-4;
}

// Keeps each run's real time per iteration for the ratio table.
class Collector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> times;  // name -> time per iteration
  // OCTET_BENCH_METRIC=cpu: compare the main thread's CPU time instead of real time (useful
  // at 1 thread on a machine shared with other work; meaningless at more threads).
  bool use_cpu_time = [] {
    const char* m = std::getenv("OCTET_BENCH_METRIC");
    return m && std::string(m) == "cpu";
  }();
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      // Keep the fastest repetition (the least disturbed by other work on the machine): the
      // "min" aggregate, or the minimum over the individual runs.
      const bool single = r.run_type == Run::RT_Iteration;
      const bool min_agg = r.run_type == Run::RT_Aggregate && r.aggregate_name == "min";
      if ((single || min_agg) && !r.error_occurred) {
        const double t = use_cpu_time ? r.GetAdjustedCPUTime() : r.GetAdjustedRealTime();
        auto [it, fresh] = times.emplace(r.run_name.str(), t);
        if (!fresh) it->second = std::min(it->second, t);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

std::vector<int> thread_counts() {
  std::vector<int> t;
  const char* env = std::getenv("OCTET_BENCH_THREADS");
  std::stringstream ss(env ? env : "1,2");
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) t.push_back(std::max(1, std::atoi(item.c_str())));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const auto threads = thread_counts();
  int bad = 0;
  for (const ConvShape& s : octet::bench::conv_shapes()) bad += !verify(s);
  std::printf("verified octet against oneDNN on %zu shapes: %d mismatches\n",
              octet::bench::conv_shapes().size(), bad);
  auto min_stat = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  for (const ConvShape& s : octet::bench::conv_shapes()) {
    for (int t : threads) {
      benchmark::RegisterBenchmark((std::string("octet/") + s.name).c_str(), bm_octet, s)
          ->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMicrosecond)
          ->ComputeStatistics("min", min_stat);
      benchmark::RegisterBenchmark((std::string("onednn/") + s.name).c_str(), bm_onednn, s)
          ->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMicrosecond)
          ->ComputeStatistics("min", min_stat);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Collector rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();

  std::printf("\n%-18s", "shape");
  for (int t : threads) std::printf("  octet/oneDNN@%dT", t);
  std::printf("\n");
  std::vector<double> logsum(threads.size(), 0.0);
  std::vector<int> count(threads.size(), 0);
  for (const ConvShape& s : octet::bench::conv_shapes()) {
    bool any = false;
    std::string line = std::string(s.name);
    line.resize(18, ' ');
    for (size_t i = 0; i < threads.size(); ++i) {
      const std::string suffix = std::string(s.name) + "/threads:" + std::to_string(threads[i]) +
                                 "/real_time";
      auto a = rep.times.find("octet/" + suffix), b = rep.times.find("onednn/" + suffix);
      char buf[32];
      if (a != rep.times.end() && b != rep.times.end() && b->second > 0) {
        const double r = a->second / b->second;
        logsum[i] += std::log(r);
        ++count[i];
        any = true;
        std::snprintf(buf, sizeof buf, "  %16.3f", r);
      } else {
        std::snprintf(buf, sizeof buf, "  %16s", "-");
      }
      line += buf;
    }
    if (any) std::printf("%s\n", line.c_str());
  }
  std::printf("%-18s", "geomean");
  for (size_t i = 0; i < threads.size(); ++i)
    std::printf("  %16.3f", count[i] ? std::exp(logsum[i] / count[i]) : 0.0);
  std::printf("\n");
  return 0;
}
