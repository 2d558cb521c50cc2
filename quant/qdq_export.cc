#include "quant/qdq_export.h"

#include <set>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/buffer.h"
#include "engine/constant_encoding.h"
#include "engine/op.h"
#include "base/error.h"
#include "loaders/onnx_opsets.h"

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

bool is_biased_linear(const Graph& g, const Node& n) {
  return (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm") &&
         n.inputs.size() > 2 && n.inputs[2] != kNoTensor && g.tensor(n.inputs[2]).is_constant() &&
         g.tensor(n.inputs[2]).dtype == DType::kF32;
}

// ONNX Runtime (1.30) quantizes a float Conv / Gemm bias between DequantizeLinear'd inputs with
// an inserted Round, an opset-11 op, and refuses the model below opset 11. Where the export cannot
// raise the opset (an op's form changed at 11: Clip-6, BodyPix), it writes those biases as ORT
// would make them: int32 codes round_half_even(b / (x_scale * w_scale)) under DequantizeLinear
// (all encodings are per-tensor below opset 13). The model then differs from the qdq simulation,
// which keeps biases in float, by each bias's rounding — as octet's integer model does.
void write_int32_biases(Graph& g) {
  const size_t count = g.nodes.size();
  for (size_t i = 0; i < count; ++i) {
    const Node n = g.nodes[i];
    if (!is_biased_linear(g, n)) continue;
    const QuantParams& xq = g.tensor(n.inputs[0]).quant;
    const QuantParams& wq = g.tensor(n.inputs[1]).quant;
    if (xq.scale.size() != 1 || wq.scale.size() != 1) continue;
    const float s = xq.scale[0] * wq.scale[0];
    const TensorInfo& b = g.tensor(n.inputs[2]);
    const int64_t count_b = checked_numel(b.shape.concrete());
    const auto* v = reinterpret_cast<const float*>(b.data->data());
    std::vector<int32_t> codes(static_cast<size_t>(count_b));
    for (int64_t k = 0; k < count_b; ++k)
      codes[size_t(k)] = int32_bias_code(v[k], s);
    const std::string name = b.name;
    const Dims dims = b.shape.concrete();
    const TensorId q = add_const(g, name + "/int32", DType::kI32, dims, buffer_of(codes));
    const TensorId scale = add_const(g, name + "/scale", DType::kF32, {}, buffer_of(std::vector<float>{s}));
    const TensorId zero = add_const(g, name + "/zero_point", DType::kI32, {}, buffer_of(std::vector<int32_t>{0}));
    const TensorId dq = g.add_unique_tensor(name + "/dequantized", DType::kF32);
    Node d;
    d.name = name + "/DequantizeLinear";
    d.op_type = "DequantizeLinear";
    d.inputs = {q, scale, zero};
    d.outputs = {dq};
    g.nodes[i].inputs[2] = dq;
    g.nodes.push_back(std::move(d));
  }
}

}  // namespace

std::shared_ptr<Graph> qdq_graph(const QuantSim& sim, const QdqExportOptions&) {
  std::shared_ptr<Graph> gp = sim.annotated_model();
  Graph& g = *gp;
  g.topo_sort();
  give_kept_encodings(g);
  give_constant_operands_encodings(g);
  {
    int64_t needed = 0;  // by the encodings: 10 per-tensor 8-bit, 13 per-axis, 21 other widths
    bool float_bias = false;
    for (const TensorInfo& t : g.tensors)
      if (!t.quant.empty())
        needed = std::max<int64_t>(needed, t.quant.bitwidth != 8 ? 21 : t.quant.scale.size() > 1 || t.quant.axis >= 0 ? 13 : 10);
    std::set<std::string> ops = {"QuantizeLinear", "DequantizeLinear"};
    for (const Node& n : g.nodes) {
      float_bias |= is_biased_linear(g, n);
      ops.insert(n.op_type);
    }
    bool same_forms = true;
    for (const std::string& op : ops) same_forms &= onnx_op_form_change(op, g.opset, 11) == 0;
    if (std::max(g.opset, needed) < 11 && float_bias && !same_forms) write_int32_biases(g);
  }
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
    const TensorId q = g.add_unique_tensor(name + "/quantized", qt);

    const bool produced_output =
        g.is_graph_output(id) && !g.is_graph_input(id) && !g.tensor(id).is_constant();
    TensorId src = id, dst;
    if (produced_output) {  // the output keeps its name on the DQ output
      src = g.add_unique_tensor(name + "/float", g.tensor(id).dtype);
      for (Node& m : g.nodes)
        for (TensorId& o : m.outputs)
          if (o == id) o = src;
      dst = id;
    } else {
      dst = g.add_unique_tensor(name + "/dequantized", DType::kF32);
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
  // the opset it declares), and raising it must change no op's form (Clip's bounds became
  // inputs at 11, ...).
  std::set<std::string> ops;
  for (const Node& n : g.nodes)
    if (n.op_type.find("::") == std::string::npos && n.op_type.rfind("octet.", 0) != 0) ops.insert(n.op_type);
  // ONNX Runtime (1.30) quantizes a float Conv / Gemm bias between DequantizeLinear'd inputs with
  // an inserted Round, an opset-11 op: it refuses such a model at opset 10 (ESPCN). Opset 11 it
  // gets, wherever that changes no op's form.
  if (std::max(g.opset, min_opset) < 11) {
    bool float_bias = false;
    for (const Node& n : g.nodes) float_bias |= is_biased_linear(g, n);
    bool same_forms = true;
    for (const std::string& op : ops) same_forms &= onnx_op_form_change(op, g.opset, 11) == 0;
    if (float_bias && same_forms) min_opset = 11;
  }
  int64_t target = std::max(g.opset, min_opset);
  for (const std::string& op : ops)
    if (onnx_op_version(op, target) == 0) target = std::max(target, onnx_op_first_opset(op));
  std::string changed;
  for (const std::string& op : ops)
    if (const int64_t at = onnx_op_form_change(op, g.opset, target))
      changed += " " + op + " (changed at opset " + std::to_string(at) + ")";
  if (!changed.empty())
    fail("QDQ export needs opset ", target, " but the model is opset ", g.opset,
         " and uses ops whose form changed since then:", changed,
         "; export the model from its framework at opset >= ", target);
  for (const std::string& op : ops)
    OCTET_CHECK(onnx_op_version(op, target) != 0, "QDQ export: ONNX defines no op '", op, "' at opset ", target);
  g.opset = target;
  g.topo_sort();
  return gp;
}

void export_qdq_onnx(const QuantSim& sim, const std::string& path, const QdqExportOptions& o) {
  save_onnx(*qdq_graph(sim, o), path, o.onnx);
}

}  // namespace octet::quant
