#include "loaders/npy.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/file_util.h"

namespace octet {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr int kMaxRank = 16;
constexpr size_t kMaxHeaderBytes = 65535;  // format 1.0's limit; longer headers are hostile

struct DescrEntry {
  const char* descr;
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kF32}, {"<f8", DType::kF64}, {"|i1", DType::kI8},  {"|u1", DType::kU8},
    {"<i2", DType::kI16}, {"<u2", DType::kU16}, {"<i4", DType::kI32}, {"<u4", DType::kU32},
    {"<i8", DType::kI64}, {"<u8", DType::kU64}, {"|b1", DType::kBool}, {"<f2", DType::kF16},
};

// The header is a Python dict literal with exactly the keys 'descr' (a string),
// 'fortran_order' (True / False) and 'shape' (a tuple of integers), e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Parsed by hand in one pass, with no recursion: every loop advances through the header.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Dims shape;
};

class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  NpyHeader parse() {
    NpyHeader h;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal("a key");
      expect(':');
      skip_space();
      if (key == "descr") {
        OCTET_CHECK(!has_descr, source_, ": .npy header gives 'descr' twice");
        OCTET_CHECK(peek() == '\'' || peek() == '"', source_,
                    ": .npy 'descr' is not a string (structured dtypes are not supported)");
        h.descr = string_literal("'descr'");
        has_descr = true;
      } else if (key == "fortran_order") {
        OCTET_CHECK(!has_order, source_, ": .npy header gives 'fortran_order' twice");
        h.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape") {
        OCTET_CHECK(!has_shape, source_, ": .npy header gives 'shape' twice");
        h.shape = tuple();
        has_shape = true;
      } else {
        bad("unexpected key '" + key.substr(0, 32) + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') bad("expected ',' or '}'");
    }
    ++pos_;
    skip_space();
    OCTET_CHECK(pos_ == s_.size(), source_, ": .npy header has text after its dict");
    OCTET_CHECK(has_descr, source_, ": .npy header has no 'descr'");
    OCTET_CHECK(has_order, source_, ": .npy header has no 'fortran_order'");
    OCTET_CHECK(has_shape, source_, ": .npy header has no 'shape'");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(source_, ": .npy header: ", what, " at byte ", pos_);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal(const char* what) {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad(std::string("expected ") + what + " in quotes");
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') bad("escapes are not supported in strings");
      ++pos_;
    }
    if (pos_ >= s_.size()) bad("unterminated string");
    OCTET_CHECK(pos_ - start <= kMaxStringBytes, source_, ": .npy header: ", what, " of ",
                pos_ - start, " characters is longer than ", kMaxStringBytes);
    return std::string(s_.substr(start, pos_++ - start));
  }
  bool boolean() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("'fortran_order' must be True or False");
  }
  Dims tuple() {
    if (peek() != '(') bad("'shape' must be a tuple");
    ++pos_;
    Dims dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') bad("expected a dimension");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        OCTET_CHECK(v <= (kMaxTensorElements - 9) / 10, source_, ": .npy dimension at byte ", pos_,
                    " is larger than 2^48");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 long
      OCTET_CHECK(dims.size() < size_t(kMaxRank), source_, ": .npy shape has more than ", kMaxRank,
                  " dimensions");
      dims.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') bad("expected ',' or ')' in 'shape'");
    }
    ++pos_;
    return dims;
  }

  static constexpr size_t kMaxStringBytes = 64;  // dtype strings are a few characters
  std::string_view s_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

NpyInfo parse_npy_header(const void* data, size_t size, const std::string& source) {
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
  OCTET_CHECK(header_len <= size - offset, source, ": truncated .npy header");
  OCTET_CHECK(header_len <= kMaxHeaderBytes, source, ": .npy header of ", header_len,
              " bytes is larger than the limit of ", kMaxHeaderBytes);
  std::string header(reinterpret_cast<const char*>(p + offset), header_len);
  offset += header_len;

  const NpyHeader h = NpyHeaderParser(header, source).parse();
  std::string descr = h.descr;
  if (descr == "<b1" || descr == "b1") descr = "|b1";
  if (descr == "<i1") descr = "|i1";
  if (descr == "<u1") descr = "|u1";
  DType dtype = DType::kUndefined;
  for (const auto& e : kDescrs)
    if (descr == e.descr) dtype = e.dtype;
  OCTET_CHECK(dtype != DType::kUndefined, source, ": .npy dtype '", descr,
              "' is not supported (little-endian numeric types only)");
  OCTET_CHECK(!h.fortran_order, source, ": Fortran-ordered arrays are not supported");
  NpyInfo info{dtype, h.shape, offset, 0};
  info.data_bytes = dtype_storage_bytes(dtype, checked_numel(info.dims));
  return info;
}

HostTensor parse_npy(const void* data, size_t size, const std::string& source) {
  const NpyInfo info = parse_npy_header(data, size, source);
  const auto* p = static_cast<const unsigned char*>(data);
  OCTET_CHECK(size - info.data_offset == info.data_bytes, source, ": data has ", size - info.data_offset,
              " bytes, shape ", dims_to_string(info.dims), " of ", dtype_name(info.dtype), " needs ",
              info.data_bytes);
  HostTensor t;
  t.dtype = info.dtype;
  t.dims = info.dims;
  t.bytes.resize(info.data_bytes);
  if (info.data_bytes) std::memcpy(t.bytes.data(), p + info.data_offset, info.data_bytes);
  return t;
}

NpyInfo read_npy_info(const std::string& path) {
  const std::vector<std::byte> head = read_file_head(path, kMaxHeaderBytes + 12);
  NpyInfo info = parse_npy_header(head.data(), head.size(), path);
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  OCTET_CHECK(!ec && size - info.data_offset == info.data_bytes, path, ": data has ",
              ec ? 0 : size - info.data_offset, " bytes, shape ", dims_to_string(info.dims), " of ",
              dtype_name(info.dtype), " needs ", info.data_bytes);
  return info;
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
    all.dims[0] += part.dims[0];  // both at most 2^48: no overflow
    checked_numel(all.dims);
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
