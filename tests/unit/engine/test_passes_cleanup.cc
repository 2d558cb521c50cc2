#include <doctest/doctest.h>

#include "engine/passes/passes.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
using test::GraphBuilder;

TEST_CASE("passes: identities inside the graph are bypassed") {
  GraphBuilder b;
  TensorId x = b.input("x", {2, 3});
  TensorId a = b.unary("Relu", x);
  TensorId i1 = b.unary("Identity", a);
  TensorId i2 = b.unary("Dropout", i1);
  TensorId y = b.node("Sigmoid", {i2}, {2, 3}, {}, "y");
  b.output(y);
  CHECK(remove_identities(*b.g).changed == 2);
  REQUIRE(b.g->nodes.size() == 2);
  CHECK(b.g->nodes[1].inputs[0] == a);
  b.g->topo_sort();  // still well formed
}

TEST_CASE("passes: identity writing a graph output renames the producer's output") {
  GraphBuilder b;
  TensorId x = b.input("x", {2, 3});
  TensorId a = b.unary("Relu", x);
  TensorId other = b.unary("Sigmoid", a);  // another reader of the producer's output
  TensorId y = b.node("Identity", {a}, {2, 3}, {}, "y");
  b.output(y);
  b.output(other);
  CHECK(remove_identities(*b.g).changed == 1);
  REQUIRE(b.g->nodes.size() == 2);
  CHECK(b.g->nodes[0].outputs[0] == y);
  CHECK(b.g->nodes[1].inputs[0] == y);
  CHECK(b.g->tensor(b.g->outputs[0]).name == "y");
  b.g->topo_sort();
}

TEST_CASE("passes: identity from graph input to graph output stays") {
  GraphBuilder b;
  TensorId x = b.input("x", {2, 3});
  b.output(b.node("Identity", {x}, {2, 3}, {}, "y"));
  CHECK(remove_identities(*b.g).changed == 0);
  CHECK(b.g->nodes.size() == 1);
}

TEST_CASE("passes: Cast to the same type goes, other Casts and used Dropout masks stay") {
  GraphBuilder b;
  TensorId x = b.input("x", {4});
  TensorId same = b.unary("Cast", x);  // f32 -> f32
  TensorId r = b.unary("Relu", same);
  Attributes to_int;
  to_int.set("to", int64_t{7});
  TensorId as_int = b.unary("Cast", r, to_int);
  b.g->tensor(as_int).dtype = DType::kI64;
  b.output(as_int);
  // Dropout whose mask is read: not an identity.
  TensorId d = b.unary("Dropout", r);
  TensorId mask = b.g->add_tensor(TensorInfo{"mask", DType::kBool, Shape::of({4}), nullptr, {}});
  b.g->nodes.back().outputs.push_back(mask);
  b.output(d);
  b.output(mask);
  CHECK(remove_identities(*b.g).changed == 1);
  CHECK(b.count("Cast") == 1);
  CHECK(b.count("Dropout") == 1);
  CHECK(b.g->nodes[0].op_type == "Relu");
  CHECK(b.g->nodes[0].inputs[0] == x);
}

TEST_CASE("passes: dead nodes are removed") {
  GraphBuilder b;
  TensorId x = b.input("x", {2, 3});
  TensorId a = b.unary("Relu", x);
  TensorId dead1 = b.unary("Sigmoid", a);
  b.unary("Tanh", dead1);  // chain that reaches no output
  b.output(b.unary("Neg", a));
  CHECK(remove_dead_nodes(*b.g).changed == 2);
  CHECK(b.g->nodes.size() == 2);
  b.g->compact();
  CHECK(b.g->tensors.size() == 3);
}

TEST_CASE("passes: pipeline on a chain of identities runs through a session") {
  GraphBuilder b;
  TensorId x = b.input("x", {2, 2});
  TensorId i1 = b.unary("Identity", x);
  TensorId i2 = b.unary("Dropout", i1);
  b.output(b.node("Identity", {i2}, {2, 2}, {}, "y"));
  Session s(b.g, SessionOptions{});
  CHECK(s.prepared_graph().nodes.size() == 1);  // input -> output copy stays
  auto out = s.run({HostTensor::from<float>("x", {2, 2}, {1, 2, 3, 4})});
  REQUIRE(out.size() == 1);
  CHECK(out[0].name == "y");
  CHECK(out[0].values<float>()[3] == 4.f);
}
