// End-to-end latency at batch 1 (issue 4): Session::run on whole models in modes float, int
// (W8A8, the default quantsim config: per-tensor weights), exact (the same W8A8 integer graph
// simulated on float kernels) and int_w4 (W4A8, per-channel weights), at 1 and 2 threads.
// Models: MobileNetV2 1.0 and ResNet-18 at 224x224 (bench/model_zoo.h, random weights,
// calibrated on 8 random N(0,1) images) and the MNIST fixtures tests/data/mnist_mobilenet.onnx,
// mnist_resnet.onnx (calibrated on tests/data/mnist_calib_images.npy).
//
// Per model, once (stderr): the .octet sizes (float calibrated model, integer W8A8, integer
// W4A8) and the lowering report (integer nodes, float fallbacks). After the runs: a table of
// latency per model x mode x threads with the float/int ratios. Counters: `float_over_int` on
// the int / int_w4 / exact rows (float time of the same model and threads over this row's),
// `float_over_int_best` the same from the fastest single runs, `best_ms` that fastest run.
//
//   ./build/bench/bench_e2e --benchmark_min_time=0.2
//   ./build/bench/bench_e2e --benchmark_filter='mobilenetv2_224' --benchmark_min_time=0.2
//   OCTET_E2E_PROFILE=1 ./build/bench/bench_e2e --benchmark_filter='mobilenetv2_224/int/'
//       after the runs, per-node time of each model's float and int graphs (top nodes, with
//       their kernel implementation names, the time per op type / implementation, and float
//       vs int node by node); the value is the thread count of the profile (1, 2, ...)
//   OCTET_E2E_TARGET=xnnpack ... lowers for another target profile (default onnxruntime).
//   OMP_WAIT_POLICY=passive: on a machine shared with other jobs, 2-thread runs with libgomp's
//       default (spinning) barriers take 10-1000x longer whenever the other core is busy.
//   OCTET_DATA_DIR=... overrides the folder of the MNIST fixtures.
//   OCTET_E2E_SAVE_DIR=/tmp/zoo ... also writes the 224 models as ONNX (/tmp/zoo/NAME.onnx) and
//       their calibration images (/tmp/zoo/NAME_calib.npy), for the CLI commands below.
//
// The same measurement with the CLI (MNIST fixtures; `ninja -C build octet`):
//   ./build/octet quantize tests/data/mnist_mobilenet.onnx --data tests/data/mnist_calib_images.npy -o /tmp/mbn_w8.octet
//   ./build/octet quantize tests/data/mnist_mobilenet.onnx --data tests/data/mnist_calib_images.npy --param-bw 4 --per-channel -o /tmp/mbn_w4.octet
//   ./build/octet bench tests/data/mnist_mobilenet.onnx            (float)
//   ./build/octet bench /tmp/mbn_w8.octet --mode int
//   ./build/octet bench /tmp/mbn_w4.octet --mode int
//   (likewise mnist_resnet.onnx; add --threads 2 for two threads; for the 224 models the same
//   with /tmp/zoo/mobilenetv2_224.onnx --data /tmp/zoo/mobilenetv2_224_calib.npy --batch 8)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/model_zoo.h"
#include "base/dtype.h"
#include "engine/op.h"
#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_writer.h"
#include "quant/quantsim.h"

#ifndef OCTET_TEST_DATA_DIR
#define OCTET_TEST_DATA_DIR "tests/data"
#endif

