// Writer of the .octet format: the flatbuffer table first, then the constant buffers at
// 64-byte-aligned absolute offsets (see schemas/octet.fbs).
#include <cstdio>
#include <fstream>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "base/error.h"
#include "loaders/octet_format.h"

#include "base/atomic_file.h"
#include "schemas/octet_generated.h"

namespace octet {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

fb::Op op_of(const std::string& op_type, bool* custom) {
  static const std::unordered_map<std::string_view, fb::Op> ops = [] {
    std::unordered_map<std::string_view, fb::Op> m;
    for (fb::Op op : fb::EnumValuesOp())
      if (op != fb::Op::Custom) m.emplace(fb::EnumNameOp(op), op);
    return m;
  }();
  auto it = ops.find(op_type);
  *custom = it == ops.end();
  return *custom ? fb::Op::Custom : it->second;
}

// One region of the data section and the bytes that go there.
struct Placement {
  uint64_t offset = 0;  // relative to the data section until build() makes it absolute
  uint64_t size = 0;
  const std::byte* data = nullptr;
};

struct Plan {
  std::vector<Placement> buffers;   // in offset order
  std::vector<int64_t> buffer_of;   // per tensor: index into buffers, -1 when not a constant
};

// Validates what the reader would reject, and lays the constants out (sharing identical ones).
Plan plan_buffers(const Graph& g) {
  Plan plan;
  plan.buffer_of.assign(g.tensors.size(), -1);
  std::map<std::pair<const std::byte*, uint64_t>, int64_t> seen;
  uint64_t end = 0;
  const auto n = static_cast<int64_t>(g.tensors.size());
  OCTET_CHECK(n <= INT32_MAX, "save_octet: too many tensors (", n, ")");
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const TensorInfo& t = g.tensors[i];
    OCTET_CHECK(t.shape.rank() <= kOctetMaxRank, "save_octet: tensor '", t.name, "' has rank ",
                t.shape.rank(), ", more than ", kOctetMaxRank);
    OCTET_CHECK(t.shape.has_rank || t.shape.dims.empty(), "save_octet: tensor '", t.name,
                "' has dims but no rank");
    if (!t.is_constant()) continue;
    OCTET_CHECK(t.dtype != DType::kUndefined, "save_octet: constant '", t.name,
                "' has no dtype");
    OCTET_CHECK(t.shape.is_concrete(), "save_octet: constant '", t.name, "' has shape ",
                t.shape.to_string(), ", not concrete");
    const uint64_t bytes = dtype_storage_bytes(t.dtype, checked_numel(t.shape.concrete()));
    OCTET_CHECK(t.data->size() >= bytes, "save_octet: constant '", t.name, "' has ",
                t.data->size(), " bytes, its shape needs ", bytes);
    auto key = std::make_pair(t.data->data(), bytes);
    auto it = seen.find(key);
    if (it == seen.end()) {
      Placement p{align_up(end, kOctetBufferAlignment), bytes, t.data->data()};
      end = p.offset + p.size;
      it = seen.emplace(key, static_cast<int64_t>(plan.buffers.size())).first;
      plan.buffers.push_back(p);
    }
    plan.buffer_of[i] = it->second;
  }
  for (const Node& node : g.nodes) {
    for (TensorId id : node.inputs)
      OCTET_CHECK(id >= -1 && id < n, "save_octet: node '", node.name, "' has input id ", id);
    for (TensorId id : node.outputs)
      OCTET_CHECK(id >= -1 && id < n, "save_octet: node '", node.name, "' has output id ", id);
  }
  for (TensorId id : g.inputs)
    OCTET_CHECK(id >= 0 && id < n, "save_octet: graph input id ", id, " out of range");
  for (TensorId id : g.outputs)
    OCTET_CHECK(id >= 0 && id < n, "save_octet: graph output id ", id, " out of range");
  return plan;
}

Offset<fb::Attribute> write_attribute(FlatBufferBuilder& b, const std::string& name,
                                      const AttributeValue& value) {
  auto name_off = b.CreateString(name);
  fb::AttributeValue type = fb::AttributeValue::NONE;
  Offset<void> off;
  switch (value.index()) {
    case 0:
      type = fb::AttributeValue::IntValue;
      off = fb::CreateIntValue(b, std::get<int64_t>(value)).Union();
      break;
    case 1:
      type = fb::AttributeValue::FloatValue;
      off = fb::CreateFloatValue(b, std::get<float>(value)).Union();
      break;
    case 2:
      type = fb::AttributeValue::StringValue;
      off = fb::CreateStringValue(b, b.CreateString(std::get<std::string>(value))).Union();
      break;
    case 3:
      type = fb::AttributeValue::IntsValue;
      off = fb::CreateIntsValue(b, b.CreateVector(std::get<std::vector<int64_t>>(value))).Union();
      break;
    case 4:
      type = fb::AttributeValue::FloatsValue;
      off = fb::CreateFloatsValue(b, b.CreateVector(std::get<std::vector<float>>(value))).Union();
      break;
    case 5:
      type = fb::AttributeValue::StringsValue;
      off = fb::CreateStringsValue(b, b.CreateVectorOfStrings(
                                          std::get<std::vector<std::string>>(value)))
                .Union();
      break;
    default: fail("save_octet: attribute '", name, "' has an unknown type");
  }
  return fb::CreateAttribute(b, name_off, type, off);
}

