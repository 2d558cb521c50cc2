// Real AIMET files (tests/data/aimet, see its README): every quantsim config AIMET and AI Hub
// ship(ped) loads with AIMET's meaning, placements match AIMET's own unit tests, and every
// encodings layout AIMET has written applies to a model or fails with the message that says why.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "quant/encodings_io.h"
#include "quant/fidelity.h"
#include "quant/kernel_support.h"
#include "quant/quantsim.h"
#include "tests/support/op_test_util.h"
#include "tests/support/test_paths.h"

using namespace octet;
using namespace octet::quant;
namespace fs = std::filesystem;

namespace {

using octet::test::data_path;

std::vector<fs::path> files_in(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(data_path(dir)))
    if (e.is_regular_file() && e.path().extension() != ".md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The newest collected version of an AIMET config (file names are <name>__<date>__<blob>.json).
fs::path latest_config(const std::string& name) {
  fs::path best;
  for (const fs::path& p : files_in("aimet/configs"))
    if (p.filename().string().rfind(name + "__", 0) == 0 && p.filename() > best.filename()) best = p;
  REQUIRE_FALSE(best.empty());
  return best;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::shared_ptr<Graph> mnist() {
  static const std::shared_ptr<Graph> m = load_model(data_path("mnist_mobilenet.onnx"));
  return m;
}

// A calibrated default_config sim of mnist_mobilenet (tf scheme, 100 samples).
const QuantSim& calibrated() {
  static const QuantSim sim = [] {
    QuantSim s(mnist(), QuantsimConfig::load_shipped("default_config"));
    HostTensor x = slice_rows(load_npy(data_path("mnist_calib_images.npy")), 0, 100);
    CalibrationOptions co;
    co.observer.scheme = RangeScheme::kTf;
    s.calibrate(x, co);
    return s;
  }();
  return sim;
}

std::vector<float> run(std::shared_ptr<const Graph> g, ExecutionMode mode) {
  static const HostTensor images = slice_rows(load_npy_dataset(data_path("mnist_test")), 0, 64);
  return test::run_first_output(std::move(g), mode, images);
}

double sqnr_db(const std::vector<float>& ref, const std::vector<float>& x) {
  double s = 0, n = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    s += double(ref[i]) * ref[i];
    n += (double(ref[i]) - x[i]) * (double(ref[i]) - x[i]);
  }
  return 10 * std::log10(s / std::max(n, 1e-30));
}

}  // namespace

TEST_CASE("aimet files: every collected quantsim config loads and places quantizers") {
  const std::vector<fs::path> configs = files_in("aimet/configs");
  REQUIRE(configs.size() == 149);
  size_t duplicate_warnings = 0, with_passes = 0, with_float_kernels = 0, op_only_kernels = 0;
  for (const fs::path& p : configs) {
    CAPTURE(p.filename().string());
    const QuantsimConfig c = QuantsimConfig::load(p);
    for (const std::string& w : c.warnings()) {
      CHECK(w.rfind(p.string(), 0) == 0);
      duplicate_warnings += w.find("duplicate key") != std::string::npos;
    }
    with_passes += !c.data().supergroup_pass_list.empty();
    for (const auto& [type, o] : c.data().op_type)
      for (const SupportedKernel& k : o.supported_kernels) {
        with_float_kernels += k.activation.dtype == KernelDType::Float;
        op_only_kernels += !k.param.has_value();
      }
    // Placement on a real model works with every config, and agrees with the config.
    const QuantSim sim(mnist(), c);
    for (const Quantizer& q : sim.quantizers()) {
      if (q.role != QuantizerRole::kParam) continue;
      CHECK(c.resolve_param(q.op_type, q.param).quantized);
      CHECK(q.supported_kernels.size() == c.resolve_op(q.op_type).supported_kernels.size());
    }
  }
  // What made them fail before: duplicate keys, pass lists, activation-only kernels.
  CHECK(duplicate_warnings >= 3);
  CHECK(with_passes >= 50);
  CHECK(op_only_kernels > 1000);
  CHECK(with_float_kernels > 0);
}

TEST_CASE("aimet files: placements match AIMET's own unit tests") {
  // aimet_onnx test_matmul_perchannel_config: default_config_per_channel.json keeps MatMul
  // weights per-tensor; Conv weights are per-channel.
  const QuantsimConfig pc = QuantsimConfig::load(latest_config("default_config_per_channel"));
  CHECK_FALSE(pc.resolve_param("MatMul", "weight").per_channel);
  CHECK(pc.resolve_param("Conv", "weight").per_channel);
  CHECK(pc.resolve_param("Conv", "weight").symmetric);
  CHECK_FALSE(pc.resolve_param("Conv", "bias").quantized);
  CHECK(pc.model_input_quantized() == std::optional<bool>(true));

  // aimet_onnx test_supported_kernels: Conv's own list, every other op the defaults'.
  const QuantsimConfig sk = QuantsimConfig::parse(R"({
      "defaults": {"ops": {"is_output_quantized": "True", "is_symmetric": "False"},
                   "params": {"is_quantized": "False", "is_symmetric": "True"},
                   "hw_version": "V01",
                   "supported_kernels": [{"activation": {"bitwidth": 16, "dtype": "float"},
                                          "param": {"bitwidth": 16, "dtype": "float"}}],
                   "per_channel_quantization": "True"},
      "params": {},
      "op_type": {"Conv": {"supported_kernels": [{"activation": {"bitwidth": 16, "dtype": "int"},
                                                  "param": {"bitwidth": 8, "dtype": "int"}}],
                           "per_channel_quantization": "False"}},
      "supergroups": [], "model_input": {}, "model_output": {}})",
                                                  "aimet_test_supported_kernels.json");
  const ResolvedOp conv = sk.resolve_op("Conv");
  REQUIRE(conv.supported_kernels.size() == 1);
  CHECK(describe_kernel(conv.supported_kernels[0]) == "activation int16 / param int8");
  CHECK(describe_kernel(sk.resolve_op("Relu").supported_kernels.at(0)) ==
        "activation float16 / param float16");
  const QuantSim sim(mnist(), sk);
  bool conv_seen = false;
  for (const Quantizer& q : sim.quantizers())
    if (q.op_type == "Conv") {
      conv_seen = true;
      CHECK(q.supported_kernels.size() == 1);
      CHECK(q.supported_kernels[0].activation.bitwidth == 16);
    }
  CHECK(conv_seen);
  // W8A8 is none of those kernels: quantize warns per op type.
  const std::vector<std::string> w = kernel_support_warnings(sim);
  REQUIRE_FALSE(w.empty());
  CHECK(std::any_of(w.begin(), w.end(), [](const std::string& s) {
    return s.rfind("Conv: ", 0) == 0 && s.find("activation quantizer(s) at int8") != std::string::npos &&
           s.find("activation int16 / param int8") != std::string::npos;
  }));

  // aimet_onnx test_parse_config_file_supergroups: Conv -> Relu and Relu -> MaxPool fuse, so the
  // Conv output and the Relu output have no quantizer.
  const QuantsimConfig sg = QuantsimConfig::parse(R"({
      "defaults": {"ops": {"is_output_quantized": "True", "is_symmetric": "False"},
                   "params": {"is_quantized": "False", "is_symmetric": "False"}},
      "params": {}, "op_type": {},
      "supergroups": [{"op_list": ["Conv", "Relu"]}, {"op_list": ["Relu", "MaxPool"]}],
      "supergroup_pass_list": ["LayerNormalization"],
      "model_input": {"is_input_quantized": "True"}, "model_output": {}})",
                                                  "aimet_test_supergroups.json");
  CHECK(sg.data().supergroup_pass_list == std::vector<std::string>{"LayerNormalization"});
  QuantSim sgsim(load_model(data_path("mnist_resnet.onnx")), sg);
  const Graph& g = sgsim.model();
  int fused = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Conv") continue;
    int consumers = 0;
    const Node* next = nullptr;
    for (const Node& m : g.nodes)
      for (TensorId i : m.inputs)
        if (i == n.outputs[0]) ++consumers, next = &m;
    if (consumers == 1 && next->op_type == "Relu" && !g.is_graph_output(n.outputs[0])) {
      ++fused;
      CHECK(sgsim.find(g.tensor(n.outputs[0]).name) == nullptr);
    }
  }
  CHECK(fused > 0);

  // aimet_onnx test_param_config: params.weight quantized symmetric, biases off by default.
  const QuantsimConfig pcfg = QuantsimConfig::parse(R"({
      "defaults": {"ops": {"is_output_quantized": "True", "is_symmetric": "False"},
                   "params": {"is_quantized": "False", "is_symmetric": "True"}},
      "params": {"weight": {"is_quantized": "True", "is_symmetric": "True"}},
      "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {}})",
                                                    "aimet_test_param_config.json");
  for (const char* op : {"Conv", "Gemm"}) {
    CHECK(pcfg.resolve_param(op, "weight").quantized);
    CHECK(pcfg.resolve_param(op, "weight").symmetric);
    CHECK_FALSE(pcfg.resolve_param(op, "bias").quantized);
  }

  // backend_aware_* configs key op types by QNN backend names, as aimet_torch reads them:
  // op_type.Conv2d applies to Conv, with W8A8, W16A8, ... kernels and no 4-bit one.
  const QuantsimConfig ba = QuantsimConfig::load(latest_config("backend_aware_htp_quantsim_config_v75"));
  const ResolvedOp baconv = ba.resolve_op("Conv");
  REQUIRE(baconv.supported_kernels.size() == 5);
  CHECK(describe_kernel(baconv.supported_kernels[1]) == "activation int16 / param int8");
  CHECK(kernels_support(baconv.supported_kernels, 8, 8));
  CHECK_FALSE(kernels_support(baconv.supported_kernels, 8, 4));
  QuantSimOptions w4;
  w4.param_bitwidth = 4;
  const QuantSim basim(mnist(), ba, w4);
  const std::vector<std::string> bw = kernel_support_warnings(basim);
  CHECK(std::any_of(bw.begin(), bw.end(), [](const std::string& s) {
    return s.rfind("Conv: ", 0) == 0 && s.find("weight quantizer(s) at int4") != std::string::npos;
  }));

  // The HTP configs from v68 on: what placement reads from the newest v81.
  const QuantsimConfig htp = QuantsimConfig::load(latest_config("htp_quantsim_config_v81"));
  CHECK(htp.data().defaults.hw_version == std::optional<std::string>("V81"));
  CHECK(htp.resolve_param("Conv", "weight").quantized);
  CHECK(htp.resolve_param("Conv", "weight").symmetric);
  CHECK_FALSE(htp.unapplied().empty());
}

