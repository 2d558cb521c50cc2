// AIMET encodings files: round trips in 0.6.1 and 1.0.0, hand-written files, bad files.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "quant/encodings_json.h"

using namespace octet;
using namespace octet::quant;

namespace {

// An encoding whose min/max are exactly the grid end points scale*offset, scale*(offset+N).
Encoding grid_encoding(int bw, bool sym, double scale, int offset) {
  Encoding e;
  e.bitwidth = bw;
  e.symmetric = sym;
  e.strict_symmetric = sym && offset == -((int64_t{1} << (bw - 1)) - 1);
  e.scale = scale;
  e.offset = offset;
  e.min = scale * offset;
  e.max = scale * static_cast<double>(offset + e.num_steps());
  return e;
}

// The legacy format's worked example (activation "20"), values as AIMET writes them.
Encoding aimet_example() {
  Encoding e;
  e.bitwidth = 8;
  e.min = -2.109158515930176;
  e.max = 2.6086959838867188;
  e.scale = (e.max - e.min) / 255.0;
  e.offset = -114;
  return e;
}

TensorEncoding per_tensor(Encoding e) { return TensorEncoding{{e}, -1, 0}; }

void check_same(const Encoding& a, const Encoding& b) {
  CHECK(a.bitwidth == b.bitwidth);
  CHECK(a.symmetric == b.symmetric);
  CHECK(a.strict_symmetric == b.strict_symmetric);
  CHECK(a.scale == b.scale);  // exact
  CHECK(a.offset == b.offset);
  CHECK(a.min == b.min);
  CHECK(a.max == b.max);
}

void check_same(const TensorEncoding& a, const TensorEncoding& b) {
  REQUIRE(a.encodings.size() == b.encodings.size());
  for (size_t i = 0; i < a.encodings.size(); ++i) check_same(a.encodings[i], b.encodings[i]);
  CHECK(a.block_size == b.block_size);
}

// Expected axis after reading: per-tensor stays -1, everything else comes back "from the model".
int axis_after_read(const TensorEncoding& te) {
  return te.axis == -1 && te.block_size == 0 ? -1 : kAxisFromModel;
}

void check_same(const EncodingsFile& a, const EncodingsFile& b) {
  for (auto [x, y] : {std::pair{&a.activation_encodings, &b.activation_encodings},
                      std::pair{&a.param_encodings, &b.param_encodings}}) {
    REQUIRE(x->size() == y->size());
    for (const auto& entry : *x) {
      const auto& [name, te] = entry;
      INFO("tensor ", entry.first);  // INFO's lambda cannot capture a structured binding (clang 14)
      REQUIRE(y->count(name) == 1);
      check_same(te, y->at(name));
      CHECK(y->at(name).axis == axis_after_read(te));
    }
  }
  CHECK(a.float_activation_encodings == b.float_activation_encodings);
  CHECK(a.float_param_encodings == b.float_param_encodings);
  CHECK(a.quantizer_args == b.quantizer_args);
  CHECK(a.excluded_layers == b.excluded_layers);
}

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "octet_test_encodings_json";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

EncodingsFile sample_file(bool with_blocks) {
  EncodingsFile f;
  f.activation_encodings["/conv1/Conv_output_0"] = per_tensor(aimet_example());
  f.activation_encodings["input"] = per_tensor(grid_encoding(16, false, 3.0517578125e-05, -32768));
  f.activation_encodings["relu_out"] = per_tensor(grid_encoding(8, false, 0.0123, 0));
  // Per-channel symmetric int8 (non-strict: -128), strict int8 (-127), int4.
  TensorEncoding pc;
  pc.axis = 0;
  for (double s : {0.001, 0.0042, 1.0 / 3.0}) pc.encodings.push_back(grid_encoding(8, true, s, -128));
  f.param_encodings["conv1.weight"] = pc;
  TensorEncoding strict;
  strict.axis = 1;
  for (double s : {0.5, 0.25}) strict.encodings.push_back(grid_encoding(8, true, s, -127));
  f.param_encodings["deconv.weight"] = strict;
  f.param_encodings["fc.weight"] = per_tensor(grid_encoding(4, true, 0.07, -8));
  f.param_encodings["fc.bias"] = per_tensor(grid_encoding(32, true, 1e-6, INT32_MIN));
  if (with_blocks) {
    TensorEncoding blk;
    blk.axis = 1;
    blk.block_size = 32;
    for (int i = 0; i < 6; ++i) blk.encodings.push_back(grid_encoding(4, true, 0.01 * (i + 1), -8));
    f.param_encodings["mm.weight"] = blk;
  }
  f.float_activation_encodings["softmax_out"] = 16;
  f.quantizer_args.activation_bitwidth = 8;
  f.quantizer_args.param_bitwidth = 8;
  f.quantizer_args.dtype = "int";
  f.quantizer_args.is_symmetric = true;
  f.quantizer_args.per_channel_quantization = true;
  f.quantizer_args.quant_scheme = "post_training_tf_enhanced";
  f.excluded_layers = {"/head/Softmax"};
  return f;
}

// Parses `text`, expecting an octet::Error whose message contains every part.
void expect_parse_error(const std::string& text, std::vector<std::string> parts) {
  try {
    parse_encodings_json(text, "bad.encodings");
    FAIL("expected an error for: ", text.substr(0, 200));
  } catch (const Error& e) {
    std::string m = e.what();
    INFO("message: ", m);
    CHECK(m.rfind("bad.encodings: ", 0) == 0);
    for (const auto& p : parts) CHECK(m.find(p) != std::string::npos);
  }
}

std::string legacy_file(const std::string& entry) {
  return R"({"version": "0.6.1", "activation_encodings": {"a": [)" + entry +
         R"(]}, "param_encodings": {}})";
}
const std::string kGoodEntry =
    R"({"bitwidth": 8, "dtype": "int", "is_symmetric": "False", "min": -1.0, "max": 1.0,)"
    R"( "scale": 0.00784313725490196, "offset": -128})";

std::string v1_file(const std::string& entry) {
  return R"({"version": "1.0.0", "activation_encodings": [], "param_encodings": [)" + entry + "]}";
}

}  // namespace

