// Whole fixture models against PyTorch's outputs (tests/data, made by tools/make_fixtures.py).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "loaders/octet_format.h"
#include "engine/prepare_graph.h"
#include "engine/thread_budget.h"
#include "tests/support/test_paths.h"

using namespace octet;

namespace {

using octet::test::data_path;

int64_t argmax_row(std::span<const float> v, int64_t row, int64_t classes) {
  int64_t best = 0;
  for (int64_t c = 1; c < classes; ++c)
    if (v[row * classes + c] > v[row * classes + best]) best = c;
  return best;
}

struct Fidelity {
  double max_rel_excess = 0;  // max of |a-b| - (1e-4*|b| + 1e-5); <= 0 means within tolerance
  int64_t correct = 0;
  int64_t golden_correct = 0;
};

// Runs all test images through `model` in batches and compares with the golden logits.
Fidelity run_mnist(std::shared_ptr<const Graph> model, const std::string& golden_file, int threads) {
  HostTensor images = load_npy_dataset(data_path("mnist_test"));
  HostTensor labels = load_npy(data_path("mnist_test_labels.npy"));
  HostTensor golden = load_npy(data_path(golden_file));
  const int64_t n = images.dims[0], batch = 250, classes = golden.dims[1];
  REQUIRE(n == 1000);
  SessionOptions opt;
  opt.threads = threads;
  std::string input = model->tensor(model->inputs[0]).name;
  opt.input_shapes[input] = {batch, 1, 28, 28};
  Session session(model, opt);
  Fidelity f;
  f.max_rel_excess = -1;
  auto gold = golden.values<float>();
  auto lab = labels.values<int64_t>();
  for (int64_t b = 0; b < n; b += batch) {
    HostTensor x = slice_rows(images, b, b + batch);
    x.name = input;
    auto out = session.run({x});
    REQUIRE(out[0].dims == Dims{batch, classes});
    auto y = out[0].values<float>();
    for (int64_t i = 0; i < batch * classes; ++i) {
      double g = gold[b * classes + i];
      f.max_rel_excess = std::max(f.max_rel_excess, std::fabs(y[i] - g) - (1e-4 * std::fabs(g) + 1e-5));
    }
    for (int64_t r = 0; r < batch; ++r) {
      f.correct += argmax_row(y, r, classes) == lab[b + r];
      f.golden_correct += argmax_row(gold, b + r, classes) == lab[b + r];
    }
  }
  return f;
}

void check_model(const std::string& file, const std::string& golden) {
  auto model = load_model(data_path(file));
  check_ops_supported(*model, file);
  for (int threads : {1, 2}) {
    CAPTURE(file);
    CAPTURE(threads);
    Fidelity f = run_mnist(model, golden, threads);
    CHECK(f.max_rel_excess <= 0);
    CHECK(f.correct == f.golden_correct);
    CHECK(f.golden_correct > 970);
    MESSAGE(file << " threads=" << threads << ": accuracy " << f.correct / 10.0 << "% (PyTorch "
                 << f.golden_correct / 10.0 << "%)");
  }
}

}  // namespace

TEST_CASE("models: MNIST MobileNet-style matches PyTorch") { check_model("mnist_mobilenet.onnx", "mnist_mobilenet.golden.npy"); }
TEST_CASE("models: MNIST ResNet-style matches PyTorch") { check_model("mnist_resnet.onnx", "mnist_resnet.golden.npy"); }
TEST_CASE("models: opset 9 with Constant nodes") { check_model("mnist_resnet_opset9_constants.onnx", "mnist_resnet.golden.npy"); }
TEST_CASE("models: external data") { check_model("mnist_mobilenet_external.onnx", "mnist_mobilenet.golden.npy"); }

TEST_CASE("models: .octet round trip gives identical outputs") {
  for (std::string file : {"mnist_mobilenet.onnx", "mnist_resnet.onnx"}) {
    auto onnx_model = load_model(data_path(file));
    std::string path = (std::filesystem::temp_directory_path() / (file + ".octet")).string();
    save_octet(*onnx_model, path);
    auto octet_model = load_model(path);
    HostTensor images = load_npy_dataset(data_path("mnist_test"));
    HostTensor x = slice_rows(images, 0, 16);
    x.name = onnx_model->tensor(onnx_model->inputs[0]).name;
    SessionOptions opt;
    opt.input_shapes[x.name] = x.dims;
    auto a = Session(onnx_model, opt).run({x});
    auto b = Session(octet_model, opt).run({x});
    CHECK(a[0].bytes == b[0].bytes);
  }
}

