// Runs the ONNX backend node conformance cases (../shared/onnx-node-tests) through
// Sessions, with the optimized kernels and with the reference kernels.
//
// Each case is PASS, SKIP (a dtype octet does not support, an op that is not registered
// yet, or a clear "not supported" error) or FAIL (wrong values, or any other error).
// Environment: OCTET_CONFORMANCE_FILTER=substr runs only matching cases;
// OCTET_CONFORMANCE_QUIET=1 prints only the totals line.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "engine/op.h"
#include "engine/session.h"
#include "loaders/onnx_loader.h"
#include "tests/support/test_paths.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

enum class Outcome { kPass, kSkip, kFail };

struct CaseResult {
  std::string name, op;
  Outcome outcome = Outcome::kPass;
  std::string reason;
};

bool says_unsupported(const std::string& message) {
  std::string m = message;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  return m.find("not supported") != std::string::npos ||
         m.find("unsupported") != std::string::npos ||
         m.find("not implemented") != std::string::npos;
}

// A skip reason without file paths, so equal reasons group together.
std::string skip_reason(const std::string& message) {
  static const std::map<int, const char*> names = {
      {8, "STRING"}, {16, "BFLOAT16"}, {17, "FLOAT8E4M3FN"}, {18, "FLOAT8E4M3FNUZ"},
      {19, "FLOAT8E5M2"}, {20, "FLOAT8E5M2FNUZ"}, {23, "FLOAT4E2M1"}, {24, "FLOAT8E8M0"},
      {25, "UINT2"}, {26, "INT2"}};
  const std::string key = "tensor element type ";
  if (size_t at = message.find(key); at != std::string::npos) {
    int t = std::atoi(message.c_str() + at + key.size());
    auto it = names.find(t);
    return std::string("dtype ") + (it != names.end() ? it->second : "ONNX type " + std::to_string(t));
  }
  return message;
}

// dtypes octet's kernels do not take (yet) at graph inputs/outputs.
// Element types whose cases are not attempted: octet has no arithmetic on them. Cases
// with f16/f64/i4/u4 still run; an op that rejects such a type says "not supported".
bool dtype_unsupported(DType t) { return t == DType::kUndefined; }

// The ops of the foundation issue: a case of one of these must never be skipped for a
// missing op.
bool foundation_op(const std::string& op) {
  static const std::set<std::string> ops{
      "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "Relu", "Clip",
      "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Exp", "Log",
      "Sqrt", "Pow", "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "MaxPool", "AveragePool",
      "GlobalAveragePool", "GlobalMaxPool", "Concat", "Split", "Slice", "Gather", "Reshape",
      "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Shape", "Cast", "Identity", "Pad",
      "Resize", "Softmax", "ReduceMean", "LayerNormalization"};
  return ops.count(op) != 0;
}

template <typename T>
std::string value_string(const HostTensor& t, int64_t i) {
  T v;
  std::memcpy(&v, t.bytes.data() + i * sizeof(T), sizeof(T));
  std::ostringstream s;
  if constexpr (sizeof(T) == 1) s << static_cast<int>(v);
  else s << v;
  return s.str();
}

// Empty when equal; otherwise what differs.
std::string compare(const HostTensor& got, const HostTensor& want) {
  std::ostringstream why;
  if (got.dtype != want.dtype) {
    why << "dtype " << dtype_name(got.dtype) << ", expected " << dtype_name(want.dtype);
    return why.str();
  }
  if (got.dims != want.dims) {
    why << "shape " << dims_to_string(got.dims) << ", expected " << dims_to_string(want.dims);
    return why.str();
  }
  if (got.bytes.size() != want.bytes.size()) return "byte size differs";
  const int64_t n = want.numel();
  int64_t bad = 0, first = -1;
  if (got.dtype == DType::kF32) {
    auto g = got.values<float>();
    auto w = want.values<float>();
    for (int64_t i = 0; i < n; ++i) {
      const float a = g[i], e = w[i];
      bool ok;
      if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
      else if (std::isinf(e) || std::isinf(a)) ok = a == e;
      else ok = std::fabs(double(a) - double(e)) <= 1e-7 + 1e-3 * std::fabs(double(e));
      if (!ok && bad++ == 0) first = i;
    }
    if (bad)
      why << bad << " of " << n << " values differ (rtol 1e-3, atol 1e-7); first at " << first
          << ": got " << g[first] << ", expected " << w[first];
    return why.str();
  }
  const size_t es = dtype_size(got.dtype);
  if (es == 0) {  // packed: compare bytes
    if (std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()) != 0)
      return "packed values differ";
    return {};
  }
  for (int64_t i = 0; i < n; ++i)
    if (std::memcmp(got.bytes.data() + i * es, want.bytes.data() + i * es, es) != 0 &&
        bad++ == 0)
      first = i;
  if (!bad) return {};
  why << bad << " of " << n << " values differ (exact); first at " << first << ": got ";
  switch (got.dtype) {
    case DType::kI8: why << value_string<int8_t>(got, first) << ", expected " << value_string<int8_t>(want, first); break;
    case DType::kU8: why << value_string<uint8_t>(got, first) << ", expected " << value_string<uint8_t>(want, first); break;
    case DType::kBool: why << value_string<uint8_t>(got, first) << ", expected " << value_string<uint8_t>(want, first); break;
    case DType::kI16: why << value_string<int16_t>(got, first) << ", expected " << value_string<int16_t>(want, first); break;
    case DType::kU16: why << value_string<uint16_t>(got, first) << ", expected " << value_string<uint16_t>(want, first); break;
    case DType::kI32: why << value_string<int32_t>(got, first) << ", expected " << value_string<int32_t>(want, first); break;
    case DType::kU32: why << value_string<uint32_t>(got, first) << ", expected " << value_string<uint32_t>(want, first); break;
    case DType::kI64: why << value_string<int64_t>(got, first) << ", expected " << value_string<int64_t>(want, first); break;
    case DType::kU64: why << value_string<uint64_t>(got, first) << ", expected " << value_string<uint64_t>(want, first); break;
    case DType::kF64: why << value_string<double>(got, first) << ", expected " << value_string<double>(want, first); break;
    default: why << "(value)"; break;
  }
  return why.str();
}

