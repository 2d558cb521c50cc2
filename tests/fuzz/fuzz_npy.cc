// libFuzzer target: any bytes given to the .npy reader end in a HostTensor whose byte count
// matches its dtype and dims, or in an octet::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "loaders/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const octet::HostTensor t = octet::parse_npy(data, size, "fuzz.npy");
    if (t.bytes.size() != octet::dtype_storage_bytes(t.dtype, t.numel())) std::abort();
    if (!t.dims.empty() && t.dims[0] > 0) (void)octet::slice_rows(t, 0, 1);
  } catch (const octet::Error&) {
  }
  return 0;
}
