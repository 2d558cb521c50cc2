// Small helpers shared by the subcommands.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "base/error.h"
#include "loaders/npy.h"
#include "engine/passes/qdq_annotate.h"
#include "quant/data_stream.h"
#include "tools/cli/cli.h"
#include "quant/encodings_io.h"
#include "quant/quantsim.h"

namespace octet::cli {

std::string format_bytes(size_t bytes) {
  char buf[64];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%zu B", bytes);
  } else {
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes) / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
      v /= 1024.0;
      ++u;
    }
    std::snprintf(buf, sizeof buf, "%.1f %s (%zu B)", v, units[u], bytes);
  }
  return buf;
}

std::string format_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream in(line.substr(6));
      size_t kb = 0;
      if (in >> kb) return kb * 1024;
    }
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) return static_cast<size_t>(usage.ru_maxrss) * 1024;
  return 0;
}

std::vector<std::string> open_inputs(const Graph& graph,
                                     const std::map<std::string, Dims>& shapes) {
  std::vector<std::string> open;
  for (TensorId id : graph.inputs) {
    const TensorInfo& t = graph.tensor(id);
    if (t.is_constant() || shapes.count(t.name)) continue;
    if (!t.shape.has_rank || !t.shape.is_concrete()) open.push_back(t.name);
  }
  return open;
}

void check_shape_names(const Graph& graph, const std::map<std::string, Dims>& shapes) {
  for (const auto& [name, dims] : shapes) {
    auto id = graph.find_tensor(name);
    if (id && graph.is_graph_input(*id)) continue;
    std::string names;
    for (TensorId in : graph.inputs) names += (names.empty() ? "" : ", ") + graph.tensor(in).name;
    throw UsageError("--shape names '" + name + "', which is not an input of the model (inputs: " +
                     (names.empty() ? std::string("none") : names) + ")");
  }
}

namespace {
std::filesystem::path resolved(const std::string& p) {
  std::error_code ec;
  std::filesystem::path r = std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  return ec ? std::filesystem::absolute(p) : r;
}
bool inside(const std::filesystem::path& p, const std::filesystem::path& folder) {
  auto f = folder.begin(), q = p.begin();
  for (; f != folder.end() && q != p.end(); ++f, ++q)
    if (*f != *q) return false;
  return f == folder.end();
}
}  // namespace

std::vector<NamedPath> data_paths(const std::string& option, const std::vector<std::string>& specs) {
  std::vector<NamedPath> out;
  for (const std::string& s : specs) {
    std::error_code ec;
    const size_t eq = s.find('=');
    out.push_back({option, std::filesystem::exists(s, ec) || eq == std::string::npos ? s : s.substr(eq + 1)});
  }
  return out;
}

void check_output_paths(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  std::vector<std::pair<const NamedPath*, std::filesystem::path>> seen;
  for (const NamedPath& in : inputs)
    if (!in.path.empty()) seen.push_back({&in, resolved(in.path)});
  const size_t input_count = seen.size();
  for (const NamedPath& out : outputs) {
    if (out.path.empty()) continue;
    const std::filesystem::path r = resolved(out.path);
    for (size_t i = 0; i < seen.size(); ++i) {
      const bool is_input = i < input_count;
      std::error_code ec;
      const bool same = r == seen[i].second ||
                        (is_input && std::filesystem::is_directory(seen[i].second, ec) && inside(r, seen[i].second));
      if (same)
        throw UsageError(out.option + " " + out.path + " names " + (is_input ? "an input" : "another output") +
                         " of this command (" + seen[i].first->option + " " + seen[i].first->path +
                         "): it would be overwritten");
    }
    seen.push_back({&out, r});
  }
}

double run_metric_command(const std::string& command, const EvalResult& r) {
  OCTET_CHECK(command.find("{outputs}") != std::string::npos, "--metric-cmd '", command,
              "' has no {outputs}: it would never see the outputs");
  namespace fs = std::filesystem;
  static int calls = 0;
  const fs::path dir = fs::temp_directory_path() /
                       ("octet_metric_" + std::to_string(::getpid()) + "_" + std::to_string(++calls));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{dir};
  for (const EvalResult::KeptOutput& o : r.outputs) {
    Dims dims{r.samples};
    dims.insert(dims.end(), o.sample_dims.begin(), o.sample_dims.end());
    save_npy((dir / (safe_file_name(o.name) + ".npy")).string(), HostTensor::from<float>(o.name, dims, o.values));
  }
  std::string cmd = command;
  const std::string quoted = "'" + dir.string() + "'";  // a temp path: no quotes inside
  for (size_t at; (at = cmd.find("{outputs}")) != std::string::npos;) cmd.replace(at, 9, quoted);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  OCTET_CHECK(pipe, "--metric-cmd: cannot run '", command, "'");
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) {
    text.append(buf, n);
    if (text.size() > (1 << 20)) text.erase(0, text.size() - (1 << 16));  // the last lines matter
  }
  const int status = ::pclose(pipe);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  const std::string last = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  OCTET_CHECK(status == 0, "--metric-cmd '", command, "' failed (status ", status, "); its last line: ", last);
  char* end = nullptr;
  const double v = std::strtod(last.c_str(), &end);
  OCTET_CHECK(!last.empty() && end && *end == '\0' && std::isfinite(v), "--metric-cmd '", command,
              "': its last line must be a number, it is '", last.substr(0, 200), "'");
  return v;
}

