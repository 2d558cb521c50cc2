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

int64_t onnx_op_form_change(const std::string& op, int64_t from, int64_t to) {
  // From ONNX's Changelog.md: the versions that moved attributes to inputs or changed semantics.
  struct Change {
    const char* op;
    int64_t opset;
  };
  static constexpr Change kChanges[] = {
      {"BatchNormalization", 9},  {"Clip", 11},          {"Dropout", 12},      {"Hardmax", 13},
      {"LogSoftmax", 13},         {"Pad", 11},           {"ReduceL1", 18},     {"ReduceL2", 18},
      {"ReduceLogSum", 18},       {"ReduceLogSumExp", 18}, {"ReduceMax", 18},  {"ReduceMean", 18},
      {"ReduceMin", 18},          {"ReduceProd", 18},    {"ReduceSum", 13},    {"ReduceSumSquare", 18},
      {"Resize", 11},             {"Slice", 10},         {"Softmax", 13},      {"Split", 13},
      {"Split", 18},              {"Squeeze", 13},       {"TopK", 10},         {"Unsqueeze", 13},
      {"Upsample", 10},
  };
  for (const Change& c : kChanges)
    if (op == c.op && from < c.opset && c.opset <= to) return c.opset;
  return 0;
}

}  // namespace octet
