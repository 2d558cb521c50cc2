// A Session prepares a model for given input shapes (kernels chosen, weights packed,
// memory planned) and runs it. Sessions share the loaded model read-only, so several
// may run one model concurrently. One Session runs one inference at a time: run() called from
// several threads takes turns (one activation arena); a Session per thread runs in parallel.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/compile.h"
#include "engine/graph.h"
#include "engine/host_tensor.h"
#include "engine/op.h"
#include "engine/passes/lower_integer.h"

namespace octet {

// What compile() takes (mode, target, shapes, memory limit) and how the kernels run.
struct SessionOptions : CompileOptions {
  int threads = 1;                  // 0: all cores
  bool reference_kernels = false;   // plain reference kernels only (testing)
  bool profile = false;             // time every node of every run (node_profile())
};

struct KernelChoice {
  std::string node;
  std::string op_type;
  std::string impl;
};

// Time spent in one node over the runs of a session prepared with `profile`.
struct NodeProfile {
  std::string node;
  std::string op_type;
  std::string impl;
  int threads = 1;       // the threads the node's kernel was prepared for
  double seconds = 0;    // summed over `runs`
  int64_t runs = 0;
};

class Session {
 public:
  Session(std::shared_ptr<const Graph> model, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Inputs by name (every non-constant graph input exactly once, with the prepared
  // dtype and shape); returns the graph outputs in graph order. The activation arena is
  // allocated by the first run: preparing a session (e.g. `octet info`) allocates none.
  // Thread-safe: concurrent calls run one after the other.
  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs);

  const Graph& prepared_graph() const { return graph_; }
  size_t arena_bytes() const { return arena_bytes_; }
  // Operations one run takes, as engine/operation_count.h estimates them.
  double operations() const { return operations_; }
  size_t naive_bytes() const { return naive_bytes_; }
  std::vector<KernelChoice> kernel_choices() const;
  // Per-node times accumulated by run() when SessionOptions::profile is set (else empty);
  // reset_profile() starts the sums again (e.g. after warm-up runs).
  std::vector<NodeProfile> node_profile() const;
  void reset_profile();
  // What the integer lowering did (`int` / `exact` on a calibrated float model), else null.
  const LoweringReport* lowering_report() const { return lowering_ ? &*lowering_ : nullptr; }
  // Names and shapes of the inputs the caller must feed.
  std::vector<std::pair<std::string, Dims>> input_specs() const;

 private:
  void allocate_arena();

  std::shared_ptr<const Graph> model_;
  SessionOptions options_;
  Graph graph_;
  std::vector<std::unique_ptr<Kernel>> kernels_;
  std::vector<int> node_threads_;
  // f32 inputs of an integer graph: quantized on entry, where NaN / inf have no code.
  std::vector<bool> must_be_finite_;  // per tensor id
  std::vector<double> node_seconds_;
  int64_t profiled_runs_ = 0;
  std::vector<TensorRef> refs_;  // per tensor id
  std::vector<std::byte, std::allocator<std::byte>> arena_storage_;
  std::byte* arena_ = nullptr;
  std::vector<int64_t> arena_offsets_;  // per tensor id, from the memory plan
  size_t arena_bytes_ = 0;
  double operations_ = 0;
  size_t naive_bytes_ = 0;
  std::optional<LoweringReport> lowering_;
  mutable std::mutex run_mutex_;  // run(), and the profile it accumulates
};

}  // namespace octet