TEST_CASE("encodings json: 0.6.1 round trip is exact") {
  EncodingsFile f = sample_file(false);
  std::string text = write_encodings_json(f, EncodingsVersion::kV0_6_1);
  CHECK(text.find("\"version\": \"0.6.1\"") != std::string::npos);
  CHECK(text.find("\"is_symmetric\": \"True\"") != std::string::npos);
  EncodingsFile g = parse_encodings_json(text, "rt.encodings");
  CHECK(g.version == "0.6.1");
  check_same(f, g);

  std::string path = temp_path("rt_061.encodings");
  save_encodings(path, f);
  check_same(f, load_encodings(path));
  std::filesystem::remove(path);
}

TEST_CASE("encodings json: 1.0.0 round trip is exact, per-block included") {
  EncodingsFile f = sample_file(true);
  // 1.0.0 stores no min/max: the reader rebuilds them from the grid, so the example activation
  // (whose max is off the grid by float rounding) gets max = scale*(offset+255).
  Encoding& ex = f.activation_encodings["/conv1/Conv_output_0"].encodings[0];
  CHECK(std::fabs(ex.max - ex.scale * (ex.offset + 255)) < 1e-6);
  ex = grid_encoding(8, false, ex.scale, ex.offset);
  std::string text = write_encodings_json(f, EncodingsVersion::kV1_0_0);
  CHECK(text.find("\"enc_type\": \"PER_BLOCK\"") != std::string::npos);
  CHECK(text.find("\"block_size\": 32") != std::string::npos);
  CHECK(text.find("\"is_sym\": true") != std::string::npos);
  EncodingsFile g = parse_encodings_json(text, "rt.encodings");
  CHECK(g.version == "1.0.0");
  check_same(f, g);
  CHECK(g.param_encodings.at("mm.weight").block_size == 32);
  CHECK(g.param_encodings.at("mm.weight").axis == kAxisFromModel);
  CHECK(g.param_encodings.at("conv1.weight").axis == kAxisFromModel);
  CHECK(g.param_encodings.at("deconv.weight").encodings[0].strict_symmetric);
  CHECK_FALSE(g.param_encodings.at("conv1.weight").encodings[0].strict_symmetric);

  std::string path = temp_path("rt_100.encodings");
  save_encodings(path, f, EncodingsVersion::kV1_0_0);
  check_same(f, load_encodings(path));
  std::filesystem::remove(path);
}

