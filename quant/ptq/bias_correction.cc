#include "quant/ptq/bias_correction.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

#include "base/error.h"
#include "engine/op.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "engine/passes/pass_util.h"
#include "loaders/npy.h"
#include "quant/batch_runner.h"
#include "quant/quantize.h"

namespace octet::quant {
namespace {

struct Layer {
  std::string node;
  std::string op_type;
  int64_t channels = 0;
};

// Nodes with an f32 constant weight whose input and output channels the op table names and a
// bias (Conv, Gemm), in the model's (topological) order.
std::vector<Layer> find_layers(const Graph& g) {
  std::vector<Layer> layers;
  for (const Node& n : g.nodes) {
    const ParamSlots& p = param_slots(n.op_type);
    if (p.weight < 0 || p.bias < 0 || !p.channel_axis || !p.reduction_axis) continue;
    const TensorId w = n.input(size_t(p.weight));
    if (w == kNoTensor || n.outputs.empty() || n.outputs[0] == kNoTensor) continue;
    const TensorInfo& wt = g.tensor(w);
    if (!wt.is_constant() || wt.dtype != DType::kF32 || !wt.shape.is_concrete()) continue;
    const Dims dims = wt.shape.concrete();
    const int rank = static_cast<int>(dims.size());
    if (rank < 2 || p.reduction_axis(n, rank) < 0) continue;
    OCTET_CHECK(!n.name.empty(), "bias correction: a ", n.op_type, " node has no name");
    const int64_t channels = dims[size_t(p.channel_axis(n, rank))];
    layers.push_back({n.name, n.op_type, channels});
  }
  return layers;
}

const Node& node_named(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return n;
  fail("bias correction: no node '", name, "'");
}

Node& node_named(Graph& g, const std::string& name) {
  return const_cast<Node&>(node_named(static_cast<const Graph&>(g), name));
}

// Per-channel (axis 1) means of the named layers' first outputs over batch and spatial
// positions. `g` is run as is in float mode, after inserting fake quantization when `quantized`
// (the probed tensors are read before their own output quantizer: pre-activation, unquantized).
std::vector<std::vector<double>> layer_means(const Graph& g, bool quantized,
                                             const std::vector<Layer>& layers,
                                             const SampleBatch& samples, int64_t batch_size,
                                             int threads) {
  OCTET_CHECK(samples.rows() > 0, "bias correction needs samples along axis 0");
  auto run_graph = std::make_shared<Graph>(g);
  std::vector<TensorId> probes;
  for (const Layer& l : layers) probes.push_back(node_named(*run_graph, l.node).outputs[0]);
  // Outputs first, so that a quantized probe's producer writes a raw tensor of its own.
  run_graph->outputs = probes;
  if (quantized) {
    insert_fake_quantization(*run_graph);
    for (TensorId& p : probes)
      for (const Node& n : run_graph->nodes)
        if (n.op_type == "octet.QuantizeDequantize" && n.outputs[0] == p) {
          p = n.inputs[0];
          break;
        }
    run_graph->outputs = probes;
  }
  std::vector<std::vector<double>> sums(layers.size());
  std::vector<int64_t> counts(layers.size(), 0);
  for (size_t i = 0; i < layers.size(); ++i) sums[i].assign(static_cast<size_t>(layers[i].channels), 0.0);
  BatchRunner runner(run_graph, threads, batch_size);
  runner.for_each(samples, 0, [&](const SampleBatch&, std::vector<HostTensor>& outs) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const HostTensor& y = outs[i];
      const int64_t c = layers[i].channels;
      OCTET_CHECK(y.dims.size() >= 2 && y.dims[1] == c, "bias correction: output of '",
                  layers[i].node, "' does not have ", c, " channels on axis 1");
      int64_t inner = 1;
      for (size_t d = 2; d < y.dims.size(); ++d) inner *= y.dims[d];
      const auto v = y.values<float>();
      for (int64_t n = 0; n < y.dims[0]; ++n)
        for (int64_t ch = 0; ch < c; ++ch) {
          const float* p = v.data() + (n * c + ch) * inner;
          double acc = 0;
          for (int64_t k = 0; k < inner; ++k) acc += p[k];
          sums[i][static_cast<size_t>(ch)] += acc;
        }
      counts[i] += y.dims[0] * inner;
    }
  });
  for (size_t i = 0; i < layers.size(); ++i)
    for (double& m : sums[i]) m /= static_cast<double>(counts[i]);
  return sums;
}

