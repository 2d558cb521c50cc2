#include "tests/support/test_paths.h"

namespace octet::test {

std::string data_dir() { return OCTET_TEST_DATA_DIR; }
std::string data_path(const std::string& name) { return data_dir() + "/" + name; }
std::string onnx_node_tests_dir() { return OCTET_ONNX_NODE_TESTS_DIR; }

}  // namespace octet::test
