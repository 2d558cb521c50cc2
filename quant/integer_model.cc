#include "quant/integer_model.h"

#include "base/error.h"
#include "engine/session.h"
#include "loaders/octet_format.h"

namespace octet::quant {

std::map<std::string, Dims> input_shapes_from_samples(const Graph& model, const SampleBatch& sample,
                                                      int64_t batch) {
  std::map<std::string, Dims> shapes;
  for (const HostTensor& x : sample.inputs) {
    const TensorInfo& t = model.tensor(model.require_tensor(x.name));
    Dims dims = x.dims;
    const bool fixed = t.shape.has_rank && t.shape.rank() == dims.size() && t.shape.dims[0].is_known();
    if (!dims.empty()) dims[0] = fixed ? t.shape.dims[0].value : batch;
    shapes[x.name] = dims;
  }
  return shapes;
}

CompiledGraph compile_integer_model(const Graph& calibrated, const std::string& target,
                                    const IntegerModelShapes& shapes) {
  OCTET_CHECK(shapes.batch >= 1, "integer model: batch ", shapes.batch, " must be at least 1");
  CompileOptions co;
  co.mode = ExecutionMode::kInt;
  co.target = target;
  for (const auto& [name, dims] : shapes.inputs) {
    const std::optional<TensorId> id = calibrated.find_tensor(name);
    OCTET_CHECK(id && calibrated.is_graph_input(*id),
                "integer model: a shape is given for '", name, "', which is not an input of the model");
    co.input_shapes[name] = dims;
  }
  for (TensorId id : calibrated.inputs) {
    const TensorInfo& t = calibrated.tensor(id);
    if (t.is_constant() || !t.shape.has_rank || co.input_shapes.count(t.name)) continue;
    Dims dims;
    for (size_t i = 0; i < t.shape.rank(); ++i) {
      const Dim& d = t.shape.dims[i];
      OCTET_CHECK(d.is_known() || i == 0, "integer model: input '", t.name, "' ", t.shape.to_string(),
                  " has a symbolic dimension ", i, "; an integer model has concrete shapes: give the "
                  "input's shape (--shape ", t.name, "=...) or calibration data to take it from");
      dims.push_back(d.is_known() ? d.value : shapes.batch);
    }
    co.input_shapes[t.name] = dims;
  }
  CompiledGraph c = compile(calibrated, co);
  OCTET_CHECK(c.lowering, "integer model: the model already is an integer model");
  return c;
}

LoweringReport save_integer_model(const Graph& calibrated, const std::string& target,
                                  const IntegerModelShapes& shapes, const std::string& path) {
  CompiledGraph c = compile_integer_model(calibrated, target, shapes);
  // Every kernel prepared once before anything is written: a model that lowers but cannot run
  // (a requantization scale outside what the kernels take, say) is refused here, not by the
  // first `run` of the file.
  try {
    SessionOptions so;
    so.mode = ExecutionMode::kInt;
    so.target = target;
    Session check(std::make_shared<const Graph>(c.graph), so);
  } catch (const Error& e) {
    fail("integer model: the lowered model does not run, nothing written to ", path, ": ", e.what());
  }
  save_octet(c.graph, path);
  return *c.lowering;
}

}  // namespace octet::quant
