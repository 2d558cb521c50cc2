// AdaRound (quant/ptq/adaround.h): the optimiser on random matrices (MSE below nearest,
// deterministic, same for 1 and 2 threads) and both MNIST fixtures at W4A8 per-channel.
// OCTET_ADAROUND_ITERS=N runs the MNIST cases with N iterations per layer (0 = AIMET's
// default); the suite default is a short run.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <random>

#include "loaders/model_loader.h"
#include "tests/support/ptq_test_util.h"
#include "quant/ptq/adaround.h"
#include "quant/quantsim.h"

using namespace octet;
using namespace octet::quant;

namespace {

struct RandomProblem {
  std::vector<float> x, target, bias;
  AdaroundProblem p;
};

// rows x (groups*k) inputs in [0, 1) (post-ReLU like), weights ~ N(0, 1/k), 4-bit symmetric
// per-channel grid; the target is the float layer output with ReLU.
RandomProblem random_problem(int64_t rows, int64_t k, int64_t n, int64_t groups, uint32_t seed) {
  RandomProblem r;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::normal_distribution<float> nd(0.f, 1.f / std::sqrt(static_cast<float>(k)));
  const int64_t kt = k * groups, ng = n / groups;
  r.x.resize(static_cast<size_t>(rows * kt));
  for (float& v : r.x) v = u(rng);
  r.p.weight.resize(static_cast<size_t>(k * n));
  for (float& v : r.p.weight) v = nd(rng);
  r.bias.resize(static_cast<size_t>(n));
  for (float& v : r.bias) v = 0.1f * nd(rng);
  for (int64_t c = 0; c < n; ++c) {
    float mx = 0.f;
    for (int64_t i = 0; i < k; ++i) mx = std::max(mx, std::fabs(r.p.weight[static_cast<size_t>(i * n + c)]));
    r.p.scale.push_back(mx / 7.f);
    r.p.code_lo.push_back(-8.f);
    r.p.code_hi.push_back(7.f);
  }
  r.target.resize(static_cast<size_t>(rows * n));
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t c = 0; c < n; ++c) {
      double acc = r.bias[static_cast<size_t>(c)];
      for (int64_t i = 0; i < k; ++i)
        acc += r.x[static_cast<size_t>(b * kt + (c / ng) * k + i)] * r.p.weight[static_cast<size_t>(i * n + c)];
      r.target[static_cast<size_t>(b * n + c)] = std::max(0.f, static_cast<float>(acc));
    }
  r.p.rows = rows;
  r.p.k = k;
  r.p.n = n;
  r.p.groups = groups;
  r.p.x = r.x.data();
  r.p.target = r.target.data();
  r.p.bias = r.bias.data();
  r.p.act_lo = 0.f;
  return r;
}

}  // namespace

TEST_CASE("ptq: adaround optimiser beats nearest rounding, deterministically") {
  for (int64_t groups : {int64_t{1}, int64_t{4}}) {
    CAPTURE(groups);
    RandomProblem r = random_problem(1024, 36, 16, groups, 7);
    AdaroundOptions o;
    o.batch_rows = 128;
    o.threads = 1;
    const AdaroundSolution a = adaround_optimize(r.p, 800, o, 1);
    o.threads = 2;
    const AdaroundSolution b = adaround_optimize(r.p, 800, o, 1);
    MESSAGE("groups " << groups << ": MSE nearest " << a.mse_nearest << " -> adaround "
                      << a.mse_adaround << ", " << 100 * a.changed_fraction
                      << "% of weights rounded the other way, " << a.iterations / a.seconds
                      << " it/s");
    CHECK(a.mse_adaround < 0.8 * a.mse_nearest);
    CHECK(a.weight == b.weight);  // same result for 1 and 2 threads
    // Every weight is on its grid, within one step of the float value.
    for (size_t i = 0; i < a.weight.size(); ++i) {
      const float s = r.p.scale[i % static_cast<size_t>(r.p.n)];
      const float q = a.weight[i] / s;
      CHECK(std::fabs(q - std::nearbyint(q)) < 1e-4f);
      CHECK(std::fabs(a.weight[i] - r.p.weight[i]) <= s * 1.0001f);
    }
  }
}

