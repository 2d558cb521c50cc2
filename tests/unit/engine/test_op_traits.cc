// The op table's traits agree with each other and with the passes that read them: every op
// that keeps its input's encoding has an integer form, every pointwise unary op has a lookup
// table (or a reason it cannot have one), and the function a table evaluates is the op's
// reference kernel.
#include <doctest/doctest.h>

#include <cstring>
#include <set>

#include "engine/op.h"
#include "engine/passes/lower_integer.h"
#include "tests/support/op_test_util.h"

namespace octet {
namespace {

// Pointwise unary ops that cannot run as a table of 8-bit codes.
const std::set<std::string> kNoTable{
    "Cast",  // changes the element type
    "Not",   // bool
};

}  // namespace

TEST_CASE("op traits: every registered op's traits are consistent") {
  const OpRegistry& reg = OpRegistry::instance();
  REQUIRE(reg.schemas().size() > 50);
  for (const OpSchema& s : reg.schemas()) {
    CAPTURE(s.name);
    if (s.preserves_encoding()) {
      CHECK(s.min_inputs >= 1);
      CHECK(has_integer_rule(s.name));  // else the lowering meets an unquantized tensor
    }
    if (s.moves_codes16()) CHECK(s.preserves_encoding());
    if (s.scalar_fn) {
      CHECK(s.layout == LayoutClass::kPointwiseUnary);
      CHECK(has_integer_rule(s.name));
      CHECK(!s.preserves_encoding());
    }
    if (s.layout == LayoutClass::kPointwiseUnary)
      CHECK((s.scalar_fn || s.preserves_encoding() || kNoTable.count(s.name)));
    if (s.params.weight >= 0) {
      CHECK(s.params.weight < s.max_inputs);
      CHECK(static_cast<bool>(s.params.channel_axis));
    }
    if (s.params.bias >= 0) {
      CHECK(s.params.weight >= 0);
      CHECK(s.params.bias < s.max_inputs);
    }
    if (s.params.reduction_axis) CHECK(s.params.weight >= 0);
    // A matrix product's reduction axis is the weight's input-channel (block) axis.
    if (s.params.reduction_axis) {
      REQUIRE(static_cast<bool>(s.params.input_channel_axis));
      Node n;
      n.op_type = s.name;
      for (int rank = 2; rank <= 4; ++rank)
        CHECK(s.params.input_channel_axis(n, rank) == s.params.reduction_axis(n, rank));
    }
    if (s.params.input_channel_axis) CHECK(s.params.weight >= 0);
    if (s.layout == LayoutClass::kNhwcIsland) CHECK(s.min_inputs >= 1);
  }
}

TEST_CASE("op traits: layout classes of ops the layout pass once listed by hand") {
  CHECK(layout_class("Mod") == LayoutClass::kPointwiseBroadcast);
  CHECK(layout_class("Add") == LayoutClass::kPointwiseBroadcast);
  CHECK(layout_class("Relu") == LayoutClass::kPointwiseUnary);
  CHECK(layout_class("Conv") == LayoutClass::kNhwcIsland);
  CHECK(layout_class("Reshape") == LayoutClass::kSensitive);
  CHECK(layout_class("NoSuchOp") == LayoutClass::kSensitive);
  CHECK(preserves_encoding("Reshape"));
  CHECK(!preserves_encoding("Relu"));
  CHECK(!preserves_encoding("NoSuchOp"));
}

TEST_CASE("op traits: a lookup table evaluates the op's reference kernel") {
  const std::vector<float> xs{-6.f, -2.5f, -1.f, -0.3f, 0.f, 0.2f, 0.75f, 1.f, 3.f, 7.5f};
  int checked = 0;
  for (const OpSchema& s : OpRegistry::instance().schemas()) {
    if (!s.scalar_fn) continue;
    CAPTURE(s.name);
    test::OpCase c;
    c.op = s.name;
    c.inputs = {HostTensor::from<float>("x", {int64_t(xs.size())}, xs)};
    const auto outputs = test::run_op(c, /*reference=*/true);
    REQUIRE(outputs.size() == 1);
    const auto y = outputs[0].values<float>();
    REQUIRE(y.size() == xs.size());
    auto g = test::make_op_graph(c);
    const ScalarFn f = s.scalar_fn(*g, g->nodes[0]);
    REQUIRE(f);
    for (size_t i = 0; i < xs.size(); ++i) {
      const float v = f(xs[i]);
      CAPTURE(xs[i]);
      CHECK(std::memcmp(&v, &y[i], sizeof(float)) == 0);
    }
    ++checked;
  }
  CHECK(checked >= 20);
}

}  // namespace octet
