#pragma once
// Where the tests find their data. The folders are compiled into test_paths.cc alone, so every
// other test file compiles to the same object in any checkout (the compiler cache serves a clone
// in another folder).
#include <string>

namespace octet::test {

std::string data_dir();                          // tests/data
std::string data_path(const std::string& name);  // tests/data/NAME
std::string onnx_node_tests_dir();               // ONNX's conformance cases, ../shared/onnx-node-tests

}  // namespace octet::test
