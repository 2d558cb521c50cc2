// QuantSim on the MNIST fixtures: placement, FP32 sanity, W8A8 / W4A8 accuracy.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "engine/session.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "loaders/octet_format.h"
#include "quant/fidelity.h"
#include "quant/encodings_io.h"
#include "quant/analysis_report.h"
#include "quant/quantsim.h"
#include "tests/support/test_paths.h"

using namespace octet;
using namespace octet::quant;

namespace {

using octet::test::data_path;

struct Accuracy {
  int64_t correct = 0, total = 0;
  std::vector<float> logits;
  double percent() const { return 100.0 * static_cast<double>(correct) / static_cast<double>(total); }
};

Accuracy evaluate(std::shared_ptr<const Graph> model, ExecutionMode mode) {
  static const HostTensor images = load_npy_dataset(data_path("mnist_test"));
  static const HostTensor labels = load_npy(data_path("mnist_test_labels.npy"));
  const int64_t batch = 250;
  SessionOptions opt;
  opt.mode = mode;
  opt.threads = 2;
  const std::string input = model->tensor(model->inputs[0]).name;
  opt.input_shapes[input] = {batch, 1, 28, 28};
  Session s(model, opt);
  Accuracy a;
  for (int64_t b = 0; b < images.dims[0]; b += batch) {
    HostTensor x = slice_rows(images, b, b + batch);
    x.name = input;
    auto out = s.run({x});
    auto y = out[0].values<float>();
    a.logits.insert(a.logits.end(), y.begin(), y.end());
    for (int64_t r = 0; r < batch; ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < 10; ++c)
        if (y[r * 10 + c] > y[r * 10 + best]) best = c;
      a.correct += best == labels.values<int64_t>()[b + r];
      a.total++;
    }
  }
  return a;
}

std::shared_ptr<Graph> quantize(const std::string& file, RangeScheme scheme, int param_bw,
                                int act_bw, std::optional<bool> per_channel) {
  QuantSimOptions qo;
  qo.param_bitwidth = param_bw;
  qo.act_bitwidth = act_bw;
  qo.per_channel = per_channel;
  QuantSim sim(load_model(data_path(file)), QuantsimConfig::load_shipped("default_config"), qo);
  CalibrationOptions co;
  co.observer.scheme = scheme;
  co.batch_size = 50;
  co.threads = 2;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  return sim.annotated_model();
}

}  // namespace

TEST_CASE("quantsim: placement follows the default config on the MobileNet fixture") {
  QuantSim sim(load_model(data_path("mnist_mobilenet.onnx")),
               QuantsimConfig::load_shipped("default_config"));
  const Graph& g = sim.model();
  int convs = 0, gemms = 0, bns = 0;
  for (const Node& n : g.nodes) {
    convs += n.op_type == "Conv";
    gemms += n.op_type == "Gemm";
    bns += n.op_type == "BatchNormalization";
  }
  CHECK(bns == 0);  // folded before placement
  int weights = 0, biases = 0, acts = 0;
  for (const Quantizer& q : sim.quantizers()) {
    if (q.role == QuantizerRole::kParam) (q.param == "weight" ? weights : biases)++;
    else acts++;
    if (q.role == QuantizerRole::kParam) CHECK(q.kind != EncodingKind::kAsymmetric);
  }
  CHECK(weights == convs + gemms);
  CHECK(biases == 0);  // AIMET's default: bias unquantized
  // Conv -> Clip (ReLU6) is a supergroup: no quantizer between them.
  for (const Node& n : g.nodes) {
    if (n.op_type != "Conv") continue;
    const std::string out = g.tensor(n.outputs[0]).name;
    for (const Node& m : g.nodes)
      if (m.op_type == "Clip" && m.inputs[0] == n.outputs[0]) CHECK(sim.find(out) == nullptr);
  }
  CHECK(acts > 0);
  CHECK(sim.find(g.tensor(g.outputs[0]).name) != nullptr);
}

