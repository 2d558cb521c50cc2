// The .octet format: round trip of everything the IR holds, zero-copy mapping, and the
// reader's rejection of files that are well-formed flatbuffers but semantically wrong.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "base/error.h"
#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/octet_format.h"
#include "schemas/octet_generated.h"

using namespace octet;

namespace {

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "octet_format_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

template <typename T>
BufferPtr bytes_of(const std::vector<T>& v) {
  return Buffer::copy_of(v.data(), v.size() * sizeof(T));
}

TensorId add(Graph& g, const std::string& name, DType dtype, Shape shape) {
  TensorInfo t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return g.add_tensor(std::move(t));
}

// A graph using every feature of the format (not meant to run).
Graph sample_graph() {
  Graph g;
  g.name = "sample \"graph\"";
  g.opset = 17;
  Shape in_shape;
  in_shape.has_rank = true;
  in_shape.dims = {Dim::symbolic("batch"), Dim::known(3), Dim{}, Dim::known(8)};
  TensorId x = add(g, "x", DType::kF32, in_shape);
  g.inputs.push_back(x);

  TensorId w = g.add_constant("w", DType::kF32, {2, 3}, bytes_of<float>({1, -2, 3.5f, 0, 1e-30f, -0.f}));
  TensorId wq = g.add_constant("wq", DType::kI8, {4}, bytes_of<int8_t>({-128, -1, 0, 127}));
  QuantParams& q = g.tensor(wq).quant;
  q.scale = {0.5f, 0.25f, 1e-8f, 3.f};
  q.zero_point = {0, 0, 0, 0};
  q.axis = 0;
  q.symmetric = true;
  TensorId u4 = g.add_constant("u4", DType::kU4, {5}, bytes_of<uint8_t>({0x21, 0x43, 0x05}));
  g.tensor(u4).quant.bitwidth = 4;
  g.tensor(u4).quant.block_size = 32;
  g.tensor(u4).quant.scale = {0.125f};
  g.tensor(u4).quant.zero_point = {0};
  TensorId i64 = g.add_constant("shape", DType::kI64, {2},
                                bytes_of<int64_t>({-1, std::numeric_limits<int64_t>::max()}));
  TensorId b = g.add_constant("mask", DType::kBool, {3}, bytes_of<uint8_t>({1, 0, 1}));
  TensorId h = g.add_constant("half", DType::kF16, {2}, bytes_of<uint16_t>({0x3c00, 0xc000}));
  TensorId empty = g.add_constant("empty", DType::kF32, {0, 4}, Buffer::copy_of(nullptr, 0));
  // Two tensors sharing one buffer, and a buffer longer than the shape needs.
  BufferPtr shared = bytes_of<int32_t>({7, 8, 9, 10, 11});
  TensorId s1 = g.add_constant("shared1", DType::kI32, {4}, shared);
  TensorId s2 = g.add_constant("shared2", DType::kI32, {2, 2}, shared);
  TensorId scalar = g.add_constant("scalar", DType::kU64, {}, bytes_of<uint64_t>({42}));

  TensorId a = add(g, "a", DType::kF32, Shape::unknown());
  TensorId c = add(g, "c", DType::kUndefined, Shape::unknown());
  TensorId y = add(g, "y", DType::kU8, Shape::of({1, 3, 4, 8}));
  g.tensor(y).quant.scale = {0.02f};
  g.tensor(y).quant.zero_point = {128};

  Node conv;
  conv.name = "conv0";
  conv.op_type = "Conv";
  conv.inputs = {x, w, kNoTensor};
  conv.outputs = {a};
  conv.attrs.set("group", int64_t{1});
  conv.attrs.set("_act_min", 0.f);
  conv.attrs.set("_act_max", std::numeric_limits<float>::infinity());
  conv.attrs.set("_layout", std::string("NHWC"));
  conv.attrs.set("empty_string", std::string());
  conv.attrs.set("pads", std::vector<int64_t>{0, 1, -2, std::numeric_limits<int64_t>::min()});
  conv.attrs.set("no_ints", std::vector<int64_t>{});
  conv.attrs.set("no_floats", std::vector<float>{});
  conv.attrs.set("scales", std::vector<float>{1.5f, -0.f});
  conv.attrs.set("names", std::vector<std::string>{"a", "", "c\xc3\xa9"});
  g.nodes.push_back(conv);

  Node custom;
  custom.name = "fancy";
  custom.op_type = "octet.FancyOp";  // not in the Op enum
  custom.inputs = {a, wq, u4, i64, b, h, empty, s1, s2, scalar};
  custom.outputs = {c, kNoTensor};
  g.nodes.push_back(custom);

  Node named_custom;
  named_custom.name = "";
  named_custom.op_type = "Custom";  // the enum's own name for the escape value
  named_custom.inputs = {c};
  named_custom.outputs = {y};
  g.nodes.push_back(named_custom);
  g.outputs = {y, a};
  return g;
}

void check_same(const Graph& a, const Graph& b) {
  CHECK(a.name == b.name);
  CHECK(a.opset == b.opset);
  CHECK(a.inputs == b.inputs);
  CHECK(a.outputs == b.outputs);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorInfo& s = a.tensors[i];
    const TensorInfo& t = b.tensors[i];
    INFO("tensor ", s.name);
    CHECK(s.name == t.name);
    CHECK(s.dtype == t.dtype);
    CHECK(s.shape == t.shape);
    CHECK(s.quant.scale == t.quant.scale);
    CHECK(s.quant.zero_point == t.quant.zero_point);
    CHECK(s.quant.axis == t.quant.axis);
    CHECK(s.quant.bitwidth == t.quant.bitwidth);
    CHECK(s.quant.strict == t.quant.strict);
    CHECK(s.quant.symmetric == t.quant.symmetric);
    CHECK(s.quant.block_size == t.quant.block_size);
    REQUIRE(s.is_constant() == t.is_constant());
    if (s.is_constant()) {
      size_t need = dtype_storage_bytes(s.dtype, checked_numel(s.shape.concrete()));
      REQUIRE(t.data->size() == need);
      if (need > 0) CHECK(std::memcmp(s.data->data(), t.data->data(), need) == 0);
    }
  }
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    INFO("node ", a.nodes[i].name);
    CHECK(a.nodes[i].name == b.nodes[i].name);
    CHECK(a.nodes[i].op_type == b.nodes[i].op_type);
    CHECK(a.nodes[i].inputs == b.nodes[i].inputs);
    CHECK(a.nodes[i].outputs == b.nodes[i].outputs);
    CHECK(a.nodes[i].attrs.all() == b.nodes[i].attrs.all());
  }
}

}  // namespace

