// Reading and writing AIMET encodings files (the JSON that AIMET's QuantSim export writes).
//
// Versions read:  "0.4.0", "0.5.0", "0.6.1" (legacy: objects keyed by tensor name, a missing
//                 "version" reads as 0.4.0); the flat AdaRound parameter file (AIMET's oldest
//                 `apply_adaround` output: a top-level object of parameter name -> list of
//                 legacy entries, no sections, read into param_encodings); "1.0.0" (lists of
//                 named objects: PER_TENSOR, PER_CHANNEL, PER_BLOCK, LPBQ); "2.0.0" and "2.1.0"
//                 (one `encodings` list in onnx::QuantizeLinear terms, encodings_json_v2.cc).
// Versions written: "0.6.1" (default), "1.0.0" (needed for per-block encodings) and "2.0.0".
//
// A `*_torch.encodings` file (AIMET's second export, keyed by PyTorch module names with
// {"input": {...}, "output": {...}} objects) is refused with a message naming the file to use.
//
// - Bitwidth: the reader accepts 2..32 (AIMET's spec range; 32 is used for int32 bias entries).
//   The simulator accepts 2..16 (quant/encoding.h, validate_encoding): wider encodings are an
//   error where they are used, not at parse time. The offset must also fit an int (a 32-bit
//   asymmetric encoding whose offset is below INT_MIN is rejected at parse time).
// - is_symmetric: AIMET writes the strings "True"/"False" (legacy) and a JSON bool `is_sym`
//   (1.0.0). Both spellings are accepted in both versions; the writer emits AIMET's.
// - offset: an integer, or an integral float such as -114.0 (old spec examples), within
//   [-(2^bw - 1), 0].
// - min/max (legacy only; 1.0.0 has none): optional on read. scale/offset define the encoding
//   (AIMET's consumers, QNN included, use them). min/max within rounding of scale*offset and
//   scale*(offset+N) are kept as written; absent, they are computed; when the file's min/max
//   are further from those than half a grid step, they are replaced by the grid's
//   (plus 1e-6 of the range for float rounding) the file still loads and EncodingsFile::warnings
//   says by how much (N = 2^bw - 1, or 2^bw - 2 for strict symmetric). Non-finite min/max or
//   min > max are errors.
// - strict_symmetric is reconstructed as: symmetric and offset == -(2^(bw-1) - 1).
// - Axis: the file does not store it. Per-tensor encodings read with axis = -1; per-channel and
//   per-block ones read with axis = kAxisFromModel (-2): the importer sets the real axis from the
//   model (Conv/Gemm weight -> 0, ConvTranspose -> 1, ...). A legacy list of length 1 reads as
//   per-tensor (it is indistinguishable from a 1-channel per-channel list, and equivalent).
// - Per-block (1.0.0 PER_BLOCK and LPBQ, 2.x with block_size): `encodings` holds the flattened
//   AIMET scale grid ([C, blocks] when the channel axis comes first, else [blocks, C]; 2.x may
//   also give the full onnx::QuantizeLinear blocked grid) and `block_size` is AIMET's block size
//   as written (in elements along AIMET's block axis). axis is kAxisFromModel (1.0.0) or the
//   block axis of the file (2.x). Converting to quant/encoding.h's blocked layout of a given
//   weight is the importer's job (encodings_io.cc).
// - LPBQ (1.0.0: `scale` per channel, `per_block_int_scale` per block, `compressed_bw`; 2.0.0:
//   `per_channel_float_scale` x `per_block_int_scale`; 2.1.0: a `y_scale` object {x, x_scale})
//   reads as a per-block encoding of the compressed bitwidth whose block scales are the products
//   (AIMET's own loader does the same). VECTOR entries, float8/float4 dtypes and fractional
//   zero points (int2 custom grids) are rejected as unsupported.
// - dtype "float" / "FLOAT" entries (fp16 simulation) carry only a bitwidth: they are kept in
//   float_activation_encodings / float_param_encodings (name -> bitwidth).
// - Unknown keys are ignored with a warning (forward compatibility); duplicate names in 1.0.0 and
//   2.x lists are an error. (Duplicate keys inside a legacy JSON object: the last one wins.)
// - 2.x: `output_dtype` intB / uintB gives the bitwidth; offset = qmin - y_zero_point (qmin = 0
//   for uint, -2^(B-1) for int); is_symmetric means a signed dtype (AIMET's rule). 2.x files do not say
//   which entries are parameters: every entry reads into activation_encodings and the importer
//   decides from the model (a constant is a parameter).
// - Limits: file size kMaxEncodingsFileBytes, kMaxEncodingsTensors names per section,
//   kMaxEncodingsPerTensor entries per tensor, JSON nesting depth 64, names up to 4096 bytes.
// Every error is an octet::Error that starts with the file name (or `source`) and the JSON path,
// e.g. `model.encodings: activation_encodings["/conv1/Conv_output_0"][0].scale: expected a number`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quant/encoding.h"

