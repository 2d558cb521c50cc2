// libFuzzer target: target profile JSON (engine/target_profile.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "engine/target_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    octet::parse_target_profile(std::string_view(reinterpret_cast<const char*>(data), size),
                                "fuzz_profile.json");
  } catch (const octet::Error&) {
  }
  return 0;
}
