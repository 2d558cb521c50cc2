// Reader of the .octet format. The file is untrusted: the flatbuffers verifier runs first,
// then semantic checks (indices, shapes, sizes, enums, bounds), then the topological sort.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>

#include "base/error.h"
#include "loaders/mapped_file.h"
#include "loaders/octet_format.h"
#include "schemas/octet_generated.h"

namespace octet {
namespace {

// Copies a flatbuffers vector of scalars. The verifier checks the alignment of a
// vector's length field only, so in a corrupt file 8-byte elements may sit misaligned:
// read them bytewise.
template <typename T>
std::vector<T> copy_scalars(const flatbuffers::Vector<T>* v) {
  std::vector<T> out;
  if (!v || v->size() == 0) return out;
  out.resize(v->size());
  std::memcpy(out.data(), v->Data(), v->size() * sizeof(T));
  return out;
}


using FbString = flatbuffers::String;

class Reader {
 public:
  Reader(const std::byte* data, size_t size, std::shared_ptr<const void> owner,
         const std::string& source)
      : data_(data), size_(size), owner_(std::move(owner)), src_(source) {}

  std::shared_ptr<Graph> read(OctetFileInfo* info);

 private:
  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(src_, ": ", parts...);
  }
  std::string name(const FbString* s, size_t max, const char* what) const;
  void read_tensor(const fb::Tensor& t, size_t index, TensorInfo& out) const;
  void read_quant(const fb::QuantParams& q, const TensorInfo& t, size_t index,
                  QuantParams& out) const;
  void read_node(const fb::Node& n, size_t index, Node& out) const;
  AttributeValue read_attribute(const fb::Attribute& a, const Node& node,
                                std::string& name_out) const;
  TensorId tensor_id(int32_t id, bool optional, const char* what) const;

  const std::byte* data_;
  size_t size_;
  std::shared_ptr<const void> owner_;
  std::string src_;
  size_t tensor_count_ = 0;
};

std::string Reader::name(const FbString* s, size_t max, const char* what) const {
  if (!s) return {};
  if (s->size() > max) bad(what, " is ", s->size(), " bytes long, more than ", max);
  return std::string(s->c_str(), s->size());
}

TensorId Reader::tensor_id(int32_t id, bool optional, const char* what) const {
  if (optional && id == kNoTensor) return id;
  if (id < 0 || static_cast<size_t>(id) >= tensor_count_)
    bad(what, " refers to tensor ", id, ", but the file has ", tensor_count_, " tensors");
  return id;
}

std::shared_ptr<Graph> Reader::read(OctetFileInfo* info) {
  if (size_ < 8 || !is_octet_file_header(reinterpret_cast<const char*>(data_), size_))
    bad("not an .octet file (no \"", fb::ModelIdentifier(), "\" identifier)");
  // The table lies in the first 2 GB (flatbuffers' limit); buffers may lie beyond.
  const size_t verify_size = std::min<size_t>(size_, FLATBUFFERS_MAX_BUFFER_SIZE - 1);
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 16;
  // Every table takes at least 4 bytes, so a valid file never has more than this.
  opts.max_tables = static_cast<flatbuffers::uoffset_t>(std::min<size_t>(verify_size / 4 + 16,
                                                                          1u << 30));
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(data_), verify_size, opts);
  if (!fb::VerifyModelBuffer(verifier))
    bad("corrupt .octet file (the flatbuffers verifier rejected its table)");
  const fb::Model* model = fb::GetModel(data_);

  if (model->format_major() == 0) bad("no format version in the file");
  if (model->format_major() > kOctetFormatMajor)
    bad("written in .octet format ", model->format_major(), ".", model->format_minor(),
        " by a newer octet; this build reads format ", kOctetFormatMajor, ".x and older");
  if (info) {
    info->format_major = model->format_major();
    info->format_minor = model->format_minor();
    info->producer = name(model->producer(), kOctetMaxNameBytes, "the producer");
    info->data = data_;
    info->size = size_;
  }

  auto g = std::make_shared<Graph>();
  g->name = name(model->name(), kOctetMaxNameBytes, "the graph name");
  g->opset = model->opset();
  if (g->opset < 0 || g->opset > 10000) bad("opset ", g->opset, " is out of range");

  const auto* tensors = model->tensors();
  tensor_count_ = tensors ? tensors->size() : 0;
  if (tensor_count_ > static_cast<size_t>(std::numeric_limits<TensorId>::max()))
    bad(tensor_count_, " tensors, more than octet supports");
  g->tensors.resize(tensor_count_);
  for (size_t i = 0; i < tensor_count_; ++i) read_tensor(*tensors->Get(i), i, g->tensors[i]);
  g->reindex();

