// Upgrading nodes from the form an op had at an old opset to its form at a newer one: the
// upgraded graph, run in float, gives the old graph's outputs bit for bit, and the old form's
// attributes are gone.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "loaders/onnx_upgrade.h"
#include "tests/support/op_test_util.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;

namespace {

using I = std::vector<int64_t>;
using P = std::pair<std::string, AttributeValue>;

template <typename... KV>
Attributes attrs(KV&&... kv) {
  Attributes a;
  (a.set(kv.first, kv.second), ...);
  return a;
}

// Builds x [2, 4, 6, 6] -> add_op at `opset`, runs it, upgrades a copy to `to`, runs that.
template <typename AddOp>
void check_upgrade(int64_t opset, int64_t to, const std::string& op, AddOp&& add_op) {
  CAPTURE(op);
  CAPTURE(opset);
  test::GraphBuilder b(opset);
  const TensorId x = b.input("x", {2, 4, 6, 6});
  b.output(add_op(b, x));
  const HostTensor input =
      HostTensor::from<float>("x", {2, 4, 6, 6}, test::random_floats(288, 5, -3.f, 3.f));
  const std::vector<float> before = test::run_first_output(b.g, ExecutionMode::kFloat, input);
  auto upgraded = std::make_shared<Graph>(*b.g);
  upgrade_op_forms(*upgraded, to);
  CHECK(upgraded->opset == to);
  for (const Node& n : upgraded->nodes)
    for (const char* old : {"min", "max", "pads", "value", "starts", "ends", "split", "k", "ratio", "spatial"})
      if (n.op_type != "Flatten") CHECK_MESSAGE(!n.attrs.has(old), n.op_type, " keeps '", old, "'");
  const std::vector<float> after = test::run_first_output(upgraded, ExecutionMode::kFloat, input);
  REQUIRE(before.size() == after.size());
  size_t differ = 0;
  for (size_t i = 0; i < before.size(); ++i) differ += std::memcmp(&before[i], &after[i], sizeof(float)) != 0;
  CHECK(differ == 0);
}

}  // namespace

TEST_CASE("onnx upgrade: attributes that became inputs keep their meaning") {
  check_upgrade(8, 13, "Clip", [](test::GraphBuilder& b, TensorId x) {
    return b.unary("Clip", x, attrs(P{"min", -1.f}, P{"max", 2.5f}));
  });
  check_upgrade(8, 13, "Clip", [](test::GraphBuilder& b, TensorId x) {  // an upper bound only
    return b.unary("Clip", x, attrs(P{"max", 0.5f}));
  });
  check_upgrade(8, 13, "Pad", [](test::GraphBuilder& b, TensorId x) {
    return b.node("Pad", {x}, {2, 4, 8, 9}, attrs(P{"pads", I{0, 0, 1, 2, 0, 0, 1, 1}}, P{"value", 0.75f}));
  });
  for (const char* mode : {"reflect", "edge"})
    check_upgrade(8, 13, "Pad", [&](test::GraphBuilder& b, TensorId x) {
      return b.node("Pad", {x}, {2, 4, 8, 8},
                    attrs(P{"pads", I{0, 0, 1, 1, 0, 0, 1, 1}}, P{"mode", std::string(mode)}));
    });
  check_upgrade(9, 13, "Slice", [](test::GraphBuilder& b, TensorId x) {
    return b.node("Slice", {x}, {2, 2, 6, 3}, attrs(P{"starts", I{1, -4}}, P{"ends", I{3, 5}}, P{"axes", I{1, 3}}));
  });
  check_upgrade(9, 13, "Slice", [](test::GraphBuilder& b, TensorId x) {  // no axes: the leading ones
    return b.node("Slice", {x}, {1, 3, 6, 6}, attrs(P{"starts", I{1, 0}}, P{"ends", I{100, 3}}));
  });
  check_upgrade(11, 13, "Squeeze", [](test::GraphBuilder& b, TensorId x) {
    const TensorId u = b.node("Unsqueeze", {x}, {2, 1, 4, 6, 1, 6}, attrs(P{"axes", I{1, -2}}));
    return b.node("Squeeze", {u}, {2, 4, 6, 1, 6}, attrs(P{"axes", I{1}}));
  });
  check_upgrade(11, 13, "Squeeze", [](test::GraphBuilder& b, TensorId x) {  // no axes: every 1
    const TensorId u = b.node("Unsqueeze", {x}, {1, 2, 4, 6, 6}, attrs(P{"axes", I{0}}));
    return b.node("Squeeze", {u}, {2, 4, 6, 6}, {});
  });
  check_upgrade(11, 13, "ReduceSum", [](test::GraphBuilder& b, TensorId x) {
    return b.node("ReduceSum", {x}, {2, 6}, attrs(P{"axes", I{1, -1}}, P{"keepdims", int64_t{0}}));
  });
  check_upgrade(11, 13, "ReduceSum", [](test::GraphBuilder& b, TensorId x) {  // no axes: all
    return b.node("ReduceSum", {x}, {1, 1, 1, 1}, {});
  });
  check_upgrade(13, 18, "ReduceMean", [](test::GraphBuilder& b, TensorId x) {
    return b.node("ReduceMean", {x}, {2, 1, 6, 1}, attrs(P{"axes", I{1, 3}}));
  });
  check_upgrade(10, 13, "Dropout", [](test::GraphBuilder& b, TensorId x) {
    return b.unary("Dropout", x, attrs(P{"ratio", 0.25f}));
  });
  check_upgrade(8, 13, "BatchNormalization", [](test::GraphBuilder& b, TensorId x) {
    const TensorId y = b.batch_norm(x, 7);
    b.g->nodes.back().attrs.set("spatial", int64_t{1});
    return y;
  });
}