TEST_CASE("aimet files: every encodings file applies or fails with the right message") {
  const std::map<std::string, std::string> refused = {
      {"aimet_doc_0_4_0_tensorflow.encodings", "is positive: AIMET's offset is minus the zero point"},
      {"aimet_doc_2_0_0_int2_custom_grid.encodings", "fractional zero points"},
      {"aimet_doc_2_1_0_nvfp4.encodings", "float-quantized"},
  };
  size_t loaded = 0;
  for (const fs::path& p : files_in("aimet/encodings")) {
    const std::string name = p.filename().string();
    CAPTURE(name);
    if (refused.count(name)) {
      const std::string m = error_of([&] { load_encodings(p.string()); });
      CHECK(m.rfind(p.string(), 0) == 0);
      CHECK(m.find(refused.at(name)) != std::string::npos);
      continue;
    }
    const EncodingsFile f = load_encodings(p.string());
    ++loaded;
    // None of these names a tensor of the MNIST model: importing them says so.
    QuantSim sim(mnist(), QuantsimConfig::load_shipped("default_config"));
    const std::string m = error_of([&] { import_encodings(sim, f, p.string()); });
    CHECK(m.find("tensor names in the encodings is in the model") != std::string::npos);
  }
  CHECK(loaded == 4);

  const EncodingsFile ssd = load_encodings(data_path("aimet/encodings/qnn_ssd_mobilenet_v2_overrides.encodings"));
  CHECK(ssd.version == "0.4.0");
  REQUIRE(ssd.param_encodings.size() == 2);
  CHECK(ssd.param_encodings.at("647").encodings[0].bitwidth == 16);
  CHECK(ssd.warnings.empty());

  const EncodingsFile pt = load_encodings(data_path("aimet/encodings/aimet_doc_0_4_0_pytorch.encodings"));
  CHECK(pt.activation_encodings.at("20").encodings[0].offset == -114);
  CHECK(pt.param_encodings.at("fc1.weight").encodings[0].offset == -127);
  CHECK(pt.warnings.empty());

  const EncodingsFile v2 = load_encodings(data_path("aimet/encodings/aimet_doc_2_0_0_examples.encodings"));
  const Encoding& t = v2.activation_encodings.at("per_tensor").encodings.at(0);
  CHECK(t.offset == -41);
  CHECK_FALSE(t.symmetric);
  CHECK(t.bitwidth == 8);
  const TensorEncoding& pc = v2.activation_encodings.at("per_channel");
  CHECK(pc.axis == 0);
  CHECK(pc.encodings.size() == 3);
  CHECK(pc.encodings[2].offset == -128);
  CHECK(pc.encodings[2].symmetric);
  const TensorEncoding& pb = v2.activation_encodings.at("per_block");
  CHECK(pb.axis == 1);
  CHECK(pb.block_size == 32);
  CHECK(pb.encodings.size() == 6);
  CHECK(pb.encodings[5].scale == 0.06);
  CHECK(pb.encodings[5].offset == -8);
  CHECK(v2.activation_encodings.at("bias").encodings[0].bitwidth == 32);
  CHECK(v2.activation_encodings.at("int2_weight").encodings[0].offset == -2);

  const EncodingsFile lpbq = load_encodings(data_path("aimet/encodings/aimet_doc_2_1_0_lpbq.encodings"));
  const TensorEncoding& w = lpbq.activation_encodings.at("weight");
  CHECK(w.block_size == 32);
  CHECK(w.axis == 1);
  REQUIRE(w.encodings.size() == 6);
  const double expect[] = {0.003, 0.005, 0.022, 0.018, 0.021, 0.048};
  for (size_t i = 0; i < 6; ++i) {
    CHECK(w.encodings[i].scale == doctest::Approx(expect[i]).epsilon(1e-12));
    CHECK(w.encodings[i].bitwidth == 4);
    CHECK(w.encodings[i].offset == -8);
  }
}

