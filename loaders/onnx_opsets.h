// What ONNX's own operator registry (libonnx) says of the ai.onnx operators: which version of
// an operator's definition is in force at an opset. Writers check with it that the opset they
// declare defines every op they emit, and that raising an opset changes no op's meaning.
#pragma once
#include <cstdint>
#include <string>

namespace octet {

// The version (SinceVersion) of `op`'s definition in force at `opset`; 0 when ai.onnx does
// not define `op` at that opset.
int onnx_op_version(const std::string& op, int64_t opset);
// The first opset that defines `op`; 0 when ai.onnx has no such op.
int64_t onnx_op_first_opset(const std::string& op);
// The opset in (from, to] at which `op`'s form changed so that a node written for `from` means
// something else, or is invalid, at `to` (an attribute became an input, an axis rule changed);
// 0 when none did. Most new versions only add types: those keep a node's meaning.
int64_t onnx_op_form_change(const std::string& op, int64_t from, int64_t to);

}  // namespace octet
