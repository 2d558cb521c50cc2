// compile() apart from Session, the integer model without a session, evaluate() in the
// library, and HostTensor's dtype conversion.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "engine/compile.h"
#include "base/error.h"
#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/octet_format.h"
#include "quant/evaluate.h"
#include "quant/integer_model.h"
#include "quant/quantsim.h"
#include "tests/support/ptq_test_util.h"

using namespace octet;
using octet::ptq_test::data_path;

namespace {

std::shared_ptr<Graph> calibrated_mobilenet() {
  quant::QuantSim sim(load_model(data_path("mnist_mobilenet.onnx")),
                      quant::QuantsimConfig::load_shipped("default_config"));
  quant::CalibrationOptions co;
  co.batch_size = 50;
  co.threads = 2;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  return sim.annotated_model();
}

}  // namespace

TEST_CASE("compile: the graph a Session runs, without a session") {
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  SessionOptions so;
  so.input_shapes["input"] = {4, 1, 28, 28};
  const Session session(model, so);
  const CompiledGraph c = compile(*model, so);
  CHECK_FALSE(c.lowering);
  CHECK(save_octet_bytes(c.graph) == save_octet_bytes(session.prepared_graph()));

  // The integer model: the same bytes as a Session in int mode prepares.
  auto calibrated = calibrated_mobilenet();
  const CompiledGraph q = quant::compile_integer_model(*calibrated, "xnnpack", 4);
  REQUIRE(q.lowering);
  CHECK(q.lowering->integer_nodes > 0);
  SessionOptions io;
  io.mode = ExecutionMode::kInt;
  io.target = "xnnpack";
  io.input_shapes["input"] = {4, 1, 28, 28};
  const Session int_session(calibrated, io);
  CHECK(save_octet_bytes(q.graph) == save_octet_bytes(int_session.prepared_graph()));
  REQUIRE(int_session.lowering_report());
  CHECK(int_session.lowering_report()->integer_nodes == q.lowering->integer_nodes);

  // What compile refuses.
  CompileOptions fo;
  CHECK_THROWS_WITH_AS(compile(q.graph, fo), doctest::Contains("is an integer model"), Error);
  CompileOptions im;
  im.mode = ExecutionMode::kInt;
  im.input_shapes["input"] = {1, 1, 28, 28};
  CHECK_THROWS_WITH_AS(compile(*model, im), doctest::Contains("needs a quantized model"), Error);
  CHECK_THROWS_WITH_AS(quant::compile_integer_model(q.graph, "xnnpack", 4),
                       doctest::Contains("already is an integer model"), Error);
  CompileOptions bad_shape;
  bad_shape.input_shapes["no_such_input"] = {1};
  CHECK_THROWS_AS(compile(*model, bad_shape), Error);
}

TEST_CASE("quant::evaluate: accuracy in slices, progress per slice") {
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  quant::EvalOptions o;
  o.batch = 300;  // 1000 samples: slices of 300, 300, 300, 100
  std::vector<std::pair<int64_t, int64_t>> calls;
  o.progress = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  const quant::EvalResult r =
      quant::evaluate(model, ptq_test::test_images(), &ptq_test::test_labels(), o);
  CHECK(r.samples == 1000);
  CHECK(r.batch == 300);
  REQUIRE(calls.size() == 4);
  CHECK(calls.front() == std::pair<int64_t, int64_t>{300, 1000});
  CHECK(calls.back() == std::pair<int64_t, int64_t>{1000, 1000});
  // The same top-1 as the tests' own loop over a Session (padding rows never count).
  CHECK(100.0 * double(r.top1) / double(r.samples) ==
        doctest::Approx(ptq_test::accuracy(model)).epsilon(1e-12));
  CHECK(r.top5 >= r.top1);
}

TEST_CASE("convert_dtype: integers saturate, NaN becomes 0") {
  const HostTensor f = HostTensor::from<float>(
      "x", {6}, {300.f, -5.f, std::nanf(""), 1e30f, -1e30f, 41.9f});
  const HostTensor u8 = convert_dtype(f, DType::kU8);
  CHECK(std::vector<uint8_t>(u8.values<uint8_t>().begin(), u8.values<uint8_t>().end()) ==
        std::vector<uint8_t>{255, 0, 0, 255, 0, 41});
  const HostTensor i64 = convert_dtype(f, DType::kI64);
  CHECK(i64.values<int64_t>()[3] == std::numeric_limits<int64_t>::max());
  CHECK(i64.values<int64_t>()[4] == std::numeric_limits<int64_t>::min());
  CHECK(i64.values<int64_t>()[0] == 300);
  CHECK(element_as_double(u8, 5) == 41.0);
  CHECK_THROWS_AS(element_as_double(HostTensor{"s", DType::kI4, {2}, {std::byte{0}}}, 0), Error);
}

// Issue 29, finding 9: an f16 .npy was "converted" for a float input, then refused.
TEST_CASE("convert_dtype: f16 values convert both ways") {
  const HostTensor f = HostTensor::from<float>("x", {4}, {1.5f, -2.25f, 65504.f, 1e6f});
  const HostTensor h = convert_dtype(f, DType::kF16);
  CHECK(h.bytes.size() == 8);
  const HostTensor back = convert_dtype(h, DType::kF32);
  CHECK(back.values<float>()[0] == 1.5f);
  CHECK(back.values<float>()[1] == -2.25f);
  CHECK(back.values<float>()[2] == 65504.f);
  CHECK(std::isinf(back.values<float>()[3]));  // beyond f16's range
  CHECK(element_as_double(h, 1) == -2.25);
}
