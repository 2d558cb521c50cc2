// QuantSim <-> AIMET encodings files: what `octet quantize --encodings` writes and what
// `--encodings` on eval/run imports (e.g. a file AIMET produced).
#pragma once
#include <string>

#include "quant/encodings_json.h"
#include "quant/quantsim.h"

namespace octet::quant {

// The encodings of every enabled quantizer, keyed by tensor name. Checks itself: an enabled
// quantizer without an encoding is an error naming it (never a silent gap for the target to
// fill by recalibrating).
EncodingsFile make_encodings_file(const QuantSim& sim, const std::string& quant_scheme);

// Sets (and freezes) the quantizers named in `file`. Names absent from the model are one error
// listing them all; a tensor the config left unquantized gets a quantizer; per-channel axes
// come from the consuming op. Quantizers the file does not name are disabled when
// `disable_others` (the file is then the whole truth, as for a file exported by AIMET).
void import_encodings(QuantSim& sim, const EncodingsFile& file, const std::string& source,
                      bool disable_others = true);

}  // namespace octet::quant
