// How much memory a Session may plan for its tensors before it allocates any.
#pragma once
#include <cstddef>
#include <string>

namespace octet {

// The machine's physical memory in bytes.
size_t physical_memory_bytes();
// The limit a Session uses when SessionOptions::max_memory_bytes is 0: physical memory,
// unless set_default_memory_limit() gave another (the CLI's --max-memory). Thread-safe.
size_t default_memory_limit();
void set_default_memory_limit(size_t bytes);  // 0: back to physical memory
// "1073741824", "512M", "4G", "1.5G" (powers of 1024) -> bytes; throws octet::Error otherwise.
size_t parse_byte_size(const std::string& text);
// "1.50 GiB", for messages.
std::string format_byte_size(size_t bytes);

}  // namespace octet