  if (const auto* nodes = model->nodes()) {
    g->nodes.resize(nodes->size());
    for (size_t i = 0; i < nodes->size(); ++i) read_node(*nodes->Get(i), i, g->nodes[i]);
  }
  if (const auto* ins = model->inputs())
    for (int32_t id : *ins) g->inputs.push_back(tensor_id(id, false, "a graph input"));
  if (const auto* outs = model->outputs())
    for (int32_t id : *outs) g->outputs.push_back(tensor_id(id, false, "a graph output"));

  try {
    g->topo_sort();
  } catch (const Error& e) {
    bad(e.what());
  }
  return g;
}

void Reader::read_tensor(const fb::Tensor& t, size_t index, TensorInfo& out) const {
  out.name = name(t.name(), kOctetMaxNameBytes, "a tensor name");
  auto where = [&] { return detail::concat("tensor ", index, " ('", out.name, "')"); };
  const auto dtype = static_cast<uint8_t>(t.dtype());
  if (dtype > static_cast<uint8_t>(fb::DType::MAX)) bad(where(), ": unknown dtype ", int(dtype));
  out.dtype = static_cast<DType>(dtype);

  out.shape.has_rank = t.rank_known();
  const std::vector<int64_t> dims = copy_scalars(t.shape());
  const auto* symbols = t.shape_symbols();
  const size_t rank = dims.size();
  if (!out.shape.has_rank && (rank || (symbols && symbols->size())))
    bad(where(), ": dimensions given for a shape of unknown rank");
  if (rank > kOctetMaxRank) bad(where(), ": rank ", rank, ", more than ", kOctetMaxRank);
  if (symbols && symbols->size() != 0 && symbols->size() != rank)
    bad(where(), ": ", symbols->size(), " dimension symbols for rank ", rank);
  out.shape.dims.resize(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t v = dims[d];
    if (v < -1) bad(where(), ": dimension ", d, " is ", v);
    out.shape.dims[d].value = v;
    if (symbols && symbols->size())
      out.shape.dims[d].symbol = name(symbols->Get(static_cast<flatbuffers::uoffset_t>(d)),
                                      kOctetMaxNameBytes, "a dimension symbol");
  }
  int64_t numel = -1;
  if (out.shape.is_concrete()) {
    try {
      numel = checked_numel(out.shape.concrete());
    } catch (const Error& e) {
      bad(where(), ": ", e.what());
    }
  }

  if (const fb::BufferRef* ref = t.data()) {
    if (out.dtype == DType::kUndefined) bad(where(), ": a constant without dtype");
    if (numel < 0) bad(where(), ": a constant with shape ", out.shape.to_string());
    const uint64_t offset = ref->offset(), size = ref->size();
    if (offset > size_ || size > size_ - offset)
      bad(where(), ": its data at bytes ", offset, "+", size, " lies outside the file (",
          size_, " bytes)");
    if (offset % kOctetBufferAlignment != 0)
      bad(where(), ": its data offset ", offset, " is not a multiple of ",
          kOctetBufferAlignment);
    // size <= file size, so bounding numel by it first keeps the product from overflowing.
    const uint64_t count = static_cast<uint64_t>(numel);
    const bool plausible = count <= size * 2 + 2;
    if (!plausible || dtype_storage_bytes(out.dtype, numel) != size)
      bad(where(), ": ", size, " data bytes, but ", dtype_name(out.dtype), " ",
          out.shape.to_string(), " needs ",
          plausible ? std::to_string(dtype_storage_bytes(out.dtype, numel)) : "far more");
    out.data = std::make_shared<Buffer>(data_ + offset, static_cast<size_t>(size), owner_);
  }
  if (const fb::QuantParams* q = t.quant()) read_quant(*q, out, index, out.quant);
}

void Reader::read_quant(const fb::QuantParams& q, const TensorInfo& t, size_t index,
                        QuantParams& out) const {
  auto where = [&] {
    return detail::concat("tensor ", index, " ('", t.name, "'): quantization parameters");
  };
  if (const auto* scale = q.scale()) {
    out.scale = copy_scalars(scale);
    for (float s : out.scale)
      if (!std::isfinite(s)) bad(where(), ": scale ", s, " is not finite");
  }
  out.zero_point = copy_scalars(q.zero_point());
  if (!out.zero_point.empty() && out.zero_point.size() != out.scale.size())
    bad(where(), ": ", out.zero_point.size(), " zero points for ", out.scale.size(), " scales");
  // The format's short form: no zero points means every zero point is 0. QuantParams always
  // holds one per scale, which is what its users index.
  if (out.zero_point.empty()) out.zero_point.assign(out.scale.size(), 0);
  out.axis = q.axis();
  out.bitwidth = q.bitwidth();
  out.symmetric = q.symmetric();
  out.block_size = q.block_size();
  if (q.strict().has_value()) {
    out.strict = *q.strict();
  } else {
    const int64_t strict_zero =
        out.bitwidth >= 2 && out.bitwidth <= 32 ? QuantParams::strict_zero_point(out.bitwidth) : -1;
    out.strict = out.symmetric && !out.zero_point.empty() &&
                 std::all_of(out.zero_point.begin(), out.zero_point.end(),
                             [&](int32_t z) { return z == strict_zero; });
  }
  if (out.axis < -1 || out.axis >= static_cast<int32_t>(kOctetMaxRank) ||
      (t.shape.has_rank && out.axis >= static_cast<int32_t>(t.shape.rank())))
    bad(where(), ": axis ", out.axis, " for shape ", t.shape.to_string());
  if (out.bitwidth < 1 || out.bitwidth > 32) bad(where(), ": bitwidth ", out.bitwidth);
  if (out.block_size < 0) bad(where(), ": block size ", out.block_size);
  try {
    check_quant_params(out, t.shape, where());
  } catch (const Error& e) {
    bad(e.what());
  }
}

