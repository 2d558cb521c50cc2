// Data for models with several inputs and integer inputs (quant/data_stream.h): .npz archives,
// NAME=FILE per input, folders; calibration and evaluation of such a model; the input shapes
// of an integer model taken from the data.
#include <doctest/doctest.h>

#include <filesystem>

#include "base/error.h"
#include "loaders/npy.h"
#include "quant/data_stream.h"
#include "quant/evaluate.h"
#include "quant/integer_model.h"
#include "quant/quantsim.h"
#include "tests/support/test_paths.h"
#include "tests/support/two_input_model.h"

using namespace octet;
using namespace octet::quant;
using octet::testing::two_input_model;
namespace fs = std::filesystem;

namespace {

std::string npz(const std::string& name) { return octet::test::data_path("npz/" + name); }

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("octet_data_stream_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace

TEST_CASE("data: a .npz feeds every input by name; NAME=FILE feeds one each; folders are batches") {
  const auto model = two_input_model(DType::kI32);
  for (const char* file : {"two_inputs.npz", "two_inputs_compressed.npz"}) {
    const SampleBatch b = load_samples({npz(file)}, *model);
    REQUIRE(b.inputs.size() == 2);
    CHECK(b.inputs[0].name == "x");  // in the model's input order, not the archive's
    CHECK(b.inputs[1].name == "ids");
    CHECK(b.inputs[1].dtype == DType::kI32);
    CHECK(b.rows() == 3);
  }
  TempDir dir;
  const SampleBatch whole = load_samples({npz("two_inputs.npz")}, *model);
  save_npy(dir.file("x.npy"), whole.inputs[0]);
  save_npy(dir.file("ids.npy"), whole.inputs[1]);
  const SampleBatch named = load_samples({"ids=" + dir.file("ids.npy"), "x=" + dir.file("x.npy")}, *model);
  CHECK(named.inputs[0].bytes == whole.inputs[0].bytes);
  CHECK(named.inputs[1].bytes == whole.inputs[1].bytes);
  // Samples of another rank but the input's size per sample take the input's shape.
  HostTensor x4 = whole.inputs[0];
  x4.dims = {3, 2, 2};
  save_npy(dir.file("x4.npy"), x4);
  const SampleBatch reshaped = load_samples({"ids=" + dir.file("ids.npy"), "x=" + dir.file("x4.npy")}, *model);
  CHECK(reshaped.inputs[0].dims == Dims{3, 4});
  // A folder of .npz files: one batch each, joined in name order.
  fs::create_directories(dir.path / "batches");
  fs::copy_file(npz("two_inputs.npz"), dir.path / "batches" / "a.npz");
  fs::copy_file(npz("two_inputs_compressed.npz"), dir.path / "batches" / "b.npz");
  SampleStream stream({dir.file("batches")}, *model);
  CHECK(stream.total_samples() == 6);
  CHECK(load_samples({dir.file("batches")}, *model).rows() == 6);
  CHECK(load_samples({dir.file("batches")}, *model, 4).rows() == 4);
}

TEST_CASE("data: mismatches name the file, the input and what differs") {
  const auto model = two_input_model(DType::kI32);
  auto fails = [&](const std::vector<std::string>& specs, const std::string& message) {
    CAPTURE(message);
    CHECK_THROWS_WITH_AS(load_samples(specs, *model), doctest::Contains(message.c_str()), Error);
  };
  TempDir dir;
  save_npy(dir.file("x.npy"), HostTensor::from<float>("", {3, 4}, std::vector<float>(12, 0.5f)));
  save_npy(dir.file("x5.npy"), HostTensor::from<float>("", {3, 5}, std::vector<float>(15, 0.5f)));
  save_npy(dir.file("ids2.npy"), HostTensor::from<int32_t>("", {2, 3}, {1, 2, 3, 4, 5, 6}));
  fails({dir.file("x.npy")}, "holds one array, but the model has 2 inputs (x, ids)");
  fails({npz("extra_array.npz")}, "extra_array.npz: array 'mask' matches no model input (inputs: x, ids)");
  fails({npz("float_ids.npz")}, "float_ids.npz: the data for input 'ids' is f32; the input is i32");
  fails({"x=" + dir.file("x.npy")}, "--data gives no samples for input(s) ids");
  fails({"x=" + dir.file("x.npy"), "mask=" + dir.file("x.npy")}, "the model has no input 'mask' (its inputs: x, ids)");
  fails({"x=" + dir.file("x.npy"), "x=" + dir.file("x.npy")}, "--data gives input 'x' twice");
  fails({"x=" + dir.file("x5.npy"), "ids=" + dir.file("ids2.npy")}, "x5.npy: the data for input 'x' has shape [3,5]");
  fails({"x=" + dir.file("x.npy"), "ids=" + dir.file("ids2.npy")}, "2 samples for input 'ids' but 3 for 'x'");
  fails({"x=" + npz("two_inputs.npz"), "ids=" + dir.file("ids2.npy")}, "give it as --data FILE, not NAME=FILE");
  fails({dir.file("nothing_here.npy")}, "nothing_here.npy: no such file or folder");
  // Integer data must fit the input's type: ids up to 900 do not fit an int8 input.
  const auto small_ids = two_input_model(DType::kI8);
  CHECK_THROWS_WITH_AS(load_samples({npz("big_ids.npz")}, *small_ids),
                       doctest::Contains("value 200 at element 2 does not fit the input's i8"), Error);
  CHECK(load_samples({npz("two_inputs.npz")}, *small_ids).inputs[1].dtype == DType::kI8);
}

TEST_CASE("quantsim: a model with a float and an integer input calibrates, evaluates and lowers") {
  const auto model = two_input_model(DType::kI32);
  QuantSim sim(model, QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  co.batch_size = 2;  // 3 samples: batches of 2 and 1
  sim.calibrate(std::vector<std::string>{npz("two_inputs.npz")}, co);
  int activations = 0;
  for (const Quantizer& q : sim.quantizers()) {
    CHECK(q.tensor != "ids");  // integer inputs are fed as they are
    if (q.role != QuantizerRole::kParam && q.enabled) {
      CHECK(q.encoding.has_value());
      ++activations;
    }
  }
  CHECK(activations >= 2);
  // The same samples in memory give the same encodings.
  QuantSim again(model, QuantsimConfig::load_shipped("default_config"));
  again.calibrate(load_samples({npz("two_inputs_compressed.npz")}, *model), co);
  for (size_t i = 0; i < sim.quantizers().size(); ++i)
    if (sim.quantizers()[i].encoding)
      CHECK(sim.quantizers()[i].encoding->encodings[0].scale == again.quantizers()[i].encoding->encodings[0].scale);

  const SampleBatch data = load_samples({npz("two_inputs.npz")}, *model);
  EvalOptions eo;
  eo.batch = 2;
  eo.keep_outputs = true;
  eo.mode = ExecutionMode::kFloat;
  const EvalResult fl = evaluate(model, data, nullptr, eo);
  REQUIRE(fl.outputs.size() == 1);
  CHECK(fl.outputs[0].name == "z");
  CHECK(fl.outputs[0].values.size() == 12);  // 3 samples x 4, the padded row left out
  CHECK(fl.inputs.size() == 2);
  eo.mode = ExecutionMode::kQdq;
  const EvalResult q = evaluate(sim.annotated_model(), data, nullptr, eo);
  REQUIRE(q.outputs.size() == 1);
  double worst = 0;
  for (size_t i = 0; i < 12; ++i)
    worst = std::max(worst, double(std::abs(q.outputs[0].values[i] - fl.outputs[0].values[i])));
  CHECK(worst < 0.05);
  // int == exact on the lowered model, integer input included.
  eo.mode = ExecutionMode::kInt;
  const EvalResult i = evaluate(sim.annotated_model(), data, nullptr, eo);
  eo.mode = ExecutionMode::kExact;
  const EvalResult e = evaluate(sim.annotated_model(), data, nullptr, eo);
  CHECK(i.outputs[0].values == e.outputs[0].values);
}

TEST_CASE("integer model: symbolic dimensions come from the data, or the lowering names them") {
  const auto model = two_input_model(DType::kI32, Dim::symbolic("width"));
  QuantSim sim(model, QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  sim.calibrate(std::vector<std::string>{npz("two_inputs.npz")}, co);
  CHECK_THROWS_WITH_AS(compile_integer_model(*sim.annotated_model(), "onnxruntime", 1),
                       doctest::Contains("input 'x' [batch,width] has a symbolic dimension 1"), Error);
  SampleStream stream({npz("two_inputs.npz")}, *model);
  SampleBatch first;
  REQUIRE(stream.next(first));
  IntegerModelShapes shapes;
  shapes.inputs = input_shapes_from_samples(*model, first, 2);
  CHECK(shapes.inputs["x"] == Dims{2, 4});
  CHECK(shapes.inputs["ids"] == Dims{2, 3});
  // A batch the model fixes (tf2onnx's [1,H,W,3]) stays, whatever the data's sample count.
  auto fixed = two_input_model(DType::kI32, Dim::symbolic("width"));
  for (TensorId id : fixed->inputs) fixed->tensor(id).shape.dims[0] = Dim::known(1);
  CHECK(input_shapes_from_samples(*fixed, first, 2)["x"] == Dims{1, 4});
  const CompiledGraph c = compile_integer_model(*sim.annotated_model(), "onnxruntime", shapes);
  CHECK(c.graph.tensor(c.graph.inputs[0]).shape.concrete() == Dims{2, 4});
  shapes.inputs["nope"] = {1};
  CHECK_THROWS_WITH_AS(compile_integer_model(*sim.annotated_model(), "onnxruntime", shapes),
                       doctest::Contains("'nope', which is not an input"), Error);
}
