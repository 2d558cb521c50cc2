// Runs a graph over samples the way calibration and the post-training steps need it: cut to
// the model's batch size, one Session per distinct set of input shapes (the last batch of a
// set is often shorter).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "engine/session.h"
#include "quant/data_stream.h"

namespace octet::quant {

// The batch the model fixes on its first fed input, else `fallback` (must be positive).
int64_t model_batch_size(const Graph& g, int64_t fallback);

class BatchRunner {
 public:
  // `graph` with the outputs the caller wants; `default_batch` where the model's is symbolic.
  BatchRunner(std::shared_ptr<const Graph> graph, int threads, int64_t default_batch);

  // One run on `batch` as it is (its rows at most the model's batch).
  std::vector<HostTensor> run(const SampleBatch& batch);
  // Every model batch of the first `limit` rows of `samples` (all when limit <= 0), in order:
  // `visit(batch, outputs)`.
  void for_each(const SampleBatch& samples, int64_t limit,
                const std::function<void(const SampleBatch&, std::vector<HostTensor>&)>& visit);

 private:
  std::shared_ptr<const Graph> graph_;
  int threads_;
  int64_t model_batch_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
};

}  // namespace octet::quant
