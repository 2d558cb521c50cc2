// Integer .octet files are untrusted input like any other: every attribute, encoding, dtype
// and shape of every integer node of a lowered model is corrupted in turn, the file written
// and loaded again, prepared and run. Each mutant must either run or fail with octet::Error
// (a message); never crash, hang or throw anything else. The sanitizer build runs this too.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/octet_format.h"
#include "quant/quantsim.h"
#include "tests/support/test_paths.h"

using namespace octet;
using namespace octet::quant;

namespace {

using octet::test::data_path;

std::shared_ptr<Graph> integer_model(int param_bw) {
  QuantSimOptions qo;
  qo.param_bitwidth = param_bw;
  qo.per_channel = true;
  QuantSim sim(load_model(data_path("mnist_mobilenet.onnx")), QuantsimConfig::load_shipped("default_config"), qo);
  CalibrationOptions co;
  co.batch_size = 50;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  SessionOptions so;
  so.mode = ExecutionMode::kInt;
  so.input_shapes["input"] = {2, 1, 28, 28};
  Session s(sim.annotated_model(), so);
  return std::make_shared<Graph>(s.prepared_graph());
}

bool is_integer_node(const Node& n) {
  return n.op_type.rfind("octet.Q", 0) == 0 || n.op_type == "octet.Requantize" ||
         n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear";
}

struct Outcome {
  int ran = 0, rejected = 0;
};

// Writes, reloads, prepares and runs `g`; counts how it ended. Any exception other than
// octet::Error fails the test with the mutation's description.
void try_mutant(const Graph& g, const std::string& what, Outcome& out) {
  CAPTURE(what);
  try {
    const std::vector<std::byte> bytes = save_octet_bytes(g);
    std::shared_ptr<Graph> loaded = load_octet_bytes(bytes.data(), bytes.size(), nullptr, "mutant.octet");
    SessionOptions so;
    so.mode = ExecutionMode::kInt;
    Session s(loaded, so);
    std::vector<HostTensor> inputs;
    for (const auto& [name, dims] : s.input_specs()) {
      HostTensor t = HostTensor::from<float>(name, dims, std::vector<float>(size_t(checked_numel(dims)), 0.25f));
      if (s.prepared_graph().tensor(s.prepared_graph().require_tensor(name)).dtype != DType::kF32) {
        t.dtype = s.prepared_graph().tensor(s.prepared_graph().require_tensor(name)).dtype;
        t.bytes.assign(dtype_storage_bytes(t.dtype, checked_numel(dims)), std::byte{0});
      }
      inputs.push_back(std::move(t));
    }
    s.run(inputs);
    ++out.ran;
    if (std::getenv("OCTET_SHOW_MUTANTS")) MESSAGE("ran: " << what);
  } catch (const Error&) {
    ++out.rejected;
  } catch (const std::exception& e) {
    FAIL("not an octet::Error: " << std::string(e.what()));
  }
}

std::vector<AttributeValue> bad_attribute_values() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  return {int64_t{-5}, int64_t{1} << 40, nan, std::string("bogus"), std::vector<int64_t>{},
          std::vector<int64_t>{int64_t{1} << 40, -1}, std::vector<float>{nan, -1.f}};
}

std::vector<std::pair<std::string, std::function<void(QuantParams&)>>> bad_encodings() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  using Q = QuantParams;
  return {
      {"scale 0", [](Q& q) { for (float& s : q.scale) s = 0.f; }},
      {"scale -1", [](Q& q) { for (float& s : q.scale) s = -1.f; }},
      {"scale NaN", [=](Q& q) { for (float& s : q.scale) s = nan; }},
      {"scale inf", [=](Q& q) { for (float& s : q.scale) s = inf; }},
      {"scale 1e-45", [](Q& q) { for (float& s : q.scale) s = 1e-45f; }},
      {"scale 1e38", [](Q& q) { for (float& s : q.scale) s = 1e38f; }},
      {"zero point 1000", [](Q& q) { for (int32_t& z : q.zero_point) z = 1000; }},
      {"zero point -1000", [](Q& q) { for (int32_t& z : q.zero_point) z = -1000; }},
      {"one scale too many", [](Q& q) { q.scale.push_back(1.f); }},
      {"no zero points", [](Q& q) { q.zero_point.clear(); }},
      {"no scales", [](Q& q) { q.scale.clear(); }},
      {"axis 7", [](Q& q) { q.axis = 7; }},
      {"axis -3", [](Q& q) { q.axis = -3; }},
      {"bitwidth 0", [](Q& q) { q.bitwidth = 0; }},
      {"bitwidth 3", [](Q& q) { q.bitwidth = 3; }},
      {"bitwidth 40", [](Q& q) { q.bitwidth = 40; }},
      {"block size -1", [](Q& q) { q.block_size = -1; }},
      {"block size 5", [](Q& q) { q.block_size = 5; }},
  };
}

}  // namespace

TEST_CASE("integer models: corrupted integer .octet files fail with a message, never crash") {
  for (int param_bw : {8, 4}) {
    CAPTURE(param_bw);
    const std::shared_ptr<Graph> model = integer_model(param_bw);
    Outcome out;
    try_mutant(*model, "unchanged", out);
    REQUIRE(out.ran == 1);
    int mutants = 0;
    for (size_t n = 0; n < model->nodes.size(); ++n) {
      if (!is_integer_node(model->nodes[n])) continue;
      const Node& node = model->nodes[n];
      for (const auto& [name, value] : node.attrs.all())
        for (const AttributeValue& bad : bad_attribute_values()) {
          Graph g = *model;
          g.nodes[n].attrs.set(name, bad);
          try_mutant(g, node.name + " attribute " + name, out);
          ++mutants;
        }
      std::vector<TensorId> tensors = node.inputs;
      tensors.insert(tensors.end(), node.outputs.begin(), node.outputs.end());
      for (TensorId id : tensors) {
        if (id == kNoTensor) continue;
        const TensorInfo& t = model->tensor(id);
        if (!t.quant.empty())
          for (const auto& [what, mutate] : bad_encodings()) {
            Graph g = *model;
            mutate(g.tensor(id).quant);
            try_mutant(g, node.name + " tensor " + t.name + ": " + what, out);
            ++mutants;
          }
        if (t.is_constant()) {
          for (DType other : {DType::kU8, DType::kI8, DType::kI4, DType::kI32, DType::kF32}) {
            if (other == t.dtype) continue;
            Graph g = *model;
            g.tensor(id).dtype = other;  // bytes unchanged: a size mismatch or other codes
            try_mutant(g, node.name + " constant " + t.name + " as " + std::string(dtype_name(other)), out);
            ++mutants;
          }
          if (t.shape.is_concrete() && t.shape.rank() > 0) {
            Graph g = *model;
            g.tensor(id).shape.dims[0] = Dim::known(t.shape.dims[0].value + 1);
            try_mutant(g, node.name + " constant " + t.name + " with a longer first dim", out);
            ++mutants;
          }
        }
      }
      if (node.inputs.size() > 1) {
        Graph g = *model;
        g.nodes[n].inputs.pop_back();
        try_mutant(g, node.name + " without its last input", out);
        ++mutants;
      }
    }
    MESSAGE("W" << param_bw << "A8: " << mutants << " mutants: " << out.rejected
                 << " rejected with a message, " << out.ran - 1 << " ran");
    CHECK(mutants > 500);
    CHECK(out.rejected > mutants / 2);
  }
}
