// How a graph runs (`--mode float|qdq|exact|int`): float kernels; quantize-dequantize at every
// tensor that carries quantization parameters; the integer graph simulated exactly on
// float-friendly kernels; or the true integer kernels.
#pragma once
#include <string>

namespace octet {

enum class ExecutionMode { kFloat, kQdq, kExact, kInt };
ExecutionMode parse_execution_mode(const std::string& name);  // "float", "qdq", "exact", "int"
const char* execution_mode_name(ExecutionMode mode);

}  // namespace octet
