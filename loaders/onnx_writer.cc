#include "loaders/onnx_writer.h"

#include <onnx/onnx_pb.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file_util.h"

namespace octet {
namespace {

constexpr uint64_t kExternalAlignment = 64;
constexpr const char* kTensorAttrPrefix = "_tensor:";
constexpr size_t kMaxListedNodes = 20;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

int32_t dtype_to_onnx(DType t) {
  switch (t) {
    case DType::kF32: return onnx::TensorProto_DataType_FLOAT;
    case DType::kF64: return onnx::TensorProto_DataType_DOUBLE;
    case DType::kF16: return onnx::TensorProto_DataType_FLOAT16;
    case DType::kI8: return onnx::TensorProto_DataType_INT8;
    case DType::kU8: return onnx::TensorProto_DataType_UINT8;
    case DType::kI16: return onnx::TensorProto_DataType_INT16;
    case DType::kU16: return onnx::TensorProto_DataType_UINT16;
    case DType::kI32: return onnx::TensorProto_DataType_INT32;
    case DType::kU32: return onnx::TensorProto_DataType_UINT32;
    case DType::kI64: return onnx::TensorProto_DataType_INT64;
    case DType::kU64: return onnx::TensorProto_DataType_UINT64;
    case DType::kBool: return onnx::TensorProto_DataType_BOOL;
    case DType::kU4: return 21;  // UINT4 (onnx >= 1.16; not in libonnx 1.12's enum)
    case DType::kI4: return 22;  // INT4
    case DType::kUndefined: break;
  }
  return onnx::TensorProto_DataType_UNDEFINED;
}

bool is_4bit(DType t) { return t == DType::kI4 || t == DType::kU4; }

// "domain::Op" (loaded from another domain) -> {domain, Op}; octet ops -> {"ai.octet", op}.
std::pair<std::string, std::string> split_op(const std::string& op_type) {
  if (starts_with(op_type, "octet.")) return {"ai.octet", op_type};
  auto pos = op_type.find("::");
  if (pos == std::string::npos) return {"", op_type};
  return {op_type.substr(0, pos), op_type.substr(pos + 2)};
}

// Refuses prepared-graph content: internal attributes and octet-only ops.
void check_exportable(const Graph& g) {
  std::vector<std::string> bad;
  size_t count = 0;
  for (const Node& n : g.nodes) {
    std::string why;
    if (starts_with(n.op_type, "octet.")) why = "octet-only op";
    std::string attrs;
    for (const auto& [name, value] : n.attrs.all())
      if (starts_with(name, "_") && !starts_with(name, kTensorAttrPrefix))
        attrs += (attrs.empty() ? "" : ", ") + name;
    if (!attrs.empty()) why += (why.empty() ? "" : "; ") + std::string("internal attributes ") + attrs;
    if (why.empty()) continue;
    if (++count <= kMaxListedNodes) bad.push_back("node '" + n.name + "' (" + n.op_type + "): " + why);
  }
  if (bad.empty()) return;
  std::string msg;
  for (const auto& b : bad) msg += "\n  " + b;
  if (count > bad.size()) msg += "\n  ... and " + std::to_string(count - bad.size()) + " more";
  fail("save_onnx: the graph holds octet-internal content that has no ONNX meaning (a prepared "
       "session graph is not an exportable model; export the graph as loaded):",
       msg);
}

void write_shape(const Shape& s, onnx::TypeProto_Tensor* tt) {
  if (!s.has_rank) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : s.dims) {
    auto* dim = shape->add_dim();
    if (d.is_known()) dim->set_dim_value(d.value);
    else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
  }
}

void write_value_info(const TensorInfo& t, onnx::ValueInfoProto* vi) {
  vi->set_name(t.name);
  if (t.dtype == DType::kUndefined) return;  // type unknown (not inferred yet)
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype_to_onnx(t.dtype));
  write_shape(t.shape, tt);
}

// dtype, dims and the byte count of a constant; validates what the loader would reject.
size_t constant_bytes(const TensorInfo& t) {
  OCTET_CHECK(t.dtype != DType::kUndefined, "save_onnx: constant '", t.name, "' has no dtype");
  OCTET_CHECK(t.shape.is_concrete(), "save_onnx: constant '", t.name, "' has shape ",
              t.shape.to_string(), ", not concrete");
  size_t bytes = dtype_storage_bytes(t.dtype, checked_numel(t.shape.concrete()));
  OCTET_CHECK(t.data->size() >= bytes, "save_onnx: constant '", t.name, "' has ", t.data->size(),
              " bytes, its shape needs ", bytes);
  return bytes;
}