TEST_CASE("encodings json: random scales round-trip bit-exactly in both versions") {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<double> exponent(-30.0, 10.0);
  std::uniform_int_distribution<int> off(-255, 0);
  EncodingsFile f;
  TensorEncoding te;
  te.axis = 0;
  for (int i = 0; i < 300; ++i) {
    double s = std::exp(exponent(rng));
    if (i % 2) s = static_cast<double>(static_cast<float>(s));  // float32 values as AIMET writes
    te.encodings.push_back(grid_encoding(8, false, s, off(rng)));
  }
  f.param_encodings["w"] = te;
  for (auto v : {EncodingsVersion::kV0_6_1, EncodingsVersion::kV1_0_0}) {
    EncodingsFile g = parse_encodings_json(write_encodings_json(f, v), "random");
    check_same(te, g.param_encodings.at("w"));
  }
}

TEST_CASE("encodings json: hand-written legacy file (the format's worked example)") {
  // 0.4.0 style: no version, no dtype, offset written as a float, bools as strings.
  const std::string text = R"({
    "activation_encodings": {
      "20": [{"bitwidth": 8, "is_symmetric": "False", "max": 2.6086959838867188,
              "min": -2.109158515930176, "offset": -114.0, "scale": 0.018501389771699905}]
    },
    "param_encodings": {
      "conv1.weight": [
        {"bitwidth": 8, "is_symmetric": "True", "max": 0.127, "min": -0.128,
         "offset": -128, "scale": 0.001},
        {"bitwidth": 8, "is_symmetric": "True", "max": 0.254, "min": -0.254,
         "offset": -127, "scale": 0.002}
      ],
      "fc.weight": [{"bitwidth": 16, "dtype": "float"}]
    }
  })";
  EncodingsFile f = parse_encodings_json(text, "hand.encodings");
  CHECK(f.version == "0.4.0");
  const TensorEncoding& a = f.activation_encodings.at("20");
  CHECK(a.axis == -1);
  REQUIRE(a.encodings.size() == 1);
  const Encoding& e = a.encodings[0];
  CHECK(e.bitwidth == 8);
  CHECK_FALSE(e.symmetric);
  CHECK_FALSE(e.strict_symmetric);
  CHECK(e.offset == -114);
  CHECK(e.min == -2.109158515930176);
  CHECK(e.max == 2.6086959838867188);
  CHECK(e.scale == doctest::Approx(0.0185014).epsilon(1e-6));
  CHECK(e.num_steps() == 255);

  const TensorEncoding& w = f.param_encodings.at("conv1.weight");
  CHECK(w.axis == kAxisFromModel);
  REQUIRE(w.encodings.size() == 2);
  CHECK(w.encodings[0].symmetric);
  CHECK_FALSE(w.encodings[0].strict_symmetric);
  CHECK(w.encodings[1].strict_symmetric);
  CHECK(w.encodings[1].num_steps() == 254);
  CHECK(f.float_param_encodings.at("fc.weight") == 16);
  CHECK(f.param_encodings.count("fc.weight") == 0);
  CHECK(f.quantizer_args.empty());
}