namespace octet::quant {

enum class EncodingsVersion {
  kV0_6_1,  // legacy dict format, AIMET's default and what QNN-style converters take
  kV1_0_0,  // list format; required for per-block encodings
  kV2_0_0,  // onnx::QuantizeLinear terms (AIMET 2.x, QAIRT)
};

// "0.6.1" / "1.0.0" / "2.0.0".
const char* encodings_version_name(EncodingsVersion v);
// The inverse; throws octet::Error listing the choices.
EncodingsVersion parse_encodings_version(const std::string& name);

// TensorEncoding::axis of per-channel / per-block encodings read from a file: not stored there;
// the importer sets it from the model.
inline constexpr int kAxisFromModel = -2;

inline constexpr size_t kMaxEncodingsFileBytes = size_t{256} << 20;
inline constexpr size_t kMaxEncodingsTensors = size_t{1} << 20;
inline constexpr size_t kMaxEncodingsPerTensor = size_t{1} << 24;
inline constexpr int kMaxFileBitwidth = 32;  // the reader's bound (the simulator's is 16)

// AIMET's "quantizer_args" (0.6.1+): every field optional. Written only when some field is set.
struct QuantizerArgs {
  std::optional<int> activation_bitwidth;
  std::optional<int> param_bitwidth;
  std::optional<std::string> dtype;             // "int" / "float"
  std::optional<bool> is_symmetric;             // written as "True"/"False"
  std::optional<bool> per_channel_quantization; // written as "True"/"False"
  std::optional<std::string> quant_scheme;      // e.g. "post_training_tf_enhanced"
  bool empty() const {
    return !activation_bitwidth && !param_bitwidth && !dtype && !is_symmetric &&
           !per_channel_quantization && !quant_scheme;
  }
  bool operator==(const QuantizerArgs&) const = default;
};

// A 1.0.0 LPBQ entry as written. The order of `int_scales` ([C, blocks] or [blocks, C]) follows
// the weight's channel and block axes, which only the model knows: lpbq_block_encoding
// completes it.
struct LpbqEncoding {
  int bitwidth = 4;               // compressed_bw: the weights' bitwidth
  int decompressed_bitwidth = 8;  // bw
  int block_size = 0;
  std::vector<double> channel_scales;  // `scale`, one per output channel
  std::vector<int64_t> int_scales;     // `per_block_int_scale`, C * blocks
};

// The per-block encoding (AIMET grid order, block_size as written, axis kAxisFromModel) with
// block scales channel_scale * int_scale; `channel_first`: the channel axis comes before the
// block axis in the weight (Conv, Gemm with transB), so int_scales is [C, blocks].
TensorEncoding lpbq_block_encoding(const LpbqEncoding& l, bool channel_first);

struct EncodingsFile {
  std::string version;  // as read ("0.4.0" when the file has none); the writer ignores it
  bool flat_param_file = false;  // read from a flat AdaRound parameter file (no sections)
  std::map<std::string, TensorEncoding> activation_encodings;
  std::map<std::string, TensorEncoding> param_encodings;
  std::map<std::string, int> float_activation_encodings;  // dtype float entries: name -> bitwidth
  std::map<std::string, int> float_param_encodings;
  std::map<std::string, LpbqEncoding> lpbq_param_encodings;  // 1.0.0 LPBQ entries
  QuantizerArgs quantizer_args;
  std::vector<std::string> excluded_layers;
  std::string producer;  // 1.0.0 / 2.x "producer" as written (compact JSON), empty if absent
  // Per-block encodings in 2.0.0 are written with the tensor's shape (the nested y_scale of
  // onnx::QuantizeLinear): the dims of each such tensor. Filled by make_encodings_file.
  std::map<std::string, std::vector<int64_t>> shapes;
  // What reading tolerated (min/max off the grid, unknown keys), one line each, starting with
  // the file name. Never written.
  std::vector<std::string> warnings;
};

// Serialises `file` as JSON text in version `v`. Throws octet::Error for invalid encodings
// (naming the tensor), for per-block encodings in 0.6.1 (choose 1.0.0 instead) and, in 2.0.0,
// for per-block ones without an entry in `shapes`. 2.0.0 writes what AIMET writes: symmetric
// encodings as intB with y_zero_point = -offset - 2^(B-1) (so strict symmetric int8 has -1),
// others as uintB with -offset; float entries are left out (AIMET omits float >= 16 too).
std::string write_encodings_json(const EncodingsFile& file,
                                 EncodingsVersion v = EncodingsVersion::kV0_6_1);
void save_encodings(const std::string& path, const EncodingsFile& file,
                    EncodingsVersion v = EncodingsVersion::kV0_6_1);

// Parses and validates; `source` names the text in error messages (usually the file name).
EncodingsFile parse_encodings_json(const std::string& text, const std::string& source);
EncodingsFile load_encodings(const std::string& path);

}  // namespace octet::quant