void write_tensor_header(const TensorInfo& t, onnx::TensorProto* p) {
  p->set_name(t.name);
  p->set_data_type(dtype_to_onnx(t.dtype));
  for (int64_t d : t.shape.concrete()) p->add_dims(d);
}

void write_inline_tensor(const TensorInfo& t, onnx::TensorProto* p) {
  size_t bytes = constant_bytes(t);
  write_tensor_header(t, p);
  p->set_raw_data(reinterpret_cast<const char*>(t.data->data()), bytes);
}

struct ExternalPiece {
  TensorId tensor;
  uint64_t offset;
  uint64_t size;
};

class ModelWriter {
 public:
  ModelWriter(const Graph& g, const OnnxWriteOptions& opt) : g_(g), opt_(opt) {}

  // Builds the model; constants chosen for external data get location `data_file_name`.
  onnx::ModelProto build(const std::string& data_file_name) {
    if (!opt_.allow_internal) check_exportable(g_);
    find_attribute_tensors();
    plan_external(data_file_name);

    onnx::ModelProto m;
    m.set_producer_name(opt_.producer_name);
    m.set_producer_version(opt_.producer_version);
    auto* graph = m.mutable_graph();
    graph->set_name(g_.name.empty() ? "graph" : g_.name);
    bool has_4bit = false;

    for (TensorId id = 0; id < static_cast<TensorId>(g_.tensors.size()); ++id) {
      const TensorInfo& t = g_.tensor(id);
      if (!t.is_constant() || attribute_only_.count(id)) continue;
      has_4bit |= is_4bit(t.dtype);
      auto* p = graph->add_initializer();
      auto ext = external_of_.find(id);
      if (ext == external_of_.end()) {
        write_inline_tensor(t, p);
        continue;
      }
      write_tensor_header(t, p);
      p->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
      auto add_kv = [&](const char* k, const std::string& v) {
        auto* kv = p->add_external_data();
        kv->set_key(k);
        kv->set_value(v);
      };
      add_kv("location", data_file_name);
      add_kv("offset", std::to_string(ext->second.offset));
      add_kv("length", std::to_string(ext->second.size));
    }
    for (TensorId id : g_.inputs) {
      const TensorInfo& t = g_.tensor(id);
      OCTET_CHECK(t.dtype != DType::kUndefined, "save_onnx: graph input '", t.name,
                  "' has no dtype");
      has_4bit |= is_4bit(t.dtype);
      write_value_info(t, graph->add_input());
    }
    for (TensorId id : g_.outputs) {
      OCTET_CHECK(id != kNoTensor, "save_onnx: a graph output is missing");
      write_value_info(g_.tensor(id), graph->add_output());
    }

    std::map<std::string, int64_t> domains;
    for (const Node& n : g_.nodes) write_node(n, graph->add_node(), domains);

    int64_t ir = onnx_ir_version_for_opset(g_.opset);
    if (has_4bit) ir = std::max<int64_t>(ir, 10);
    m.set_ir_version(ir);
    auto* imp = m.add_opset_import();
    imp->set_domain("");
    imp->set_version(g_.opset);
    for (const auto& [domain, version] : domains) {
      auto* d = m.add_opset_import();
      d->set_domain(domain);
      d->set_version(version);
    }

    uint64_t size = m.ByteSizeLong();
    if (size > opt_.max_model_bytes)
      fail("save_onnx: the model needs ", size, " bytes, more than the ", opt_.max_model_bytes,
           " one protobuf message can hold",
           opt_.external_data == OnnxExternalData::kNever || data_file_name.empty()
               ? " (allow external data: save_onnx with OnnxExternalData::kAuto)"
               : " even with its large constants in external data");
    return m;
  }

  const std::vector<ExternalPiece>& external() const { return external_; }

