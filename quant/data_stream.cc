#include "quant/data_stream.h"

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "loaders/npy.h"

namespace octet::quant {

NpyBatchStream::NpyBatchStream(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path))
      if (entry.is_regular_file() && entry.path().extension() == ".npy")
        files_.push_back(entry.path().string());
    std::sort(files_.begin(), files_.end());
    OCTET_CHECK(!files_.empty(), path, ": the folder holds no .npy files");
  } else {
    files_.push_back(path);
  }
  // Headers only would do; the files are read once more when streamed.
  for (const std::string& f : files_) {
    HostTensor t = load_npy(f);
    OCTET_CHECK(!t.dims.empty(), f, ": data needs a sample dimension (axis 0)");
    if (total_ == 0 && first_.dims.empty()) {
      first_.dtype = t.dtype;
      first_.dims = t.dims;
    }
    OCTET_CHECK(t.dtype == first_.dtype && t.dims.size() == first_.dims.size() &&
                    std::equal(t.dims.begin() + 1, t.dims.end(), first_.dims.begin() + 1),
                f, ": dtype/shape ", dtype_name(t.dtype), dims_to_string(t.dims),
                " does not match ", files_[0], " (", dtype_name(first_.dtype),
                dims_to_string(first_.dims), ") beyond axis 0");
    total_ += t.dims[0];
  }
}

bool NpyBatchStream::next(HostTensor& out) {
  if (index_ >= files_.size()) return false;
  out = load_npy(files_[index_++]);
  return true;
}

}  // namespace octet::quant
