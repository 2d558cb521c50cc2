#include "engine/passes/qdq_annotate.h"

#include <cmath>
#include <cstring>
#include <optional>

#include "base/error.h"
#include "engine/passes/pass_util.h"

namespace octet {
namespace {

// Scale and zero point of a Q or DQ node (inputs 1 and 2), when both are constants.
struct QdqParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;  // ONNX zero points
  DType code_type = DType::kU8;
  int64_t axis = -1;  // -1: per tensor
};

std::optional<std::vector<int64_t>> constant_int_values(const TensorInfo& t) {
  if (!t.is_constant() || !t.shape.is_concrete()) return {};
  const int64_t n = checked_numel(t.shape.concrete());
  if (t.data->size() < dtype_storage_bytes(t.dtype, n)) return {};
  std::vector<int64_t> v(static_cast<size_t>(n));
  const auto* b = reinterpret_cast<const uint8_t*>(t.data->data());
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kU8: v[size_t(i)] = b[i]; break;
      case DType::kI8: v[size_t(i)] = int8_t(b[i]); break;
      case DType::kU16: { uint16_t x; std::memcpy(&x, b + 2 * i, 2); v[size_t(i)] = x; break; }
      case DType::kI16: { int16_t x; std::memcpy(&x, b + 2 * i, 2); v[size_t(i)] = x; break; }
      case DType::kI32: { int32_t x; std::memcpy(&x, b + 4 * i, 4); v[size_t(i)] = x; break; }
      case DType::kI4:
      case DType::kU4: {
        const int nib = (b[i / 2] >> ((i % 2) * 4)) & 0xF;
        v[size_t(i)] = t.dtype == DType::kI4 && nib >= 8 ? nib - 16 : nib;
        break;
      }
      default: return {};
    }
  }
  return v;
}

int bits_of(DType t) {
  switch (t) {
    case DType::kU8: case DType::kI8: return 8;
    case DType::kU16: case DType::kI16: return 16;
    case DType::kU4: case DType::kI4: return 4;
    case DType::kI32: return 32;
    default: return 0;
  }
}
bool is_signed(DType t) {
  return t == DType::kI8 || t == DType::kI16 || t == DType::kI4 || t == DType::kI32;
}

std::optional<QdqParams> params_of(const Graph& g, const Node& n, DType code_type) {
  if (!n.has_input(1)) return {};
  auto scale = passes::constant_f32(g, n.inputs[1]);
  if (!scale || scale->empty()) return {};
  QdqParams p;
  p.scale = *scale;
  p.code_type = code_type;
  if (n.has_input(2)) {
    const TensorInfo& z = g.tensor(n.inputs[2]);
    auto zp = constant_int_values(z);
    if (!zp || zp->size() != p.scale.size()) return {};
    for (int64_t v : *zp) p.zero_point.push_back(int32_t(v));
  } else {
    p.zero_point.assign(p.scale.size(), 0);
  }
  for (float s : p.scale)
    if (!(std::isfinite(s) && s > 0.f)) return {};
  if (g.opset >= 21 && n.attrs.get_int("block_size", 0) != 0) return {};
  if (p.scale.size() > 1) p.axis = g.opset >= 13 ? n.attrs.get_int("axis", 1) : 1;
  return p;
}

// The encoding in QuantParams' convention (unsigned-domain zero point).
QuantParams to_quant(const QdqParams& p) {
  QuantParams q;
  q.scale = p.scale;
  q.bitwidth = bits_of(p.code_type);
  const int32_t shift = is_signed(p.code_type) ? int32_t(1) << (q.bitwidth - 1) : 0;
  // Symmetric: the zero point sits in the middle of the code range (0 for signed codes).
  const int32_t middle = is_signed(p.code_type) ? 0 : int32_t(1) << (q.bitwidth - 1);
  bool symmetric = true;
  for (int32_t z : p.zero_point) {
    q.zero_point.push_back(z + shift);
    symmetric = symmetric && z == middle;
  }
  q.symmetric = symmetric;
  q.axis = int32_t(p.axis);
  return q;
}

bool same_params(const QdqParams& a, const QdqParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point && a.code_type == b.code_type &&
         a.axis == b.axis;
}

}  // namespace

bool is_qdq_model(const Graph& g) {
  bool qdq = false;
  for (const Node& n : g.nodes) qdq = qdq || n.op_type == "DequantizeLinear";
  if (!qdq) return false;
  for (const TensorInfo& t : g.tensors)
    if (!t.quant.empty()) return false;
  return true;
}