TEST_CASE("aimet files: the layouts AIMET writes, on a real model") {
  const QuantSim& sim = calibrated();
  const EncodingsFile exported = make_encodings_file(sim, "post_training_tf");
  const std::vector<float> reference = run(sim.annotated_model(), ExecutionMode::kQdq);
  auto imported = [&](const EncodingsFile& f, const std::string& source,
                      const ImportOptions& o = {}) {
    QuantSim s(mnist(), QuantsimConfig::load_shipped("default_config"));
    ImportReport r = import_encodings(s, f, source, o);
    return std::make_pair(s.annotated_model(), r);
  };

  SUBCASE("0.6.1, 1.0.0 and 2.0.0 round trips give the same simulation") {
    for (EncodingsVersion v :
         {EncodingsVersion::kV0_6_1, EncodingsVersion::kV1_0_0, EncodingsVersion::kV2_0_0}) {
      CAPTURE(encodings_version_name(v));
      const std::string text = write_encodings_json(exported, v);
      const auto [g, r] = imported(parse_encodings_json(text, "rt.encodings"), "rt.encodings");
      CHECK(r.unmatched.empty());
      CHECK(run(g, ExecutionMode::kQdq) == reference);
    }
  }

  SUBCASE("the flat AdaRound parameter file applies its parameters") {
    nlohmann::json flat = nlohmann::json::parse(write_encodings_json(exported))["param_encodings"];
    const EncodingsFile f = parse_encodings_json(flat.dump(), "adaround.encodings");
    CHECK(f.flat_param_file);
    CHECK(f.param_encodings.size() == exported.param_encodings.size());
    ImportOptions keep;
    keep.disable_others = false;
    const auto [g, r] = imported(f, "adaround.encodings", keep);
    CHECK(r.applied.size() == exported.param_encodings.size());
  }

  SUBCASE("a _torch.encodings file is refused with the file to use") {
    const std::string torch = R"({"version": "0.6.1",
        "activation_encodings": {"avgpool": {"output": {"0": {"bitwidth": 8, "dtype": "int",
            "is_symmetric": "False", "max": 1.0, "min": 0.0, "offset": 0, "scale": 0.00392156862745098}}}},
        "param_encodings": {}})";
    const std::string m = error_of([&] { parse_encodings_json(torch, "model_torch.encodings"); });
    CHECK(m.find("activation_encodings[\"avgpool\"]") != std::string::npos);
    CHECK(m.find("<prefix>_torch.encodings") != std::string::npos);
    CHECK(m.find("use the <prefix>.encodings") != std::string::npos);
    // AIMET's 1.0.0 export writes the same module-keyed layout in its _torch.encodings
    // (aimet_torch/_base/quantsim.py: "common to 0.6.1 and 1.0.0"): named for what it is too,
    // not taken for a 0.6.1 file with the wrong version.
    std::string torch1 = torch;
    torch1.replace(torch1.find("0.6.1"), 5, "1.0.0");
    const std::string m1 = error_of([&] { parse_encodings_json(torch1, "model_torch.encodings"); });
    CHECK(m1.find("activation_encodings[\"avgpool\"]") != std::string::npos);
    CHECK(m1.find("this is AIMET's <prefix>_torch.encodings file; use the <prefix>.encodings") != std::string::npos);
    CHECK(m1.find("legacy 0.6.1 layout") == std::string::npos);
    // Module-path names in the ONNX layout (a renamed or hand-made file): the import says so.
    EncodingsFile f;
    f.activation_encodings["features.0.relu"] = exported.activation_encodings.begin()->second;
    f.activation_encodings["classifier.fc"] = exported.activation_encodings.begin()->second;
    QuantSim s(mnist(), QuantsimConfig::load_shipped("default_config"));
    const std::string m2 = error_of([&] { import_encodings(s, f, "dir/model_torch.encodings"); });
    CHECK(m2.find("none of the 2 tensor names") != std::string::npos);
    CHECK(m2.find("PyTorch module paths") != std::string::npos);
    CHECK(m2.find("Use dir/model.encodings") != std::string::npos);
  }

  SUBCASE("partial matches list the names and need --allow-partial-encodings") {
    EncodingsFile f = exported;
    f.activation_encodings["/not/in/model"] = exported.activation_encodings.begin()->second;
    const std::string m = error_of([&] { imported(f, "partial.encodings"); });
    CHECK(m.find("1 of the ") != std::string::npos);
    CHECK(m.find("'/not/in/model'") != std::string::npos);
    CHECK(m.find("--allow-partial-encodings") != std::string::npos);
    ImportOptions o;
    o.allow_partial = true;
    const auto [g, r] = imported(f, "partial.encodings", o);
    CHECK(r.unmatched == std::vector<std::string>{"/not/in/model"});
    CHECK(run(g, ExecutionMode::kQdq) == reference);
  }

  SUBCASE("min/max off the grid: scale/offset win, with the size of the disagreement") {
    nlohmann::json j = nlohmann::json::parse(write_encodings_json(exported));
    auto& first = j["activation_encodings"].begin().value()[0];
    const double max = first["max"].get<double>(), min = first["min"].get<double>();
    first["max"] = max + 0.008 * (max - min);
    const EncodingsFile f = parse_encodings_json(j.dump(), "qnn16.encodings");
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0].find("max ") != std::string::npos);
    CHECK(f.warnings[0].find("(0.8 % of the range") != std::string::npos);
    CHECK(f.warnings[0].find("scale/offset are used") != std::string::npos);
    const auto [g, r] = imported(f, "qnn16.encodings");
    CHECK(r.warnings == f.warnings);
    CHECK(run(g, ExecutionMode::kQdq) == reference);
  }

  SUBCASE("float16 entries stay float and are reported") {
    EncodingsFile f = exported;
    const std::string name = f.activation_encodings.begin()->first;
    f.activation_encodings.erase(name);
    f.float_activation_encodings[name] = 16;
    const auto [g, r] = imported(f, "fp16.encodings");
    REQUIRE_FALSE(r.notes.empty());
    CHECK(r.notes.back().find("float16") != std::string::npos);
    CHECK(g->tensor(g->require_tensor(name)).quant.empty());
  }
}

