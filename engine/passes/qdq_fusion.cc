#include "engine/passes/qdq_fusion.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "engine/error.h"
#include "engine/passes/pass_util.h"
#include "kernels/quantize_linear.h"

namespace octet {
namespace {

using passes::Namer;

// Per-tensor activation parameters of a DequantizeLinear / QuantizeLinear.
struct ActParams {
  DType type = DType::kU8;
  float scale = 1.f;
  int32_t zero_point = 0;
};

// Integer values of a constant i8/u8/i32 tensor, with its dims.
struct IntConst {
  DType type = DType::kUndefined;
  Dims dims;
  std::vector<int32_t> values;
};

std::optional<IntConst> int_constant(const Graph& g, TensorId id) {
  if (id == kNoTensor) return std::nullopt;
  const TensorInfo& t = g.tensor(id);
  if (!t.is_constant() || !t.shape.is_concrete()) return std::nullopt;
  if (t.dtype != DType::kI8 && t.dtype != DType::kU8 && t.dtype != DType::kI32) return std::nullopt;
  IntConst c;
  c.type = t.dtype;
  c.dims = t.shape.concrete();
  const int64_t n = checked_numel(c.dims);
  if (t.data->size() < dtype_storage_bytes(t.dtype, n)) return std::nullopt;
  c.values.resize(static_cast<size_t>(n));
  const std::byte* p = t.data->data();
  for (int64_t i = 0; i < n; ++i) {
    if (t.dtype == DType::kI8) c.values[i] = reinterpret_cast<const int8_t*>(p)[i];
    else if (t.dtype == DType::kU8) c.values[i] = reinterpret_cast<const uint8_t*>(p)[i];
    else std::memcpy(&c.values[i], p + 4 * i, 4);
  }
  return c;
}

std::optional<std::vector<float>> float_constant(const Graph& g, TensorId id) {
  if (id == kNoTensor || !g.tensor(id).shape.is_concrete()) return std::nullopt;
  return passes::constant_f32(g, id);
}

// Why a candidate stays float (becomes a report note).
struct Skip {
  std::string why;
};

// The quantization axis of a QuantizeLinear / DequantizeLinear over a tensor of `rank`.
int64_t qdq_axis(const Graph& g, const Node& n, size_t rank) {
  int64_t axis = g.opset == 0 || g.opset >= 13 ? n.attrs.get_int("axis", 1) : 1;
  if (axis < 0) axis += static_cast<int64_t>(rank);
  return axis;
}

// A DequantizeLinear's or QuantizeLinear's per-tensor parameters (inputs 1, 2).
ActParams act_params(const Graph& g, const Node& n, DType codes_type) {
  auto scale = float_constant(g, n.input(1));
  if (!scale || scale->size() != 1) throw Skip{n.op_type + " '" + n.name + "' has no constant per-tensor scale"};
  if (!(scale->at(0) > 0.f) || !std::isfinite(scale->at(0)))
    throw Skip{n.op_type + " '" + n.name + "' has a non-positive scale"};
  ActParams a;
  a.scale = scale->at(0);
  if (n.has_input(2)) {
    auto zp = int_constant(g, n.input(2));
    if (!zp || zp->values.size() != 1 || (zp->type != DType::kU8 && zp->type != DType::kI8))
      throw Skip{n.op_type + " '" + n.name + "' has no constant u8/i8 per-tensor zero point"};
    a.type = zp->type;
    a.zero_point = zp->values[0];
  } else {
    a.type = codes_type;
  }
  if (a.type != DType::kU8 && a.type != DType::kI8)
    throw Skip{n.op_type + " '" + n.name + "' is not u8/i8"};
  if (n.attrs.get_int("block_size", 0) != 0) throw Skip{n.op_type + " '" + n.name + "' is blocked"};
  return a;
}

// A constant weight behind DequantizeLinear: i8 codes, one scale or one per `axis` slice.
struct WeightQ {
  Dims dims;
  std::vector<int8_t> codes;
  std::vector<float> scales;
  int64_t axis = -1;  // -1: per tensor
};

WeightQ weight_of(const Graph& g, const std::vector<int32_t>& producer, const Node& dq) {
  if (dq.attrs.get_int("block_size", 0) != 0) throw Skip{"blocked weight quantization"};
  auto scales = float_constant(g, dq.input(1));
  if (!scales || scales->empty()) throw Skip{"weight scale is not a float constant"};
  for (float s : *scales)
    if (!(s > 0.f) || !std::isfinite(s)) throw Skip{"weight scale not finite and positive"};
  std::vector<int32_t> zp;
  if (dq.has_input(2)) {
    auto z = int_constant(g, dq.input(2));
    if (!z) throw Skip{"weight zero point is not constant"};
    zp = z->values;
  }
  for (int32_t z : zp)
    if (z != 0) throw Skip{"weight zero point is not 0"};
  WeightQ w;
  std::optional<IntConst> c = int_constant(g, dq.input(0));
  if (!c) {
    // Before constant folding: DequantizeLinear(QuantizeLinear(float constant)).
    const int32_t p = producer[dq.input(0)];
    if (p < 0 || g.nodes[p].op_type != "QuantizeLinear") throw Skip{"weights are not constant"};
    const Node& q = g.nodes[p];
    auto wf = float_constant(g, q.input(0));
    auto qs = float_constant(g, q.input(1));
    auto qz = q.has_input(2) ? int_constant(g, q.input(2)) : std::nullopt;
    if (!wf || !qs || *qs != *scales || !qz || qz->type != DType::kI8 || q.attrs.get_int("block_size", 0) != 0)
      throw Skip{"weights are not QuantizeLinear of a float constant to i8 with the same scale"};
    for (int32_t z : qz->values)
      if (z != 0) throw Skip{"weight zero point is not 0"};
    IntConst ic;
    ic.type = DType::kI8;
    ic.dims = g.tensor(q.input(0)).shape.concrete();
    kernels::QdqLayout l;
    l.inner = checked_numel(ic.dims);
    if (qs->size() > 1) {
      const int64_t axis = qdq_axis(g, q, ic.dims.size());
      if (axis < 0 || axis >= static_cast<int64_t>(ic.dims.size()) || ic.dims[axis] != int64_t(qs->size()))
        throw Skip{"weight scale does not match the weights' shape"};
      l.granularity = kernels::QdqGranularity::kPerAxis;
      l.outer = 1;
      for (int64_t k = 0; k < axis; ++k) l.outer *= ic.dims[k];
      l.channels = ic.dims[axis];
      l.inner = 1;
      for (size_t k = axis + 1; k < ic.dims.size(); ++k) l.inner *= ic.dims[k];
    }
    std::vector<int8_t> out(static_cast<size_t>(l.count()));
    const std::vector<int32_t> zeros(qs->size(), 0);
    kernels::quantize_linear_reference(l, wf->data(), qs->data(), zeros.data(), DType::kI8, out.data());
    ic.values.assign(out.begin(), out.end());
    c = std::move(ic);
  }
  if (c->type != DType::kI8) throw Skip{"weights are not i8"};
  w.dims = c->dims;
  w.codes.assign(c->values.begin(), c->values.end());
  w.scales = *scales;
  if (scales->size() > 1) {
    w.axis = qdq_axis(g, dq, w.dims.size());
    if (w.axis < 0 || w.axis >= static_cast<int64_t>(w.dims.size()) ||
        w.dims[w.axis] != static_cast<int64_t>(scales->size()))
      throw Skip{"weight scale does not match the weights' shape"};
  }
  return w;
}

// [K][N] -> [N][K] (per-channel axis 1 -> 0).
void transpose_2d(WeightQ& w) {
  const int64_t K = w.dims[0], N = w.dims[1];
  std::vector<int8_t> t(w.codes.size());
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) t[n * K + k] = w.codes[k * N + n];
  w.codes = std::move(t);
  w.dims = {N, K};
  if (w.axis >= 0) w.axis = 1 - w.axis;
}

// Real bias values (float constant, or DequantizeLinear of an integer constant / of
// QuantizeLinear of a float constant), and its i32 codes when it already is i32 with scale
// x_scale * w_scale[c] and zero point 0.
std::vector<int32_t> bias_codes(const Graph& g, const std::vector<int32_t>& producer, TensorId b,
                                int64_t channels, float x_scale, const std::vector<float>& w_scales) {
  std::vector<double> real;
  std::optional<std::vector<int32_t>> exact;
  if (auto f = float_constant(g, b)) {
    real.assign(f->begin(), f->end());
  } else {
    const int32_t p = producer[b];
    if (p < 0 || g.nodes[p].op_type != "DequantizeLinear") throw Skip{"bias is not a constant"};
    const Node& dq = g.nodes[p];
    auto s = float_constant(g, dq.input(1));
    std::optional<IntConst> c = int_constant(g, dq.input(0));
    if (!c) {
      const int32_t pq = producer[dq.input(0)];
      if (pq < 0 || g.nodes[pq].op_type != "QuantizeLinear" || !float_constant(g, g.nodes[pq].inputs[0]))
        throw Skip{"bias is not DequantizeLinear of a constant"};
      auto f = float_constant(g, g.nodes[pq].inputs[0]);
      real.assign(f->begin(), f->end());  // the float value before its own quantization
    } else {
      std::vector<int32_t> zp(1, 0);
      if (dq.has_input(2)) {
        auto z = int_constant(g, dq.input(2));
        if (!z) throw Skip{"bias zero point is not constant"};
        zp = z->values;
      }
      if (!s || (s->size() != 1 && int64_t(s->size()) != channels) ||
          (zp.size() != 1 && zp.size() != s->size()))
        throw Skip{"bias scale / zero point are not per tensor or per channel constants"};
      real.resize(c->values.size());
      for (size_t i = 0; i < real.size(); ++i) {
        const size_t k = s->size() == 1 ? 0 : i;
        real[i] = double(c->values[i] - zp[zp.size() == 1 ? 0 : k]) * double((*s)[k]);
      }
      bool same = c->type == DType::kI32 && int64_t(c->values.size()) == channels;
      for (int64_t i = 0; same && i < channels; ++i) {
        const float want = x_scale * w_scales[w_scales.size() == 1 ? 0 : i];
        const float have = (*s)[s->size() == 1 ? 0 : i];
        same = zp[zp.size() == 1 ? 0 : i] == 0 && std::fabs(have - want) <= 1e-6f * want;
      }
      if (same) exact = c->values;
    }
  }
  if (int64_t(real.size()) != channels) throw Skip{"bias does not have one value per output channel"};
  if (exact) return *exact;
  std::vector<int32_t> q(static_cast<size_t>(channels));
  for (int64_t i = 0; i < channels; ++i) {
    const double s = double(x_scale) * double(w_scales[w_scales.size() == 1 ? 0 : i]);
    double v = std::nearbyint(real[i] / s);  // round half to even (default rounding mode)
    v = std::min(std::max(v, double(std::numeric_limits<int32_t>::min())),
                 double(std::numeric_limits<int32_t>::max()));
    q[i] = static_cast<int32_t>(v);
  }
  return q;
}

struct ActBounds {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

std::optional<ActBounds> activation_bounds(const Graph& g, const Node& a) {
  ActBounds b;
  if (a.op_type == "Relu") {
    b.lo = 0.f;
    return b;
  }
  if (a.op_type != "Clip") return std::nullopt;
  if (g.opset > 0 && g.opset < 11) {
    b.lo = a.attrs.get_float("min", b.lo);
    b.hi = a.attrs.get_float("max", b.hi);
    return b;
  }
  for (size_t i = 1; i <= 2; ++i) {
    if (!a.has_input(i)) continue;
    auto v = float_constant(g, a.inputs[i]);
    if (!v || v->size() != 1) return std::nullopt;
    (i == 1 ? b.lo : b.hi) = (*v)[0];
  }
  return b;
}

QuantParams act_quant(const ActParams& a) {
  QuantParams q;
  q.scale = {a.scale};
  q.zero_point = {a.zero_point};
  q.axis = -1;
  q.bitwidth = 8;
  q.symmetric = false;
  return q;
}

bool same_quant(const QuantParams& a, const QuantParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point && a.axis == b.axis;
}

Shape permuted(const Shape& s, const std::vector<int64_t>& perm) {
  if (!s.is_concrete() || s.rank() != perm.size()) return Shape::unknown();
  return Shape::of(passes::permute_dims(s.concrete(), perm));
}

class Fuser {
 public:
  Fuser(Graph& g, const QdqFusionOptions& o) : g_(g), o_(o), names_(g) {}

