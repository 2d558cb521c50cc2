// The post-training steps on a model with two inputs: every step feeds both, by name.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "loaders/npy.h"
#include "quant/data_stream.h"
#include "quant/ptq/pipeline.h"
#include "quant/quantsim_config.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using namespace octet::quant;
using test::GraphBuilder;
namespace fs = std::filesystem;

namespace {

// Relu(BN(Conv(x))) + Conv(y) -> Conv -> out. The second input feeds a Conv directly: AdaRound
// takes that layer's rows from the data.
std::shared_ptr<const Graph> two_input_convs() {
  GraphBuilder b(13);
  const TensorId x = b.input("x", {4, 3, 6, 6});
  const TensorId y = b.input("y", {4, 2, 6, 6});
  const TensorId cx = b.unary("Relu", b.batch_norm(b.conv(x, 4, 3, 1, 1, 1, true, 1), 2));
  const TensorId cy = b.conv(y, 4, 3, 1, 1, 1, true, 3);
  const TensorId sum = b.node("Add", {cx, cy}, b.dims(cx));
  b.output(b.conv(sum, 2, 3, 1, 1, 1, true, 4));
  return b.g;
}

SampleBatch samples(int64_t n) {
  // In the order opposite to the model's: the steps match inputs by name.
  return SampleBatch{{HostTensor::from<float>("y", {n, 2, 6, 6}, test::random_floats(size_t(n * 72), 11, -1.f, 1.f)),
                      HostTensor::from<float>("x", {n, 3, 6, 6}, test::random_floats(size_t(n * 108), 12, -1.f, 1.f))}};
}

}  // namespace

TEST_CASE("ptq: every step runs on a model with two inputs, in memory and from NAME=FILE data") {
  const auto model = two_input_convs();
  const QuantsimConfig config = QuantsimConfig::load_shipped("default_config");
  PtqOptions po;
  po.sim.param_bitwidth = 4;
  po.calibration.batch_size = 4;
  po.bc_samples = 16;
  po.adaround.num_iterations = 50;
  const SampleBatch data = samples(16);

  PtqResult a = run_ptq(model, config, parse_ptq_steps("bn-reest,cle,bc"), data, po);
  REQUIRE(a.bn_reestimation.layers.size() == 1);
  CHECK(a.bn_reestimation.samples == 16);
  CHECK(a.bias_correction.samples == 16);
  CHECK(a.bias_correction.layers_corrected == 3);
  for (const Quantizer& q : a.sim->quantizers()) CHECK((!q.enabled || q.encoding));

  PtqResult r = run_ptq(model, config, parse_ptq_steps("adaround"), data, po);
  CHECK(r.adaround.layers_rounded == 3);  // the Conv on 'y' included

  // The same data from one .npy per input, streamed.
  const fs::path dir = fs::temp_directory_path() / ("octet_ptq_two_inputs_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  save_npy((dir / "x.npy").string(), data.inputs[1]);
  save_npy((dir / "y.npy").string(), data.inputs[0]);
  const std::vector<std::string> specs{"y=" + (dir / "y.npy").string(), "x=" + (dir / "x.npy").string()};
  PtqResult s = run_ptq(model, config, parse_ptq_steps("adaround,bc"), specs, po);
  fs::remove_all(dir);
  CHECK(s.adaround.layers_rounded == 3);
  CHECK(s.bias_correction.samples == 16);
  // Streamed and in-memory data give the same rounding.
  const Graph& gm = r.sim->model();
  const Graph& gs = s.sim->model();
  REQUIRE(gm.nodes.size() == gs.nodes.size());
  for (size_t i = 0; i < gm.nodes.size(); ++i) {
    if (gm.nodes[i].op_type != "Conv") continue;
    const TensorInfo& wm = gm.tensor(gm.nodes[i].inputs[1]);
    const TensorInfo& ws = gs.tensor(gs.nodes[i].inputs[1]);
    const auto a = wm.data->bytes(), b = ws.data->bytes();
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
}
