#include "loaders/onnx_loader.h"

#include <onnx/onnx_pb.h>

#include <google/protobuf/io/coded_stream.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "base/error.h"
#include "base/file_util.h"

namespace octet {
namespace {

// Bounds for untrusted models.
constexpr int kMaxRank = 16;
constexpr size_t kMaxModelBytes = size_t(2) << 30;  // protobuf's own limit

DType dtype_from_onnx(int32_t t, const std::string& where) {
  switch (t) {
    case onnx::TensorProto_DataType_FLOAT: return DType::kF32;
    case onnx::TensorProto_DataType_DOUBLE: return DType::kF64;
    case onnx::TensorProto_DataType_FLOAT16: return DType::kF16;
    case onnx::TensorProto_DataType_INT8: return DType::kI8;
    case onnx::TensorProto_DataType_UINT8: return DType::kU8;
    case onnx::TensorProto_DataType_INT16: return DType::kI16;
    case onnx::TensorProto_DataType_UINT16: return DType::kU16;
    case onnx::TensorProto_DataType_INT32: return DType::kI32;
    case onnx::TensorProto_DataType_UINT32: return DType::kU32;
    case onnx::TensorProto_DataType_INT64: return DType::kI64;
    case onnx::TensorProto_DataType_UINT64: return DType::kU64;
    case onnx::TensorProto_DataType_BOOL: return DType::kBool;
    case 21: return DType::kU4;  // UINT4 (onnx >= 1.16)
    case 22: return DType::kI4;  // INT4
    default: break;
  }
  fail(where, ": tensor element type ", t, " is not supported");
}

Dims dims_of(const onnx::TensorProto& t, const std::string& where) {
  OCTET_CHECK(t.dims_size() <= kMaxRank, where, ": rank ", t.dims_size(), " exceeds ", kMaxRank);
  Dims dims;
  for (int64_t d : t.dims()) {
    OCTET_CHECK(d >= 0, where, ": negative dimension ", d);
    dims.push_back(d);
  }
  try {
    checked_numel(dims);
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  }
  return dims;
}

// Copies `count` values of a repeated field into `out` as type T.
template <typename T, typename Field>
void copy_field(const Field& field, int64_t count, std::vector<std::byte>& out,
                const std::string& where) {
  OCTET_CHECK(field.size() == count, where, ": has ", field.size(), " values, shape needs ", count);
  out.resize(count * sizeof(T));
  T* dst = reinterpret_cast<T*>(out.data());
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<T>(field.Get(static_cast<int>(i)));
}

std::vector<std::byte> read_external(const onnx::TensorProto& t, const std::string& base_dir,
                                     size_t expected, const std::string& where) {
  std::string location;
  uint64_t offset = 0, length = expected;
  bool has_length = false;
  for (const auto& kv : t.external_data()) {
    auto parse_u64 = [&](const std::string& s) {
      uint64_t v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      OCTET_CHECK(!s.empty() && ec == std::errc() && end == s.data() + s.size(), where,
                  ": external data ", kv.key(), " '", s.substr(0, 40), "' is ",
                  ec == std::errc::result_out_of_range ? "more than 2^64" : "not a number");
      return v;
    };
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = parse_u64(kv.value());
    else if (kv.key() == "length") { length = parse_u64(kv.value()); has_length = true; }
  }
  OCTET_CHECK(!location.empty(), where, ": external data without a location");
  OCTET_CHECK(!has_length || length == expected, where, ": external data length ", length,
              " does not match the ", expected, " bytes the shape needs");
  return read_file_range_inside(base_dir, location, offset, expected, where + ": external data");
}

}  // namespace

// Converts a TensorProto to dtype, dims and little-endian packed bytes.
HostTensor tensor_from_onnx(const onnx::TensorProto& t, const std::string& where,
                            const std::string& base_dir) {
  HostTensor out;
  out.name = t.name();
  out.dtype = dtype_from_onnx(t.data_type(), where);
  out.dims = dims_of(t, where);
  const int64_t count = checked_numel(out.dims);
  const size_t expected = dtype_storage_bytes(out.dtype, count);
  OCTET_CHECK(!t.has_segment(), where, ": segmented tensors are not supported");
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
    out.bytes = read_external(t, base_dir, expected, where);
    return out;
  }
  if (t.has_raw_data()) {
    OCTET_CHECK(t.raw_data().size() == expected, where, ": raw_data has ", t.raw_data().size(),
                " bytes, shape ", dims_to_string(out.dims), " of ", dtype_name(out.dtype), " needs ",
                expected);
    out.bytes.resize(expected);
    if (expected) std::memcpy(out.bytes.data(), t.raw_data().data(), expected);
    return out;
  }
  switch (out.dtype) {
    case DType::kF32: copy_field<float>(t.float_data(), count, out.bytes, where); break;
    case DType::kF64: copy_field<double>(t.double_data(), count, out.bytes, where); break;
    case DType::kI64: copy_field<int64_t>(t.int64_data(), count, out.bytes, where); break;
    case DType::kU32: copy_field<uint32_t>(t.uint64_data(), count, out.bytes, where); break;
    case DType::kU64: copy_field<uint64_t>(t.uint64_data(), count, out.bytes, where); break;
    case DType::kI32: copy_field<int32_t>(t.int32_data(), count, out.bytes, where); break;
    case DType::kI16: copy_field<int16_t>(t.int32_data(), count, out.bytes, where); break;
    case DType::kU16: case DType::kF16:
      copy_field<uint16_t>(t.int32_data(), count, out.bytes, where); break;
    case DType::kI8: copy_field<int8_t>(t.int32_data(), count, out.bytes, where); break;
    case DType::kU8: copy_field<uint8_t>(t.int32_data(), count, out.bytes, where); break;
    case DType::kBool: copy_field<uint8_t>(t.int32_data(), count, out.bytes, where); break;
    case DType::kI4: case DType::kU4: {
      // int32_data holds one packed byte pair per element pair? No: one value per element.
      const auto& f = t.int32_data();
      OCTET_CHECK(f.size() == (count + 1) / 2 || f.size() == count, where, ": has ", f.size(),
                  " values for ", count, " 4-bit elements");
      out.bytes.assign(expected, std::byte{0});
      if (f.size() == (count + 1) / 2 && f.size() != count) {
        for (int i = 0; i < f.size(); ++i) out.bytes[i] = static_cast<std::byte>(f.Get(i) & 0xff);
      } else {
        for (int64_t i = 0; i < count; ++i) {
          auto nib = static_cast<uint8_t>(f.Get(static_cast<int>(i)) & 0xf);
          out.bytes[i / 2] |= static_cast<std::byte>(i % 2 ? nib << 4 : nib);
        }
      }
      break;
    }
    default: fail(where, ": no data for type ", dtype_name(out.dtype));
  }
  return out;
}

