// A read-only memory mapping of a whole file (MAP_PRIVATE), unmapped when destroyed.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace octet {

class MappedFile {
 public:
  // Maps `path`; throws octet::Error naming the file when it cannot be opened or mapped.
  // An empty file gives a valid object with size() == 0 and data() == nullptr.
  static std::shared_ptr<const MappedFile> open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace octet
