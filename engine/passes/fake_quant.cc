// The `qdq` execution mode: fake quantization at every tensor carrying QuantParams.
#include <cstdint>

#include "base/error.h"
#include "engine/passes/passes.h"

namespace octet {

PassReport insert_fake_quantization(Graph& g) {
  PassReport report{"insert-fake-quantization", 0, {}};
  const size_t original = g.tensors.size();
  for (size_t i = 0; i < original; ++i) {
    const TensorId id = static_cast<TensorId>(i);
    const QuantParams qp = g.tensor(id).quant;
    if (qp.empty()) continue;
    const std::string name = g.tensor(id).name;
    OCTET_CHECK(g.tensor(id).dtype == DType::kF32 || g.tensor(id).dtype == DType::kUndefined,
                "'", name, "' carries quantization parameters but is not f32");
    OCTET_CHECK(qp.zero_point.size() == qp.scale.size(), "'", name,
                "': quantization parameters need one zero point per scale");
    OCTET_CHECK(qp.bitwidth >= 2 && qp.bitwidth <= 16, "'", name, "': bitwidth ", qp.bitwidth,
                " cannot be simulated (2 to 16)");
    // AIMET's grid: real = scale * (q + offset), q in [qmin, qmax], offset = -zero_point.
    std::vector<int64_t> offsets;
    for (int32_t zp : qp.zero_point) offsets.push_back(-int64_t{zp});
    Node n;
    n.name = name + "/fake_quant";
    n.op_type = "octet.QuantizeDequantize";
    n.attrs.set("scale", qp.scale);
    n.attrs.set("offset", offsets);
    n.attrs.set("qmin", qp.qmin());
    n.attrs.set("qmax", qp.qmax());
    if (qp.scale.size() > 1 || qp.axis >= 0) n.attrs.set("axis", int64_t{qp.axis});
    if (qp.block_size > 0) n.attrs.set("block_size", int64_t{qp.block_size});

    const bool produced_output =
        g.is_graph_output(id) && !g.is_graph_input(id) && !g.tensor(id).is_constant();
    if (produced_output) {
      // The output keeps its name on the quantized value: its producer writes a new tensor.
      const TensorId raw = g.add_unique_tensor(name + "/float", g.tensor(id).dtype);
      for (Node& m : g.nodes)
        for (TensorId& o : m.outputs)
          if (o == id) o = raw;
      n.inputs = {raw};
      n.outputs = {id};
    } else {
      const TensorId q = g.add_unique_tensor(name + "/fake_quant", DType::kF32);
      for (Node& m : g.nodes)
        for (TensorId& in : m.inputs)
          if (in == id) in = q;
      n.inputs = {id};
      n.outputs = {q};
    }
    g.nodes.push_back(std::move(n));
    report.changed++;
  }
  for (TensorInfo& t : g.tensors) t.quant = QuantParams{};
  g.topo_sort();
  return report;
}

}  // namespace octet