TEST_CASE("quantsim: a tensor's bitwidth is chosen, or it is left float; unknown names are errors") {
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  QuantSim plain(model, QuantsimConfig::load_shipped("default_config"));
  const Graph& g = plain.model();
  const std::string out = g.tensor(g.outputs[0]).name, in = g.tensor(g.inputs[0]).name;
  std::string weight;
  for (const Quantizer& q : plain.quantizers())
    if (q.role == QuantizerRole::kParam && weight.empty()) weight = q.tensor;
  QuantSimOptions o;
  o.tensor_bitwidths[out] = 16;
  o.tensor_bitwidths[weight] = 4;
  o.float_tensors.insert(in);
  QuantSim sim(model, QuantsimConfig::load_shipped("default_config"), o);
  CHECK(sim.at(out).bitwidth == 16);
  CHECK(sim.at(weight).bitwidth == 4);
  CHECK_FALSE(sim.at(in).enabled);
  int changed = 0;  // nothing else differs from the plain placement
  for (size_t k = 0; k < sim.quantizers().size(); ++k) {
    const Quantizer &a = sim.quantizers()[k], &b = plain.quantizers()[k];
    changed += a.bitwidth != b.bitwidth || a.enabled != b.enabled;
  }
  CHECK(changed == 3);

  QuantSimOptions unknown;
  unknown.tensor_bitwidths["no_such_tensor"] = 16;
  CHECK_THROWS_WITH_AS(QuantSim(model, QuantsimConfig::load_shipped("default_config"), unknown),
                       doctest::Contains("the model has no tensor 'no_such_tensor'"), Error);
  std::string interior;  // a Conv output inside Conv+Clip: no quantizer of its own
  for (const Node& n : g.nodes)
    if (n.op_type == "Conv" && !plain.find(g.tensor(n.outputs[0]).name)) interior = g.tensor(n.outputs[0]).name;
  REQUIRE_FALSE(interior.empty());
  QuantSimOptions inside;
  inside.float_tensors.insert(interior);
  CHECK_THROWS_WITH_AS(QuantSim(model, QuantsimConfig::load_shipped("default_config"), inside),
                       doctest::Contains("has no quantizer"), Error);
}

TEST_CASE("quantsim: a config's tensor_bitwidths (analyze's overrides) apply, --bits over them") {
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  QuantSim plain(model, QuantsimConfig::load_shipped("default_config"));
  const Graph& g = plain.model();
  const std::string out = g.tensor(g.outputs[0]).name;
  std::string weight;
  for (const Quantizer& q : plain.quantizers())
    if (q.role == QuantizerRole::kParam && weight.empty()) weight = q.tensor;
  const std::filesystem::path file = std::filesystem::temp_directory_path() / "octet_overrides_config.json";
  write_bitwidth_overrides(shipped_config_path("default_config").string(), {out, weight}, 16, file.string());
  const QuantsimConfig config = QuantsimConfig::load(file);
  CHECK(config.tensor_bitwidths().size() == 2);
  QuantSim sim(model, config);
  CHECK(sim.at(out).bitwidth == 16);
  CHECK(sim.at(weight).bitwidth == 16);
  int changed = 0;
  for (size_t k = 0; k < sim.quantizers().size(); ++k)
    changed += sim.quantizers()[k].bitwidth != plain.quantizers()[k].bitwidth;
  CHECK(changed == 2);
  QuantSimOptions o;
  o.tensor_bitwidths[weight] = 4;
  CHECK(QuantSim(model, config, o).at(weight).bitwidth == 4);
  std::filesystem::remove(file);
}

TEST_CASE("quantsim: FP32 sanity — no quantizer, or 16-bit ones, reproduce float") {
  for (std::string file : {"mnist_mobilenet.onnx", "mnist_resnet.onnx"}) {
    CAPTURE(file);
    auto model = load_model(data_path(file));
    const Accuracy fp = evaluate(model, ExecutionMode::kFloat);
    QuantSim sim(model, QuantsimConfig::load_shipped("default_config"));
    for (Quantizer& q : sim.quantizers()) q.enabled = false;
    const Accuracy off = evaluate(sim.annotated_model(), ExecutionMode::kQdq);
    const Fidelity same = compare_outputs(fp.logits, off.logits, 10);
    CHECK(same.max_abs_error <= 1e-4);
    CHECK(off.correct == fp.correct);

    QuantSimOptions qo;
    qo.param_bitwidth = 16;
    qo.act_bitwidth = 16;
    auto q16 = quantize(file, RangeScheme::kTf, 16, 16, std::nullopt);
    const Accuracy a16 = evaluate(q16, ExecutionMode::kQdq);
    const Fidelity f = compare_outputs(fp.logits, a16.logits, 10);
    MESSAGE(file << " W16A16: SQNR " << f.sqnr_db << " dB, accuracy " << a16.percent());
    CHECK(f.sqnr_db > 50);
    CHECK(a16.correct == fp.correct);
  }
}

