// Untrusted model files: truncated, bit-flipped, overwritten and random inputs must end in a
// loaded graph or an octet::Error, never a crash (the sanitizer build runs this too).
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "base/error.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_loader.h"

using namespace octet;

namespace {

using Loader = std::function<std::shared_ptr<Graph>(const std::vector<std::byte>&)>;

struct Tally {
  int loaded = 0;
  int rejected = 0;
};

// Loads `bytes`; a graph that loads must also survive being written and read back.
void try_load(const Loader& load, const std::vector<std::byte>& bytes, Tally& tally) {
  try {
    auto g = load(bytes);
    tally.loaded++;
    auto again = save_octet_bytes(*g);
    load_octet_bytes(again.data(), again.size(), nullptr, "rewritten");
  } catch (const Error&) {
    tally.rejected++;
  }
}

void corrupt_all_ways(const Loader& load, const std::vector<std::byte>& good, uint32_t seed,
                      Tally& tally) {
  std::mt19937 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  // Every truncation (stepping through large files).
  const size_t step = std::max<size_t>(1, good.size() / 400);
  for (size_t n = 0; n < good.size(); n += step)
    try_load(load, std::vector<std::byte>(good.begin(), good.begin() + n), tally);
  // Random bit flips, 1 to 8 per file.
  for (int i = 0; i < 1500; ++i) {
    auto b = good;
    for (size_t k = 1 + pick(8); k > 0; --k) b[pick(b.size())] ^= std::byte(1u << pick(8));
    try_load(load, b, tally);
  }
  // Aligned 4- and 8-byte words overwritten with boundary values (offsets, sizes, counts).
  const uint64_t values[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
                             0xfffffff0, good.size(), good.size() - 4, 1ull << 40,
                             ~0ull, 0x7fffffffffffffffull};
  for (int i = 0; i < 1000; ++i) {
    auto b = good;
    const size_t width = (rng() & 1) ? 8 : 4;
    if (b.size() < width) break;
    const size_t at = pick(b.size() / width) * width;
    uint64_t v = values[pick(std::size(values))];
    std::memcpy(b.data() + at, &v, width);
    try_load(load, b, tally);
  }
  // Random bytes, and random bytes behind the real header.
  for (int i = 0; i < 300; ++i) {
    std::vector<std::byte> b(pick(2048));
    for (auto& x : b) x = std::byte(rng());
    if ((i & 1) && b.size() >= 16) std::memcpy(b.data(), good.data(), 16);
    try_load(load, b, tally);
  }
}

std::vector<std::byte> sample_octet() {
  Graph g;
  g.name = "bad-input sample";
  g.opset = 13;
  TensorInfo x{"x", DType::kF32, Shape::of({1, 4})};
  x.shape.dims[0] = Dim::symbolic("batch");
  TensorId xi = g.add_tensor(x);
  g.inputs = {xi};
  std::vector<float> wf = {1, 2, 3, 4};
  TensorId w = g.add_constant("w", DType::kF32, {4}, Buffer::copy_of(wf.data(), 16));
  std::vector<int8_t> qi = {-1, 2, -3, 4, 5, 6, 7, 8};
  TensorId q = g.add_constant("q", DType::kI8, {2, 4}, Buffer::copy_of(qi.data(), 8));
  g.tensor(q).quant = {{0.5f, 0.25f}, {0, 1}, 0, 8, false, 0};
  uint8_t packed[2] = {0x12, 0x34};
  TensorId p = g.add_constant("p", DType::kI4, {4}, Buffer::copy_of(packed, 2));
  TensorInfo a{"a", DType::kF32, Shape::unknown()};
  TensorId ai = g.add_tensor(a);
  TensorInfo y{"y", DType::kF32, Shape::of({1, 4})};
  TensorId yi = g.add_tensor(y);
  Node n1{"add", "Add", {xi, w}, {ai}, {}};
  n1.attrs.set("_layout", std::string("NHWC"));
  n1.attrs.set("alpha", 0.5f);
  n1.attrs.set("axes", std::vector<int64_t>{0, -1});
  Node n2{"mix", "octet.Mix", {ai, q, kNoTensor, p}, {yi}, {}};
  n2.attrs.set("k", int64_t{7});
  n2.attrs.set("f", std::vector<float>{1.f, 2.f});
  n2.attrs.set("s", std::vector<std::string>{"u", "v"});
  g.nodes = {n1, n2};
  g.outputs = {yi};
  return save_octet_bytes(g);
}

std::vector<std::byte> sample_onnx() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("octet-test");
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("bad-input onnx");
  auto add_value = [](onnx::ValueInfoProto* vi, const char* name, std::vector<int64_t> dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      if (d < 0) shape->add_dim()->set_dim_param("batch");
      else shape->add_dim()->set_dim_value(d);
    }
  };
  add_value(g->add_input(), "x", {-1, 4});
  add_value(g->add_output(), "y", {-1, 4});
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
  onnx::NodeProto* add = g->add_node();
  add->set_name("add");
  add->set_op_type("Add");
  add->add_input("x");
  add->add_input("w");
  add->add_output("a");
  onnx::NodeProto* mul = g->add_node();
  mul->set_name("mul");
  mul->set_op_type("Mul");
  mul->add_input("a");
  mul->add_input("c");
  mul->add_output("b");
  onnx::NodeProto* r = g->add_node();
  r->set_name("reshape");
  r->set_op_type("Reshape");
  r->add_input("b");
  r->add_input("shape");
  r->add_output("r");
  onnx::NodeProto* clip = g->add_node();
  clip->set_name("clip");
  clip->set_op_type("LeakyRelu");
  clip->add_input("r");
  clip->add_output("y");
  auto* alpha = clip->add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(onnx::AttributeProto::FLOAT);
  alpha->set_f(0.1f);
  auto* ints = clip->add_attribute();
  ints->set_name("extra");
  ints->set_type(onnx::AttributeProto::INTS);
  ints->add_ints(3);
  ints->add_ints(-1);
  std::string bytes = m.SerializeAsString();
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  return {p, p + bytes.size()};
}

}  // namespace

