// Regression tests for issue 11's hostile-input findings: each builds the smallest input
// that used to crash, hang, leak a file or exhaust memory, and checks for a clean
// octet::Error that says what is wrong.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "base/dtype.h"
#include "base/error.h"
#include "engine/memory_limit.h"
#include "engine/operation_count.h"
#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_loader.h"
#include "quant/encodings_json.h"
#include "quant/encodings_json_detail.h"
#include "tests/support/test_passes_builder.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

constexpr int64_t k2to31 = int64_t{1} << 31;

// A folder of its own under the system's temp folder, removed at the end of the test.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

onnx::ModelProto base_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* imp = m.add_opset_import();
  imp->set_domain("");
  imp->set_version(17);
  m.mutable_graph()->set_name("g");
  return m;
}

void add_input(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims,
               int elem = onnx::TensorProto_DataType_FLOAT) {
  auto* in = m.mutable_graph()->add_input();
  in->set_name(name);
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  for (int64_t d : dims) {
    if (d < 0) tt->mutable_shape()->add_dim()->set_dim_param("n");
    else tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
}

onnx::NodeProto* add_node(onnx::ModelProto& m, const std::string& op,
                          const std::vector<std::string>& ins, const std::string& out) {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  for (const auto& i : ins) n->add_input(i);
  n->add_output(out);
  return n;
}

onnx::TensorProto* add_init(onnx::ModelProto& m, const std::string& name, int type,
                            const std::vector<int64_t>& dims) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

std::shared_ptr<Graph> load(const onnx::ModelProto& m, const std::string& dir = "/nonexistent") {
  const std::string bytes = m.SerializeAsString();
  return load_onnx_bytes(bytes.data(), bytes.size(), "hostile.onnx", dir);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string npy_bytes(const std::string& header_dict, const std::string& data = "") {
  std::string h = header_dict;
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(h.size() & 0xff);
  out += char(h.size() >> 8);
  return out + h + data;
}

HostTensor parse(const std::string& npy) { return parse_npy(npy.data(), npy.size(), "hostile.npy"); }

// A model reading one external-data tensor at `location`, added to y = x + w.
onnx::ModelProto external_data_model(const std::string& location, const std::string& offset = "") {
  onnx::ModelProto m = base_model();
  add_input(m, "x", {2});
  auto* w = add_init(m, "w", onnx::TensorProto_DataType_FLOAT, {2});
  w->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  if (!offset.empty()) {
    kv = w->add_external_data();
    kv->set_key("offset");
    kv->set_value(offset);
  }
  add_node(m, "Add", {"x", "w"}, "y");
  m.mutable_graph()->add_output()->set_name("y");
  return m;
}

}  // namespace

// ---- 1. element counts and byte sizes ------------------------------------------------------

TEST_CASE("hostile 1: element counts beyond 2^48 are refused wherever they are computed") {
  CHECK_THROWS_WITH_AS(checked_numel(Dims{k2to31, k2to31}), doctest::Contains("2^48"), Error);
  // A zero dim does not make the other dims' strides representable.
  CHECK_THROWS_AS(checked_numel(Dims{0, int64_t{1} << 40, int64_t{1} << 40}), Error);
  CHECK(checked_numel(Dims{0, 5}) == 0);
  CHECK(checked_numel(Dims{int64_t{1} << 24, int64_t{1} << 24}) == kMaxTensorElements);
  // 2^62 f32 elements "needed" 0 bytes before (4 * 2^62 wraps).
  CHECK_THROWS_AS(dtype_storage_bytes(DType::kF32, int64_t{1} << 62), Error);
  CHECK(dtype_storage_bytes(DType::kF32, 1000) == 4000);
  CHECK_THROWS_AS(checked_mul(int64_t{1} << 30, int64_t{1} << 30), Error);
  CHECK_THROWS_AS(Shape::of(Dims{k2to31, k2to31}), Error);
}

TEST_CASE("hostile 1: an initializer of 2^31 x 2^31 elements without data is refused") {
  onnx::ModelProto m = base_model();
  add_input(m, "x", {1});
  add_init(m, "w", onnx::TensorProto_DataType_FLOAT, {k2to31, k2to31})->set_raw_data("");
  add_node(m, "Add", {"x", "w"}, "y");
  m.mutable_graph()->add_output()->set_name("y");
  CHECK_THROWS_WITH_AS(load(m), doctest::Contains("initializer 'w'"), Error);
}

TEST_CASE("hostile 1: Expand to [2^31, 2^31] fails in shape inference") {
  onnx::ModelProto m = base_model();
  add_input(m, "x", {1, 1});
  auto* shape = add_init(m, "shape", onnx::TensorProto_DataType_INT64, {2});
  shape->add_int64_data(k2to31);
  shape->add_int64_data(k2to31);
  add_node(m, "Expand", {"x", "shape"}, "y");
  m.mutable_graph()->add_output()->set_name("y");
  auto g = load(m);
  const std::string e = error_of([&] { Session s(g); });
  CHECK(e.find("Expand") != std::string::npos);
  CHECK(e.find("2^48") != std::string::npos);
}

TEST_CASE("hostile 1: a value_info, a .npy and --shape of 2^31 x 2^31 are refused") {
  onnx::ModelProto m = base_model();
  add_input(m, "x", {k2to31, k2to31});
  add_node(m, "Relu", {"x"}, "y");
  m.mutable_graph()->add_output()->set_name("y");
  CHECK_THROWS_WITH_AS(load(m), doctest::Contains("'x'"), Error);

  CHECK_THROWS_WITH_AS(
      parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648), }")),
      doctest::Contains("2^48"), Error);

  onnx::ModelProto sym = base_model();
  add_input(sym, "x", {-1, -1});
  add_node(sym, "Relu", {"x"}, "y");
  sym.mutable_graph()->add_output()->set_name("y");
  SessionOptions o;
  o.input_shapes["x"] = {k2to31, k2to31};
  CHECK_THROWS_WITH_AS(Session(load(sym), o), doctest::Contains("2^48"), Error);
}