quant::IntegerModelShapes integer_model_shapes(const Args& args, const Graph& model,
                                               const std::vector<std::string>& data) {
  quant::IntegerModelShapes shapes;
  shapes.batch = args.get_int("--model-batch", 1, 1, 1 << 20);
  shapes.inputs = parse_shapes(args.all("--shape"));
  check_shape_names(model, shapes.inputs);
  if (open_inputs(model, shapes.inputs).empty()) return shapes;
  quant::SampleStream stream(data, model);
  quant::SampleBatch first;
  OCTET_CHECK(stream.next(first), "no calibration samples to take the input shapes from");
  for (const auto& [name, dims] : quant::input_shapes_from_samples(model, first, shapes.batch)) {
    if (shapes.inputs.count(name)) continue;
    const TensorInfo& t = model.tensor(model.require_tensor(name));
    if (t.shape.has_rank && t.shape.is_concrete()) continue;
    shapes.inputs[name] = dims;
    std::printf("integer model input '%s' %s: %s (symbolic dimensions from the calibration data, the batch "
                "from --model-batch; --shape %s=... to choose)\n",
                name.c_str(), t.shape.to_string().c_str(), dims_to_string(dims).c_str(), name.c_str());
  }
  return shapes;
}

bool inputs_concrete(const Graph& graph, const std::map<std::string, Dims>& shapes) {
  return open_inputs(graph, shapes).empty();
}

HostTensor random_tensor(const std::string& name, DType dtype, const Dims& dims, uint32_t seed) {
  HostTensor t;
  t.name = name;
  t.dtype = dtype;
  t.dims = dims;
  const int64_t n = checked_numel(dims);
  t.bytes.assign(dtype_storage_bytes(dtype, n), std::byte{0});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  if (dtype == DType::kF32) {
    for (float& v : t.values<float>()) v = dist(rng);
  } else if (dtype == DType::kF64) {
    for (double& v : t.values<double>()) v = dist(rng);
  }
  return t;
}