TEST_CASE("encodings json: hand-written 1.0.0 file") {
  const std::string text = R"({
    "version": "1.0.0",
    "activation_encodings": [
      {"name": "input", "enc_type": "PER_TENSOR", "dtype": "INT", "bw": 8, "is_sym": false,
       "scale": [0.0078125], "offset": [-128]},
      {"name": "logits", "enc_type": "PER_TENSOR", "dtype": "FLOAT", "bw": 16}
    ],
    "param_encodings": [
      {"name": "conv.weight", "enc_type": "PER_CHANNEL", "dtype": "INT", "bw": 8, "is_sym": true,
       "scale": [0.01, 0.02, 0.03], "offset": [-128, -128, -128]},
      {"name": "mm.weight", "enc_type": "PER_BLOCK", "dtype": "INT", "bw": 4, "is_sym": true,
       "scale": [0.1, 0.2, 0.3, 0.4], "offset": [-8, -8, -8, -8], "block_size": 64}
    ],
    "quantizer_args": {"activation_bitwidth": 8, "dtype": "int", "is_symmetric": "True",
                       "param_bitwidth": 4, "per_channel_quantization": "True",
                       "quant_scheme": "post_training_tf"},
    "excluded_layers": ["/Softmax"]
  })";
  EncodingsFile f = parse_encodings_json(text, "v1.encodings");
  CHECK(f.version == "1.0.0");
  const Encoding& in = f.activation_encodings.at("input").encodings.at(0);
  CHECK(in.scale == 0.0078125);
  CHECK(in.offset == -128);
  CHECK(in.min == -1.0);
  CHECK(in.max == 0.9921875);
  CHECK(f.float_activation_encodings.at("logits") == 16);
  const TensorEncoding& c = f.param_encodings.at("conv.weight");
  CHECK(c.axis == kAxisFromModel);
  CHECK(c.block_size == 0);
  CHECK(c.encodings.size() == 3);
  CHECK(c.encodings[2].scale == 0.03);
  const TensorEncoding& m = f.param_encodings.at("mm.weight");
  CHECK(m.block_size == 64);
  CHECK(m.encodings.size() == 4);
  CHECK(m.encodings[0].bitwidth == 4);
  CHECK(m.encodings[0].min == -0.8);
  CHECK(f.quantizer_args.param_bitwidth == 4);
  CHECK(f.quantizer_args.is_symmetric == true);
  CHECK(f.quantizer_args.quant_scheme == "post_training_tf");
  CHECK(f.excluded_layers == std::vector<std::string>{"/Softmax"});
}

TEST_CASE("encodings json: lenient spellings are accepted") {
  // JSON bools for is_symmetric in legacy, strings for is_sym in 1.0.0, min/max omitted.
  EncodingsFile f = parse_encodings_json(
      legacy_file(R"({"bitwidth": 8, "is_symmetric": true, "scale": 0.5, "offset": -128})"), "x");
  CHECK(f.activation_encodings.at("a").encodings[0].min == -64.0);
  CHECK(f.activation_encodings.at("a").encodings[0].max == 63.5);
  f = parse_encodings_json(
      v1_file(R"({"name": "w", "enc_type": "PER_TENSOR", "dtype": "INT", "bw": 8,)"
              R"( "is_sym": "True", "scale": [0.5], "offset": [-128]})"),
      "x");
  CHECK(f.param_encodings.at("w").encodings[0].symmetric);
  // int32 bias entries parse (the simulator rejects bitwidth > 16 where it is used).
  f = parse_encodings_json(
      legacy_file(R"({"bitwidth": 32, "is_symmetric": "True", "scale": 1e-6, "offset": -2147483648})"),
      "x");
  CHECK(f.activation_encodings.at("a").encodings[0].bitwidth == 32);
}