// ---- 2. external data stays inside the model's folder, symbolic links included -----------

TEST_CASE("hostile 2: external data through a symbolic link out of the folder is refused") {
  ScratchDir outside("octet_hostile_outside"), model("octet_hostile_model");
  const std::string secret(8, 's');
  write_text(outside / "secret.bin", secret);
  fs::create_symlink(outside / "secret.bin", model / "link.bin");
  fs::create_directory_symlink(outside.path(), model / "sub");
  const std::string dir = model.path().string();
  CHECK_THROWS_WITH_AS(load(external_data_model("link.bin"), dir),
                       doctest::Contains("outside the model's folder"), Error);
  CHECK_THROWS_WITH_AS(load(external_data_model("sub/secret.bin"), dir),
                       doctest::Contains("outside the model's folder"), Error);
  CHECK_THROWS_WITH_AS(load(external_data_model("../x.bin"), dir),
                       doctest::Contains("leaves the model's folder"), Error);
  CHECK_THROWS_WITH_AS(load(external_data_model("/etc/passwd"), dir),
                       doctest::Contains("relative"), Error);
  // A link that stays inside is followed; a folder is not a data file.
  write_text(model / "real.bin", secret);
  fs::create_symlink("real.bin", model / "inside.bin");
  auto g = load(external_data_model("inside.bin"), dir);
  CHECK(g->tensor(g->require_tensor("w")).data->size() == 8);
  fs::create_directory(model / "folder");
  CHECK_THROWS_WITH_AS(load(external_data_model("folder"), dir),
                       doctest::Contains("not a regular file"), Error);
}

// ---- 3. .npy headers: a bounded parser, no recursion --------------------------------------