TEST_CASE("octet round trip keeps every field, constants mapped in place") {
  Graph g = sample_graph();
  const std::string path = temp_path("sample.octet");
  save_octet(g, path);
  OctetFileInfo info;
  auto loaded = load_octet(path, &info);
  check_same(g, *loaded);
  CHECK(info.format_major == kOctetFormatMajor);
  CHECK(info.format_minor == kOctetFormatMinor);
  CHECK(info.producer.rfind("octet", 0) == 0);
  CHECK(info.size == std::filesystem::file_size(path));

  for (const TensorInfo& t : loaded->tensors) {
    if (!t.is_constant()) continue;
    INFO("tensor ", t.name);
    CHECK(t.data->data() >= info.data);
    CHECK(t.data->data() + t.data->size() <= info.data + info.size);
    CHECK(reinterpret_cast<uintptr_t>(t.data->data()) % kOctetBufferAlignment == 0);
  }
  // The two tensors sharing a buffer share it in the file too.
  CHECK(loaded->tensor(loaded->require_tensor("shared1")).data->data() ==
        loaded->tensor(loaded->require_tensor("shared2")).data->data());
  // A constant keeps the mapping alive after its graph is gone, even when the file is
  // rewritten meanwhile (save_octet writes a new file and renames it over the old one).
  BufferPtr w = loaded->tensor(loaded->require_tensor("w")).data;
  save_octet(*loaded, path);
  check_same(g, *load_octet(path));
  loaded.reset();
  CHECK(w->as<float>()[2] == 3.5f);

  // The in-memory writer gives the same bytes, and its image loads the same graph.
  auto bytes = save_octet_bytes(g);
  CHECK(bytes.size() == info.size);
  check_same(g, *load_octet_bytes(bytes.data(), bytes.size(), nullptr, "memory"));
  // Saving again overwrites.
  save_octet(g, path);
  CHECK(std::filesystem::file_size(path) == bytes.size());
}

