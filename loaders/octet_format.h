// The .octet model format (schemas/octet.fbs): writer and memory-mapped reader.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "engine/graph.h"

namespace octet {

// Writes `graph` to `path`; constant data goes into 64-byte-aligned buffers after the
// flatbuffer table, so files above 2 GB work and loading can use the bytes in place.
void save_octet(const Graph& graph, const std::string& path);
// Maps `path` and builds a Graph whose constants point into the mapping (zero copy).
// Runs the flatbuffers verifier, then semantic checks; errors name the file.
std::shared_ptr<Graph> load_octet(const std::string& path);
// True when the first bytes carry the .octet file identifier.
bool is_octet_file_header(const char* head, size_t size);

}  // namespace octet
