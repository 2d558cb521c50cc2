// Reading and writing AIMET encodings files (REFERENCE.md item 2, reference/aimet.md §1.1-1.4).
//
// Versions read:  "0.4.0", "0.5.0", "0.6.1" (legacy: objects keyed by tensor name, a missing
//                 "version" reads as 0.4.0) and "1.0.0" (lists of named objects).
//                 "2.0.0" is rejected with a clear message: aimet.md §1.4 describes its entries
//                 but not its top-level layout, and we do not guess.
// Versions written: "0.6.1" (default) and "1.0.0" (needed for per-block encodings).
//
// Choices (documented here, tested in tests/unit/test_encodings_json.cc):
// - Bitwidth: the reader accepts 2..32 (AIMET's spec range; 32 is used for int32 bias entries).
//   The simulator accepts 2..16 (quant/encoding.h, validate_encoding): wider encodings are an
//   error where they are used, not at parse time. The offset must also fit an int (a 32-bit
//   asymmetric encoding whose offset is below INT_MIN is rejected at parse time).
// - is_symmetric: AIMET writes the strings "True"/"False" (legacy) and a JSON bool `is_sym`
//   (1.0.0). Both spellings are accepted in both versions; the writer emits AIMET's.
// - offset: an integer, or an integral float such as -114.0 (old spec examples), within
//   [-(2^bw - 1), 0].
// - min/max (legacy only; 1.0.0 has none): optional on read. When absent they are computed as
//   scale*offset and scale*(offset+N). When present they are kept exactly as written, but the
//   file is rejected when they are "wildly" inconsistent with the grid: |min - scale*offset| or
//   |max - scale*(offset+N)| larger than half a grid step (plus 1e-6 of the range for float
//   rounding). N = 2^bw - 1, or 2^bw - 2 for strict symmetric.
// - strict_symmetric is reconstructed as: symmetric and offset == -(2^(bw-1) - 1).
// - Axis: the file does not store it. Per-tensor encodings read with axis = -1; per-channel and
//   per-block ones read with axis = kAxisFromModel (-2): the importer sets the real axis from the
//   model (Conv/Gemm weight -> 0, ConvTranspose -> 1, ...). A legacy list of length 1 reads as
//   per-tensor (it is indistinguishable from a 1-channel per-channel list, and equivalent).
// - Per-block (1.0.0 PER_BLOCK): `encodings` holds the flattened AIMET scale grid [C, blocks]
//   and `block_size` is AIMET's block size as written (in elements along AIMET's block axis).
//   Converting it to quant/encoding.h's blocked layout of a given weight is the importer's job.
// - LPBQ and VECTOR 1.0.0 entries are rejected as unsupported.
// - dtype "float" / "FLOAT" entries (fp16 simulation) carry only a bitwidth: they are kept in
//   float_activation_encodings / float_param_encodings (name -> bitwidth).
// - Unknown keys are ignored (forward compatibility); duplicate names in 1.0.0 lists are an error.
//   (Duplicate keys inside a legacy JSON object cannot be detected: the last one wins.)
// - Limits: file size kMaxEncodingsFileBytes, kMaxEncodingsTensors names per section,
//   kMaxEncodingsPerTensor entries per tensor, JSON nesting depth 64, names up to 4096 bytes.
// Every error is an octet::Error that starts with the file name (or `source`) and the JSON path,
// e.g. `model.encodings: activation_encodings["/conv1/Conv_output_0"][0].scale: expected a number`.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quant/encoding.h"

namespace octet::quant {

enum class EncodingsVersion {
  kV0_6_1,  // legacy dict format, AIMET's default and what QNN-style converters take
  kV1_0_0,  // list format; required for per-block encodings
};

// "0.6.1" / "1.0.0".
const char* encodings_version_name(EncodingsVersion v);

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

struct EncodingsFile {
  std::string version;  // as read ("0.4.0" when the file has none); the writer ignores it
  std::map<std::string, TensorEncoding> activation_encodings;
  std::map<std::string, TensorEncoding> param_encodings;
  std::map<std::string, int> float_activation_encodings;  // dtype float entries: name -> bitwidth
  std::map<std::string, int> float_param_encodings;
  QuantizerArgs quantizer_args;
  std::vector<std::string> excluded_layers;
};

// Serialises `file` as JSON text in version `v`. Throws octet::Error for invalid encodings
// (naming the tensor) and for per-block encodings in 0.6.1 (choose 1.0.0 instead).
std::string write_encodings_json(const EncodingsFile& file,
                                 EncodingsVersion v = EncodingsVersion::kV0_6_1);
void save_encodings(const std::string& path, const EncodingsFile& file,
                    EncodingsVersion v = EncodingsVersion::kV0_6_1);

// Parses and validates; `source` names the text in error messages (usually the file name).
EncodingsFile parse_encodings_json(const std::string& text, const std::string& source);
EncodingsFile load_encodings(const std::string& path);

}  // namespace octet::quant
