#include "quant/encodings_io.h"

#include <set>

#include "engine/error.h"
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

int channel_axis_for(const Graph& g, TensorId id) {
  for (const Node& n : g.nodes)
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] != id) continue;
      const ParamSlots& p = param_slots(n.op_type);
      if (p.weight != static_cast<int>(i) || !p.channel_axis) return 0;
      return p.channel_axis(n, static_cast<int>(g.tensor(id).shape.rank()));
    }
  return 0;
}

}  // namespace

void import_encodings(QuantSim& sim, const EncodingsFile& file, const std::string& source,
                      bool disable_others) {
  const Graph& g = sim.model();
  std::vector<std::string> absent;
  for (const auto* section : {&file.activation_encodings, &file.param_encodings})
    for (const auto& [name, te] : *section)
      if (!g.find_tensor(name)) absent.push_back(name);
  if (!absent.empty()) {
    std::string list;
    for (size_t i = 0; i < absent.size() && i < 20; ++i) list += "\n  '" + absent[i] + "'";
    if (absent.size() > 20) list += "\n  ...";
    fail(source, ": ", absent.size(), " tensor(s) named in the encodings are not in the model:",
         list);
  }
  std::set<std::string> named;
  auto apply = [&](const std::string& name, TensorEncoding te, bool param) {
    named.insert(name);
    const TensorId id = *g.find_tensor(name);
    const TensorInfo& t = g.tensor(id);
    if (te.axis == kAxisFromModel) te.axis = channel_axis_for(g, id);
    OCTET_CHECK(te.block_size == 0, source, ": '", name,
                "': per-block encodings cannot be simulated yet");
    if (t.shape.is_concrete()) {
      try {
        validate_tensor_encoding(te, t.shape.concrete(), "'" + name + "'");
      } catch (const Error& e) {
        fail(source, ": ", e.what());
      }
    } else {
      for (const Encoding& e : te.encodings) validate_encoding(e, source + ": '" + name + "'");
    }
    Quantizer* q = sim.find(name);
    if (!q) {
      sim.quantizers().push_back(Quantizer{
          .tensor = name,
          .role = param ? QuantizerRole::kParam : (g.is_graph_input(id) ? QuantizerRole::kModelInput
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
    q->encoding = std::move(te);
  };
  for (const auto& [name, te] : file.activation_encodings) apply(name, te, false);
  for (const auto& [name, te] : file.param_encodings) apply(name, te, true);
  if (disable_others)
    for (Quantizer& q : sim.quantizers())
      if (!named.count(q.tensor)) q.enabled = false;
}

}  // namespace octet::quant