double mean_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] - b[i]);
  return a.empty() ? 0.0 : s / static_cast<double>(a.size());
}

std::vector<float> constant_floats_of(const TensorInfo& t) {
  OCTET_CHECK(t.is_constant() && t.dtype == DType::kF32 && t.shape.is_concrete(), "'", t.name,
              "' is not an f32 constant");
  const int64_t n = checked_numel(t.shape.concrete());
  std::vector<float> v(static_cast<size_t>(n));
  if (n) std::memcpy(v.data(), t.data->data(), static_cast<size_t>(n) * sizeof(float));
  return v;
}

std::string unique_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int i = 1; g.find_tensor(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

BufferPtr float_buffer(const std::vector<float>& v) {
  return Buffer::copy_of(v.data(), v.size() * sizeof(float));
}

// Subtracts `delta` (per output channel) from the layer's bias in `g`, with a new constant.
// Returns an empty string on success, else why the layer was skipped.
std::string apply_correction(Graph& g, const Layer& layer, const std::vector<double>& delta,
                             LayerBiasCorrection& rec) {
  Node& n = node_named(g, layer.node);
  const int64_t c = layer.channels;
  double scale = 1.0;  // Gemm adds beta * C
  if (n.op_type == "Gemm") {
    scale = n.attrs.get_float("beta", 1.0f);
    if (scale == 0.0) return "Gemm with beta = 0";
  }
  std::vector<float> bias(static_cast<size_t>(c), 0.0f);
  Dims dims{c};
  const TensorId old = n.input(2);
  if (old != kNoTensor) {
    const TensorInfo& t = g.tensor(old);
    if (!t.is_constant() || t.dtype != DType::kF32 || !t.shape.is_concrete())
      return "bias is not an f32 constant";
    const Dims od = t.shape.concrete();
    const int64_t numel = checked_numel(od);
    if (numel == c && !od.empty() && od.back() == c) {
      std::memcpy(bias.data(), t.data->data(), static_cast<size_t>(c) * sizeof(float));
      dims = od;
    } else if (numel == 1) {
      bias.assign(static_cast<size_t>(c), t.data->as<float>()[0]);
    } else {
      return "bias shape is not per output channel";
    }
  }
  for (int64_t ch = 0; ch < c; ++ch)
    bias[static_cast<size_t>(ch)] =
        static_cast<float>(bias[static_cast<size_t>(ch)] - delta[static_cast<size_t>(ch)] / scale);

  // Replace in place when only this node reads the old bias; otherwise give it its own.
  int readers = 0;
  if (old != kNoTensor)
    for (const Node& m : g.nodes)
      for (TensorId i : m.inputs) readers += i == old;
  if (old != kNoTensor && readers == 1) {
    TensorInfo& t = g.tensor(old);
    t.data = float_buffer(bias);
    t.shape = Shape::of(dims);
    rec.bias = t.name;
  } else {
    const std::string name = unique_name(g, layer.node + ".bias");
    const TensorId id = g.add_constant(name, DType::kF32, dims, float_buffer(bias));
    Node& m = node_named(g, layer.node);  // add_constant may not touch nodes, but be safe
    if (m.inputs.size() < 3) m.inputs.resize(3, kNoTensor);
    m.inputs[2] = id;
    rec.bias = name;
    rec.created_bias = old == kNoTensor;
  }
  return "";
}

// The sim's model with the encodings that bias correction measures under (see
// BiasCorrectionOptions::measure_with_activation_quantizers).
std::shared_ptr<Graph> measured_model(const QuantSim& sim, bool with_activation_quantizers) {
  auto g = sim.annotated_model();
  if (with_activation_quantizers) return g;
  for (const Quantizer& q : sim.quantizers())
    if (q.role == QuantizerRole::kActivation) g->tensor(g->require_tensor(q.tensor)).quant = QuantParams{};
  return g;
}

}  // namespace

