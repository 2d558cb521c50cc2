// Uses the installed octet package: builds a one-node graph in code and runs it through a
// Session; exercises the ONNX loader's error path (links protobuf); optionally loads the
// model given as argv[1] and prints its inputs.
#include <cstdio>
#include <memory>
#include <string>

#include "base/error.h"
#include "engine/graph.h"
#include "engine/session.h"
#include "engine/xtensor_view.h"
#include "loaders/model_loader.h"
#include "loaders/onnx_loader.h"

int main(int argc, char** argv) {
  using namespace octet;
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  TensorInfo x{"x", DType::kF32, Shape::of({2, 3})};
  TensorInfo y{"y", DType::kF32, Shape::of({2, 3})};
  TensorId xi = g->add_tensor(x), yi = g->add_tensor(y);
  g->inputs.push_back(xi);
  g->outputs.push_back(yi);
  g->nodes.push_back(Node{"copy", "Identity", {xi}, {yi}, {}});

  Session session(g);
  auto out = session.run({HostTensor::from<float>("x", {2, 3}, {1, 2, 3, 4, 5, 6})});
  if (out.size() != 1 || out[0].dims != Dims{2, 3} || out[0].values<float>()[5] != 6.f) {
    std::fprintf(stderr, "install check: wrong output\n");
    return 1;
  }
  const auto view = xtensor_view<float>(out[0]);  // zero-copy, shaped like the tensor
  if (view(1, 2) != 6.f || view.data() != out[0].values<float>().data()) {
    std::fprintf(stderr, "install check: the xtensor view does not show the output in place\n");
    return 1;
  }

  try {
    load_onnx_bytes("not a model", 11, "bytes", ".");
    std::fprintf(stderr, "install check: a bad model was accepted\n");
    return 1;
  } catch (const Error& e) {
    std::printf("install check: bad model rejected: %s\n", e.what());
  }

  if (argc > 1) {
    // Run the model with every unknown input dimension set to 1 and zero inputs.
    auto model = load_model(argv[1]);
    SessionOptions options;
    std::vector<HostTensor> feeds;
    for (TensorId id : model->inputs) {
      const TensorInfo& t = model->tensor(id);
      Dims dims;
      for (const Dim& d : t.shape.dims) dims.push_back(d.is_known() ? d.value : 1);
      options.input_shapes[t.name] = dims;
      HostTensor h;
      h.name = t.name;
      h.dtype = t.dtype;
      h.dims = dims;
      h.bytes.assign(dtype_storage_bytes(t.dtype, checked_numel(dims)), std::byte{0});
      feeds.push_back(std::move(h));
    }
    Session model_session(model, options);
    auto outputs = model_session.run(feeds);
    if (outputs.empty()) {
      std::fprintf(stderr, "install check: %s produced no output\n", argv[1]);
      return 1;
    }
    std::printf("install check: ran %s (%zu nodes): output '%s' %s\n", argv[1],
                model->nodes.size(), outputs[0].name.c_str(), dims_to_string(outputs[0].dims).c_str());
  }
  std::printf("install check: ok (Identity ran, arena %zu bytes)\n", session.arena_bytes());
  return 0;
}
