#include "quant/quantsim.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "base/error.h"
#include "engine/op.h"
#include "engine/passes/passes.h"
#include "engine/prepare_graph.h"
#include "engine/session.h"
#include "loaders/npy.h"
#include "quant/batch_runner.h"
#include "quant/data_stream.h"

namespace octet::quant {
namespace {

struct ParamSlot {
  size_t input;
  const char* name;
};

// The parameters octet quantizes, as the op table names them.
std::vector<ParamSlot> param_slots_of(const std::string& op) {
  const ParamSlots& p = param_slots(op);
  std::vector<ParamSlot> out;
  if (p.weight >= 0) out.push_back({size_t(p.weight), "weight"});
  if (p.bias >= 0) out.push_back({size_t(p.bias), "bias"});
  return out;
}

// The output-channel axis of a parameter (weight or bias), for per-channel quantization.
int weight_channel_axis(const Node& n, const TensorInfo& w) {
  const ParamSlots& p = param_slots(n.op_type);
  return p.channel_axis ? p.channel_axis(n, static_cast<int>(w.shape.rank())) : 0;
}

// The input-channel (reduction) axis of a weight, or -1.
int reduction_axis(const Node& n, const TensorInfo& w) {
  const int rank = static_cast<int>(w.shape.rank());
  if (!w.shape.is_concrete() || rank < 2) return -1;
  const ParamSlots& p = param_slots(n.op_type);
  return p.reduction_axis ? p.reduction_axis(n, rank) : -1;
}

std::vector<float> constant_floats(const TensorInfo& t) {
  OCTET_CHECK(t.is_constant() && t.dtype == DType::kF32, "'", t.name, "' is not an f32 constant");
  const int64_t n = checked_numel(t.shape.concrete());
  std::vector<float> v(static_cast<size_t>(n));
  if (n) std::memcpy(v.data(), t.data->data(), n * sizeof(float));
  return v;
}

bool is_symmetric_kind(EncodingKind k) { return k != EncodingKind::kAsymmetric; }

}  // namespace

EncodingKind encoding_kind(bool symmetric, bool strict_symmetric, bool unsigned_symmetric) {
  if (!symmetric) return EncodingKind::kAsymmetric;
  if (strict_symmetric && unsigned_symmetric) return EncodingKind::kUnsignedStrictSymmetric;
  if (strict_symmetric) return EncodingKind::kStrictSymmetric;
  if (unsigned_symmetric) return EncodingKind::kUnsignedSymmetric;
  return EncodingKind::kSymmetric;
}

QuantSim::QuantSim(std::shared_ptr<const Graph> model, const QuantsimConfig& config,
                   const QuantSimOptions& options) {
  OCTET_CHECK(model, "QuantSim needs a model");
  check_ops_supported(*model, model->name.empty() ? "model" : model->name);
  model_ = std::make_shared<Graph>(*model);
  remove_identities(*model_);
  remove_dead_nodes(*model_);
  if (options.fold_batch_norms) {
    fill_intermediate_shapes(*model_);
    fold_batch_norms(*model_);
    remove_dead_nodes(*model_);
  }
  model_->compact();
  model_->topo_sort();
  place(config, options);
  // The config's tensor_bitwidths first, the options' (--bits) over them.
  QuantSimOptions choices = options;
  for (const auto& [name, bits] : config.tensor_bitwidths()) choices.tensor_bitwidths.emplace(name, bits);
  apply_tensor_choices(choices);
}

void QuantSim::apply_tensor_choices(const QuantSimOptions& options) {
  auto quantizers_of = [&](const std::string& name, const char* what) {
    std::vector<Quantizer*> found;
    for (Quantizer& q : quantizers_)
      if (q.tensor == name) found.push_back(&q);
    if (found.empty()) {
      OCTET_CHECK(model_->find_tensor(name), what, ": the model has no tensor '", name, "'");
      fail(what, ": tensor '", name, "' has no quantizer (the config leaves it float, or it is ",
           "inside a supergroup such as Conv+Relu, quantized only at its end)");
    }
    return found;
  };
  for (const auto& [name, bits] : options.tensor_bitwidths) {
    OCTET_CHECK(bits >= kMinBitwidth && bits <= 32, "bitwidth of '", name, "': ", bits,
                " is outside [", kMinBitwidth, ", 32]");
    OCTET_CHECK(!options.float_tensors.count(name), "tensor '", name,
                "' is given a bitwidth and left float");
    for (Quantizer* q : quantizers_of(name, "tensor bitwidth")) q->bitwidth = bits;
  }
  for (const std::string& name : options.float_tensors)
    for (Quantizer* q : quantizers_of(name, "float tensor")) q->enabled = false;
}

void QuantSim::place(const QuantsimConfig& config, const QuantSimOptions& options) {
  const Graph& g = *model_;
  const int act_bw = options.act_bitwidth.value_or(8);
  const int param_bw = options.param_bitwidth.value_or(8);
  OCTET_CHECK(act_bw >= kMinBitwidth && act_bw <= 32 && param_bw >= kMinBitwidth && param_bw <= 32,
              "bitwidths must be in [", kMinBitwidth, ", 32]");
  std::vector<std::vector<size_t>> consumers(g.tensors.size());
  for (size_t n = 0; n < g.nodes.size(); ++n)
    for (TensorId i : g.nodes[n].inputs)
      if (i != kNoTensor) consumers[i].push_back(n);

  // Tensors inside a supergroup (e.g. Conv -> Relu): quantized only at the group's end.
  std::set<TensorId> interior;
  for (const Supergroup& sg : config.supergroups()) {
    for (size_t start = 0; start < g.nodes.size(); ++start) {
      if (g.nodes[start].op_type != sg.op_list[0]) continue;
      std::vector<TensorId> chain;
      size_t cur = start;
      bool match = true;
      for (size_t k = 1; k < sg.op_list.size() && match; ++k) {
        const Node& n = g.nodes[cur];
        if (n.outputs.empty() || n.outputs[0] == kNoTensor) { match = false; break; }
        const TensorId out = n.outputs[0];
        if (consumers[out].size() != 1 || g.is_graph_output(out) ||
            g.nodes[consumers[out][0]].op_type != sg.op_list[k]) {
          match = false;
          break;
        }
        chain.push_back(out);
        cur = consumers[out][0];
      }
      if (match) interior.insert(chain.begin(), chain.end());
    }
  }

  std::set<std::string> placed;
  auto add = [&](Quantizer q) {
    q.supported_kernels = config.resolve_op(q.op_type).supported_kernels;
    if (placed.insert(q.tensor).second) quantizers_.push_back(std::move(q));
  };
  const ResolvedOp defaults = config.resolve_op("");
  if (config.model_input_quantized().value_or(false)) {
    for (TensorId id : g.inputs) {
      const TensorInfo& t = g.tensor(id);
      if (t.dtype != DType::kF32) continue;
      add({.tensor = t.name, .role = QuantizerRole::kModelInput, .op_type = "",
           .bitwidth = act_bw,
           .kind = encoding_kind(defaults.symmetric, defaults.strict_symmetric,
                                 defaults.unsigned_symmetric)});
    }
  }
  const bool force_outputs = config.model_output_quantized().value_or(false);
  // Tensors computed from constants and shapes only (e.g. the pads of a Pad) fold away when
  // the model runs: they are not activations and get no quantizer.
  std::vector<char> from_constants(g.tensors.size(), 0);
  for (size_t i = 0; i < g.tensors.size(); ++i) from_constants[i] = g.tensors[i].is_constant();
  for (const Node& n : g.nodes) {
    bool all = n.op_type == "Shape" || n.op_type == "Size";
    if (!all) {
      all = true;
      for (TensorId i : n.inputs) all = all && (i == kNoTensor || from_constants[size_t(i)]);
    }
    if (all)
      for (TensorId o : n.outputs)
        if (o != kNoTensor) from_constants[size_t(o)] = 1;
  }
  for (const Node& n : g.nodes) {
    const ResolvedOp ro = config.resolve_op(n.op_type);
    for (const ParamSlot& slot : param_slots_of(n.op_type)) {
      const TensorId id = n.input(slot.input);
      if (id == kNoTensor) continue;
      const TensorInfo& t = g.tensor(id);
      if (!t.is_constant() || t.dtype != DType::kF32) continue;
      const ResolvedParam rp = config.resolve_param(n.op_type, slot.name);
      if (!rp.quantized) continue;
      const bool per_channel = options.per_channel.value_or(rp.per_channel);
      if (options.block_size > 0 && slot.input == 1 && reduction_axis(n, t) >= 0) {
        const int axis = reduction_axis(n, t);
        const int64_t k = t.shape.concrete()[size_t(axis)];
        if (k % options.block_size != 0) {
          notes_.push_back("weight '" + t.name + "' has " + std::to_string(k) +
                           " input channels, not a multiple of the block size " +
                           std::to_string(options.block_size) + ": quantized per channel");
          add({.tensor = t.name, .role = QuantizerRole::kParam, .op_type = n.op_type,
               .param = slot.name, .bitwidth = param_bw,
               .kind = encoding_kind(rp.symmetric, rp.strict_symmetric, rp.unsigned_symmetric),
               .axis = weight_channel_axis(n, t)});
          continue;
        }
        add({.tensor = t.name, .role = QuantizerRole::kParam, .op_type = n.op_type,
             .param = slot.name, .bitwidth = param_bw,
             .kind = encoding_kind(rp.symmetric, rp.strict_symmetric, rp.unsigned_symmetric),
             .axis = axis, .block_size = options.block_size});
        continue;
      }
      add({.tensor = t.name, .role = QuantizerRole::kParam, .op_type = n.op_type,
           .param = slot.name, .bitwidth = param_bw,
           .kind = encoding_kind(rp.symmetric, rp.strict_symmetric, rp.unsigned_symmetric),
           .axis = per_channel && t.shape.rank() > 0 ? weight_channel_axis(n, t) : -1});
    }
    for (TensorId out : n.outputs) {
      if (out == kNoTensor) continue;
      const TensorInfo& t = g.tensor(out);
      if (t.dtype != DType::kF32 && t.dtype != DType::kUndefined) continue;
      if (from_constants[size_t(out)]) continue;
      const bool graph_output = g.is_graph_output(out);
      bool quantize = ro.output_quantized && !interior.count(out) && !preserves_encoding(n.op_type);
      if (graph_output && force_outputs) quantize = true;
      if (!quantize) continue;
      add({.tensor = t.name, .role = QuantizerRole::kActivation, .op_type = n.op_type,
           .bitwidth = act_bw,
           .kind = encoding_kind(ro.symmetric, ro.strict_symmetric, ro.unsigned_symmetric),
           .range_constraints = ro.encoding_constraints});
    }
  }
}

Quantizer* QuantSim::find(const std::string& tensor) {
  for (Quantizer& q : quantizers_)
    if (q.tensor == tensor) return &q;
  return nullptr;
}

Quantizer& QuantSim::at(const std::string& tensor) {
  Quantizer* q = find(tensor);
  OCTET_CHECK(q, "no quantizer on tensor '", tensor, "'");
  return *q;
}

void QuantSim::compute_param_encodings(const ObserverOptions& observer) {
  for (Quantizer& q : quantizers_) {
    if (q.role != QuantizerRole::kParam || !q.enabled || q.frozen) continue;
    const TensorInfo& t = model_->tensor(model_->require_tensor(q.tensor));
    const std::vector<float> values = constant_floats(t);
    const bool symmetric = is_symmetric_kind(q.kind);
    TensorEncoding te;
    te.axis = q.axis;
    te.block_size = q.block_size;
    try {
      if (q.block_size > 0) {
        // One min/max range per (outer, block, inner) cell of the blocked layout.
        const AxisLayout l = axis_layout(t.shape.concrete(), q.axis);
        const size_t B = size_t(q.block_size), blocks = (l.channels + B - 1) / B;
        for (size_t o = 0; o < l.outer; ++o)
          for (size_t b = 0; b < blocks; ++b)
            for (size_t i = 0; i < l.inner; ++i) {
              float lo = 0.f, hi = 0.f;
              for (size_t c = b * B; c < std::min(l.channels, (b + 1) * B); ++c) {
                const float v = values[(o * l.channels + c) * l.inner + i];
                OCTET_CHECK(std::isfinite(v), "non-finite weight value");
                lo = std::min(lo, v);
                hi = std::max(hi, v);
              }
              te.encodings.push_back(compute_encoding(lo, hi, q.bitwidth, q.kind));
            }
      } else if (q.axis >= 0) {
        const Dims dims = t.shape.concrete();
        const AxisLayout layout = axis_layout(dims, q.axis);
        PerChannelObserver obs(observer, static_cast<int64_t>(layout.channels));
        obs.observe(values, static_cast<int64_t>(layout.outer), static_cast<int64_t>(layout.channels),
                    static_cast<int64_t>(layout.inner));
        for (const Range& r : obs.compute(q.bitwidth, symmetric))
          te.encodings.push_back(compute_encoding(r.min, r.max, q.bitwidth, q.kind));
      } else {
        auto obs = make_observer(observer);
        obs->observe(values);
        const Range r = obs->compute(q.bitwidth, symmetric);
        te.encodings.push_back(compute_encoding(r.min, r.max, q.bitwidth, q.kind));
      }
    } catch (const Error& e) {
      fail("parameter '", q.tensor, "': ", e.what());
    }
    q.encoding = std::move(te);
  }
}

void QuantSim::calibrate(const std::string& data_spec, const CalibrationOptions& options) {
  calibrate(std::vector<std::string>{data_spec}, options);
}

void QuantSim::calibrate(const std::vector<std::string>& data_specs, const CalibrationOptions& options) {
  SampleStream stream(data_specs, *model_);
  calibrate_batches([&](SampleBatch& out) { return stream.next(out); }, stream.total_samples(),
                    options);
}

void QuantSim::calibrate(const HostTensor& samples, const CalibrationOptions& options) {
  calibrate(single_input_batch(*model_, samples), options);
}

void QuantSim::calibrate(const SampleBatch& samples, const CalibrationOptions& options) {
  bool done = false;
  calibrate_batches(
      [&](SampleBatch& out) {
        if (done) return false;
        out = samples;
        done = true;
        return true;
      },
      samples.rows(), options);
}

void QuantSim::calibrate_batches(const std::function<bool(SampleBatch&)>& next, int64_t total,
                                 const CalibrationOptions& options) {
  compute_param_encodings(options.observer);
  const std::vector<TensorId> inputs = fed_inputs(*model_);
  OCTET_CHECK(!inputs.empty(), "calibration: the model has no inputs to feed");

  // The graph to run: parameters fake-quantized, every activation to observe an output.
  std::shared_ptr<Graph> annotated = std::make_shared<Graph>(*model_);
  for (const Quantizer& q : quantizers_)
    if (q.role == QuantizerRole::kParam && q.enabled && q.encoding)
      annotated->tensor(annotated->require_tensor(q.tensor)).quant = to_quant_params(*q.encoding);
  insert_fake_quantization(*annotated);
  std::shared_ptr<Graph> run_graph = annotated;
  struct Watch {
    Quantizer* quantizer;
    size_t output;
    std::unique_ptr<Observer> observer;
  };
  std::vector<Watch> watches;
  for (Quantizer& q : quantizers_) {
    if (q.role == QuantizerRole::kParam || !q.enabled || q.frozen) continue;
    const TensorId id = run_graph->require_tensor(q.tensor);
    size_t index = 0;
    while (index < run_graph->outputs.size() && run_graph->outputs[index] != id) ++index;
    if (index == run_graph->outputs.size()) run_graph->outputs.push_back(id);
    watches.push_back({&q, index, make_observer(options.observer)});
  }

  // Batches are cut to the model's batch size (the first input's, where it fixes one).
  BatchRunner runner(run_graph, options.threads, options.batch_size);
  int64_t done = 0;
  SampleBatch chunk;
  while (next(chunk)) {
    OCTET_CHECK(chunk.rows() > 0, "calibration data has no samples");
    runner.for_each(chunk, 0, [&](const SampleBatch& x, std::vector<HostTensor>& outs) {
      for (Watch& w : watches) {
        const HostTensor& t = outs[w.output];
        if (t.dtype != DType::kF32) {  // typed only when the graph ran: nothing to quantize
          if (w.quantizer->enabled)
            notes_.push_back("no quantizer on '" + w.quantizer->tensor + "': it holds " +
                             std::string(dtype_name(t.dtype)) + " values");
          w.quantizer->enabled = false;
          continue;
        }
        try {
          w.observer->observe(t.values<float>());
        } catch (const Error& e) {
          fail("calibration, tensor '", w.quantizer->tensor, "': ", e.what());
        }
      }
      done += x.rows();
      if (options.progress) options.progress(done, total);
    });
  }
  OCTET_CHECK(done > 0, "no calibration samples were read");
  for (Watch& w : watches) {
    if (!w.quantizer->enabled) continue;
    Range r = w.observer->compute(w.quantizer->bitwidth, is_symmetric_kind(w.quantizer->kind));
    if (const auto& c = w.quantizer->range_constraints) {
      if (c->min) r.min = float(*c->min);
      if (c->max) r.max = float(*c->max);
      OCTET_CHECK(r.min < r.max, "calibration, tensor '", w.quantizer->tensor, "': the config fixes its range to [",
                  r.min, ", ", r.max, "], which is empty");
    }
    TensorEncoding te;
    te.encodings.push_back(compute_encoding(r.min, r.max, w.quantizer->bitwidth, w.quantizer->kind));
    w.quantizer->encoding = std::move(te);
  }
}

std::shared_ptr<Graph> QuantSim::annotated_model() const {
  auto g = std::make_shared<Graph>(*model_);
  for (TensorInfo& t : g->tensors) t.quant = QuantParams{};
  for (const Quantizer& q : quantizers_)
    if (q.enabled && q.encoding)
      g->tensor(g->require_tensor(q.tensor)).quant = to_quant_params(*q.encoding);
  return g;
}

QuantParams to_quant_params(const TensorEncoding& te) {
  OCTET_CHECK(!te.encodings.empty(), "an encoding without entries");
  QuantParams q;
  q.axis = te.axis;
  q.block_size = te.block_size;
  q.bitwidth = te.encodings[0].bitwidth;
  q.symmetric = te.encodings[0].symmetric;
  q.strict = te.encodings[0].strict_symmetric;
  for (const Encoding& e : te.encodings) {
    q.scale.push_back(static_cast<float>(e.scale));
    q.zero_point.push_back(-e.offset);
  }
  return q;
}

TensorEncoding from_quant_params(const QuantParams& q, const std::string& what) {
  OCTET_CHECK(!q.scale.empty() && q.zero_point.size() == q.scale.size(), what,
              ": quantization parameters need one zero point per scale");
  OCTET_CHECK(q.bitwidth >= kMinBitwidth && q.bitwidth <= kMaxBitwidth, what, ": bitwidth ",
              q.bitwidth, " is outside [", kMinBitwidth, ", ", kMaxBitwidth, "]");
  TensorEncoding te;
  te.axis = q.axis;
  te.block_size = q.block_size;
  for (size_t i = 0; i < q.scale.size(); ++i) {
    Encoding e;
    e.bitwidth = q.bitwidth;
    e.symmetric = q.symmetric;
    e.offset = -q.zero_point[i];
    e.strict_symmetric = q.strict;
    e.scale = q.scale[i];
    e.min = e.scale * e.offset;
    e.max = e.scale * static_cast<double>(e.offset + e.num_steps());
    validate_encoding(e, what);
    te.encodings.push_back(e);
  }
  return te;
}

}  // namespace octet::quant
