#include "quant/value_histograms.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "base/error.h"
#include "engine/session.h"

namespace octet::quant {
namespace {

struct Accumulator {
  ValueHistogram h;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  void see(std::span<const float> v) {
    for (float x : v)
      if (std::isfinite(x)) {
        min = std::min(min, double(x));
        max = std::max(max, double(x));
      }
  }
  void set_bins(int bins) {
    h.observed_min = std::isfinite(min) ? min : 0.0;
    h.observed_max = std::isfinite(max) ? max : 0.0;
    h.lo = std::min(h.observed_min, h.encoding_min);
    h.hi = std::max(h.observed_max, h.encoding_max);
    if (!(h.hi > h.lo)) h.hi = h.lo + 1e-6;
    h.counts.assign(size_t(bins), 0);
  }
  void count(std::span<const float> v) {
    const double width = (h.hi - h.lo) / double(h.counts.size());
    for (float x : v) {
      if (!std::isfinite(x)) continue;
      const double b = std::floor((double(x) - h.lo) / width);
      const size_t i = size_t(std::clamp(b, 0.0, double(h.counts.size() - 1)));
      h.counts[i]++;
      h.values++;
    }
  }
};

}  // namespace

std::vector<ValueHistogram> value_histograms(const QuantSim& sim, const SampleBatch& data,
                                             int threads, int64_t samples, int bins) {
  OCTET_CHECK(bins > 0 && bins <= 4096, "value histograms: ", bins, " bins (1 to 4096)");
  const Graph& model = sim.model();
  std::vector<Accumulator> acc;
  std::vector<size_t> activations;  // indices into acc
  for (const Quantizer& q : sim.quantizers()) {
    if (!q.enabled || !q.encoding) continue;
    Accumulator a;
    a.h.tensor = q.tensor;
    a.h.param = q.role == QuantizerRole::kParam;
    a.h.encoding_min = std::numeric_limits<double>::infinity();
    a.h.encoding_max = -std::numeric_limits<double>::infinity();
    for (const Encoding& e : q.encoding->encodings) {
      a.h.encoding_min = std::min(a.h.encoding_min, e.min);
      a.h.encoding_max = std::max(a.h.encoding_max, e.max);
    }
    const TensorInfo& t = model.tensor(model.require_tensor(q.tensor));
    if (a.h.param) {
      if (!t.is_constant() || t.dtype != DType::kF32) continue;
      const std::span<const float> v(t.data->as<float>(), size_t(checked_numel(t.shape.concrete())));
      a.see(v);
      a.set_bins(bins);
      a.count(v);
    } else {
      if (t.dtype != DType::kF32 && t.dtype != DType::kUndefined) continue;
      activations.push_back(acc.size());
    }
    acc.push_back(std::move(a));
  }

  const int64_t rows = std::min<int64_t>(data.rows(), samples);
  if (!activations.empty() && rows > 0) {
    auto g = std::make_shared<Graph>(model);
    for (TensorInfo& t : g->tensors) t.quant = QuantParams{};
    std::unordered_map<std::string, size_t> input_index;  // model inputs read from the data
    for (size_t k = 0; k < data.inputs.size(); ++k) input_index[data.inputs[k].name] = k;
    std::vector<std::pair<size_t, size_t>> from_output;  // (accumulator, session output)
    std::vector<std::pair<size_t, size_t>> from_input;   // (accumulator, data input)
    for (size_t a : activations) {
      const TensorId id = g->require_tensor(acc[a].h.tensor);
      if (g->is_graph_input(id)) {
        auto it = input_index.find(acc[a].h.tensor);
        if (it != input_index.end()) from_input.push_back({a, it->second});
        continue;
      }
      auto pos = std::find(g->outputs.begin(), g->outputs.end(), id);
      if (pos == g->outputs.end()) pos = g->outputs.insert(g->outputs.end(), id);
      from_output.push_back({a, size_t(pos - g->outputs.begin())});
    }
    SessionOptions so;
    so.optimize = false;
    so.threads = threads;
    for (const HostTensor& t : data.slice(0, 1).inputs) so.input_shapes[t.name] = t.dims;
    Session session(g, so);
    // Two passes over the rows: the observed range first, then the counts in bins spanning it.
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1)
        for (size_t a : activations) acc[a].set_bins(bins);
      for (int64_t s = 0; s < rows; ++s) {
        const SampleBatch row = data.slice(s, s + 1);
        const std::vector<HostTensor> out = from_output.empty() ? std::vector<HostTensor>{}
                                                                : session.run(row.inputs);
        for (const auto& [a, k] : from_output) {
          const auto v = out[k].values<float>();
          pass == 0 ? acc[a].see(v) : acc[a].count(v);
        }
        for (const auto& [a, k] : from_input) {
          if (row.inputs[k].dtype != DType::kF32) continue;
          const auto v = row.inputs[k].values<float>();
          pass == 0 ? acc[a].see(v) : acc[a].count(v);
        }
      }
    }
  }
  std::vector<ValueHistogram> out;
  for (Accumulator& a : acc)
    if (!a.h.counts.empty()) out.push_back(std::move(a.h));
  return out;
}

}  // namespace octet::quant
