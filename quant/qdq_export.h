// QuantSim -> ONNX QDQ model: QuantizeLinear -> DequantizeLinear pairs at every enabled
// quantizer with an encoding, on QuantSim::model() (the float graph), saved with save_onnx.
//
// Mapping of an encoding (QuantParams: unsigned zero point zp in [0, 2^b - 1]):
//   - asymmetric (and unsigned-symmetric, zp = 0): uint8/uint16/uint4 with zero point zp;
//   - symmetric: int8/int16/int4 with zero point zp - 2^(b-1) (0 for AIMET's symmetric grid);
//     strict symmetric (zp = 2^(b-1) - 1, grid [-(2^(b-1)-1), 2^(b-1)-1]) is written with
//     zero point 0 (the usual symmetric form) — see below;
//   - per-channel encodings: per-axis scale/zero point with `axis` (opset >= 13);
//   - 16-bit and 4-bit encodings: int16/uint16, int4/uint4 (opset >= 21); bitwidths other than
//     4, 8, 16: error.
// The output of an op that keeps its input's encoding (Flatten, Reshape, MaxPool...) without an
// encoding of its own gets a pair with its input's (exact: its values are on that grid), so that
// every op reads straight from a DequantizeLinear, as ONNX Runtime needs to fuse it into the
// integer op octet's `onnxruntime` profile simulates. Likewise a float constant added to or
// multiplied with a quantized tensor gets the encoding the lowering gives it (its own range): the
// export then differs from the qdq simulation, which keeps that constant in float, by that
// constant's rounding.
// The exported opset is raised to what the encodings need (10 per-tensor 8-bit, 13 per-axis,
// 21 with 16-bit or 4-bit types) and to every op's first opset, never lowered; a raise that would
// change an op's definition (Clip 6 -> 13, ...) is refused with the ops named.
//
// Equality with octet's qdq simulation (ExecutionMode::kQdq, kernels/fake_quant.h):
// both compute round_half_even(x / scale) in float32, add the zero point, clamp, and
// dequantize (q - zp) * scale in float32. Shifting q and zp by 2^(b-1) changes neither the
// rounding nor (q - zp), and the clamp bounds [0, 2^b - 1] of the simulation become the
// dtype's saturation bounds exactly: for the default AIMET grids (asymmetric, symmetric,
// unsigned symmetric) the exported model reproduces the simulation bit for bit.
// Strict symmetric is the one grid narrower than its dtype (2^b - 1 levels): ONNX saturates
// to [-2^(b-1), 2^(b-1) - 1], so an x with x / scale < -(2^(b-1) - 1) - 0.5 dequantizes to
// -2^(b-1) * scale where the simulation gives -(2^(b-1) - 1) * scale (one step apart); every
// other x matches. Constants (weights) are written clamped to their strict grid, so they match
// exactly (a weight can lie beyond the grid: after BN folding, or with a range scheme that
// clips); a strict-symmetric activation can still be one step apart there.
#pragma once
#include <memory>
#include <string>

#include "loaders/onnx_writer.h"
#include "quant/quantsim.h"

namespace octet::quant {

struct QdqExportOptions {
  OnnxWriteOptions onnx;
};

// The QDQ graph (for tests and inspection); export_qdq_onnx saves it.
std::shared_ptr<Graph> qdq_graph(const QuantSim& sim, const QdqExportOptions& o = {});
void export_qdq_onnx(const QuantSim& sim, const std::string& path, const QdqExportOptions& o = {});

}  // namespace octet::quant
