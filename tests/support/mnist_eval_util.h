// Running a model over the MNIST test images in batches of 250: logits, top-1 accuracy and
// what the session chose (kernels, integer lowering). Shared by the whole-network tests.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/session.h"
#include "loaders/npy.h"
#include "tests/support/test_paths.h"

namespace octet::testing {

inline std::string test_data(const std::string& name) {
  return octet::test::data_path(name);
}

struct MnistRun {
  std::vector<float> logits;
  int64_t correct = 0, total = 0;
  std::vector<KernelChoice> kernels;
  double percent() const { return 100.0 * double(correct) / double(total); }
};

// The first `images` test images (all by default) through `model` in `mode`.
inline MnistRun run_mnist(std::shared_ptr<const Graph> model, ExecutionMode mode, int threads,
                          const std::string& target = "onnxruntime",
                          LoweringReport* report = nullptr, int64_t images = INT64_MAX) {
  static const HostTensor all = load_npy_dataset(test_data("mnist_test"));
  static const HostTensor labels = load_npy(test_data("mnist_test_labels.npy"));
  const int64_t batch = 250, count = std::min(images, all.dims[0]);
  SessionOptions opt;
  opt.mode = mode;
  opt.threads = threads;
  opt.target = target;
  const std::string input = model->tensor(model->inputs[0]).name;
  opt.input_shapes[input] = {batch, 1, 28, 28};
  Session s(model, opt);
  if (report && s.lowering_report()) *report = *s.lowering_report();
  MnistRun r;
  r.kernels = s.kernel_choices();
  for (int64_t b = 0; b < count; b += batch) {
    HostTensor x = slice_rows(all, b, b + batch);
    x.name = input;
    const std::vector<HostTensor> out = s.run({x});
    auto y = out[0].values<float>();
    r.logits.insert(r.logits.end(), y.begin(), y.end());
    for (int64_t i = 0; i < batch; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < 10; ++c)
        if (y[i * 10 + c] > y[i * 10 + best]) best = c;
      r.correct += best == labels.values<int64_t>()[b + i];
      r.total++;
    }
  }
  return r;
}

inline bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

}  // namespace octet::testing
