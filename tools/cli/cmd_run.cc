// octet run MODEL --input NAME=FILE.npy ... [--shape ...] [--threads N] [-o DIR] [--mode float]
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "base/error.h"
#include "loaders/model_loader.h"
#include "loaders/npy.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const char* const kRunUsage =
    "usage: octet run MODEL --input NAME=FILE.npy ... [--shape NAME=d0,...] [--threads N]\n"
    "                 [-o DIR] [--mode float|qdq|exact|int] [--target PROFILE]\n"
    "                 [--encodings FILE [--allow-partial-encodings]]\n"
    "\n"
    "Runs a model (.onnx or .octet) once on inputs read from NumPy .npy files, prints a\n"
    "summary of every output and, with -o, writes DIR/<output name>.npy.\n"
    "\n"
    "options:\n"
    "  -i, --input NAME=FILE.npy  the value of input NAME; repeatable. With a model of one\n"
    "                           input, '--input FILE.npy' is enough. Input shapes are taken\n"
    "                           from the files; numeric dtypes are converted to the model's.\n"
    "  --shape NAME=d0,d1,...   fix the shape of input NAME; repeatable\n"
    "  -o, --output DIR         write each output to DIR/<output name>.npy (DIR is created)\n"
    "  -t, --threads N          threads (default 1; 0 = all cores)\n"
    OCTET_CLI_MODE_HELP
    OCTET_CLI_ENCODINGS_HELP
    "  -h, --help               show this help\n";

namespace {

struct InputFile {
  std::string name, file;
};

std::vector<InputFile> parse_inputs(const Graph& g, const std::vector<std::string>& specs) {
  std::vector<std::string> names;
  for (TensorId id : g.inputs)
    if (!g.tensor(id).is_constant()) names.push_back(g.tensor(id).name);
  std::vector<InputFile> out;
  for (const std::string& s : specs) {
    size_t eq = s.find('=');
    const bool named = eq != std::string::npos &&
                       std::find(names.begin(), names.end(), s.substr(0, eq)) != names.end();
    if (named) {
      out.push_back({s.substr(0, eq), s.substr(eq + 1)});
    } else if (names.size() == 1 && (eq == std::string::npos || std::filesystem::exists(s))) {
      out.push_back({names[0], s});
    } else {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      if (eq != std::string::npos)
        throw UsageError("--input " + s + ": '" + s.substr(0, eq) +
                         "' is not an input of the model (inputs: " + list + ")");
      throw UsageError("--input " + s + ": write NAME=FILE.npy (inputs: " + list + ")");
    }
  }
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (out[i].name == out[j].name) throw UsageError("input '" + out[i].name + "' given twice");
  for (const std::string& n : names) {
    bool given = std::any_of(out.begin(), out.end(), [&](const InputFile& f) { return f.name == n; });
    if (!given) throw UsageError("missing --input " + n + "=FILE.npy");
  }
  return out;
}

void print_summary(const HostTensor& t) {
  std::cout << "  " << t.name << "  " << dtype_name(t.dtype) << " " << dims_to_string(t.dims);
  const int64_t n = t.numel();
  if (n > 0 && dtype_size(t.dtype) > 0 && t.dtype != DType::kF16) {
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    int64_t nan = 0;
    for (int64_t i = 0; i < n; ++i) {
      double v = element_as_double(t, i);
      if (std::isnan(v)) {
        ++nan;
        continue;
      }
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
    if (nan < n) std::cout << "  min " << lo << " max " << hi << " mean " << sum / double(n - nan);
    if (nan) std::cout << "  (" << nan << " NaN)";
    std::cout << "\n    values:";
    for (int64_t i = 0; i < std::min<int64_t>(n, 8); ++i) std::cout << " " << element_as_double(t, i);
    if (n > 8) std::cout << " ...";
  }
  std::cout << "\n";
}

}  // namespace

int cmd_run(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv,
                          {{"--input", "-i", true, true}, kShapeOpt, kThreadsOpt, kModeOpt, kTargetOpt,
                           {"--output", "-o", true, false}, kEncodingsOpt, kAllowPartialOpt},
                          1, 1);
  if (args.help()) {
    std::cout << kRunUsage;
    return 0;
  }
  const int threads = args.get_int("--threads", 1, 0, 1024);
  auto shapes = parse_shapes(args.all("--shape"));
  const std::string path = args.positional()[0];
  if (args.has("--output") && args.get("--output").empty()) throw UsageError("-o needs a folder");

  std::shared_ptr<Graph> model = load_model(path);
  const ExecutionMode mode = mode_option(args, *model);
  std::shared_ptr<Graph> graph = apply_encodings_option(args, mode, std::move(model));
  check_shape_names(*graph, shapes);
  std::vector<InputFile> files = parse_inputs(*graph, args.all("--input"));

  std::vector<HostTensor> inputs;
  for (const InputFile& f : files) {
    HostTensor t = load_npy(f.file);
    t.name = f.name;
    const TensorInfo& info = graph->tensor(graph->require_tensor(f.name));
    if (t.dtype != info.dtype) {
      std::cerr << "octet run: note: input '" << f.name << "' converted from "
                << dtype_name(t.dtype) << " to " << dtype_name(info.dtype) << "\n";
      t = convert_dtype(t, info.dtype);
    }
    auto given = shapes.find(f.name);
    if (given != shapes.end() && given->second != t.dims)
      fail("input '", f.name, "': --shape says ", dims_to_string(given->second), " but ", f.file,
           " holds ", dims_to_string(t.dims));
    shapes[f.name] = t.dims;
    inputs.push_back(std::move(t));
  }

  SessionOptions opt;
  opt.mode = mode;
  opt.target = args.get("--target", "onnxruntime");
  opt.threads = threads;
  opt.input_shapes = shapes;
  Session session(graph, opt);
  std::vector<HostTensor> outputs = session.run(inputs);

  std::string dir = args.get("--output");
  // Every output's file, checked before any is written: none over an input, none over another
  // (names a/b and a_b map to one file name).
  std::vector<NamedPath> written;
  if (!dir.empty()) {
    std::vector<NamedPath> read{{"MODEL", path}};
    for (const InputFile& f : files) read.push_back({"--input", f.file});
    if (args.has("--encodings")) read.push_back({"--encodings", args.get("--encodings")});
    for (const HostTensor& out : outputs)
      written.push_back({"-o (output '" + out.name + "')",
                         (std::filesystem::path(dir) / (safe_file_name(out.name) + ".npy")).string()});
    check_output_paths(read, written);
    std::filesystem::create_directories(dir);
  }
  std::cout << "outputs:\n";
  for (size_t k = 0; k < outputs.size(); ++k) {
    print_summary(outputs[k]);
    if (!dir.empty()) {
      save_npy(written[k].path, outputs[k]);
      std::cout << "    -> " << written[k].path << "\n";
    }
  }
  return 0;
}

}  // namespace octet::cli