TEST_CASE("octet files are recognised by content and run in a session") {
  auto g = std::make_shared<Graph>();
  g->opset = 13;
  TensorId x = add(*g, "x", DType::kF32, Shape::of({2, 2}));
  TensorId y = add(*g, "y", DType::kF32, Shape::unknown());
  g->inputs = {x};
  g->outputs = {y};
  Node n;
  n.name = "id";
  n.op_type = "Identity";
  n.inputs = {x};
  n.outputs = {y};
  g->nodes.push_back(n);
  const std::string path = temp_path("identity.model");  // the extension does not matter
  save_octet(*g, path);
  char head[8];
  auto bytes = save_octet_bytes(*g);
  std::memcpy(head, bytes.data(), 8);
  CHECK(is_octet_file_header(head, 8));
  CHECK_FALSE(is_octet_file_header("\x08\0\0\0ONNX", 8));
  auto loaded = load_model(path);
  Session s(loaded);
  auto out = s.run({HostTensor::from<float>("x", {2, 2}, {1, 2, 3, 4})});
  REQUIRE(out.size() == 1);
  CHECK(out[0].values<float>()[3] == 4.f);
}

TEST_CASE("octet writer rejects what the reader would reject") {
  Graph g;
  TensorId c = g.add_constant("c", DType::kF32, {2}, bytes_of<float>({1, 2}));
  g.tensor(c).shape.dims[0] = Dim::symbolic("n");
  CHECK_THROWS_WITH_AS(save_octet(g, temp_path("bad.octet")),
                       doctest::Contains("not concrete"), Error);
  CHECK_FALSE(std::filesystem::exists(temp_path("bad.octet")));
  Graph g2;
  g2.outputs = {3};
  CHECK_THROWS_WITH_AS(save_octet_bytes(g2), doctest::Contains("out of range"), Error);
}

TEST_CASE("octet reader errors name the file") {
  CHECK_THROWS_WITH_AS(load_octet(temp_path("missing.octet")), doctest::Contains("missing.octet"),
                       Error);
  const std::string empty = temp_path("empty.octet");
  { std::ofstream(empty, std::ios::binary); }
  CHECK_THROWS_WITH_AS(load_octet(empty), doctest::Contains("empty.octet: not an .octet file"),
                       Error);
  CHECK_THROWS_WITH_AS(load_octet(std::filesystem::temp_directory_path().string()),
                       doctest::Contains("not a regular file"), Error);
}

// Hand-built flatbuffers: valid for the verifier, wrong in meaning.
namespace {

namespace fbs = octet::fb;
using flatbuffers::FlatBufferBuilder;

struct FileSpec {
  uint32_t major = kOctetFormatMajor;
  fbs::DType dtype = fbs::DType::F32;
  std::vector<int64_t> dims = {2};
  std::vector<std::string> symbols;
  bool rank_known = true;
  bool constant = true;
  uint64_t offset = 0;  // 0: right after the table, aligned
  int64_t size = -1;    // -1: what the shape needs
  fbs::Op op = fbs::Op::Identity;
  const char* op_name = nullptr;
  std::vector<int32_t> inputs = {0};
  std::vector<int32_t> outputs = {1};
  std::vector<int32_t> graph_outputs = {1};
  int attr_type = 0;  // 0: no attribute; else the raw union type
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int32_t bitwidth = 8;
  bool symmetric = false;
  std::optional<bool> strict;  // nullopt: the field is absent (files before it)
  bool cycle = false;
  const char* identifier = "OCTT";
};

std::vector<std::byte> make_file(const FileSpec& f) {
  auto build = [&](FlatBufferBuilder& b, uint64_t offset, uint64_t size) {
    std::vector<flatbuffers::Offset<fbs::Tensor>> tensors;
    fbs::BufferRef ref(offset, size);
    flatbuffers::Offset<fbs::QuantParams> quant;
    if (!f.scale.empty() || !f.zero_point.empty() || f.bitwidth != 8)
      quant = fbs::CreateQuantParams(
          b, b.CreateVector(f.scale), b.CreateVector(f.zero_point), -1, f.bitwidth, f.symmetric, 0,
          f.strict ? flatbuffers::Optional<bool>(*f.strict) : flatbuffers::Optional<bool>());
    tensors.push_back(fbs::CreateTensor(
        b, b.CreateString("t0"), f.dtype, f.rank_known, b.CreateVector(f.dims),
        f.symbols.empty() ? 0 : b.CreateVectorOfStrings(f.symbols), f.constant ? &ref : nullptr,
        quant));
    tensors.push_back(fbs::CreateTensor(b, b.CreateString("t1"), fbs::DType::F32));
    tensors.push_back(fbs::CreateTensor(b, b.CreateString("t2"), fbs::DType::F32));
    std::vector<flatbuffers::Offset<fbs::Attribute>> attrs;
    if (f.attr_type)
      attrs.push_back(fbs::CreateAttribute(b, b.CreateString("k"),
                                           static_cast<fbs::AttributeValue>(f.attr_type),
                                           fbs::CreateIntValue(b, 3).Union()));
    std::vector<flatbuffers::Offset<fbs::Node>> nodes;
    nodes.push_back(fbs::CreateNode(b, b.CreateString("n0"), f.op,
                                    f.op_name ? b.CreateString(f.op_name) : 0,
                                    b.CreateVector(f.inputs), b.CreateVector(f.outputs),
                                    b.CreateVector(attrs)));
    if (f.cycle) {
      std::vector<int32_t> in = {1}, out = {2};
      nodes.push_back(fbs::CreateNode(b, b.CreateString("n1"), fbs::Op::Identity, 0,
                                      b.CreateVector(in), b.CreateVector(out)));
    }
    std::vector<int32_t> graph_inputs;
    auto model = fbs::CreateModel(b, f.major, 0, b.CreateString("test"), b.CreateString("g"), 13,
                                  b.CreateVector(tensors), b.CreateVector(nodes),
                                  b.CreateVector(graph_inputs), b.CreateVector(f.graph_outputs));
    b.Finish(model, f.identifier);
  };
  // Wrapping arithmetic: some cases have dims whose product overflows on purpose.
  uint64_t numel = 1;
  for (int64_t d : f.dims) numel *= static_cast<uint64_t>(d);
  const uint64_t size = f.size >= 0 ? uint64_t(f.size) : numel * 4;
  FlatBufferBuilder probe;
  build(probe, 0, size);
  const uint64_t base = (probe.GetSize() + 63) / 64 * 64;
  FlatBufferBuilder b;
  build(b, f.offset ? f.offset : base, size);
  std::vector<std::byte> out(base + (f.size >= 0 ? 16 : size));
  std::memcpy(out.data(), b.GetBufferPointer(), b.GetSize());
  return out;
}

std::string load_error(const FileSpec& f) {
  auto bytes = make_file(f);
  try {
    load_octet_bytes(bytes.data(), bytes.size(), nullptr, "spec.octet");
  } catch (const Error& e) {
    return e.what();
  }
  return "(loaded)";
}

}  // namespace

