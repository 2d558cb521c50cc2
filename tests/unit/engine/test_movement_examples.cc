// Data movement ops: hand-computed examples, opset variants and error messages.
#include <doctest/doctest.h>

#include <limits>

#include "tests/support/op_test_util.h"

using namespace octet;
using test::OpCase;

namespace {

HostTensor i64(const std::string& name, std::vector<int64_t> v) {
  return HostTensor::from<int64_t>(name, {static_cast<int64_t>(v.size())}, v);
}

std::vector<float> iota_f(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

// Runs reference and optimized kernels, checks they agree byte for byte, returns output 0.
std::vector<HostTensor> run_both(const OpCase& c) {
  auto ref = test::run_op(c, true);
  auto opt = test::run_op(c, false, 2);
  REQUIRE(ref.size() == opt.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    CHECK(ref[i].dims == opt[i].dims);
    CHECK(ref[i].bytes == opt[i].bytes);
  }
  return opt;
}

template <typename T>
std::vector<T> vals(const HostTensor& t) {
  auto s = t.values<T>();
  return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("movement: Reshape with 0, -1 and allowzero") {
  OpCase c{.op = "Reshape",
           .inputs = {HostTensor::from<float>("x", {2, 3, 4}, iota_f(24)), i64("s", {0, -1})},
           .constant = {false, true}};
  auto out = run_both(c);
  CHECK(out[0].dims == Dims{2, 12});
  CHECK(vals<float>(out[0]) == iota_f(24));
  c.inputs[1] = i64("s", {4, 0, 2});
  CHECK(run_both(c)[0].dims == Dims{4, 3, 2});
  // allowzero=1: 0 is a real zero dim, so 24 elements cannot become [4,0,2].
  c.opset = 14;
  c.attrs.set("allowzero", int64_t(1));
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("24 elements"), Error);
  c.inputs[1] = i64("s", {-1, -1});
  c.attrs = {};
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("more than one -1"), Error);
  c.inputs[1] = i64("s", {5, -1});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("cannot reshape"), Error);
  c.inputs[1] = i64("s", {1, 1, 1, 0});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("copies an input dimension"), Error);
  // A runtime shape input cannot decide the output shape.
  c.inputs[1] = i64("s", {24});
  c.constant = {false, false};
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("must be a constant"), Error);
}

TEST_CASE("movement: view ops alias their input in the memory plan") {
  OpCase c{.op = "Flatten", .inputs = {HostTensor::from<float>("x", {2, 3, 4}, iota_f(24))}};
  c.attrs.set("axis", int64_t(-1));
  auto out = run_both(c);
  CHECK(out[0].dims == Dims{6, 4});
  c.attrs.set("axis", int64_t(0));
  CHECK(run_both(c)[0].dims == Dims{1, 24});
  c.attrs.set("axis", int64_t(3));
  CHECK(run_both(c)[0].dims == Dims{24, 1});
  c.attrs.set("axis", int64_t(4));
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("axis 4 is out of range"), Error);
  // Flatten -> Transpose: the Flatten output shares the input's bytes, so the arena holds
  // two 96-byte tensors (input/view and the transpose output), not three.
  auto g = test::make_op_graph({.op = "Flatten", .inputs = {HostTensor::from<float>("x", {2, 3, 4}, iota_f(24))}});
  TensorInfo t;
  t.name = "tr";
  TensorId tr = g->add_tensor(t);
  g->nodes.push_back(Node{"t", "Transpose", {g->nodes[0].outputs[0]}, {tr}, {}});
  g->outputs = {tr};
  Session s(g, SessionOptions{});
  CHECK(s.arena_bytes() == 2 * 128);
  auto r = s.run({HostTensor::from<float>("x", {2, 3, 4}, iota_f(24))});
  CHECK(r[0].dims == Dims{12, 2});
  CHECK(r[0].values<float>()[1] == 12.f);
}