namespace {

class OnnxGraphBuilder {
 public:
  OnnxGraphBuilder(const std::string& source, const std::string& base_dir)
      : source_(source), base_dir_(base_dir) {}

  std::shared_ptr<Graph> build(const onnx::ModelProto& model) {
    graph_ = std::make_shared<Graph>();
    read_opset(model);
    const onnx::GraphProto& g = model.graph();
    graph_->name = g.name();
    for (const auto& init : g.initializer()) add_initializer(init);
    for (const auto& vi : g.input()) add_input(vi);
    for (int n = 0; n < g.node_size(); ++n) add_node(g.node(n), n);
    for (const auto& vi : g.output()) {
      auto id = graph_->find_tensor(vi.name());
      OCTET_CHECK(id, source_, ": graph output '", vi.name(), "' is not produced by any node");
      graph_->outputs.push_back(*id);
      if (!graph_->tensor(*id).is_constant() && !graph_->is_graph_input(*id))
        apply_value_info(vi, graph_->tensor(*id));
    }
    OCTET_CHECK(!graph_->outputs.empty(), source_, ": the graph has no outputs");
    try {
      graph_->topo_sort();
    } catch (const Error& e) {
      fail(source_, ": ", e.what());
    }
    return graph_;
  }

 private:
  void read_opset(const onnx::ModelProto& model) {
    int64_t opset = -1;
    for (const auto& imp : model.opset_import())
      if (imp.domain().empty() || imp.domain() == "ai.onnx") opset = imp.version();
    if (opset < 0 && model.opset_import_size() == 0) opset = 1;  // IR v2 models
    OCTET_CHECK(opset >= 0, source_, ": the model imports no ai.onnx opset");
    OCTET_CHECK(opset >= kMinOnnxOpset && opset <= kMaxOnnxOpset, source_, ": ai.onnx opset ",
                opset, " is not supported (octet reads opsets ", kMinOnnxOpset, " to ",
                kMaxOnnxOpset, ")");
    graph_->opset = opset;
  }

  TensorId new_tensor(const std::string& name, const std::string& what) {
    OCTET_CHECK(!name.empty(), source_, ": ", what, " has an empty name");
    OCTET_CHECK(!graph_->find_tensor(name), source_, ": tensor '", name, "' is defined twice (",
                what, ")");
    TensorInfo t;
    t.name = name;
    return graph_->add_tensor(std::move(t));
  }

  void add_constant(const onnx::TensorProto& proto, const std::string& name,
                    const std::string& what) {
    HostTensor h = tensor_from_onnx(proto, source_ + ": " + what + " '" + name + "'", base_dir_);
    TensorId id = new_tensor(name, what);
    TensorInfo& t = graph_->tensor(id);
    t.dtype = h.dtype;
    t.shape = Shape::of(h.dims);
    t.data = Buffer::from_vector(std::move(h.bytes));
  }

