// Reading whole files, with the file's name in every error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace octet {

// Every read of an outside file goes through these: only regular files are read (a FIFO or a
// device is refused, never waited on), sizes are bounded, and errors name the file.
std::vector<std::byte> read_file_bytes(const std::string& path, size_t max_bytes = size_t(1) << 40);
// At most the first `max_bytes` bytes (to sniff a format).
std::vector<std::byte> read_file_head(const std::string& path, size_t max_bytes);
// Reads `length` bytes at `offset`; errors name `path` and `what` (e.g. the tensor).
std::vector<std::byte> read_file_range(const std::string& path, uint64_t offset, uint64_t length,
                                       const std::string& what);
// `relative` (e.g. an ONNX external-data location) resolved inside `folder`, symbolic links
// included: absolute paths, `..` and links that lead outside `folder` are refused.
std::string resolve_inside(const std::string& folder, const std::string& relative,
                           const std::string& what);
std::vector<std::byte> read_file_range_inside(const std::string& folder,
                                              const std::string& relative, uint64_t offset,
                                              uint64_t length, const std::string& what);
std::string parent_directory(const std::string& path);
// Writes a whole file through AtomicFile (base/atomic_file.h): all or nothing.
void write_file_bytes(const std::string& path, const void* data, size_t size);

}  // namespace octet