TEST_CASE("aimet files: per-block and LPBQ encodings run on the per-block kernels") {
  // A Conv weight with input channels in blocks of 32 (int4 per-block kernels), named as in
  // the exported model (BN folded, as AIMET exports).
  auto model = mnist();
  const QuantSim folded(model, QuantsimConfig::load_shipped("default_config"));
  const Graph* fg = &folded.model();
  const Node* conv = nullptr;
  for (const Node& n : fg->nodes)
    if (n.op_type == "Conv" && n.attrs.get_int("group", 1) == 1 &&
        fg->tensor(n.inputs[1]).shape.concrete()[1] % 32 == 0)
      conv = &n;
  REQUIRE(conv != nullptr);
  const TensorInfo& wt = fg->tensor(conv->inputs[1]);
  const Dims d = wt.shape.concrete();
  const int64_t O = d[0], blocks = d[1] / 32;
  // AIMET's [O, I / 32] grid of per-block scales from the weights' absolute maxima.
  const float* v = reinterpret_cast<const float*>(wt.data->data());
  const int64_t T = d[2] * d[3];
  std::vector<double> scales;
  for (int64_t o = 0; o < O; ++o)
    for (int64_t b = 0; b < blocks; ++b) {
      float m = 1e-6f;
      for (int64_t c = b * 32; c < (b + 1) * 32; ++c)
        for (int64_t t = 0; t < T; ++t) m = std::max(m, std::fabs(v[(o * d[1] + c) * T + t]));
      scales.push_back(m / 7.0);
    }
  nlohmann::json entry = {{"name", wt.name}, {"enc_type", "PER_BLOCK"}, {"dtype", "INT"}, {"bw", 4},
                          {"is_sym", true}, {"block_size", 32}, {"scale", scales},
                          {"offset", std::vector<int>(scales.size(), -8)}};
  // The same grid as LPBQ: per-channel scale / 16 times an integer in [1, 16].
  std::vector<double> ch(size_t(O), 0.0);
  std::vector<int64_t> ints;
  std::vector<double> lpbq_scales;
  for (int64_t o = 0; o < O; ++o) {
    for (int64_t b = 0; b < blocks; ++b) ch[size_t(o)] = std::max(ch[size_t(o)], scales[size_t(o * blocks + b)]);
    ch[size_t(o)] /= 16;
    for (int64_t b = 0; b < blocks; ++b) {
      ints.push_back(std::clamp<int64_t>(std::llround(scales[size_t(o * blocks + b)] / ch[size_t(o)]), 1, 16));
      lpbq_scales.push_back(ch[size_t(o)] * double(ints.back()));
    }
  }
  nlohmann::json lpbq = {{"name", wt.name}, {"enc_type", "LPBQ"}, {"dtype", "INT"}, {"bw", 8},
                         {"compressed_bw", 4}, {"is_sym", true}, {"block_size", 32},
                         {"scale", ch}, {"offset", std::vector<int>(size_t(O), -128)},
                         {"per_block_int_scale", ints}};
  for (const auto& [label_binding, e, expected] :
       {std::tuple{"PER_BLOCK", entry, scales}, std::tuple{"LPBQ", lpbq, lpbq_scales}}) {
    const char* label = label_binding;  // clang 14 cannot capture a structured binding (CAPTURE)
    CAPTURE(label);
    nlohmann::json file = {{"version", "1.0.0"}, {"activation_encodings", nlohmann::json::array()},
                           {"param_encodings", nlohmann::json::array({e})}};
    QuantSim sim(folded.model_ptr(), QuantsimConfig::load_shipped("default_config"));
    ImportOptions keep;
    keep.disable_others = false;  // the other tensors keep default_config's quantizers
    import_encodings(sim, parse_encodings_json(file.dump(), "blocks.encodings"), "blocks.encodings",
                     keep);
    const Quantizer& q = sim.at(wt.name);
    CHECK(q.block_size == 32);
    CHECK(q.axis == 1);
    REQUIRE(q.encoding->encodings.size() == size_t(O * blocks * T));
    // encoding.h's layout [O, I/32, kh*kw]: the AIMET block scale replicated over kh*kw.
    for (int64_t o = 0; o < O; ++o)
      for (int64_t b = 0; b < blocks; ++b)
        for (int64_t t = 0; t < T; ++t)
          CHECK(q.encoding->encodings[size_t((o * blocks + b) * T + t)].scale ==
                expected[size_t(o * blocks + b)]);
    // The other quantizers calibrated: the Conv runs on the int4 per-block kernels in int mode,
    // and exact equals int.
    CalibrationOptions co;
    co.observer.scheme = RangeScheme::kTf;
    sim.calibrate(slice_rows(load_npy(data_path("mnist_calib_images.npy")), 0, 64), co);
    CHECK(sim.at(wt.name).encoding->encodings[0].scale == expected[0]);  // frozen
    const auto g = sim.annotated_model();
    SessionOptions o;
    o.mode = ExecutionMode::kInt;
    o.input_shapes[g->tensor(g->inputs[0]).name] = {64, 1, 28, 28};
    const Session s(g, o);
    REQUIRE(s.lowering_report() != nullptr);
    for (const std::string& f : s.lowering_report()->float_nodes)
      CHECK(f.find(conv->name) == std::string::npos);
    const std::vector<float> fl = run(g, ExecutionMode::kFloat), in = run(g, ExecutionMode::kInt);
    CHECK(in == run(g, ExecutionMode::kExact));
    CHECK(sqnr_db(fl, run(g, ExecutionMode::kQdq)) > 10.0);
    CHECK(sqnr_db(fl, in) > 10.0);
  }
}

