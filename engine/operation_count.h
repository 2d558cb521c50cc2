// The work a run of a graph takes, estimated from its concrete shapes, and the limit a Session
// puts on it: a small model file can ask for hours of compute (a MaxPool with a huge window),
// the way it can ask for gigabytes.
//
// Per node: ops with a weight in the op table (ParamSlots::weight) count multiply-adds,
// output elements x weight elements per output channel (Conv: C/group x KH x KW, Gemm and
// MatMul: K); ops with a `kernel_shape` (pooling) count output elements x window; every other
// op the elements it reads and writes. An estimate for limits and `info`, not a timing.
#pragma once
#include <string>

#include "engine/graph.h"

namespace octet {

double estimate_node_operations(const Graph& g, const Node& n);
double estimate_operations(const Graph& g);  // the sum over the nodes

// The limit a Session uses when SessionOptions::max_operations is 0: none, unless
// set_default_operation_limit() gave one (the CLI's --max-ops). Thread-safe.
double default_operation_limit();
void set_default_operation_limit(double operations);  // 0: no limit
// "1000000", "5e9", "500M", "2G", "1T" (powers of 1000) -> a count; throws octet::Error otherwise.
double parse_operation_count(const std::string& text);
// "1.23 G operations", for messages.
std::string format_operation_count(double operations);

}  // namespace octet
