// libFuzzer target: AIMET quantsim config JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "quant/quantsim_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    octet::quant::QuantsimConfig::parse(std::string_view(reinterpret_cast<const char*>(data), size),
                                        "fuzz_config.json");
  } catch (const octet::Error&) {
  }
  return 0;
}