TEST_CASE("movement: Squeeze and Unsqueeze, attribute before opset 13, input after") {
  OpCase sq{.op = "Squeeze", .inputs = {HostTensor::from<float>("x", {1, 3, 1, 2}, iota_f(6))},
            .opset = 11};
  CHECK(run_both(sq)[0].dims == Dims{3, 2});  // no axes: all 1s
  sq.attrs.set("axes", std::vector<int64_t>{-2});
  CHECK(run_both(sq)[0].dims == Dims{1, 3, 2});
  sq.attrs.set("axes", std::vector<int64_t>{1});
  CHECK_THROWS_WITH_AS(test::run_op(sq, true), doctest::Contains("cannot squeeze axis 1"), Error);
  sq.opset = 13;  // the attribute is no longer allowed
  CHECK_THROWS_WITH_AS(test::run_op(sq, true), doctest::Contains("not allowed at opset 13"), Error);
  sq.attrs = {};
  sq.inputs.push_back(i64("axes", {0, -2}));
  sq.constant = {false, true};
  CHECK(run_both(sq)[0].dims == Dims{3, 2});

  OpCase un{.op = "Unsqueeze",
            .inputs = {HostTensor::from<float>("x", {3, 2}, iota_f(6)), i64("axes", {-1, 0})},
            .constant = {false, true},
            .opset = 13};
  CHECK(run_both(un)[0].dims == Dims{1, 3, 2, 1});
  un.inputs[1] = i64("axes", {0, 0});
  CHECK_THROWS_WITH_AS(test::run_op(un, true), doctest::Contains("twice"), Error);
  un.inputs[1] = i64("axes", {4});
  CHECK_THROWS_WITH_AS(test::run_op(un, true), doctest::Contains("out of range"), Error);
  OpCase un11{.op = "Unsqueeze", .inputs = {HostTensor::from<float>("x", {3}, iota_f(3))},
              .opset = 11};
  un11.attrs.set("axes", std::vector<int64_t>{1});
  CHECK(run_both(un11)[0].dims == Dims{3, 1});
}

TEST_CASE("movement: Shape with start and end") {
  OpCase c{.op = "Shape", .inputs = {HostTensor::from<float>("x", {2, 3, 4}, iota_f(24))},
           .opset = 15};
  CHECK(vals<int64_t>(run_both(c)[0]) == std::vector<int64_t>{2, 3, 4});
  c.attrs.set("start", int64_t(-2));
  CHECK(vals<int64_t>(run_both(c)[0]) == std::vector<int64_t>{3, 4});
  c.attrs.set("end", int64_t(-5));
  CHECK(run_both(c)[0].dims == Dims{0});
}

TEST_CASE("movement: Transpose examples and validation") {
  OpCase c{.op = "Transpose", .inputs = {HostTensor::from<float>("x", {2, 3}, iota_f(6))}};
  auto out = run_both(c);  // default: reverse
  CHECK(out[0].dims == Dims{3, 2});
  CHECK(vals<float>(out[0]) == std::vector<float>{0, 3, 1, 4, 2, 5});
  OpCase n{.op = "Transpose", .inputs = {HostTensor::from<int16_t>("x", {1, 2, 2, 2},
                                                                   {0, 1, 2, 3, 4, 5, 6, 7})}};
  n.attrs.set("perm", std::vector<int64_t>{0, 2, 3, 1});  // NCHW -> NHWC
  CHECK(vals<int16_t>(run_both(n)[0]) == std::vector<int16_t>{0, 4, 1, 5, 2, 6, 3, 7});
  n.attrs.set("perm", std::vector<int64_t>{0, 2, 2, 1});
  CHECK_THROWS_WITH_AS(test::run_op(n, true), doctest::Contains("not a permutation"), Error);
  n.attrs.set("perm", std::vector<int64_t>{0, 1});
  CHECK_THROWS_WITH_AS(test::run_op(n, true), doctest::Contains("entries for rank 4"), Error);
}

TEST_CASE("movement: Concat and its errors") {
  OpCase c{.op = "Concat",
           .inputs = {HostTensor::from<int32_t>("a", {2, 1}, {1, 2}),
                      HostTensor::from<int32_t>("b", {2, 2}, {3, 4, 5, 6}),
                      HostTensor::from<int32_t>("e", {2, 0}, {})}};
  c.attrs.set("axis", int64_t(-1));
  auto out = run_both(c);
  CHECK(out[0].dims == Dims{2, 3});
  CHECK(vals<int32_t>(out[0]) == std::vector<int32_t>{1, 3, 4, 2, 5, 6});
  c.attrs.set("axis", int64_t(0));
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("does not match input 0"), Error);
  c.attrs = {};
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("'axis' is required"), Error);
  c.attrs.set("axis", int64_t(1));
  c.inputs[1] = HostTensor::from<float>("b", {2, 2}, {3, 4, 5, 6});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("f32 but input 0 is i32"), Error);
}