  PassReport run() {
    PassReport report{"fuse-qdq-to-integer", 0, {}};
    const size_t count = g_.nodes.size();  // nodes added on the way are Transposes
    for (size_t i = 0; i < count; ++i) {
      const std::string op = g_.nodes[i].op_type;
      if (op != "Conv" && op != "Gemm" && op != "MatMul") continue;
      try {
        fuse(i);
        ++report.changed;
      } catch (const Skip& s) {
        const Node& n = g_.nodes[i];
        if (looks_quantized(n)) report.notes.push_back(n.name + " (" + n.op_type + ") stays float: " + s.why);
      }
    }
    std::vector<char> remove(g_.nodes.size(), 0);
    for (size_t i = 0; i < g_.nodes.size(); ++i) remove[i] = g_.nodes[i].op_type.empty();
    passes::erase_nodes(g_, remove);
    remove_dead_nodes(g_);
    g_.topo_sort();
    g_.compact();
    return report;
  }

 private:
  bool looks_quantized(const Node& n) const {
    const std::vector<int32_t> producer = g_.producers();
    const int32_t p = producer[n.inputs[0]];
    return p >= 0 && g_.nodes[p].op_type == "DequantizeLinear";
  }

  const Node* producer_node(const std::vector<int32_t>& producer, TensorId t, const char* op) const {
    if (t == kNoTensor) return nullptr;
    const int32_t p = producer[t];
    if (p < 0 || g_.nodes[p].op_type != op) return nullptr;
    return &g_.nodes[p];
  }

