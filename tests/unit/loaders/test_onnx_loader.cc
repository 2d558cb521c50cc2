// The ONNX loader: storage forms, Constant nodes, external data, opsets, bad models.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "engine/prepare_graph.h"
#include "loaders/onnx_loader.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

onnx::ModelProto identity_model(int64_t opset) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* imp = m.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto_DataType_FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  auto* n = g->add_node();
  n->set_op_type("Identity");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

std::shared_ptr<Graph> load(const onnx::ModelProto& m, const std::string& dir = ".") {
  std::string bytes = m.SerializeAsString();
  return load_onnx_bytes(bytes.data(), bytes.size(), "test.onnx", dir);
}

onnx::TensorProto* add_init(onnx::ModelProto& m, const std::string& name, int type,
                            std::vector<int64_t> dims) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

}  // namespace

TEST_CASE("onnx loader: inputs, symbolic dims, opset") {
  auto g = load(identity_model(13));
  REQUIRE(g->inputs.size() == 1);
  const TensorInfo& x = g->tensor(g->inputs[0]);
  CHECK(x.dtype == DType::kF32);
  CHECK(x.shape.to_string() == "[batch,3]");
  CHECK(g->opset == 13);
  CHECK_THROWS_WITH_AS(load(identity_model(5)), doctest::Contains("opset 5"), Error);
}

TEST_CASE("onnx loader: initializer storage forms") {
  auto m = identity_model(13);
  auto* raw = add_init(m, "raw", onnx::TensorProto_DataType_FLOAT, {2});
  float vals[2] = {1.5f, -2.f};
  raw->set_raw_data(std::string(reinterpret_cast<char*>(vals), sizeof vals));
  auto* typed = add_init(m, "typed", onnx::TensorProto_DataType_INT64, {3});
  for (int64_t v : {7, -8, 9}) typed->add_int64_data(v);
  auto* i8 = add_init(m, "i8", onnx::TensorProto_DataType_INT8, {2});
  i8->add_int32_data(-5);
  i8->add_int32_data(100);
  auto g = load(m);
  CHECK(g->tensor(g->require_tensor("raw")).data->as<float>()[1] == -2.f);
  CHECK(g->tensor(g->require_tensor("typed")).data->as<int64_t>()[1] == -8);
  CHECK(g->tensor(g->require_tensor("i8")).data->as<int8_t>()[0] == -5);

  auto bad = identity_model(13);
  auto* t = add_init(bad, "short", onnx::TensorProto_DataType_FLOAT, {4});
  t->set_raw_data(std::string(8, '\0'));
  CHECK_THROWS_WITH_AS(load(bad), doctest::Contains("'short'"), Error);
  auto neg = identity_model(13);
  add_init(neg, "neg", onnx::TensorProto_DataType_FLOAT, {-1});
  CHECK_THROWS_WITH_AS(load(neg), doctest::Contains("negative dimension"), Error);
}

TEST_CASE("onnx loader: external data next to the model") {
  fs::path dir = fs::temp_directory_path() / "octet_ext_test";
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "w.bin", std::ios::binary);
    float pad = 0, v[3] = {1, 2, 3};
    f.write(reinterpret_cast<char*>(&pad), 4);
    f.write(reinterpret_cast<char*>(v), 12);
  }
  auto m = identity_model(13);
  auto* t = add_init(m, "w", onnx::TensorProto_DataType_FLOAT, {3});
  t->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
  auto kv = [&](const char* k, const char* v) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "w.bin");
  kv("offset", "4");
  kv("length", "12");
  auto g = load(m, dir.string());
  CHECK(g->tensor(g->require_tensor("w")).data->as<float>()[2] == 3.f);

  auto escape = identity_model(13);
  auto* e = add_init(escape, "w", onnx::TensorProto_DataType_FLOAT, {3});
  e->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
  auto* loc = e->add_external_data();
  loc->set_key("location");
  loc->set_value("../w.bin");
  CHECK_THROWS_WITH_AS(load(escape, dir.string()), doctest::Contains("leaves the model's folder"),
                       Error);
  auto past_end = m;
  past_end.mutable_graph()->mutable_initializer(0)->mutable_external_data(1)->set_value("8");
  CHECK_THROWS_WITH_AS(load(past_end, dir.string()), doctest::Contains("w.bin"), Error);
}

TEST_CASE("onnx loader: Constant nodes become constants") {
  auto m = identity_model(9);
  auto* c = m.mutable_graph()->add_node();
  c->set_op_type("Constant");
  c->add_output("k");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto_DataType_FLOAT);
  a->mutable_t()->add_dims(1);
  a->mutable_t()->add_float_data(4.25f);
  auto* c2 = m.mutable_graph()->add_node();
  c2->set_op_type("Constant");
  c2->add_output("ints");
  auto* a2 = c2->add_attribute();
  a2->set_name("value_ints");
  a2->set_type(onnx::AttributeProto::INTS);
  a2->add_ints(1);
  a2->add_ints(2);
  auto g = load(m);
  CHECK(g->nodes.size() == 1);
  CHECK(g->tensor(g->require_tensor("k")).data->as<float>()[0] == 4.25f);
  CHECK(g->tensor(g->require_tensor("ints")).shape.to_string() == "[2]");
}

TEST_CASE("onnx loader: unsupported ops are listed together") {
  auto m = identity_model(13);
  for (const char* op : {"FancyOp", "OtherOp", "FancyOp"}) {
    auto* n = m.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(std::string("n_") + op + std::to_string(m.graph().node_size()));
    n->add_input("x");
    n->add_output(std::string("o") + std::to_string(m.graph().node_size()));
  }
  auto g = load(m);
  try {
    check_ops_supported(*g, "test.onnx");
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("FancyOp (2 nodes)") != std::string::npos);
    CHECK(msg.find("OtherOp (1 node)") != std::string::npos);
  }
}

TEST_CASE("onnx loader: structural errors name the file") {
  CHECK_THROWS_WITH_AS(load_onnx_bytes("\x08\x07\xff\xff", 4, "junk.onnx", "."),
                       doctest::Contains("junk.onnx"), Error);
  auto dangling = identity_model(13);
  dangling.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  CHECK_THROWS_WITH_AS(load(dangling), doctest::Contains("nowhere"), Error);
  auto twice = identity_model(13);
  auto* n = twice.mutable_graph()->add_node();
  n->set_op_type("Identity");
  n->add_input("x");
  n->add_output("y");
  CHECK_THROWS_WITH_AS(load(twice), doctest::Contains("'y'"), Error);
  CHECK_THROWS_WITH_AS(load_onnx("/nonexistent/model.onnx"), doctest::Contains("no such file"),
                       Error);
}
