// Shared by the ptq tests: MNIST fixtures and accuracy in qdq mode.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "engine/session.h"
#include "loaders/npy.h"
#include "quant/data_stream.h"
#include "tests/support/test_paths.h"

namespace octet::ptq_test {

inline std::string data_path(const std::string& name) {
  return octet::test::data_path(name);
}

inline const HostTensor& test_images() {
  static const HostTensor images = load_npy_dataset(data_path("mnist_test"));
  return images;
}
inline const HostTensor& test_labels() {
  static const HostTensor labels = load_npy(data_path("mnist_test_labels.npy"));
  return labels;
}
inline const HostTensor& calib_images() {
  static const HostTensor images = load_npy(data_path("mnist_calib_images.npy"));
  return images;
}

// The first `n` calibration images (all when n <= 0), feeding the MNIST fixtures' input.
inline quant::SampleBatch mnist_calib(int64_t n = 0) {
  const HostTensor& images = calib_images();
  HostTensor x = slice_rows(images, 0, n > 0 ? std::min(n, images.dims[0]) : images.dims[0]);
  x.name = "input";
  return quant::SampleBatch{{x}};
}

// Top-1 accuracy in percent on the 1000 MNIST test images (qdq mode: float when the model
// carries no encodings).
inline double accuracy(std::shared_ptr<const Graph> model, int threads = 2) {
  const HostTensor& images = test_images();
  const HostTensor& labels = test_labels();
  const int64_t batch = 250;
  SessionOptions opt;
  opt.mode = ExecutionMode::kQdq;
  opt.threads = threads;
  const std::string input = model->tensor(model->inputs[0]).name;
  opt.input_shapes[input] = {batch, 1, 28, 28};
  Session s(model, opt);
  int64_t correct = 0, total = 0;
  for (int64_t b = 0; b < images.dims[0]; b += batch) {
    HostTensor x = slice_rows(images, b, b + batch);
    x.name = input;
    const std::vector<HostTensor> out = s.run({x});
    auto y = out[0].values<float>();
    for (int64_t r = 0; r < batch; ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < 10; ++c)
        if (y[r * 10 + c] > y[r * 10 + best]) best = c;
      correct += best == labels.values<int64_t>()[b + r];
      total++;
    }
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(total);
}

}  // namespace octet::ptq_test
