// octet convert MODEL.(onnx|octet) -o OUT.(octet|onnx) [--shape NAME=d0,d1,...] [--external-data]
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>

#include "base/error.h"
#include "engine/prepare_graph.h"
#include "loaders/model_loader.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_writer.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kConvertUsage =
    "usage: octet convert MODEL -o OUTPUT [--shape NAME=d0,d1,...] [--external-data]\n"
    "\n"
    "Converts a model (.onnx or .octet) to the .octet format, or to ONNX when OUTPUT ends\n"
    "in .onnx (e.g. octet convert model.octet -o model.onnx). Tensor names, node names,\n"
    "attributes and weights are kept exactly.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE        the file to write (required): FILE.onnx writes ONNX, any\n"
    "                           other name the .octet format\n"
    "  --shape NAME=d0,d1,...   fix the shape of input NAME (symbolic dims such as the\n"
    "                           batch size become these values); repeatable\n"
    "  --external-data          ONNX output only: write constants of 1 KiB and more to\n"
    "                           FILE.onnx.data next to the model (done anyway when the\n"
    "                           model exceeds protobuf's 2 GB limit)\n"
    "  -h, --help               show this help\n";

namespace {

bool ends_with_onnx(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".onnx";
}

}  // namespace

int cmd_convert(const std::vector<std::string>& argv) {
  Args args = Args::parse(
      argv, {{"--output", "-o", true, false}, kShapeOpt, {"--external-data", "", false, false}}, 1,
      1);
  if (args.help()) {
    std::cout << kConvertUsage;
    return 0;
  }
  if (!args.has("--output")) throw UsageError("missing -o OUTPUT");
  const std::string in = args.positional()[0];
  const std::string out = args.get("--output");
  check_output_paths({{"MODEL", in}}, {{"-o", out}});
  if (out.empty()) throw UsageError("-o needs a file name");
  const bool to_onnx = ends_with_onnx(out);
  if (args.has("--external-data") && !to_onnx)
    throw UsageError("--external-data applies to ONNX output (-o FILE.onnx) only");
  auto shapes = parse_shapes(args.all("--shape"));

  std::shared_ptr<Graph> graph = load_model(in);
  check_shape_names(*graph, shapes);
  if (!shapes.empty()) bind_input_shapes(*graph, ShapeBinding{shapes});
  if (to_onnx) {
    OnnxWriteOptions options;
    if (args.has("--external-data")) options.external_data = OnnxExternalData::kAlways;
    save_onnx(*graph, out, options);
  } else {
    try {
      check_ops_supported(*graph, in);
    } catch (const Error& e) {
      std::cerr << "octet convert: warning: " << e.what()
                << "\n(the model is converted anyway; it cannot run until these ops exist)\n";
    }
    save_octet(*graph, out);
  }
  std::cout << "wrote " << out << " (" << graph->nodes.size() << " nodes, "
            << graph->tensors.size() << " tensors)\n";
  return 0;
}

}  // namespace octet::cli