TEST_CASE("encodings json: bad files fail naming the file and the key path") {
  expect_parse_error(R"({"version": "0.6.1", "activation_encodings": {)", {"invalid JSON"});
  expect_parse_error(R"([1, 2])", {"expected a JSON object at the top level"});
  expect_parse_error(std::string(100000, '[') + std::string(100000, ']'), {"nested deeper"});
  expect_parse_error(R"({"version": "3.1.4"})", {"version: unsupported encodings version"});
  expect_parse_error(R"({"version": 6})", {"version: expected a string"});
  expect_parse_error(R"({"version": "2.0.0", "activation_encodings": []})",
                     {"version: a 2.0.0 file has one \"encodings\" list"});
  expect_parse_error(R"({"conv.weight": 3})", {"not an AIMET encodings file"});
  // Legacy entries.
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "scale": "0.1",)"
                                 R"( "offset": -3})"),
                     {R"(activation_encodings["a"][0].scale: expected a number)"});
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "scale": -0.1,)"
                                 R"( "offset": -3})"),
                     {R"(activation_encodings["a"][0].scale: scale must be a finite positive)"});
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "scale": 0.1,)"
                                 R"( "offset": -300})"),
                     {R"(activation_encodings["a"][0].offset: offset -300 is outside [-255, 0])"});
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "scale": 0.1,)"
                                 R"( "offset": 3})"),
                     {R"(activation_encodings["a"][0].offset: offset 3 is positive)"});
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "scale": 0.1,)"
                                 R"( "offset": -114.5})"),
                     {R"(activation_encodings["a"][0].offset: expected an integer)"});
  expect_parse_error(legacy_file(R"({"bitwidth": 40, "is_symmetric": "False", "scale": 0.1,)"
                                 R"( "offset": -3})"),
                     {R"(activation_encodings["a"][0].bitwidth: bitwidth 40 is outside [2, 32])"});
  // Found by fuzz_encodings: a non-negative JSON integer below the bound (nlohmann reads 0 and 1
  // as unsigned) was accepted and reached a shift by bitwidth - 1.
  for (const char* bw : {"0", "1"})
    expect_parse_error(legacy_file(std::string(R"({"bitwidth": )") + bw +
                                   R"(, "is_symmetric": "True", "scale": 0.1, "offset": -0})"),
                       {std::string(R"(activation_encodings["a"][0].bitwidth: bitwidth )") + bw +
                        " is outside [2, 32]"});
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "yes", "scale": 0.1,)"
                                 R"( "offset": -3})"),
                     {R"(activation_encodings["a"][0].is_symmetric: expected "True"/"False")"});
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "offset": -3})"),
                     {R"(activation_encodings["a"][0]: missing key "scale")"});
  expect_parse_error(legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "scale": 0.1,)"
                                 R"( "offset": -3, "min": 5.0, "max": -25.2})"),
                     {R"(activation_encodings["a"][0]: min is larger than max)"});
  expect_parse_error(legacy_file(R"({"bitwidth": 32, "is_symmetric": "False", "scale": 0.1,)"
                                 R"( "offset": -3000000000})"),
                     {R"(activation_encodings["a"][0].offset: offset -3000000000 is outside)"});
  expect_parse_error(legacy_file(kGoodEntry + R"(, {"bitwidth": 4, "is_symmetric": "False",)"
                                              R"( "scale": 0.1, "offset": -3})"),
                     {R"(activation_encodings["a"][1]: bitwidth 4 differs)"});
  expect_parse_error(legacy_file(""), {R"(activation_encodings["a"]: empty list)"});
  expect_parse_error(R"({"version": "0.6.1", "activation_encodings": []})",
                     {"activation_encodings: expected an object keyed by tensor name"});
  expect_parse_error(R"({"version": "0.6.1", "quantizer_args": {"param_bitwidth": "8"}})",
                     {"quantizer_args.param_bitwidth: expected an integer"});
  expect_parse_error(R"({"version": "0.6.1", "excluded_layers": [3]})",
                     {"excluded_layers[0]: expected a string"});
  // 1.0.0 entries.
  expect_parse_error(R"({"version": "1.0.0", "param_encodings": {}})",
                     {"param_encodings: expected a list of named encodings"});
  const std::string head = R"({"name": "w", "enc_type": "PER_CHANNEL", "dtype": "INT", "bw": 8,)"
                           R"( "is_sym": true, )";
  expect_parse_error(v1_file(head + R"("scale": [0.1, "x"], "offset": [-128, -128]})"),
                     {R"(param_encodings[0] ("w").scale[1]: expected a number)"});
  expect_parse_error(v1_file(head + R"("scale": [0.1, 0.2], "offset": [-128]})"),
                     {R"(param_encodings[0] ("w").offset: has 1 entries but scale has 2)"});
  expect_parse_error(v1_file(head + R"("scale": [0.1], "offset": [-256]})"),
                     {R"(param_encodings[0] ("w").offset[0]: offset -256 is outside)"});
  expect_parse_error(v1_file(head + R"("scale": [0.0], "offset": [-128]})"),
                     {R"(param_encodings[0] ("w").scale[0]: scale must be)"});
  expect_parse_error(v1_file(R"({"name": "w", "enc_type": "PER_TENSOR", "dtype": "INT", "bw": 8,)"
                             R"( "is_sym": true, "scale": [0.1, 0.2], "offset": [-128, -128]})"),
                     {R"(param_encodings[0] ("w").scale: PER_TENSOR needs exactly 1 entry)"});
  expect_parse_error(v1_file(R"({"name": "w", "enc_type": "PER_BLOCK", "dtype": "INT", "bw": 4,)"
                             R"( "is_sym": true, "scale": [0.1], "offset": [-8]})"),
                     {R"(param_encodings[0] ("w"): missing key "block_size")"});
  expect_parse_error(v1_file(R"({"name": "w", "enc_type": "LPBQ", "dtype": "INT", "bw": 8,)"
                             R"( "is_sym": true, "scale": [0.1], "offset": [-128]})"),
                     {R"(param_encodings[0] ("w"): missing key "compressed_bw")"});
  expect_parse_error(v1_file(R"({"name": "w", "enc_type": "VECTOR", "dtype": "INT", "bw": 8})"),
                     {R"(param_encodings[0] ("w").enc_type: enc_type VECTOR is not supported)"});
  expect_parse_error(v1_file(head + R"("scale": [0.1], "offset": [-128]}, )" + head +
                             R"("scale": [0.1], "offset": [-128]})"),
                     {R"(param_encodings[1] ("w"): duplicate name)"});
  expect_parse_error(v1_file(R"({"enc_type": "PER_TENSOR"})"),
                     {R"(param_encodings[0]: missing key "name")"});
  expect_parse_error(v1_file(head + R"("scale": [0.1], "offset": [-128], "is_sym": 1})"),
                     {R"(param_encodings[0] ("w").is_sym: expected)"});
}