TEST_CASE("octet reader semantic checks") {
  CHECK(load_error({}) == "(loaded)");
  auto rejects = [](FileSpec f, std::string what) {
    std::string m = load_error(f);
    INFO(m, " expected: ", what);
    CHECK(m.rfind("spec.octet: ", 0) == 0);
    CHECK(m.find(what) != std::string::npos);
  };
  rejects({.major = 2}, "newer octet");
  rejects({.major = 0}, "no format version");
  rejects({.identifier = "ABCD"}, "not an .octet file");
  rejects({.dtype = static_cast<fbs::DType>(200)}, "unknown dtype");
  rejects({.dtype = fbs::DType::Undefined}, "without dtype");
  rejects({.dims = {-5}, .size = 16}, "dimension 0 is -5");
  rejects({.dims = std::vector<int64_t>(17, 1)}, "rank 17");
  rejects({.dims = {1 << 30, 1 << 30, 1 << 30}, .size = 16}, "more than 2^48");
  rejects({.dims = {1 << 20, 1 << 20}, .size = 16}, "far more");
  rejects({.dims = {2, 3}, .symbols = {"a"}}, "1 dimension symbols for rank 2");
  rejects({.rank_known = false}, "unknown rank");
  rejects({.dims = {-1}, .size = 16}, "a constant with shape [?]");
  rejects({.size = 4}, "4 data bytes");
  rejects({.offset = 4096}, "outside the file");
  rejects({.offset = std::numeric_limits<uint64_t>::max() - 3}, "outside the file");
  rejects({.offset = 8}, "not a multiple of 64");
  rejects({.op = static_cast<fbs::Op>(9999)}, "unknown op 9999");
  rejects({.op = fbs::Op::Custom}, "custom op without op name");
  rejects({.inputs = {5}}, "refers to tensor 5");
  rejects({.inputs = {-2}}, "refers to tensor -2");
  rejects({.outputs = {3}}, "refers to tensor 3");
  rejects({.graph_outputs = {-1}}, "a graph output refers to tensor -1");
  rejects({.attr_type = 99}, "unknown attribute type 99");
  rejects({.scale = {1.f, 2.f}, .zero_point = {0}}, "1 zero points for 2 scales");
  rejects({.scale = {std::numeric_limits<float>::quiet_NaN()}}, "not finite");
  rejects({.bitwidth = 0}, "bitwidth 0");
  rejects({.outputs = {0}}, "both a constant and the output");
  rejects({.inputs = {0, 2}, .cycle = true}, "cycle through node");
  // A custom op with a name loads with that op_type.
  FileSpec custom{.op = fbs::Op::Custom, .op_name = "Frobnicate"};
  auto bytes = make_file(custom);
  auto g = load_octet_bytes(bytes.data(), bytes.size(), nullptr, "spec.octet");
  CHECK(g->nodes[0].op_type == "Frobnicate");
}

