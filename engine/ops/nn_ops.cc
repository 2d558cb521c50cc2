// Conv, ConvTranspose, Gemm, MatMul, BatchNormalization: registered from the nn_*.cc files.
#include "engine/op.h"
#include "engine/ops/op_groups.h"

namespace octet {

void register_nn_conv_ops(OpRegistry& r);       // nn_conv.cc
void register_nn_matmul_ops(OpRegistry& r);     // nn_matmul.cc
void register_nn_batchnorm_ops(OpRegistry& r);  // nn_batchnorm.cc

void register_nn_ops(OpRegistry& r) {
  register_nn_conv_ops(r);
  register_nn_matmul_ops(r);
  register_nn_batchnorm_ops(r);
}

}  // namespace octet
