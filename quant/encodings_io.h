// QuantSim <-> AIMET encodings files: what `octet quantize --encodings` writes and what
// `--encodings` on eval/run/info imports (e.g. a file AIMET produced).
#pragma once
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "quant/encodings_json.h"
#include "quant/quantsim.h"

namespace octet::quant {

// The encodings of every enabled quantizer, keyed by tensor name (with the shapes of per-block
// tensors, for 2.0.0). Checks itself: an enabled quantizer without an encoding is an error
// naming it (never a silent gap for the target to fill by recalibrating).
EncodingsFile make_encodings_file(const QuantSim& sim, const std::string& quant_scheme);

struct ImportOptions {
  // Quantizers the file does not name are disabled (the file is then the whole truth, as for a
  // file exported by AIMET).
  bool disable_others = true;
  // A file naming tensors the model lacks is an error unless this is set; then the names that
  // match are applied and the others listed in ImportReport::unmatched.
  bool allow_partial = false;
};

struct ImportReport {
  std::vector<std::string> applied;    // tensors whose quantizer the file set
  std::vector<std::string> unmatched;  // names in the file that the model lacks
  std::vector<std::string> notes;      // what was read but not applied, and why
  std::vector<std::string> warnings;   // from reading the file (EncodingsFile::warnings)
};

// Sets (and freezes) the quantizers named in `file`. A tensor the config left unquantized gets
// a quantizer; per-channel axes come from the consuming op; per-block and LPBQ encodings are
// converted from AIMET's [channels, blocks] grid to the weight's blocked layout (encoding.h).
// Float (fp16) entries and int32 bias entries are listed in the notes: the tensors stay float /
// their bias is derived by the target from the input and weight scales. Errors name `source`:
// no name matching the model (with a hint when the names are PyTorch module paths, i.e. the
// `_torch.encodings` file), unmatched names without allow_partial, encodings that do not fit
// their tensor.
ImportReport import_encodings(QuantSim& sim, const EncodingsFile& file, const std::string& source,
                              const ImportOptions& options = {});

// Where the encoding of a tensor comes from.
enum class EncodingOrigin {
  kFile,        // an encodings file
  kModel,       // the model's own quantization parameters (a .octet with encodings)
  kCalibrated,  // computed by calibration (frozen or not)
  kConfig,      // placed by the quantsim config, not computed yet (calibration computes it)
};
const char* encoding_origin_name(EncodingOrigin o);

struct TensorEncodingInfo {
  std::string tensor;
  std::string role;  // "input", "activation", "param"
  std::string op_type;
  EncodingOrigin origin = EncodingOrigin::kConfig;
  std::optional<TensorEncoding> encoding;
};

// One entry per enabled quantizer of `sim`, in quantizer order. `from_file`: the names an
// import applied (ImportReport::applied).
std::vector<TensorEncodingInfo> encodings_in_effect(const QuantSim& sim,
                                                    const std::set<std::string>& from_file);

// "int8 asymmetric per-tensor scale 0.0185 offset -114", "int4 symmetric per-block (axis 1,
// block 32, 64 blocks) scales 0.01..0.2", ...
std::string describe_encoding(const TensorEncoding& te);

}  // namespace octet::quant
