// Shared pieces of the `octet` command line: argument parsing, the command table and
// small helpers. Every command is a thin layer over the library.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "engine/session.h"
#include "quant/encodings_io.h"
#include "quant/analyzer.h"
#include "quant/evaluate.h"
#include "quant/integer_model.h"

namespace octet::cli {

// Bad command line: reported with the command's usage, exit code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& m) : std::runtime_error(m) {}
};

struct OptionSpec {
  std::string name;        // "--shape"
  std::string alias;       // "-o", or empty
  bool takes_value = true;
  bool repeatable = false;
};

// Parsed arguments of one subcommand. Accepts "--opt value" and "--opt=value".
class Args {
 public:
  // Throws UsageError on unknown options, missing values, repeated single options and a
  // positional count outside [min_positional, max_positional]. `--help`/`-h` sets help()
  // and skips the positional count check.
  static Args parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs,
                    size_t min_positional, size_t max_positional);

  bool help() const { return help_; }
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
  // An integer option in [lo, hi]; UsageError otherwise.
  int get_int(const std::string& name, int fallback, int lo, int hi) const;

 private:
  bool help_ = false;
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
};

// "NAME=d0,d1,..." options -> input shapes. UsageError on bad syntax.
std::map<std::string, Dims> parse_shapes(const std::vector<std::string>& specs);
// "float", "qdq" (a model whose tensors carry encodings), "exact" or "int" (an integer model,
// or a model with encodings lowered for --target). UsageError otherwise.
ExecutionMode parse_mode(const std::string& mode);
// --mode of a command that runs `model`: by default float, or int for an integer model (which
// has no float form to run).
ExecutionMode mode_option(const Args& args, const Graph& model);

// The options every model-running command shares.
inline const OptionSpec kShapeOpt{"--shape", "", true, true};
inline const OptionSpec kThreadsOpt{"--threads", "-t", true, false};
inline const OptionSpec kModeOpt{"--mode", "", true, false};
inline const OptionSpec kTargetOpt{"--target", "", true, false};
inline const OptionSpec kEncodingsOpt{"--encodings", "", true, false};
inline const OptionSpec kAllowPartialOpt{"--allow-partial-encodings", "", false, false};
inline const OptionSpec kDataOpt{"--data", "", true, true};
#define OCTET_CLI_DATA_HELP                                                                  \
  "  --data FILE              the samples (axis 0): a .npy (one-input models), a .npz with one\n" \
  "                           array per input (keys = input names), or a folder of either\n"     \
  "                           (one batch per file); numeric data is converted for float inputs,\n" \
  "                           integer inputs take integer data as it is\n"                       \
  "  --data NAME=FILE         the samples of input NAME (a .npy or folder of them), repeated\n"  \
  "                           for every input\n"
#define OCTET_CLI_ENCODINGS_HELP                                                            \
  "  --encodings FILE         use the encodings of an AIMET encodings file (0.4.0 to 2.1.0,\n" \
  "                           or a flat AdaRound parameter file), keyed by the model's tensor\n" \
  "                           names (needs --mode qdq, exact or int)\n"                          \
  "  --allow-partial-encodings  apply a file some of whose names the model lacks (listed)\n"
#define OCTET_CLI_MODE_HELP                                                                 \
  "  --mode M                 float, qdq (fake quantization at every encoding), int (integer\n" \
  "                           kernels) or exact (bit-exact simulation of int); default float,\n" \
  "                           int for an integer model\n"                                        \
  "  --target PROFILE         the integer arithmetic for int/exact on a model with encodings:\n" \
  "                           onnxruntime (default), xnnpack, tflite, tflite-single-rounding\n"

struct Command {
  const char* name;
  const char* summary;
  const char* usage;  // full --help text
  int (*run)(const std::vector<std::string>& args);
};
const std::vector<Command>& commands();

