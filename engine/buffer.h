// Immutable bytes of a constant tensor. The owner keeps the storage alive: a vector
// filled by a loader, or a memory-mapped file whose bytes are used in place.
#pragma once
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace octet {

class Buffer {
 public:
  Buffer() = default;
  Buffer(const std::byte* data, size_t size, std::shared_ptr<const void> owner)
      : data_(data), size_(size), owner_(std::move(owner)) {}

  // Takes ownership of a copy of the bytes.
  static std::shared_ptr<const Buffer> copy_of(const void* data, size_t size);
  static std::shared_ptr<const Buffer> from_vector(std::vector<std::byte> bytes);

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data_); }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> owner_;
};

using BufferPtr = std::shared_ptr<const Buffer>;

}  // namespace octet
