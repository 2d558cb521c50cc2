// Streams samples from a .npy file or a folder of them (joined along axis 0 in name order),
// one file in memory at a time: calibration memory stays bounded by the largest file.
#pragma once
#include <string>
#include <vector>

#include "engine/host_tensor.h"

namespace octet::quant {

class NpyBatchStream {
 public:
  explicit NpyBatchStream(const std::string& path);
  // The next file's samples; false at the end. Files must agree in dtype and trailing dims.
  bool next(HostTensor& out);
  // Samples in all files (read from the headers' shapes when opening).
  int64_t total_samples() const { return total_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::vector<std::string> files_;
  size_t index_ = 0;
  int64_t total_ = 0;
  HostTensor first_;  // dtype/dims of the first file, for checks
};

}  // namespace octet::quant
