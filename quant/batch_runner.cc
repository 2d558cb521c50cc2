#include "quant/batch_runner.h"

#include <algorithm>

#include "base/error.h"

namespace octet::quant {

int64_t model_batch_size(const Graph& g, int64_t fallback) {
  const std::vector<TensorId> inputs = fed_inputs(g);
  OCTET_CHECK(!inputs.empty(), "the model has no inputs to feed");
  const TensorInfo& first = g.tensor(inputs[0]);
  if (first.shape.has_rank && first.shape.rank() > 0 && first.shape.dims[0].is_known())
    return first.shape.dims[0].value;
  OCTET_CHECK(fallback > 0, "batch size must be positive, got ", fallback);
  return fallback;
}

BatchRunner::BatchRunner(std::shared_ptr<const Graph> graph, int threads, int64_t default_batch)
    : graph_(std::move(graph)), threads_(threads), model_batch_(model_batch_size(*graph_, default_batch)) {}

std::vector<HostTensor> BatchRunner::run(const SampleBatch& batch) {
  auto& s = sessions_[batch.shapes()];
  if (!s) {
    SessionOptions so;
    so.threads = threads_;
    for (const HostTensor& t : batch.inputs) so.input_shapes[t.name] = t.dims;
    s = std::make_unique<Session>(graph_, so);
  }
  return s->run(batch.inputs);
}

void BatchRunner::for_each(const SampleBatch& samples, int64_t limit,
                           const std::function<void(const SampleBatch&, std::vector<HostTensor>&)>& visit) {
  const int64_t total = limit > 0 ? std::min(limit, samples.rows()) : samples.rows();
  for (int64_t b = 0; b < total; b += model_batch_) {
    const SampleBatch x = samples.slice(b, std::min(total, b + model_batch_));
    std::vector<HostTensor> outs = run(x);
    visit(x, outs);
  }
}

}  // namespace octet::quant
