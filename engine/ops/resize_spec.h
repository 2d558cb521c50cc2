// The geometry of a Resize / Upsample node (engine/ops/misc_resize.cc), shared with
// octet.QResize (engine/ops/int_resize.cc) so both build identical source tables.
#pragma once
#include <cstddef>
#include <functional>

#include "engine/graph.h"
#include "kernels/resize.h"

namespace octet {

using ResizeInputFn = std::function<const TensorInfo*(size_t)>;  // null when omitted

struct ResizeSpec {
  kernels::ResizeParams params;  // actual layout
  Dims out;                      // output dims, actual layout
};

// Validates the attributes and the constant scales / sizes / roi inputs; `actual` is the
// input's dims in its actual layout (NHWC with `_layout`). Throws naming the node. The source
// tables (one entry per output index of each axis) are built only `with_tables` (prepare, once
// the output's size has passed the memory plan; shape inference needs the dims alone) and
// only for an output that has elements: a huge axis beside an empty one sizes nothing.
ResizeSpec resize_spec(const Node& n, int64_t opset, const Dims& actual, const ResizeInputFn& input,
                       bool with_tables = true);

}  // namespace octet
