// Several threads on one loaded model (the README promises sessions may share a model), and
// OpenMP kernels at several thread counts. Every result is compared bit for bit with a
// one-thread run. tools/tsan.sh runs this under ThreadSanitizer, where the sharing itself is
// what is checked: a lazily rebuilt index or any other write behind `const` is a report.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/quantsim.h"
#include "tests/support/mnist_eval_util.h"

using namespace octet;
using octet::testing::test_data;

namespace {

constexpr int64_t kImages = 20;  // small: the TSan build is an order of magnitude slower

const HostTensor& images() {
  static const HostTensor x = slice_rows(load_npy(test_data("mnist_calib_images.npy")), 0, kImages);
  return x;
}

std::shared_ptr<const Graph> calibrated_model(const std::string& file, int calibration_threads) {
  quant::QuantSimOptions qo;
  qo.per_channel = true;
  quant::QuantSim sim(load_model(test_data(file)), quant::QuantsimConfig::load_shipped("default_config"), qo);
  quant::CalibrationOptions co;
  co.batch_size = 10;
  co.threads = calibration_threads;
  sim.calibrate(slice_rows(load_npy(test_data("mnist_calib_images.npy")), 0, 40), co);
  return sim.annotated_model();
}

std::vector<float> run_once(const std::shared_ptr<const Graph>& model, ExecutionMode mode, int threads) {
  SessionOptions o;
  o.mode = mode;
  o.threads = threads;
  const std::string input = model->tensor(model->inputs[0]).name;
  o.input_shapes[input] = images().dims;
  Session s(model, o);
  HostTensor x = images();
  x.name = input;
  const auto out = s.run({x});
  const auto v = out[0].values<float>();
  return {v.begin(), v.end()};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("concurrency: threads share one loaded model (lookups, prepare, run) with one-thread results") {
  const auto model = calibrated_model("mnist_mobilenet.onnx", 1);
  for (ExecutionMode mode : {ExecutionMode::kFloat, ExecutionMode::kQdq, ExecutionMode::kInt}) {
    CAPTURE(int(mode));
    const std::vector<float> want = run_once(model, mode, 1);
    REQUIRE(!want.empty());
    std::atomic<int> wrong{0}, failed_lookups{0}, errors{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
      workers.emplace_back([&, w] {
        try {
          for (int round = 0; round < 2; ++round) {
            for (const TensorInfo& t : model->tensors)
              if (!t.name.empty() && !model->find_tensor(t.name)) failed_lookups++;
            // Threads 1 and 2 inside each session: OpenMP regions run from several threads.
            if (!same_bits(run_once(model, mode, 1 + (w + round) % 2), want)) wrong++;
          }
        } catch (...) {
          errors++;
        }
      });
    }
    for (auto& t : workers) t.join();
    CHECK(errors == 0);
    CHECK(failed_lookups == 0);
    CHECK(wrong == 0);
  }
}

TEST_CASE("concurrency: one session per thread, each run many times on the shared model") {
  const auto model = load_model(test_data("mnist_resnet.onnx"));
  const std::vector<float> want = run_once(model, ExecutionMode::kFloat, 1);
  std::atomic<int> wrong{0}, errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      try {
        SessionOptions o;
        const std::string input = model->tensor(model->inputs[0]).name;
        o.input_shapes[input] = images().dims;
        Session s(model, o);
        HostTensor x = images();
        x.name = input;
        for (int i = 0; i < 3; ++i) {
          const std::vector<HostTensor> out = s.run({x});
          const auto v = out[0].values<float>();
          if (!same_bits({v.begin(), v.end()}, want)) wrong++;
        }
      } catch (...) {
        errors++;
      }
    });
  }
  for (auto& t : workers) t.join();
  CHECK(errors == 0);
  CHECK(wrong == 0);
}

TEST_CASE("concurrency: integer kernels and calibration give the same bits at 1, 2 and 4 threads") {
  const auto model1 = calibrated_model("mnist_resnet.onnx", 1);
  const auto model2 = calibrated_model("mnist_resnet.onnx", 2);
  for (ExecutionMode mode : {ExecutionMode::kInt, ExecutionMode::kExact}) {
    CAPTURE(int(mode));
    const std::vector<float> one = run_once(model1, mode, 1);
    CHECK(same_bits(run_once(model1, mode, 2), one));
    CHECK(same_bits(run_once(model1, mode, 4), one));
    // Calibrated with two threads: the same encodings, so the same integer outputs.
    CHECK(same_bits(run_once(model2, mode, 2), one));
  }
}

// Issue 29, finding 1: run() on one Session from several threads corrupted outputs (54 of 120
// wrong) and, with 4 threads, freed the arena another thread was reading. The calls now take
// turns; every output equals the one-thread run of the same input.
TEST_CASE("concurrency: one session, run() from four threads at once, every output right") {
  const auto model = calibrated_model("mnist_resnet.onnx", 1);
  for (ExecutionMode mode : {ExecutionMode::kFloat, ExecutionMode::kInt}) {
    CAPTURE(int(mode));
    SessionOptions o;
    o.mode = mode;
    o.threads = 2;
    const std::string input = model->tensor(model->inputs[0]).name;
    o.input_shapes[input] = {1, 1, 28, 28};
    Session shared(model, o);
    // Each thread its own images: a mix-up between calls shows as a wrong output.
    std::vector<std::vector<float>> want(kImages);
    std::vector<HostTensor> xs(kImages);
    for (int64_t i = 0; i < kImages; ++i) {
      xs[size_t(i)] = slice_rows(images(), i, i + 1);
      xs[size_t(i)].name = input;
      const std::vector<HostTensor> out = shared.run({xs[size_t(i)]});
      const auto v = out[0].values<float>();
      want[size_t(i)].assign(v.begin(), v.end());
    }
    std::atomic<int> wrong{0}, errors{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w)
      workers.emplace_back([&, w] {
        try {
          for (int round = 0; round < 3; ++round)
            for (int64_t i = w; i < kImages; i += 4) {
              const std::vector<HostTensor> out = shared.run({xs[size_t(i)]});
              const auto v = out[0].values<float>();
              if (!same_bits({v.begin(), v.end()}, want[size_t(i)])) wrong++;
            }
        } catch (...) {
          errors++;
        }
      });
    for (auto& t : workers) t.join();
    CHECK(errors == 0);
    CHECK(wrong == 0);
  }
}
