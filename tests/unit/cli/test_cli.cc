// Runs the built `octet` binary (build/octet, next to build/tests/) on a tiny ONNX model
// written here by hand: exit codes, help texts, info/run/eval/bench output.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "loaders/npy.h"
#include "loaders/onnx_writer.h"
#include "tests/support/test_paths.h"
#include "tests/support/two_input_model.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

// --- a minimal protobuf writer, enough for a one-node ONNX model --------------------
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void field_varint(std::string& out, int field, uint64_t v) {
  varint(out, static_cast<uint64_t>(field) << 3 | 0);
  varint(out, v);
}
void field_bytes(std::string& out, int field, const std::string& bytes) {
  varint(out, static_cast<uint64_t>(field) << 3 | 2);
  varint(out, bytes.size());
  out += bytes;
}

// ValueInfoProto of a float tensor; a negative dim is the symbol "batch".
std::string value_info(const std::string& name, const std::vector<int64_t>& dims) {
  std::string shape;
  for (int64_t d : dims) {
    std::string dim;
    if (d >= 0) field_varint(dim, 1, static_cast<uint64_t>(d));
    else field_bytes(dim, 2, "batch");
    field_bytes(shape, 1, dim);
  }
  std::string tensor;
  field_varint(tensor, 1, 1);  // elem_type FLOAT
  field_bytes(tensor, 2, shape);
  std::string type;
  field_bytes(type, 1, tensor);
  std::string vi;
  field_bytes(vi, 1, name);
  field_bytes(vi, 2, type);
  return vi;
}

// An ONNX model y = Identity(x) with x, y of shape [batch, width].
std::string identity_model(int64_t width = 4) {
  std::string node;
  field_bytes(node, 1, "x");
  field_bytes(node, 2, "y");
  field_bytes(node, 3, "copy");
  field_bytes(node, 4, "Identity");
  std::string graph;
  field_bytes(graph, 1, node);
  field_bytes(graph, 2, "cli_test");
  field_bytes(graph, 11, value_info("x", {-1, width}));
  field_bytes(graph, 12, value_info("y", {-1, width}));
  std::string opset;
  field_bytes(opset, 1, "");
  field_varint(opset, 2, 17);
  std::string model;
  field_varint(model, 1, 8);  // ir_version
  field_bytes(model, 7, graph);
  field_bytes(model, 8, opset);
  return model;
}

struct Result {
  int code = -1;
  std::string out, err;
};