std::vector<double> measure_output_shift(const Graph& reference, const QuantSim& sim,
                                         const SampleBatch& samples, std::vector<std::string>* names,
                                         int64_t batch_size, int threads) {
  const std::vector<Layer> layers = find_layers(sim.model());
  const auto fp = layer_means(reference, false, layers, samples, batch_size, threads);
  const auto q = layer_means(*sim.annotated_model(), true, layers, samples, batch_size, threads);
  std::vector<double> shifts;
  if (names) names->clear();
  for (size_t i = 0; i < layers.size(); ++i) {
    shifts.push_back(mean_abs_diff(fp[i], q[i]));
    if (names) names->push_back(layers[i].node);
  }
  return shifts;
}

BiasCorrectionReport correct_bias_empirical(QuantSim& sim, const SampleBatch& samples,
                                            const BiasCorrectionOptions& options) {
  BiasCorrectionReport report;
  report.samples = samples.rows();
  for (const Quantizer& q : sim.quantizers())
    OCTET_CHECK(!q.enabled || q.encoding, "bias correction: quantizer on '", q.tensor,
                "' has no encoding (calibrate first)");
  const Graph reference = options.reference ? *options.reference : sim.model();  // float, uncorrected
  const std::vector<Layer> layers = find_layers(reference);
  const int64_t bs = options.batch_size;
  const int th = options.threads;
  const auto fp = layer_means(reference, false, layers, samples, bs, th);
  const auto q0 = layer_means(*measured_model(sim, options.measure_with_activation_quantizers), true, layers, samples, bs, th);

  bool bias_quantized = false;
  for (const Quantizer& q : sim.quantizers())
    bias_quantized |= q.role == QuantizerRole::kParam && q.param == "bias" && q.enabled;

  for (size_t i = 0; i < layers.size(); ++i) {
    LayerBiasCorrection rec;
    rec.node = layers[i].node;
    rec.op_type = layers[i].op_type;
    rec.channels = layers[i].channels;
    rec.method = "empirical";
    rec.shift_uncorrected = mean_abs_diff(fp[i], q0[i]);
    if (!options.only_layers.empty() &&
        std::find(options.only_layers.begin(), options.only_layers.end(), rec.node) ==
            options.only_layers.end()) {
      rec.skipped = true;
      rec.reason = "not selected for empirical correction";
      rec.shift_before = rec.shift_uncorrected;
      report.layers.push_back(std::move(rec));
      continue;
    }
    // Upstream layers corrected: measure this one in the current sim (the first needs no rerun).
    std::vector<double> qm = q0[i];
    if (report.layers_corrected > 0)
      qm = layer_means(*measured_model(sim, options.measure_with_activation_quantizers), true, {layers[i]}, samples, bs, th)[0];
    rec.shift_before = mean_abs_diff(fp[i], qm);
    std::vector<double> delta(qm.size());
    size_t non_finite = 0;
    for (size_t c = 0; c < qm.size(); ++c) {
      delta[c] = qm[c] - fp[i][c];
      non_finite += !std::isfinite(delta[c]);
    }
    // A NaN or infinity in a mean (a quantized denominator reaching 0 upstream, say) corrects
    // nothing: the layer is left as it is and the reason said.
    const std::string why =
        non_finite ? std::to_string(non_finite) + " of " + std::to_string(delta.size()) +
                         " channel means are NaN or infinite in the float or the quantized model on these samples"
                   : apply_correction(sim.mutable_model(), layers[i], delta, rec);
    if (!why.empty()) {
      rec.skipped = true;
      rec.reason = why;
    } else {
      report.layers_corrected++;
      if (bias_quantized) sim.compute_param_encodings(options.calibration.observer);
    }
    report.layers.push_back(std::move(rec));
  }

  if (options.recalibrate) {
    CalibrationOptions co = options.calibration;
    sim.calibrate(samples, co);
  }
  const auto q1 = layer_means(*measured_model(sim, options.measure_with_activation_quantizers), true, layers, samples, bs, th);
  for (size_t i = 0; i < layers.size(); ++i)
    report.layers[i].shift_after = mean_abs_diff(fp[i], q1[i]);
  return report;
}


