// The writers' round trip (tests/fuzz/write_read.h, the fuzz_write_read target's check) over
// the committed fuzz corpus of ONNX models and the project's own models.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/fuzz/fuzz_inputs.h"
#include "tests/fuzz/write_read.h"
#include "tests/support/test_paths.h"

using namespace octet;
namespace fs = std::filesystem;

TEST_CASE("writers: .octet, ONNX and encodings written, read and written again give the same bytes") {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(test::data_dir() + "/../fuzz/corpus/onnx")) files.push_back(e.path());
  for (const auto& e : fs::directory_iterator(test::data_dir()))
    if (e.path().extension() == ".onnx") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() > 100);
  int loaded = 0, calibrated = 0;
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    std::shared_ptr<Graph> model;
    quant::SampleBatch batch;
    try {
      model = load_onnx_bytes(bytes.data(), bytes.size(), f.string(), f.parent_path().string());
      SessionOptions options;
      if (!fuzz::make_inputs(*model, options, batch.inputs)) batch.inputs.clear();
    } catch (const Error&) {
      continue;
    }
    loaded++;
    calibrated += !batch.inputs.empty();
    CAPTURE(f.string());
    CHECK(fuzz::check_write_read(model, batch) == "");
  }
  MESSAGE(loaded << " of " << files.size() << " models loaded, " << calibrated << " with inputs to calibrate");
  CHECK(loaded > 50);
}