TEST_CASE("hostile 3: a 26,187-character descr and a 13,094-entry shape fail cleanly") {
  CHECK_THROWS_WITH_AS(
      parse(npy_bytes("{'descr': '" + std::string(26187, 'f') +
                      "', 'fortran_order': False, 'shape': (1,), }")),
      doctest::Contains("longer than"), Error);
  std::string dims;
  for (int i = 0; i < 13094; ++i) dims += "1, ";
  CHECK_THROWS_WITH_AS(
      parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }")),
      doctest::Contains("more than 16 dimensions"), Error);
}

TEST_CASE("hostile 3: the .npy header grammar NumPy writes is read, the rest refused") {
  const std::string four(16, '\0');
  HostTensor t = parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", four));
  CHECK(t.dims == Dims{2, 2});
  t = parse(npy_bytes("{\"shape\": (4L,), \"fortran_order\": False, \"descr\": \"<i4\"}", four));
  CHECK(t.dims == Dims{4});
  CHECK(t.dtype == DType::kI32);
  t = parse(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", std::string(8, '\0')));
  CHECK(t.dims.empty());
  CHECK_THROWS_WITH_AS(parse(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (4,), }", four)),
                       doctest::Contains("Fortran"), Error);
  CHECK_THROWS_WITH_AS(parse(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", four)),
                       doctest::Contains("structured"), Error);
  CHECK_THROWS_WITH_AS(parse(npy_bytes("{'descr': '<f4', 'shape': (4,), }", four)),
                       doctest::Contains("no 'fortran_order'"), Error);
  CHECK_THROWS_WITH_AS(parse(npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", four)),
                       doctest::Contains("twice"), Error);
  CHECK_THROWS_WITH_AS(parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four)),
                       doctest::Contains("unexpected key"), Error);
  CHECK_THROWS_WITH_AS(parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} junk", four)),
                       doctest::Contains("after its dict"), Error);
  CHECK_THROWS_AS(parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}", four)), Error);
  CHECK_THROWS_AS(parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,", four)), Error);
}

// ---- 4. quantization parameters are validated where they are read ------------------------

TEST_CASE("hostile 4: quantization parameters from a .octet file or the API are checked once") {
  Graph g;
  g.opset = 17;
  TensorInfo x;
  x.name = "x";
  x.dtype = DType::kF32;
  x.shape = Shape::of({1, 4});
  const TensorId xid = g.add_tensor(x);
  g.inputs.push_back(xid);
  std::vector<float> wv(8, 0.5f);
  const TensorId wid = g.add_constant("w", DType::kF32, {4, 2},
                                      Buffer::copy_of(reinterpret_cast<const std::byte*>(wv.data()),
                                                      wv.size() * sizeof(float)));
  g.tensor(wid).quant.scale = {0.1f, 0.2f};
  g.tensor(wid).quant.axis = 1;  // no zero points
  TensorInfo y;
  y.name = "y";
  y.dtype = DType::kF32;
  const TensorId yid = g.add_tensor(y);
  Node n;
  n.name = "mm";
  n.op_type = "MatMul";
  n.inputs = {xid, wid};
  n.outputs = {yid};
  g.nodes.push_back(n);
  g.outputs.push_back(yid);
  // The file format's short form (no zero points: all 0) is expanded where it is read, so the
  // lowering, which indexes zero_point[channel], finds one per scale.
  std::vector<std::byte> bytes = save_octet_bytes(g);
  auto loaded = load_octet_bytes(bytes.data(), bytes.size(), nullptr, "hostile.octet");
  CHECK(loaded->tensor(loaded->require_tensor("w")).quant.zero_point == std::vector<int32_t>{0, 0});
  g.tensor(wid).quant.zero_point = {0};
  bytes = save_octet_bytes(g);
  CHECK_THROWS_WITH_AS(load_octet_bytes(bytes.data(), bytes.size(), nullptr, "hostile.octet"),
                       doctest::Contains("1 zero points for 2 scales"), Error);
  // Parameters handed to the lowering by an API caller are checked there.
  g.tensor(wid).quant.zero_point.clear();
  SessionOptions o;
  o.mode = ExecutionMode::kInt;
  CHECK_THROWS_WITH_AS(Session(std::make_shared<Graph>(g), o),
                       doctest::Contains("0 zero points for 2 scales"), Error);
}

TEST_CASE("hostile 4: check_quant_params knows each layout's scale count") {
  QuantParams q;
  q.scale = {1.f, 1.f, 1.f};
  q.zero_point = {0, 0, 0};
  q.axis = 0;
  CHECK_NOTHROW(check_quant_params(q, Shape::of({3, 8}), "t"));
  CHECK_THROWS_WITH_AS(check_quant_params(q, Shape::of({4, 8}), "t"), doctest::Contains("need 4"), Error);
  q.axis = 2;
  CHECK_THROWS_WITH_AS(check_quant_params(q, Shape::of({3, 8}), "t"), doctest::Contains("axis 2"), Error);
  q.axis = -1;
  CHECK_THROWS_AS(check_quant_params(q, Shape::of({3, 8}), "t"), Error);
  q.axis = 1;  // per block of 4 along axis 1 of [3, 8]: 3 * 2 scales
  q.block_size = 4;
  q.scale.assign(6, 1.f);
  q.zero_point.assign(6, 0);
  CHECK_NOTHROW(check_quant_params(q, Shape::of({3, 8}), "t"));
  q.scale.push_back(1.f);
  q.zero_point.push_back(0);
  CHECK_THROWS_AS(check_quant_params(q, Shape::of({3, 8}), "t"), Error);
  QuantParams nan;
  nan.scale = {std::nanf("")};
  nan.zero_point = {0};
  CHECK_THROWS_WITH_AS(check_quant_params(nan, Shape::of({3}), "t"), doctest::Contains("not finite"), Error);
}

// ---- 5. name lookups never write ----------------------------------------------------------

TEST_CASE("hostile 5: the name index is kept by the graph's mutators, not rebuilt by lookups") {
  Graph g;
  TensorInfo t;
  t.name = "a";
  const TensorId a = g.add_tensor(t);
  t.name = "b";
  const TensorId b = g.add_tensor(t);
  CHECK(g.find_tensor("a") == a);
  CHECK(g.find_tensor("b") == b);
  g.rename_tensor(a, "c");
  CHECK_FALSE(g.find_tensor("a"));
  CHECK(g.find_tensor("c") == a);
  const Graph copy = g;  // what each Session does with the shared model
  CHECK(copy.find_tensor("c") == a);
  g.inputs = {b};
  g.outputs = {b};
  g.compact();  // drops "c", renumbers "b"
  CHECK(g.find_tensor("b") == TensorId{0});
  CHECK_FALSE(g.find_tensor("c"));
  g.tensors[0].name = "renamed behind the index's back";
  CHECK_THROWS_WITH_AS(g.find_tensor("b"), doctest::Contains("stale"), Error);
}

// ---- 6. loading is not quadratic in the node count ---------------------------------------

TEST_CASE("hostile 6: a 100,000-node chain loads, prepares and runs") {
  // Before: every node's lookups re-sorted the name index (20,000 nodes took 32 s). There is
  // no time assertion here (bench/ measures); a quadratic path would make this test run for
  // many minutes instead of about a second.
  constexpr int kNodes = 100000;
  onnx::ModelProto m = base_model();
  add_input(m, "t0", {4});
  for (int i = 0; i < kNodes; ++i)
    add_node(m, i % 2 ? "Relu" : "Neg", {"t" + std::to_string(i)}, "t" + std::to_string(i + 1));
  m.mutable_graph()->add_output()->set_name("t" + std::to_string(kNodes));
  auto g = load(m);
  CHECK(g->nodes.size() == size_t(kNodes));
  SessionOptions o;
  o.optimize = false;
  Session s(g, o);
  auto out = s.run({HostTensor::from<float>("t0", {4}, {1.f, -2.f, 3.f, -4.f})});
  // Neg then Relu, 50,000 times: relu(-x), then relu(-relu(-x)) = 0 for every element.
  const auto* y = reinterpret_cast<const float*>(out[0].bytes.data());
  for (int i = 0; i < 4; ++i) CHECK(y[i] == 0.f);
}

// ---- 7. special files are refused, not waited on -----------------------------------------

TEST_CASE("hostile 7: a FIFO as the model or as external data fails at once") {
  ScratchDir dir("octet_hostile_fifo");
  REQUIRE(::mkfifo((dir / "model.onnx").c_str(), 0600) == 0);
  REQUIRE(::mkfifo((dir / "w.bin").c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(load_model((dir / "model.onnx").string()), doctest::Contains("FIFO"), Error);
  CHECK_THROWS_WITH_AS(load_npy((dir / "model.onnx").string()), doctest::Contains("FIFO"), Error);
  CHECK_THROWS_WITH_AS(quant::load_encodings((dir / "model.onnx").string()),
                       doctest::Contains("FIFO"), Error);
  CHECK_THROWS_WITH_AS(load(external_data_model("w.bin"), dir.path().string()),
                       doctest::Contains("FIFO"), Error);
}

// ---- 8. a plan larger than the memory limit fails before allocating -----------------------

TEST_CASE("hostile 8: a session over the memory limit fails with its planned size") {
  onnx::ModelProto m = base_model();
  add_input(m, "x", {-1, -1});
  add_node(m, "Relu", {"x"}, "y");
  m.mutable_graph()->add_output()->set_name("y");
  auto g = load(m);
  SessionOptions o;
  o.input_shapes["x"] = {int64_t{1} << 24, int64_t{1} << 24};  // 2^48 f32: 1 PiB per tensor
  const std::string e = error_of([&] { Session s(g, o); });
  CHECK(e.find("more than the memory limit") != std::string::npos);
  CHECK(e.find("PiB") != std::string::npos);
  o.input_shapes["x"] = {1024, 1024};
  o.max_memory_bytes = size_t(1) << 20;
  CHECK_THROWS_WITH_AS(Session(g, o), doctest::Contains("8.00 MiB"), Error);
  o.max_memory_bytes = size_t(64) << 20;
  Session ok(g, o);
  CHECK(ok.arena_bytes() == size_t(8) << 20);

  CHECK(parse_byte_size("512M") == size_t(512) << 20);
  CHECK(parse_byte_size("1.5G") == size_t(3) << 29);
  CHECK(parse_byte_size("4096") == 4096);
  CHECK_THROWS_AS(parse_byte_size("lots"), Error);
  CHECK_THROWS_AS(parse_byte_size("0"), Error);
}

TEST_CASE("hostile 8: constant folding over the memory limit fails before allocating") {
  onnx::ModelProto m = base_model();
  add_input(m, "x", {1});
  auto* one = add_init(m, "one", onnx::TensorProto_DataType_FLOAT, {1, 1});
  one->add_float_data(1.f);
  auto* shape = add_init(m, "shape", onnx::TensorProto_DataType_INT64, {2});
  shape->add_int64_data(int64_t{1} << 20);
  shape->add_int64_data(int64_t{1} << 20);
  add_node(m, "Expand", {"one", "shape"}, "big");  // 4 TiB, all constant: folded at prepare
  add_node(m, "Add", {"x", "big"}, "y");
  m.mutable_graph()->add_output()->set_name("y");
  SessionOptions o;
  o.max_memory_bytes = size_t(1) << 30;
  CHECK_THROWS_WITH_AS(Session(load(m), o), doctest::Contains("memory limit"), Error);
}

// Issue 29, finding 7: Resize's shape inference built a table entry per output index of each
// axis: an axis of 2^29 beside an empty one took gigabytes for an output of no elements.
TEST_CASE("hostile 8: Resize to a huge axis beside an empty one builds no tables") {
  onnx::ModelProto m = base_model();
  add_input(m, "x", {1, 1, 2, 2});
  auto* sizes = add_init(m, "sizes", onnx::TensorProto_DataType_INT64, {4});
  for (int64_t v : {int64_t{1}, int64_t{1}, int64_t{1} << 29, int64_t{0}}) sizes->add_int64_data(v);
  add_node(m, "Resize", {"x", "", "", "sizes"}, "y");
  m.mutable_graph()->add_output()->set_name("y");
  SessionOptions o;
  o.max_memory_bytes = size_t(64) << 20;
  Session s(load(m), o);
  const auto out = s.run({HostTensor::from<float>("x", {1, 1, 2, 2}, {1, 2, 3, 4})});
  CHECK(out[0].dims == Dims{1, 1, int64_t{1} << 29, 0});
  CHECK(out[0].bytes.empty());
}

// Tile's and Pad's prepare built an index map per output axis: 16 GB for an axis of 2^31
// beside an empty one (found by fuzz_run_model seeded with output-size bombs).
TEST_CASE("hostile 8: Tile and Pad to a huge axis beside an empty one build no maps") {
  for (const char* op : {"Tile", "Pad"}) {
    CAPTURE(std::string(op));
    onnx::ModelProto m = base_model();
    add_input(m, "x", {1, 2});
    auto* arg = add_init(m, "arg", onnx::TensorProto_DataType_INT64, {std::string(op) == "Tile" ? 2 : 4});
    if (std::string(op) == "Tile") {
      arg->add_int64_data(int64_t{1} << 31);  // 2^31 rows of
      arg->add_int64_data(0);                 // no columns
    } else {
      for (int64_t v : {int64_t{1} << 30, int64_t{0}, int64_t{0}, int64_t{-2}}) arg->add_int64_data(v);
    }
    add_node(m, op, {"x", "arg"}, "y");
    m.mutable_graph()->add_output()->set_name("y");
    SessionOptions o;
    o.max_memory_bytes = size_t(64) << 20;
    Session s(load(m), o);
    const auto out = s.run({HostTensor::from<float>("x", {1, 2}, {1, 2})});
    CHECK(out[0].dims[1] == 0);
    CHECK(out[0].bytes.empty());
  }
}

// ---- 9. messages name the file and the field ----------------------------------------------

TEST_CASE("hostile 9: a 25-digit external-data offset and a 1e400 in an encodings file") {
  ScratchDir dir("octet_hostile_messages");
  write_text(dir / "w.bin", std::string(8, '\0'));
  const std::string e = error_of(
      [&] { load(external_data_model("w.bin", "1234567890123456789012345"), dir.path().string()); });
  CHECK(e.find("offset") != std::string::npos);
  CHECK(e.find("more than 2^64") != std::string::npos);
  CHECK(e.find("stoull") == std::string::npos);

  const std::string json =
      R"({"version": "0.6.1", "activation_encodings": {"x": [{"bitwidth": 8, "dtype": "int",
          "is_symmetric": "False", "max": 1e400, "min": 0.0, "offset": 0, "scale": 0.1}]},
          "param_encodings": {}})";
  write_text(dir / "big.encodings", json);
  const std::string j = error_of([&] { quant::load_encodings((dir / "big.encodings").string()); });
  CHECK(j.find("big.encodings") != std::string::npos);
  CHECK(j.find("[json.exception") == std::string::npos);
  CHECK(j.find("number overflow") != std::string::npos);
}