fs::path octet_binary() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  fs::path candidate = exe.parent_path().parent_path() / "octet";  // build/tests/.. /octet
  return fs::is_regular_file(candidate) ? candidate : fs::path{};
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Cli {
 public:
  Cli() {
    bin_ = octet_binary();
    dir_ = fs::temp_directory_path() / ("octet_cli_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  ~Cli() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool available() const { return !bin_.empty(); }
  fs::path path(const std::string& name) const { return dir_ / name; }

  // `limit_kb` > 0: the command runs with its address space limited to that (ulimit -v).
  Result run(const std::string& args, long limit_kb = 0) const {
    std::string cmd = (limit_kb > 0 ? "ulimit -v " + std::to_string(limit_kb) + " && " : std::string()) +
                      quote(bin_.string()) + " " + args + " >" + quote(path("out.txt").string()) +
                      " 2>" + quote(path("err.txt").string()) + " </dev/null";
    int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    r.out = read_text(path("out.txt"));
    r.err = read_text(path("err.txt"));
    return r;
  }

 private:
  fs::path bin_, dir_;
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("octet command line") {
  Cli cli;
  if (!cli.available()) {
    MESSAGE("build/octet not found next to the test binary; skipping the CLI test");
    return;
  }
  const std::string model = cli.path("identity.onnx").string();
  {
    std::ofstream f(model, std::ios::binary);
    f << identity_model();
  }

  SUBCASE("help and usage errors") {
    Result r = cli.run("");
    CHECK(r.code == 2);
    CHECK(contains(r.err, "commands:"));
    r = cli.run("--help");
    CHECK(r.code == 0);
    for (const char* c : {"convert", "info", "run", "bench", "eval", "demo"}) {
      CHECK(contains(r.out, c));
      Result h = cli.run(std::string(c) + " --help");
      CHECK_MESSAGE(h.code == 0, c);
      CHECK_MESSAGE(contains(h.out, std::string("usage: octet ") + c), c);
    }
    r = cli.run("frobnicate");
    CHECK(r.code == 2);
    CHECK(contains(r.err, "unknown command"));
    r = cli.run("info " + quote(model) + " --bogus");
    CHECK(r.code == 2);
    CHECK(contains(r.err, "unknown option '--bogus'"));
    CHECK(cli.run("info").code == 2);
    CHECK(cli.run("bench " + quote(model) + " --threads abc").code == 2);
    CHECK(cli.run("bench " + quote(model) + " --shape x=2,,4").code == 2);
    CHECK(cli.run("info " + quote(model) + " --shape nope=1,4").code == 2);
    CHECK(cli.run("run " + quote(model) + " --mode integer --input x.npy").code == 2);
    CHECK(cli.run("convert " + quote(model)).code == 2);  // no -o
  }

  SUBCASE("bad files are runtime errors") {
    Result r = cli.run("info " + quote(cli.path("missing.onnx").string()));
    CHECK(r.code == 1);
    CHECK(contains(r.err, "cannot open"));
    {
      std::ofstream f(cli.path("junk.onnx"), std::ios::binary);
      f << "\x93NUMPY junk that is no model";
    }
    r = cli.run("info " + quote(cli.path("junk.onnx").string()));
    CHECK(r.code == 1);
    CHECK(contains(r.err, "error:"));
    r = cli.run("run " + quote(model) + " --input " + quote(cli.path("junk.onnx").string()));
    CHECK(r.code == 1);
  }

  SUBCASE("info") {
    Result r = cli.run("info " + quote(model));
    CHECK(r.code == 0);
    CHECK(contains(r.out, "x  f32 [batch,4]"));
    CHECK(contains(r.out, "Identity"));
    CHECK(contains(r.out, "--shape x="));
    r = cli.run("info " + quote(model) + " --shape x=3,4");
    CHECK(r.code == 0);
    CHECK(contains(r.out, "kernels:"));
    CHECK(contains(r.out, "peak arena: "));
    CHECK(contains(r.out, "input x [3,4]"));
  }

  SUBCASE("run writes outputs") {
    HostTensor x = HostTensor::from<float>("", {2, 4}, {1, 2, 3, 4, 5, 6, 7, -8});
    save_npy(cli.path("x.npy").string(), x);
    Result r = cli.run("run " + quote(model) + " --input x=" + quote(cli.path("x.npy").string()) +
                       " -o " + quote(cli.path("outdir").string()));
    CHECK(r.code == 0);
    HostTensor y = load_npy(cli.path("outdir/y.npy").string());
    CHECK(y.dims == Dims{2, 4});
    CHECK(y.values<float>()[7] == -8.f);
    // f64 data is converted to the model's f32.
    save_npy(cli.path("x64.npy").string(), HostTensor::from<double>("", {1, 4}, {1, 2, 3, 4}));
    r = cli.run("run " + quote(model) + " --input " + quote(cli.path("x64.npy").string()));
    CHECK(r.code == 0);
    CHECK(contains(r.err, "converted from f64 to f32"));
    r = cli.run("run " + quote(model) + " --input y=" + quote(cli.path("x.npy").string()));
    CHECK(r.code == 2);
  }

  SUBCASE("eval in slices, with and without labels") {
    // 10 samples; the argmax of sample i is i % 4; labels right for 7 of them.
    std::vector<float> data(40, 0.f);
    std::vector<int64_t> labels(10);
    for (int i = 0; i < 10; ++i) {
      data[i * 4 + i % 4] = 1.f;
      data[i * 4 + (i + 1) % 4] = 0.5f;  // second best: counts for top-5 anyway
      labels[i] = i < 7 ? i % 4 : (i + 2) % 4;
    }
    save_npy(cli.path("data.npy").string(), HostTensor::from<float>("", {10, 4}, data));
    save_npy(cli.path("labels.npy").string(), HostTensor::from<int64_t>("", {10}, labels));
    Result r = cli.run("eval " + quote(model) + " --data " + quote(cli.path("data.npy").string()) +
                       " --labels " + quote(cli.path("labels.npy").string()) + " --batch 4");
    CHECK(r.code == 0);
    CHECK(contains(r.out, "batch 4"));
    CHECK(contains(r.out, "top-1 accuracy: 70.00% (7/10)"));
    r = cli.run("eval " + quote(model) + " --data " + quote(cli.path("data.npy").string()));
    CHECK(r.code == 0);
    CHECK(contains(r.out, "output y: 40 values, min 0, max 1"));
    // A user's metric: a command run on the outputs written as .npy, its last line the number.
    r = cli.run("eval " + quote(model) + " --data " + quote(cli.path("data.npy").string()) +
                " --metric-cmd 'echo scoring; ls {outputs}; stat -c %s {outputs}/y.npy'");
    CHECK(r.code == 0);
    CHECK(contains(r.out, "metric (--metric-cmd): 288\n"));  // 128-byte header + 10 x 4 floats
    r = cli.run("eval " + quote(model) + " --data " + quote(cli.path("data.npy").string()) +
                " --metric-cmd 'echo not a number {outputs}'");
    CHECK(r.code == 1);
    CHECK(contains(r.err, "its last line must be a number"));
    r = cli.run("eval " + quote(model) + " --data " + quote(cli.path("data.npy").string()) + " --metric-cmd 'false {outputs}'");
    CHECK(r.code == 1);
    CHECK(contains(r.err, "failed (status"));
    save_npy(cli.path("few_labels.npy").string(), HostTensor::from<int64_t>("", {3}, {0, 1, 2}));
    r = cli.run("eval " + quote(model) + " --data " + quote(cli.path("data.npy").string()) +
                " --labels " + quote(cli.path("few_labels.npy").string()));
    CHECK(r.code == 1);
    CHECK(contains(r.err, "labels hold 3 values for 10 samples"));
  }

  SUBCASE("bench") {
    Result r = cli.run("bench " + quote(model) + " --runs 3 --warmup 1");
    CHECK(r.code == 0);
    CHECK(contains(r.out, "latency: median"));
    CHECK(contains(r.out, "peak RSS"));
    CHECK(contains(r.err, "runs as [1,4]"));
    CHECK(!contains(r.out, "slowest nodes"));
    Result p = cli.run("bench " + quote(model) + " --runs 3 --warmup 1 --profile --top 1");
    CHECK(p.code == 0);
    CHECK(contains(p.out, "profile: "));
    CHECK(contains(p.out, "slowest nodes"));
    CHECK(cli.run("bench " + quote(model) + " --profile --top -1").code == 2);
  }

  SUBCASE("demo on a stand-in data folder") {
    // The demo's files, with an Identity model over 10 "logits" per sample.
    fs::path data = cli.path("data");
    fs::create_directories(data);
    {
      std::ofstream f(data / "mnist_mobilenet.onnx", std::ios::binary);
      f << identity_model(10);
    }
    std::vector<float> images(20 * 10, 0.f);
    std::vector<int64_t> labels(20);
    for (int i = 0; i < 20; ++i) {
      images[i * 10 + i % 10] = 1.f;
      labels[i] = i < 15 ? i % 10 : (i + 1) % 10;  // 75% right
    }
    fs::create_directories(data / "mnist_test");
    save_npy((data / "mnist_test" / "images_0.npy").string(),
             HostTensor::from<float>("", {12, 10}, std::vector<float>(images.begin(), images.begin() + 120)));
    save_npy((data / "mnist_test" / "images_1.npy").string(),
             HostTensor::from<float>("", {8, 10}, std::vector<float>(images.begin() + 120, images.end())));
    save_npy((data / "mnist_test_labels.npy").string(), HostTensor::from<int64_t>("", {20}, labels));
    save_npy((data / "mnist_mobilenet.golden.npy").string(), HostTensor::from<float>("", {20, 10}, images));
    {
      std::ofstream f(data / "fixtures.json");
      f << "{\"models\": {\"mnist_mobilenet.onnx\": {\"file\": \"x\", \"accuracy\": 0.8}}}\n";
    }
    setenv("OCTET_DATA_DIR", data.c_str(), 1);
    Result r = cli.run("demo --batch 8");
    unsetenv("OCTET_DATA_DIR");
    CHECK(r.code == 0);
    CHECK(contains(r.out, "top-1 accuracy: 75.00% (15/20)"));
    CHECK(contains(r.out, "octet 75.00%, PyTorch 80.00%"));
    CHECK(contains(r.out, "largest |logit - PyTorch logit|: 0 over 200 logits"));
  }

  SUBCASE("quantize writes an integer model that int and exact run alike") {
    const std::string data = octet::test::data_dir();
    const std::string q = cli.path("r.octet").string(), qc = cli.path("rc.octet").string();
    Result r = cli.run("quantize " + quote(data + "/mnist_resnet.onnx") + " --data " +
                       quote(data + "/mnist_calib_images.npy") + " -o " + quote(q) +
                       " --calibrated-out " + quote(qc) + " --target tflite --threads 2");
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "integer model (target tflite): 17 integer nodes, 0 in float"));
    CHECK(fs::file_size(q) * 2 < fs::file_size(qc));
    r = cli.run("info " + quote(q));
    CHECK(r.code == 0);
    CHECK(contains(r.out, "octet.QConv"));
    CHECK(contains(r.out, "integer model: "));
    const std::string eval_args = " --data " + quote(data + "/mnist_test") + " --labels " +
                                  quote(data + "/mnist_test_labels.npy");
    Result i = cli.run("eval " + quote(q) + eval_args);  // an integer model runs int by default
    CHECK(contains(i.out, "mode: int"));
    Result e = cli.run("eval " + quote(qc) + " --mode exact --target tflite --batch 1" + eval_args);
    REQUIRE(i.code == 0);
    REQUIRE(e.code == 0);
    auto accuracy = [](const std::string& out) { return out.substr(out.find("top-1 accuracy"), 40); };
    CHECK(accuracy(i.out) == accuracy(e.out));
    r = cli.run("eval " + quote(q) + " --mode qdq" + eval_args);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "integer model"));
    save_npy(cli.path("x4.npy").string(), HostTensor::from<float>("", {1, 4}, {1, 2, 3, 4}));
    r = cli.run("run " + quote(model) + " --mode int --input " + quote(cli.path("x4.npy").string()));
    CHECK(r.code == 1);
    CHECK(contains(r.err, "needs a quantized model"));
  }

  SUBCASE("quantize takes a bitwidth per tensor and leaves named tensors float") {
    const std::string data = octet::test::data_dir();
    const std::string base = "quantize " + quote(data + "/mnist_resnet.onnx") + " --data " +
                             quote(data + "/mnist_calib_images.npy") + " -o " + quote(cli.path("b.octet").string());
    Result r = cli.run(base + " --bits logits=16 --float input");
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "quantizers: 10 parameter, 14 activation"));  // 15 without --float
    CHECK(contains(r.out, "--bits: 'logits' at 16 bits"));
    CHECK(contains(r.out, "--float: 'input' has no quantizer"));
    CHECK(contains(r.out, "float: /stem/stem.0/Conv (Conv): 'input_t' has no encoding"));
    r = cli.run(base + " --bits nosuch=16");
    CHECK(r.code == 1);
    CHECK(contains(r.err, "the model has no tensor 'nosuch'"));
    r = cli.run(base + " --bits logits=1");
    CHECK(r.code == 2);
    CHECK(contains(r.err, "BITS must be 2..16"));
    r = cli.run(base + " --bits logits");
    CHECK(r.code == 2);
  }

  SUBCASE("analyze writes AIMET's analysis files and ranks the layers") {
    const std::string data = octet::test::data_dir();
    HostTensor images = load_npy(data + "/mnist_calib_images.npy");
    images.dims[0] = 8;
    images.bytes.resize(8 * 28 * 28 * sizeof(float));
    save_npy(cli.path("few.npy").string(), images);
    const std::string dir = cli.path("analysis").string();
    Result r = cli.run("analyze " + quote(data + "/mnist_resnet.onnx") + " --data " +
                       quote(cli.path("few.npy").string()) + " -o " + quote(dir) + " --param-bw 4");
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "score: mean output SQNR against float (dB), 8 samples (the calibration data"));
    CHECK(contains(r.out, "FP32 sanity         100 (every quantizer disabled)"));
    // Unlabelled, a classifier's runs also get their top-1 agreement with float.
    CHECK(contains(r.out, "  top-1 agreement with float (%): FP32 sanity 100, weights only "));
    CHECK(contains(r.out, "1. /"));
    for (const char* f : {"sensitivity.json", "per_layer_quant_enabled.json", "per_layer_quant_disabled.json",
                          "per_layer_mse_loss.json", "min_max_ranges/activations.json", "min_max_ranges/weights.json",
                          "weight_ranges.json", "histograms.json", "report.html"})
      CHECK(fs::exists(fs::path(dir) / f));
    CHECK(contains(r.out, "findings:\n"));
    // The overrides config, when written, is checked by quantizing with it.
    CHECK(contains(r.out, "checked: `octet quantize --config ") == fs::exists(fs::path(dir) / "overrides_config.json"));
    CHECK(contains(r.out, "weight ranges per output channel: "));
    CHECK(!contains(r.out, "before --ptq"));
    // After CLE, the CLE fixture's skewed depthwise channels are equalized; both are reported.
    r = cli.run("analyze " + quote(data + "/mnist_cle.onnx") + " --data " + quote(cli.path("few.npy").string()) +
                " -o " + quote(dir) + " --per-tensor --ptq cle");
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "ptq cle"));
    CHECK(contains(r.out, "  before --ptq cle: "));
    // On the integer kernels too (the FP32 sanity run, with no quantizer left, runs float).
    r = cli.run("analyze " + quote(data + "/mnist_resnet.onnx") + " --data " + quote(cli.path("few.npy").string()) +
                " -o " + quote(dir) + " --mode int");
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "FP32 sanity         100 (every quantizer disabled)"));
    // quantize and autoquant write the same page.
    const std::string page = cli.path("q.html").string();
    r = cli.run("quantize " + quote(data + "/mnist_resnet.onnx") + " --data " + quote(cli.path("few.npy").string()) +
                " -o " + quote(cli.path("q.octet").string()) + " --report-html " + quote(page) + " --report-samples 4");
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "(the analysis on 4 samples: "));
    CHECK(fs::file_size(page) > 10000);
    fs::remove(page);
    r = cli.run("autoquant " + quote(data + "/mnist_resnet.onnx") + " --data " + quote(cli.path("few.npy").string()) +
                " --eval-data " + quote(cli.path("few.npy").string()) + " --candidates baseline -o " +
                quote(cli.path("q.octet").string()) + " --report-html " + quote(page));
    CHECK((r.code == 0 || r.code == 3));
    CHECK(fs::exists(page));
    r = cli.run("quantize " + quote(data + "/mnist_resnet.onnx") + " --data " + quote(cli.path("few.npy").string()) +
                " -o " + quote(cli.path("q.octet").string()) + " --report-samples 4");
    CHECK(r.code == 2);
    r = cli.run("analyze " + quote(data + "/mnist_cle.onnx") + " --data " + quote(cli.path("few.npy").string()) +
                " -o " + quote(dir) + " --per-tensor --override-layers 2");
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "the quantizers of the 2 most sensitive layers"));
    CHECK(cli.run("quantize " + quote(data + "/mnist_cle.onnx") + " --data " + quote(cli.path("few.npy").string()) +
                  " --per-tensor --config " + quote((fs::path(dir) / "overrides_config.json").string()) + " -o " +
                  quote(cli.path("o.octet").string())).code == 0);
    r = cli.run("analyze " + quote(data + "/mnist_resnet.onnx") + " --data " +
                quote(cli.path("few.npy").string()) + " -o " + quote(dir) + " --adaround-iterations 5");
    CHECK(r.code == 2);
    CHECK(contains(r.err, "--adaround-iterations needs adaround in --ptq"));
    r = cli.run("analyze " + quote(data + "/mnist_resnet.onnx") + " --data " +
                quote(cli.path("few.npy").string()) + " -o " + quote(dir) + " --mode float");
    CHECK(r.code == 2);
  }

  SUBCASE("convert fails cleanly or writes a loadable file") {
    const std::string out = cli.path("m.octet").string();
    Result r = cli.run("convert " + quote(model) + " -o " + quote(out));
    CHECK((r.code == 0 || r.code == 1));
    if (r.code == 0) CHECK(cli.run("info " + quote(out)).code == 0);
    else CHECK(contains(r.err, "error:"));
  }
}

