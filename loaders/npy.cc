#include "loaders/npy.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <regex>

#include "engine/error.h"
#include "loaders/file_util.h"

namespace octet {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr int kMaxRank = 16;

struct DescrEntry {
  const char* descr;
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kF32}, {"<f8", DType::kF64}, {"|i1", DType::kI8},  {"|u1", DType::kU8},
    {"<i2", DType::kI16}, {"<u2", DType::kU16}, {"<i4", DType::kI32}, {"<u4", DType::kU32},
    {"<i8", DType::kI64}, {"<u8", DType::kU64}, {"|b1", DType::kBool}, {"<f2", DType::kF16},
};

}  // namespace

HostTensor parse_npy(const void* data, size_t size, const std::string& source) {
  const auto* p = static_cast<const unsigned char*>(data);
  OCTET_CHECK(size >= 10 && std::memcmp(p, kMagic, 6) == 0, source, ": not a .npy file");
  const int major = p[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = p[8] | (p[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    OCTET_CHECK(size >= 12, source, ": truncated .npy header");
    header_len = p[8] | (p[9] << 8) | (size_t(p[10]) << 16) | (size_t(p[11]) << 24);
    offset = 12;
  } else {
    fail(source, ": .npy format version ", major, " is not supported");
  }
  OCTET_CHECK(header_len <= size - offset && header_len < (1u << 20), source,
              ": truncated .npy header");
  std::string header(reinterpret_cast<const char*>(p + offset), header_len);
  offset += header_len;

  std::smatch m;
  OCTET_CHECK(std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'")), source,
              ": .npy header has no 'descr'");
  std::string descr = m[1];
  if (descr == "<b1" || descr == "b1") descr = "|b1";
  if (descr == "<i1") descr = "|i1";
  if (descr == "<u1") descr = "|u1";
  DType dtype = DType::kUndefined;
  for (const auto& e : kDescrs)
    if (descr == e.descr) dtype = e.dtype;
  OCTET_CHECK(dtype != DType::kUndefined, source, ": .npy dtype '", descr,
              "' is not supported (little-endian numeric types only)");
  OCTET_CHECK(std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*(True|False)")),
              source, ": .npy header has no 'fortran_order'");
  OCTET_CHECK(m[1] == "False", source, ": Fortran-ordered arrays are not supported");
  OCTET_CHECK(std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")), source,
              ": .npy header has no 'shape'");
  Dims dims;
  std::string shape = m[1];
  std::regex number("(\\d+)");
  for (auto it = std::sregex_iterator(shape.begin(), shape.end(), number);
       it != std::sregex_iterator(); ++it) {
    std::string digits = (*it)[1];
    OCTET_CHECK(digits.size() <= 15, source, ": dimension ", digits, " is too large");
    dims.push_back(std::stoll(digits));
  }
  OCTET_CHECK(dims.size() <= kMaxRank, source, ": rank ", dims.size(), " is too large");
  HostTensor t;
  t.dtype = dtype;
  t.dims = dims;
  int64_t count = checked_numel(dims);
  size_t bytes = dtype_storage_bytes(dtype, count);
  OCTET_CHECK(size - offset == bytes, source, ": data has ", size - offset, " bytes, shape ",
              dims_to_string(dims), " of ", dtype_name(dtype), " needs ", bytes);
  t.bytes.resize(bytes);
  if (bytes) std::memcpy(t.bytes.data(), p + offset, bytes);
  return t;
}

HostTensor load_npy(const std::string& path) {
  std::vector<std::byte> bytes = read_file_bytes(path);
  return parse_npy(bytes.data(), bytes.size(), path);
}

HostTensor load_npy_dataset(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return load_npy(path);
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(path))
    if (entry.is_regular_file() && entry.path().extension() == ".npy")
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  OCTET_CHECK(!files.empty(), path, ": the folder holds no .npy files");
  HostTensor all = load_npy(files[0]);
  OCTET_CHECK(!all.dims.empty(), files[0], ": a data set needs at least one dimension");
  for (size_t i = 1; i < files.size(); ++i) {
    HostTensor part = load_npy(files[i]);
    OCTET_CHECK(part.dtype == all.dtype, files[i], ": dtype ", dtype_name(part.dtype),
                " differs from ", dtype_name(all.dtype), " of ", files[0]);
    OCTET_CHECK(part.dims.size() == all.dims.size() &&
                    std::equal(part.dims.begin() + 1, part.dims.end(), all.dims.begin() + 1),
                files[i], ": shape ", dims_to_string(part.dims), " does not match ",
                dims_to_string(all.dims), " of ", files[0], " beyond the first dimension");
    all.dims[0] += part.dims[0];
    all.bytes.insert(all.bytes.end(), part.bytes.begin(), part.bytes.end());
  }
  return all;
}

HostTensor slice_rows(const HostTensor& t, int64_t begin, int64_t end) {
  OCTET_CHECK(!t.dims.empty() && begin >= 0 && begin <= end && end <= t.dims[0],
              "rows ", begin, "..", end, " out of range for shape ", dims_to_string(t.dims));
  HostTensor out;
  out.name = t.name;
  out.dtype = t.dtype;
  out.dims = t.dims;
  out.dims[0] = end - begin;
  size_t row = t.dims[0] ? t.bytes.size() / static_cast<size_t>(t.dims[0]) : 0;
  out.bytes.assign(t.bytes.begin() + begin * row, t.bytes.begin() + end * row);
  return out;
}

void save_npy(const std::string& path, const HostTensor& tensor) {
  const char* descr = nullptr;
  for (const auto& e : kDescrs)
    if (e.dtype == tensor.dtype) descr = e.descr;
  OCTET_CHECK(descr, path, ": cannot write dtype ", dtype_name(tensor.dtype), " to .npy");
  std::string shape;
  for (int64_t d : tensor.dims) shape += std::to_string(d) + ",";
  if (tensor.dims.size() > 1) shape.pop_back();
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" +
                       shape + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<std::byte> out(10 + header.size() + tensor.bytes.size());
  std::memcpy(out.data(), kMagic, 6);
  out[6] = std::byte{1};
  out[7] = std::byte{0};
  out[8] = static_cast<std::byte>(header.size() & 0xff);
  out[9] = static_cast<std::byte>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (!tensor.bytes.empty())
    std::memcpy(out.data() + 10 + header.size(), tensor.bytes.data(), tensor.bytes.size());
  write_file_bytes(path, out.data(), out.size());
}

}  // namespace octet