 private:
  // `_tensor:<attr>` constants: written inside the attribute, and as initializers only when
  // something else reads them.
  void find_attribute_tensors() {
    std::vector<int32_t> uses = g_.use_counts();
    for (const Node& n : g_.nodes)
      for (const auto& [name, value] : n.attrs.all()) {
        if (!starts_with(name, kTensorAttrPrefix)) continue;
        const std::string* cname = std::get_if<std::string>(&value);
        OCTET_CHECK(cname, "save_onnx: node '", n.name, "': attribute ", name,
                    " must name a constant tensor");
        auto id = g_.find_tensor(*cname);
        OCTET_CHECK(id && g_.tensor(*id).is_constant(), "save_onnx: node '", n.name,
                    "': attribute ", name, " names '", *cname, "', which is not a constant");
        if (uses[static_cast<size_t>(*id)] == 0) {
          attribute_only_.insert(*id);
        } else {
          // The loader names the attribute's tensor "<node>:<attr>": it must not clash.
          std::string reload_name = n.name + ":" + name.substr(std::strlen(kTensorAttrPrefix));
          OCTET_CHECK(*cname != reload_name, "save_onnx: node '", n.name, "': the tensor of ",
                      name, " ('", *cname, "') is also read as a tensor; rename it");
        }
      }
  }

  void plan_external(const std::string& data_file_name) {
    if (opt_.external_data == OnnxExternalData::kNever) return;
    if (data_file_name.empty()) {
      OCTET_CHECK(opt_.external_data != OnnxExternalData::kAlways,
                  "serialize_onnx: external data needs a file: use save_onnx");
      return;
    }
    uint64_t total = 0;
    for (TensorId id = 0; id < static_cast<TensorId>(g_.tensors.size()); ++id)
      if (g_.tensor(id).is_constant() && !attribute_only_.count(id))
        total += constant_bytes(g_.tensor(id));
    // Names, nodes and headers are small next to the weights: 1/16 of the limit is kept for them.
    if (opt_.external_data == OnnxExternalData::kAuto &&
        total <= opt_.max_model_bytes - opt_.max_model_bytes / 16)
      return;
    uint64_t offset = 0;
    for (TensorId id = 0; id < static_cast<TensorId>(g_.tensors.size()); ++id) {
      const TensorInfo& t = g_.tensor(id);
      if (!t.is_constant() || attribute_only_.count(id)) continue;
      uint64_t size = constant_bytes(t);
      if (size < opt_.external_threshold || size == 0) continue;
      offset = (offset + kExternalAlignment - 1) / kExternalAlignment * kExternalAlignment;
      external_.push_back({id, offset, size});
      external_of_[id] = external_.back();
      offset += size;
    }
  }

  void write_node(const Node& n, onnx::NodeProto* p, std::map<std::string, int64_t>& domains) {
    auto [domain, op] = split_op(n.op_type);
    OCTET_CHECK(!op.empty(), "save_onnx: node '", n.name, "' has an empty op type");
    if (!domain.empty()) domains.emplace(domain, 1);
    p->set_name(n.name);
    p->set_op_type(op);
    if (!domain.empty()) p->set_domain(domain);
    for (TensorId id : n.inputs) p->add_input(id == kNoTensor ? std::string() : g_.tensor(id).name);
    for (TensorId id : n.outputs) p->add_output(id == kNoTensor ? std::string() : g_.tensor(id).name);
    using A = onnx::AttributeProto;
    for (const auto& [name, value] : n.attrs.all()) {
      auto* a = p->add_attribute();
      if (starts_with(name, kTensorAttrPrefix)) {
        a->set_name(name.substr(std::strlen(kTensorAttrPrefix)));
        a->set_type(A::TENSOR);
        write_inline_tensor(g_.tensor(g_.require_tensor(std::get<std::string>(value))),
                            a->mutable_t());
        continue;
      }
      a->set_name(name);
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              a->set_type(A::INT);
              a->set_i(v);
            } else if constexpr (std::is_same_v<T, float>) {
              a->set_type(A::FLOAT);
              a->set_f(v);
            } else if constexpr (std::is_same_v<T, std::string>) {
              a->set_type(A::STRING);
              a->set_s(v);
            } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
              a->set_type(A::INTS);
              for (int64_t x : v) a->add_ints(x);
            } else if constexpr (std::is_same_v<T, std::vector<float>>) {
              a->set_type(A::FLOATS);
              for (float x : v) a->add_floats(x);
            } else {
              a->set_type(A::STRINGS);
              for (const std::string& x : v) a->add_strings(x);
            }
          },
          value);
    }
  }

  const Graph& g_;
  const OnnxWriteOptions& opt_;
  std::set<TensorId> attribute_only_;
  std::vector<ExternalPiece> external_;
  std::map<TensorId, ExternalPiece> external_of_;
};

