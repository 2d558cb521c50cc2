// How close a simulated output is to the float one: what `octet eval` reports when there
// are no labels.
#pragma once
#include <cstdint>
#include <span>

namespace octet::quant {

struct Fidelity {
  double sqnr_db = 0;          // 10 log10(sum ref^2 / sum (ref - test)^2); +inf when equal
  double cosine = 0;           // cosine similarity of the two vectors
  double max_abs_error = 0;
  int64_t rows = 0;            // rows compared for top-1 agreement
  int64_t top1_agree = 0;      // rows whose argmax is the same
};

// `row` elements per sample (argmax per row); 0 skips the top-1 comparison.
Fidelity compare_outputs(std::span<const float> reference, std::span<const float> test,
                         int64_t row);

}  // namespace octet::quant
