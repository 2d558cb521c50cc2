// Folds inference BatchNormalization into the Conv / ConvTranspose / Gemm before it:
//   s = gamma / sqrt(var + eps), W' = W * s (per output channel), b' = (b - mean) * s + beta.
#include <cmath>

#include "base/error.h"
#include "engine/passes/pass_util.h"
#include "engine/passes/passes.h"

namespace octet {
namespace {

using passes::constant_f32;

// Why `bn` cannot be folded into `p`, or empty when it can.
std::string fold_blocker(const Graph& g, const Node& bn, const Node& p, int64_t channels) {
  if (p.op_type != "Conv" && p.op_type != "ConvTranspose" && p.op_type != "Gemm")
    return "its input comes from " + p.op_type + " '" + p.name + "'";
  if (p.attrs.has("_act_min") || p.attrs.has("_act_max"))
    return "its producer '" + p.name + "' has a fused activation";
  if (p.attrs.get_string("_layout", "") != bn.attrs.get_string("_layout", ""))
    return "its producer '" + p.name + "' has another layout";
  if (p.outputs.size() != 1) return "its producer '" + p.name + "' has several outputs";
  if (!p.has_input(1) || !constant_f32(g, p.inputs[1]))
    return "the weights of '" + p.name + "' are not an f32 constant";
  if (p.has_input(2) && !constant_f32(g, p.inputs[2]))
    return "the bias of '" + p.name + "' is not an f32 constant";
  if (p.op_type != "Gemm" && p.has_input(2) &&
      constant_f32(g, p.inputs[2])->size() != static_cast<size_t>(channels))
    return "the bias of '" + p.name + "' does not match";
  const Dims w = g.tensor(p.inputs[1]).shape.concrete();
  if (p.op_type == "Conv") {
    if (w.size() < 3 || w[0] != channels) return "weights of '" + p.name + "' do not match";
  } else if (p.op_type == "ConvTranspose") {
    int64_t groups = p.attrs.get_int("group", 1);
    if (w.size() < 3 || groups <= 0 || w[0] % groups != 0 || w[1] * groups != channels)
      return "weights of '" + p.name + "' do not match";
  } else {  // Gemm: Y[M,N] = alpha * A' B' + beta * C
    if (w.size() != 2) return "weights of '" + p.name + "' are not 2-D";
    int64_t n = p.attrs.get_int("transB", 0) ? w[0] : w[1];
    if (n != channels) return "weights of '" + p.name + "' do not match";
    if (p.has_input(2)) {
      const Dims c = g.tensor(p.inputs[2]).shape.concrete();
      int64_t numel = checked_numel(c);
      bool per_n = numel == channels && !c.empty() && c.back() == channels;
      if (!(numel == 1 || per_n)) return "the C input of '" + p.name + "' is not per column";
    }
  }
  return {};
}

}  // namespace

PassReport fold_batch_norms(Graph& graph) {
  PassReport report{"fold-batch-norms", 0, {}};
  std::vector<int32_t> producer = graph.producers();
  std::vector<int32_t> uses = graph.use_counts();
  std::vector<char> remove(graph.nodes.size(), 0);
  passes::Namer names(graph);
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& bn = graph.nodes[k];
    if (bn.op_type != "BatchNormalization") continue;
    auto skip = [&](const std::string& why) {
      report.notes.push_back("BatchNormalization '" + bn.name + "' not folded: " + why);
    };
    if (bn.inputs.size() < 5 || bn.inputs[0] == kNoTensor) {
      skip("it lacks inputs");
      continue;
    }
    bool extra_outputs = false;
    for (size_t o = 1; o < bn.outputs.size(); ++o)
      if (bn.outputs[o] != kNoTensor && uses[bn.outputs[o]] > 0) extra_outputs = true;
    if (extra_outputs || bn.attrs.get_int("training_mode", 0) != 0) {
      skip("it is in training mode");
      continue;
    }
    if (bn.attrs.get_int("spatial", 1) != 1) {
      skip("spatial=0 is not supported by folding");
      continue;
    }
    auto gamma = constant_f32(graph, bn.inputs[1]);
    auto beta = constant_f32(graph, bn.inputs[2]);
    auto mean = constant_f32(graph, bn.inputs[3]);
    auto var = constant_f32(graph, bn.inputs[4]);
    if (!gamma || !beta || !mean || !var) {
      skip("scale, B, mean and var must be f32 constants");
      continue;
    }
    const size_t channels = gamma->size();
    if (beta->size() != channels || mean->size() != channels || var->size() != channels) {
      skip("its parameters differ in size");
      continue;
    }
    const TensorId x = bn.inputs[0];
    const TensorInfo& xt = graph.tensor(x);
    if (!xt.shape.is_concrete() || xt.shape.rank() < 2) {
      skip("its input shape is unknown");
      continue;
    }
    const bool nhwc = bn.attrs.get_string("_layout", "") == "NHWC";
    const Dims xd = xt.shape.concrete();
    const int64_t cdim = nhwc ? xd.back() : xd[1];
    if (cdim != static_cast<int64_t>(channels)) {
      skip("its parameters do not match the channel count");
      continue;
    }
    if (producer[x] < 0 || remove[producer[x]]) {
      skip("its input is not produced by a node");
      continue;
    }
    if (uses[x] != 1 || graph.is_graph_output(x)) {
      skip("its input has other uses");
      continue;
    }
    Node& p = graph.nodes[producer[x]];
    if (std::string why = fold_blocker(graph, bn, p, static_cast<int64_t>(channels)); !why.empty()) {
      skip(why);
      continue;
    }
    const float eps = bn.attrs.get_float("epsilon", 1e-5f);
    std::vector<float> s(channels), shift(channels);
    for (size_t c = 0; c < channels; ++c) {
      s[c] = (*gamma)[c] / std::sqrt((*var)[c] + eps);
      shift[c] = (*beta)[c] - (*mean)[c] * s[c];
      // Said against the statistics in the model, not the folded weights they would poison.
      OCTET_CHECK(std::isfinite(s[c]) && std::isfinite(shift[c]), "BatchNormalization '", bn.name,
                  "', channel ", c, ": gamma ", (*gamma)[c], ", beta ", (*beta)[c], ", mean ", (*mean)[c],
                  ", var ", (*var)[c], ", epsilon ", eps, " give no finite scale gamma / sqrt(var + epsilon)",
                  " and shift: the model's statistics are invalid");
    }
    std::vector<float> w = *constant_f32(graph, p.inputs[1]);
    const Dims wd = graph.tensor(p.inputs[1]).shape.concrete();
    const std::string wname = graph.tensor(p.inputs[1]).name;
    std::vector<float> bias(channels, 0.f);  // conv-style bias before BN
    if (p.op_type == "Conv") {
      const size_t per = w.size() / channels;
      for (size_t c = 0; c < channels; ++c)
        for (size_t i = 0; i < per; ++i) w[c * per + i] *= s[c];
      if (p.has_input(2)) bias = *constant_f32(graph, p.inputs[2]);
    } else if (p.op_type == "ConvTranspose") {
      const int64_t groups = p.attrs.get_int("group", 1);
      const int64_t cin = wd[0], mg = wd[1], in_per_group = cin / groups;
      size_t per = 1;
      for (size_t d = 2; d < wd.size(); ++d) per *= static_cast<size_t>(wd[d]);
      for (int64_t ci = 0; ci < cin; ++ci)
        for (int64_t j = 0; j < mg; ++j) {
          const float f = s[static_cast<size_t>((ci / in_per_group) * mg + j)];
          float* row = w.data() + (ci * mg + j) * per;
          for (size_t i = 0; i < per; ++i) row[i] *= f;
        }
      if (p.has_input(2)) bias = *constant_f32(graph, p.inputs[2]);
    } else {  // Gemm
      const bool trans_b = p.attrs.get_int("transB", 0) != 0;
      const int64_t rows = wd[0], cols = wd[1];
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) w[r * cols + c] *= s[static_cast<size_t>(trans_b ? r : c)];
      if (p.has_input(2)) {
        auto cvals = *constant_f32(graph, p.inputs[2]);
        const float beta_attr = p.attrs.get_float("beta", 1.f);
        for (size_t c = 0; c < channels; ++c) bias[c] = beta_attr * cvals[cvals.size() == 1 ? 0 : c];
      }
      p.attrs.set("beta", 1.f);
    }
    std::vector<float> new_bias(channels);
    for (size_t c = 0; c < channels; ++c) new_bias[c] = bias[c] * s[c] + shift[c];
    const TensorId new_w = passes::add_f32_constant(graph, names, wname + "_bnfold", wd, w);
    const TensorId new_b = passes::add_f32_constant(graph, names, bn.name + "_bias_bnfold",
                                                    {static_cast<int64_t>(channels)}, new_bias);
    // add_f32_constant may reallocate `graph.tensors`, not `graph.nodes`: p stays valid.
    if (p.inputs.size() < 3) p.inputs.resize(3, kNoTensor);
    p.inputs[1] = new_w;
    p.inputs[2] = new_b;
    p.outputs[0] = bn.outputs[0];
    remove[k] = 1;
    report.changed++;
  }
  passes::erase_nodes(graph, remove);
  return report;
}

}  // namespace octet
