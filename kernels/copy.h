// Plain byte copies, parallel for large tensors.
#pragma once
#include <cstddef>

namespace octet::kernels {

void copy_bytes(const void* src, void* dst, size_t bytes, int threads);

}  // namespace octet::kernels
