#include "quant/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "engine/session.h"

namespace octet::quant {

namespace {

// An input to feed and the shape to prepare it for.
struct InputPlan {
  std::string name;
  DType dtype;
  Dims dims;  // batch first
};

// Per-sample dims from the model where known, from the data otherwise; the batch from
// --shape, the model, or the option (the same for every input: samples are sliced together).
std::vector<InputPlan> plan_inputs(const Graph& g, const SampleBatch& data, const EvalOptions& o) {
  OCTET_CHECK(data.rows() > 0, "the data must hold at least one sample along its first dimension");
  std::vector<InputPlan> plans;
  for (const HostTensor& x : data.inputs) {
    const TensorInfo& t = g.tensor(g.require_tensor(x.name));
    InputPlan p{t.name, x.dtype, {}};
    if (auto it = o.shapes.find(t.name); it != o.shapes.end()) {
      p.dims = it->second;
    } else if (!t.shape.has_rank) {
      p.dims = x.dims;
      p.dims[0] = o.batch;
    } else {
      OCTET_CHECK(t.shape.rank() >= 1, "input '", t.name, "' is a scalar; eval needs a batch dimension");
      const size_t rank = t.shape.rank();
      p.dims.resize(rank);
      p.dims[0] = t.shape.dims[0].is_known() ? t.shape.dims[0].value : o.batch;
      for (size_t i = 1; i < rank; ++i) {
        const Dim& d = t.shape.dims[i];
        if (d.is_known()) p.dims[i] = d.value;
        else if (x.dims.size() == rank) p.dims[i] = x.dims[i];
        else fail("input '", t.name, "' ", t.shape.to_string(), " has an unknown dimension ", i,
                  " and the data ", dims_to_string(x.dims), " has another rank; use --shape");
      }
    }
    OCTET_CHECK(!p.dims.empty() && p.dims[0] > 0, "input '", t.name, "' has no batch dimension");
    const int64_t sample_numel = checked_numel(Dims(p.dims.begin() + 1, p.dims.end()));
    const int64_t data_numel = checked_numel(Dims(x.dims.begin() + 1, x.dims.end()));
    OCTET_CHECK(sample_numel == data_numel, "one sample of the data for input '", t.name, "' has shape ",
                dims_to_string(Dims(x.dims.begin() + 1, x.dims.end())), " (", data_numel,
                " values) but the input takes ", dims_to_string(Dims(p.dims.begin() + 1, p.dims.end())),
                " (", sample_numel, " values)");
    OCTET_CHECK(plans.empty() || p.dims[0] == plans[0].dims[0], "input '", t.name, "' takes batches of ",
                p.dims[0], " but input '", plans[0].name, "' of ", plans[0].dims[0],
                ": the samples of all inputs are sliced together (use --shape)");
    plans.push_back(std::move(p));
  }
  return plans;
}

}  // namespace

EvalResult evaluate(std::shared_ptr<const Graph> model, const HostTensor& data,
                    const HostTensor* labels, const EvalOptions& o) {
  OCTET_CHECK(model, "no model");
  return evaluate(model, single_input_batch(*model, data), labels, o);
}

EvalResult evaluate(std::shared_ptr<const Graph> model, const SampleBatch& data,
                    const HostTensor* labels, const EvalOptions& o) {
  OCTET_CHECK(model, "no model");
  const Graph& g = *model;
  OCTET_CHECK(data.inputs.size() == fed_inputs(g).size(), "eval: ", data.inputs.size(),
              " tensors of samples for a model with ", fed_inputs(g).size(), " inputs");
  const std::vector<InputPlan> plans = plan_inputs(g, data, o);
  const int64_t n = data.rows();

  std::vector<int64_t> label_values;
  if (labels) {
    OCTET_CHECK(labels->numel() == n, "the labels hold ", labels->numel(), " values for ", n,
                " samples");
    OCTET_CHECK(dtype_is_integer(labels->dtype) || dtype_is_float(labels->dtype),
                "labels must be numbers, got ", dtype_name(labels->dtype));
    for (int64_t i = 0; i < n; ++i) {
      double v = element_as_double(*labels, i);
      OCTET_CHECK(std::isfinite(v) && v == std::floor(v), "label ", i, " is not an integer: ", v);
      label_values.push_back(static_cast<int64_t>(v));
    }
  }

  SessionOptions so;
  so.threads = o.threads;
  so.mode = o.mode;
  so.target = o.target;
  so.input_shapes = o.shapes;
  for (const InputPlan& p : plans) so.input_shapes[p.name] = p.dims;
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  Session session(model, so);
  EvalResult r;
  r.prepare_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  r.batch = static_cast<int>(plans[0].dims[0]);
  r.input_dims = plans[0].dims;
  for (const InputPlan& p : plans) r.inputs.emplace_back(p.name, p.dims);
  r.samples = n;
  r.has_labels = labels != nullptr;

  std::vector<HostTensor> feeds;
  std::vector<size_t> row_bytes;
  for (size_t k = 0; k < plans.size(); ++k) {
    HostTensor in;
    in.name = plans[k].name;
    in.dtype = plans[k].dtype;
    in.dims = plans[k].dims;
    row_bytes.push_back(dtype_storage_bytes(in.dtype, checked_numel(Dims(in.dims.begin() + 1, in.dims.end()))));
    in.bytes.assign(row_bytes[k] * static_cast<size_t>(r.batch), std::byte{0});
    feeds.push_back(std::move(in));
  }

  // Running statistics per output (Welford-free: sums in double are plenty here).
  struct Acc {
    double sum = 0, sum2 = 0, lo = INFINITY, hi = -INFINITY;
    int64_t count = 0, nan = 0;
  };
  std::vector<Acc> acc;
  std::vector<std::string> out_names;

  for (int64_t start = 0; start < n; start += r.batch) {
    const int64_t rows = std::min<int64_t>(r.batch, n - start);
    for (size_t k = 0; k < feeds.size(); ++k) {
      std::memcpy(feeds[k].bytes.data(), data.inputs[k].bytes.data() + start * row_bytes[k], rows * row_bytes[k]);
      if (rows < r.batch)
        std::fill(feeds[k].bytes.begin() + rows * row_bytes[k], feeds[k].bytes.end(), std::byte{0});
    }
    auto t1 = clock::now();
    std::vector<HostTensor> outs = session.run(feeds);
    r.seconds += std::chrono::duration<double>(clock::now() - t1).count();
    if (acc.empty()) {
      acc.resize(outs.size());
      for (const HostTensor& t : outs) out_names.push_back(t.name);
      OCTET_CHECK(!outs.empty(), "the model has no outputs");
    }
    if (o.keep_outputs && r.outputs.empty())
      for (const HostTensor& t : outs)
        r.outputs.push_back({t.name, t.dims.empty() ? Dims{} : Dims(t.dims.begin() + 1, t.dims.end()), {}});
    for (size_t k = 0; k < outs.size(); ++k) {
      const HostTensor& t = outs[k];
      if (dtype_size(t.dtype) == 0 || t.dtype == DType::kF16) continue;
      if (o.keep_outputs) {
        OCTET_CHECK(!t.dims.empty() && t.dims[0] == r.batch, "output '", t.name, "' has shape ",
                    dims_to_string(t.dims), ", not a batch of ", r.batch, " rows; cannot keep it per sample");
        const int64_t per = t.numel() / r.batch;
        for (int64_t i = 0; i < per * rows; ++i)
          r.outputs[k].values.push_back(static_cast<float>(element_as_double(t, i)));
      }
      // Only rows that hold real samples count, when the output is batched.
      int64_t total = t.numel();
      int64_t limit = (!t.dims.empty() && t.dims[0] == r.batch) ? total / r.batch * rows : total;
      for (int64_t i = 0; i < limit; ++i) {
        double v = element_as_double(t, i);
        if (std::isnan(v)) {
          ++acc[k].nan;
          continue;
        }
        acc[k].sum += v;
        acc[k].sum2 += v * v;
        acc[k].lo = std::min(acc[k].lo, v);
        acc[k].hi = std::max(acc[k].hi, v);
        ++acc[k].count;
      }
    }
    // Classification on output 0: per sample, the scores are its row.
    const HostTensor& scores = outs[0];
    const bool batched = !scores.dims.empty() && scores.dims[0] == r.batch;
    OCTET_CHECK(batched || (!labels && !o.keep_scores), "output '", scores.name, "' has shape ",
                dims_to_string(scores.dims), ", not a batch of ", r.batch, " rows; cannot score samples");
    const int64_t classes = batched ? scores.numel() / r.batch : 0;
    r.classes = classes;
    if (classes > 0 && classes <= 1000 && r.predicted_counts.empty())
      r.predicted_counts.assign(static_cast<size_t>(classes), 0);
    if (classes > 0 && dtype_size(scores.dtype) > 0 && scores.dtype != DType::kF16) {
      std::vector<double> row(static_cast<size_t>(classes));
      for (int64_t s = 0; s < rows; ++s) {
        for (int64_t c = 0; c < classes; ++c) row[c] = element_as_double(scores, s * classes + c);
        if (o.keep_scores) r.scores.insert(r.scores.end(), row.begin(), row.end());
        int64_t best = std::max_element(row.begin(), row.end()) - row.begin();
        if (!r.predicted_counts.empty()) ++r.predicted_counts[best];
        if (!labels) continue;
        int64_t label = label_values[start + s];
        if (label < 0 || label >= classes) continue;  // never correct
        if (best == label) ++r.top1;
        // Rank of the label: how many scores beat it (ties count for the label).
        int64_t better = 0;
        for (int64_t c = 0; c < classes; ++c) better += row[c] > row[label];
        if (better < 5) ++r.top5;
      }
    }
    if (o.progress) o.progress(start + rows, n);
  }

  for (size_t k = 0; k < acc.size(); ++k) {
    OutputStats s;
    s.name = out_names[k];
    s.count = acc[k].count;
    s.nan = acc[k].nan;
    if (s.count) {
      s.min = acc[k].lo;
      s.max = acc[k].hi;
      s.mean = acc[k].sum / double(s.count);
      s.stddev = std::sqrt(std::max(0.0, acc[k].sum2 / double(s.count) - s.mean * s.mean));
    }
    r.stats.push_back(s);
  }
  return r;
}

}  // namespace octet::quant