  void add_initializer(const onnx::TensorProto& init) {
    add_constant(init, init.name(), "initializer");
  }

  void apply_value_info(const onnx::ValueInfoProto& vi, TensorInfo& t) {
    if (!vi.has_type()) return;  // graph outputs often carry no type: inferred later
    if (!vi.type().has_tensor_type()) fail(source_, ": '", vi.name(), "' is not a tensor");
    const auto& tt = vi.type().tensor_type();
    if (tt.elem_type() != 0) t.dtype = dtype_from_onnx(tt.elem_type(), source_ + ": '" + vi.name() + "'");
    if (!tt.has_shape()) return;
    OCTET_CHECK(tt.shape().dim_size() <= kMaxRank, source_, ": '", vi.name(), "' has rank ",
                tt.shape().dim_size());
    Shape s;
    s.has_rank = true;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (d.has_dim_value()) {
        OCTET_CHECK(d.dim_value() >= 0, source_, ": '", vi.name(), "' has negative dimension ",
                    d.dim_value());
        s.dims.push_back(Dim::known(d.dim_value()));
      } else {
        s.dims.push_back(Dim::symbolic(d.dim_param().empty() ? vi.name() + ":" + std::to_string(i)
                                                             : d.dim_param()));
      }
    }
    check_representable(s, source_ + ": '" + vi.name() + "'");
    t.shape = std::move(s);
  }

  void add_input(const onnx::ValueInfoProto& vi) {
    if (auto id = graph_->find_tensor(vi.name())) {
      // Old IR versions list initializers as inputs too: they stay constants.
      OCTET_CHECK(graph_->tensor(*id).is_constant(), source_, ": input '", vi.name(),
                  "' is listed twice");
      return;
    }
    TensorId id = new_tensor(vi.name(), "graph input");
    apply_value_info(vi, graph_->tensor(id));
    OCTET_CHECK(graph_->tensor(id).dtype != DType::kUndefined, source_, ": input '", vi.name(),
                "' has no element type");
    graph_->inputs.push_back(id);
  }

  AttributeValue convert_attribute(const onnx::AttributeProto& a, const std::string& where) {
    using A = onnx::AttributeProto;
    switch (a.type()) {
      case A::INT: return a.i();
      case A::FLOAT: return a.f();
      case A::STRING: return a.s();
      case A::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
      case A::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
      case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
      default: break;
    }
    // Attributes written without a type (very old exporters): infer from the fields set.
    if (a.type() == A::UNDEFINED) {
      if (a.has_i()) return a.i();
      if (a.has_f()) return a.f();
      if (a.has_s()) return a.s();
      if (a.ints_size()) return std::vector<int64_t>(a.ints().begin(), a.ints().end());
      if (a.floats_size()) return std::vector<float>(a.floats().begin(), a.floats().end());
    }
    fail(where, ": attribute '", a.name(), "' has a type octet does not read (",
         A::AttributeType_Name(a.type()), ")");
  }

  void add_constant_node(const onnx::NodeProto& n, const std::string& where) {
    OCTET_CHECK(n.output_size() == 1, where, ": Constant must have one output");
    OCTET_CHECK(n.attribute_size() == 1, where, ": Constant must have exactly one attribute");
    const auto& a = n.attribute(0);
    const std::string& name = n.output(0);
    if (a.name() == "value") {
      OCTET_CHECK(a.has_t(), where, ": Constant 'value' holds no tensor");
      add_constant(a.t(), name, "Constant");
      return;
    }
    HostTensor h;
    if (a.name() == "value_float") h = HostTensor::from<float>(name, {}, {a.f()});
    else if (a.name() == "value_int") h = HostTensor::from<int64_t>(name, {}, {a.i()});
    else if (a.name() == "value_floats")
      h = HostTensor::from<float>(name, {a.floats_size()}, {a.floats().begin(), a.floats().end()});
    else if (a.name() == "value_ints")
      h = HostTensor::from<int64_t>(name, {a.ints_size()}, {a.ints().begin(), a.ints().end()});
    else fail(where, ": Constant attribute '", a.name(), "' is not supported");
    TensorId id = new_tensor(name, "Constant");
    TensorInfo& t = graph_->tensor(id);
    t.dtype = h.dtype;
    t.shape = Shape::of(h.dims);
    t.data = Buffer::from_vector(std::move(h.bytes));
  }

