// The ai.onnx operators whose form changed between opsets (an attribute became an input, an
// axis rule changed), and the rewrite of a node from its old form to its new one. Writers that
// must declare a higher opset than the model's (the QDQ export needs 13 for per-channel
// encodings) upgrade the graph instead of refusing it.
#pragma once
#include <cstdint>
#include <string>

#include "engine/graph.h"

namespace octet {

// The opset in (from, to] at which `op`'s form changed so that a node written for `from` means
// something else, or is invalid, at `to`; 0 when none did. Most new versions only add types:
// those keep a node's meaning.
int64_t onnx_op_form_change(const std::string& op, int64_t from, int64_t to);

// Rewrites every node of `g` (written for g.opset) into the form it has at opset `to`, with the
// same meaning as octet gives the old form, and sets g.opset = to. Constants the new forms take
// as inputs (Clip's bounds, Pad's pads, Slice's starts, Squeeze's axes, ...) are added to the
// graph. Throws, naming the node, where the new form cannot say the same (BatchNormalization
// with spatial = 0, a Resize-10 that both up- and downsamples in nearest mode, a coerced
// Softmax whose input rank is unknown).
void upgrade_op_forms(Graph& g, int64_t to);

}  // namespace octet
