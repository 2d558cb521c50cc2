// Runs a data set through a model in slices of the model's batch size: top-1/top-5 accuracy
// of the first output with labels, statistics of every output without (`octet eval`, `demo`,
// `autoquant`).
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

struct EvalOptions {
  int batch = 32;      // used when the model's batch dimension is symbolic
  int threads = 1;
  ExecutionMode mode = ExecutionMode::kFloat;
  std::string target = "onnxruntime";  // profile for int / exact on a model with encodings
  // Called after each slice with the samples done and the total.
  std::function<void(int64_t done, int64_t total)> progress;
  bool keep_scores = false;   // keep output 0 of every sample in EvalResult::scores
  bool keep_outputs = false;  // keep every output of every sample in EvalResult::outputs
  std::map<std::string, Dims> shapes;  // --shape: fixes the input shape (incl. batch)
};

struct OutputStats {
  std::string name;
  int64_t count = 0, nan = 0;
  double min = 0, max = 0, mean = 0, stddev = 0;
};

struct EvalResult {
  int64_t samples = 0;
  int batch = 0;
  Dims input_dims;  // the prepared shape of the first input (batch first)
  std::vector<std::pair<std::string, Dims>> inputs;  // every input's prepared shape
  bool has_labels = false;
  int64_t classes = 0;  // scores per sample in output 0
  int64_t top1 = 0, top5 = 0;
  std::vector<int64_t> predicted_counts;  // argmax histogram of output 0 (if <= 1000 classes)
  std::vector<OutputStats> stats;
  double seconds = 0;  // time in Session::run
  double prepare_seconds = 0;
  std::vector<float> scores;  // samples x classes, with keep_scores
  struct KeptOutput {
    std::string name;
    Dims sample_dims;           // one sample's shape (the batched output without axis 0)
    std::vector<float> values;  // samples x numel(sample_dims), with keep_outputs
  };
  std::vector<KeptOutput> outputs;
};

// `labels` may be null. Throws octet::Error on shape/dtype mismatches. `data` holds a tensor
// per model input (quant/data_stream.h), or one tensor for a one-input model.
EvalResult evaluate(std::shared_ptr<const Graph> model, const SampleBatch& data,
                    const HostTensor* labels, const EvalOptions& options);
EvalResult evaluate(std::shared_ptr<const Graph> model, const HostTensor& data,
                    const HostTensor* labels, const EvalOptions& options);

}  // namespace octet::quant