TEST_CASE("quantsim: MNIST W8A8 within 0.3 points of float; W4A8 reported") {
  for (std::string file : {"mnist_mobilenet.onnx", "mnist_resnet.onnx"}) {
    const Accuracy fp = evaluate(load_model(data_path(file)), ExecutionMode::kFloat);
    for (RangeScheme scheme : {RangeScheme::kTf, RangeScheme::kTfEnhanced}) {
      const Accuracy w8 = evaluate(quantize(file, scheme, 8, 8, std::nullopt), ExecutionMode::kQdq);
      MESSAGE(file << " W8A8 " << std::string(range_scheme_name(scheme)) << ": " << w8.percent() << "% (float "
                   << fp.percent() << "%)");
      CHECK(fp.percent() - w8.percent() <= 0.3 + 1e-9);
    }
    const Accuracy w4 =
        evaluate(quantize(file, RangeScheme::kTfEnhanced, 4, 8, true), ExecutionMode::kQdq);
    MESSAGE(file << " W4A8 per-channel tf-enhanced: " << w4.percent() << "% (float " << fp.percent()
                 << "%, drop " << fp.percent() - w4.percent() << " points)");
    CHECK(w4.total == 1000);
  }
}

TEST_CASE("quantsim: a quantized .octet keeps its encodings") {
  auto q = quantize("mnist_resnet.onnx", RangeScheme::kTf, 8, 8, std::nullopt);
  const std::string path = (std::filesystem::temp_directory_path() / "octet_q8.octet").string();
  save_octet(*q, path);
  auto back = load_model(path);
  int with_quant = 0;
  for (const TensorInfo& t : back->tensors) with_quant += !t.quant.empty();
  CHECK(with_quant > 10);
  const Accuracy a = evaluate(q, ExecutionMode::kQdq);
  const Accuracy b = evaluate(back, ExecutionMode::kQdq);
  CHECK(a.logits == b.logits);
}

TEST_CASE("quantsim: NaN in calibration data names the tensor") {
  QuantSim sim(load_model(data_path("mnist_resnet.onnx")),
               QuantsimConfig::load_shipped("default_config"));
  HostTensor x = load_npy(data_path("mnist_calib_images.npy"));
  x = slice_rows(x, 0, 4);
  x.values<float>()[100] = std::nanf("");
  CalibrationOptions co;
  co.observer.scheme = RangeScheme::kTf;
  CHECK_THROWS_WITH_AS(sim.calibrate(x, co), doctest::Contains("tensor '"), Error);
}

TEST_CASE("quantsim: encodings export, import into a fresh QuantSim, same simulation") {
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  QuantSim sim(model, QuantsimConfig::load_shipped("default_config"));
  CalibrationOptions co;
  co.observer.scheme = RangeScheme::kTf;
  co.batch_size = 100;
  sim.calibrate(data_path("mnist_calib_images.npy"), co);
  for (EncodingsVersion v :
       {EncodingsVersion::kV0_6_1, EncodingsVersion::kV1_0_0, EncodingsVersion::kV2_0_0}) {
    const std::string text = write_encodings_json(make_encodings_file(sim, "post_training_tf"), v);
    QuantSim other(model, QuantsimConfig::load_shipped("default_config"));
    import_encodings(other, parse_encodings_json(text, "mem.encodings"), "mem.encodings");
    const Accuracy a = evaluate(sim.annotated_model(), ExecutionMode::kQdq);
    const Accuracy b = evaluate(other.annotated_model(), ExecutionMode::kQdq);
    CHECK(a.logits == b.logits);
  }
  // The export checks itself: an enabled quantizer without an encoding is an error.
  QuantSim fresh(model, QuantsimConfig::load_shipped("default_config"));
  CHECK_THROWS_WITH_AS(make_encodings_file(fresh, "tf"), doctest::Contains("no encoding"), Error);
}

