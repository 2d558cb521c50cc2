// Writes small valid .octet and ONNX models into DIR/octet and DIR/onnx as fuzzing seeds.
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "loaders/octet_format.h"

using namespace octet;

namespace {

void write(const std::filesystem::path& path, const void* data, size_t size) {
  std::ofstream(path, std::ios::binary).write(static_cast<const char*>(data),
                                              static_cast<std::streamsize>(size));
}

Graph octet_seed(bool quantized) {
  Graph g;
  g.name = "seed";
  g.opset = 13;
  TensorInfo x{"x", DType::kF32, Shape::of({1, 4})};
  x.shape.dims[0] = Dim::symbolic("batch");
  TensorId xi = g.add_tensor(x);
  g.inputs = {xi};
  const float wf[4] = {1, 2, 3, 4};
  TensorId w = g.add_constant("w", DType::kF32, {4}, Buffer::copy_of(wf, sizeof wf));
  TensorId a = g.add_tensor({"a", DType::kF32, Shape::unknown()});
  TensorId y = g.add_tensor({"y", DType::kF32, Shape::of({1, 4})});
  Node add{"add", "Add", {xi, w}, {a}, {}};
  add.attrs.set("_layout", std::string("NHWC"));
  add.attrs.set("alpha", 0.5f);
  add.attrs.set("axes", std::vector<int64_t>{0, -1});
  Node mix{"mix", "octet.Mix", {a, kNoTensor}, {y}, {}};
  mix.attrs.set("k", int64_t{7});
  mix.attrs.set("f", std::vector<float>{1.f, 2.f});
  mix.attrs.set("s", std::vector<std::string>{"u", "v"});
  if (quantized) {
    const int8_t q[8] = {-1, 2, -3, 4, 5, 6, 7, 8};
    TensorId qi = g.add_constant("q", DType::kI8, {2, 4}, Buffer::copy_of(q, sizeof q));
    g.tensor(qi).quant = {{0.5f, 0.25f}, {0, 1}, 0, 8, false, 0};
    const uint8_t p[2] = {0x12, 0x34};
    TensorId pi = g.add_constant("p", DType::kI4, {4}, Buffer::copy_of(p, sizeof p));
    g.tensor(pi).quant = {{0.1f}, {}, -1, 4, true, 32};
    mix.inputs = {a, qi, pi};
  }
  g.nodes = {add, mix};
  g.outputs = {y};
  return g;
}

std::string onnx_seed() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("seed");
  for (auto [vi, name] : {std::pair{g->add_input(), "x"}, std::pair{g->add_output(), "y"}}) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_param("batch");
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  }
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  const float wf[4] = {1, 2, 3, 4};
  w->set_raw_data(wf, sizeof wf);
  onnx::TensorProto* s = g->add_initializer();
  s->set_name("shape");
  s->set_data_type(onnx::TensorProto::INT64);
  s->add_dims(2);
  s->add_int64_data(-1);
  s->add_int64_data(4);
  onnx::NodeProto* c = g->add_node();
  c->set_op_type("Constant");
  c->add_output("c");
  auto* ca = c->add_attribute();
  ca->set_name("value");
  ca->set_type(onnx::AttributeProto::TENSOR);
  ca->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  ca->mutable_t()->add_float_data(2.f);
  auto node = [&](const char* op, std::vector<const char*> in, const char* out) {
    onnx::NodeProto* n = g->add_node();
    n->set_name(std::string(op) + "_" + out);
    n->set_op_type(op);
    for (const char* i : in) n->add_input(i);
    n->add_output(out);
    return n;
  };
  node("Add", {"x", "w"}, "a");
  node("Mul", {"a", "c"}, "b");
  node("Reshape", {"b", "shape"}, "r");
  auto* lr = node("LeakyRelu", {"r"}, "y");
  auto* alpha = lr->add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(onnx::AttributeProto::FLOAT);
  alpha->set_f(0.1f);
  auto* ints = lr->add_attribute();
  ints->set_name("extra");
  ints->set_type(onnx::AttributeProto::INTS);
  ints->add_ints(3);
  return m.SerializeAsString();
}

// The shapes of issue 11's heap overflow: an Expand to [2^31, 2^31] and an initializer of
// that shape without data; both must fail cleanly, and mutations of them explore nearby.
std::string onnx_huge_shape_seed(bool expand) {
  constexpr int64_t k2to31 = int64_t(1) << 31;
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  for (auto [vi, name] : {std::pair{g->add_input(), "x"}, std::pair{g->add_output(), "y"}}) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
  }
  onnx::TensorProto* t = g->add_initializer();
  onnx::NodeProto* n = g->add_node();
  n->add_input("x");
  n->add_output("y");
  if (expand) {
    t->set_name("shape");
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(2);
    t->add_int64_data(k2to31);
    t->add_int64_data(k2to31);
    n->set_op_type("Expand");
    n->add_input("shape");
  } else {
    t->set_name("w");
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(k2to31);
    t->add_dims(k2to31);
    t->set_raw_data("");
    n->set_op_type("Add");
    n->add_input("w");
  }
  return m.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "octet");
  std::filesystem::create_directories(dir / "onnx");
  for (bool quantized : {false, true}) {
    auto bytes = save_octet_bytes(octet_seed(quantized));
    write(dir / "octet" / (quantized ? "seed_quant.octet" : "seed.octet"), bytes.data(),
          bytes.size());
  }
  std::string onnx = onnx_seed();
  write(dir / "onnx" / "seed.onnx", onnx.data(), onnx.size());
  for (bool expand : {false, true}) {
    onnx = onnx_huge_shape_seed(expand);
    write(dir / "onnx" / (expand ? "huge_expand.onnx" : "huge_initializer.onnx"), onnx.data(), onnx.size());
  }
  return 0;
}