namespace {

using namespace octet;
using Clock = std::chrono::steady_clock;

std::string data_dir() {
  const char* env = std::getenv("OCTET_DATA_DIR");
  return env && *env ? env : OCTET_TEST_DATA_DIR;
}
std::string target() {
  const char* env = std::getenv("OCTET_E2E_TARGET");
  return env && *env ? env : "onnxruntime";
}

enum class Variant { kFloat, kInt, kExact, kIntW4 };
constexpr Variant kVariants[] = {Variant::kFloat, Variant::kInt, Variant::kExact, Variant::kIntW4};
const char* variant_name(Variant v) {
  switch (v) {
    case Variant::kFloat: return "float";
    case Variant::kInt: return "int";
    case Variant::kExact: return "exact";
    case Variant::kIntW4: return "int_w4";
  }
  return "?";
}

struct ModelSpec {
  std::string name;
  bool zoo;              // built in memory (random weights) vs an MNIST fixture
  std::string file;      // fixture file
  std::shared_ptr<Graph> (*build)(const bench::ZooOptions&) = nullptr;
};

const std::vector<ModelSpec>& specs() {
  static const std::vector<ModelSpec> s = {
      {"mobilenetv2_224", true, "", &bench::build_mobilenet_v2},
      {"resnet18_224", true, "", &bench::build_resnet18},
      {"mnist_mobilenet", false, "mnist_mobilenet.onnx", nullptr},
      {"mnist_resnet", false, "mnist_resnet.onnx", nullptr},
  };
  return s;
}

HostTensor normal_images(const std::string& name, Dims dims, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(size_t(checked_numel(dims)));
  for (float& x : v) x = d(rng);
  return HostTensor::from<float>(name, std::move(dims), v);
}

// The 224x224 models' calibration set: 8 N(0,1) images.
HostTensor zoo_calibration_images() { return normal_images("input", {8, 3, 224, 224}, 11); }

struct Prepared {
  std::shared_ptr<Graph> w8, w4;  // calibrated (annotated) float graphs
  HostTensor input;               // batch 1
  std::map<std::pair<int, int>, std::unique_ptr<Session>> sessions;  // (variant, threads)
};

std::shared_ptr<Graph> calibrate(const ModelSpec& spec, std::shared_ptr<const Graph> model,
                                 int param_bw, bool per_channel) {
  quant::QuantSimOptions qo;
  qo.param_bitwidth = param_bw;
  if (per_channel) qo.per_channel = true;
  quant::QuantSim sim(std::move(model), quant::QuantsimConfig::load_shipped("default_config"), qo);
  quant::CalibrationOptions co;
  co.threads = 2;
  if (spec.zoo) {
    co.batch_size = 8;
    sim.calibrate(zoo_calibration_images(), co);
  } else {
    co.batch_size = 50;
    sim.calibrate(data_dir() + "/mnist_calib_images.npy", co);
  }
  return sim.annotated_model();
}

std::map<std::string, std::unique_ptr<Prepared>> g_models;

Session& session_for(Prepared& p, Variant v, int threads);

std::string kb(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / 1024.0);
  return buf;
}

Prepared& prepared(const ModelSpec& spec) {
  auto& slot = g_models[spec.name];
  if (slot) return *slot;
  const auto t0 = Clock::now();
  auto p = std::make_unique<Prepared>();
  std::shared_ptr<Graph> fl;
  if (spec.zoo) {
    bench::ZooOptions zo;
    zo.symbolic_batch = true;
    fl = spec.build(zo);
    const char* dir = std::getenv("OCTET_E2E_SAVE_DIR");
    if (dir && *dir) {
      const std::string base = std::string(dir) + "/" + spec.name;
      save_onnx(*fl, base + ".onnx");
      save_npy(base + "_calib.npy", zoo_calibration_images());
      std::fprintf(stderr, "[%s] wrote %s.onnx and %s_calib.npy\n", spec.name.c_str(),
                   base.c_str(), base.c_str());
    }
  } else {
    fl = load_model(data_dir() + "/" + spec.file);
  }
  p->w8 = calibrate(spec, fl, 8, false);
  p->w4 = calibrate(spec, fl, 4, true);
  const TensorInfo& in = p->w8->tensor(p->w8->inputs[0]);
  Dims dims;
  for (const Dim& d : in.shape.dims) dims.push_back(d.is_known() ? d.value : 1);
  p->input = normal_images(in.name, dims, 5);
  if (!spec.zoo) {  // a real image from the calibration set
    const HostTensor calib = load_npy(data_dir() + "/mnist_calib_images.npy");
    const size_t n = p->input.bytes.size();
    if (calib.dtype == DType::kF32 && calib.bytes.size() >= n)
      std::memcpy(p->input.bytes.data(), calib.bytes.data(), n);
  }
  slot = std::move(p);
  Prepared& r = *slot;

  Session& s8 = session_for(r, Variant::kInt, 1);
  Session& s4 = session_for(r, Variant::kIntW4, 1);
  const size_t f_bytes = save_octet_bytes(*r.w8).size();
  const size_t i8_bytes = save_octet_bytes(s8.prepared_graph()).size();
  const size_t i4_bytes = save_octet_bytes(s4.prepared_graph()).size();
  std::fprintf(stderr,
               "[%s] set up in %.1f s; .octet sizes: float %s, int W8A8 %s (%.2fx smaller), "
               "int W4A8 %s (%.2fx smaller than float, %.2fx than W8A8)\n",
               spec.name.c_str(), std::chrono::duration<double>(Clock::now() - t0).count(),
               kb(f_bytes).c_str(), kb(i8_bytes).c_str(), double(f_bytes) / double(i8_bytes),
               kb(i4_bytes).c_str(), double(f_bytes) / double(i4_bytes),
               double(i8_bytes) / double(i4_bytes));
  for (auto [name, s] : {std::pair{"W8A8", &s8}, std::pair{"W4A8", &s4}}) {
    const LoweringReport* rep = s->lowering_report();
    if (!rep) continue;
    std::fprintf(stderr, "[%s] lowering %s (target %s): %d integer nodes, %zu float fallbacks\n",
                 spec.name.c_str(), name, target().c_str(), rep->integer_nodes,
                 rep->float_nodes.size());
    for (const std::string& f : rep->float_nodes)
      std::fprintf(stderr, "    float: %s\n", f.c_str());
  }
  return r;
}