void Reader::read_node(const fb::Node& n, size_t index, Node& out) const {
  out.name = name(n.name(), kOctetMaxNameBytes, "a node name");
  auto where = [&] { return detail::concat("node ", index, " ('", out.name, "')"); };
  const auto op = static_cast<uint16_t>(n.op());
  if (op > static_cast<uint16_t>(fb::Op::MAX))
    bad(where(), ": unknown op ", op, " (written by a newer octet?)");
  if (n.op() == fb::Op::Custom) {
    out.op_type = name(n.op_name(), kOctetMaxNameBytes, "an op name");
    if (out.op_type.empty()) bad(where(), ": a custom op without op name");
  } else {
    out.op_type = fb::EnumNameOp(n.op());
  }
  const std::string in_what = where() + " input", out_what = where() + " output";
  if (const auto* ins = n.inputs())
    for (int32_t id : *ins) out.inputs.push_back(tensor_id(id, true, in_what.c_str()));
  if (const auto* outs = n.outputs())
    for (int32_t id : *outs) out.outputs.push_back(tensor_id(id, true, out_what.c_str()));
  if (const auto* attrs = n.attributes()) {
    for (const fb::Attribute* a : *attrs) {
      std::string attr_name;
      AttributeValue v = read_attribute(*a, out, attr_name);
      if (out.attrs.has(attr_name)) bad(where(), ": attribute '", attr_name, "' given twice");
      out.attrs.set(attr_name, std::move(v));
    }
  }
}

AttributeValue Reader::read_attribute(const fb::Attribute& a, const Node& node,
                                      std::string& attr_name) const {
  attr_name = name(a.name(), kOctetMaxNameBytes, "an attribute name");
  auto where = [&] {
    return detail::concat("node '", node.name, "' attribute '", attr_name, "'");
  };
  if (attr_name.empty()) bad("node '", node.name, "': an attribute without name");
  if (!a.value()) bad(where(), ": no value");
  switch (a.value_type()) {
    case fb::AttributeValue::IntValue: return a.value_as_IntValue()->value();
    case fb::AttributeValue::FloatValue: return a.value_as_FloatValue()->value();
    case fb::AttributeValue::StringValue:
      return name(a.value_as_StringValue()->value(), kOctetMaxStringAttrBytes, where().c_str());
    case fb::AttributeValue::IntsValue: {
      return copy_scalars(a.value_as_IntsValue()->values());
    }
    case fb::AttributeValue::FloatsValue: {
      return copy_scalars(a.value_as_FloatsValue()->values());
    }
    case fb::AttributeValue::StringsValue: {
      std::vector<std::string> v;
      if (const auto* vals = a.value_as_StringsValue()->values()) {
        v.reserve(vals->size());
        const std::string what = where() + " element";
        for (const FbString* s : *vals) v.push_back(name(s, kOctetMaxStringAttrBytes, what.c_str()));
      }
      return v;
    }
    default:
      bad(where(), ": unknown attribute type ", static_cast<int>(a.value_type()));
  }
}

}  // namespace

std::shared_ptr<Graph> load_octet_bytes(const std::byte* data, size_t size,
                                        std::shared_ptr<const void> owner,
                                        const std::string& source, OctetFileInfo* info) {
  if (reinterpret_cast<uintptr_t>(data) % kOctetBufferAlignment != 0) {
    struct alignas(kOctetBufferAlignment) Block {
      std::byte b[kOctetBufferAlignment];
    };
    auto copy = std::make_shared<std::vector<Block>>((size + sizeof(Block) - 1) / sizeof(Block));
    if (size) std::memcpy(copy->data(), data, size);
    data = reinterpret_cast<const std::byte*>(copy->data());
    owner = copy;
  }
  return Reader(data, size, std::move(owner), source).read(info);
}

std::shared_ptr<Graph> load_octet(const std::string& path, OctetFileInfo* info) {
  auto file = MappedFile::open(path);
  // The Graph's constant Buffers hold `file`, so the mapping lives as long as they do.
  return Reader(file->data(), file->size(), file, path).read(info);
}

std::shared_ptr<Graph> load_octet(const std::string& path) { return load_octet(path, nullptr); }

}  // namespace octet
