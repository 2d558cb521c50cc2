#include "quant/integer_model.h"

#include "base/error.h"
#include "loaders/octet_format.h"

namespace octet::quant {

CompiledGraph compile_integer_model(const Graph& calibrated, const std::string& target,
                                    int64_t batch) {
  OCTET_CHECK(batch >= 1, "integer model: batch ", batch, " must be at least 1");
  CompileOptions co;
  co.mode = ExecutionMode::kInt;
  co.target = target;
  for (TensorId id : calibrated.inputs) {
    const TensorInfo& t = calibrated.tensor(id);
    if (t.is_constant() || !t.shape.has_rank) continue;
    Dims dims;
    for (const Dim& d : t.shape.dims) dims.push_back(d.is_known() ? d.value : batch);
    co.input_shapes[t.name] = dims;
  }
  CompiledGraph c = compile(calibrated, co);
  OCTET_CHECK(c.lowering, "integer model: the model already is an integer model");
  return c;
}

LoweringReport save_integer_model(const Graph& calibrated, const std::string& target,
                                  int64_t batch, const std::string& path) {
  CompiledGraph c = compile_integer_model(calibrated, target, batch);
  save_octet(c.graph, path);
  return *c.lowering;
}

}  // namespace octet::quant
