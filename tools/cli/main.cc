// The `octet` command: dispatches to one subcommand and maps errors to exit codes
// (0 ok, 1 runtime error, 2 bad command line).
#include <exception>
#include <functional>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/memory_limit.h"
#include "engine/operation_count.h"
#include "engine/shipped_data.h"
#include "tools/cli/cli.h"

namespace octet::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"convert", "convert an ONNX model to a .octet file", kConvertUsage, cmd_convert},
      {"info", "describe a model: inputs, outputs, ops, parameters, kernels, memory",
       kInfoUsage, cmd_info},
      {"run", "run a model on .npy inputs and write its outputs", kRunUsage, cmd_run},
      {"bench", "measure latency and memory on random inputs", kBenchUsage, cmd_bench},
      {"eval", "run a data set through a model: accuracy or output statistics", kEvalUsage,
       cmd_eval},
      {"quantize", "place quantizers, calibrate, write the quantized model and encodings",
       kQuantizeUsage, cmd_quantize},
      {"autoquant", "apply PTQ techniques in AIMET's order until an accuracy target is met",
       kAutoquantUsage, cmd_autoquant},
      {"analyze", "find the quantizers that cost accuracy: per-layer sweeps, MSE, ranges",
       kAnalyzeUsage, cmd_analyze},
      {"demo", "the whole path on the bundled MNIST model", kDemoUsage, cmd_demo},
  };
  return table;
}

namespace {

// --max-memory and --max-ops apply to every session a command builds, its own and those of
// the quantization algorithms, so they are taken out here and set as the process's defaults.
void take_limit_option(std::vector<std::string>& args, const std::string& option,
                       const std::function<void(const std::string&)>& set) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") break;
    std::string value;
    if (args[i] == option) {
      if (i + 1 >= args.size()) throw UsageError("option " + option + " needs a value");
      value = args[i + 1];
      args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
    } else if (args[i].rfind(option + "=", 0) == 0) {
      value = args[i].substr(option.size() + 1);
      args.erase(args.begin() + long(i));
    } else {
      continue;
    }
    try {
      set(value);
    } catch (const octet::Error& e) {
      throw UsageError(option + ": " + e.what());
    }
    --i;
  }
}

void take_limit_options(std::vector<std::string>& args) {
  take_limit_option(args, "--max-memory", [](const std::string& v) {
    octet::set_default_memory_limit(octet::parse_byte_size(v));
  });
  take_limit_option(args, "--max-ops", [](const std::string& v) {
    octet::set_default_operation_limit(octet::parse_operation_count(v));
  });
}

void print_main_usage(std::ostream& out) {
  out << "usage: octet <command> [options]\n\n"
         "octet runs ONNX (.onnx) and octet (.octet) models on the CPU.\n\ncommands:\n";
  for (const Command& c : commands()) {
    std::string name = c.name;
    name.resize(10, ' ');
    out << "  " << name << c.summary << "\n";
  }
  out << "\nEvery command also takes --max-memory SIZE (e.g. 512M, 4G): the most memory a session's\n"
         "tensors (its arena) may take; a larger plan fails before anything is allocated (default:\n"
         "the machine's physical memory). Weights, inputs and the outputs copied out of a run come\n"
         "on top; files are bounded by their own checks before they are read whole.\n"
         "And --max-ops COUNT (e.g. 5e9, 500M, 2G): the most operations one run may take (as\n"
         "'octet info' estimates them: multiply-adds, window steps, elements moved); a larger\n"
         "model fails before it runs (default: no limit).\n"
         "\nRun 'octet <command> --help' for the options of a command.\n"
         "Exit status: 0 success, 1 runtime error, 2 bad command line.\n";
}

}  // namespace
}  // namespace octet::cli

int main(int argc, char** argv) {
  using namespace octet::cli;
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  try {
    take_limit_options(args);  // before or after the command's name
  } catch (const UsageError& e) {
    std::cerr << "octet: " << e.what() << "\n";
    return 2;
  }
  if (args.empty()) {
    print_main_usage(std::cerr);
    return 2;
  }
  const std::string name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    if (name == "help" && args.size() > 1) {
      for (const Command& c : commands())
        if (args[1] == c.name) {
          std::cout << c.usage;
          return 0;
        }
    }
    print_main_usage(std::cout);
    return 0;
  }
  if (name == "--version") {
    std::cout << "octet 0.1.0\n";
    // Where the shipped quantsim configs and target profiles come from (an error if missing).
    try {
      std::cout << "quantsim configs: " << octet::shipped_data_dir(octet::ShippedKind::kConfigs).string()
                << "\ntarget profiles: "
                << octet::shipped_data_dir(octet::ShippedKind::kProfiles).string() << "\n";
    } catch (const octet::Error& e) {
      std::cerr << "octet: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  const Command* command = nullptr;
  for (const Command& c : commands())
    if (name == c.name) command = &c;
  if (!command) {
    std::cerr << "octet: unknown command '" << name << "'\n\n";
    print_main_usage(std::cerr);
    return 2;
  }
  args.erase(args.begin());
  try {
    return command->run(args);
  } catch (const UsageError& e) {
    std::cerr << "octet " << command->name << ": " << e.what() << "\n"
              << "Run 'octet " << command->name << " --help' for usage.\n";
    return 2;
  } catch (const octet::Error& e) {
    std::cerr << "octet " << command->name << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "octet " << command->name << ": error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "octet " << command->name << ": error: " << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << "octet " << command->name << ": error: unknown failure\n";
    return 1;
  }
}
