// Streaming range observers for calibration (`octet quantize --scheme`): they see a tensor's
// values batch by batch and output the float range (min, max) to build an encoding from.
//
// Schemes:
//   tf           running min / max (exact; independent of how the data is split into batches).
//   tf-enhanced  AIMET's histogram + (delta, offset) candidate search minimising
//                quantization cost + 3 x clipping (saturation) cost. See observers.cc for which of
//                AIMET's two variants is followed and where octet differs.
//   percentile   the p-th and (100-p)-th percentiles of the histogram (default p = 99.99).
//   mse          candidate search minimising the plain MSE of quantize-dequantize on the histogram.
//
// Memory is bounded: the histogram schemes keep a fixed number of bins (default 512) whatever the
// number of batches; the histogram's range comes from the first batch (widened 3x about its centre,
// like AIMET v1) and grows by merging bins when a later batch exceeds it (exact, no value dropped).
// Hence histogram results depend on the batch order (through the first batch's range), but are
// deterministic for a given order; nothing depends on threads.
//
// The returned Range is what to hand to the encoding code (quant/encoding.h), which widens it to
// include 0 and enforces AIMET's minimum range of 0.01.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace octet::quant {

enum class RangeScheme { kTf, kTfEnhanced, kPercentile, kMse };

// "tf", "tf-enhanced" (also "tf_enhanced"), "percentile", "mse"; throws octet::Error otherwise.
RangeScheme parse_range_scheme(std::string_view name);
const char* range_scheme_name(RangeScheme scheme);

struct Range {
  float min = 0.0f;
  float max = 0.0f;
};

struct ObserverOptions {
  RangeScheme scheme = RangeScheme::kTfEnhanced;
  int num_bins = 512;         // histogram schemes; 16..65536
  double percentile = 99.99;  // percentile scheme; in [50, 100]
  double gamma = 3.0;         // tf-enhanced weight of the clipping cost (AIMET: 3.0)
};

// One tensor (per-tensor quantization). Not thread-safe; one observer per tensor.
class Observer {
 public:
  virtual ~Observer() = default;
  // One calibration batch. NaN / Inf throws octet::Error whose message names the problem (the
  // caller prefixes the tensor name). An empty span is ignored.
  virtual void observe(std::span<const float> values) = 0;
  // Range for the given grid. Throws octet::Error if nothing was observed.
  virtual Range compute(int bitwidth, bool symmetric) const = 0;
  virtual bool empty() const = 0;
  virtual RangeScheme scheme() const = 0;
};

// Validates the options (octet::Error on bad ones).
std::unique_ptr<Observer> make_observer(const ObserverOptions& options);

// Per-channel: data laid out as (outer, channels, inner), e.g. a Conv weight [O, I, kh, kw] on
// axis 0 is (1, O, I*kh*kw); an NHWC activation on its channel axis is (N*H*W, C, 1). One
// independent observer per channel.
class PerChannelObserver {
 public:
  PerChannelObserver(const ObserverOptions& options, int64_t channels);
  void observe(std::span<const float> values, int64_t outer, int64_t channels, int64_t inner);
  std::vector<Range> compute(int bitwidth, bool symmetric) const;
  int64_t channels() const { return static_cast<int64_t>(observers_.size()); }

 private:
  std::vector<std::unique_ptr<Observer>> observers_;
  std::vector<float> scratch_;
};

namespace detail {
// Quantize-dequantize on the grid built from a range with AIMET's arithmetic (libpymo's:
// 0 included, minimum range 0.01, zero-point nudging by moving min, symmetric
// absmax/floor(N/2) with offset -ceil(N/2)), rounding half to even then clamping.
// Private stand-in until quant/encoding.h is merged: swap it for compute_encoding + fake quant then.
float quant_dequant(float x, Range range, int bitwidth, bool symmetric);
}  // namespace detail

}  // namespace octet::quant
