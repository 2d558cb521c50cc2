// octet.QResize: Resize of 8-bit codes; input and output share one encoding, so codes are
// interpolated directly. The per-axis source tables (i0, i1, w, outside) are those of the float
// Resize (kernels/resize.h, built by the binding exactly as Resize builds them).
//   nearest: y = x at i0 of every axis (a byte copy).
//   linear:  an axis a is "split" at output index o when w != 0 and i1 != i0. With the split
//            axes a_0 < a_1 < ... < a_{m-1}, corner c in [0, 2^m) reads i1 on a_j when bit j of c
//            is set, i0 otherwise (and i0 on every other axis), with the float weight
//            W_c = ((1.f * f_0) * f_1) ... * f_{m-1},  f_j = bit j ? w : (1.f - w);
//            acc = ((0.f + W_0 * float(x_0)) + W_1 * float(x_1)) + ... in corner order;
//            y = clamp(roundeven(acc), code range).
//   tf_crop_and_resize outside the crop: y = extrapolation_code.
// Every step is one fp32 operation (no FMA), in that order in both kernels: identical bits.
#pragma once
#include <cstdint>

#include "base/dtype.h"
#include "kernels/resize.h"

namespace octet::kernels {

struct QResizeParams {
  ResizeParams geo;  // geo.extrapolation_value unused
  DType type = DType::kU8;
  int32_t extrapolation_code = 0;
};

void qresize_reference(const QResizeParams& p, const void* x, void* y);
void qresize(const QResizeParams& p, const void* x, void* y, int threads);

}  // namespace octet::kernels
