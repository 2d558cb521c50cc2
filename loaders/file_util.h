// Reading whole files, with the file's name in every error.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace octet {

std::vector<std::byte> read_file_bytes(const std::string& path, size_t max_bytes = size_t(1) << 40);
// Reads `length` bytes at `offset`; errors name `path` and `what` (e.g. the tensor).
std::vector<std::byte> read_file_range(const std::string& path, uint64_t offset, uint64_t length,
                                       const std::string& what);
std::string parent_directory(const std::string& path);
void write_file_bytes(const std::string& path, const void* data, size_t size);

}  // namespace octet
