// Cross-layer scaling and high-bias absorption over chains of Conv/Gemm layers.
#include "quant/ptq/cle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "engine/op.h"
#include "engine/passes/pass_util.h"

namespace octet::quant {
namespace {

using passes::constant_f32;

// A layer's weights and bias, loaded from the graph, edited in memory, written back once.
struct Layer {
  int32_t node = -1;
  bool gemm = false;
  bool trans_b = false;
  int64_t groups = 1;
  Dims wd;
  std::vector<float> w;
  std::vector<float> b;  // effective bias per output channel (Gemm: beta * C)
  bool has_bias = false;
  int64_t cout = 0, cin = 0;
  size_t per = 1;  // Conv: kernel elements per (out, in) pair
  bool dirty = false;

  bool depthwise() const { return !gemm && groups > 1 && groups == cin && groups == cout && wd[1] == 1; }

  template <typename F>  // f(float& weight) over output channel o
  void for_out(int64_t o, F f) {
    if (!gemm) {
      const size_t n = static_cast<size_t>(wd[1]) * per;
      for (size_t k = 0; k < n; ++k) f(w[static_cast<size_t>(o) * n + k]);
    } else if (trans_b) {
      for (int64_t k = 0; k < cin; ++k) f(w[static_cast<size_t>(o * cin + k)]);
    } else {
      for (int64_t k = 0; k < cin; ++k) f(w[static_cast<size_t>(k * cout + o)]);
    }
  }
  template <typename F>  // f(out channel, float& weight) over input channel i
  void for_in(int64_t i, F f) {
    if (!gemm) {
      const int64_t cg = wd[1], g = i / cg, j = i % cg, og = cout / groups;
      for (int64_t o = g * og; o < (g + 1) * og; ++o)
        for (size_t p = 0; p < per; ++p) f(o, w[static_cast<size_t>(o * cg + j) * per + p]);
    } else if (trans_b) {
      for (int64_t o = 0; o < cout; ++o) f(o, w[static_cast<size_t>(o * cin + i)]);
    } else {
      for (int64_t o = 0; o < cout; ++o) f(o, w[static_cast<size_t>(i * cout + o)]);
    }
  }
  float out_range(int64_t o) {
    float r = 0.f;
    for_out(o, [&](float& v) { r = std::max(r, std::fabs(v)); });
    return r;
  }
  float in_range(int64_t i) {
    float r = 0.f;
    for_in(i, [&](int64_t, float& v) { r = std::max(r, std::fabs(v)); });
    return r;
  }
  void scale_out(int64_t o, float f) {
    for_out(o, [&](float& v) { v *= f; });
    b[static_cast<size_t>(o)] *= f;
    dirty = true;
  }
  void scale_in(int64_t i, float f) {
    for_in(i, [&](int64_t, float& v) { v *= f; });
    dirty = true;
  }
  double range_ratio() {
    float lo = std::numeric_limits<float>::infinity(), hi = 0.f;
    for (int64_t o = 0; o < cout; ++o) {
      float r = out_range(o);
      if (r > 0.f) lo = std::min(lo, r), hi = std::max(hi, r);
    }
    return hi > 0.f ? static_cast<double>(hi) / lo : 1.0;
  }
};

// What the layer's fused activation (if any) means for scaling its outputs.
enum class Fused { kNone, kRelu, kBlocked };
Fused fused_activation(const Node& n) {
  const bool has_min = n.attrs.has("_act_min"), has_max = n.attrs.has("_act_max");
  if (!has_min && !has_max) return Fused::kNone;
  const float lo = n.attrs.get_float("_act_min", -std::numeric_limits<float>::infinity());
  const float hi = n.attrs.get_float("_act_max", std::numeric_limits<float>::infinity());
  if (std::isinf(hi) && hi > 0 && std::isinf(lo) && lo < 0) return Fused::kNone;
  if (std::isinf(hi) && hi > 0 && lo == 0.f) return Fused::kRelu;
  return Fused::kBlocked;
}

std::optional<Layer> load_layer(const Graph& g, int32_t index, const ClsOptions& opt) {
  const Node& n = g.nodes[static_cast<size_t>(index)];
  // A layer: weight (input 1) with output and input channels, bias (input 2), as the op table
  // says; a matrix weight is a Gemm's (channel axes from transB), a higher rank a Conv's.
  const ParamSlots& slots = param_slots(n.op_type);
  if (slots.weight != 1 || slots.bias != 2 || !slots.channel_axis || !slots.reduction_axis)
    return std::nullopt;
  if (n.outputs.size() != 1 || n.inputs.empty() || !n.has_input(1)) return std::nullopt;
  auto w = constant_f32(g, n.inputs[1]);
  if (!w) return std::nullopt;
  const Dims wd = g.tensor(n.inputs[1]).shape.concrete();
  const int rank = static_cast<int>(wd.size());
  if (rank < 2 || slots.reduction_axis(n, rank) < 0) return std::nullopt;
  const bool gemm = rank == 2;
  const bool conv = !gemm;
  if (gemm && !opt.include_gemm) return std::nullopt;
  Layer L;
  L.node = index;
  L.gemm = gemm;
  L.wd = wd;
  L.w = std::move(*w);
  if (conv) {
    L.groups = n.attrs.get_int("group", 1);
    if (L.wd.size() < 3 || L.groups <= 0 || L.wd[0] % L.groups != 0 || L.wd[1] <= 0) return std::nullopt;
    L.cout = L.wd[0];
    L.cin = L.wd[1] * L.groups;
    for (size_t d = 2; d < L.wd.size(); ++d) L.per *= static_cast<size_t>(L.wd[d]);
    L.b.assign(static_cast<size_t>(L.cout), 0.f);
    if (n.has_input(2)) {
      auto b = constant_f32(g, n.inputs[2]);
      if (!b || b->size() != static_cast<size_t>(L.cout)) return std::nullopt;
      L.b = *b;
      L.has_bias = true;
    }
  } else {
    if (L.wd.size() != 2 || n.attrs.get_int("transA", 0) != 0) return std::nullopt;
    L.trans_b = n.attrs.get_int("transB", 0) != 0;
    L.cout = L.trans_b ? L.wd[0] : L.wd[1];
    L.cin = L.trans_b ? L.wd[1] : L.wd[0];
    L.b.assign(static_cast<size_t>(L.cout), 0.f);
    if (n.has_input(2)) {
      auto c = constant_f32(g, n.inputs[2]);
      if (!c) return std::nullopt;
      const Dims cd = g.tensor(n.inputs[2]).shape.concrete();
      const bool per_n = c->size() == static_cast<size_t>(L.cout) && !cd.empty() && cd.back() == L.cout;
      if (!per_n && !(c->size() == 1 && L.cout == 1)) return std::nullopt;
      const float beta = n.attrs.get_float("beta", 1.f);
      for (size_t o = 0; o < L.b.size(); ++o) L.b[o] = beta * (*c)[o];
      L.has_bias = true;
    }
  }
  if (static_cast<int64_t>(L.w.size()) != checked_numel(L.wd)) return std::nullopt;
  return L;
}

void store_layer(Graph& g, passes::Namer& names, const Layer& L) {
  Node& n = g.nodes[static_cast<size_t>(L.node)];
  const std::string wname = g.tensor(n.inputs[1]).name;
  const std::string bname = L.has_bias ? g.tensor(n.inputs[2]).name : n.name + "_bias";
  const TensorId w = passes::add_f32_constant(g, names, wname + "_cle", L.wd, L.w);
  const TensorId b = passes::add_f32_constant(g, names, bname + "_cle", {L.cout}, L.b);
  Node& m = g.nodes[static_cast<size_t>(L.node)];
  if (m.inputs.size() < 3) m.inputs.resize(3, kNoTensor);
  m.inputs[1] = w;
  m.inputs[2] = b;
  if (L.gemm) m.attrs.set("beta", 1.f);
}

struct Chain {
  std::vector<int32_t> nodes;
  std::vector<std::string> acts;  // acts[k]: between nodes[k] and nodes[k+1]
};

struct SetRef {
  std::vector<int32_t> nodes;
  std::vector<std::string> acts;
};

// Finds the CLS sets (AIMET's grouping): maximal chains of layers joined by Relu / PRelu /
// fused ReLU / nothing, with single readers, split into pairs and Conv->DW->Conv triples.
std::vector<SetRef> find_sets(const Graph& g, std::map<int32_t, Layer>& layers,
                              const ClsOptions& opt) {
  const auto readers = passes::consumers_of(g);
  auto layer = [&](int32_t i) -> Layer* {
    auto it = layers.find(i);
    if (it != layers.end()) return &it->second;
    auto L = load_layer(g, i, opt);
    if (!L) return nullptr;
    return &layers.emplace(i, std::move(*L)).first->second;
  };
  // The single reader (slot 0) of tensor t, or -1.
  auto single_reader = [&](TensorId t) -> int32_t {
    if (t == kNoTensor || g.is_graph_output(t)) return -1;
    const auto& r = readers[static_cast<size_t>(t)];
    if (r.size() != 1 || r[0].slot != 0) return -1;
    return r[0].node;
  };
  const size_t n = g.nodes.size();
  std::vector<int32_t> next(n, -1);
  std::vector<std::string> act(n);
  std::vector<char> has_prev(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const Node& a = g.nodes[i];
    Layer* la = layer(static_cast<int32_t>(i));
    if (!la) continue;
    const Fused fused = fused_activation(a);
    if (fused == Fused::kBlocked) continue;
    int32_t c = single_reader(a.outputs[0]);
    if (c < 0) continue;
    std::string via = fused == Fused::kRelu ? "Relu" : "";
    const Node& cn = g.nodes[static_cast<size_t>(c)];
    if (fused == Fused::kNone && (cn.op_type == "Relu" || cn.op_type == "PRelu")) {
      if (cn.op_type == "PRelu" && !(cn.has_input(1) && constant_f32(g, cn.inputs[1]))) continue;
      if (cn.outputs.size() != 1) continue;
      via = cn.op_type;
      c = single_reader(cn.outputs[0]);
      if (c < 0) continue;
    }
    Layer* lb = layer(c);
    if (!lb || lb->cin != la->cout || has_prev[static_cast<size_t>(c)]) continue;
    next[i] = c;
    act[i] = via;
    has_prev[static_cast<size_t>(c)] = 1;
  }
  std::vector<SetRef> sets;
  for (size_t i = 0; i < n; ++i) {
    if (has_prev[i] || next[i] < 0) continue;
    Chain ch;
    for (int32_t k = static_cast<int32_t>(i); k >= 0; k = next[static_cast<size_t>(k)]) {
      ch.nodes.push_back(k);
      if (next[static_cast<size_t>(k)] >= 0) ch.acts.push_back(act[static_cast<size_t>(k)]);
    }
    const size_t m = ch.nodes.size();
    for (size_t k = 0; k + 1 < m;) {
      const bool triple = k + 2 < m && layers.at(ch.nodes[k + 1]).depthwise() &&
                          !layers.at(ch.nodes[k]).depthwise();
      SetRef s;
      const size_t len = triple ? 3 : 2;
      for (size_t j = 0; j < len; ++j) s.nodes.push_back(ch.nodes[k + j]);
      for (size_t j = 0; j + 1 < len; ++j) s.acts.push_back(ch.acts[k + j]);
      sets.push_back(std::move(s));
      k += len - 1;
    }
  }
  return sets;
}

// Divides beta and gamma of the layer's output channel o by f (the output was divided by f).
void scale_stats(BnStatsMap* stats, const std::string& out, int64_t o, float f) {
  if (!stats) return;
  auto it = stats->find(out);
  if (it == stats->end() || static_cast<size_t>(o) >= it->second.beta.size()) return;
  it->second.beta[static_cast<size_t>(o)] /= f;
  it->second.gamma[static_cast<size_t>(o)] /= f;
}

}  // namespace

ClsReport cross_layer_scale(Graph& graph, BnStatsMap* stats, const ClsOptions& options) {
  ClsReport report;
  std::map<int32_t, Layer> layers;
  const std::vector<SetRef> refs = find_sets(graph, layers, options);
  auto name = [&](int32_t i) { return graph.nodes[static_cast<size_t>(i)].name; };
  auto out_name = [&](int32_t i) {
    return graph.tensor(graph.nodes[static_cast<size_t>(i)].outputs[0]).name;
  };
  for (const SetRef& r : refs) {
    ClsSet s;
    for (int32_t i : r.nodes) {
      s.layers.push_back(name(i));
      s.ratio_before.push_back(layers.at(i).range_ratio());
    }
    s.activations = r.acts;
    for (size_t k = 0; k + 1 < r.nodes.size(); ++k)
      s.scales.emplace_back(static_cast<size_t>(layers.at(r.nodes[k]).cout), 1.f);
    report.sets.push_back(std::move(s));
  }
  if (refs.empty()) report.notes.push_back("no cross-layer scaling sets found");
  const int max_iter = std::max(1, options.max_iterations);
  for (int it = 0; it < max_iter && !refs.empty(); ++it) {
    float change = 0.f;
    for (size_t si = 0; si < refs.size(); ++si) {
      const SetRef& r = refs[si];
      ClsSet& s = report.sets[si];
      Layer& l1 = layers.at(r.nodes[0]);
      Layer& l2 = layers.at(r.nodes[1]);
      if (r.nodes.size() == 2) {
        // s_i = sqrt(r1 r2) / r2 = sqrt(r1 / r2); W1 rows / s, b1 / s, W2 columns * s.
        for (int64_t c = 0; c < l1.cout; ++c) {
          const float r1 = l1.out_range(c), r2 = l2.in_range(c);
          if (!(r1 > 0.f && r2 > 0.f)) continue;
          const float f = std::sqrt(r1 * r2) / r2;
          if (!std::isfinite(f) || f <= 0.f) continue;
          l1.scale_out(c, 1.f / f);
          l2.scale_in(c, f);
          scale_stats(stats, out_name(r.nodes[0]), c, f);
          s.scales[0][static_cast<size_t>(c)] *= f;
          change = std::max(change, std::fabs(f - 1.f));
        }
      } else {
        // c = (r1 r2 r3)^(1/3), S12 = r1 / c, S23 = c / r3 (all three ranges become c).
        Layer& l3 = layers.at(r.nodes[2]);
        for (int64_t c = 0; c < l1.cout; ++c) {
          const float r1 = l1.out_range(c), r2 = l2.out_range(c), r3 = l3.in_range(c);
          if (!(r1 > 0.f && r2 > 0.f && r3 > 0.f)) continue;
          const float cb = std::cbrt(r1 * r2 * r3);
          const float s12 = r1 / cb, s23 = cb / r3;
          if (!std::isfinite(s12) || !std::isfinite(s23) || s12 <= 0.f || s23 <= 0.f) continue;
          l1.scale_out(c, 1.f / s12);
          l2.for_out(c, [&](float& v) { v *= s12 / s23; });
          l2.b[static_cast<size_t>(c)] /= s23;
          l2.dirty = true;
          l3.scale_in(c, s23);
          scale_stats(stats, out_name(r.nodes[0]), c, s12);
          scale_stats(stats, out_name(r.nodes[1]), c, s23);
          s.scales[0][static_cast<size_t>(c)] *= s12;
          s.scales[1][static_cast<size_t>(c)] *= s23;
          change = std::max({change, std::fabs(s12 - 1.f), std::fabs(s23 - 1.f)});
        }
      }
    }
    report.iterations = it + 1;
    if (change <= options.tolerance) {
      report.converged = true;
      break;
    }
  }
  if (!refs.empty() && !report.converged)
    report.notes.push_back("scales still changing after " + std::to_string(report.iterations) +
                           " iterations");
  for (size_t si = 0; si < refs.size(); ++si)
    for (int32_t i : refs[si].nodes) report.sets[si].ratio_after.push_back(layers.at(i).range_ratio());
  passes::Namer names(graph);
  for (auto& [index, L] : layers)
    if (L.dirty) store_layer(graph, names, L);
  return report;
}

HbaReport absorb_high_biases(Graph& graph, BnStatsMap& stats, const ClsOptions& options) {
  HbaReport report;
  std::map<int32_t, Layer> layers;
  const std::vector<SetRef> refs = find_sets(graph, layers, options);
  std::vector<char> done(graph.nodes.size(), 0);
  for (const SetRef& r : refs) {
    for (size_t k = 0; k + 1 < r.nodes.size(); ++k) {
      const int32_t a = r.nodes[k], b = r.nodes[k + 1];
      if (done[static_cast<size_t>(a)]) continue;
      done[static_cast<size_t>(a)] = 1;
      const Node& na = graph.nodes[static_cast<size_t>(a)];
      const Node& nb = graph.nodes[static_cast<size_t>(b)];
      const std::string out = graph.tensor(na.outputs[0]).name;
      auto st = stats.find(out);
      if (st == stats.end()) {
        report.notes.push_back("'" + na.name + "' skipped: no BatchNorm statistics (no BN was folded into it)");
        continue;
      }
      if (r.acts[k] != "Relu") {
        report.notes.push_back("'" + na.name + "' skipped: not followed by Relu");
        continue;
      }
      Layer& l1 = layers.at(a);
      Layer& l2 = layers.at(b);
      BnStats& bs = st->second;
      if (bs.beta.size() != static_cast<size_t>(l1.cout) || bs.gamma.size() != bs.beta.size()) {
        report.notes.push_back("'" + na.name + "' skipped: BN statistics do not match its channels");
        continue;
      }
      HbaLayer h{na.name, nb.name, std::vector<float>(static_cast<size_t>(l1.cout), 0.f)};
      bool any = false;
      for (int64_t c = 0; c < l1.cout; ++c) {
        const size_t ci = static_cast<size_t>(c);
        const float cval = std::max(0.f, bs.beta[ci] - 3.f * std::fabs(bs.gamma[ci]));
        if (cval <= 0.f) continue;
        h.absorbed[ci] = cval;
        l1.b[ci] -= cval;
        l1.dirty = true;
        l2.for_in(c, [&](int64_t o, float& wv) { l2.b[static_cast<size_t>(o)] += wv * cval; });
        l2.dirty = true;
        bs.beta[ci] -= cval;
        any = true;
      }
      if (any) {
        const auto pads = nb.attrs.get_ints("pads");
        const bool padded = std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; }) ||
                            (nb.attrs.get_string("auto_pad", "NOTSET") != "NOTSET" &&
                             nb.attrs.get_string("auto_pad", "NOTSET") != "VALID");
        if (padded)
          report.notes.push_back("'" + nb.name + "' pads with zeros: the absorbed bias is inexact at the borders");
      }
      report.layers.push_back(std::move(h));
    }
  }
  passes::Namer names(graph);
  for (auto& [index, L] : layers)
    if (L.dirty) store_layer(graph, names, L);
  return report;
}

}  // namespace octet::quant
