// What ONNX's own operator registry (libonnx) says of the ai.onnx operators: which version of
// an operator's definition is in force at an opset. Writers check with it that the opset they
// declare defines every op they emit (loaders/onnx_upgrade.h: the ops whose form changed).
#pragma once
#include <cstdint>
#include <string>

namespace octet {

// The version (SinceVersion) of `op`'s definition in force at `opset`; 0 when ai.onnx does
// not define `op` at that opset.
int onnx_op_version(const std::string& op, int64_t opset);
// The first opset that defines `op`; 0 when ai.onnx has no such op.
int64_t onnx_op_first_opset(const std::string& op);

}  // namespace octet