namespace {

int mnist_iterations() {
  if (const char* e = std::getenv("OCTET_ADAROUND_ITERS")) return std::atoi(e);
  return 400;
}

void mnist_case(const std::string& file, double max_gap) {
  using namespace octet::ptq_test;
  QuantSimOptions qo;
  qo.param_bitwidth = 4;
  qo.act_bitwidth = 8;
  qo.per_channel = true;
  const QuantsimConfig config = QuantsimConfig::load_shipped("default_config");
  CalibrationOptions co;
  co.batch_size = 50;
  co.threads = 2;

  QuantSim fp(load_model(data_path(file)), config, qo);
  const double acc_float = accuracy(fp.model_ptr());
  QuantSim nearest(load_model(data_path(file)), config, qo);
  nearest.calibrate(calib_images(), co);
  const double acc_nearest = accuracy(nearest.annotated_model());

  QuantSim ada(load_model(data_path(file)), config, qo);
  ada.compute_param_encodings(co.observer);
  AdaroundOptions ao;
  ao.num_iterations = mnist_iterations();
  ao.threads = 1;  // the shared 2-core test machine: parallel regions stall under load
  ao.batch_size = 50;
  const AdaroundReport rep = apply_adaround(ada, mnist_calib(), ao);
  ada.calibrate(calib_images(), co);
  const double acc_ada = accuracy(ada.annotated_model());

  double total = 0;
  for (const AdaroundLayerReport& l : rep.layers) {
    MESSAGE(l.node << " " << l.op_type << (l.activation.empty() ? "" : "+" + l.activation) << " k "
                   << l.k << " n " << l.n << " g " << l.groups << " rows " << l.rows << ": MSE "
                   << l.mse_nearest << " -> " << l.mse_adaround << " ("
                   << 100 * l.changed_fraction << "% flipped), " << l.collect_seconds << " s + "
                   << l.optimize_seconds << " s, " << l.iterations_per_second << " it/s"
                   << (l.skipped ? " SKIPPED " + l.reason : ""));
    total += l.optimize_seconds;
    CHECK(!l.skipped);
    if (!l.skipped) CHECK(l.mse_adaround <= l.mse_nearest);
    // The weights are frozen on their grid.
    const Quantizer& q = ada.at(l.weight);
    CHECK(q.frozen);
  }
  MESSAGE(file << " W4A8 per-channel (" << ao.num_iterations << " it/layer): float " << acc_float
               << "%, nearest " << acc_nearest << "%, adaround " << acc_ada << "%; "
               << rep.layers.size() << " layers in " << rep.seconds << " s (optimise " << total
               << " s), peak RSS " << rep.peak_rss_kb / 1024 << " MiB");
  const double drop = acc_float - acc_nearest;
  CHECK(acc_ada >= acc_nearest);
  if (drop > 0.2) CHECK(acc_float - acc_ada <= 0.5 * drop + 1e-9);
  CHECK(acc_float - acc_ada <= max_gap);
}

}  // namespace

TEST_CASE("ptq: adaround MNIST MobileNet W4A8 per-channel") {
  mnist_case("mnist_mobilenet.onnx", 1.5);
}

TEST_CASE("ptq: adaround MNIST ResNet W4A8 per-channel") {
  mnist_case("mnist_resnet.onnx", 1.5);
}

// Timing of one layer-sized problem (not a check): OCTET_ADAROUND_BENCH="rows k n groups iters threads".
TEST_CASE("ptq: adaround bench" * doctest::skip(std::getenv("OCTET_ADAROUND_BENCH") == nullptr)) {
  int64_t rows = 4096, k = 576, n = 64, g = 1;
  int iters = 200, threads = 1;
  std::sscanf(std::getenv("OCTET_ADAROUND_BENCH"), "%ld %ld %ld %ld %d %d", &rows, &k, &n, &g, &iters, &threads);
  RandomProblem r = random_problem(rows, k, n, g, 3);
  AdaroundOptions o;
  o.threads = threads;
  if (const char* b = std::getenv("OCTET_ADAROUND_BATCH_ROWS")) o.batch_rows = std::atoi(b);
  const std::clock_t c0 = std::clock();
  (void)adaround_optimize(r.p, 0, o, 1);  // the two MSE passes alone
  const std::clock_t c1 = std::clock();
  const AdaroundSolution a = adaround_optimize(r.p, iters, o, 1);
  const std::clock_t c2 = std::clock();
  const double cpu_it = std::max(0.0, static_cast<double>(c2 - c1) - static_cast<double>(c1 - c0)) / CLOCKS_PER_SEC / iters;
  MESSAGE("rows " << rows << " k " << k << " n " << n << " g " << g << " threads " << threads << ": "
                  << a.iterations / a.seconds << " it/s, " << 1e3 * a.seconds / a.iterations
                  << " ms/it (incl. 2 MSE passes), " << 1e3 * cpu_it << " ms/it CPU (iterations only), MSE "
                  << a.mse_nearest << " -> " << a.mse_adaround);
}

