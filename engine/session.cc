#include "engine/session.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>

#include "engine/compile.h"
#include "engine/memory_limit.h"
#include "engine/memory_planner.h"
#include "engine/operation_count.h"
#include "engine/thread_budget.h"

namespace octet {

Session::Session(std::shared_ptr<const Graph> model, SessionOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
  OCTET_CHECK(model_, "Session needs a model");
  if (options_.threads <= 0) options_.threads = omp_get_num_procs();
  CompiledGraph compiled = compile(*model_, options_);
  graph_ = std::move(compiled.graph);
  lowering_ = std::move(compiled.lowering);
  const bool integer_mode =
      options_.mode == ExecutionMode::kInt || options_.mode == ExecutionMode::kExact;
  const size_t memory_limit = memory_limit_of(options_);
  operations_ = estimate_operations(graph_);
  const double operation_limit =
      options_.max_operations > 0 ? options_.max_operations : default_operation_limit();
  OCTET_CHECK(operation_limit <= 0 || operations_ <= operation_limit, "the session needs about ",
              format_operation_count(operations_), " per run, more than the limit of ",
              format_operation_count(operation_limit), " (SessionOptions::max_operations, --max-ops)");

  must_be_finite_.assign(graph_.tensors.size(), false);
  if (integer_mode)
    for (TensorId id : graph_.inputs)
      must_be_finite_[id] = graph_.tensor(id).dtype == DType::kF32;

  const OpRegistry& registry = OpRegistry::instance();
  std::vector<bool> aliases;
  for (const Node& node : graph_.nodes) {
    const OpSchema* schema = registry.find(node.op_type);
    OCTET_CHECK(schema, "op '", node.op_type, "' of node '", node.name, "' is not supported");
    aliases.push_back(schema->output_aliases_input0);
  }
  // Planned before any kernel is prepared: an impossible plan fails before anything is allocated.
  MemoryPlan plan = plan_memory(graph_, aliases);
  OCTET_CHECK(plan.arena_bytes <= memory_limit, "the session needs ",
              format_byte_size(plan.arena_bytes), " for its tensors, more than the memory limit of ",
              format_byte_size(memory_limit), " (SessionOptions::max_memory_bytes, --max-memory)");
  arena_bytes_ = plan.arena_bytes;
  naive_bytes_ = plan.naive_bytes;
  arena_offsets_ = std::move(plan.offset);

  for (const Node& node : graph_.nodes) {
    const OpSchema* schema = registry.find(node.op_type);
    node_threads_.push_back(threads_for_node(graph_, node, options_.threads));
    PrepareContext pc{graph_, node, node_threads_.back(), options_.reference_kernels,
                      options_.mode};
    try {
      kernels_.push_back(schema->prepare(pc));
    } catch (const std::bad_alloc&) {
      fail("out of memory preparing node '", node.name, "' (", node.op_type, ")");
    }
  }

  refs_.resize(graph_.tensors.size());
  for (size_t i = 0; i < graph_.tensors.size(); ++i) {
    const TensorInfo& t = graph_.tensors[i];
    TensorRef& r = refs_[i];
    r.dtype = t.dtype;
    if (!t.shape.is_concrete()) continue;  // unused tensor
    r.dims = t.shape.concrete();
    if (t.is_constant()) r.data = const_cast<std::byte*>(t.data->data());
  }
}

void Session::allocate_arena() {
  try {
    arena_storage_.resize(arena_bytes_ + MemoryPlan::kAlignment);
  } catch (const std::bad_alloc&) {
    fail("out of memory allocating ", format_byte_size(arena_bytes_),
         " for the session's tensors (within its memory limit of ",
         format_byte_size(memory_limit_of(options_)), ", but more than the process could get)");
  }
  auto base = reinterpret_cast<uintptr_t>(arena_storage_.data());
  arena_ = arena_storage_.data() + ((MemoryPlan::kAlignment - base % MemoryPlan::kAlignment) %
                                    MemoryPlan::kAlignment);
  for (size_t i = 0; i < refs_.size(); ++i)
    if (arena_offsets_[i] >= 0 && !graph_.tensors[i].is_constant())
      refs_[i].data = arena_ + arena_offsets_[i];
}

Session::~Session() = default;

ExecutionMode parse_execution_mode(const std::string& name) {
  if (name == "float") return ExecutionMode::kFloat;
  if (name == "qdq") return ExecutionMode::kQdq;
  if (name == "exact") return ExecutionMode::kExact;
  if (name == "int") return ExecutionMode::kInt;
  fail("unknown execution mode '", name, "' (float, qdq, exact, int)");
}

const char* execution_mode_name(ExecutionMode mode) {
  switch (mode) {
    case ExecutionMode::kFloat: return "float";
    case ExecutionMode::kQdq: return "qdq";
    case ExecutionMode::kExact: return "exact";
    case ExecutionMode::kInt: return "int";
  }
  return "?";
}

std::vector<std::pair<std::string, Dims>> Session::input_specs() const {
  std::vector<std::pair<std::string, Dims>> out;
  for (TensorId id : graph_.inputs) out.emplace_back(graph_.tensor(id).name, refs_[id].dims);
  return out;
}

std::vector<KernelChoice> Session::kernel_choices() const {
  std::vector<KernelChoice> out;
  for (size_t n = 0; n < graph_.nodes.size(); ++n)
    out.push_back({graph_.nodes[n].name, graph_.nodes[n].op_type,
                   std::string(kernels_[n]->impl_name())});
  return out;
}

namespace {

// Index of the first NaN or infinity among n floats, or -1.
int64_t first_non_finite(const std::byte* data, int64_t n) {
  const auto* bits = reinterpret_cast<const uint32_t*>(data);
  constexpr uint32_t kExponent = 0x7f800000u;
  constexpr int64_t kChunk = 4096;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t end = std::min(n, start + kChunk);
    bool any = false;
    for (int64_t i = start; i < end; ++i) any |= (bits[i] & kExponent) == kExponent;
    if (!any) continue;
    for (int64_t i = start; i < end; ++i)
      if ((bits[i] & kExponent) == kExponent) return i;
  }
  return -1;
}

}  // namespace