// Issue 28: AIMET's current HTP configs give Relu only {"min": 0.0}; octet refused them. A
// constraint keeps the ends it names and calibrates the others (aimet_onnx quantsim_config.py:
// set_fixed_encoding_range((min, None)), compute_encodings uses the observed max).
TEST_CASE("aimet files: HTP v75's min-only Relu constraint loads; the ends a constraint names are kept") {
  const fs::path path = latest_config("htp_quantsim_config_v75");
  const QuantsimConfig v75 = QuantsimConfig::load(path);
  const ResolvedOp relu = v75.resolve_op("Relu");
  REQUIRE(relu.encoding_constraints.has_value());
  CHECK(relu.encoding_constraints->min == 0.0);
  CHECK_FALSE(relu.encoding_constraints->max.has_value());
  // The same file with Relu's max fixed instead: the max is kept, the min calibrated.
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string relu_min = "\"Relu\":\n    {\n      \"encoding_constraints\":\n      {\n        \"min\": 0.0";
  const size_t at = text.find(relu_min);
  REQUIRE(at != std::string::npos);
  text.replace(at, relu_min.size(), "\"Relu\":\n    {\n      \"encoding_constraints\":\n      {\n        \"max\": 0.75");
  const QuantsimConfig capped = QuantsimConfig::parse(text, "capped.json");
  const HostTensor x = slice_rows(load_npy(data_path("mnist_calib_images.npy")), 0, 50);
  CalibrationOptions co;
  co.observer.scheme = RangeScheme::kTf;
  const auto resnet = load_model(data_path("mnist_resnet.onnx"));  // 7 Relu (MobileNet's are Clip)
  QuantSim a(resnet, v75), b(resnet, capped);
  a.calibrate(x, co);
  b.calibrate(x, co);
  int relus = 0;
  for (size_t i = 0; i < a.quantizers().size(); ++i) {
    const Quantizer& qa = a.quantizers()[i];
    if (qa.op_type != "Relu" || !qa.enabled || qa.role == QuantizerRole::kParam) continue;
    ++relus;
    REQUIRE(qa.encoding.has_value());
    const Encoding& ea = qa.encoding->encodings[0];
    const Encoding& eb = b.at(qa.tensor).encoding->encodings[0];
    CAPTURE(qa.tensor);
    CHECK(ea.min == 0.0);
    CHECK(ea.max > 1.0);                            // calibrated: MNIST activations exceed 1
    CHECK(std::abs(eb.max - 0.75) <= eb.scale);     // fixed, up to the grid's step
  }
  CHECK(relus > 0);
}
