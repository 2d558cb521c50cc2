// The integer model of a calibrated float model: compiled for a target profile (lowered to
// integer ops) without building a runtime session, and written as a .octet file that
// `octet run/eval/bench --mode int|exact` and Session run.
#pragma once
#include <cstdint>
#include <string>

#include "engine/compile.h"
#include "engine/graph.h"

namespace octet::quant {

// Symbolic input dimensions are fixed to `batch` (an integer model has concrete shapes).
CompiledGraph compile_integer_model(const Graph& calibrated, const std::string& target,
                                    int64_t batch);

// compile_integer_model written to `path`; returns what the lowering did.
LoweringReport save_integer_model(const Graph& calibrated, const std::string& target,
                                  int64_t batch, const std::string& path);

}  // namespace octet::quant
