// Loads a model from a .onnx or .octet file (chosen by content, not by extension).
#pragma once
#include <memory>
#include <string>

#include "engine/graph.h"

namespace octet {

std::shared_ptr<Graph> load_model(const std::string& path);

}  // namespace octet
