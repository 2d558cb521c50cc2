#include "quant/non_finite_origin.h"

#include <cmath>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "base/error.h"
#include "engine/passes/passes.h"
#include "engine/session.h"

namespace octet::quant {
namespace {

struct Counts {
  int64_t nan = 0, inf = 0;
};

Counts non_finite(const HostTensor& t) {
  Counts c;
  for (float v : t.values<float>()) {
    c.nan += std::isnan(v);
    c.inf += std::isinf(v);
  }
  return c;
}

NonFiniteOrigin::Input describe_input(const Graph& g, TensorId id, const HostTensor& t) {
  NonFiniteOrigin::Input in;
  in.name = g.tensor(id).name;
  for (const Node& n : g.nodes)  // a fake quantizer's output stands for its input, quantized
    if (n.op_type == "octet.QuantizeDequantize" && !n.outputs.empty() && n.outputs[0] == id) {
      in.name = g.tensor(n.inputs[0]).name;
      in.quantized = true;
    }
  bool first = true;
  for (float v : t.values<float>()) {
    in.count++;
    in.zeros += v == 0.f;
    in.negative += v < 0.f;
    in.min = first ? v : std::min(in.min, double(v));
    in.max = first ? v : std::max(in.max, double(v));
    first = false;
  }
  return in;
}

}  // namespace

std::optional<NonFiniteOrigin> find_non_finite_origin(std::shared_ptr<const Graph> model,
                                                      const SampleBatch& data, ExecutionMode mode,
                                                      int threads) {
  OCTET_CHECK(mode == ExecutionMode::kFloat || mode == ExecutionMode::kQdq,
              "tracing NaN to its origin runs in float or qdq, not ", execution_mode_name(mode));
  auto g = std::make_shared<Graph>(*model);
  if (mode == ExecutionMode::kQdq) insert_fake_quantization(*g);
  for (TensorInfo& t : g->tensors) t.quant = QuantParams{};
  // Every float tensor a node makes becomes an output, so that each one can be inspected.
  std::unordered_set<TensorId> kept(g->outputs.begin(), g->outputs.end());
  for (const Node& n : g->nodes)
    for (TensorId o : n.outputs)
      if (o != kNoTensor && g->tensor(o).dtype == DType::kF32 && kept.insert(o).second)
        g->outputs.push_back(o);
  g->topo_sort();
  SessionOptions so;
  so.optimize = false;  // keep every tensor as the model names it
  so.threads = threads;
  if (data.rows() > 0)  // one sample at a time
    for (const HostTensor& t : data.slice(0, 1).inputs) so.input_shapes[t.name] = t.dims;
  Session session(g, so);
  for (int64_t s = 0; s < data.rows(); ++s) {
    const SampleBatch one = data.slice(s, s + 1);
    const std::vector<HostTensor> out = session.run(one.inputs);
    std::unordered_map<TensorId, const HostTensor*> value;
    for (size_t k = 0; k < out.size(); ++k) value[g->outputs[k]] = &out[k];
    for (const HostTensor& in : one.inputs)
      if (auto id = g->find_tensor(in.name)) value[*id] = &in;
    for (const Node& n : g->nodes) {
      Counts made;
      for (TensorId o : n.outputs)
        if (auto it = value.find(o); it != value.end()) {
          const Counts c = non_finite(*it->second);
          made.nan += c.nan;
          made.inf += c.inf;
        }
      if (made.nan + made.inf == 0) continue;
      NonFiniteOrigin origin{n.name, n.op_type, s, made.nan, made.inf, {}};
      bool finite_inputs = true;
      for (TensorId i : n.inputs) {
        if (i == kNoTensor || g->tensor(i).dtype != DType::kF32) continue;
        const TensorInfo& t = g->tensor(i);
        if (t.is_constant()) {
          HostTensor c = HostTensor::from<float>(t.name, t.shape.concrete(), std::vector<float>(
              reinterpret_cast<const float*>(t.data->data()),
              reinterpret_cast<const float*>(t.data->data()) + checked_numel(t.shape.concrete())));
          origin.inputs.push_back(describe_input(*g, i, c));
          continue;
        }
        auto it = value.find(i);
        if (it == value.end()) continue;
        const Counts c = non_finite(*it->second);
        if (c.nan + c.inf) finite_inputs = false;
        origin.inputs.push_back(describe_input(*g, i, *it->second));
      }
      if (finite_inputs) return origin;
    }
  }
  return std::nullopt;
}

std::string describe(const NonFiniteOrigin& o) {
  std::ostringstream s;
  s << "node '" << o.node << "' (" << o.op_type << ") on sample " << o.sample << " made " << o.nan
    << " NaN and " << o.inf << " infinite values from finite inputs:";
  for (size_t k = 0; k < o.inputs.size(); ++k) {
    const NonFiniteOrigin::Input& in = o.inputs[k];
    s << (k ? "; " : " ") << "'" << in.name << "'" << (in.quantized ? " after its quantizer" : "")
      << ": " << in.count << (in.count == 1 ? " value" : " values") << " in [" << in.min << ", "
      << in.max << "], " << in.zeros << " zero, " << in.negative << " negative";
  }
  return s.str();
}

}  // namespace octet::quant