// Issue 29, finding 9: protobuf's nesting limit gave only "protobuf parse failed".
TEST_CASE("hostile 9: sub-graphs nested past the limit are named as such; damage stays a parse failure") {
  auto nested_model = [](int depth) {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    onnx::GraphProto* g = m.mutable_graph();
    for (int i = 0; i < depth; ++i) {
      onnx::NodeProto* n = g->add_node();
      n->set_op_type("If");
      onnx::AttributeProto* a = n->add_attribute();
      a->set_name("then_branch");
      a->set_type(onnx::AttributeProto::GRAPH);
      g = a->mutable_g();
    }
    return m.SerializeAsString();
  };
  const std::string deep = nested_model(30);  // 3 messages per level: 90 deep
  CHECK_THROWS_WITH_AS(load_onnx_bytes(deep.data(), deep.size(), "deep.onnx", "."),
                       "deep.onnx: its messages nest more than 64 levels deep (sub-graphs within "
                       "sub-graphs), more than octet reads",
                       Error);
  std::string damaged = nested_model(2);
  damaged[damaged.size() / 2] = '\xff';
  damaged += "\xff\xff";
  CHECK_THROWS_WITH_AS(load_onnx_bytes(damaged.data(), damaged.size(), "damaged.onnx", "."),
                       doctest::Contains("damaged.onnx: not a valid ONNX model (protobuf parse failed)"), Error);
}