int cmd_convert(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_demo(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_autoquant(const std::vector<std::string>& args);
int cmd_analyze(const std::vector<std::string>& args);

extern const char* const kConvertUsage;
extern const char* const kInfoUsage;
extern const char* const kRunUsage;
extern const char* const kBenchUsage;
extern const char* const kEvalUsage;
extern const char* const kDemoUsage;
extern const char* const kQuantizeUsage;
extern const char* const kAutoquantUsage;
extern const char* const kAnalyzeUsage;

// ---- helpers -------------------------------------------------------------------
std::string format_bytes(size_t bytes);
std::string format_count(int64_t n);  // 1234567 -> "1,234,567"
// Peak resident set size of this process (VmHWM, or getrusage), 0 if unknown.
size_t peak_rss_bytes();
// True when every graph input has a concrete shape once `shapes` are applied.
bool inputs_concrete(const Graph& graph, const std::map<std::string, Dims>& shapes);
// UsageError when a --shape names no input of the model.
void check_shape_names(const Graph& graph, const std::map<std::string, Dims>& shapes);
// Names of graph inputs whose shape still has unknown dims after `shapes`.
std::vector<std::string> open_inputs(const Graph& graph, const std::map<std::string, Dims>& shapes);
// The integer model's input shapes: --shape where given, the others' symbolic dimensions from
// the first calibration batch of `data` (axis 0 from --model-batch, default 1), each printed.
quant::IntegerModelShapes integer_model_shapes(const Args& args, const Graph& model,
                                               const std::vector<std::string>& data);
// The quantsim options quantize and analyze share (--config, --param-bw, --act-bw,
// --per-channel/--per-tensor, --block-size, --scheme, --percentile, --no-fold-bn, --bits,
// --float), added to `specs`; parse_quantsim_options reads all but --config, and the
// calibration's --batch and --threads (which the command lists itself) and progress.
std::vector<OptionSpec> with_quantsim_options(std::vector<OptionSpec> specs);
void parse_quantsim_options(const Args& args, quant::QuantSimOptions& qo,
                            quant::CalibrationOptions& co);
// The post-training options quantize and analyze share (--ptq STEPS, --adaround-iterations,
// --ptq-samples, --bc-with-activations), added to `specs`.
std::vector<OptionSpec> with_ptq_options(std::vector<OptionSpec> specs);
// The QuantSim calibrated on `data`: after the --ptq steps (each step's report printed) when
// given, else by one calibration. Usage errors for a PTQ option without the step it tunes.
std::unique_ptr<quant::QuantSim> calibrated_quantsim(const Args& args, std::shared_ptr<const Graph> model,
                                                     const quant::QuantsimConfig& config,
                                                     const quant::QuantSimOptions& qo,
                                                     const quant::CalibrationOptions& co,
                                                     const std::vector<std::string>& data);
// analyze's progress on stderr: sweep k of N, elapsed, an estimate of what is left (a line
// rewritten on a terminal, else a line per tenth).
std::function<void(const std::string&, size_t, size_t)> analysis_progress();
// --report-html FILE of quantize and autoquant: analyze()'s report of `sim` on `samples`
// (scored by `metric_command` when given, else as analyze scores), written as report.html.
void write_html_report(const std::string& path, quant::QuantSim& sim, const quant::SampleBatch& samples,
                       const HostTensor* labels, const std::string& metric_command,
                       const quant::AnalyzerOptions& options);
// --config: a shipped quantsim config by name (default_config, ...) or a JSON file.
quant::QuantsimConfig load_config(const std::string& spec);
// The file --config names (a shipped config's path for a name).
std::string config_file(const std::string& spec);
// A user's metric: writes every output kept in `r` (EvalOptions::keep_outputs) to a new
// folder as OUTPUT_NAME.npy (samples along axis 0), runs `command` through the shell with
// "{outputs}" replaced by that folder, and returns the number on the last line it prints.
// Errors name the command; the folder is removed afterwards.
double run_metric_command(const std::string& command, const quant::EvalResult& r);
// The files one command reads and writes, each with the option that names it ("-o", "--data").
// UsageError when an output names an input (or lies inside an input folder) or another output:
// a command never writes over what it reads, nor two outputs over one another. Paths are
// compared resolved (links, "..", the working folder); --data NAME=FILE counts as FILE.
struct NamedPath {
  std::string option, path;
};
void check_output_paths(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);
// --data specs as input paths (NAME=FILE gives FILE).
std::vector<NamedPath> data_paths(const std::string& option, const std::vector<std::string>& specs);
// Random values for a tensor: floats uniform in [-1, 1], integers 0, bools false.
HostTensor random_tensor(const std::string& name, DType dtype, const Dims& dims, uint32_t seed);
// A file name made from a tensor name (no path separators or odd characters).
std::string safe_file_name(const std::string& tensor_name);
// The folder holding the bundled test data: $OCTET_DATA_DIR, else tests/data or
// ../tests/data (and a few more levels up) relative to the executable. Empty if none.
std::string find_data_dir();
// MODEL with the encodings of an AIMET encodings file set on its tensors (BN folded first, as
// AIMET exports). Names absent from the model are an error listing them unless
// `allow_partial`; the import's warnings and notes go to stderr.
std::shared_ptr<Graph> with_imported_encodings(std::shared_ptr<Graph> model,
                                               const std::string& encodings_path,
                                               bool allow_partial);
// `--encodings FILE [--allow-partial-encodings]` of run and eval: MODEL with the file's encodings
// (with_imported_encodings), MODEL itself without the option. Usage errors: the partial flag
// without a file, or a file in float mode.
std::shared_ptr<Graph> apply_encodings_option(const Args& args, ExecutionMode mode,
                                              std::shared_ptr<Graph> model);
// Imports an encodings file into `sim` (quant::import_encodings), printing its warnings and notes
// to stderr.
quant::ImportReport import_encodings_file(quant::QuantSim& sim, const std::string& encodings_path,
                                          bool allow_partial);
// The library's data-set evaluation, as the commands use it.
using quant::EvalOptions;
using quant::EvalResult;
using quant::evaluate;
// Progress of evaluate() on stderr ("eval: 300/1000 samples (30%)", at most every 100 ms,
// cleared at the end) when it is a terminal; null otherwise.
std::function<void(int64_t done, int64_t total)> eval_progress();
// Prints samples, accuracy or statistics, and timing to stdout.
void print_eval_result(const EvalResult& r);
// Whether stderr is a terminal (progress display).
bool stderr_is_terminal();

}  // namespace octet::cli