std::vector<std::string> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> files;
  for (int k = 0;; ++k) {
    fs::path p = dir / (prefix + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p.string());
  }
  return files;
}

// Which graph inputs become SessionOptions::constant_inputs. The rule: inputs at node
// position >= 1 of type int64 (shape-deciding: Reshape shape, Slice starts, Pad pads,
// Resize sizes ...), and for Resize also its float roi/scales. With `all_but_first`,
// every input at position >= 1 (a retry for ops that need more inputs constant).
std::vector<bool> constant_mask(const Graph& g, const std::vector<HostTensor>& inputs,
                                bool all_but_first) {
  std::vector<bool> mask(inputs.size(), false);
  if (g.nodes.empty()) return mask;
  const Node& node = g.nodes[0];
  for (size_t k = 0; k < inputs.size() && k < g.inputs.size(); ++k) {
    auto it = std::find(node.inputs.begin(), node.inputs.end(), g.inputs[k]);
    if (it == node.inputs.end()) continue;
    size_t pos = static_cast<size_t>(it - node.inputs.begin());
    if (pos < 1) continue;
    DType t = inputs[k].dtype;
    mask[k] = all_but_first || t == DType::kI64 || (node.op_type == "Resize" && t == DType::kF32);
  }
  return mask;
}

// Runs one data set; throws octet::Error on engine errors, returns a mismatch or "".
std::string run_data_set(std::shared_ptr<const Graph> g, const fs::path& set_dir, bool reference,
                         bool all_but_first) {
  std::vector<HostTensor> inputs;
  for (const std::string& f : numbered_files(set_dir, "input_")) inputs.push_back(load_onnx_tensor_file(f));
  std::vector<HostTensor> expected;
  for (const std::string& f : numbered_files(set_dir, "output_")) expected.push_back(load_onnx_tensor_file(f));
  OCTET_CHECK(inputs.size() == g->inputs.size(), set_dir.string(), ": ", inputs.size(),
              " input files for ", g->inputs.size(), " graph inputs");
  std::vector<bool> mask = constant_mask(*g, inputs, all_but_first);
  SessionOptions opt;
  opt.threads = 1;
  opt.reference_kernels = reference;
  std::vector<HostTensor> feeds;
  for (size_t k = 0; k < inputs.size(); ++k) {
    inputs[k].name = g->tensor(g->inputs[k]).name;
    if (mask[k]) {
      opt.constant_inputs.push_back(inputs[k]);
    } else {
      // Only open shapes are bound (binding rejects zero-sized dims the model may declare).
      if (!g->tensor(g->inputs[k]).shape.is_concrete())
        opt.input_shapes[inputs[k].name] = inputs[k].dims;
      feeds.push_back(inputs[k]);
    }
  }
  Session session(g, opt);
  std::vector<HostTensor> got = session.run(feeds);
  if (got.size() != expected.size())
    return std::to_string(got.size()) + " outputs, expected " + std::to_string(expected.size());
  for (size_t k = 0; k < got.size(); ++k) {
    std::string diff = compare(got[k], expected[k]);
    if (!diff.empty())
      return "output " + std::to_string(k) + " ('" + got[k].name + "'): " + diff;
  }
  return {};
}

// case name -> op, from the set's cases.tsv (names the op of cases that fail to load).
std::map<std::string, std::string> read_case_ops(const fs::path& root) {
  std::map<std::string, std::string> ops;
  std::ifstream in(root / "cases.tsv");
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    size_t tab2 = line.find('\t', tab + 1);
    ops[line.substr(0, tab)] = line.substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1);
  }
  return ops;
}