  // The single reader of t (a node index), or -1.
  int32_t single_reader(TensorId t) const {
    if (g_.is_graph_output(t)) return -1;
    int32_t reader = -1, uses = 0;
    for (size_t k = 0; k < g_.nodes.size(); ++k)
      for (TensorId in : g_.nodes[k].inputs)
        if (in == t) {
          ++uses;
          reader = static_cast<int32_t>(k);
        }
    return uses == 1 ? reader : -1;
  }

  void fuse(size_t index) {
    const std::vector<int32_t> producer = g_.producers();
    const Node n = g_.nodes[index];  // a copy: nodes are appended below
    const bool conv = n.op_type == "Conv", gemm = n.op_type == "Gemm";
    // X: DequantizeLinear, or Flatten / Reshape of one (moved onto the codes below).
    const Node* dqx = producer_node(producer, n.input(0), "DequantizeLinear");
    std::optional<Node> move;
    if (!dqx) {
      const int32_t p = producer[n.input(0)];
      if (p >= 0 && (g_.nodes[p].op_type == "Flatten" || g_.nodes[p].op_type == "Reshape")) {
        dqx = producer_node(producer, g_.nodes[p].input(0), "DequantizeLinear");
        if (dqx) move = g_.nodes[p];
      }
    }
    if (!dqx) throw Skip{"input is not DequantizeLinear"};
    TensorId xq = dqx->inputs[0];
    const ActParams xa = act_params(g_, *dqx, g_.tensor(xq).dtype);
    // W
    const Node* dqw = producer_node(producer, n.input(1), "DequantizeLinear");
    if (!dqw) throw Skip{"weights are not DequantizeLinear of a constant"};
    WeightQ w = weight_of(g_, producer, *dqw);
    int64_t channels = 0;
    if (conv) {
      if (w.dims.size() != 4) throw Skip{"only 2-D convolution (4-D tensors) is fused"};
      if (w.axis > 0) throw Skip{"weights quantized along axis " + std::to_string(w.axis) + ", not the output channels"};
      channels = w.dims[0];
    } else {
      if (w.dims.size() != 2) throw Skip{"weights are not 2-D"};
      bool trans_b = false;
      if (gemm) {
        if (n.attrs.get_int("transA", 0) != 0) throw Skip{"transA is set"};
        if (n.attrs.get_float("alpha", 1.f) != 1.f) throw Skip{"alpha is not 1"};
        if (n.has_input(2) && n.attrs.get_float("beta", 1.f) != 1.f) throw Skip{"beta is not 1"};
        trans_b = n.attrs.get_int("transB", 0) != 0;
      }
      if (!trans_b) transpose_2d(w);  // -> [N][K]
      if (w.axis > 0) throw Skip{"weights quantized along the reduction axis"};
      channels = w.dims[0];
    }
    const TensorInfo& xt = g_.tensor(n.inputs[0]);
    if (!gemm && !conv && xt.shape.has_rank && xt.shape.rank() < 1) throw Skip{"input is a scalar"};
    if (gemm && xt.shape.has_rank && xt.shape.rank() != 2) throw Skip{"Gemm input is not 2-D"};
    // Bias
    std::vector<int32_t> bias;
    const bool has_bias = (conv || gemm) && n.has_input(2);
    if (has_bias) bias = bias_codes(g_, producer, n.inputs[2], channels, xa.scale, w.scales);
    // Output chain: [Relu | Clip] -> QuantizeLinear.
    ActBounds act;
    act.lo = n.attrs.get_float("_act_min", act.lo);
    act.hi = n.attrs.get_float("_act_max", act.hi);
    TensorId y = n.outputs.at(0);
    int32_t reader = single_reader(y);
    int32_t act_node = -1;
    if (reader >= 0) {
      if (auto b = activation_bounds(g_, g_.nodes[reader])) {
        act.lo = std::max(act.lo, b->lo);
        act.hi = std::min(act.hi, b->hi);
        act_node = reader;
        reader = single_reader(g_.nodes[reader].outputs.at(0));
      }
    }
    if (reader < 0 || g_.nodes[reader].op_type != "QuantizeLinear")
      throw Skip{"output is not read by one QuantizeLinear only"};
    const Node& qy = g_.nodes[reader];
    const TensorId yq = qy.outputs.at(0);
    const ActParams ya = act_params(g_, qy, qy.has_input(2) ? DType::kUndefined : DType::kU8);
    if (qy.attrs.get_int("output_dtype", 0) != 0 && !qy.has_input(2))
      throw Skip{"QuantizeLinear output_dtype without a zero point"};
    if (ya.type != xa.type)
      throw Skip{"input codes " + std::string(dtype_name(xa.type)) + " and output codes " +
                 std::string(dtype_name(ya.type)) + " differ"};
    // Encodings on the codes must agree with any already set.
    const QuantParams xqp = act_quant(xa), yqp = act_quant(ya);
    if (!g_.tensor(xq).quant.empty() && !same_quant(g_.tensor(xq).quant, xqp))
      throw Skip{"input codes are read with two different encodings"};
    if (!g_.tensor(yq).quant.empty() && !same_quant(g_.tensor(yq).quant, yqp))
      throw Skip{"output codes already have another encoding"};

    // ---- rewrite
    const std::string base = n.name.empty() ? n.op_type : n.name;
    g_.tensor(xq).quant = xqp;
    g_.tensor(xq).dtype = xa.type;
    if (move) {  // the Flatten / Reshape on the codes (data movement runs on u8/i8 as is)
      const TensorId moved = passes::new_tensor(g_, names_, g_.tensor(xq).name + "_" + move->op_type, xa.type);
      g_.tensor(moved).quant = xqp;
      g_.tensor(moved).shape = g_.tensor(n.inputs[0]).shape;
      move->name = names_.node(move->name + "_codes");
      move->inputs[0] = xq;
      move->outputs = {moved};
      g_.nodes.push_back(std::move(*move));
      xq = moved;
    }
    g_.tensor(yq).quant = yqp;
    g_.tensor(yq).dtype = ya.type;
    // Weights: a new i8 constant [M][...] / [N][K] with its encoding.
    auto wbuf = Buffer::copy_of(w.codes.data(), w.codes.size());
    const TensorId wq = g_.add_constant(names_.tensor(g_.tensor(n.inputs[1]).name + "_i8"), DType::kI8, w.dims, wbuf);
    QuantParams wqp;
    wqp.scale = w.scales;
    wqp.zero_point.assign(w.scales.size(), 0);
    wqp.axis = w.scales.size() > 1 ? 0 : -1;
    wqp.bitwidth = 8;
    wqp.symmetric = true;
    g_.tensor(wq).quant = wqp;
    TensorId bq = kNoTensor;
    if (has_bias) {
      bq = g_.add_constant(names_.tensor(base + "_bias_i32"), DType::kI32, {channels},
                           Buffer::copy_of(bias.data(), bias.size() * sizeof(int32_t)));
      QuantParams bqp;
      for (int64_t c = 0; c < channels; ++c)
        bqp.scale.push_back(xa.scale * w.scales[w.scales.size() == 1 ? 0 : c]);
      if (w.scales.size() == 1) bqp.scale.resize(1);
      bqp.zero_point.assign(bqp.scale.size(), 0);
      bqp.axis = bqp.scale.size() > 1 ? 0 : -1;
      bqp.bitwidth = 32;
      bqp.symmetric = true;
      g_.tensor(bq).quant = bqp;
    }
    // Retire the activation and the QuantizeLinear (the fused node writes yq).
    for (int32_t k : {act_node, reader}) {
      if (k < 0) continue;
      g_.nodes[k].op_type.clear();
      g_.nodes[k].inputs.clear();
      g_.nodes[k].outputs.clear();
    }
    Node f;
    f.name = n.name;
    if (conv) {
      f.op_type = "octet.QConv";
      f.attrs = n.attrs;
      f.attrs.set("_layout", std::string("NHWC"));
      const TensorId xin = nhwc_codes(xq);
      const TensorId yt = passes::new_tensor(g_, names_, g_.tensor(yq).name + "_nhwc", ya.type);
      g_.tensor(yt).quant = yqp;
      g_.tensor(yt).shape = permuted(g_.tensor(yq).shape, {0, 2, 3, 1});
      f.inputs = {xin, wq};
      if (bq != kNoTensor) f.inputs.push_back(bq);
      f.outputs = {yt};
      add_transpose(yt, yq, {0, 3, 1, 2});
      nhwc_[yq] = yt;
    } else {
      f.op_type = gemm ? "octet.QGemm" : "octet.QMatMul";
      for (const char* a : {"_act_min", "_act_max"})
        if (n.attrs.has(a)) f.attrs.set(a, n.attrs.get_float(a, 0.f));
      f.inputs = {xq, wq};
      if (bq != kNoTensor) f.inputs.push_back(bq);
      f.outputs = {yq};
    }
    f.attrs.set("requant", o_.requant);
    if (act.lo != -std::numeric_limits<float>::infinity()) f.attrs.set("_act_min", act.lo);
    if (act.hi != std::numeric_limits<float>::infinity()) f.attrs.set("_act_max", act.hi);
    g_.nodes[index] = std::move(f);
  }