std::vector<NodeProfile> Session::node_profile() const {
  std::vector<NodeProfile> out;
  if (!options_.profile) return out;
  std::lock_guard<std::mutex> lock(run_mutex_);
  for (size_t n = 0; n < graph_.nodes.size(); ++n)
    out.push_back({graph_.nodes[n].name, graph_.nodes[n].op_type,
                   std::string(kernels_[n]->impl_name()), node_threads_[n],
                   n < node_seconds_.size() ? node_seconds_[n] : 0.0, profiled_runs_});
  return out;
}

void Session::reset_profile() {
  std::lock_guard<std::mutex> lock(run_mutex_);
  node_seconds_.assign(node_seconds_.size(), 0.0);
  profiled_runs_ = 0;
}

std::vector<HostTensor> Session::run(const std::vector<HostTensor>& inputs) {
  // The arena, the kernels' scratch and the profile belong to one inference at a time.
  std::lock_guard<std::mutex> lock(run_mutex_);
  if (!arena_) allocate_arena();
  std::vector<char> fed(graph_.tensors.size(), 0);
  for (const HostTensor& in : inputs) {
    auto id = graph_.find_tensor(in.name);
    OCTET_CHECK(id && graph_.is_graph_input(*id), "'", in.name,
                "' is not an input of the model");
    OCTET_CHECK(!fed[*id], "input '", in.name, "' is given twice");
    const TensorRef& r = refs_[*id];
    OCTET_CHECK(in.dtype == r.dtype, "input '", in.name, "' must be ", dtype_name(r.dtype),
                ", got ", dtype_name(in.dtype));
    OCTET_CHECK(in.dims == r.dims, "input '", in.name, "' must have shape ",
                dims_to_string(r.dims), ", got ", dims_to_string(in.dims),
                " (other shapes need a session prepared for them)");
    size_t bytes = dtype_storage_bytes(r.dtype, r.numel());
    OCTET_CHECK(in.bytes.size() == bytes, "input '", in.name, "' has ", in.bytes.size(),
                " bytes, expected ", bytes);
    if (must_be_finite_[*id]) {
      const int64_t bad = first_non_finite(in.bytes.data(), r.numel());
      OCTET_CHECK(bad < 0, "input '", in.name, "' holds a NaN or infinity at element ", bad,
                  ": mode ", execution_mode_name(options_.mode), " quantizes its inputs to ",
                  "integer codes, which have none");
    }
    if (bytes) std::memcpy(r.data, in.bytes.data(), bytes);
    fed[*id] = 1;
  }
  for (TensorId id : graph_.inputs)
    OCTET_CHECK(fed[id], "input '", graph_.tensor(id).name, "' was not given");

  std::vector<TensorRef> ins, outs;
  if (options_.profile) node_seconds_.resize(graph_.nodes.size(), 0.0);
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const Node& node = graph_.nodes[n];
    ins.clear();
    outs.clear();
    for (TensorId id : node.inputs) ins.push_back(id == kNoTensor ? TensorRef{} : refs_[id]);
    for (TensorId id : node.outputs) outs.push_back(id == kNoTensor ? TensorRef{} : refs_[id]);
    if (!options_.profile) {
      kernels_[n]->run(ins, outs);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    kernels_[n]->run(ins, outs);
    node_seconds_[n] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (options_.profile) ++profiled_runs_;

  std::vector<HostTensor> results;
  for (TensorId id : graph_.outputs) {
    const TensorRef& r = refs_[id];
    HostTensor out;
    out.name = graph_.tensor(id).name;
    out.dtype = r.dtype;
    out.dims = r.dims;
    out.bytes.resize(dtype_storage_bytes(r.dtype, r.numel()));
    if (!out.bytes.empty()) std::memcpy(out.bytes.data(), r.data, out.bytes.size());
    results.push_back(std::move(out));
  }
  return results;
}

}  // namespace octet
