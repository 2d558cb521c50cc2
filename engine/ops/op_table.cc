// The op table: every group of op bindings, registered once per process.
#include "engine/op.h"
#include "engine/ops/op_groups.h"

namespace octet {

const OpRegistry& OpRegistry::instance() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_constant_of_shape_op(r);
    register_fake_quant_op(r);
    register_qdq_ops(r);
    register_core_ops(r);
    register_nn_conv_ops(r);
    register_nn_matmul_ops(r);
    register_nn_batchnorm_ops(r);
    register_nn_quantized_ops(r);
    register_activation_ops(r);
    register_binary_ops(r);
    register_pool_ops(r);
    register_movement_view_ops(r);
    register_movement_copy_ops(r);
    register_movement_pad_ops(r);
    register_movement_cast_ops(r);
    register_resize_ops(r);
    register_softmax_ops(r);
    register_reduce_ops(r);
    register_layernorm_ops(r);
    register_int_eltwise_ops(r);
    register_int_pool_ops(r);
    register_int_softmax_ops(r);
    register_int_resize_ops(r);
    register_onnx_integer_ops(r);
    return r;
  }();
  return registry;
}

}  // namespace octet
