#include "loaders/model_loader.h"


#include "base/error.h"
#include "base/file_util.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_loader.h"

namespace octet {

std::shared_ptr<Graph> load_model(const std::string& path) {
  const std::vector<std::byte> head = read_file_head(path, 8);
  if (is_octet_file_header(reinterpret_cast<const char*>(head.data()), head.size())) return load_octet(path);
  return load_onnx(path);
}

}  // namespace octet
