#include "quant/fidelity.h"

#include <cmath>
#include <limits>

#include "base/error.h"

namespace octet::quant {

Fidelity compare_outputs(std::span<const float> reference, std::span<const float> test,
                         int64_t row) {
  OCTET_CHECK(reference.size() == test.size(), "compared outputs differ in size (",
              reference.size(), " vs ", test.size(), ")");
  Fidelity f;
  double signal = 0, noise = 0, dot = 0, ref_norm = 0, test_norm = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double r = reference[i], t = test[i], d = r - t;
    signal += r * r;
    noise += d * d;
    dot += r * t;
    ref_norm += r * r;
    test_norm += t * t;
    f.max_abs_error = std::max(f.max_abs_error, std::fabs(d));
  }
  f.sqnr_db = noise == 0 ? std::numeric_limits<double>::infinity()
                         : 10.0 * std::log10(signal / noise);
  f.cosine = ref_norm > 0 && test_norm > 0 ? dot / std::sqrt(ref_norm * test_norm)
                                           : (ref_norm == test_norm ? 1.0 : 0.0);
  if (row > 0) {
    const size_t n = static_cast<size_t>(row);
    for (size_t start = 0; start + n <= reference.size(); start += n) {
      size_t a = 0, b = 0;
      for (size_t k = 1; k < n; ++k) {
        if (reference[start + k] > reference[start + a]) a = k;
        if (test[start + k] > test[start + b]) b = k;
      }
      f.rows++;
      f.top1_agree += a == b;
    }
  }
  return f;
}

}  // namespace octet::quant
