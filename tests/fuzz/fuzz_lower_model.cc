// libFuzzer target: a fuzzed ONNX model is quantized (QuantSim with the default config,
// calibrated on the inputs below), lowered to the integer kernels and run in `int` and in
// `exact`; when both run, their outputs must be equal bit for bit (octet's promise), else the
// target aborts. Inputs as fuzz_run_model makes them; every session's memory is capped.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "engine/memory_limit.h"
#include "engine/session.h"
#include "loaders/onnx_loader.h"
#include "quant/quantsim.h"
#include "tests/fuzz/fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  octet::set_default_memory_limit(octet::fuzz::kMemoryLimit);
  std::shared_ptr<octet::Graph> model;
  octet::quant::SampleBatch batch;
  octet::SessionOptions options;
  try {
    model = octet::load_onnx_bytes(data, size, "fuzz.onnx", "/nonexistent-octet-fuzz");
    if (!octet::fuzz::make_inputs(*model, options, batch.inputs)) return 0;
  } catch (const octet::Error&) {
    return 0;
  }
  std::shared_ptr<const octet::Graph> annotated;
  try {
    octet::quant::QuantSim sim(model, octet::quant::QuantsimConfig::load_shipped("default_config"));
    sim.calibrate(batch, octet::quant::CalibrationOptions{});
    annotated = sim.annotated_model();
  } catch (const octet::Error&) {
    return 0;
  }
  std::vector<octet::HostTensor> outputs[2];
  const octet::ExecutionMode modes[2] = {octet::ExecutionMode::kInt, octet::ExecutionMode::kExact};
  for (int m = 0; m < 2; ++m) {
    options.mode = modes[m];
    try {
      octet::Session session(annotated, options);
      outputs[m] = session.run(batch.inputs);
    } catch (const octet::Error&) {
      return 0;
    }
  }
  if (outputs[0].size() != outputs[1].size()) std::abort();
  for (size_t i = 0; i < outputs[0].size(); ++i)
    if (outputs[0][i].dtype != outputs[1][i].dtype || outputs[0][i].dims != outputs[1][i].dims ||
        outputs[0][i].bytes != outputs[1][i].bytes)
      std::abort();  // int != exact
  return 0;
}