// ResNet-18 (ImageNet) estimate: per-iteration cost of each of its 21 weight layers (random
// data, default batch_rows), times AIMET's iteration count. OCTET_ADAROUND_RESNET18="iters threads".
TEST_CASE("ptq: adaround resnet18 estimate" * doctest::skip(std::getenv("OCTET_ADAROUND_RESNET18") == nullptr)) {
  int iters = 30, threads = 2;
  std::sscanf(std::getenv("OCTET_ADAROUND_RESNET18"), "%d %d", &iters, &threads);
  struct Shape { int64_t k, n, count; };
  const Shape layers[] = {{147, 64, 1},  {576, 64, 4},   {576, 128, 1},  {1152, 128, 3}, {64, 128, 1},
                          {1152, 256, 1}, {2304, 256, 3}, {128, 256, 1},  {2304, 512, 1}, {4608, 512, 3},
                          {256, 512, 1},  {512, 1000, 1}};
  double total_per_it = 0;
  int64_t nlayers = 0;
  for (const Shape& s : layers) {
    RandomProblem r = random_problem(512, s.k, s.n, 1, 5);
    AdaroundOptions o;
    o.threads = threads;
    if (const char* b = std::getenv("OCTET_ADAROUND_BATCH_ROWS")) o.batch_rows = std::atoi(b);
    // Time iterations only: subtract a zero-iteration run (the two MSE passes).
    // Process CPU time (the shared test machine gives a process a fraction of a core, so
    // wall time overstates the cost; with 1 thread CPU time = time on an idle core).
    const std::clock_t c0 = std::clock();
    const AdaroundSolution z = adaround_optimize(r.p, 0, o, 1);
    const std::clock_t c1 = std::clock();
    const AdaroundSolution a = adaround_optimize(r.p, iters, o, 1);
    const std::clock_t c2 = std::clock();
    const double cpu = (static_cast<double>(c2 - c1) - static_cast<double>(c1 - c0)) / CLOCKS_PER_SEC;
    const double per_it = std::max(0.0, cpu) / iters;
    (void)z;
    (void)a;
    total_per_it += per_it * static_cast<double>(s.count);
    nlayers += s.count;
    MESSAGE("k " << s.k << " n " << s.n << " x" << s.count << ": " << 1e3 * per_it << " ms/it (CPU)");
  }
  MESSAGE("ResNet-18, " << nlayers << " layers, batch_rows "
                        << std::string(std::getenv("OCTET_ADAROUND_BATCH_ROWS") ? std::getenv("OCTET_ADAROUND_BATCH_ROWS") : "256")
                        << ", " << threads << " threads: "
                        << 1e3 * total_per_it << " ms per iteration over all layers -> "
                        << total_per_it * 10000 / 60 << " min at 10000 it (W8), "
                        << total_per_it * 15000 / 60 << " min at 15000 it (W4), optimisation only, CPU time");
}

TEST_CASE("ptq: adaround with quantized activations (option) and skip list") {
  using namespace octet::ptq_test;
  QuantSimOptions qo;
  qo.param_bitwidth = 4;
  qo.per_channel = true;
  QuantSim sim(load_model(data_path("mnist_resnet.onnx")), QuantsimConfig::load_shipped("default_config"), qo);
  const quant::SampleBatch calib = mnist_calib(50);
  CalibrationOptions co;
  co.batch_size = 50;
  AdaroundOptions ao;
  ao.quantized_activations = true;
  ao.num_iterations = 50;
  ao.max_rows = 1024;
  ao.batch_size = 50;
  CHECK_THROWS_WITH_AS(apply_adaround(sim, calib, ao), doctest::Contains("calibrate first"), Error);
  sim.calibrate(calib, co);
  ao.skip_layers = {"/fc/Gemm"};
  const AdaroundReport rep = apply_adaround(sim, calib, ao);
  REQUIRE(rep.layers.size() == 10);
  CHECK(rep.layers_rounded == 9);
  CHECK(rep.layers.back().skipped);
  CHECK(!sim.at(rep.layers.back().weight).frozen);
  for (const AdaroundLayerReport& l : rep.layers) CHECK(l.rows <= 1024);
  CHECK(rep.peak_rss_kb > 0);
}

