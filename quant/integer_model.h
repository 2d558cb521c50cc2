// The integer model of a calibrated float model: compiled for a target profile (lowered to
// integer ops) without building a runtime session, and written as a .octet file that
// `octet run/eval/bench --mode int|exact` and Session run.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "engine/compile.h"
#include "engine/graph.h"
#include "quant/data_stream.h"

namespace octet::quant {

// An integer model has concrete shapes. `inputs` fixes inputs by name (batch included); for
// the others a symbolic batch (axis 0) becomes `batch`, and any other symbolic dimension is
// an error that names it.
struct IntegerModelShapes {
  int64_t batch = 1;
  std::map<std::string, Dims> inputs;
};

// The shapes of the inputs `sample` feeds (quant/data_stream.h), each with its axis 0 set to
// the model's batch, or to `batch` where the model leaves it symbolic: the symbolic dimensions
// fixed from the data.
std::map<std::string, Dims> input_shapes_from_samples(const Graph& model, const SampleBatch& sample,
                                                      int64_t batch);

CompiledGraph compile_integer_model(const Graph& calibrated, const std::string& target,
                                    const IntegerModelShapes& shapes);
inline CompiledGraph compile_integer_model(const Graph& calibrated, const std::string& target,
                                           int64_t batch) {
  return compile_integer_model(calibrated, target, IntegerModelShapes{batch, {}});
}

// compile_integer_model written to `path`; returns what the lowering did.
LoweringReport save_integer_model(const Graph& calibrated, const std::string& target,
                                  const IntegerModelShapes& shapes, const std::string& path);

}  // namespace octet::quant