std::string safe_file_name(const std::string& tensor_name) {
  std::string out;
  for (char c : tensor_name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "output" + out;
  if (out.size() > 200) out.resize(200);
  return out;
}

std::string find_data_dir() {
  namespace fs = std::filesystem;
  auto usable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p / "mnist_mobilenet.onnx", ec);
  };
  if (const char* env = std::getenv("OCTET_DATA_DIR"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = exe.parent_path();
    for (int up = 0; up < 4 && !dir.empty(); ++up) {
      if (usable(dir / "tests" / "data")) return (dir / "tests" / "data").string();
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  if (usable(fs::path("tests") / "data")) return (fs::path("tests") / "data").string();
  return {};
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::function<void(int64_t, int64_t)> eval_progress() {
  if (!stderr_is_terminal()) return nullptr;
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [last](int64_t done, int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    std::fprintf(stderr, "\reval: %lld/%lld samples (%d%%)", static_cast<long long>(done),
                 static_cast<long long>(total), static_cast<int>(100 * done / total));
    if (done >= total) std::fprintf(stderr, "\r%60s\r", "");
    std::fflush(stderr);
  };
}

quant::ImportReport import_encodings_file(quant::QuantSim& sim, const std::string& encodings_path,
                                          bool allow_partial) {
  quant::ImportOptions io;
  io.allow_partial = allow_partial;
  quant::ImportReport r =
      quant::import_encodings(sim, quant::load_encodings(encodings_path), encodings_path, io);
  for (const std::string& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!r.unmatched.empty()) {
    std::fprintf(stderr, "warning: %s: %zu name(s) not in the model, left out:\n",
                 encodings_path.c_str(), r.unmatched.size());
    for (size_t i = 0; i < r.unmatched.size() && i < 20; ++i)
      std::fprintf(stderr, "  '%s'\n", r.unmatched[i].c_str());
  }
  for (const std::string& n : r.notes)
    std::fprintf(stderr, "note: %s: %s\n", encodings_path.c_str(), n.c_str());
  return r;
}

std::shared_ptr<Graph> with_imported_encodings(std::shared_ptr<Graph> model,
                                               const std::string& encodings_path,
                                               bool allow_partial) {
  quant::QuantSim sim(model, quant::QuantsimConfig::load_shipped("default_config"));
  import_encodings_file(sim, encodings_path, allow_partial);
  return sim.annotated_model();
}

std::shared_ptr<Graph> apply_encodings_option(const Args& args, ExecutionMode mode,
                                              std::shared_ptr<Graph> model) {
  if (args.has("--allow-partial-encodings") && !args.has("--encodings"))
    throw UsageError("--allow-partial-encodings needs --encodings");
  if (args.has("--encodings")) {
    if (mode == ExecutionMode::kFloat) throw UsageError("--encodings needs --mode qdq, exact or int");
    model = with_imported_encodings(std::move(model), args.get("--encodings"),
                                    args.has("--allow-partial-encodings"));
  }
  // qdq on a model with nothing to quantize would run float and report it as quantized.
  const bool encodings = std::any_of(model->tensors.begin(), model->tensors.end(),
                                     [](const TensorInfo& t) { return !t.quant.empty(); });
  if (mode == ExecutionMode::kQdq && !encodings && !is_qdq_model(*model) && !is_integer_graph(*model))
    fail("--mode qdq needs a model with encodings (`octet quantize --calibrated-out`, --encodings FILE, "
         "or an ONNX QDQ model); this one has none");
  return model;
}

std::string config_file(const std::string& spec) {
  if (spec.find('/') == std::string::npos && spec.find(".json") == std::string::npos)
    return quant::shipped_config_path(spec).string();
  return spec;
}

quant::QuantsimConfig load_config(const std::string& spec) {
  return quant::QuantsimConfig::load(config_file(spec));
}

std::vector<OptionSpec> with_quantsim_options(std::vector<OptionSpec> specs) {
  for (OptionSpec o : std::vector<OptionSpec>{
           {"--config", "", true, false}, {"--param-bw", "", true, false},
           {"--act-bw", "", true, false}, {"--per-channel", "", false, false},
           {"--per-tensor", "", false, false}, {"--block-size", "", true, false},
           {"--scheme", "", true, false}, {"--percentile", "", true, false},
           {"--no-fold-bn", "", false, false}, {"--bits", "", true, true},
           {"--float", "", true, true}})
    specs.push_back(std::move(o));
  return specs;
}

void parse_quantsim_options(const Args& args, quant::QuantSimOptions& qo,
                            quant::CalibrationOptions& co) {
  co.batch_size = args.get_int("--batch", 32, 1, 1 << 20);
  co.threads = args.get_int("--threads", 1, 0, 1024);
  const bool tty = stderr_is_terminal();
  co.progress = [tty](int64_t done, int64_t total) {
    if (!tty) return;
    std::fprintf(stderr, "\rcalibrating: %lld/%lld samples", static_cast<long long>(done),
                 static_cast<long long>(total));
    if (done >= total) std::fprintf(stderr, "\n");
  };
  if (args.has("--per-channel") && args.has("--per-tensor"))
    throw UsageError("--per-channel and --per-tensor exclude each other");
  qo.param_bitwidth = args.get_int("--param-bw", 8, 2, 16);
  qo.act_bitwidth = args.get_int("--act-bw", 8, 2, 16);
  if (args.has("--per-channel")) qo.per_channel = true;
  if (args.has("--per-tensor")) qo.per_channel = false;
  qo.fold_batch_norms = !args.has("--no-fold-bn");
  qo.block_size = args.get_int("--block-size", 0, 0, 1 << 16);
  for (const std::string& spec : args.all("--bits")) {
    const size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--bits needs TENSOR=BITS, got '" + spec + "'");
    const std::string bits = spec.substr(eq + 1);
    if (bits.empty() || bits.find_first_not_of("0123456789") != std::string::npos || bits.size() > 2 ||
        std::stoi(bits) < 2 || std::stoi(bits) > 16)
      throw UsageError("--bits " + spec + ": BITS must be 2..16");
    qo.tensor_bitwidths[spec.substr(0, eq)] = std::stoi(bits);
  }
  for (const std::string& name : args.all("--float")) qo.float_tensors.insert(name);
  try {
    co.observer.scheme = quant::parse_range_scheme(args.get("--scheme", "tf-enhanced"));
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (args.has("--percentile")) {
    try {
      co.observer.percentile = std::stod(args.get("--percentile"));
    } catch (const std::exception&) {
      throw UsageError("--percentile needs a number");
    }
    if (!(co.observer.percentile >= 50 && co.observer.percentile <= 100))  // NaN fails too
      throw UsageError("--percentile must be in [50, 100], got " + args.get("--percentile"));
  }
}

}  // namespace octet::cli