CaseResult run_case(const fs::path& dir) {
  CaseResult r;
  r.name = dir.filename().string();
  std::shared_ptr<Graph> g;
  try {
    g = load_onnx((dir / "model.onnx").string());
  } catch (const Error& e) {
    r.outcome = says_unsupported(e.what()) ? Outcome::kSkip : Outcome::kFail;
    r.reason = r.outcome == Outcome::kSkip ? skip_reason(e.what()) : std::string("load: ") + e.what();
    return r;
  }
  r.op = g->nodes.empty() ? "(none)" : g->nodes[0].op_type;
  for (TensorId id : g->inputs)
    if (dtype_unsupported(g->tensor(id).dtype)) {
      r.outcome = Outcome::kSkip;
      r.reason = std::string("dtype ") + std::string(dtype_name(g->tensor(id).dtype));
      return r;
    }
  for (TensorId id : g->outputs)
    if (dtype_unsupported(g->tensor(id).dtype)) {
      r.outcome = Outcome::kSkip;
      r.reason = std::string("dtype ") + std::string(dtype_name(g->tensor(id).dtype));
      return r;
    }
  for (const Node& n : g->nodes)
    if (!OpRegistry::instance().find(n.op_type)) {
      r.outcome = foundation_op(n.op_type) ? Outcome::kFail : Outcome::kSkip;
      r.reason = "op not implemented";
      return r;
    }

  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) {
    r.outcome = Outcome::kFail;
    r.reason = "no test_data_set_* folder";
    return r;
  }
  for (const fs::path& set : sets) {
    for (bool reference : {false, true}) {
      const char* kind = reference ? "reference kernels" : "optimized kernels";
      std::string mismatch;
      try {
        try {
          mismatch = run_data_set(g, set, reference, false);
        } catch (const Error& e) {
          // Some ops need more of their inputs constant than the int64 rule gives.
          std::string m = e.what();
          if (m.find("constant") == std::string::npos) throw;
          mismatch = run_data_set(g, set, reference, true);
        }
      } catch (const Error& e) {
        r.outcome = says_unsupported(e.what()) ? Outcome::kSkip : Outcome::kFail;
        r.reason = std::string(kind) + ": " + e.what();
        return r;
      } catch (const std::exception& e) {
        r.outcome = Outcome::kFail;
        r.reason = std::string(kind) + ": std::exception: " + e.what();
        return r;
      }
      if (!mismatch.empty()) {
        r.outcome = Outcome::kFail;
        r.reason = std::string(kind) + ", " + set.filename().string() + ": " + mismatch;
        return r;
      }
    }
  }
  return r;
}

}  // namespace

TEST_CASE("ONNX backend node conformance cases") {
  const fs::path root = octet::test::onnx_node_tests_dir();
  if (!fs::is_directory(root)) {
    MESSAGE("ONNX conformance cases not found at ", root.string(), "; skipping");
    return;
  }
  const char* filter_env = std::getenv("OCTET_CONFORMANCE_FILTER");
  const std::string filter = filter_env ? filter_env : "";
  const bool quiet = std::getenv("OCTET_CONFORMANCE_QUIET") != nullptr;

  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx") &&
        e.path().filename().string().find(filter) != std::string::npos)
      cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());

  std::vector<CaseResult> results;
  const std::map<std::string, std::string> case_ops = read_case_ops(root);
  for (const fs::path& c : cases) {
    results.push_back(run_case(c));
    if (auto it = case_ops.find(results.back().name); results.back().op.empty() && it != case_ops.end())
      results.back().op = it->second;
  }

  struct Counts {
    int pass = 0, skip = 0, fail = 0;
  };
  std::map<std::string, Counts> per_op;
  std::map<std::string, std::vector<std::string>> skips;  // reason -> cases
  std::map<std::string, std::set<std::string>> skip_ops;  // reason -> ops
  Counts total;
  for (const CaseResult& r : results) {
    Counts& c = per_op[r.op.empty() ? "(load failed)" : r.op];
    switch (r.outcome) {
      case Outcome::kPass: ++c.pass; ++total.pass; break;
      case Outcome::kSkip: ++c.skip; ++total.skip; skips[r.reason].push_back(r.name); skip_ops[r.reason].insert(r.op); break;
      case Outcome::kFail: ++c.fail; ++total.fail; break;
    }
  }

  std::ostringstream out;
  if (!quiet) {
    out << "ONNX conformance per op (pass/skip/fail):\n";
    for (const auto& [op, c] : per_op)
      out << "  " << op << ": " << c.pass << "/" << c.skip << "/" << c.fail << "\n";
    out << "skipped cases by reason:\n";
    for (const auto& [reason, names] : skips) {
      out << "  " << reason << " (" << names.size() << (names.size() > 1 ? " cases" : " case");
      if (names.size() > 12) {  // long lists: name the ops
        out << ", ops):";
        for (const std::string& op : skip_ops[reason]) out << " " << op;
      } else {
        out << "):";
        for (const std::string& n : names) out << " " << n;
      }
      out << "\n";
    }
    for (const CaseResult& r : results)
      if (r.outcome == Outcome::kFail) out << "FAILED " << r.name << ": " << r.reason << "\n";
  }
  out << "conformance: " << total.pass << " passed, " << total.skip << " skipped, " << total.fail
      << " failed\n";
  std::cout << out.str() << std::flush;

  for (const CaseResult& r : results)
    if (r.outcome == Outcome::kFail) FAIL_CHECK(r.name << " [" << r.op << "]: " << r.reason);
  CHECK(total.fail == 0);
}