void write_external_file(const Graph& g, const std::string& path,
                         const std::vector<ExternalPiece>& pieces) {
  AtomicFile out(path);
  static const char zeros[kExternalAlignment] = {};
  uint64_t pos = 0;
  for (const ExternalPiece& p : pieces) {
    out.write(zeros, size_t(p.offset - pos));
    out.write(g.tensor(p.tensor).data->data(), size_t(p.size));
    pos = p.offset + p.size;
  }
  out.commit();
}

// FNV-1a over the external pieces: names the data file after its contents, so that a model
// and its data file are replaced as a pair (a new model never reads an old file, nor an old
// model a new one).
uint64_t external_data_hash(const Graph& g, const std::vector<ExternalPiece>& pieces) {
  uint64_t h = 1469598103934665603ull;
  for (const ExternalPiece& p : pieces) {
    const auto* b = reinterpret_cast<const unsigned char*>(g.tensor(p.tensor).data->data());
    for (uint64_t i = 0; i < p.size; ++i) h = (h ^ b[i]) * 1099511628211ull;
    h = (h ^ p.offset) * 1099511628211ull;
  }
  return h;
}

// The data files earlier writes to `model` left (<model file>.<16 hex digits>.data), but `keep`.
std::vector<std::filesystem::path> stale_data_files(const std::string& model, const std::string& keep) {
  namespace fs = std::filesystem;
  const std::string stem = fs::path(model).filename().string() + ".";
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent_directory(model), ec)) {
    const std::string n = e.path().filename().string();
    if (n == keep || n.size() != stem.size() + 16 + 5 || n.compare(0, stem.size(), stem) != 0 ||
        n.compare(n.size() - 5, 5, ".data") != 0)
      continue;
    if (n.find_first_not_of("0123456789abcdef", stem.size()) == stem.size() + 16 && e.is_regular_file())
      out.push_back(e.path());
  }
  return out;
}

}  // namespace

int64_t onnx_ir_version_for_opset(int64_t opset) {
  // The IR version of the ONNX release that introduced each opset (onnx/helper.py's table),
  // but at least 4: from IR 4 on, initializers need not be listed as graph inputs.
  if (opset <= 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

std::string serialize_onnx(const Graph& graph, const OnnxWriteOptions& options) {
  onnx::ModelProto m = ModelWriter(graph, options).build("");
  std::string bytes;
  OCTET_CHECK(m.SerializeToString(&bytes), "serialize_onnx: protobuf serialization failed");
  return bytes;
}

void save_onnx(const Graph& graph, const std::string& path, const OnnxWriteOptions& options) {
  OCTET_CHECK(!path.empty(), "save_onnx: empty path");
  ModelWriter writer(graph, options);
  onnx::ModelProto m;
  // The data file's name holds the hash of its contents: known only once the pieces are laid
  // out, so the model is built twice when there is external data.
  std::string data_name = std::filesystem::path(path).filename().string() + ".data";
  try {
    m = writer.build(data_name);
    if (!writer.external().empty()) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx",
                    static_cast<unsigned long long>(external_data_hash(graph, writer.external())));
      data_name = std::filesystem::path(path).filename().string() + "." + hex + ".data";
      ModelWriter again(graph, options);
      m = again.build(data_name);
    }
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  std::string bytes;
  OCTET_CHECK(m.SerializeToString(&bytes), path, ": protobuf serialization failed");
  // Data first, under its own new name; then the model that names it. An interruption leaves
  // the old pair intact (plus an unreferenced data file).
  if (!writer.external().empty())
    write_external_file(graph, (std::filesystem::path(parent_directory(path)) / data_name).string(),
                        writer.external());
  write_file_bytes(path, bytes.data(), bytes.size());
  for (const std::filesystem::path& stale : stale_data_files(path, data_name)) {
    std::error_code ec;
    std::filesystem::remove(stale, ec);
  }
}

}  // namespace octet