TEST_CASE("octet command line: --max-memory, before or after the command") {
  Cli cli;
  if (!cli.available()) {
    MESSAGE("build/octet not found next to the test binary; skipping the CLI test");
    return;
  }
  const std::string model = quote(octet::test::data_dir() + "/mnist_resnet.onnx");
  const std::string data = quote(octet::test::data_dir() + "/mnist_calib_images.npy");
  Result r = cli.run("--max-memory 10K run " + model + " --input input=" + data + " -o " +
                     quote(cli.path("out").string()));
  CHECK(r.code == 1);
  CHECK(contains(r.err, "more than the memory limit of 10.00 KiB"));
  r = cli.run("info " + model + " --shape input=16777216,1,28,28 --max-memory=1G");
  CHECK(r.code == 1);
  CHECK(contains(r.err, "more than the memory limit of 1.00 GiB"));
  r = cli.run("info " + model + " --max-memory lots");
  CHECK(r.code == 2);
  CHECK(contains(r.err, "not a size"));
  // Within the limit, the same command works.
  r = cli.run("info " + model + " --shape input=1,1,28,28 --max-memory 64M");
  CHECK(r.code == 0);
  CHECK(contains(r.out, "peak arena"));
}

TEST_CASE("octet command line: a model with a float and an integer input and a symbolic width") {
  Cli cli;
  if (!cli.available()) {
    MESSAGE("build/octet not found next to the test binary; skipping the CLI test");
    return;
  }
  const std::string model = cli.path("two_inputs.onnx").string();
  save_onnx(*octet::testing::two_input_model(DType::kI32, Dim::symbolic("width")), model);
  const std::string npz = quote(octet::test::data_path("npz/two_inputs.npz"));
  const std::string q = cli.path("q.octet").string();
  // Calibrated from a .npz; the symbolic width is taken from the data and said.
  Result r = cli.run("quantize " + quote(model) + " --data " + npz + " -o " + quote(q));
  CHECK(r.code == 0);
  CHECK(contains(r.out, "integer model input 'x' [batch,width]: [1,4] (symbolic dimensions from the calibration data"));
  r = cli.run("info " + quote(q));
  CHECK(r.code == 0);
  // Evaluated with one file per input; every output compared with float.
  save_npy(cli.path("x.npy").string(), HostTensor::from<float>("", {3, 4}, std::vector<float>(12, 0.25f)));
  save_npy(cli.path("ids.npy").string(), HostTensor::from<int32_t>("", {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const std::string named = " --data x=" + quote(cli.path("x.npy").string()) + " --data ids=" +
                            quote(cli.path("ids.npy").string());
  r = cli.run("eval " + quote(q) + " --mode int" + named);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "samples: 3, batch 1, input x [1,4] ids [1,3]"));
  // The post-training steps and AutoQuant feed every input too.
  r = cli.run("quantize " + quote(model) + named + " --ptq bc -o " + quote(cli.path("bc.octet").string()));
  CHECK(r.code == 0);
  CHECK(contains(r.out, "ptq bc"));
  CHECK(contains(r.out, "with the weights and model inputs quantized, activations in float (as AIMET)"));
  r = cli.run("quantize " + quote(model) + named + " --ptq bc --bc-with-activations -o " +
              quote(cli.path("bc.octet").string()));
  CHECK(r.code == 0);
  CHECK(contains(r.out, "with every quantizer on"));
  r = cli.run("quantize " + quote(model) + named + " --ptq cle --bc-with-activations -o " +
              quote(cli.path("bc.octet").string()));
  CHECK(r.code == 2);
  CHECK(contains(r.err, "--bc-with-activations needs bc in --ptq"));
  const std::string eval_named = " --eval-data x=" + quote(cli.path("x.npy").string()) + " --eval-data ids=" +
                                 quote(cli.path("ids.npy").string());
  r = cli.run("autoquant " + quote(model) + named + eval_named + " --candidates baseline,bc -o " +
              quote(cli.path("aq.octet").string()));
  CHECK((r.code == 0 || r.code == 3));
  CHECK(contains(r.out, "candidate baseline"));
  const std::string calibrated = cli.path("c.octet").string();
  r = cli.run("quantize " + quote(model) + " --data " + npz + " -o " + quote(q) + " --shape x=2,4 --shape ids=2,3" +
              " --calibrated-out " + quote(calibrated));
  CHECK(r.code == 0);
  CHECK(!contains(r.out, "integer model input"));
  r = cli.run("eval " + quote(calibrated) + " --mode qdq --shape x=1,4 --shape ids=1,3" + named);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "against float:\n  output z [4]: SQNR "));
  // Mistakes named.
  r = cli.run("eval " + quote(q) + " --data x=" + quote(cli.path("x.npy").string()));
  CHECK(r.code == 1);
  CHECK(contains(r.err, "--data gives no samples for input(s) ids"));
  r = cli.run("bench " + quote(model) + " --runs 1");
  CHECK(r.code == 2);
  CHECK(contains(r.err, "input 'x' [batch,width] has a symbolic dimension 1; give the shape to measure"));
  r = cli.run("bench " + quote(model) + " --runs 1 --warmup 0 --shape x=1,4 --shape ids=1,3");
  CHECK(r.code == 0);
}

