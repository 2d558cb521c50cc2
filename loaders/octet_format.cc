#include "loaders/octet_format.h"

#include <cstring>

#include "schemas/octet_generated.h"

namespace octet {

bool is_octet_file_header(const char* head, size_t size) {
  // A flatbuffer keeps its 4-character identifier right after the root offset.
  return head && size >= 8 && std::memcmp(head + 4, fb::ModelIdentifier(), 4) == 0;
}

}  // namespace octet
