// The .octet model format (schemas/octet.fbs): writer and memory-mapped reader.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace octet {

// Format version written by this build; files with a newer major version are rejected.
constexpr uint32_t kOctetFormatMajor = 1;
constexpr uint32_t kOctetFormatMinor = 0;
// Every constant buffer starts at a file offset that is a multiple of this.
constexpr size_t kOctetBufferAlignment = 64;
// Bounds the reader enforces on untrusted files.
constexpr size_t kOctetMaxRank = 16;
constexpr size_t kOctetMaxNameBytes = size_t(1) << 16;         // names, symbols, op names
constexpr size_t kOctetMaxStringAttrBytes = size_t(1) << 24;   // one string attribute value

// Writes `graph` to `path`; constant data goes into 64-byte-aligned buffers after the
// flatbuffer table, so files above 2 GB work and loading can use the bytes in place.
void save_octet(const Graph& graph, const std::string& path);
// Maps `path` and builds a Graph whose constants point into the mapping (zero copy).
// Runs the flatbuffers verifier, then semantic checks; errors name the file.
std::shared_ptr<Graph> load_octet(const std::string& path);
// True when the first bytes carry the .octet file identifier.
bool is_octet_file_header(const char* head, size_t size);

// What a load saw besides the graph.
struct OctetFileInfo {
  uint32_t format_major = 0;
  uint32_t format_minor = 0;
  std::string producer;
  const std::byte* data = nullptr;  // the bytes the constants point into (the mapping)
  size_t size = 0;
};

// load_octet that also reports the file's version, producer and mapping.
std::shared_ptr<Graph> load_octet(const std::string& path, OctetFileInfo* info);
// Parses an .octet image held in memory. Constants point into `data` (kept alive by `owner`)
// when `data` is 64-byte aligned; otherwise the image is first copied to aligned storage.
// `source` names the image in errors.
std::shared_ptr<Graph> load_octet_bytes(const std::byte* data, size_t size,
                                        std::shared_ptr<const void> owner,
                                        const std::string& source,
                                        OctetFileInfo* info = nullptr);
// The bytes save_octet would write.
std::vector<std::byte> save_octet_bytes(const Graph& graph);

}  // namespace octet