// Issue 29, findings 4 and 5: outputs over inputs or over each other were written, exit 0.
TEST_CASE("octet command line: no output over an input or another output") {
  Cli cli;
  if (!cli.available()) {
    MESSAGE("build/octet not found next to the test binary; skipping the CLI test");
    return;
  }
  const std::string data = octet::test::data_dir();
  const std::string model = data + "/mnist_resnet.onnx";
  const std::string calib = cli.path("calib.npy").string();
  fs::copy_file(data + "/mnist_calib_images.npy", calib);
  const auto before = fs::file_size(calib);
  Result r = cli.run("quantize " + quote(model) + " --data " + quote(calib) + " -o " + quote(calib));
  CHECK(r.code == 2);
  CHECK(contains(r.err, "-o " + calib + " names an input of this command (--data " + calib + ")"));
  CHECK(fs::file_size(calib) == before);
  const std::string q = cli.path("q.octet").string();
  r = cli.run("quantize " + quote(model) + " --data " + quote(calib) + " -o " + quote(q) + " --calibrated-out " +
              quote(cli.path(".").string() + "/q.octet"));
  CHECK(r.code == 2);
  CHECK(contains(r.err, "names another output of this command (-o " + q + ")"));
  CHECK_FALSE(fs::exists(q));
  r = cli.run("convert " + quote(model) + " -o " + quote(model));
  CHECK(r.code == 2);
  CHECK(contains(r.err, "names an input"));
  // Two output names that map to one file name.
  Graph g;
  g.opset = 17;
  TensorInfo x;
  x.name = "x";
  x.dtype = DType::kF32;
  x.shape = Shape::of({1, 4});
  g.inputs = {g.add_tensor(x)};
  for (const char* name : {"a/b", "a_b"}) {
    TensorInfo y;
    y.name = name;
    y.dtype = DType::kF32;
    const TensorId id = g.add_tensor(y);
    g.outputs.push_back(id);
    g.nodes.push_back(Node{std::string("copy_") + name, "Identity", {g.inputs[0]}, {id}, {}});
  }
  const std::string two = cli.path("two.onnx").string();
  save_onnx(g, two);
  save_npy(cli.path("x.npy").string(), HostTensor::from<float>("", {1, 4}, {1, 2, 3, 4}));
  r = cli.run("run " + quote(two) + " --input x=" + quote(cli.path("x.npy").string()) + " -o " +
              quote(cli.path("out").string()));
  CHECK(r.code == 2);
  CHECK(contains(r.err, "names another output of this command (-o (output 'a/b')"));
  CHECK_FALSE(fs::exists(cli.path("out")));
}

