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
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/conv_shapes.h"
#include "dnnl.hpp"
#include "kernels/qconv.h"

namespace {

using octet::bench::ConvShape;
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
  auto src_md = memory::desc(src_dims, dt::u8, tag::nhwc);
  auto dst_md = memory::desc(dst_dims, dt::u8, tag::nhwc);
  auto w_any = memory::desc(w_dims, dt::s8, tag::any);
  auto b_md = memory::desc({s.M}, dt::s32, tag::x);
  convolution_forward::desc desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                 src_md, w_any, b_md, dst_md, {s.stride, s.stride}, {0, 0},
                                 {s.pad, s.pad}, {s.pad, s.pad});
  primitive_attr attr;
  attr.set_output_scales(1 << 1, d.scales);
  attr.set_zero_points(DNNL_ARG_SRC, 0, {kXZero});
  attr.set_zero_points(DNNL_ARG_DST, 0, {kYZero});
  convolution_forward::primitive_desc pd(desc, attr, eng);
  memory src(src_md, eng, d.x.data()), dst(dst_md, eng, d.y.data()), bias(b_md, eng, d.b.data());
  memory w_user(memory::desc(w_dims, dt::s8, s.group > 1 ? tag::goihw : tag::oihw), eng,
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
  st.counters["GOPS"] = benchmark::Counter(2.0 * double(macs(s, d)),
                                           benchmark::Counter::kIsIterationInvariantRate,
                                           benchmark::Counter::kIs1000);
}

// Checks once per shape that both compute the same convolution (within 1 code).
bool verify(const ConvShape& s) {
  Data a(s), b(s);
  k::QConv2dNhwc conv(params(s, a), quant(a), a.w.data(), a.b.data(), 1, k::qgemm_best_isa());
  conv.run(a.x.data(), a.y.data());
  omp_set_num_threads(1);
  OneDnnConv c(s, b);
  c.run();
  int worst = 0;
  size_t off = 0, interior = 0;
  for (size_t i = 0; i < a.y.size(); ++i) {
    const int diff = std::abs(int(a.y[i]) - int(b.y[i]));
    worst = std::max(worst, diff);
    off += diff != 0;
    interior += a.y[i] != 0 && a.y[i] != 255;
  }
  if (worst > 1 || interior * 2 < a.y.size())
    std::fprintf(stderr, "MISMATCH %s: max diff %d, %zu of %zu differ, %zu unclamped (%s)\n",
                 s.name, worst, off, a.y.size(), interior, c.impl.c_str());
  return worst <= 1;
}

class Collector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> times;
  // OCTET_BENCH_METRIC=cpu: compare the main thread's CPU time instead of real time (for one
  // thread on a machine shared with other work; meaningless at more threads).
  bool use_cpu_time = [] {
    const char* m = std::getenv("OCTET_BENCH_METRIC");
    return m && std::string(m) == "cpu";
  }();
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
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
  std::printf("octet path: %s (OCTET_MAX_CPU_ISA=%s, ONEDNN_MAX_CPU_ISA=%s)\n",
              std::string(k::qisa_name(k::qgemm_best_isa())).c_str(),
              std::getenv("OCTET_MAX_CPU_ISA") ? std::getenv("OCTET_MAX_CPU_ISA") : "-",
              std::getenv("ONEDNN_MAX_CPU_ISA") ? std::getenv("ONEDNN_MAX_CPU_ISA") : "-");
  int bad = 0;
  for (const ConvShape& s : octet::bench::conv_shapes()) bad += !verify(s);
  std::printf("verified octet against oneDNN on %zu shapes: %d mismatches (> 1 code)\n",
              octet::bench::conv_shapes().size(), bad);
  auto min_stat = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  const bool w4 = std::getenv("OCTET_BENCH_W4") && std::string(std::getenv("OCTET_BENCH_W4")) == "1";
  for (const ConvShape& s : octet::bench::conv_shapes()) {
    for (int t : threads) {
      benchmark::RegisterBenchmark((std::string("octet/") + s.name).c_str(), bm_octet, s)
          ->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMicrosecond)
          ->ComputeStatistics("min", min_stat);
      benchmark::RegisterBenchmark((std::string("onednn/") + s.name).c_str(), bm_onednn, s)
          ->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMicrosecond)
          ->ComputeStatistics("min", min_stat);
      if (w4)
        benchmark::RegisterBenchmark((std::string("octet_w4/") + s.name).c_str(), bm_octet_w4, s)
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
  if (w4) {
    std::printf("\n%-18s", "shape");
    for (int t : threads) std::printf("  w4/int8@%dT", t);
    std::printf("\n");
    std::vector<double> ls(threads.size(), 0.0);
    std::vector<int> cnt(threads.size(), 0);
    for (const ConvShape& s : octet::bench::conv_shapes()) {
      std::string line = std::string(s.name);
      line.resize(18, ' ');
      for (size_t i = 0; i < threads.size(); ++i) {
        const std::string suffix = std::string(s.name) + "/threads:" +
                                   std::to_string(threads[i]) + "/real_time";
        auto a = rep.times.find("octet_w4/" + suffix), b = rep.times.find("octet/" + suffix);
        char buf[32];
        if (a != rep.times.end() && b != rep.times.end() && b->second > 0) {
          const double r = a->second / b->second;
          ls[i] += std::log(r);
          ++cnt[i];
          std::snprintf(buf, sizeof buf, "  %11.3f", r);
        } else {
          std::snprintf(buf, sizeof buf, "  %11s", "-");
        }
        line += buf;
      }
      std::printf("%s\n", line.c_str());
    }
    std::printf("%-18s", "geomean");
    for (size_t i = 0; i < threads.size(); ++i)
      std::printf("  %11.3f", cnt[i] ? std::exp(ls[i] / cnt[i]) : 0.0);
    std::printf("\n");
  }
  return bad ? 1 : 0;
}