TEST_CASE("quantsim: importing encodings of tensors the model lacks lists them all") {
  auto model = load_model(data_path("mnist_resnet.onnx"));
  QuantSim sim(model, QuantsimConfig::load_shipped("default_config"));
  EncodingsFile f;
  TensorEncoding te;
  te.encodings.push_back(compute_encoding(-1.f, 1.f, 8, EncodingKind::kAsymmetric));
  f.activation_encodings["not_there_1"] = te;
  f.activation_encodings["not_there_2"] = te;
  f.activation_encodings[model->tensor(model->outputs[0]).name] = te;
  try {
    import_encodings(sim, f, "x.encodings");
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("x.encodings") != std::string::npos);
    CHECK(m.find("not_there_1") != std::string::npos);
    CHECK(m.find("not_there_2") != std::string::npos);
  }
}

TEST_CASE("quantsim: an all-zero weight channel gets a valid, non-degenerate scale") {
  auto model = std::make_shared<Graph>(*load_model(data_path("mnist_resnet.onnx")));
  // Zero the first output channel of the first Conv's weights.
  for (Node& n : model->nodes) {
    if (n.op_type != "Conv") continue;
    TensorInfo& w = model->tensor(n.inputs[1]);
    std::vector<std::byte> bytes(w.data->bytes().begin(), w.data->bytes().end());
    const Dims d = w.shape.concrete();
    const size_t per_channel = static_cast<size_t>(checked_numel(d) / d[0]) * sizeof(float);
    std::fill(bytes.begin(), bytes.begin() + per_channel, std::byte{0});
    w.data = Buffer::from_vector(std::move(bytes));
    break;
  }
  QuantSimOptions qo;
  qo.per_channel = true;
  QuantSim sim(model, QuantsimConfig::load_shipped("default_config"), qo);
  ObserverOptions oo;
  oo.scheme = RangeScheme::kTf;
  sim.compute_param_encodings(oo);
  int checked = 0;
  for (const Quantizer& q : sim.quantizers()) {
    if (q.role != QuantizerRole::kParam || !q.encoding) continue;
    for (const Encoding& e : q.encoding->encodings) {
      CHECK(std::isnormal(static_cast<float>(e.scale)));
      CHECK(e.max - e.min >= 0.01 - 1e-9);
      checked++;
    }
  }
  CHECK(checked > 0);
}

TEST_CASE("quantsim: calibration gives the same encodings for 1 and 2 threads") {
  auto model = load_model(data_path("mnist_mobilenet.onnx"));
  std::vector<std::vector<double>> scales;
  for (int threads : {1, 2}) {
    QuantSim sim(model, QuantsimConfig::load_shipped("default_config"));
    CalibrationOptions co;
    co.observer.scheme = RangeScheme::kTfEnhanced;
    co.batch_size = 64;
    co.threads = threads;
    sim.calibrate(data_path("mnist_calib_images.npy"), co);
    std::vector<double> s;
    for (const Quantizer& q : sim.quantizers())
      for (const Encoding& e : q.encoding->encodings) {
        s.push_back(e.scale);
        s.push_back(e.offset);
      }
    scales.push_back(std::move(s));
  }
  CHECK(scales[0] == scales[1]);
}

TEST_CASE("quantsim: QuantParams keep the strict grid, unsigned strict included") {
  // Signed strict (zero point 127) and AIMET's unsigned strict symmetric (zero point 0, codes
  // 0..254): before QuantParams carried the flag, the unsigned one came back as 0..255.
  for (auto [lo, kind] : {std::pair{-1.f, quant::EncodingKind::kStrictSymmetric},
                          std::pair{0.f, quant::EncodingKind::kUnsignedStrictSymmetric}}) {
    quant::TensorEncoding te;
    te.encodings = {quant::compute_encoding(lo, 2.f, 8, kind)};
    const QuantParams q = quant::to_quant_params(te);
    CHECK(q.strict);
    CHECK(q.qmax() == 254);
    CHECK(q.zero_point[0] == (lo < 0 ? 127 : 0));
    check_quant_params(q, Shape::of({4}), "test");
    const quant::TensorEncoding back = quant::from_quant_params(q, "test");
    CHECK(back.encodings[0].strict_symmetric);
    CHECK(back.encodings[0].num_steps() == 254);
    CHECK(back.encodings[0].offset == te.encodings[0].offset);
  }
}