Session& session_for(Prepared& p, Variant v, int threads) {
  auto& s = p.sessions[{int(v), threads}];
  if (s) return *s;
  SessionOptions so;
  so.threads = threads;
  so.target = target();
  so.input_shapes[p.input.name] = p.input.dims;
  so.mode = v == Variant::kFloat ? ExecutionMode::kFloat
            : v == Variant::kExact ? ExecutionMode::kExact
                                   : ExecutionMode::kInt;
  s = std::make_unique<Session>(v == Variant::kIntW4 ? p.w4 : p.w8, so);
  return *s;
}

// Best seconds per run, by (model, variant, threads): wall clock, and CPU time of the process
// (all threads; on a busy machine the single-thread CPU time is the steadier figure).
// g_best: the fastest single run (the least disturbed by other processes).
std::map<std::tuple<std::string, int, int>, double> g_times, g_cpu_times, g_best;

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

void bm_e2e(benchmark::State& state, const ModelSpec* spec, Variant v) {
  const int threads = int(state.range(0));
  Session* s = nullptr;
  Prepared* p = nullptr;
  try {
    p = &prepared(*spec);
    s = &session_for(*p, v, threads);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const std::vector<HostTensor> feeds{p->input};
  s->run(feeds);  // warm-up
  const double c0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  double best = INFINITY;
  for (auto _ : state) {
    const auto r0 = Clock::now();
    auto out = s->run(feeds);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - r0).count());
    benchmark::DoNotOptimize(out.data());
  }
  const double sec =
      std::chrono::duration<double>(Clock::now() - t0).count() / double(state.iterations());
  const double cpu = (process_cpu_seconds() - c0) / double(state.iterations());
  const auto key = std::make_tuple(spec->name, int(v), threads);
  auto it = g_times.find(key);
  if (it == g_times.end() || sec < it->second) g_times[key] = sec;
  auto bt = g_best.find(key);
  if (bt == g_best.end() || best < bt->second) g_best[key] = best;
  auto ct = g_cpu_times.find(key);
  if (ct == g_cpu_times.end() || cpu < ct->second) g_cpu_times[key] = cpu;
  if (v != Variant::kFloat) {
    auto f = g_times.find(std::make_tuple(spec->name, int(Variant::kFloat), threads));
    if (f != g_times.end()) state.counters["float_over_int"] = f->second / g_times[key];
    auto fb = g_best.find(std::make_tuple(spec->name, int(Variant::kFloat), threads));
    if (fb != g_best.end()) state.counters["float_over_int_best"] = fb->second / g_best[key];
  }
  state.counters["best_ms"] = g_best[key] * 1e3;
}

// ---- Per-node profile: the session's prepared graph run node by node, each timed; a node's
// time is its fastest of `reps` runs (robust to preemption on a busy machine), so the sum of
// node times is a lower bound of the run time. ----

struct NodeTime {
  std::string name, op, impl;
  double sec = 0;
};

