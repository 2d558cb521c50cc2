#include "loaders/file_util.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace octet {

std::vector<std::byte> read_file_bytes(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(path, ": ", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  uint64_t size = std::filesystem::file_size(path, ec);
  OCTET_CHECK(!ec, path, ": cannot read its size: ", ec.message());
  OCTET_CHECK(size <= max_bytes, path, ": ", size, " bytes, more than the limit of ", max_bytes);
  return read_file_range(path, 0, size, "the file");
}

std::vector<std::byte> read_file_range(const std::string& path, uint64_t offset, uint64_t length,
                                       const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  OCTET_CHECK(in, path, ": cannot open (", std::strerror(errno), ")");
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  OCTET_CHECK(!ec, path, ": cannot read its size: ", ec.message());
  OCTET_CHECK(offset <= size && length <= size - offset, path, ": ", what, " needs bytes ", offset,
              "..", offset + length, " but the file has ", size);
  std::vector<std::byte> bytes(length);
  in.seekg(static_cast<std::streamoff>(offset));
  if (length) in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(length));
  OCTET_CHECK(in.good() || (length == 0), path, ": read failed for ", what);
  return bytes;
}

std::string parent_directory(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

void write_file_bytes(const std::string& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  OCTET_CHECK(out, path, ": cannot create (", std::strerror(errno), ")");
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  OCTET_CHECK(out.good(), path, ": write failed");
}

}  // namespace octet