// Issue 29, finding 9: "out of memory" named nothing.
TEST_CASE("octet command line: running out of memory says what could not be allocated") {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  MESSAGE("AddressSanitizer reserves more address space than the limit this test sets; skipping");
  return;
#endif
#endif
  Cli cli;
  if (!cli.available()) {
    MESSAGE("build/octet not found next to the test binary; skipping the CLI test");
    return;
  }
  // A 1 GiB tensor (Expand of one value) from a file of a few hundred bytes.
  Graph g;
  g.opset = 17;
  TensorInfo x;
  x.name = "x";
  x.dtype = DType::kF32;
  x.shape = Shape::of({1});
  g.inputs = {g.add_tensor(x)};
  const int64_t n = int64_t{1} << 28;
  const TensorId shape = g.add_constant("shape", DType::kI64, {1},
                                        Buffer::copy_of(reinterpret_cast<const std::byte*>(&n), sizeof n));
  TensorInfo big;
  big.name = "big";
  big.dtype = DType::kF32;
  const TensorId big_id = g.add_tensor(big);
  g.nodes.push_back(Node{"expand", "Expand", {g.inputs[0], shape}, {big_id}, {}});
  TensorInfo y;
  y.name = "y";
  y.dtype = DType::kF32;
  const TensorId y_id = g.add_tensor(y);
  Attributes keep;
  keep.set("keepdims", int64_t{0});
  g.nodes.push_back(Node{"sum", "ReduceSum", {big_id}, {y_id}, keep});
  g.outputs = {y_id};
  const std::string model = cli.path("big.onnx").string();
  save_onnx(g, model);
  const Result r = cli.run("bench " + quote(model) + " --runs 1 --warmup 0 --threads 1 --max-memory 4G", 768 * 1024);
  CHECK(r.code == 1);
  CHECK(contains(r.err, "out of memory allocating 1.00 GiB for the session's tensors (within its memory limit of 4.00 GiB"));
}
