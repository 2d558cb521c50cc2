// NumPy .npy files (format versions 1.0-3.0, little-endian, C order).
#pragma once
#include <string>

#include "engine/host_tensor.h"

namespace octet {

// Reads a .npy file; dtypes f4, f8, i1, u1, i2, u2, i4, u4, i8, u8, b1. Errors name the file.
HostTensor load_npy(const std::string& path);
HostTensor parse_npy(const void* data, size_t size, const std::string& source);
// What a .npy holds, from its header alone (the file's size checked against it): to check
// data against a model before reading it.
struct NpyInfo {
  DType dtype = DType::kUndefined;
  Dims dims;
  size_t data_offset = 0, data_bytes = 0;
};
NpyInfo read_npy_info(const std::string& path);
NpyInfo parse_npy_header(const void* data, size_t size, const std::string& source);
// A data set: one .npy file, or a folder of them concatenated along axis 0 in file-name
// order (all must agree in dtype and in every dimension but the first).
HostTensor load_npy_dataset(const std::string& path);
// Rows [begin, end) along axis 0.
HostTensor slice_rows(const HostTensor& t, int64_t begin, int64_t end);
void save_npy(const std::string& path, const HostTensor& tensor);

}  // namespace octet
