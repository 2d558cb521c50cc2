// libFuzzer target: AIMET encodings JSON. Text that parses is written back in every version
// the writer knows and read again; that second read must succeed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "quant/encodings_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  octet::quant::EncodingsFile file;
  try {
    file = octet::quant::parse_encodings_json(text, "fuzz.encodings");
  } catch (const octet::Error&) {
    return 0;
  }
  for (auto v : {octet::quant::EncodingsVersion::kV0_6_1, octet::quant::EncodingsVersion::kV1_0_0,
                 octet::quant::EncodingsVersion::kV2_0_0}) {
    std::string written;
    try {
      written = octet::quant::write_encodings_json(file, v);
    } catch (const octet::Error&) {
      continue;  // an encoding this version cannot express is refused by name
    }
    octet::quant::parse_encodings_json(written, "rewritten.encodings");  // must not throw
  }
  return 0;
}