double clipped_normal_mean(double mu, double sigma, double lo, double hi) {
  if (!(sigma > 0)) return std::min(std::max(mu, lo), hi);
  auto pdf = [](double z) { return std::isinf(z) ? 0.0 : std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI); };
  auto cdf = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  const double a = (lo - mu) / sigma, b = (hi - mu) / sigma;
  // E[clamp(X, lo, hi)] = sigma (phi(a) - phi(b)) + mu (Phi(b) - Phi(a)) + lo Phi(a) + hi (1 - Phi(b))
  double e = sigma * (pdf(a) - pdf(b)) + mu * (cdf(b) - cdf(a));
  if (!std::isinf(lo)) e += lo * cdf(a);
  if (!std::isinf(hi)) e += hi * (1.0 - cdf(b));
  return e;
}

namespace {

constexpr double kInfD = std::numeric_limits<double>::infinity();

// E[x] per channel of `input` (the tensor a layer reads) from BN statistics, or why not.
std::string expected_input(const Graph& g, TensorId input, const BnStatsMap& stats,
                           std::vector<double>& mean) {
  const std::vector<int32_t> producer = g.producers();
  double lo = -kInfD, hi = kInfD;
  TensorId t = input;
  bool activation = false;
  for (int hops = 0; hops < 4; ++hops) {
    const int32_t p = producer[static_cast<size_t>(t)];
    if (p < 0) return "its input is a graph input";
    const Node& n = g.nodes[static_cast<size_t>(p)];
    if (n.op_type == "Flatten" || n.op_type == "GlobalAveragePool") {  // keep channel means
      t = n.inputs[0];
      continue;
    }
    if (!activation && (n.op_type == "Relu" || n.op_type == "Clip")) {
      if (n.op_type == "Relu") {
        lo = 0;
      } else {
        std::optional<float> a, b;
        if (g.opset > 0 && g.opset < 11) {
          a = n.attrs.get_float("min", -std::numeric_limits<float>::infinity());
          b = n.attrs.get_float("max", std::numeric_limits<float>::infinity());
        } else {
          auto bound = [&](size_t slot, float dflt) -> std::optional<float> {
            if (!n.has_input(slot)) return dflt;
            auto v = passes::constant_f32(g, n.inputs[slot]);
            if (!v || v->size() != 1) return std::nullopt;
            return (*v)[0];
          };
          a = bound(1, -std::numeric_limits<float>::infinity());
          b = bound(2, std::numeric_limits<float>::infinity());
        }
        if (!a || !b) return "a Clip with non-constant bounds precedes it";
        lo = *a, hi = *b;
      }
      activation = true;
      t = n.inputs[0];
      continue;
    }
    if (!activation && (n.attrs.has("_act_min") || n.attrs.has("_act_max"))) {
      lo = n.attrs.get_float("_act_min", -std::numeric_limits<float>::infinity());
      hi = n.attrs.get_float("_act_max", std::numeric_limits<float>::infinity());
    }
    auto it = stats.find(g.tensor(n.outputs[0]).name);
    if (it == stats.end() || n.outputs[0] != t)
      return "no BatchNorm statistics for its input (produced by " + n.op_type + " '" + n.name + "')";
    const BnStats& s = it->second;
    mean.resize(s.beta.size());
    for (size_t c = 0; c < s.beta.size(); ++c)
      mean[c] = clipped_normal_mean(s.beta[c], std::fabs(s.gamma[c]), lo, hi);
    return "";
  }
  return "no BatchNorm statistics for its input";
}

}  // namespace