// Issue 29, finding 8: a 249 MB encodings file of tiny objects became a 6 GB JSON document.
TEST_CASE("hostile 8: a JSON document is bounded by the memory it would take once parsed") {
  std::string text = "{\"version\": \"1.0.0\", \"activation_encodings\": [";
  for (int i = 0; i < 1000; ++i) text += std::string(i ? "," : "") + "{\"a\":1}";
  text += "]}";
  CHECK_THROWS_WITH_AS(quant::encodings_detail::parse_json_text(text, "tiny.encodings", 64 * 1024),
                       doctest::Contains("tiny.encodings: the JSON document would take more than 64.00 KiB in "
                                         "memory once parsed"),
                       Error);
  CHECK_NOTHROW(quant::encodings_detail::parse_json_text(text, "tiny.encodings", 1024 * 1024));
}

// Issue 29, finding 7: a 120-byte MaxPool model kept `bench` busy for minutes; nothing said the
// work a model needs, nothing bounded it.
TEST_CASE("hostile 7: the work of a run is estimated and bounded like memory") {
  test::GraphBuilder b;
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{64, 64});
  a.set("pads", std::vector<int64_t>{63, 63, 63, 63});
  b.output(b.node("MaxPool", {b.input("x", {1, 1, 64, 64})}, {1, 1, 127, 127}, a));
  const std::shared_ptr<Graph> g = b.g;
  // 127 x 127 outputs, each a 64 x 64 window (and the layout's transposes around it).
  Session s(g, SessionOptions{});
  CHECK(s.operations() >= 127.0 * 127.0 * 4096.0);
  CHECK(s.operations() <= 1.01 * 127.0 * 127.0 * 4096.0);
  SessionOptions limited;
  limited.max_operations = 1e6;
  CHECK_THROWS_WITH_AS(Session(g, limited),
                       doctest::Contains("the session needs about 66.1"), Error);
  CHECK_THROWS_WITH_AS(Session(g, limited),
                       doctest::Contains(" M operations per run, more than the limit of 1.00 M operations "
                                         "(SessionOptions::max_operations, --max-ops)"),
                       Error);
  // The process default (the CLI's --max-ops) applies where the options set none.
  set_default_operation_limit(1e6);
  CHECK_THROWS_AS(Session(g, SessionOptions{}), Error);
  set_default_operation_limit(0);
  CHECK_NOTHROW(Session(g, SessionOptions{}));
  CHECK(parse_operation_count("2G") == 2e9);
  CHECK_THROWS_AS(parse_operation_count("-5"), Error);
}