  void add_node(const onnx::NodeProto& n, int index) {
    std::string name = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
    std::string where = source_ + ": node '" + name + "' (" + n.op_type() + ")";
    OCTET_CHECK(!n.op_type().empty(), where, ": the node has no op_type");
    bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
    if (default_domain && n.op_type() == "Constant") {
      add_constant_node(n, where);
      return;
    }
    Node node;
    node.name = name;
    node.op_type = default_domain ? n.op_type() : n.domain() + "::" + n.op_type();
    for (const std::string& in : n.input()) {
      if (in.empty()) {
        node.inputs.push_back(kNoTensor);
        continue;
      }
      auto id = graph_->find_tensor(in);
      // Nodes may be listed out of order; create the tensor now, the producer comes later.
      node.inputs.push_back(id ? *id : new_tensor(in, "node input"));
    }
    for (const std::string& out : n.output()) {
      if (out.empty()) {
        node.outputs.push_back(kNoTensor);
        continue;
      }
      auto id = graph_->find_tensor(out);
      if (id) {
        OCTET_CHECK(!graph_->tensor(*id).is_constant() && !graph_->is_graph_input(*id) &&
                        !produced_.count(*id),
                    where, ": output '", out, "' is already defined elsewhere");
        node.outputs.push_back(*id);
      } else {
        node.outputs.push_back(new_tensor(out, "node output"));
      }
      produced_.insert(node.outputs.back());
    }
    for (const auto& a : n.attribute()) {
      OCTET_CHECK(!a.name().empty(), where, ": an attribute has no name");
      // octet's passes keep their decisions in '_'-named attributes (_layout, _act_min, ...);
      // one read from a file would take effect unchecked (e.g. an NHWC layout on an NCHW tensor).
      OCTET_CHECK(a.name()[0] != '_', where, ": attribute '", a.name(),
                  "' starts with '_', which octet reserves for its own attributes; no ONNX op has one");
      if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS)
        continue;  // control flow: the op itself is reported as unsupported
      if (a.type() == onnx::AttributeProto::TENSOR) {
        // Kept as a constant tensor input named by the attribute (e.g. ConstantOfShape).
        std::string cname = name + ":" + a.name();
        add_constant(a.t(), cname, "attribute tensor");
        node.attrs.set("_tensor:" + a.name(), cname);
        continue;
      }
      node.attrs.set(a.name(), convert_attribute(a, where));
    }
    graph_->nodes.push_back(std::move(node));
  }

  std::string source_, base_dir_;
  std::shared_ptr<Graph> graph_;
  std::set<TensorId> produced_;
};

// Messages nested deeper than this (sub-graphs in attributes in nodes in graphs...) are refused:
// protobuf parses them recursively.
constexpr int kMaxNesting = 64;

bool parse_nested(onnx::ModelProto& model, const void* data, size_t size, int nesting) {
  google::protobuf::io::CodedInputStream stream(static_cast<const uint8_t*>(data),
                                                static_cast<int>(size));
  stream.SetTotalBytesLimit(static_cast<int>(std::min<size_t>(size + 1, INT32_MAX)));
  stream.SetRecursionLimit(nesting);
  return model.ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage();
}

onnx::ModelProto parse_model(const void* data, size_t size, const std::string& source) {
  OCTET_CHECK(size <= kMaxModelBytes, source, ": ", size, " bytes is more than protobuf can read");
  onnx::ModelProto model;
  if (!parse_nested(model, data, size, kMaxNesting)) {
    // Protobuf says only that parsing failed; a second try with a deeper limit tells a model
    // nested too deeply from a damaged one.
    onnx::ModelProto deeper;
    OCTET_CHECK(!parse_nested(deeper, data, size, 16 * kMaxNesting), source,
                ": its messages nest more than ", kMaxNesting,
                " levels deep (sub-graphs within sub-graphs), more than octet reads");
    fail(source, ": not a valid ONNX model (protobuf parse failed)");
  }
  OCTET_CHECK(model.has_graph(), source, ": the ONNX model has no graph");
  return model;
}

}  // namespace

std::shared_ptr<Graph> load_onnx_bytes(const void* data, size_t size, const std::string& source,
                                       const std::string& base_dir) {
  onnx::ModelProto model = parse_model(data, size, source);
  return OnnxGraphBuilder(source, base_dir).build(model);
}

std::shared_ptr<Graph> load_onnx(const std::string& path) {
  std::vector<std::byte> bytes = read_file_bytes(path, kMaxModelBytes);
  return load_onnx_bytes(bytes.data(), bytes.size(), path, parent_directory(path));
}

HostTensor load_onnx_tensor_file(const std::string& path) {
  std::vector<std::byte> bytes = read_file_bytes(path, kMaxModelBytes);
  onnx::TensorProto t;
  OCTET_CHECK(t.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())), path,
              ": not a valid ONNX TensorProto");
  return tensor_from_onnx(t, path, parent_directory(path));
}

}  // namespace octet