TEST_CASE("movement: Split across opsets") {
  auto x = HostTensor::from<float>("x", {7}, iota_f(7));
  OpCase c{.op = "Split", .inputs = {x}, .num_outputs = 4, .opset = 18};
  c.attrs.set("num_outputs", int64_t(4));
  auto out = run_both(c);
  CHECK(out[0].dims == Dims{2});
  CHECK(out[3].dims == Dims{1});
  CHECK(vals<float>(out[3]) == std::vector<float>{6});
  OpCase v{.op = "Split", .inputs = {x, i64("split", {3, 0, 4})}, .constant = {false, true},
           .num_outputs = 3, .opset = 13};
  out = run_both(v);
  CHECK(out[1].dims == Dims{0});
  CHECK(vals<float>(out[2]) == std::vector<float>{3, 4, 5, 6});
  v.inputs[1] = i64("split", {3, 0, 3});
  CHECK_THROWS_WITH_AS(test::run_op(v, true), doctest::Contains("sums to 6"), Error);
  OpCase e{.op = "Split", .inputs = {x}, .num_outputs = 2, .opset = 13};
  CHECK_THROWS_WITH_AS(test::run_op(e, true), doctest::Contains("evenly"), Error);
  OpCase a{.op = "Split", .inputs = {HostTensor::from<float>("x", {2, 4}, iota_f(8))},
           .num_outputs = 2, .opset = 11};
  a.attrs.set("axis", int64_t(1));
  a.attrs.set("split", std::vector<int64_t>{1, 3});
  out = run_both(a);
  CHECK(vals<float>(out[0]) == std::vector<float>{0, 4});
  CHECK(vals<float>(out[1]) == std::vector<float>{1, 2, 3, 5, 6, 7});
}

TEST_CASE("movement: Slice with negative steps, clamping and INT64 sentinels") {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  auto x = HostTensor::from<float>("x", {3, 4}, iota_f(12));
  OpCase c{.op = "Slice",
           .inputs = {x, i64("starts", {-1, kMax}), i64("ends", {kMin, kMin}),
                      i64("axes", {0, 1}), i64("steps", {-2, -3})},
           .constant = {false, true, true, true, true}};
  auto out = run_both(c);
  // rows 2, 0; columns 3, 0
  CHECK(out[0].dims == Dims{2, 2});
  CHECK(vals<float>(out[0]) == std::vector<float>{11, 8, 3, 0});
  c.inputs[1] = i64("starts", {1, -100});
  c.inputs[2] = i64("ends", {kMax, 100});
  c.inputs[4] = i64("steps", {1, 2});
  out = run_both(c);
  CHECK(vals<float>(out[0]) == std::vector<float>{4, 6, 8, 10});
  c.inputs[4] = i64("steps", {1, 0});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("step of axis 1 is 0"), Error);
  c.inputs[3] = i64("axes", {1, -1});
  c.inputs[4] = i64("steps", {1, 1});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("given twice"), Error);
  // Opset 9: attributes, no steps.
  OpCase old{.op = "Slice", .inputs = {x}, .opset = 9};
  old.attrs.set("starts", std::vector<int64_t>{1});
  old.attrs.set("ends", std::vector<int64_t>{-1});
  old.attrs.set("axes", std::vector<int64_t>{1});
  CHECK(vals<float>(run_both(old)[0]) == std::vector<float>{1, 2, 5, 6, 9, 10});
}

