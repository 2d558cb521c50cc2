// libFuzzer target: any bytes given to the .npy reader end in a HostTensor whose byte count
// matches its dtype and dims, or in an octet::Error; the same bytes given to the .npz reader
// end in such tensors, each named, or in an octet::Error (seeds: both kinds of file).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "loaders/npy.h"
#include "loaders/npz.h"

namespace {
void check(const octet::HostTensor& t) {
  if (t.bytes.size() != octet::dtype_storage_bytes(t.dtype, t.numel())) std::abort();
  if (!t.dims.empty() && t.dims[0] > 0) (void)octet::slice_rows(t, 0, 1);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    check(octet::parse_npy(data, size, "fuzz.npy"));
  } catch (const octet::Error&) {
  }
  try {
    for (const octet::HostTensor& t : octet::parse_npz(data, size, "fuzz.npz")) {
      if (t.name.empty()) std::abort();
      check(t);
    }
  } catch (const octet::Error&) {
  }
  return 0;
}