std::vector<NodeTime> profile_graph(const Graph& g, ExecutionMode mode, int threads,
                                    const HostTensor& input, int reps) {
  const OpRegistry& reg = OpRegistry::instance();
  std::vector<std::unique_ptr<Kernel>> kernels;
  std::vector<bool> alias;
  for (const Node& n : g.nodes) {
    const OpSchema* schema = reg.find(n.op_type);
    OCTET_CHECK(schema, "profile: op ", n.op_type, " not registered");
    PrepareContext pc{g, n, threads, false, mode};
    kernels.push_back(schema->prepare(pc));
    alias.push_back(schema->output_aliases_input0);
  }
  std::vector<TensorRef> refs(g.tensors.size());
  std::vector<std::unique_ptr<std::byte, decltype(&std::free)>> storage;
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const TensorInfo& t = g.tensors[i];
    refs[i].dtype = t.dtype;
    if (!t.shape.is_concrete()) continue;
    refs[i].dims = t.shape.concrete();
    if (t.is_constant()) {
      refs[i].data = const_cast<std::byte*>(t.data->data());
      continue;
    }
    const size_t bytes = (dtype_storage_bytes(t.dtype, refs[i].numel()) + 127) / 64 * 64;
    storage.emplace_back(static_cast<std::byte*>(std::aligned_alloc(64, bytes)), &std::free);
    std::memset(storage.back().get(), 0, bytes);
    refs[i].data = storage.back().get();
  }
  for (size_t n = 0; n < g.nodes.size(); ++n)
    if (alias[n] && g.nodes[n].has_input(0))
      for (TensorId o : g.nodes[n].outputs) refs[o].data = refs[g.nodes[n].inputs[0]].data;
  const TensorId in = g.require_tensor(input.name);
  std::memcpy(refs[in].data, input.bytes.data(), input.bytes.size());

  std::vector<NodeTime> times(g.nodes.size());
  std::vector<TensorRef> ins, outs;
  for (int r = 0; r < reps + 1; ++r) {
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      const Node& node = g.nodes[n];
      ins.clear();
      outs.clear();
      for (TensorId id : node.inputs) ins.push_back(id == kNoTensor ? TensorRef{} : refs[id]);
      for (TensorId id : node.outputs) outs.push_back(id == kNoTensor ? TensorRef{} : refs[id]);
      const auto t0 = Clock::now();
      kernels[n]->run(ins, outs);
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      if (r > 0 && (r == 1 || dt < times[n].sec)) times[n].sec = dt;
    }
  }
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    times[n].name = g.nodes[n].name;
    times[n].op = g.nodes[n].op_type;
    times[n].impl = std::string(kernels[n]->impl_name());
  }
  return times;
}

std::string shape_of(const Graph& g, const std::string& node_name) {
  for (const Node& n : g.nodes)
    if (n.name == node_name && !n.outputs.empty())
      return g.tensor(n.outputs[0]).shape.to_string();
  return "";
}

