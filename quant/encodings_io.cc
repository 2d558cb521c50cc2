#include "quant/encodings_io.h"

#include <cstdio>
#include <map>
#include <set>

#include "base/error.h"
#include "engine/op.h"

namespace octet::quant {

EncodingsFile make_encodings_file(const QuantSim& sim, const std::string& quant_scheme) {
  EncodingsFile f;
  std::optional<int> act_bw, param_bw;
  std::optional<bool> per_channel, symmetric;
  std::vector<std::string> missing;
  for (const Quantizer& q : sim.quantizers()) {
    if (!q.enabled) continue;
    if (!q.encoding) {
      missing.push_back(q.tensor);
      continue;
    }
    if (q.role == QuantizerRole::kParam) {
      f.param_encodings[q.tensor] = *q.encoding;
      param_bw = q.bitwidth;
      if (q.param == "weight") {
        per_channel = q.axis >= 0;
        symmetric = q.kind != EncodingKind::kAsymmetric;
      }
      if (q.encoding->block_size > 0) {
        const TensorInfo& t = sim.model().tensor(sim.model().require_tensor(q.tensor));
        if (t.shape.is_concrete()) f.shapes[q.tensor] = t.shape.concrete();
      }
    } else {
      f.activation_encodings[q.tensor] = *q.encoding;
      act_bw = q.bitwidth;
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += " '" + m + "'";
    fail("export: ", missing.size(), " enabled quantizer(s) have no encoding (calibrate first):",
         list);
  }
  f.quantizer_args.activation_bitwidth = act_bw;
  f.quantizer_args.param_bitwidth = param_bw;
  f.quantizer_args.dtype = "int";
  f.quantizer_args.is_symmetric = symmetric;
  f.quantizer_args.per_channel_quantization = per_channel;
  f.quantizer_args.quant_scheme = quant_scheme;
  return f;
}

namespace {

// The first consumer of `id` and the input index it reads it at.
std::optional<std::pair<const Node*, size_t>> first_consumer(const Graph& g, TensorId id) {
  for (const Node& n : g.nodes)
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (n.inputs[i] == id) return std::make_pair(&n, i);
  return std::nullopt;
}

int channel_axis_for(const Graph& g, TensorId id) {
  const auto c = first_consumer(g, id);
  if (!c) return 0;
  const auto [n, i] = *c;
  const ParamSlots& p = param_slots(n->op_type);
  if (p.weight != static_cast<int>(i) || !p.channel_axis) return 0;
  return p.channel_axis(*n, static_cast<int>(g.tensor(id).shape.rank()));
}

// The input-channel (block) axis of a weight (the op table's), or -1.
int block_axis_for(const Graph& g, TensorId id) {
  const auto c = first_consumer(g, id);
  const int rank = static_cast<int>(g.tensor(id).shape.rank());
  if (!c || rank < 2) return -1;
  const ParamSlots& p = param_slots(c->first->op_type);
  if (p.weight != static_cast<int>(c->second) || !p.input_channel_axis) return -1;
  return p.input_channel_axis(*c->first, rank);
}

bool is_bias_input(const Graph& g, TensorId id) {
  const auto c = first_consumer(g, id);
  if (!c) return false;
  const ParamSlots& p = param_slots(c->first->op_type);
  return p.bias >= 0 && static_cast<int>(c->second) == p.bias;
}

// AIMET's per-block grid (the weight's shape with the block axis divided by the block size, the
// channel axis kept, every other dim 1; flattened) -> encoding.h's blocked layout around the
// block axis (the grid replicated over the other dims). A grid already in the full blocked
// layout (2.x may write one) is kept.
TensorEncoding to_blocked_layout(const TensorEncoding& te, const Dims& dims, int channel_axis,
                                 int block_axis, const std::string& what) {
  const int64_t B = te.block_size, K = dims[size_t(block_axis)];
  const AxisLayout l = axis_layout(dims, block_axis);
  const size_t full = expected_encoding_count(l, block_axis, te.block_size);
  TensorEncoding out = te;
  out.axis = block_axis;
  if (te.encodings.size() == full) return out;
  const int64_t C = dims[size_t(channel_axis)];
  OCTET_CHECK(K % B == 0, what, ": block size ", B, " does not divide the ", K,
              " input channels of the weight");
  const int64_t blocks = K / B;
  OCTET_CHECK(int64_t(te.encodings.size()) == C * blocks, what, ": ", te.encodings.size(),
              " per-block encodings; the weight ", dims_to_string(dims), " with blocks of ", B,
              " needs ", C * blocks, " (", C, " channels x ", blocks, " blocks) or ", full);
  // Stride of the channel index inside the outer (channel before block) or inner index.
  int64_t stride = 1;
  if (channel_axis < block_axis)
    for (int d = channel_axis + 1; d < block_axis; ++d) stride *= dims[size_t(d)];
  else
    for (size_t d = size_t(channel_axis) + 1; d < dims.size(); ++d) stride *= dims[d];
  out.encodings.clear();
  out.encodings.reserve(full);
  for (size_t o = 0; o < l.outer; ++o)
    for (int64_t b = 0; b < blocks; ++b)
      for (size_t i = 0; i < l.inner; ++i) {
        const int64_t ch = channel_axis < block_axis ? (int64_t(o) / stride) % C
                                                     : (int64_t(i) / stride) % C;
        const size_t k = size_t(channel_axis < block_axis ? ch * blocks + b : b * C + ch);
        out.encodings.push_back(te.encodings[k]);
      }
  return out;
}

bool looks_like_module_path(const std::string& name) {
  if (name.find('/') != std::string::npos || name.find(':') != std::string::npos) return false;
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  return true;
}

std::string name_list(const std::vector<std::string>& names) {
  std::string list;
  for (size_t i = 0; i < names.size() && i < 20; ++i) list += "\n  '" + names[i] + "'";
  if (names.size() > 20) list += "\n  ... (" + std::to_string(names.size() - 20) + " more)";
  return list;
}

}  // namespace

ImportReport import_encodings(QuantSim& sim, const EncodingsFile& file, const std::string& source,
                              const ImportOptions& options) {
  const Graph& g = sim.model();
  ImportReport report;
  report.warnings = file.warnings;

  // Every name the file gives, matched against the model.
  std::vector<std::string> all;
  for (const auto* m : {&file.activation_encodings, &file.param_encodings})
    for (const auto& kv : *m) all.push_back(kv.first);
  for (const auto* m : {&file.float_activation_encodings, &file.float_param_encodings})
    for (const auto& kv : *m) all.push_back(kv.first);
  for (const auto& kv : file.lpbq_param_encodings) all.push_back(kv.first);
  for (const std::string& n : all)
    if (!g.find_tensor(n)) report.unmatched.push_back(n);
  if (all.empty()) fail(source, ": the file holds no encodings");
  if (report.unmatched.size() == all.size()) {
    // Parameter names are dotted module paths in both of AIMET's files ("conv1.weight"); the
    // activation names tell them apart ("conv1" vs "/conv1/Conv_output_0" or "21").
    size_t modules = 0, acts = 0;
    for (const auto* m : {&file.activation_encodings})
      for (const auto& kv : *m) ++acts, modules += looks_like_module_path(kv.first);
    for (const auto& kv : file.float_activation_encodings)
      ++acts, modules += looks_like_module_path(kv.first);
    std::string hint;
    if (acts > 0 && 2 * modules >= acts) {
      std::string other = "<prefix>.encodings";
      const std::string suffix = "_torch.encodings";
      if (source.size() > suffix.size() &&
          source.compare(source.size() - suffix.size(), suffix.size(), suffix) == 0)
        other = source.substr(0, source.size() - suffix.size()) + ".encodings";
      hint = "\nThe names look like PyTorch module paths: this is AIMET's <prefix>_torch.encodings "
             "file. Use " + other + ", written beside it, which is keyed by the ONNX tensor names.";
    }
    fail(source, ": none of the ", all.size(), " tensor names in the encodings is in the model:",
         name_list(report.unmatched), hint);
  }
  if (!report.unmatched.empty() && !options.allow_partial)
    fail(source, ": ", report.unmatched.size(), " of the ", all.size(),
         " tensor names in the encodings are not in the model:", name_list(report.unmatched),
         "\n(--allow-partial-encodings applies the ", all.size() - report.unmatched.size(),
         " that match and leaves the others out)");
  if (!report.unmatched.empty())
    report.notes.push_back(std::to_string(report.unmatched.size()) +
                           " name(s) in the file are not in the model and were left out");

  std::set<std::string> named;
  std::vector<std::string> wide_biases, floats;
  auto apply = [&](const std::string& name, TensorEncoding te, bool param) {
    const auto found = g.find_tensor(name);
    if (!found) return;
    const TensorId id = *found;
    const TensorInfo& t = g.tensor(id);
    param = param || t.is_constant();  // 2.x files do not say; the model does
    const std::string what = source + ": '" + name + "'";
    if (te.encodings.front().bitwidth > kMaxBitwidth && param && is_bias_input(g, id)) {
      wide_biases.push_back(name);
      named.insert(name);
      return;
    }
    if (te.block_size > 0) {
      OCTET_CHECK(param && t.shape.is_concrete(), what,
                  ": per-block encodings are for constant weights of known shape");
      const int block_axis = block_axis_for(g, id);
      OCTET_CHECK(block_axis >= 0, what, ": per-block encodings need a Conv, ConvTranspose, Gemm "
                  "or 2-D MatMul weight (this tensor is not one)");
      OCTET_CHECK(te.axis == kAxisFromModel || te.axis == block_axis, what, ": the file's block "
                  "axis ", te.axis, " is not the weight's input-channel axis ", block_axis);
      te = to_blocked_layout(te, t.shape.concrete(), channel_axis_for(g, id), block_axis, what);
    } else if (te.axis == kAxisFromModel) {
      te.axis = channel_axis_for(g, id);
    }
    if (t.shape.is_concrete()) {
      try {
        validate_tensor_encoding(te, t.shape.concrete(), "'" + name + "'");
      } catch (const Error& e) {
        fail(source, ": ", e.what());
      }
    } else {
      for (const Encoding& e : te.encodings) validate_encoding(e, what);
    }
    named.insert(name);
    report.applied.push_back(name);
    Quantizer* q = sim.find(name);
    if (!q) {
      sim.quantizers().push_back(Quantizer{
          .tensor = name,
          .role = param ? QuantizerRole::kParam
                        : (g.is_graph_input(id) ? QuantizerRole::kModelInput
                                                : QuantizerRole::kActivation)});
      q = &sim.quantizers().back();
    }
    const Encoding& first = te.encodings.front();
    q->enabled = true;
    q->frozen = true;
    q->bitwidth = first.bitwidth;
    q->kind = !first.symmetric ? EncodingKind::kAsymmetric
              : first.strict_symmetric ? EncodingKind::kStrictSymmetric
                                       : EncodingKind::kSymmetric;
    q->axis = te.axis;
    q->block_size = te.block_size;
    q->encoding = std::move(te);
  };
  for (const auto& [name, te] : file.activation_encodings) apply(name, te, false);
  for (const auto& [name, te] : file.param_encodings) apply(name, te, true);
  for (const auto& [name, l] : file.lpbq_param_encodings) {
    const auto id = g.find_tensor(name);
    if (!id) continue;
    const int ba = block_axis_for(g, *id);
    OCTET_CHECK(ba >= 0, source, ": '", name, "': LPBQ encodings need a Conv, ConvTranspose, "
                "Gemm or 2-D MatMul weight (this tensor is not one)");
    try {
      apply(name, lpbq_block_encoding(l, channel_axis_for(g, *id) < ba), true);
    } catch (const Error& e) {
      const std::string m = e.what();
      if (m.rfind(source, 0) == 0) throw;
      fail(source, ": '", name, "': ", m);
    }
  }
  for (const auto* m : {&file.float_activation_encodings, &file.float_param_encodings})
    for (const auto& [name, bw] : *m)
      if (g.find_tensor(name)) {
        floats.push_back(name + " (float" + std::to_string(bw) + ")");
        named.insert(name);
      }
  if (!floats.empty())
    report.notes.push_back(std::to_string(floats.size()) +
                           " tensor(s) have float encodings and run unquantized in float32: " +
                           name_list(floats).substr(1));
  if (!wide_biases.empty())
    report.notes.push_back(
        std::to_string(wide_biases.size()) +
        " bias encoding(s) wider than 16 bits (int32 biases) are left to the integer lowering, "
        "which derives the bias scale from the input and weight scales:" + name_list(wide_biases));
  if (options.disable_others)
    for (Quantizer& q : sim.quantizers())
      if (!named.count(q.tensor)) q.enabled = false;
  return report;
}

const char* encoding_origin_name(EncodingOrigin o) {
  switch (o) {
    case EncodingOrigin::kFile: return "file";
    case EncodingOrigin::kModel: return "model";
    case EncodingOrigin::kCalibrated: return "computed";
    case EncodingOrigin::kConfig: return "config default";
  }
  return "?";
}

std::vector<TensorEncodingInfo> encodings_in_effect(const QuantSim& sim,
                                                    const std::set<std::string>& from_file) {
  std::vector<TensorEncodingInfo> out;
  for (const Quantizer& q : sim.quantizers()) {
    if (!q.enabled) continue;
    TensorEncodingInfo i;
    i.tensor = q.tensor;
    i.role = q.role == QuantizerRole::kParam        ? "param"
             : q.role == QuantizerRole::kModelInput ? "input"
                                                    : "activation";
    i.op_type = q.op_type;
    i.encoding = q.encoding;
    i.origin = from_file.count(q.tensor) ? EncodingOrigin::kFile
               : q.encoding               ? EncodingOrigin::kCalibrated
                                          : EncodingOrigin::kConfig;
    out.push_back(std::move(i));
  }
  return out;
}

std::string describe_encoding(const TensorEncoding& te) {
  if (te.encodings.empty()) return "(no encodings)";
  const Encoding& e = te.encodings.front();
  std::string s = "int" + std::to_string(e.bitwidth) + " " +
                  (e.strict_symmetric ? "strict-symmetric" : e.symmetric ? "symmetric" : "asymmetric");
  char buf[160];
  if (te.encodings.size() == 1 && te.axis < 0) {
    std::snprintf(buf, sizeof buf, " per-tensor scale %.6g offset %d", e.scale, e.offset);
    return s + buf;
  }
  double lo = e.scale, hi = e.scale;
  for (const Encoding& x : te.encodings) {
    lo = std::min(lo, x.scale);
    hi = std::max(hi, x.scale);
  }
  if (te.block_size > 0)
    std::snprintf(buf, sizeof buf, " per-block (axis %d, block %d, %zu encodings) scales %.4g..%.4g",
                  te.axis, te.block_size, te.encodings.size(), lo, hi);
  else
    std::snprintf(buf, sizeof buf, " per-channel (axis %d, %zu channels) scales %.4g..%.4g",
                  te.axis, te.encodings.size(), lo, hi);
  return s + buf;
}

}  // namespace octet::quant
