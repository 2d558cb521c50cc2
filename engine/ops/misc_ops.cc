// Group entry for Resize/Upsample, Softmax/LogSoftmax, Reduce*, LayerNormalization;
// each lives in its own misc_*.cc file.
#include "engine/op.h"
#include "engine/ops/op_groups.h"

namespace octet {

void register_resize_ops(OpRegistry& r);     // misc_resize.cc
void register_softmax_ops(OpRegistry& r);    // misc_softmax.cc
void register_reduce_ops(OpRegistry& r);     // misc_reduce.cc
void register_layernorm_ops(OpRegistry& r);  // misc_layernorm.cc

void register_misc_ops(OpRegistry& r) {
  register_resize_ops(r);
  register_softmax_ops(r);
  register_reduce_ops(r);
  register_layernorm_ops(r);
}

}  // namespace octet
