// libFuzzer target: any bytes given to the ONNX reader end in a Graph or an octet::Error.
// A graph that loads is also written as .octet and read back.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // base_dir is a folder without model data: external-data references fail cleanly.
    auto g = octet::load_onnx_bytes(data, size, "fuzz.onnx", "/nonexistent-octet-fuzz");
    auto bytes = octet::save_octet_bytes(*g);
    octet::load_octet_bytes(bytes.data(), bytes.size(), nullptr, "converted.octet");
  } catch (const octet::Error&) {
  }
  return 0;
}
