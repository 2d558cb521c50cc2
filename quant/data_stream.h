// Samples for a model, streamed batch by batch with one batch in memory at a time:
// calibration memory stays bounded by the largest file.
//
// A data spec, as `--data` takes it (repeatable):
//   FILE       a .npy (models with one input), a .npz holding one array per model input
//              (keys = input names, as np.savez(f, name=array) writes them), or a folder of
//              either: one batch per file, in file-name order
//   NAME=FILE  the samples of input NAME: a .npy or a folder of them; one spec per input,
//              their files read side by side
// Samples lie along axis 0. Float inputs take any numeric data (converted to the input's
// type); integer inputs take integer data whose values fit the input's type.
#pragma once
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/host_tensor.h"

namespace octet::quant {

// A tensor per fed model input, named after it, all with the same number of samples.
struct SampleBatch {
  std::vector<HostTensor> inputs;
  int64_t rows() const { return inputs.empty() || inputs[0].dims.empty() ? 0 : inputs[0].dims[0]; }
  SampleBatch slice(int64_t begin, int64_t end) const;
  // The shapes of all inputs, "a[1,3,8,8] b[1,4]", for messages and as a key.
  std::string shapes() const;
};

// The inputs data feeds: the graph inputs that are not initializers.
std::vector<TensorId> fed_inputs(const Graph& g);
// One tensor for a one-input model: named after that input.
SampleBatch single_input_batch(const Graph& g, const HostTensor& samples);

class SampleStream {
 public:
  SampleStream(const std::vector<std::string>& specs, const Graph& model);
  // The next batch; false at the end. Errors name the file, the input and what differs.
  bool next(SampleBatch& out);
  int64_t total_samples() const { return total_; }

 private:
  struct Source {
    std::string input;               // the model input, or empty: a .npz feeding them all
    std::vector<std::string> files;  // read in this order
  };
  SampleBatch read(size_t index) const;
  int64_t check_headers(size_t index) const;  // .npy sources: samples in batch `index`

  std::vector<Source> sources_;
  std::vector<TensorId> inputs_;
  const Graph* model_;
  size_t index_ = 0, count_ = 0;
  int64_t total_ = 0;
};

// Every sample of the specs joined along axis 0, or the first `limit` (limit > 0).
SampleBatch load_samples(const std::vector<std::string>& specs, const Graph& model, int64_t limit = 0);

}  // namespace octet::quant