TEST_CASE("encodings json: min/max off the grid load with a warning; scale/offset are used") {
  EncodingsFile f = parse_encodings_json(
      legacy_file(R"({"bitwidth": 8, "is_symmetric": "False", "scale": 0.1,)"
                  R"( "offset": -3, "min": -5.0, "max": 25.2})"),
      "off.encodings");
  const Encoding& e = f.activation_encodings.at("a").encodings[0];
  CHECK(e.min == doctest::Approx(-0.3));
  CHECK(e.max == doctest::Approx(25.2));
  REQUIRE(f.warnings.size() == 1);
  CHECK(f.warnings[0].find(R"(off.encodings: activation_encodings["a"][0]: min -5 disagrees)") == 0);
  CHECK(f.warnings[0].find("steps); scale/offset are used") != std::string::npos);
}

TEST_CASE("encodings json: 2.0.0 round trip and AIMET's zero-point convention") {
  EncodingsFile f;
  f.activation_encodings["act"] = TensorEncoding{{grid_encoding(8, false, 0.02, -41)}, -1, 0};
  TensorEncoding pc;
  pc.axis = 0;
  for (double s : {0.5, 0.25}) pc.encodings.push_back(grid_encoding(8, true, s, -128));
  f.param_encodings["w"] = pc;
  TensorEncoding strict;
  strict.axis = 1;
  for (double s : {0.5, 0.25}) strict.encodings.push_back(grid_encoding(8, true, s, -127));
  f.param_encodings["s"] = strict;
  TensorEncoding blk;
  blk.axis = 1;
  blk.block_size = 32;
  for (int i = 0; i < 4; ++i) blk.encodings.push_back(grid_encoding(4, true, 0.01 * (i + 1), -8));
  f.param_encodings["b"] = blk;
  CHECK_THROWS_WITH_AS(write_encodings_json(f, EncodingsVersion::kV2_0_0),
                       doctest::Contains("need the tensor's shape"), Error);
  f.shapes["b"] = {2, 64};
  const std::string text = write_encodings_json(f, EncodingsVersion::kV2_0_0);
  const nlohmann::json j = nlohmann::json::parse(text);
  CHECK(j["version"] == "2.0.0");
  REQUIRE(j["encodings"].size() == 4);
  CHECK(j["encodings"][0]["output_dtype"] == "uint8");
  CHECK(j["encodings"][0]["y_zero_point"] == 41);
  CHECK(j["encodings"][0]["y_scale"] == 0.02);
  const nlohmann::json& b = j["encodings"][1];  // params after activations, by name
  CHECK(b["output_dtype"] == "int4");
  CHECK(b["y_scale"] == nlohmann::json::parse("[[0.01, 0.02], [0.03, 0.04]]"));
  CHECK_FALSE(b.contains("y_zero_point"));
  CHECK(j["encodings"][2]["y_zero_point"] == nlohmann::json::parse("[-1, -1]"));  // strict int8
  const EncodingsFile g = parse_encodings_json(text, "v2.encodings");
  CHECK(g.version == "2.0.0");
  // 2.x has one list: every entry reads as an activation; the importer asks the model.
  CHECK(g.activation_encodings.size() == 4);
  for (const auto& [name, te] : f.param_encodings) {
    const TensorEncoding& r = g.activation_encodings.at(name);
    CHECK(r.axis == te.axis);
    CHECK(r.block_size == te.block_size);
    REQUIRE(r.encodings.size() == te.encodings.size());
    for (size_t i = 0; i < r.encodings.size(); ++i) {
      CHECK(r.encodings[i].scale == te.encodings[i].scale);
      CHECK(r.encodings[i].offset == te.encodings[i].offset);
      CHECK(r.encodings[i].strict_symmetric == te.encodings[i].strict_symmetric);
    }
  }
  expect_parse_error(R"({"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int8",)"
                     R"( "y_scale": [0.1, 0.2]}]})",
                     {R"(encodings[0] ("x"): y_scale has 2 values but no "axis")"});
  expect_parse_error(R"({"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "uint8",)"
                     R"( "y_scale": 0.1, "y_zero_point": 300}]})",
                     {R"(encodings[0] ("x").y_zero_point: zero point 300 is outside uint8)"});
  // Found by fuzz_encodings: a zero point beyond int64 was converted to an integer unchecked.
  expect_parse_error(R"({"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int8",)"
                     R"( "y_scale": 0.1, "y_zero_point": 5888888888888888888888888888888}]})",
                     {R"(encodings[0] ("x").y_zero_point: zero point 5.88)",
                      "is outside every integer type an encoding can name"});
  expect_parse_error(R"({"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int8",)"
                     R"( "y_scale": [[0.1], [0.2, 0.3]], "axis": 0, "block_size": 2}]})",
                     {R"(encodings[0] ("x").y_scale[1]: not a rectangular nested list)"});
  expect_parse_error(R"({"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int8",)"
                     R"( "y_scale": {"x": [1], "x_scale": 0.1}}]})",
                     {R"(encodings[0] ("x").y_scale: a meta encoding (object) needs version 2.1.0)"});
}

