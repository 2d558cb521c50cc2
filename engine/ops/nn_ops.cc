// Conv, ConvTranspose, Gemm, MatMul, BatchNormalization and their integer forms (QConv, QGemm,
// QMatMul): registered from the nn_*.cc and q_conv_gemm_ops.cc files.
#include "engine/op.h"
#include "engine/ops/op_groups.h"

namespace octet {

void register_nn_conv_ops(OpRegistry& r);       // nn_conv.cc
void register_nn_matmul_ops(OpRegistry& r);     // nn_matmul.cc
void register_nn_batchnorm_ops(OpRegistry& r);  // nn_batchnorm.cc
void register_nn_quantized_ops(OpRegistry& r);  // q_conv_gemm_ops.cc

void register_nn_ops(OpRegistry& r) {
  register_nn_conv_ops(r);
  register_nn_matmul_ops(r);
  register_nn_batchnorm_ops(r);
  register_nn_quantized_ops(r);
}

}  // namespace octet
