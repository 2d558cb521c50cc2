// The integer-graph ops of issue 4 (conventions: /work/notes/int_ops.md), except the
// QConv / QGemm / QMatMul group.
#include "engine/op.h"
#include "engine/ops/op_groups.h"

namespace octet {

void register_int_eltwise_ops(OpRegistry& r);  // int_eltwise.cc: QAdd, QMul, Requantize, QLookup
void register_int_pool_ops(OpRegistry& r);     // int_pool.cc: QAveragePool, QGlobalAveragePool
void register_int_softmax_ops(OpRegistry& r);  // int_softmax.cc: QSoftmax
void register_int_resize_ops(OpRegistry& r);   // int_resize.cc: QResize

void register_int_ops(OpRegistry& r) {
  register_int_eltwise_ops(r);
  register_int_pool_ops(r);
  register_int_softmax_ops(r);
  register_int_resize_ops(r);
}

}  // namespace octet