TEST_CASE("encodings json: load and save errors name the file") {
  std::string missing = temp_path("does_not_exist.encodings");
  try {
    load_encodings(missing);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
  }
  std::string bad = temp_path("truncated.encodings");
  { std::ofstream(bad) << R"({"version": "1.0.0", "param_encodings": [{"name": )"; }
  try {
    load_encodings(bad);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).rfind(bad + ": invalid JSON", 0) == 0);
  }
  std::filesystem::remove(bad);

  // Per-block encodings cannot be written as 0.6.1.
  EncodingsFile f = sample_file(true);
  std::string out = temp_path("blocks.encodings");
  try {
    save_encodings(out, f, EncodingsVersion::kV0_6_1);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string m = e.what();
    INFO(m);
    CHECK(m.rfind(out + ": param_encodings[\"mm.weight\"]: per-block", 0) == 0);
    CHECK(m.find("1.0.0") != std::string::npos);
  }
  CHECK_THROWS_AS(write_encodings_json(f, EncodingsVersion::kV0_6_1), Error);

  // Invalid encodings are refused on write too.
  EncodingsFile g;
  Encoding e = grid_encoding(8, false, 0.1, -3);
  e.scale = -1.0;
  g.activation_encodings["x"] = per_tensor(e);
  CHECK_THROWS_WITH_AS(write_encodings_json(g), doctest::Contains("activation_encodings[\"x\"][0]: scale"),
                       Error);
  e = grid_encoding(8, true, 0.1, -128);
  e.strict_symmetric = true;
  g.activation_encodings["x"] = per_tensor(e);
  CHECK_THROWS_AS(write_encodings_json(g), Error);
}

