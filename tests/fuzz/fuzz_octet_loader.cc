// libFuzzer target: any bytes given to the .octet reader end in a Graph or an octet::Error.
// A graph that loads is written back and read again.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "loaders/octet_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto g = octet::load_octet_bytes(reinterpret_cast<const std::byte*>(data), size, nullptr,
                                     "fuzz.octet");
    auto bytes = octet::save_octet_bytes(*g);
    octet::load_octet_bytes(bytes.data(), bytes.size(), nullptr, "rewritten.octet");
  } catch (const octet::Error&) {
  }
  return 0;
}
