// octet convert MODEL.onnx -o MODEL.octet [--shape NAME=d0,d1,...]
#include <iostream>

#include "engine/error.h"
#include "engine/prepare_graph.h"
#include "loaders/model_loader.h"
#include "loaders/octet_format.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kConvertUsage =
    "usage: octet convert MODEL.onnx -o MODEL.octet [--shape NAME=d0,d1,...]\n"
    "\n"
    "Converts a model (.onnx, or .octet to rewrite it) to the .octet format.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE        the .octet file to write (required)\n"
    "  --shape NAME=d0,d1,...   fix the shape of input NAME (symbolic dims such as the\n"
    "                           batch size become these values); repeatable\n"
    "  -h, --help               show this help\n";

int cmd_convert(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {{"--output", "-o", true, false}, kShapeOpt}, 1, 1);
  if (args.help()) {
    std::cout << kConvertUsage;
    return 0;
  }
  if (!args.has("--output")) throw UsageError("missing -o OUTPUT.octet");
  const std::string in = args.positional()[0];
  const std::string out = args.get("--output");
  if (out.empty()) throw UsageError("-o needs a file name");
  auto shapes = parse_shapes(args.all("--shape"));

  std::shared_ptr<Graph> graph = load_model(in);
  check_shape_names(*graph, shapes);
  if (!shapes.empty()) bind_input_shapes(*graph, ShapeBinding{shapes});
  try {
    check_ops_supported(*graph, in);
  } catch (const Error& e) {
    std::cerr << "octet convert: warning: " << e.what()
              << "\n(the model is converted anyway; it cannot run until these ops exist)\n";
  }
  save_octet(*graph, out);
  std::cout << "wrote " << out << " (" << graph->nodes.size() << " nodes, "
            << graph->tensors.size() << " tensors)\n";
  return 0;
}

}  // namespace octet::cli