TEST_CASE("movement: Gather with negative and out-of-range indices") {
  auto data = HostTensor::from<float>("d", {3, 2}, iota_f(6));
  OpCase c{.op = "Gather",
           .inputs = {data, HostTensor::from<int32_t>("i", {2, 2}, {0, -1, 2, 1})}};
  auto out = run_both(c);
  CHECK(out[0].dims == Dims{2, 2, 2});
  CHECK(vals<float>(out[0]) == std::vector<float>{0, 1, 4, 5, 4, 5, 2, 3});
  c.attrs.set("axis", int64_t(-1));
  c.inputs[1] = HostTensor::from<int64_t>("i", {}, {1});
  out = run_both(c);
  CHECK(out[0].dims == Dims{3});
  CHECK(vals<float>(out[0]) == std::vector<float>{1, 3, 5});
  // Runtime indices are checked by the kernel (both implementations).
  c.inputs[1] = HostTensor::from<int64_t>("i", {2}, {0, 2});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("index 2"), Error);
  CHECK_THROWS_WITH_AS(test::run_op(c, false), doctest::Contains("out of range"), Error);
  c.inputs[1] = HostTensor::from<int64_t>("i", {1}, {-3});
  CHECK_THROWS_WITH_AS(test::run_op(c, false), doctest::Contains("index -3"), Error);
  // Constant indices are checked at prepare.
  c.constant = {false, true};
  CHECK_THROWS_WITH_AS(test::run_op(c, false), doctest::Contains("Gather node 'node'"), Error);
  c.inputs[1] = HostTensor::from<float>("i", {1}, {0});
  CHECK_THROWS_WITH_AS(test::run_op(c, false), doctest::Contains("int32 or int64"), Error);
}

TEST_CASE("movement: Pad modes, negative pads and opset 11 inputs") {
  auto x = HostTensor::from<int32_t>("x", {2, 3}, {1, 2, 3, 4, 5, 6});
  OpCase c{.op = "Pad",
           .inputs = {x, i64("pads", {0, 2, 0, 1}), HostTensor::from<int32_t>("v", {}, {9})},
           .constant = {false, true, true}};
  CHECK(vals<int32_t>(run_both(c)[0]) ==
        std::vector<int32_t>{9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9});
  c.attrs.set("mode", std::string("reflect"));
  CHECK(vals<int32_t>(run_both(c)[0]) ==
        std::vector<int32_t>{3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5});
  c.attrs.set("mode", std::string("edge"));
  CHECK(vals<int32_t>(run_both(c)[0]) ==
        std::vector<int32_t>{1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6});
  c.attrs.set("mode", std::string("wrap"));
  CHECK(vals<int32_t>(run_both(c)[0]) ==
        std::vector<int32_t>{2, 3, 1, 2, 3, 1, 5, 6, 4, 5, 6, 4});
  // Negative pads crop: drop the first row, add one column of 9 at the end.
  c.attrs = {};
  c.inputs[1] = i64("pads", {-1, 0, 0, 1});
  auto out = run_both(c);
  CHECK(out[0].dims == Dims{1, 4});
  CHECK(vals<int32_t>(out[0]) == std::vector<int32_t>{4, 5, 6, 9});
  c.inputs[1] = i64("pads", {-3, 0, 0, 0});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("crop more"), Error);
  c.inputs[1] = i64("pads", {1, 0});
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("expected 4"), Error);
  c.attrs.set("mode", std::string("mirror"));
  CHECK_THROWS_WITH_AS(test::run_op(c, true), doctest::Contains("mode 'mirror'"), Error);
  // Opset 18 axes; runtime constant value.
  OpCase a{.op = "Pad",
           .inputs = {x, i64("pads", {1, 1}), HostTensor::from<int32_t>("v", {}, {-7}),
                      i64("axes", {-2})},
           .constant = {false, true, false, true},
           .opset = 18};
  CHECK(vals<int32_t>(run_both(a)[0]) ==
        std::vector<int32_t>{-7, -7, -7, 1, 2, 3, 4, 5, 6, -7, -7, -7});
  // Opset 2..10: attributes; the float value is converted to the data type.
  OpCase old{.op = "Pad", .inputs = {HostTensor::from<float>("x", {2}, {1, 2})}, .opset = 10};
  old.attrs.set("pads", std::vector<int64_t>{1, 2});
  old.attrs.set("value", 0.5f);
  CHECK(vals<float>(run_both(old)[0]) == std::vector<float>{0.5f, 1, 2, 0.5f, 0.5f});
}

