#include "loaders/model_loader.h"

#include <cstring>
#include <fstream>

#include "engine/error.h"
#include "loaders/octet_format.h"
#include "loaders/onnx_loader.h"

namespace octet {

std::shared_ptr<Graph> load_model(const std::string& path) {
  char head[8] = {};
  {
    std::ifstream in(path, std::ios::binary);
    OCTET_CHECK(in, path, ": cannot open");
    in.read(head, sizeof head);
  }
  if (is_octet_file_header(head, sizeof head)) return load_octet(path);
  return load_onnx(path);
}

}  // namespace octet