TEST_CASE("ptq: adaround per-tensor 8-bit weights") {
  using namespace octet::ptq_test;
  QuantSimOptions qo;
  qo.param_bitwidth = 8;
  qo.per_channel = false;
  QuantSim sim(load_model(data_path("mnist_resnet.onnx")), QuantsimConfig::load_shipped("default_config"), qo);
  AdaroundOptions ao;
  ao.num_iterations = 300;
  ao.max_rows = 2048;
  ao.batch_size = 50;
  const AdaroundReport rep = apply_adaround(sim, mnist_calib(100), ao);
  double before = 0, after = 0;
  for (const AdaroundLayerReport& l : rep.layers) {
    CHECK(!l.per_channel);
    CHECK(l.bitwidth == 8);
    before += l.mse_nearest;
    after += l.mse_adaround;
  }
  MESSAGE("W8 per-tensor, 300 it: summed layer MSE " << before << " -> " << after);
  CHECK(after < before);
}

// The fused elementwise step (simd/adaround_f32.h) against a plain double-precision version.
#include "simd/adaround_f32.h"
#include "simd/gemm_f32.h"

TEST_CASE("ptq: adaround fused step matches a scalar reference") {
  constexpr size_t NR = simd::kGemmNR;
  const size_t K = 7, P = 2, n = K * P * NR;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> sc(P * NR), lo(P * NR, -8.f), hi(P * NR, 7.f), fl(n), V(n), S(n), m(n), v(n), g(n), w(n);
  for (float& x : sc) x = 0.01f + 0.1f * std::fabs(u(rng));
  for (size_t i = 0; i < n; ++i) {
    fl[i] = std::floor(9.f * u(rng));
    V[i] = (i % 5 == 0) ? 4.f * u(rng) : u(rng);
    S[i] = 1.f / (1.f + std::exp(-V[i]));
    m[i] = 1e-3f * u(rng);
    v[i] = 1e-6f * std::fabs(u(rng));
    g[i] = u(rng);
  }
  const float beta = 7.5f, reg = 0.01f, step = 2e-3f, ibc2 = 1.7f;
  std::vector<float> V0 = V, S0 = S, m0 = m, v0 = v;
  simd::AdaroundStepF32 s;
  s.K = K;
  s.scale = sc.data(), s.lo = lo.data(), s.hi = hi.data(), s.fl = fl.data();
  s.V = V.data(), s.S = S.data(), s.m = m.data(), s.v = v.data(), s.grad = g.data();
  s.reg_coef = -2.f * reg * beta, s.beta_minus_1 = beta - 1.f, s.step = step, s.inv_sqrt_bc2 = ibc2;
  s.w_out = w.data();
  simd::adaround_step_f32(s, 0, 3);   // odd splits: single rows and pairs
  simd::adaround_step_f32(s, 3, K * P);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = (i / (K * NR)) * NR + i % NR;
    const double sg = S0[i], hr = sg * 1.2 - 0.1, h = std::min(std::max(hr, 0.0), 1.0);
    const double dh = (hr >= 0 && hr <= 1) ? 1.2 * sg * (1 - sg) : 0.0;
    const double q = fl[i] + h;
    double gr = (q >= lo[c] && q <= hi[c]) ? g[i] * sc[c] : 0.0;
    const double sign = h > 0.5 ? 1.0 : (h < 0.5 ? -1.0 : 0.0);
    gr += -2.0 * reg * beta * std::pow(std::fabs(2 * h - 1), beta - 1.0) * sign;
    gr *= dh;
    const double mm = 0.9 * m0[i] + 0.1 * gr, vv = 0.999 * v0[i] + 0.001 * gr * gr;
    const double Vn = V0[i] - step * mm / (std::sqrt(vv) * ibc2 + 1e-8);
    const double Sn = 1.0 / (1.0 + std::exp(-Vn));
    const double wn = sc[c] * std::min(std::max(fl[i] + std::min(std::max(Sn * 1.2 - 0.1, 0.0), 1.0), double(lo[c])), double(hi[c]));
    CAPTURE(i);
    CHECK(m[i] == doctest::Approx(mm).epsilon(1e-4).scale(1e-6));
    CHECK(v[i] == doctest::Approx(vv).epsilon(1e-4).scale(1e-9));
    CHECK(V[i] == doctest::Approx(Vn).epsilon(1e-5));
    CHECK(S[i] == doctest::Approx(Sn).epsilon(1e-5));
    CHECK(w[i] == doctest::Approx(wn).epsilon(1e-5).scale(1e-6));
  }
}
