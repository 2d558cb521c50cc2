// Registration entry points, one per group of op bindings in engine/ops/.
#pragma once

namespace octet {
class OpRegistry;
void register_core_ops(OpRegistry& r);        // Identity, Dropout (inference)
void register_nn_ops(OpRegistry& r);          // Conv, ConvTranspose, Gemm, MatMul, BatchNormalization
void register_activation_ops(OpRegistry& r);  // unary pointwise ops
void register_binary_ops(OpRegistry& r);      // broadcasting Add, Sub, Mul, ... and Sum
void register_pool_ops(OpRegistry& r);        // MaxPool, AveragePool, Global*Pool
void register_movement_ops(OpRegistry& r);    // Reshape, Transpose, Concat, Slice, Gather, Pad, ...
void register_misc_ops(OpRegistry& r);        // Resize, Softmax, ReduceMean, LayerNormalization
void register_int_ops(OpRegistry& r);         // octet.QAdd, QMul, Requantize, QLookup, QSoftmax, ...
void register_onnx_integer_ops(OpRegistry& r);  // QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger
}  // namespace octet