BiasCorrectionReport correct_bias_analytical(QuantSim& sim, const BnStatsMap& stats) {
  BiasCorrectionReport report;
  bool missing = false;
  for (const Quantizer& q : sim.quantizers())
    missing |= q.role == QuantizerRole::kParam && q.enabled && !q.encoding && q.param == "weight";
  if (missing) sim.compute_param_encodings(ObserverOptions{});
  const std::vector<Layer> layers = find_layers(sim.model());
  for (const Layer& layer : layers) {
    Graph& g = sim.mutable_model();
    LayerBiasCorrection rec;
    rec.node = layer.node;
    rec.op_type = layer.op_type;
    rec.channels = layer.channels;
    rec.method = "analytical";
    const Node& n = node_named(g, layer.node);
    const TensorInfo& wt = g.tensor(n.inputs[1]);
    const Quantizer* q = sim.find(wt.name);
    std::vector<double> ex;
    std::string why;
    if (!q || !q->enabled || !q->encoding) why = "weight not quantized";
    else why = expected_input(g, n.inputs[0], stats, ex);
    const Dims wd = wt.shape.concrete();
    const int64_t c = layer.channels;
    int64_t groups = 1, kin = 0, per = 1;  // kin: input channels per group
    bool trans_b = false;
    if (why.empty()) {
      if (n.op_type == "Conv") {
        groups = n.attrs.get_int("group", 1);
        kin = wd[1];
        for (size_t d = 2; d < wd.size(); ++d) per *= wd[d];
        if (groups <= 0 || static_cast<int64_t>(ex.size()) != kin * groups) why = "BN channels do not match its input channels";
      } else {
        trans_b = n.attrs.get_int("transB", 0) != 0;
        kin = trans_b ? wd[1] : wd[0];
        if (n.attrs.get_int("transA", 0) != 0) why = "Gemm with transA";
        else if (static_cast<int64_t>(ex.size()) != kin) why = "BN channels do not match its input features";
      }
    }
    if (!why.empty()) {
      rec.skipped = true;
      rec.reason = why;
      report.layers.push_back(std::move(rec));
      continue;
    }
    // eps = W_q - W.
    const std::vector<float> w = constant_floats_of(wt);
    std::vector<float> wq(w.size());
    const PreparedQuant pq = prepare_quant(*q->encoding, wd, CodeDomain::kUnsigned, wt.name);
    quantize_dequantize(w, wq, pq);
    std::vector<double> delta(static_cast<size_t>(c), 0.0);
    for (int64_t o = 0; o < c; ++o) {
      double acc = 0;
      if (n.op_type == "Conv") {
        const int64_t g0 = o / (c / groups);
        for (int64_t i = 0; i < kin; ++i)
          for (int64_t k = 0; k < per; ++k) {
            const size_t idx = static_cast<size_t>((o * kin + i) * per + k);
            acc += (static_cast<double>(wq[idx]) - w[idx]) * ex[static_cast<size_t>(g0 * kin + i)];
          }
      } else {
        for (int64_t i = 0; i < kin; ++i) {
          const size_t idx = static_cast<size_t>(trans_b ? o * kin + i : i * c + o);
          acc += (static_cast<double>(wq[idx]) - w[idx]) * ex[static_cast<size_t>(i)];
        }
      }
      delta[static_cast<size_t>(o)] = acc;
      rec.shift_before += std::fabs(acc);
    }
    rec.shift_before /= static_cast<double>(std::max<int64_t>(1, c));
    const std::string fail_why = apply_correction(g, layer, delta, rec);
    if (!fail_why.empty()) {
      rec.skipped = true;
      rec.reason = fail_why;
    } else {
      report.layers_corrected++;
    }
    report.layers.push_back(std::move(rec));
  }
  return report;
}

BiasCorrectionReport correct_bias_hybrid(QuantSim& sim, const BnStatsMap& stats,
                                         const SampleBatch& samples,
                                         const BiasCorrectionOptions& options) {
  const auto reference = std::make_shared<const Graph>(sim.model());
  BiasCorrectionReport a = correct_bias_analytical(sim, stats);
  BiasCorrectionOptions eo = options;
  if (!eo.reference) eo.reference = reference;
  eo.only_layers.clear();
  for (const LayerBiasCorrection& l : a.layers)
    if (l.skipped) eo.only_layers.push_back(l.node);
  if (eo.only_layers.empty()) return a;
  // Activation encodings for the empirical part.
  if (std::any_of(sim.quantizers().begin(), sim.quantizers().end(),
                  [](const Quantizer& q) { return q.enabled && !q.encoding; }))
    sim.calibrate(samples, options.calibration);
  BiasCorrectionReport e = correct_bias_empirical(sim, samples, eo);
  BiasCorrectionReport out;
  out.samples = e.samples;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const bool analytical = !a.layers[i].skipped;
    out.layers.push_back(analytical ? a.layers[i] : e.layers.at(i));
    if (analytical) {
      out.layers.back().shift_uncorrected = e.layers.at(i).shift_uncorrected;
      out.layers.back().shift_after = e.layers.at(i).shift_after;
    }
    out.layers_corrected += !out.layers.back().skipped;
  }
  return out;
}

}  // namespace octet::quant