TEST_CASE("octet buffers beyond 2 GB are mapped in place") {
  // A sparse file: the table, a hole, then 16 bytes at offset 3 GiB.
  const uint64_t far = uint64_t(3) << 30;
  FileSpec spec{.dims = {4}, .offset = far};
  auto bytes = make_file(spec);
  const std::string path = temp_path("far.octet");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() - 16));
    out.seekp(static_cast<std::streamoff>(far));
    const float values[4] = {1.5f, -2.f, 3.f, 4.f};
    out.write(reinterpret_cast<const char*>(values), sizeof values);
    REQUIRE(out.good());
  }
  REQUIRE(std::filesystem::file_size(path) == far + 16);
  OctetFileInfo info;
  auto g = load_octet(path, &info);
  const TensorInfo& t = g->tensor(0);
  REQUIRE(t.is_constant());
  CHECK(t.data->data() - info.data == static_cast<std::ptrdiff_t>(far));
  CHECK(t.data->as<float>()[0] == 1.5f);
  CHECK(t.data->as<float>()[3] == 4.f);
  g.reset();
  std::filesystem::remove(path);
}

TEST_CASE("octet QuantParams: the strict grid is stored, checked, and derived for older files") {
  auto strict_of = [](FileSpec f) {
    auto bytes = make_file(f);
    return load_octet_bytes(bytes.data(), bytes.size(), nullptr, "spec.octet")->tensors[0].quant;
  };
  // Stored.
  CHECK(strict_of({.scale = {0.1f}, .zero_point = {127}, .symmetric = true, .strict = true}).strict);
  CHECK(strict_of({.scale = {0.1f}, .zero_point = {0}, .symmetric = true, .strict = true}).strict);
  CHECK_FALSE(strict_of({.scale = {0.1f}, .zero_point = {128}, .symmetric = true, .strict = false}).strict);
  // Absent (files written before the field): symmetric with every zero point 2^(b-1) - 1.
  const QuantParams old_strict = strict_of({.scale = {0.1f}, .zero_point = {127}, .symmetric = true});
  CHECK(old_strict.strict);
  CHECK(old_strict.qmax() == 254);
  CHECK_FALSE(strict_of({.scale = {0.1f}, .zero_point = {128}, .symmetric = true}).strict);
  CHECK_FALSE(strict_of({.scale = {0.1f}, .zero_point = {127}}).strict);  // asymmetric
  // Inconsistent.
  CHECK(load_error({.scale = {0.1f}, .zero_point = {127}, .strict = true})
            .find("a strict grid that is not symmetric") != std::string::npos);
  CHECK(load_error({.scale = {0.1f}, .zero_point = {5}, .symmetric = true, .strict = true})
            .find("zero point 5 on a strict 8-bit grid") != std::string::npos);
  // Written and read back by octet itself.
  Graph g;
  g.name = "strict";
  TensorInfo t;
  t.name = "w";
  t.dtype = DType::kF32;
  t.shape = Shape::of({2});
  const float values[2] = {0.5f, -0.5f};
  t.data = Buffer::copy_of(reinterpret_cast<const std::byte*>(values), sizeof(values));
  t.quant.scale = {0.1f};
  t.quant.zero_point = {0};
  t.quant.symmetric = true;
  t.quant.strict = true;  // AIMET's unsigned strict symmetric
  const TensorId w = g.add_tensor(t);
  TensorInfo y;
  y.name = "y";
  y.dtype = DType::kF32;
  y.shape = Shape::of({2});
  const TensorId out = g.add_tensor(y);
  Node n;
  n.name = "id";
  n.op_type = "Identity";
  n.inputs = {w};
  n.outputs = {out};
  g.nodes.push_back(n);
  g.outputs = {out};
  const auto bytes = save_octet_bytes(g);
  auto back = load_octet_bytes(bytes.data(), bytes.size(), nullptr, "memory");
  CHECK(back->tensor(back->require_tensor("w")).quant.strict);
  CHECK(back->tensor(back->require_tensor("w")).quant.qmax() == 254);
}
