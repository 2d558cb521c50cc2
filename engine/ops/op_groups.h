// Registration entry points, one per file of op bindings in engine/ops/; op_table.cc calls
// every one of them.
#pragma once

namespace octet {
class OpRegistry;
void register_core_ops(OpRegistry& r);               // core_ops.cc: Identity, Dropout (inference)
void register_constant_of_shape_op(OpRegistry& r);   // constant_of_shape.cc
void register_fake_quant_op(OpRegistry& r);          // fake_quant_op.cc: octet.QuantizeDequantize
void register_qdq_ops(OpRegistry& r);                // qdq_ops.cc: (Dynamic)QuantizeLinear, DequantizeLinear
void register_nn_conv_ops(OpRegistry& r);            // nn_conv.cc: Conv, ConvTranspose
void register_nn_matmul_ops(OpRegistry& r);          // nn_matmul.cc: Gemm, MatMul
void register_nn_batchnorm_ops(OpRegistry& r);       // nn_batchnorm.cc: BatchNormalization
void register_nn_quantized_ops(OpRegistry& r);       // q_conv_gemm_ops.cc: octet.QConv, QGemm, QMatMul
void register_activation_ops(OpRegistry& r);         // activation_ops.cc: unary pointwise, Clip, PRelu
void register_binary_ops(OpRegistry& r);             // binary_ops.cc: Add, Sub, Mul, ..., Sum, Where
void register_pool_ops(OpRegistry& r);               // pool_ops.cc: MaxPool, AveragePool, Global*Pool
void register_movement_view_ops(OpRegistry& r);      // movement_view_ops.cc: Reshape, Flatten, Squeeze, Unsqueeze, Shape
void register_movement_copy_ops(OpRegistry& r);      // movement_copy_ops.cc: Transpose, Concat, Split, Slice, Gather, ...
void register_movement_pad_ops(OpRegistry& r);       // movement_pad_ops.cc: Pad, Tile
void register_movement_cast_ops(OpRegistry& r);      // movement_cast_ops.cc: Cast
void register_resize_ops(OpRegistry& r);             // misc_resize.cc: Resize, Upsample
void register_softmax_ops(OpRegistry& r);            // misc_softmax.cc: Softmax, LogSoftmax
void register_reduce_ops(OpRegistry& r);             // misc_reduce.cc: Reduce*
void register_layernorm_ops(OpRegistry& r);          // misc_layernorm.cc: LayerNormalization
void register_int_eltwise_ops(OpRegistry& r);        // int_eltwise.cc: octet.QAdd, QMul, Requantize, QLookup
void register_int_pool_ops(OpRegistry& r);           // int_pool.cc: octet.QAveragePool, QGlobalAveragePool
void register_int_softmax_ops(OpRegistry& r);        // int_softmax.cc: octet.QSoftmax
void register_int_resize_ops(OpRegistry& r);         // int_resize.cc: octet.QResize
void register_onnx_integer_ops(OpRegistry& r);       // onnx_integer_ops.cc: QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger
}  // namespace octet
