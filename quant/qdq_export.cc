#include "quant/qdq_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/buffer.h"
#include "engine/constant_encoding.h"
#include "engine/op.h"
#include "base/error.h"
#include "loaders/onnx_opsets.h"
#include "loaders/onnx_upgrade.h"

namespace octet::quant {
namespace {

template <typename T>
BufferPtr buffer_of(const std::vector<T>& v) {
  return Buffer::copy_of(v.data(), v.size() * sizeof(T));
}

TensorId add_const(Graph& g, const std::string& base, DType dtype, const Dims& dims, BufferPtr data) {
  const TensorId id = g.add_unique_tensor(base, dtype);
  g.tensor(id).shape = Shape::of(dims);
  g.tensor(id).data = std::move(data);
  return id;
}

// Zero points as stored (little-endian; 4-bit packed low nibble first).
BufferPtr zero_point_bytes(DType t, const std::vector<int32_t>& zp) {
  switch (t) {
    case DType::kU8: { std::vector<uint8_t> v(zp.begin(), zp.end()); return buffer_of(v); }
    case DType::kI8: { std::vector<int8_t> v(zp.begin(), zp.end()); return buffer_of(v); }
    case DType::kU16: { std::vector<uint16_t> v(zp.begin(), zp.end()); return buffer_of(v); }
    case DType::kI16: { std::vector<int16_t> v(zp.begin(), zp.end()); return buffer_of(v); }
    default: {  // 4-bit
      std::vector<uint8_t> v((zp.size() + 1) / 2, 0);
      for (size_t i = 0; i < zp.size(); ++i)
        v[i / 2] |= static_cast<uint8_t>((static_cast<uint8_t>(zp[i]) & 0xF) << (4 * (i % 2)));
      return buffer_of(v);
    }
  }
}

// A strict-symmetric grid is [-(2^(b-1) - 1), 2^(b-1) - 1]: the simulation clamps a value
// beyond it to the end code, ONNX's QuantizeLinear saturates to the type's -2^(b-1). A constant
// is written clamped to its grid's ends (a new buffer), so that both give the end code.
void clamp_to_strict_grid(TensorInfo& t, const QuantParams& qp) {
  const Dims dims = t.shape.concrete();
  const int64_t n = checked_numel(dims);
  std::vector<float> v(t.data->as<float>(), t.data->as<float>() + n);
  int64_t inner = 1;
  if (qp.scale.size() > 1)
    for (size_t d = size_t(qp.axis) + 1; d < dims.size(); ++d) inner *= dims[d];
  const float top = float((1 << (qp.bitwidth - 1)) - 1);
  bool changed = false;
  for (int64_t i = 0; i < n; ++i) {
    const size_t c = qp.scale.size() > 1 ? size_t((i / inner) % int64_t(qp.scale.size())) : 0;
    const float hi = top * qp.scale[c];
    const float x = std::clamp(v[size_t(i)], -hi, hi);
    changed |= x != v[size_t(i)];
    v[size_t(i)] = x;
  }
  if (changed) t.data = Buffer::copy_of(reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float));
}

// The output of an op that keeps its input's encoding (Flatten, Reshape, MaxPool...: the op
// table's EncodingClass) and has none of its own gets that encoding, as the integer lowering
// gives it: its Q/DQ pair is exact (its values are already on the grid), and ONNX Runtime fuses
// an op into its integer form only when its inputs come straight from DequantizeLinear (a Gemm
// fed by DQ -> Flatten ran in float, not as the QGemm octet simulates).
void give_kept_encodings(Graph& g) {
  for (const Node& n : g.nodes) {
    if (n.inputs.empty() || n.inputs[0] == kNoTensor || !preserves_encoding(n.op_type)) continue;
    const QuantParams& in = g.tensor(n.inputs[0]).quant;
    if (in.empty() || in.scale.size() != 1) continue;  // per-channel codes do not carry over
    for (TensorId o : n.outputs) {
      TensorInfo& t = g.tensor(o);
      if (o != kNoTensor && t.quant.empty() && !t.is_constant() &&
          (t.dtype == DType::kF32 || t.dtype == DType::kUndefined))
        t.quant = in;
    }
  }
}

// A float constant added to or multiplied with a quantized 8-bit tensor gets the encoding the
// integer lowering gives it (engine/constant_encoding.h): a runtime then fuses the op into its
// integer form with the codes octet uses (ONNX Runtime ran YOLOv5n's grid Add in float).
void give_constant_operands_encodings(Graph& g) {
  for (const Node& n : g.nodes) {
    if ((n.op_type != "Add" && n.op_type != "Mul") || n.inputs.size() != 2) continue;
    for (int k = 0; k < 2; ++k) {
      const TensorId c = n.inputs[size_t(k)], x = n.inputs[size_t(1 - k)];
      if (c == kNoTensor || x == kNoTensor) continue;
      const QuantParams& xq = g.tensor(x).quant;
      if (xq.empty() || xq.scale.size() != 1 || xq.bitwidth != 8) continue;
      if (std::optional<QuantParams> q = own_range_encoding(g.tensor(c))) g.tensor(c).quant = *q;
    }
  }
}

bool is_onnx_op(const Node& n) {
  return n.op_type.find("::") == std::string::npos && n.op_type.rfind("octet.", 0) != 0;
}

bool is_biased_linear(const Graph& g, const Node& n) {
  return (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm") &&
         n.inputs.size() > 2 && n.inputs[2] != kNoTensor && g.tensor(n.inputs[2]).is_constant() &&
         g.tensor(n.inputs[2]).dtype == DType::kF32;
}

}  // namespace

std::shared_ptr<Graph> qdq_graph(const QuantSim& sim, const QdqExportOptions&) {
  std::shared_ptr<Graph> gp = sim.annotated_model();
  Graph& g = *gp;
  g.topo_sort();
  give_kept_encodings(g);
  give_constant_operands_encodings(g);
  int64_t min_opset = 0;
  const size_t original = g.tensors.size();
  for (size_t i = 0; i < original; ++i) {
    const TensorId id = static_cast<TensorId>(i);
    const QuantParams qp = g.tensor(id).quant;
    if (qp.empty()) continue;
    const std::string name = g.tensor(id).name;
    const int b = qp.bitwidth;
    OCTET_CHECK(b == 4 || b == 8 || b == 16, "QDQ export: '", name, "' has a ", b,
                "-bit encoding; ONNX QuantizeLinear has 4, 8 and 16-bit types only");
    OCTET_CHECK(qp.block_size == 0, "QDQ export: '", name, "': per-block encodings are not exported yet");
    OCTET_CHECK(qp.zero_point.size() == qp.scale.size(), "QDQ export: '", name,
                "': needs one zero point per scale");
    OCTET_CHECK(g.tensor(id).dtype == DType::kF32 || g.tensor(id).dtype == DType::kUndefined,
                "QDQ export: '", name, "' is quantized but not f32");
    const bool per_axis = qp.scale.size() > 1 || qp.axis >= 0;
    // int16/uint16 and int4/uint4 Q/DQ types came with QuantizeLinear-21, per-axis with -13.
    min_opset = std::max<int64_t>(min_opset, b != 8 ? 21 : per_axis ? 13 : 10);

    const int32_t half = 1 << (b - 1);
    bool all_zero = true;
    for (int32_t z : qp.zero_point) all_zero = all_zero && z == 0;
    const bool is_signed = qp.symmetric && !all_zero;  // unsigned-symmetric stays unsigned
    DType qt = b == 4 ? (is_signed ? DType::kI4 : DType::kU4)
               : b == 8 ? (is_signed ? DType::kI8 : DType::kU8)
                        : (is_signed ? DType::kI16 : DType::kU16);
    std::vector<int32_t> zp = qp.zero_point;
    if (is_signed)
      for (int32_t& z : zp) z = qp.strict ? 0 : z - half;
    for (int32_t z : zp)
      OCTET_CHECK(z >= (is_signed ? -half : 0) && z <= (is_signed ? half - 1 : 2 * half - 1),
                  "QDQ export: '", name, "': zero point out of the ", b, "-bit range");
    for (float s : qp.scale)
      OCTET_CHECK(s > 0.f && std::isfinite(s), "QDQ export: '", name, "': scale must be positive");

    if (qp.strict && is_signed && g.tensor(id).is_constant()) clamp_to_strict_grid(g.tensor(id), qp);

    const Dims pdims = per_axis ? Dims{static_cast<int64_t>(qp.scale.size())} : Dims{};
    const TensorId scale = add_const(g, name + "/scale", DType::kF32, pdims, buffer_of(qp.scale));
    const TensorId zero = add_const(g, name + "/zero_point", qt, pdims, zero_point_bytes(qt, zp));
    const Shape shape = g.tensor(id).shape;  // the new tensors' too (rewrites read ranks)
    const TensorId q = g.add_unique_tensor(name + "/quantized", qt);
    g.tensor(q).shape = shape;

    const bool produced_output =
        g.is_graph_output(id) && !g.is_graph_input(id) && !g.tensor(id).is_constant();
    TensorId src = id, dst;
    if (produced_output) {  // the output keeps its name on the DQ output
      src = g.add_unique_tensor(name + "/float", g.tensor(id).dtype);
      g.tensor(src).shape = shape;
      for (Node& m : g.nodes)
        for (TensorId& o : m.outputs)
          if (o == id) o = src;
      dst = id;
    } else {
      dst = g.add_unique_tensor(name + "/dequantized", DType::kF32);
      g.tensor(dst).shape = shape;
      for (Node& m : g.nodes)
        for (TensorId& in : m.inputs)
          if (in == id) in = dst;
    }
    Node qn, dqn;
    qn.name = name + "/QuantizeLinear";
    qn.op_type = "QuantizeLinear";
    qn.inputs = {src, scale, zero};
    qn.outputs = {q};
    dqn.name = name + "/DequantizeLinear";
    dqn.op_type = "DequantizeLinear";
    dqn.inputs = {q, scale, zero};
    dqn.outputs = {dst};
    if (per_axis) {
      qn.attrs.set("axis", int64_t{qp.axis});
      dqn.attrs.set("axis", int64_t{qp.axis});
    }
    g.nodes.push_back(std::move(qn));
    g.nodes.push_back(std::move(dqn));
  }
  for (TensorInfo& t : g.tensors) t.quant = QuantParams{};
  // The opset written must define every op the graph holds (a model may use an op newer than
  // the opset it declares). ONNX Runtime (1.30) quantizes a float Conv / Gemm bias between
  // DequantizeLinear'd inputs with an inserted Round, an opset-11 op: it refuses such a model
  // below opset 11 (ESPCN, BodyPix). Ops whose form changed on the way (Clip-6's bounds became
  // inputs at 11, Squeeze's axes at 13...) are rewritten into the new form.
  for (const Node& n : g.nodes)
    if (is_biased_linear(g, n)) min_opset = std::max<int64_t>(min_opset, 11);
  int64_t target = std::max(g.opset, min_opset);
  for (const Node& n : g.nodes)
    if (is_onnx_op(n) && onnx_op_version(n.op_type, target) == 0)
      target = std::max(target, onnx_op_first_opset(n.op_type));
  upgrade_op_forms(g, target);
  for (const Node& n : g.nodes)
    OCTET_CHECK(!is_onnx_op(n) || onnx_op_version(n.op_type, target) != 0,
                "QDQ export: ONNX defines no op '", n.op_type, "' at opset ", target);
  g.topo_sort();
  return gp;
}

void export_qdq_onnx(const QuantSim& sim, const std::string& path, const QdqExportOptions& o) {
  save_onnx(*qdq_graph(sim, o), path, o.onnx);
}

}  // namespace octet::quant
