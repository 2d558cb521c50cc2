// Writes an octet Graph as an ONNX model (the inverse of loaders/onnx_loader.h).
//
// Exportable graphs are models as loaded (and possibly edited: new weights, new nodes of ONNX
// ops): tensor names, node names, attributes and constant bytes are written unchanged, so
// load_onnx(save_onnx(g)) gives back an equal graph. A prepared session graph is NOT
// exportable: internal attributes (names starting "_", e.g. `_layout`, `_act_min`, set by
// graph passes) and octet-only ops (op types starting "octet.") have no ONNX meaning, and
// the writer refuses such a graph with an error listing the nodes (unless
// OnnxWriteOptions::allow_internal, for inspecting a prepared graph in a viewer).
// The one internal attribute understood is the loader's `_tensor:<attr>` (a TENSOR attribute
// kept as a constant): it is written back as a TENSOR attribute.
//
// What is written:
//   - ir_version: the lowest IR version of the ONNX release that introduced graph.opset
//     (at least 4, so initializers need not be graph inputs; at least 10 with 4-bit tensors);
//   - opset_import: the default domain at graph.opset; nodes loaded from another domain have
//     op_type "domain::Op" and are written with that domain, imported at version 1 (the loader
//     does not keep other domains' versions);
//   - graph inputs with dtype and shape (symbolic dims as dim_param), graph outputs with
//     dtype/shape when known;
//   - every constant tensor as an initializer (raw_data, little-endian; bool one byte each;
//     4-bit types packed as stored, low nibble first), except a `_tensor:` attribute tensor
//     that nothing else uses;
//   - node attributes as INT, FLOAT, STRING, INTS, FLOATS, STRINGS.
// Not written: quantization parameters (TensorInfo::quant), types of intermediate tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/graph.h"

namespace octet {

// Protobuf refuses messages of 2 GiB and more.
constexpr uint64_t kOnnxMaxProtoBytes = (uint64_t(1) << 31) - 1;

enum class OnnxExternalData {
  kAuto,    // inline, unless the model would not fit in one protobuf message
  kAlways,  // constants of at least external_threshold bytes go to the data file
  kNever,   // always inline; a model too big for protobuf is an error
};

struct OnnxWriteOptions {
  std::string producer_name = "octet";
  std::string producer_version = "0.1";
  // External data goes to "<model path>.data" in the model's folder (location is the file
  // name, offsets are multiples of 64). Only save_onnx can write it.
  OnnxExternalData external_data = OnnxExternalData::kAuto;
  uint64_t external_threshold = 1024;  // bytes; smaller constants always stay inline
  // The largest serialized model allowed (kAuto moves constants out above it); tests lower it.
  uint64_t max_model_bytes = kOnnxMaxProtoBytes;
  // Writes internal attributes and octet ops (domain "ai.octet") instead of refusing them.
  // Such a file is for viewing only: no runtime (octet included) can run it.
  bool allow_internal = false;
};

// Writes `graph` to `path` (and "<path>.data" when external data is used). Throws
// octet::Error naming the path, tensor or nodes on failure.
void save_onnx(const Graph& graph, const std::string& path, const OnnxWriteOptions& options = {});
// The serialized ModelProto, all data inline (kAlways, or a model too big, is an error).
std::string serialize_onnx(const Graph& graph, const OnnxWriteOptions& options = {});

// The IR version save_onnx writes for an ai.onnx opset.
int64_t onnx_ir_version_for_opset(int64_t opset);

}  // namespace octet