TEST_CASE("octet loader survives corrupt files") {
  auto good = sample_octet();
  Loader load = [](const std::vector<std::byte>& b) {
    return load_octet_bytes(b.data(), b.size(), nullptr, "fuzz.octet");
  };
  REQUIRE(load(good)->nodes.size() == 2);
  Tally tally;
  corrupt_all_ways(load, good, 1234, tally);
  MESSAGE(".octet: ", tally.loaded, " corrupt files loaded, ", tally.rejected, " rejected");
  CHECK(tally.rejected > 0);

  // The file path (mmap) as well, for a few of them.
  auto path = (std::filesystem::temp_directory_path() / "octet_bad_input.octet").string();
  std::mt19937 rng(99);
  Loader load_file = [&](const std::vector<std::byte>& b) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return load_octet(path);
  };
  Tally file_tally;
  for (int i = 0; i < 100; ++i) {
    auto b = good;
    if (i % 2) b.resize(rng() % b.size());
    else b[rng() % b.size()] ^= std::byte(1u << (rng() % 8));
    try_load(load_file, b, file_tally);
  }
  CHECK(file_tally.loaded + file_tally.rejected == 100);
}

TEST_CASE("onnx loader survives corrupt files") {
  auto good = sample_onnx();
  Loader load = [](const std::vector<std::byte>& b) {
    return load_onnx_bytes(b.data(), b.size(), "fuzz.onnx", ".");
  };
  REQUIRE(load(good)->nodes.size() == 4);
  Tally tally;
  corrupt_all_ways(load, good, 5678, tally);
  MESSAGE("onnx: ", tally.loaded, " corrupt files loaded, ", tally.rejected, " rejected");
  CHECK(tally.rejected > 0);

  auto path = (std::filesystem::temp_directory_path() / "octet_bad_input.onnx").string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(good.data()), static_cast<std::streamsize>(good.size() / 2));
  CHECK_THROWS_AS(load_onnx(path), Error);
}

TEST_CASE("onnx loader: a node without an op_type, or an attribute without a name, is refused") {
  // Found by fuzz_write_read: such a node loaded, and the .octet written from it did not read back.
  const std::vector<std::byte> good = sample_onnx();
  onnx::ModelProto m;
  REQUIRE(m.ParseFromArray(good.data(), int(good.size())));
  m.mutable_graph()->mutable_node(2)->clear_op_type();  // "mul"
  const std::string bytes = m.SerializeAsString();
  CHECK_THROWS_WITH_AS(load_onnx_bytes(bytes.data(), bytes.size(), "no_op.onnx", "."),
                       doctest::Contains("no_op.onnx: node 'mul' (): the node has no op_type"), Error);
  REQUIRE(m.ParseFromArray(good.data(), int(good.size())));
  m.mutable_graph()->mutable_node(4)->mutable_attribute(0)->clear_name();  // LeakyRelu's alpha
  const std::string unnamed = m.SerializeAsString();
  CHECK_THROWS_WITH_AS(load_onnx_bytes(unnamed.data(), unnamed.size(), "no_name.onnx", "."),
                       doctest::Contains("no_name.onnx: node 'clip' (LeakyRelu): an attribute has no name"), Error);
}

TEST_CASE("onnx loader: an attribute named like octet's internal ones ('_layout') is refused") {
  // Read from a file, '_layout = NHWC' on a Conv would make octet read an NCHW input as NHWC.
  const std::vector<std::byte> good = sample_onnx();
  onnx::ModelProto m;
  REQUIRE(m.ParseFromArray(good.data(), int(good.size())));
  onnx::AttributeProto* a = m.mutable_graph()->mutable_node(4)->add_attribute();  // LeakyRelu
  a->set_name("_layout");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("NHWC");
  const std::string bytes = m.SerializeAsString();
  CHECK_THROWS_WITH_AS(load_onnx_bytes(bytes.data(), bytes.size(), "internal.onnx", "."),
                       doctest::Contains("internal.onnx: node 'clip' (LeakyRelu): attribute '_layout' starts with '_'"),
                       Error);
}
