// Reads an ONNX model (opsets 7..25) into an octet Graph.
#pragma once
#include <memory>
#include <string>

#include "engine/graph.h"
#include "engine/host_tensor.h"

namespace octet {

// Loads `path`; external tensor data is read relative to the model's folder. Throws
// octet::Error naming the file and the problem. Does not check op support (see
// check_ops_supported) so that tools can still describe a model they cannot run.
std::shared_ptr<Graph> load_onnx(const std::string& path);
std::shared_ptr<Graph> load_onnx_bytes(const void* data, size_t size, const std::string& source,
                                       const std::string& base_dir);

// Reads a serialized onnx.TensorProto file (the conformance cases' input_N.pb).
HostTensor load_onnx_tensor_file(const std::string& path);

// Lowest and highest ai.onnx opset versions accepted.
constexpr int64_t kMinOnnxOpset = 7;
constexpr int64_t kMaxOnnxOpset = 25;

}  // namespace octet