TEST_CASE("encodings json: a bitwidth 2.0.0 cannot name is refused by the writer, not written") {
  // Found by fuzz_encodings: a 15-bit encoding was written as "uint15", which no 2.0.0 reader
  // (octet's included) accepts.
  EncodingsFile f;
  f.param_encodings["w"] = TensorEncoding{{grid_encoding(15, false, 0.001, 0)}, -1, 0};
  CHECK_THROWS_WITH_AS(write_encodings_json(f, EncodingsVersion::kV2_0_0),
                       doctest::Contains("encodings[\"w\"]: bitwidth 15 has no output_dtype"), Error);
  const EncodingsFile back =
      parse_encodings_json(write_encodings_json(f, EncodingsVersion::kV1_0_0), "w.encodings");
  CHECK(back.param_encodings.at("w").encodings[0].bitwidth == 15);
}

TEST_CASE("encodings json: a name in both legacy sections is refused by the 2.0.0 writer") {
  // Found by fuzz_encodings: a legacy file may give one name an activation and a parameter
  // encoding; 2.0.0's single list then held the name twice, which its reader refuses.
  EncodingsFile f;
  f.activation_encodings["t"] = TensorEncoding{{grid_encoding(8, false, 0.01, -3)}, -1, 0};
  f.param_encodings["t"] = TensorEncoding{{grid_encoding(8, true, 0.02, -128)}, -1, 0};
  CHECK_THROWS_WITH_AS(write_encodings_json(f, EncodingsVersion::kV2_0_0),
                       doctest::Contains("both an activation and a parameter encoding"), Error);
  const EncodingsFile back =
      parse_encodings_json(write_encodings_json(f, EncodingsVersion::kV0_6_1), "t.encodings");
  CHECK(back.activation_encodings.count("t") == 1);
  CHECK(back.param_encodings.count("t") == 1);
}