TEST_CASE("models: op zoo matches PyTorch") {
  auto model = load_model(data_path("opzoo.onnx"));
  HostTensor x = load_npy(data_path("opzoo_input.npy"));
  x.name = model->tensor(model->inputs[0]).name;
  for (int threads : {1, 2}) {
    SessionOptions opt;
    opt.threads = threads;
    opt.input_shapes[x.name] = x.dims;
    auto out = Session(model, opt).run({x});
    for (const HostTensor& o : out) {
      std::string golden = data_path("opzoo.golden." + o.name + ".npy");
      if (!std::filesystem::exists(golden)) golden = data_path("opzoo.golden.npy");
      HostTensor g = load_npy(golden);
      CAPTURE(o.name);
      REQUIRE(o.dims == g.dims);
      auto y = o.values<float>();
      auto e = g.values<float>();
      double worst = -1;
      for (size_t i = 0; i < y.size(); ++i)
        worst = std::max(worst, std::fabs(y[i] - e[i]) - (1e-4 * std::fabs(e[i]) + 1e-5));
      CHECK(worst <= 0);
    }
  }
}

TEST_CASE("models: sessions on one model run concurrently") {
  auto model = load_model(data_path("mnist_resnet.onnx"));
  HostTensor images = load_npy_dataset(data_path("mnist_test"));
  HostTensor x = slice_rows(images, 0, 8);
  x.name = model->tensor(model->inputs[0]).name;
  SessionOptions opt;
  opt.input_shapes[x.name] = x.dims;
  const std::vector<std::byte> expected = Session(model, opt).run({x})[0].bytes;
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      Session s(model, opt);
      for (int r = 0; r < 5; ++r)
        if (s.run({x})[0].bytes != expected) mismatches[w]++;
    });
  for (auto& t : workers) t.join();
  for (int m : mismatches) CHECK(m == 0);
}

TEST_CASE("models: node profile and per-node thread budget") {
  auto model = load_model(data_path("mnist_resnet.onnx"));
  HostTensor images = load_npy_dataset(data_path("mnist_test"));
  for (int64_t batch : {1, 64}) {
    CAPTURE(batch);
    HostTensor x = slice_rows(images, 0, batch);
    x.name = model->tensor(model->inputs[0]).name;
    SessionOptions opt;
    opt.input_shapes[x.name] = x.dims;
    opt.threads = 4;
    opt.profile = true;
    Session s(model, opt);
    for (int r = 0; r < 3; ++r) s.run({x});
    const std::vector<NodeProfile> prof = s.node_profile();
    REQUIRE(prof.size() == s.prepared_graph().nodes.size());
    double total = 0;
    int threaded = 0;
    for (size_t n = 0; n < prof.size(); ++n) {
      const Node& node = s.prepared_graph().nodes[n];
      CHECK(prof[n].runs == 3);
      CHECK(prof[n].seconds >= 0);
      CHECK(prof[n].threads == threads_for_node(s.prepared_graph(), node, 4));
      CHECK(prof[n].threads >= 1);
      CHECK(prof[n].threads <= 4);
      // Every thread gets at least the minimum work (a node with less runs on one).
      if (prof[n].threads > 1)
        CHECK(estimate_node_work(s.prepared_graph(), node) >=
              int64_t(prof[n].threads) * kMinWorkPerThread);
      threaded += prof[n].threads > 1;
      total += prof[n].seconds;
    }
    CHECK(total > 0);
    // MNIST at batch 1 is too small to share; at batch 64 the convolutions are not.
    if (batch == 1) CHECK(threaded == 0);
    else CHECK(threaded > 0);
    s.reset_profile();
    CHECK(s.node_profile()[0].runs == 0);
  }
  SessionOptions plain;
  plain.input_shapes[model->tensor(model->inputs[0]).name] = {1, 1, 28, 28};
  CHECK(Session(model, plain).node_profile().empty());
}
