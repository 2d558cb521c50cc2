#include <doctest/doctest.h>

#include <algorithm>

#include <filesystem>

#include "engine/memory_planner.h"
#include "engine/passes/passes.h"
#include "engine/prepare_graph.h"
#include "loaders/npy.h"
#include "tests/support/op_test_util.h"

using namespace octet;

TEST_CASE("Identity runs through a session") {
  test::OpCase c;
  c.op = "Identity";
  c.inputs = {HostTensor::from<float>("x", {2, 3}, {1, 2, 3, 4, 5, 6})};
  auto out = test::run_op(c, false);
  REQUIRE(out.size() == 1);
  CHECK(out[0].dims == Dims{2, 3});
  CHECK(out[0].values<float>()[5] == 6.f);
}

TEST_CASE("unsupported ops are all listed in one error") {
  Graph g;
  for (const char* op : {"Foo", "Bar", "Foo"}) {
    Node n;
    n.op_type = op;
    n.name = std::string(op) + std::to_string(g.nodes.size());
    g.nodes.push_back(n);
  }
  try {
    check_ops_supported(g, "model.onnx");
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("Foo (2 nodes)") != std::string::npos);
    CHECK(m.find("Bar (1 node)") != std::string::npos);
    CHECK(m.find("'Foo2'") != std::string::npos);
  }
}

TEST_CASE("symbolic input dims must be fixed before running") {
  auto g = test::make_op_graph({.op = "Identity",
                                .inputs = {HostTensor::from<float>("x", {1, 4}, {1, 2, 3, 4})}});
  g->tensor(g->inputs[0]).shape.dims[0] = Dim::symbolic("batch");
  CHECK_THROWS_WITH_AS(Session(g, SessionOptions{}), doctest::Contains("--shape"), Error);
  SessionOptions opt;
  opt.input_shapes["x"] = {3, 4};
  Session s(g, opt);
  CHECK(s.input_specs()[0].second == Dims{3, 4});
  opt.input_shapes["x"] = {3, 5};
  CHECK_THROWS_WITH_AS(Session(g, opt), doctest::Contains("fixed to 4"), Error);
}

TEST_CASE("memory planner reuses buffers of dead tensors") {
  // A chain x -> a -> b -> c -> y of identities: at most two live at once.
  auto g = std::make_shared<Graph>();
  TensorInfo x{"x", DType::kF32, Shape::of({256})};
  TensorId prev = g->add_tensor(x);
  g->inputs.push_back(prev);
  for (int i = 0; i < 4; ++i) {
    TensorInfo t{"t" + std::to_string(i), DType::kF32, Shape::of({256})};
    TensorId id = g->add_tensor(t);
    g->nodes.push_back(Node{"n" + std::to_string(i), "Identity", {prev}, {id}, {}});
    prev = id;
  }
  g->outputs.push_back(prev);
  MemoryPlan plan = plan_memory(*g, std::vector<bool>(4, false));
  CHECK(plan.naive_bytes == 5 * 1024);
  CHECK(plan.arena_bytes == 2 * 1024);
  // Aliased views need no bytes of their own.
  MemoryPlan views = plan_memory(*g, std::vector<bool>(4, true));
  CHECK(views.arena_bytes == 1024);
}

// Issue 29, finding 6: with thousands of tensors live at once (graph outputs live to the end)
// planning took minutes (every placement scanned each step of its lifetime). The plan must
// still give every live pair disjoint bytes.
TEST_CASE("memory planner: thousands of graph outputs plan quickly, no two live buffers overlap") {
  auto g = std::make_shared<Graph>();
  TensorId prev = g->add_tensor(TensorInfo{"x", DType::kF32, Shape::of({16})});
  g->inputs.push_back(prev);
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const TensorId id = g->add_tensor(TensorInfo{"t" + std::to_string(i), DType::kF32, Shape::of({16})});
    g->nodes.push_back(Node{"n" + std::to_string(i), "Relu", {prev}, {id}, {}});
    if (i % 2 == 0) g->outputs.push_back(id);  // half live to the end, half die at once
    prev = id;
  }
  const MemoryPlan plan = plan_memory(*g, std::vector<bool>(size_t(n), false));
  // Every output is live at the end: their buffers are pairwise disjoint.
  std::vector<int64_t> offsets;
  for (TensorId o : g->outputs) offsets.push_back(plan.offset[size_t(o)]);
  std::sort(offsets.begin(), offsets.end());
  CHECK(std::adjacent_find(offsets.begin(), offsets.end()) == offsets.end());
  CHECK(offsets.back() - offsets.front() >= int64_t(offsets.size() - 1) * 64);
  CHECK(plan.arena_bytes <= size_t(n / 2 + 2) * 64);
}

TEST_CASE("npy round trip and bad files") {
  auto dir = std::filesystem::temp_directory_path() / "octet_npy_test";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "a.npy").string();
  HostTensor t = HostTensor::from<int64_t>("", {2, 2}, {1, -2, 3, 4});
  save_npy(path, t);
  HostTensor r = load_npy(path);
  CHECK(r.dtype == DType::kI64);
  CHECK(r.dims == Dims{2, 2});
  CHECK(r.values<int64_t>()[1] == -2);
  CHECK_THROWS_WITH_AS(parse_npy("garbage", 7, "g.npy"), doctest::Contains("g.npy"), Error);
  std::vector<std::byte> bytes(r.bytes.size());
  CHECK_THROWS_AS(load_npy((dir / "missing.npy").string()), Error);
}

TEST_CASE("dead-node removal works on nodes not in topological order") {
  // y = Identity(t), t = Identity(x), with the producer of t listed last (as passes
  // leave graphs before they sort them again).
  Graph g;
  TensorId x = g.add_tensor({"x", DType::kF32, Shape::of({2})});
  TensorId t = g.add_tensor({"t", DType::kF32, Shape::of({2})});
  TensorId y = g.add_tensor({"y", DType::kF32, Shape::of({2})});
  TensorId unused = g.add_tensor({"unused", DType::kF32, Shape::of({2})});
  g.inputs = {x};
  g.outputs = {y};
  g.nodes.push_back(Node{"use", "Identity", {t}, {y}, {}});
  g.nodes.push_back(Node{"dead", "Identity", {x}, {unused}, {}});
  g.nodes.push_back(Node{"make", "Identity", {x}, {t}, {}});
  PassReport r = remove_dead_nodes(g);
  CHECK(r.changed == 1);
  REQUIRE(g.nodes.size() == 2);
  CHECK(g.nodes[0].name == "use");
  CHECK(g.nodes[1].name == "make");
}