TEST_CASE("movement: Expand and Tile") {
  OpCase e{.op = "Expand",
           .inputs = {HostTensor::from<uint8_t>("x", {3, 1}, {1, 2, 3}), i64("s", {2, 1, 2})},
           .constant = {false, true}};
  auto out = run_both(e);
  CHECK(out[0].dims == Dims{2, 3, 2});
  CHECK(vals<uint8_t>(out[0]) == std::vector<uint8_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  e.inputs[1] = i64("s", {2, 2});
  CHECK_THROWS_WITH_AS(test::run_op(e, true), doctest::Contains("cannot be broadcast"), Error);
  OpCase t{.op = "Tile",
           .inputs = {HostTensor::from<int64_t>("x", {2, 2}, {1, 2, 3, 4}), i64("r", {1, 2})},
           .constant = {false, true}};
  CHECK(vals<int64_t>(run_both(t)[0]) == std::vector<int64_t>{1, 2, 1, 2, 3, 4, 3, 4});
  t.inputs[1] = i64("r", {1, -1});
  CHECK_THROWS_WITH_AS(test::run_op(t, true), doctest::Contains("negative"), Error);
}

TEST_CASE("movement: Cast between numeric types") {
  auto x = HostTensor::from<float>("x", {6}, {-2.7f, -0.5f, 0.f, 1.9f, 300.f, NAN});
  OpCase c{.op = "Cast", .inputs = {x}};
  c.attrs.set("to", int64_t(6));  // INT32
  auto out = run_both(c);
  CHECK(out[0].dtype == DType::kI32);
  auto v = vals<int32_t>(out[0]);
  CHECK(std::vector<int32_t>(v.begin(), v.begin() + 5) == std::vector<int32_t>{-2, 0, 0, 1, 300});
  c.attrs.set("to", int64_t(3));  // INT8: 300 wraps to 44 as numpy does
  CHECK(vals<int8_t>(run_both(c)[0])[4] == 44);
  c.attrs.set("to", int64_t(9));  // BOOL: NaN is true
  auto b = run_both(c)[0];
  CHECK(std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(b.bytes.data()),
                             reinterpret_cast<const uint8_t*>(b.bytes.data()) + 6) ==
        std::vector<uint8_t>{1, 1, 0, 1, 1, 1});
  c.attrs.set("to", int64_t(10));  // FLOAT16
  auto h = vals<uint16_t>(run_both(c)[0]);
  CHECK(h[0] == 0xC166);  // -2.7 -> -2.69921875
  CHECK(h[2] == 0);
  CHECK((h[5] & 0x7c00) == 0x7c00);
  OpCase u{.op = "Cast", .inputs = {HostTensor::from<uint8_t>("x", {2}, {200, 255})}};
  u.attrs.set("to", int64_t(3));  // UINT8 -> INT8 wraps
  CHECK(vals<int8_t>(run_both(u)[0]) == std::vector<int8_t>{-56, -1});
  u.attrs.set("to", int64_t(16));
  CHECK_THROWS_WITH_AS(test::run_op(u, true), doctest::Contains("bfloat16"), Error);
  u.attrs = {};
  CHECK_THROWS_WITH_AS(test::run_op(u, true), doctest::Contains("'to' is required"), Error);
}

TEST_CASE("movement: Cast to and from packed 4-bit, and 4-bit data elsewhere") {
  OpCase c{.op = "Cast", .inputs = {HostTensor::from<float>("x", {3}, {-9.f, 7.9f, -1.f})},
           .opset = 21};
  c.attrs.set("to", int64_t(22));  // INT4: truncate, keep the low 4 bits
  auto out = run_both(c);
  CHECK(out[0].dtype == DType::kI4);
  REQUIRE(out[0].bytes.size() == 2);
  CHECK(static_cast<int>(out[0].bytes[0]) == 0x77);  // -9 -> 7, 7.9 -> 7
  CHECK(static_cast<int>(out[0].bytes[1]) == 0x0f);  // -1 -> 0xf, high nibble clear
  HostTensor p;
  p.name = "x";
  p.dtype = DType::kI4;
  p.dims = {3};
  p.bytes = {std::byte{0x87}, std::byte{0x0f}};
  OpCase back{.op = "Cast", .inputs = {p}, .opset = 21};
  back.attrs.set("to", int64_t(1));
  CHECK(vals<float>(run_both(back)[0]) == std::vector<float>{7, -8, -1});
  back.attrs.set("to", int64_t(2));  // via u8: -8 -> 248
  CHECK(vals<uint8_t>(run_both(back)[0]) == std::vector<uint8_t>{7, 248, 255});
  OpCase t{.op = "Transpose", .inputs = {p}};
  CHECK_THROWS_WITH_AS(test::run_op(t, true), doctest::Contains("packed 4-bit"), Error);
}

