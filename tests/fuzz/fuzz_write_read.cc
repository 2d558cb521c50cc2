// libFuzzer target: a fuzzed ONNX model written as .octet and as ONNX, and (calibrated on the
// inputs fuzz_run_model feeds) its encodings in every version; each read back and written
// again must give the same bytes (tests/fuzz/write_read.h), else the target aborts.
#include <cstdio>
#include <cstdlib>

#include "engine/memory_limit.h"
#include "tests/fuzz/fuzz_inputs.h"
#include "tests/fuzz/write_read.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  octet::set_default_memory_limit(octet::fuzz::kMemoryLimit);
  std::shared_ptr<octet::Graph> model;
  octet::quant::SampleBatch batch;
  try {
    model = octet::load_onnx_bytes(data, size, "fuzz.onnx", "/nonexistent-octet-fuzz");
    octet::SessionOptions options;
    if (!octet::fuzz::make_inputs(*model, options, batch.inputs)) batch.inputs.clear();
  } catch (const octet::Error&) {
    return 0;
  }
  const std::string broken = octet::fuzz::check_write_read(model, batch);
  if (!broken.empty()) {
    std::fprintf(stderr, "write/read round trip: %s\n", broken.c_str());
    std::abort();
  }
  return 0;
}
