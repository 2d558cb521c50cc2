// libFuzzer target: a fuzzed ONNX model runs once alone, then from two threads at once on the
// same Session and on two Sessions sharing the model (2 kernel threads each): every concurrent
// run must give the bytes of the run alone (a Session runs one inference at a time; sessions
// share only the read-only model), else the target aborts. A run that fails must fail the same
// way concurrently. Inputs and the memory cap: tests/fuzz/fuzz_inputs.h.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "engine/session.h"
#include "loaders/onnx_loader.h"
#include "tests/fuzz/fuzz_inputs.h"

namespace {

// The outputs of one run, or its error message.
struct Outcome {
  std::vector<octet::HostTensor> outputs;
  std::optional<std::string> error;
};

Outcome run(octet::Session& session, const std::vector<octet::HostTensor>& inputs) {
  Outcome o;
  try {
    o.outputs = session.run(inputs);
  } catch (const octet::Error& e) {
    o.error = e.what();
  }
  return o;
}

void require_same(const Outcome& alone, const Outcome& concurrent, const char* how) {
  bool same = alone.error == concurrent.error && alone.outputs.size() == concurrent.outputs.size();
  for (size_t i = 0; same && i < alone.outputs.size(); ++i)
    same = alone.outputs[i].dims == concurrent.outputs[i].dims &&
           alone.outputs[i].bytes == concurrent.outputs[i].bytes;
  if (same) return;
  std::fprintf(stderr, "a run %s differs from the run alone\n", how);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<octet::Graph> model;
  octet::SessionOptions options;
  options.max_memory_bytes = octet::fuzz::kMemoryLimit;
  options.threads = 2;
  std::vector<octet::HostTensor> inputs;
  try {
    model = octet::load_onnx_bytes(data, size, "fuzz.onnx", "/nonexistent-octet-fuzz");
    if (!octet::fuzz::make_inputs(*model, options, inputs)) return 0;
  } catch (const octet::Error&) {
    return 0;
  }
  std::optional<octet::Session> first, second;
  try {
    first.emplace(model, options);
    second.emplace(model, options);
  } catch (const octet::Error&) {
    return 0;
  }
  const Outcome alone = run(*first, inputs);
  Outcome a, b;
  std::thread t([&] { a = run(*first, inputs); });
  b = run(*first, inputs);
  t.join();
  require_same(alone, a, "on a shared Session");
  require_same(alone, b, "on a shared Session");
  std::thread u([&] { a = run(*first, inputs); });
  b = run(*second, inputs);
  u.join();
  require_same(alone, a, "beside another Session of the model");
  require_same(alone, b, "beside another Session of the model");
  return 0;
}