TEST_CASE("movement: Shape of a runtime input folds, so Shape->Gather->Concat->Reshape runs") {
  auto g = std::make_shared<Graph>();
  g->opset = 17;
  auto add = [&](const std::string& name) {
    TensorInfo t;
    t.name = name;
    return g->add_tensor(t);
  };
  TensorInfo xi{"x", DType::kF32, Shape::of({2, 3, 4})};
  TensorId x = g->add_tensor(xi);
  g->inputs.push_back(x);
  auto c64 = [&](const std::string& name, std::vector<int64_t> v) {
    return g->add_constant(name, DType::kI64, {static_cast<int64_t>(v.size())},
                           Buffer::copy_of(v.data(), v.size() * sizeof(int64_t)));
  };
  TensorId s = add("s"), gathered = add("g"), shape = add("shape"), y = add("y");
  Attributes axis0;
  axis0.set("axis", int64_t(0));
  g->nodes.push_back(Node{"shape", "Shape", {x}, {s}, {}});
  g->nodes.push_back(Node{"gather", "Gather", {s, c64("i", {0})}, {gathered}, axis0});
  g->nodes.push_back(Node{"concat", "Concat", {gathered, c64("m1", {-1})}, {shape}, axis0});
  g->nodes.push_back(Node{"reshape", "Reshape", {x, shape}, {y}, {}});
  g->outputs.push_back(y);
  Session sess(g, SessionOptions{});
  CHECK(sess.kernel_choices().size() == 1);  // only the Reshape is left
  auto out = sess.run({HostTensor::from<float>("x", {2, 3, 4}, iota_f(24))});
  CHECK(out[0].dims == Dims{2, 12});
  CHECK(vals<float>(out[0]) == iota_f(24));
}

TEST_CASE("movement: DepthToSpace (DCR, CRD) and SpaceToDepth") {
  OpCase d{.op = "DepthToSpace", .inputs = {HostTensor::from<float>("x", {1, 8, 1, 1}, iota_f(8))}};
  d.attrs.set("blocksize", int64_t(2));
  auto out = run_both(d);
  CHECK(out[0].dims == Dims{1, 2, 2, 2});
  CHECK(vals<float>(out[0]) == std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7});
  d.attrs.set("mode", std::string("CRD"));
  CHECK(vals<float>(run_both(d)[0]) == iota_f(8));
  // SpaceToDepth inverts DCR DepthToSpace.
  auto x = HostTensor::from<float>("x", {2, 12, 3, 5}, test::random_floats(360, 1));
  OpCase dcr{.op = "DepthToSpace", .inputs = {x}};
  dcr.attrs.set("blocksize", int64_t(2));
  auto y = run_both(dcr)[0];
  CHECK(y.dims == Dims{2, 3, 6, 10});
  y.name = "x";
  OpCase s2d{.op = "SpaceToDepth", .inputs = {y}};
  s2d.attrs.set("blocksize", int64_t(2));
  auto back = run_both(s2d)[0];
  CHECK(back.dims == x.dims);
  CHECK(back.bytes == x.bytes);
  s2d.attrs.set("blocksize", int64_t(4));
  CHECK_THROWS_WITH_AS(test::run_op(s2d, true), doctest::Contains("not divisible"), Error);
  dcr.attrs.set("blocksize", int64_t(5));
  CHECK_THROWS_WITH_AS(test::run_op(dcr, true), doctest::Contains("blocksize^2"), Error);
}
