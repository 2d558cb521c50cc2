// Quantization encodings in AIMET's meaning (its encodings files and libpymo's arithmetic).
//
// An Encoding describes the grid real = scale * (q + offset), q in [0, N] ("unsigned domain"),
// N = num_steps() = 2^bitwidth - 1, or 2^bitwidth - 2 for strict symmetric. `offset` is minus the
// zero point (<= 0), min = scale * offset and max ~= scale * (offset + N) are the grid end points.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace octet::quant {

inline constexpr double kMinEncodingRange = 0.01;  // AIMET's MIN_RANGE (libpymo)
inline constexpr int kMinBitwidth = 2;             // the simulator's bitwidth bounds
inline constexpr int kMaxBitwidth = 16;

// How compute_encoding turns a range into a grid (AIMET's is_symmetric / strict_symmetric /
// unsigned_symmetric flags of its quantsim config).
enum class EncodingKind {
  kAsymmetric,               // is_symmetric False
  kSymmetric,                // is_symmetric True: signed grid [-ceil(N/2), floor(N/2)] * scale
  kStrictSymmetric,          // + strict_symmetric: N = 2^b - 2, grid [-(2^(b-1)-1), 2^(b-1)-1]
  kUnsignedSymmetric,        // + unsigned_symmetric: like kSymmetric unless min >= 0, then [0, N]
  kUnsignedStrictSymmetric,  // both flags: like kStrictSymmetric unless min >= 0, then [0, N]
};

struct Encoding {
  int bitwidth = 8;
  bool symmetric = false;         // AIMET's is_symmetric (as exported)
  bool strict_symmetric = false;  // N = 2^b - 2 (the top unsigned code is never used)
  double min = 0.0;               // grid end points (AIMET's enc.min / enc.max)
  double max = 0.0;
  double scale = 0.0;  // delta, the step; kernels use float(scale)
  int offset = 0;      // minus the zero point, in the unsigned domain: -N <= offset <= 0

  int64_t num_steps() const {
    return (int64_t{1} << bitwidth) - 1 - (strict_symmetric ? 1 : 0);
  }
};

// AIMET's getComputedEncodings (libpymo) with the min-max pre-step:
//   min = min(0, min), max = max(0, max), max = max(max, min + 0.01); +-inf -> +-FLT_MAX.
// Throws octet::Error for NaN bounds, min > max, or a bitwidth outside [2, 16].
Encoding compute_encoding(float min, float max, int bitwidth, EncodingKind kind);

// Checks an encoding built elsewhere (e.g. read from a file): bitwidth in [2, 16], float(scale)
// finite, positive and normal, offset in [-N, 0]. Throws octet::Error naming `what`.
void validate_encoding(const Encoding& e, const std::string& what);

// Per-tensor, per-channel or per-block encodings of one tensor.
//   per tensor:  axis = -1, encodings.size() == 1
//   per channel: axis = a, block_size = 0, encodings.size() == shape[a] (one per index along a)
//   per block:   axis = a, block_size = B > 0: the tensor viewed as [outer, shape[a], inner] has
//                the encoding grid [outer, ceil(shape[a] / B), inner] (row-major), i.e. B
//                consecutive indices along `a` share an encoding (ONNX QuantizeLinear's blocked
//                layout, as in AIMET's 2.0.0 files). AIMET's [C_out, C_in / B] grid of a Conv
//                weight [O, I, kh, kw] (a block spans B input channels and all kh*kw) is this
//                layout on the weight viewed as [O, I*kh*kw] with block size B*kh*kw.
// All encodings of one tensor share bitwidth and symmetry flags.
struct TensorEncoding {
  std::vector<Encoding> encodings;
  int axis = -1;
  int block_size = 0;
};

// A tensor seen as [outer, channels, inner] around one axis.
struct AxisLayout {
  size_t outer = 1;
  size_t channels = 1;
  size_t inner = 1;
  size_t size() const { return outer * channels * inner; }
};

// The layout of `shape` around `axis` (-1: the whole tensor as one channel). Negative axes other
// than -1 are not accepted (callers normalise ONNX axes first).
AxisLayout axis_layout(std::span<const int64_t> shape, int axis);

// Number of encodings a TensorEncoding with this axis/block_size needs for this layout.
size_t expected_encoding_count(const AxisLayout& layout, int axis, int block_size);

// Validates every encoding, their count for `shape`, and that they share bitwidth/symmetry.
void validate_tensor_encoding(const TensorEncoding& te, std::span<const int64_t> shape,
                              const std::string& what);

}  // namespace octet::quant
