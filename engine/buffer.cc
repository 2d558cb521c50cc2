#include "engine/buffer.h"

namespace octet {

std::shared_ptr<const Buffer> Buffer::from_vector(std::vector<std::byte> bytes) {
  auto storage = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  return std::make_shared<Buffer>(storage->data(), storage->size(), storage);
}

std::shared_ptr<const Buffer> Buffer::copy_of(const void* data, size_t size) {
  std::vector<std::byte> bytes(size);
  if (size) std::memcpy(bytes.data(), data, size);
  return from_vector(std::move(bytes));
}

}  // namespace octet
