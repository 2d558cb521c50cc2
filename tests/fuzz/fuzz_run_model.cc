// libFuzzer target: a fuzzed ONNX model is loaded, prepared and run, so shape inference,
// constant folding, the passes and the kernels see hostile shapes and attributes. Inputs and
// the memory cap: tests/fuzz/fuzz_inputs.h. Each model runs with the optimized kernels and with
// the reference kernels.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "engine/session.h"
#include "loaders/onnx_loader.h"
#include "tests/fuzz/fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<octet::Graph> model;
  try {
    model = octet::load_onnx_bytes(data, size, "fuzz.onnx", "/nonexistent-octet-fuzz");
  } catch (const octet::Error&) {
    return 0;
  }
  octet::SessionOptions options;
  options.max_memory_bytes = octet::fuzz::kMemoryLimit;
  std::vector<octet::HostTensor> inputs;
  try {
    if (!octet::fuzz::make_inputs(*model, options, inputs)) return 0;
  } catch (const octet::Error&) {  // e.g. a dtype that has no storage size
    return 0;
  }
  for (bool reference : {false, true}) {
    options.reference_kernels = reference;
    try {
      octet::Session session(model, options);
      session.run(inputs);
    } catch (const octet::Error&) {
    }
  }
  return 0;
}