TEST_CASE("onnx upgrade: Split's sizes become an input, and its output count at 18") {
  for (int64_t to : {13, 18})
    for (bool sizes : {true, false})
      check_upgrade(11, to, "Split", [&](test::GraphBuilder& b, TensorId x) {
        const TensorId first = b.g->add_unique_tensor("a", DType::kF32);
        const TensorId second = b.g->add_unique_tensor("b", DType::kF32);
        Attributes a = attrs(P{"axis", int64_t{1}});
        if (sizes) a.set("split", I{1, 3});
        b.g->nodes.push_back(Node{"split", "Split", {x}, {first, second}, a});
        return b.node("Concat", {second, first}, {2, 4, 6, 6}, attrs(P{"axis", int64_t{1}}));
      });
}

TEST_CASE("onnx upgrade: Softmax, LogSoftmax and Hardmax coerced to 2-D keep their rows") {
  for (const char* op : {"Softmax", "LogSoftmax"})  // (and Hardmax, which octet does not run)
    for (int64_t axis : {0, 1, 2, 3, -1, -3})
      check_upgrade(11, 13, op, [&](test::GraphBuilder& b, TensorId x) {
        return b.unary(op, x, attrs(P{"axis", axis}));
      });
  check_upgrade(11, 13, "Softmax", [](test::GraphBuilder& b, TensorId x) {  // default axis 1
    return b.unary("Softmax", x);
  });
}

TEST_CASE("onnx upgrade: Resize-10 and Upsample become Resize-11 with the same coordinates") {
  for (const char* mode : {"nearest", "linear"})
    for (std::pair<float, float> s : {std::pair{2.f, 3.f}, std::pair{0.5f, 0.5f}, std::pair{1.f, 1.5f}}) {
      const int64_t oh = int64_t(6 * s.first), ow = int64_t(6 * s.second);
      check_upgrade(10, 13, "Resize", [&](test::GraphBuilder& b, TensorId x) {
        const TensorId scales = b.constant("scales", {4}, {1.f, 1.f, s.first, s.second});
        return b.node("Resize", {x, scales}, {2, 4, oh, ow}, attrs(P{"mode", std::string(mode)}));
      });
      check_upgrade(9, 13, "Upsample", [&](test::GraphBuilder& b, TensorId x) {
        const TensorId scales = b.constant("scales", {4}, {1.f, 1.f, s.first, s.second});
        return b.node("Upsample", {x, scales}, {2, 4, oh, ow}, attrs(P{"mode", std::string(mode)}));
      });
    }
  check_upgrade(8, 13, "Upsample", [](test::GraphBuilder& b, TensorId x) {  // scales attribute
    return b.node("Upsample", {x}, {2, 4, 12, 12},
                  attrs(P{"mode", std::string("nearest")}, P{"scales", std::vector<float>{1.f, 1.f, 2.f, 2.f}}));
  });
}

// TopK is not an op octet runs: its upgrade is checked by its form.
TEST_CASE("onnx upgrade: TopK's k becomes an int64 input") {
  test::GraphBuilder b(9);
  const TensorId x = b.input("x", {2, 5});
  const TensorId values = b.g->add_unique_tensor("values", DType::kF32);
  const TensorId indices = b.g->add_unique_tensor("indices", DType::kI64);
  b.g->nodes.push_back(Node{"topk", "TopK", {x}, {values, indices}, attrs(P{"k", int64_t{3}}, P{"axis", int64_t{1}})});
  upgrade_op_forms(*b.g, 11);
  const Node& n = b.g->nodes.at(0);
  CHECK(!n.attrs.has("k"));
  CHECK(n.attrs.get_int("axis", 0) == 1);
  REQUIRE(n.inputs.size() == 2);
  const TensorInfo& k = b.g->tensor(n.inputs[1]);
  REQUIRE(k.dtype == DType::kI64);
  CHECK(k.shape.concrete() == Dims{1});
  CHECK(k.data->as<int64_t>()[0] == 3);
}

TEST_CASE("onnx upgrade: forms with no equivalent are refused, naming the node") {
  test::GraphBuilder b(10);
  const TensorId x = b.input("x", {1, 2, 4, 4});
  const TensorId scales = b.constant("scales", {4}, {1.f, 1.f, 2.f, 0.5f});
  b.output(b.node("Resize", {x, scales}, {1, 2, 8, 2}, {}));
  Graph g = *b.g;
  CHECK_THROWS_WITH_AS(upgrade_op_forms(g, 11),
                       doctest::Contains("Resize node 'Resize_0': a nearest-mode Resize-10 that both"), Error);
  test::GraphBuilder bn(8);
  const TensorId y = bn.batch_norm(bn.input("x", {1, 2, 4, 4}), 3);
  bn.output(y);
  bn.g->nodes.back().attrs.set("spatial", int64_t{0});
  Graph h = *bn.g;
  CHECK_THROWS_WITH_AS(upgrade_op_forms(h, 9), doctest::Contains("spatial = 0"), Error);
  CHECK(onnx_op_form_change("Clip", 8, 10) == 0);
  CHECK(onnx_op_form_change("Clip", 8, 13) == 11);
  CHECK(onnx_op_form_change("Split", 13, 18) == 18);
}