  // The NHWC copy of NCHW codes: the one a previous QConv wrote, or a new Transpose.
  TensorId nhwc_codes(TensorId x) {
    if (auto it = nhwc_.find(x); it != nhwc_.end()) return it->second;
    const TensorInfo& src = g_.tensor(x);
    const TensorId t = passes::new_tensor(g_, names_, src.name + "_nhwc", src.dtype);
    g_.tensor(t).quant = g_.tensor(x).quant;
    g_.tensor(t).shape = permuted(g_.tensor(x).shape, {0, 2, 3, 1});
    add_transpose(x, t, {0, 2, 3, 1});
    nhwc_[x] = t;
    return t;
  }

  void add_transpose(TensorId in, TensorId out, const std::vector<int64_t>& perm) {
    Node t;
    t.name = names_.node(g_.tensor(out).name + "_transpose");
    t.op_type = "Transpose";
    t.inputs = {in};
    t.outputs = {out};
    t.attrs.set("perm", perm);
    g_.nodes.push_back(std::move(t));
  }

  Graph& g_;
  const QdqFusionOptions& o_;
  Namer names_;
  std::map<TensorId, TensorId> nhwc_;  // NCHW codes -> their NHWC copy
};

}  // namespace

PassReport fuse_qdq_to_integer(Graph& graph, const QdqFusionOptions& options) {
  return Fuser(graph, options).run();
}

}  // namespace octet