Offset<fb::Tensor> write_tensor(FlatBufferBuilder& b, const TensorInfo& t,
                                const Placement* buffer, uint64_t base) {
  auto name = b.CreateString(t.name);
  std::vector<int64_t> dims;
  std::vector<std::string> symbols;
  bool any_symbol = false;
  for (const Dim& d : t.shape.dims) {
    dims.push_back(d.is_known() ? d.value : -1);
    symbols.push_back(d.symbol);
    any_symbol = any_symbol || !d.symbol.empty();
  }
  auto shape = b.CreateVector(dims);
  Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> shape_symbols;
  if (any_symbol) shape_symbols = b.CreateVectorOfStrings(symbols);
  Offset<fb::QuantParams> quant;
  const QuantParams& q = t.quant;
  const QuantParams defaults;
  if (!q.scale.empty() || !q.zero_point.empty() || q.axis != defaults.axis ||
      q.bitwidth != defaults.bitwidth || q.symmetric != defaults.symmetric ||
      q.block_size != defaults.block_size || q.strict)
    quant = fb::CreateQuantParams(b, b.CreateVector(q.scale), b.CreateVector(q.zero_point),
                                  q.axis, q.bitwidth, q.symmetric, q.block_size, q.strict);
  fb::BufferRef ref(buffer ? base + buffer->offset : 0, buffer ? buffer->size : 0);
  return fb::CreateTensor(b, name, static_cast<fb::DType>(t.dtype), t.shape.has_rank, shape,
                          shape_symbols, buffer ? &ref : nullptr, quant);
}

// Builds the flatbuffer with the data section starting at absolute offset `base`.
void build_table(FlatBufferBuilder& b, const Graph& g, const Plan& plan, uint64_t base) {
  std::vector<Offset<fb::Tensor>> tensors;
  tensors.reserve(g.tensors.size());
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const Placement* p = plan.buffer_of[i] >= 0 ? &plan.buffers[plan.buffer_of[i]] : nullptr;
    tensors.push_back(write_tensor(b, g.tensors[i], p, base));
  }
  std::vector<Offset<fb::Node>> nodes;
  nodes.reserve(g.nodes.size());
  for (const Node& node : g.nodes) {
    bool custom = false;
    fb::Op op = op_of(node.op_type, &custom);
    std::vector<Offset<fb::Attribute>> attrs;
    for (const auto& [name, value] : node.attrs.all())
      attrs.push_back(write_attribute(b, name, value));
    nodes.push_back(fb::CreateNode(b, b.CreateString(node.name), op,
                                   custom ? b.CreateString(node.op_type) : 0,
                                   b.CreateVector(node.inputs), b.CreateVector(node.outputs),
                                   b.CreateVector(attrs)));
  }
  auto model = fb::CreateModel(b, kOctetFormatMajor, kOctetFormatMinor,
                               b.CreateString("octet 0.1.0"), b.CreateString(g.name), g.opset,
                               b.CreateVector(tensors), b.CreateVector(nodes),
                               b.CreateVector(g.inputs), b.CreateVector(g.outputs));
  fb::FinishModelBuffer(b, model);
}

// The finished table plus where every buffer goes (absolute offsets).
struct Image {
  FlatBufferBuilder table;
  std::vector<Placement> buffers;
  uint64_t total = 0;
};

void make_image(const Graph& g, Image& image) {
  Plan plan = plan_buffers(g);
  // The table's size does not depend on the offsets it stores (BufferRef is a fixed-size
  // struct), so build once to measure, then again with the real offsets.
  FlatBufferBuilder probe;
  probe.ForceDefaults(true);
  build_table(probe, g, plan, 0);
  const uint64_t base = align_up(probe.GetSize(), kOctetBufferAlignment);
  image.table.ForceDefaults(true);
  build_table(image.table, g, plan, base);
  OCTET_CHECK(image.table.GetSize() == probe.GetSize(),
              "save_octet: internal error, the table changed size between passes");
  image.total = image.table.GetSize();
  for (Placement p : plan.buffers) {
    p.offset += base;
    image.total = p.offset + p.size;
    image.buffers.push_back(p);
  }
}

template <typename Sink>
void emit(const Image& image, Sink&& sink) {
  static const std::byte zeros[kOctetBufferAlignment] = {};
  uint64_t pos = image.table.GetSize();
  sink(reinterpret_cast<const std::byte*>(image.table.GetBufferPointer()), pos);
  for (const Placement& p : image.buffers) {
    if (p.offset > pos) sink(zeros, p.offset - pos);
    pos = p.offset;
    if (p.size) sink(p.data, p.size);
    pos += p.size;
  }
}

}  // namespace

std::vector<std::byte> save_octet_bytes(const Graph& graph) {
  Image image;
  make_image(graph, image);
  std::vector<std::byte> out;
  out.reserve(image.total);
  emit(image, [&](const std::byte* p, uint64_t n) { out.insert(out.end(), p, p + n); });
  return out;
}

void save_octet(const Graph& graph, const std::string& path) {
  Image image;
  try {
    make_image(graph, image);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  AtomicFile out(path);  // all or nothing: a failed write never leaves a partial model
  emit(image, [&](const std::byte* p, uint64_t n) { out.write(p, size_t(n)); });
  out.commit();
}

}  // namespace octet
