// The DFQ case on tests/data/mnist_cle.onnx (a MobileNetV2-style MNIST model whose BN-folded
// per-channel weight ranges differ by >= 100x): W8A8 per-tensor accuracy before CLE, after
// CLE, CLE + high-bias absorption, CLE + HBA + bias correction.
#include <doctest/doctest.h>

#include <filesystem>

#include "loaders/model_loader.h"
#include "tests/support/ptq_test_util.h"
#include "quant/ptq/pipeline.h"

using namespace octet;
using namespace octet::quant;
using namespace octet::ptq_test;

TEST_CASE("ptq: CLE model W8A8 per-tensor: collapse, CLE, HBA, BC") {
  const std::string file = data_path("mnist_cle.onnx");
  REQUIRE(std::filesystem::exists(file));
  auto model = load_model(file);
  const QuantsimConfig config = QuantsimConfig::load_shipped("default_config");
  PtqOptions po;
  po.sim.param_bitwidth = 8;
  po.sim.act_bitwidth = 8;
  po.sim.per_channel = false;
  po.calibration.observer.scheme = RangeScheme::kTf;
  po.calibration.batch_size = 50;
  po.calibration.threads = 2;
  po.bc_samples = 200;
  const quant::SampleBatch calib = mnist_calib();

  QuantSim fp(model, config, po.sim);
  const double acc_float = accuracy(fp.model_ptr());
  auto acc = [&](const std::string& steps) {
    PtqResult r = run_ptq(model, config, parse_ptq_steps(steps), calib, po);
    return accuracy(r.sim->annotated_model());
  };
  const double a_none = acc("fold-bn");
  const double a_cle = acc("cle");
  const double a_hbf = acc("cle,hbf");
  const double a_bc = acc("cle,hbf,bc");
  const double a_bca = acc("cle,hbf,bc-analytical");
  const double a_bch = acc("cle,hbf,bc,bc-analytical");
  MESSAGE("mnist_cle W8A8 per-tensor (tf): float " << acc_float << "%, BN folded " << a_none
                                                  << "%, +CLE " << a_cle << "%, +CLE+HBA " << a_hbf
                                                  << "%, +CLE+HBA+BC (empirical) " << a_bc
                                                  << "%, (analytical) " << a_bca << "%, (hybrid) "
                                                  << a_bch << "%");
  CHECK(a_none < acc_float - 10.0);  // the collapse
  CHECK(a_cle > a_none + 10.0);
  CHECK(a_bc >= acc_float - 1.0);
}