std::vector<NodeTime> print_profile(const std::string& model, Prepared& p, Variant v, int threads) {
  Session& s = session_for(p, v, threads);
  const ExecutionMode mode = v == Variant::kFloat ? ExecutionMode::kFloat
                             : v == Variant::kExact ? ExecutionMode::kExact
                                                    : ExecutionMode::kInt;
  const int reps = 30;
  std::vector<NodeTime> t = profile_graph(s.prepared_graph(), mode, threads, p.input, reps);
  // The kernels prepared here are the session's own choices (Session::kernel_choices()).
  const std::vector<KernelChoice> choices = s.kernel_choices();
  for (size_t i = 0; i < t.size() && i < choices.size(); ++i)
    if (choices[i].impl != t[i].impl)
      std::fprintf(stderr, "  note: node %s: profiled impl %s, session impl %s\n", t[i].name.c_str(),
                   t[i].impl.c_str(), choices[i].impl.c_str());
  double total = 0;
  for (const NodeTime& n : t) total += n.sec;
  std::fprintf(stderr, "\n[profile %s %s threads=%d] %zu nodes, sum of node times %.3f ms\n",
               model.c_str(), variant_name(v), threads, t.size(), total * 1e3);
  std::map<std::string, std::pair<double, int>> by_impl;
  for (const NodeTime& n : t) {
    auto& e = by_impl[n.op + " / " + n.impl];
    e.first += n.sec;
    e.second++;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> agg(by_impl.begin(), by_impl.end());
  std::sort(agg.begin(), agg.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
  std::fprintf(stderr, "  by op / impl:\n");
  for (const auto& [k, e] : agg)
    std::fprintf(stderr, "    %8.3f ms %5.1f%%  x%-3d %s\n", e.first * 1e3, 100 * e.first / total,
                 e.second, k.c_str());
  std::sort(t.begin(), t.end(), [](const NodeTime& a, const NodeTime& b) { return a.sec > b.sec; });
  std::fprintf(stderr, "  top nodes:\n");
  for (size_t i = 0; i < std::min<size_t>(15, t.size()); ++i)
    std::fprintf(stderr, "    %8.3f ms %5.1f%%  %-28s %-22s %-30s out %s\n", t[i].sec * 1e3,
                 100 * t[i].sec / total, t[i].name.c_str(), t[i].op.c_str(), t[i].impl.c_str(),
                 shape_of(s.prepared_graph(), t[i].name).c_str());
  return t;
}

// Nodes present under the same name in both graphs (the convolutions, Gemm, Add...): float
// time, int time, ratio; sorted by int time.
void print_comparison(const std::vector<NodeTime>& fl, const std::vector<NodeTime>& in) {
  std::map<std::string, const NodeTime*> by_name;
  for (const NodeTime& n : fl) by_name[n.name] = &n;
  std::fprintf(stderr, "  float vs int per node (same name), slowest int first:\n");
  double sf = 0, si = 0;
  for (const NodeTime& n : in) {
    auto it = by_name.find(n.name);
    if (it == by_name.end()) {
      std::fprintf(stderr, "    %-28s %-22s int only %8.3f ms\n", n.name.c_str(), n.op.c_str(), n.sec * 1e3);
      continue;
    }
    sf += it->second->sec;
    si += n.sec;
    std::fprintf(stderr, "    %-28s float %8.3f ms %-32s int %8.3f ms %-30s  float/int %5.2fx\n",
                 n.name.c_str(), it->second->sec * 1e3, it->second->impl.c_str(), n.sec * 1e3,
                 n.impl.c_str(), it->second->sec / n.sec);
  }
  std::fprintf(stderr, "    matched nodes: float %.3f ms, int %.3f ms (%.2fx)\n", sf * 1e3, si * 1e3, sf / si);
}

void print_summary() {
  if (g_times.empty()) return;
  for (auto* table : {&g_times, &g_cpu_times, &g_best}) {
    std::fprintf(stderr, "\n%s (ms)\n",
                 table == &g_times       ? "wall clock, mean per run (best batch of runs)"
                 : table == &g_cpu_times ? "process CPU time, mean per run (best batch of runs)"
                                         : "wall clock, fastest single run");
    std::fprintf(stderr, "model              thr      float        int      exact     int_w4  float/int  float/int_w4\n");
    for (const ModelSpec& spec : specs())
      for (int threads : {1, 2}) {
        auto get = [&](Variant v) {
          auto it = table->find(std::make_tuple(spec.name, int(v), threads));
          return it == table->end() ? NAN : it->second * 1e3;
        };
        const double f = get(Variant::kFloat), i = get(Variant::kInt), e = get(Variant::kExact),
                     w4 = get(Variant::kIntW4);
        if (std::isnan(f) && std::isnan(i) && std::isnan(e) && std::isnan(w4)) continue;
        std::fprintf(stderr, "%-18s %3d %10.3f %10.3f %10.3f %10.3f %9.2fx %12.2fx\n",
                     spec.name.c_str(), threads, f, i, e, w4, f / i, f / w4);
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (const ModelSpec& spec : specs())
    for (Variant v : kVariants) {
      const std::string name = "e2e/" + spec.name + "/" + variant_name(v);
      benchmark::RegisterBenchmark(name.c_str(), bm_e2e, &spec, v)
          ->ArgName("threads")
          ->Arg(1)
          ->Arg(2)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary();
  const char* prof = std::getenv("OCTET_E2E_PROFILE");
  if (prof && *prof && std::string(prof) != "0") {
    for (const ModelSpec& spec : specs()) {
      auto it = g_models.find(spec.name);
      if (it == g_models.end()) continue;
      for (int threads : {std::clamp(std::atoi(prof), 1, 64)}) {
        const auto fl = print_profile(spec.name, *it->second, Variant::kFloat, threads);
        const auto in = print_profile(spec.name, *it->second, Variant::kInt, threads);
        print_comparison(fl, in);
      }
    }
  }
  return 0;
}