PassReport annotate_qdq_encodings(Graph& g) {
  PassReport report{"annotate-qdq-encodings", 0, {}};
  passes::Namer names(g);
  const std::vector<int32_t> producers = g.producers();
  const size_t node_count = g.nodes.size();
  for (size_t i = 0; i < node_count; ++i) {
    const Node d = g.nodes[i];
    if (d.op_type != "DequantizeLinear" || d.inputs.empty()) continue;
    const TensorId codes = d.inputs[0];
    const TensorInfo& ct = g.tensor(codes);
    const TensorId out = d.outputs[0];
    // Before shape inference only constants have dtypes: else the zero point's type says
    // (ONNX's default without one is uint8).
    DType code_type = ct.dtype;
    if (code_type == DType::kUndefined)
      code_type = d.has_input(2) ? g.tensor(d.inputs[2]).dtype : DType::kU8;
    const auto dq = params_of(g, d, code_type);
    if (!dq || bits_of(code_type) == 0) {
      report.notes.push_back("'" + d.name + "': runtime or blocked parameters, kept as an op");
      continue;
    }
    if (ct.is_constant()) {
      // Dequantized constant: float values plus their encoding.
      auto values = constant_int_values(ct);
      if (!values || !ct.shape.is_concrete()) continue;
      const Dims dims = ct.shape.concrete();
      int64_t axis = dq->axis;
      if (axis < 0 && dq->scale.size() > 1) continue;
      if (axis < 0 && dq->scale.size() == 1) axis = -1;
      if (axis < -1) axis += int64_t(dims.size());
      if (axis >= int64_t(dims.size()) ||
          (axis >= 0 && dims[size_t(axis)] != int64_t(dq->scale.size())))
        continue;
      int64_t inner = 1;
      for (size_t k = size_t(axis + 1); axis >= 0 && k < dims.size(); ++k) inner *= dims[k];
      std::vector<float> f(values->size());
      for (size_t k = 0; k < f.size(); ++k) {
        const size_t c = axis < 0 ? 0 : size_t((int64_t(k) / inner) % int64_t(dq->scale.size()));
        f[k] = float((*values)[k] - dq->zero_point[c]) * dq->scale[c];
      }
      if (g.is_graph_output(out)) continue;
      const TensorId fc = passes::add_f32_constant(g, names, g.tensor(out).name, dims, f);
      QdqParams p = *dq;
      p.axis = axis;
      // `ct` may dangle here: adding the constant can move the graph's tensors.
      if (code_type != DType::kI32) g.tensor(fc).quant = to_quant(p);
      g.replace_uses(out, fc);
      report.changed++;
      continue;
    }
    // x -> Q -> codes -> DQ: readers of the DQ read x, which carries the encoding.
    const int32_t qi = producers[size_t(codes)];
    if (qi < 0 || g.nodes[size_t(qi)].op_type != "QuantizeLinear") {
      report.notes.push_back("'" + d.name + "' dequantizes a graph input: kept as an op");
      continue;
    }
    const Node& q = g.nodes[size_t(qi)];
    const auto qp = params_of(g, q, code_type);
    const bool constant_input = g.tensor(q.inputs[0]).is_constant();
    if (!qp || !same_params(*qp, *dq) || (qp->scale.size() != 1 && !constant_input)) {
      report.notes.push_back("'" + d.name + "': QuantizeLinear / DequantizeLinear parameters " +
                             "differ or are per axis: kept as ops");
      continue;
    }
    const TensorId x = q.inputs[0];
    TensorInfo& xt = g.tensor(x);
    if (xt.dtype != DType::kF32 && xt.dtype != DType::kUndefined) continue;
    QuantParams enc = to_quant(*qp);
    if (enc.axis < -1 && xt.shape.has_rank) enc.axis += int32_t(xt.shape.rank());
    if (!xt.quant.empty() && (xt.quant.scale != enc.scale || xt.quant.zero_point != enc.zero_point)) {
      report.notes.push_back("'" + xt.name + "' is quantized twice with different parameters: " +
                             "the second pair is kept as ops");
      continue;
    }
    xt.quant = enc;
    if (g.is_graph_output(out)) continue;  // the output keeps its name and its DQ
    g.replace_uses(out, x);
    report.changed++;
  }
  remove_dead_nodes(g);
  return report;
}

}  // namespace octet
