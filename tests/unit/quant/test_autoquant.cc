// AutoQuant on the MNIST fixtures: candidates in AIMET's order, stop at the first one that
// meets the target, the chosen model runs on the integer kernels with the score it was chosen for.
#include <doctest/doctest.h>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/autoquant.h"
#include "tests/support/test_paths.h"

using namespace octet;
using namespace octet::quant;

namespace {

using octet::test::data_path;

double top1(std::shared_ptr<const Graph> model, ExecutionMode mode) {
  static const HostTensor images = load_npy_dataset(data_path("mnist_test"));
  static const HostTensor labels = load_npy(data_path("mnist_test_labels.npy"));
  const int64_t batch = 250;
  SessionOptions opt;
  opt.mode = mode;
  opt.threads = 2;
  opt.input_shapes["input"] = {batch, 1, 28, 28};
  Session s(model, opt);
  int64_t correct = 0;
  for (int64_t b = 0; b < images.dims[0]; b += batch) {
    HostTensor x = slice_rows(images, b, b + batch);
    x.name = "input";
    const std::vector<HostTensor> out = s.run({x});
    auto y = out[0].values<float>();
    for (int64_t i = 0; i < batch; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < 10; ++c)
        if (y[i * 10 + c] > y[i * 10 + best]) best = c;
      correct += best == labels.values<int64_t>()[b + i];
    }
  }
  return 100.0 * double(correct) / double(images.dims[0]);
}

}  // namespace

TEST_CASE("autoquant: stops at the first candidate that meets the target") {
  AutoQuantOptions o;
  o.ptq.sim.param_bitwidth = 4;
  o.ptq.sim.per_channel = true;
  o.ptq.calibration.batch_size = 50;
  o.ptq.calibration.threads = 2;
  o.ptq.adaround.num_iterations = 100;
  o.allowed_drop = 2.0;  // the baseline meets it: nothing more runs
  std::vector<std::string> seen;
  o.on_candidate = [&](const AutoQuantCandidate& c) { seen.push_back(c.name); };
  auto model = load_model(data_path("mnist_resnet.onnx"));
  AutoQuantResult r = run_autoquant(model, QuantsimConfig::load_shipped("default_config"),
                                    {data_path("mnist_calib_images.npy")}, top1, o);
  CHECK(r.target_met);
  CHECK(seen == std::vector<std::string>{"baseline"});
  REQUIRE(r.sim);
  // The chosen model runs on the integer kernels with the score it was chosen for.
  CHECK(top1(r.sim->annotated_model(), ExecutionMode::kInt) == doctest::Approx(r.candidates[r.best].score));

  // An unreachable target: every candidate runs, the best is kept, the target is not met.
  o.allowed_drop = 0.0;
  o.candidates = {"baseline", "bc"};
  seen.clear();
  r = run_autoquant(load_model(data_path("mnist_resnet.onnx")),
                    QuantsimConfig::load_shipped("default_config"),
                    {data_path("mnist_calib_images.npy")},
                    [&](std::shared_ptr<const Graph> m, ExecutionMode mode) {
                      return mode == ExecutionMode::kFloat ? 101.0 : top1(m, mode);
                    },
                    o);
  CHECK_FALSE(r.target_met);
  CHECK(seen == std::vector<std::string>{"baseline", "bc"});
  for (const AutoQuantCandidate& c : r.candidates) CHECK(c.score <= r.candidates[r.best].score);
  MESSAGE("W4A8 per-channel ResNet: baseline " << r.candidates[0].score << "%, +bc "
          << r.candidates[1].score << "%");
  CHECK_THROWS_WITH_AS(autoquant_candidate_steps("magic"), doctest::Contains("unknown AutoQuant"),
                       Error);
}
