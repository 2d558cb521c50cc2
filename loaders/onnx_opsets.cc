#include "loaders/onnx_opsets.h"

#include <onnx/defs/schema.h>

#include <algorithm>

namespace octet {

int onnx_op_version(const std::string& op, int64_t opset) {
  if (opset < 1) return 0;
  const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(op, int(std::min<int64_t>(opset, 1 << 20)), "");
  return s ? s->SinceVersion() : 0;
}

int64_t onnx_op_first_opset(const std::string& op) {
  const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(op, 1, "");
  if (s) return 1;
  const onnx::OpSchema* latest = onnx::OpSchemaRegistry::Schema(op, "");
  if (!latest) return 0;
  // Versions are few: walk down from the latest to the first.
  int64_t first = latest->SinceVersion();
  while (first > 1) {
    const onnx::OpSchema* before = onnx::OpSchemaRegistry::Schema(op, int(first - 1), "");
    if (!before) break;
    first = before->SinceVersion();
  }
  return first;
}

}  // namespace octet
