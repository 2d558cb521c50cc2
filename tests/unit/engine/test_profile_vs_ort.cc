// The `onnxruntime` target profile against ONNX Runtime 1.30 itself (issue 13): QDQ models of one
// op with random encodings and shapes — many instances side by side in one model, each with its
// own inputs and outputs — run in ORT (tests/oracles/ort_run.js: CPU, all graph optimizations, so
// it fuses each DQ -> op -> Q into its integer op) and in octet `int` and `exact`. Every output
// element must be equal. Needs node with onnxruntime-node (tools/install_deps.sh --oracles);
// skips with a notice without it. OCTET_TEST_TARGET=PROFILE runs octet under another profile
// (e.g. one without "arithmetic": "mlas", to see the Add and Mul cases fail); OCTET_TEST_KEEP=1
// keeps the models, inputs and ORT's outputs in $TMPDIR/octet_ort_*.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "tests/support/test_paths.h"

using namespace octet;

namespace {

std::string ort_node_path() {
  if (const char* p = std::getenv("NODE_PATH"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return getuid() == 0 ? "/var/cache/octet/oracles/node_modules"
                       : std::string(home ? home : "") + "/.cache/octet/oracles/node_modules";
}

bool ort_available() {
  static const bool ok = std::system(("NODE_PATH='" + ort_node_path() +
                                      "' node -e \"require('onnxruntime-node')\" >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

// One QDQ model under construction: float inputs and outputs, u8 activation codes, s8 weights.
struct QdqModel {
  onnx::ModelProto m;
  std::vector<HostTensor> inputs;
  std::vector<std::string> outputs;
  std::mt19937 rng;

  explicit QdqModel(uint32_t seed) : rng(seed) {
    m.set_ir_version(7);
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    m.mutable_graph()->set_name("ops");
  }
  onnx::GraphProto& g() { return *m.mutable_graph(); }
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  float scale() { return std::exp2(uniform(-8.f, -2.f)); }

  std::string constant(const std::string& name, int type, const Dims& dims, const void* data, size_t bytes) {
    onnx::TensorProto* t = g().add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(data, bytes);
    return name;
  }
  std::string f32(const std::string& name, const std::vector<float>& v, const Dims& dims = {}) {
    return constant(name, onnx::TensorProto::FLOAT, dims, v.data(), v.size() * 4);
  }
  std::string u8(const std::string& name, int v) {
    const uint8_t b = uint8_t(v);
    return constant(name, onnx::TensorProto::UINT8, {}, &b, 1);
  }
  void node(const std::string& op, std::vector<std::string> in, const std::string& out,
            const std::function<void(onnx::NodeProto&)>& attrs = nullptr) {
    onnx::NodeProto* n = g().add_node();
    n->set_op_type(op);
    n->set_name(out + "_" + op);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
    if (attrs) attrs(*n);
  }
  static void value_info(onnx::ValueInfoProto* v, const std::string& name, const Dims& dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  // A float input whose values are exactly codes of a u8 encoding (scale s, random zero point),
  // then Q -> DQ.
  std::string activation_input(const std::string& name, const Dims& dims, float s) {
    const int z = pick(0, 255);
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = float(pick(0, 255) - z) * s;
    inputs.push_back(HostTensor::from<float>(name, dims, v));
    value_info(g().add_input(), name, dims);
    return qdq(name, s, z);
  }
  std::string qdq(const std::string& x, float s, int z) {
    const std::string sc = f32(x + "_s", {s}), zp = u8(x + "_z", z);
    node("QuantizeLinear", {x, sc, zp}, x + "_q");
    node("DequantizeLinear", {x + "_q", sc, zp}, x + "_dq");
    return x + "_dq";
  }
  // The op's float output `y` quantized with a random encoding of scale `s`, as a graph output.
  void output(const std::string& y, float s, const Dims& dims) {
    const std::string out = qdq(y, s, pick(0, 255));
    outputs.push_back(out);
    value_info(g().add_output(), out, dims);
  }
  // s8 weights [dims[0] channels, ...] from int8 codes (zero point 0; per-channel or not; the
  // codes reach -128), DequantizeLinear'd.
  std::string weights(const std::string& name, const Dims& dims, bool per_channel) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::vector<int8_t> codes(static_cast<size_t>(n));
    for (int8_t& c : codes) c = int8_t(pick(-128, 127));
    const size_t channels = per_channel ? size_t(dims[0]) : 1;
    std::vector<float> s(channels);
    for (float& v : s) v = std::exp2(uniform(-9.f, -5.f));
    const std::vector<int8_t> zeros(channels, 0);
    const Dims pdims = per_channel ? Dims{dims[0]} : Dims{};
    constant(name + "_w", onnx::TensorProto::INT8, dims, codes.data(), codes.size());
    f32(name + "_ws", s, pdims);
    constant(name + "_wz", onnx::TensorProto::INT8, pdims, zeros.data(), zeros.size());
    node("DequantizeLinear", {name + "_w", name + "_ws", name + "_wz"}, name + "_wdq",
         [&](onnx::NodeProto& p) {
           if (!per_channel) return;
           auto* a = p.add_attribute();
           a->set_name("axis");
           a->set_type(onnx::AttributeProto::INT);
           a->set_i(0);
         });
    return name + "_wdq";
  }
  static void ints(onnx::NodeProto& p, const char* name, const std::vector<int64_t>& v) {
    auto* a = p.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
};

struct Tally {
  int cases = 0;
  int64_t elements = 0, int_equal = 0, exact_equal = 0;
};

// Runs `model` in ORT and in octet int / exact; adds to `tally`.
void compare(QdqModel& model, int cases, Tally& tally) {
  static int models = 0;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("octet_ort_" + std::to_string(getpid()) + "_" + std::to_string(models++));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "model.onnx").string();
  {
    std::ofstream f(path, std::ios::binary);
    REQUIRE(model.m.SerializeToOstream(&f));
  }
  // Paths relative to `dir`: node (20, with onnxruntime-node 1.30) crashed on a command line of
  // 38 KB (500 inputs under a long TMPDIR), not on 13 KB.
  std::string cmd = "cd '" + dir.string() + "' && NODE_PATH='" + ort_node_path() + "' node '" +
                    test::data_dir() + "/../oracles/ort_run.js' model.onnx ort";
  for (const HostTensor& t : model.inputs) {
    save_npy((dir / (t.name + ".npy")).string(), t);
    cmd += " " + t.name + "=" + t.name + ".npy";
  }
  const std::string log = (dir / "ort_run.log").string();
  const int status = std::system((cmd + " >ort_run.log 2>&1").c_str());
  if (status != 0) {
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    FAIL("ort_run.js failed (status ", status, ") on ", path, ": ", text.substr(0, 2000));
  }
  const std::shared_ptr<const Graph> graph = load_model(path);
  for (ExecutionMode mode : {ExecutionMode::kInt, ExecutionMode::kExact}) {
    SessionOptions o;
    o.mode = mode;
    o.target = std::getenv("OCTET_TEST_TARGET") ? std::getenv("OCTET_TEST_TARGET") : "onnxruntime";
    Session s(graph, o);
    const std::vector<HostTensor> got = s.run(model.inputs);
    REQUIRE(got.size() == model.outputs.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const HostTensor want = load_npy((dir / "ort" / (model.outputs[i] + ".npy")).string());
      REQUIRE(want.bytes.size() == got[i].bytes.size());
      const size_t n = want.bytes.size() / 4;
      int64_t equal = 0;
      for (size_t k = 0; k < n; ++k) equal += std::memcmp(&want.bytes[k * 4], &got[i].bytes[k * 4], 4) == 0;
      if (mode == ExecutionMode::kInt) {
        tally.elements += int64_t(n);
        tally.int_equal += equal;
      } else {
        tally.exact_equal += equal;
      }
      CHECK_MESSAGE(equal == int64_t(n), model.outputs[i], " (", std::string(execution_mode_name(mode)), "): ",
                    n - size_t(equal), " of ", n, " elements differ from ONNX Runtime");
    }
  }
  tally.cases += cases;
  if (!std::getenv("OCTET_TEST_KEEP")) std::filesystem::remove_all(dir);
}

void report(const char* op, const Tally& t) {
  MESSAGE(std::string(op), ": ", t.cases, " cases, ", t.elements, " elements; equal to ORT: int ", t.int_equal,
          ", exact ", t.exact_equal);
}

constexpr int kModels = 4, kPerModel = 250;  // 1,000 cases per op

// kModels models of kPerModel cases each (case i added by add_case(model, name)), compared with
// ORT; the tally reported under `op`. Skips with a notice without the oracle.
void run_cases(const char* op, uint32_t seed,
               const std::function<void(QdqModel&, const std::string&)>& add_case) {
  if (!ort_available()) {
    MESSAGE("skipped: node with onnxruntime-node not found (tools/install_deps.sh --oracles)");
    return;
  }
  Tally tally;
  for (int m = 0; m < kModels; ++m) {
    QdqModel model(seed + uint32_t(m));
    for (int i = 0; i < kPerModel; ++i) add_case(model, std::string(op) + std::to_string(i));
    compare(model, kPerModel, tally);
  }
  report(op, tally);
}

void int_attribute(onnx::NodeProto& p, const char* name, int64_t v) {
  auto* a = p.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

// A pooling window: kernel, stride, pads (< kernel) and the output size over h x w.
struct Window {
  int64_t k, stride, pad, oh, ow;
};
Window random_window(QdqModel& model, int64_t h, int64_t w) {
  Window win{};
  win.k = model.pick(1, 3);
  win.stride = model.pick(1, 2);
  win.pad = win.k > 1 ? model.pick(0, 1) : 0;
  win.oh = (h + 2 * win.pad - win.k) / win.stride + 1;
  win.ow = (w + 2 * win.pad - win.k) / win.stride + 1;
  return win;
}
void set_window(onnx::NodeProto& p, const Window& win) {
  QdqModel::ints(p, "kernel_shape", {win.k, win.k});
  QdqModel::ints(p, "strides", {win.stride, win.stride});
  QdqModel::ints(p, "pads", {win.pad, win.pad, win.pad, win.pad});
}

}  // namespace

TEST_CASE("onnxruntime profile vs ONNX Runtime: Add and Mul (QLinearAdd / QLinearMul), broadcasts included") {
  if (!ort_available()) {
    MESSAGE("skipped: node with onnxruntime-node not found (tools/install_deps.sh --oracles)");
    return;
  }
  const std::vector<std::pair<Dims, Dims>> shapes = {
      {{1, 4, 5, 6}, {1, 4, 5, 6}}, {{1, 4, 5, 6}, {1, 4, 1, 1}}, {{1, 1, 1, 1}, {1, 4, 5, 6}},
      {{1, 4, 5, 6}, {1, 1, 1, 6}}, {{1, 3, 37}, {1, 3, 1}},     {{1, 2, 40}, {1, 2, 40}}};
  for (const char* op : {"Add", "Mul"}) {
    Tally tally;
    for (int m = 0; m < kModels; ++m) {
      QdqModel model(uint32_t(100 * m + (op[0] == 'A' ? 1 : 2)));
      for (int i = 0; i < kPerModel; ++i) {
        auto [a, b] = shapes[size_t(model.pick(0, int(shapes.size()) - 1))];
        if (model.pick(0, 1)) std::swap(a, b);
        Dims y(a.size());
        for (size_t d = 0; d < a.size(); ++d) y[d] = std::max(a[d], b[d]);
        const std::string n = std::string(op) + std::to_string(i);
        // Half the cases with scales in power-of-two ratios: results fall exactly halfway
        // between codes, where the order of rounding and adding the zero point shows.
        const bool ties = model.pick(0, 1);
        const float sa = model.scale();
        const float sb = ties ? sa * std::exp2(float(model.pick(-3, 3))) : model.scale();
        float sy = op[0] == 'A' ? model.scale() * 2 : sa * sb * std::exp2(model.uniform(-2.f, 6.f));
        if (ties) sy = (op[0] == 'A' ? sa : sa * sb) * std::exp2(float(model.pick(-1, 3)));
        const std::string xa = model.activation_input(n + "a", a, sa), xb = model.activation_input(n + "b", b, sb);
        model.node(op, {xa, xb}, n);
        model.output(n, sy, y);
      }
      compare(model, kPerModel, tally);
    }
    report(op, tally);
  }
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: GlobalAveragePool (QLinearGlobalAveragePool)") {
  run_cases("GlobalAveragePool", 300, [](QdqModel& model, const std::string& n) {
    const int64_t c = model.pick(1, 8), h = model.pick(1, 12), w = model.pick(1, 12);
    const std::string x = model.activation_input(n + "x", {1, c, h, w}, model.scale());
    model.node("GlobalAveragePool", {x}, n);
    model.output(n, model.scale(), {1, c, 1, 1});
  });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: Conv (QLinearConv), grouped, strided, padded, dilated") {
  run_cases("Conv", 500, [](QdqModel& model, const std::string& n) {
    const bool depthwise = model.pick(0, 3) == 0;
    const int64_t c = model.pick(1, 6), mult = model.pick(1, 2);
    const int64_t group = depthwise ? c : 1, out_c = depthwise ? c * mult : model.pick(1, 6);
    const int64_t k = model.pick(1, 3), stride = model.pick(1, 2), pad = model.pick(0, 1),
                  dil = k > 1 ? model.pick(1, 2) : 1;
    const int64_t span = (k - 1) * dil + 1;
    const int64_t h = std::max<int64_t>(span, model.pick(1, 9)), w = std::max<int64_t>(span, model.pick(1, 9));
    const int64_t oh = (h + 2 * pad - span) / stride + 1, ow = (w + 2 * pad - span) / stride + 1;
    const std::string x = model.activation_input(n + "x", {1, c, h, w}, model.scale());
    const std::string wq = model.weights(n, {out_c, c / group, k, k}, model.pick(0, 1));
    std::vector<float> bias(static_cast<size_t>(out_c));
    for (float& b : bias) b = model.uniform(-0.5f, 0.5f);
    const std::string b = model.f32(n + "_bias", bias, {out_c});
    model.node("Conv", {x, wq, b}, n, [&](onnx::NodeProto& p) {
      QdqModel::ints(p, "kernel_shape", {k, k});
      QdqModel::ints(p, "strides", {stride, stride});
      QdqModel::ints(p, "pads", {pad, pad, pad, pad});
      QdqModel::ints(p, "dilations", {dil, dil});
      int_attribute(p, "group", group);
    });
    model.output(n, model.scale() * 4, {1, out_c, oh, ow});
  });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: Gemm with bias (QGemm)") {
  run_cases("Gemm", 700, [](QdqModel& model, const std::string& n) {
    const int64_t k = model.pick(1, 48), n_out = model.pick(1, 12);
    const std::string x = model.activation_input(n + "x", {1, k}, model.scale());
    const std::string wq = model.weights(n, {n_out, k}, model.pick(0, 1));
    std::vector<float> bias(static_cast<size_t>(n_out));
    for (float& b : bias) b = model.uniform(-0.5f, 0.5f);
    const std::string b = model.f32(n + "_bias", bias, {n_out});
    model.node("Gemm", {x, wq, b}, n, [](onnx::NodeProto& p) { int_attribute(p, "transB", 1); });
    model.output(n, model.scale() * 4, {1, n_out});
  });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: MatMul with constant weights (QLinearMatMul)") {
  run_cases("MatMul", 800, [](QdqModel& model, const std::string& n) {
    const int64_t m = model.pick(1, 6), k = model.pick(1, 40), n_out = model.pick(1, 12);
    const std::string x = model.activation_input(n + "x", {1, m, k}, model.scale());
    const std::string wq = model.weights(n, {k, n_out}, false);
    model.node("MatMul", {x, wq}, n);
    model.output(n, model.scale() * 4, {1, m, n_out});
  });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: AveragePool (QLinearAveragePool), padded, count_include_pad") {
  run_cases("AveragePool", 900, [](QdqModel& model, const std::string& n) {
    const int64_t c = model.pick(1, 6), h = model.pick(3, 10), w = model.pick(3, 10);
    const Window win = random_window(model, h, w);
    const int64_t include_pad = model.pick(0, 1);
    const std::string x = model.activation_input(n + "x", {1, c, h, w}, model.scale());
    model.node("AveragePool", {x}, n, [&](onnx::NodeProto& p) {
      set_window(p, win);
      int_attribute(p, "count_include_pad", include_pad);
    });
    model.output(n, model.scale(), {1, c, win.oh, win.ow});
  });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: MaxPool, with the input's encoding or another") {
  run_cases("MaxPool", 1000, [](QdqModel& model, const std::string& n) {
    const int64_t c = model.pick(1, 6), h = model.pick(3, 10), w = model.pick(3, 10);
    const Window win = random_window(model, h, w);
    const float s = model.scale();
    const std::string x = model.activation_input(n + "x", {1, c, h, w}, s);
    model.node("MaxPool", {x}, n, [&](onnx::NodeProto& p) { set_window(p, win); });
    model.output(n, model.pick(0, 1) ? s : model.scale(), {1, c, win.oh, win.ow});
  });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: Concat of differently encoded inputs (QLinearConcat)") {
  run_cases("Concat", 1100, [](QdqModel& model, const std::string& n) {
    const int parts = model.pick(2, 3);
    const int64_t h = model.pick(1, 6), w = model.pick(1, 6);
    std::vector<std::string> in;
    int64_t channels = 0;
    for (int p = 0; p < parts; ++p) {
      const int64_t c = model.pick(1, 4);
      channels += c;
      in.push_back(model.activation_input(n + "x" + std::to_string(p), {1, c, h, w}, model.scale()));
    }
    model.node("Concat", in, n, [](onnx::NodeProto& p) { int_attribute(p, "axis", 1); });
    model.output(n, model.scale() * 2, {1, channels, h, w});
  });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: lookup-table activations (QLinearSigmoid, QLinearLeakyRelu, Tanh, HardSwish)") {
  for (const char* op : {"Sigmoid", "LeakyRelu", "Tanh", "HardSwish"})
    run_cases(op, 1200 + uint32_t(op[0]), [&](QdqModel& model, const std::string& n) {
      const int64_t c = model.pick(1, 4), l = model.pick(1, 40);
      const std::string x = model.activation_input(n + "x", {1, c, l}, model.scale() * 8);
      const float alpha = model.uniform(0.01f, 0.3f);
      if (std::string(op) == "HardSwish") model.m.mutable_opset_import(0)->set_version(14);
      model.node(op, {x}, n, [&](onnx::NodeProto& p) {
        if (std::string(op) != "LeakyRelu") return;
        auto* a = p.add_attribute();
        a->set_name("alpha");
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(alpha);
      });
      model.output(n, std::string(op) == "Sigmoid" ? model.scale() : model.scale() * 4, {1, c, l});
    });
}

TEST_CASE("onnxruntime profile vs ONNX Runtime: Resize nearest (on codes)") {
  run_cases("Resize", 1300, [](QdqModel& model, const std::string& n) {
    const int64_t c = model.pick(1, 4), h = model.pick(1, 8), w = model.pick(1, 8);
    const int64_t sh = model.pick(1, 3), sw = model.pick(1, 3);
    const float s = model.scale();
    const std::string x = model.activation_input(n + "x", {1, c, h, w}, s);
    const std::string scales = model.f32(n + "_scales", {1.f, 1.f, float(sh), float(sw)}, {4});
    model.node("Resize", {x, "", scales}, n, [](onnx::NodeProto& p) {
      auto* a = p.add_attribute();
      a->set_name("mode");
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s("nearest");
    });
    model.output(n, s, {1, c, h * sh, w * sw});
  });
}

// ORT fuses DQ -> Softmax -> Q into QLinearSoftmax: a table of exp values with a range shift, a
// float sum, and y_scale used only as floorf(1 / y_scale) (kernels/qsoftmax.h, kMlas).
TEST_CASE("onnxruntime profile vs ONNX Runtime: Softmax (QLinearSoftmax), any axis and output scale") {
  run_cases("Softmax", 1500, [](QdqModel& model, const std::string& n) {
    const int64_t c = model.pick(1, 12), h = model.pick(1, 5), w = model.pick(1, 6);
    const int64_t axis = model.pick(-3, 2);
    const std::string x = model.activation_input(n + "x", {1, c, h, w}, model.scale() * 16);
    model.node("Softmax", {x}, n, [&](onnx::NodeProto& p) { int_attribute(p, "axis", axis); });
    // Half the outputs on the usual 1/256 grid, half on scales floor(1 / s) truncates.
    model.output(n, model.pick(0, 1) ? 1.f / 256 : model.uniform(0.002f, 0.02f), {1, c, h, w});
  });
}
