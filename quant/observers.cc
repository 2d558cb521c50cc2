// Range observers. Algorithm notes (AIMET's range schemes as octet implements them):
//
// Histogram (tf-enhanced, percentile, mse): `num_bins` equal bins (default 512 = AIMET v1's
// PDF_SIZE). Its range is set by the FIRST batch, widened 3x about that batch's centre (AIMET v1).
// Where AIMET v1 then drops later values outside that range, octet grows the range instead: the bin
// width is multiplied by a power of two k and the new left edge is an old edge, so every new bin is
// a union of k old bins and the counts move exactly. Counts are integers (every value weighs 1;
// AIMET v1 averages per-batch PDFs with equal weight per batch). The exact observed min and max are
// tracked beside the histogram and bound the first and last non-empty bins.
//
// TF-Enhanced follows AIMET's v1 libpymo variant (TfEnhancedEncodingAnalyzer: 512 bins,
// first-batch range), not the v2 SqnrEncodingAnalyzer (2048 bins), with its candidate sets:
//   asymmetric: search range [min(0,lo), max(0,hi)], Δmax = its width / N snapped to the grid,
//     deltas f·Δmax for f = 1/16 .. 17/16 (17), offsets trunc(-N + i·N/20) for i = 0..20 (21);
//     a candidate extending beyond both observed ends is skipped, the others are clipped to the
//     observed range; plus the plain min/max candidate.
//   symmetric: absmax candidates f·absmax for f = 0.01 .. 1.01 (101).
// Cost = quantization cost of the in-range mass + γ · saturation cost of the clipped mass, γ = 3.
// Difference from AIMET: AIMET evaluates each bin at its midpoint only (so a grid that happens to
// pass through the bin midpoints looks free); octet integrates the squared error exactly over each
// bin assuming a uniform density inside it. Each candidate is scored on the grid that the encoding
// code will build from it (AIMET's nudging, quant/encoding.h), so the score is the error actually
// simulated.
//
// MSE: the same exact cost with γ = 1. Candidates: symmetric absmax·j/100, j = 1..100;
// asymmetric: a 50 x 50 grid of clip points (lo·i/50, hi·j/50), then up to 3 rounds of coordinate
// descent on the finer grids hi·j/200 and lo·j/200. lo/hi = observed min/max widened to include 0.
//
// Percentile: p-th percentile for max and (100-p)-th for min, interpolated linearly inside a bin.
#include "quant/observers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"

namespace octet::quant {

namespace {

constexpr double kMinRange = 0.01;  // AIMET's MIN_RANGE

// ---- grid arithmetic (stand-in for quant/encoding.h) ----------------------------------------
struct Grid {
  double delta = 0;   // step
  double offset = 0;  // integer, <= 0; grid points delta * (q + offset), q in [0, n]
  double n = 0;       // 2^b - 1
  double lo = 0, hi = 0;
};

Grid make_grid(double mn, double mx, int bitwidth, bool symmetric) {
  Grid g;
  g.n = std::ldexp(1.0, bitwidth) - 1.0;
  mn = std::min(mn, 0.0);
  mx = std::max(mx, 0.0);
  mx = std::max(mx, mn + kMinRange);
  if (symmetric) {
    const double absmax = std::max(std::fabs(mn), std::fabs(mx));
    const double half_floor = std::floor(g.n / 2), half_ceil = std::ceil(g.n / 2);
    g.delta = absmax / half_floor;
    g.offset = -half_ceil;
    g.lo = g.offset * g.delta;
    g.hi = half_floor * g.delta;
    return g;
  }
  g.delta = (mx - mn) / g.n;
  if (mn < 0 && mx > 0) {
    const double zp = std::clamp(std::round(-mn / g.delta), 0.0, g.n);
    g.offset = -zp;
    g.lo = g.offset * g.delta;
    g.hi = mx - mn + g.lo;
  } else {
    g.offset = std::round(mn / g.delta);
    g.lo = mn;
    g.hi = mx;
  }
  return g;
}

double fake_quant(double x, const Grid& g) {
  const double q = std::clamp(std::nearbyint(x / g.delta) - g.offset, 0.0, g.n);
  return g.delta * (q + g.offset);
}

// ∫_{-1/2}^{u} (t - round(t))^2 dt, the cumulative squared rounding error in units of one step.
double rounding_error_integral(double u) {
  const double s = u + 0.5;
  const double n = std::floor(s);
  const double r = s - n - 0.5;
  return n / 12.0 + (r * r * r + 0.125) / 3.0;
}

// ---- histogram --------------------------------------------------------------------------------
class Histogram {
 public:
  explicit Histogram(int bins) : counts_(bins, 0) {}

  bool empty() const { return total_ == 0; }
  int bins() const { return static_cast<int>(counts_.size()); }
  double lo() const { return lo_; }
  double width() const { return width_; }
  uint64_t count(int i) const { return counts_[i]; }
  uint64_t total() const { return total_; }

  // Grows the range to cover [mn, mx] (both finite), then counts the values.
  void add(std::span<const float> values, double mn, double mx) {
    if (total_ == 0) {
      const double centre = 0.5 * (mn + mx);
      double half = 1.5 * (mx - mn);  // 3x the first batch's width, about its centre
      if (!(half > 0)) half = std::max(std::fabs(centre), 1e-3);
      lo_ = centre - half;
      width_ = 2 * half / bins();
    }
    grow(mn, mx);
    const double inv = 1.0 / width_;
    const int64_t last = bins() - 1;
    for (float v : values) {
      const int64_t i = static_cast<int64_t>(std::floor((v - lo_) * inv));
      ++counts_[std::clamp<int64_t>(i, 0, last)];
    }
    total_ += values.size();
  }

 private:
  void grow(double mn, double mx) {
    const int64_t b = bins();
    if (mn >= lo_ && mx <= lo_ + b * width_) return;
    const double left = mn < lo_ ? std::ceil((lo_ - mn) / width_) : 0.0;  // old bins added left
    for (int shift = 1; shift <= 40; ++shift) {
      const int64_t k = int64_t{1} << shift;
      const double new_lo = lo_ - left * width_;
      if (new_lo + double(b) * k * width_ < mx) continue;
      if (double(k) * b < left + b) continue;  // must still cover the old range
      const int64_t j = static_cast<int64_t>(left);
      std::vector<uint64_t> merged(b, 0);
      for (int64_t i = 0; i < b; ++i) merged[std::min((i + j) / k, b - 1)] += counts_[i];
      counts_.swap(merged);
      lo_ = new_lo;
      width_ *= double(k);
      return;
    }
    // Growth by more than 2^40: restart the bins on [mn, mx] (and the old range), moving each old
    // bin's count to the bin holding its midpoint (approximate, deterministic).
    const double nlo = std::min(mn, lo_), nhi = std::max(mx, lo_ + b * width_);
    const double nw = (nhi - nlo) / b;
    std::vector<uint64_t> moved(b, 0);
    for (int64_t i = 0; i < b; ++i) {
      const double mid = lo_ + (i + 0.5) * width_;
      moved[std::clamp<int64_t>(static_cast<int64_t>(std::floor((mid - nlo) / nw)), 0, b - 1)] +=
          counts_[i];
    }
    counts_.swap(moved);
    lo_ = nlo;
    width_ = nw;
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  double lo_ = 0, width_ = 1;
};

// Probability mass of one non-empty bin, restricted to [a, b] (a == b: point mass).
struct Mass {
  double a, b, p;
};

// Expected squared error of fake-quantizing the masses on grid g, the clipped part weighted gamma.
double grid_cost(const std::vector<Mass>& masses, const Grid& g, double gamma) {
  double quant = 0, sat = 0;
  const double d3 = g.delta * g.delta * g.delta;
  for (const Mass& m : masses) {
    if (m.b <= m.a) {  // point mass
      const double e = m.a - fake_quant(m.a, g);
      (m.a < g.lo || m.a > g.hi ? sat : quant) += m.p * e * e;
      continue;
    }
    const double dens = m.p / (m.b - m.a);
    if (m.a < g.lo) {  // clipped below: ∫ (x - lo)^2
      const double t = std::min(m.b, g.lo);
      sat += dens * ((m.a - g.lo) * (m.a - g.lo) * (g.lo - m.a) - (t - g.lo) * (t - g.lo) * (g.lo - t)) / 3.0;
    }
    if (m.b > g.hi) {  // clipped above: ∫ (x - hi)^2
      const double s = std::max(m.a, g.hi);
      sat += dens * ((m.b - g.hi) * (m.b - g.hi) * (m.b - g.hi) - (s - g.hi) * (s - g.hi) * (s - g.hi)) / 3.0;
    }
    const double s = std::max(m.a, g.lo), t = std::min(m.b, g.hi);
    if (t > s) {  // grid points are integer multiples of delta inside [lo, hi]
      quant += dens * d3 *
               (rounding_error_integral(t / g.delta) - rounding_error_integral(s / g.delta));
    }
  }
  return quant + gamma * sat;
}

// ---- observers ----------------------------------------------------------------------------------
// Checks finiteness and returns the batch's min and max.
std::pair<float, float> batch_min_max(std::span<const float> values) {
  float mn = std::numeric_limits<float>::infinity(), mx = -mn;
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!std::isfinite(v)) {
      fail("non-finite calibration value (", std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"),
           ") at element ", i, " of the batch");
    }
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  return {mn, mx};
}

void check_bitwidth(int bitwidth) {
  OCTET_CHECK(bitwidth >= 2 && bitwidth <= 32, "range observer: bitwidth ", bitwidth,
              " outside [2, 32]");
}

class TfObserver final : public Observer {
 public:
  void observe(std::span<const float> values) override {
    if (values.empty()) return;
    auto [mn, mx] = batch_min_max(values);
    min_ = seen_ ? std::min(min_, mn) : mn;
    max_ = seen_ ? std::max(max_, mx) : mx;
    seen_ = true;
  }
  Range compute(int bitwidth, bool symmetric) const override {
    check_bitwidth(bitwidth);
    OCTET_CHECK(seen_, "range observer (tf): no data observed");
    return {min_, max_};
  }
  bool empty() const override { return !seen_; }
  RangeScheme scheme() const override { return RangeScheme::kTf; }

 private:
  bool seen_ = false;
  float min_ = 0, max_ = 0;
};

class HistogramObserver final : public Observer {
 public:
  explicit HistogramObserver(const ObserverOptions& o) : opt_(o), hist_(o.num_bins) {}

  void observe(std::span<const float> values) override {
    if (values.empty()) return;
    auto [mn, mx] = batch_min_max(values);
    min_ = hist_.empty() ? mn : std::min(min_, mn);
    max_ = hist_.empty() ? mx : std::max(max_, mx);
    hist_.add(values, mn, mx);
  }

  Range compute(int bitwidth, bool symmetric) const override {
    check_bitwidth(bitwidth);
    OCTET_CHECK(!hist_.empty(), "range observer (", range_scheme_name(opt_.scheme),
                "): no data observed");
    if (opt_.scheme == RangeScheme::kPercentile) return percentile();
    const double lo = std::min<double>(min_, 0.0), hi = std::max<double>(max_, 0.0);
    // Constant data or a range below AIMET's minimum: nothing to search, the encoding code widens it.
    if (hi - lo < kMinRange) return {float(lo), float(hi)};
    const std::vector<Mass> masses = this->masses();
    if (opt_.scheme == RangeScheme::kTfEnhanced)
      return tf_enhanced(masses, lo, hi, bitwidth, symmetric);
    return mse(masses, lo, hi, bitwidth, symmetric);
  }

  bool empty() const override { return hist_.empty(); }
  RangeScheme scheme() const override { return opt_.scheme; }

 private:
  std::vector<Mass> masses() const {
    std::vector<Mass> out;
    const double total = double(hist_.total());
    for (int i = 0; i < hist_.bins(); ++i) {
      if (hist_.count(i) == 0) continue;
      const double a = std::max<double>(hist_.lo() + i * hist_.width(), min_);
      const double b = std::min<double>(hist_.lo() + (i + 1) * hist_.width(), max_);
      out.push_back({a, std::max(a, b), double(hist_.count(i)) / total});
    }
    return out;
  }

  double cost(const std::vector<Mass>& m, double mn, double mx, int bw, bool sym,
              double gamma) const {
    return grid_cost(m, make_grid(mn, mx, bw, sym), gamma);
  }

  Range tf_enhanced(const std::vector<Mass>& m, double lo, double hi, int bw, bool sym) const {
    const double n = std::ldexp(1.0, bw) - 1.0;
    const double g = opt_.gamma;
    double best_lo = lo, best_hi = hi;
    double best = cost(m, lo, hi, bw, sym, g);
    auto consider = [&](double a, double b) {
      const double c = cost(m, a, b, bw, sym, g);
      if (c < best) best = c, best_lo = a, best_hi = b;  // first minimum wins (deterministic)
    };
    if (sym) {
      const double absmax = std::max(-lo, hi);
      for (int j = 1; j <= 101; ++j) {
        const double t = absmax * j / 100.0;
        consider(std::max(lo, -t), std::min(hi, t));
      }
    } else {
      const double d_obs = (hi - lo) / n;
      const double o_obs = std::round(lo / d_obs);
      const double snapped_lo = d_obs * o_obs, snapped_hi = snapped_lo + d_obs * n;
      for (int f = 1; f <= 17; ++f) {
        const double d = d_obs * f / 16.0;
        for (int i = 0; i <= 20; ++i) {
          const double o = std::trunc(-n + n / 20.0 * i);
          const double a = d * o, b = a + d * n;
          if (a < snapped_lo && b > snapped_hi) continue;
          consider(std::max(a, snapped_lo), std::min(b, snapped_hi));
        }
      }
    }
    return {float(best_lo), float(best_hi)};
  }

  Range mse(const std::vector<Mass>& m, double lo, double hi, int bw, bool sym) const {
    double best_lo = lo, best_hi = hi;
    double best = cost(m, lo, hi, bw, sym, 1.0);
    if (sym) {
      const double absmax = std::max(-lo, hi);
      for (int j = 1; j < 100; ++j) {
        const double t = absmax * j / 100.0;
        const double a = std::max(lo, -t), b = std::min(hi, t);
        const double c = cost(m, a, b, bw, sym, 1.0);
        if (c < best) best = c, best_lo = a, best_hi = b;
      }
      return {float(best_lo), float(best_hi)};
    }
    // Coarse 2-D grid over both clip points, then coordinate descent on a finer grid.
    for (int i = 1; i <= 50; ++i) {
      const double a = lo * i / 50.0;
      for (int j = 1; j <= 50; ++j) {
        const double b = hi * j / 50.0;
        if (b - a <= 0) continue;
        const double c = cost(m, a, b, bw, sym, 1.0);
        if (c < best) best = c, best_lo = a, best_hi = b;
      }
    }
    for (int round = 0; round < 3; ++round) {
      const double cur_lo = best_lo, cur_hi = best_hi;
      for (int j = 1; j <= 200; ++j) {
        const double b = hi * j / 200.0;
        if (b - best_lo <= 0) continue;
        const double c = cost(m, best_lo, b, bw, sym, 1.0);
        if (c < best) best = c, best_hi = b;
      }
      for (int j = 1; j <= 200; ++j) {
        const double a = lo * j / 200.0;
        if (best_hi - a <= 0) continue;
        const double c = cost(m, a, best_hi, bw, sym, 1.0);
        if (c < best) best = c, best_lo = a;
      }
      if (best_lo == cur_lo && best_hi == cur_hi) break;
    }
    return {float(best_lo), float(best_hi)};
  }

  // Value below which a fraction q of the mass lies (linear inside a bin).
  double quantile(double q) const {
    const double target = q * double(hist_.total());
    double cum = 0;
    for (int i = 0; i < hist_.bins(); ++i) {
      const double c = double(hist_.count(i));
      if (c == 0) continue;
      if (cum + c >= target) {
        const double a = std::max<double>(hist_.lo() + i * hist_.width(), min_);
        const double b = std::min<double>(hist_.lo() + (i + 1) * hist_.width(), max_);
        const double x = a + (b - a) * std::clamp((target - cum) / c, 0.0, 1.0);
        return std::clamp<double>(x, min_, max_);
      }
      cum += c;
    }
    return max_;
  }

  Range percentile() const {
    if (opt_.percentile >= 100.0) return {min_, max_};
    const double p = opt_.percentile / 100.0;
    return {float(quantile(1.0 - p)), float(quantile(p))};
  }

  ObserverOptions opt_;
  Histogram hist_;
  float min_ = 0, max_ = 0;
};

}  // namespace

RangeScheme parse_range_scheme(std::string_view name) {
  if (name == "tf") return RangeScheme::kTf;
  if (name == "tf-enhanced" || name == "tf_enhanced") return RangeScheme::kTfEnhanced;
  if (name == "percentile") return RangeScheme::kPercentile;
  if (name == "mse") return RangeScheme::kMse;
  fail("unknown range scheme '", std::string(name),
       "' (expected tf, tf-enhanced, percentile or mse)");
}

const char* range_scheme_name(RangeScheme scheme) {
  switch (scheme) {
    case RangeScheme::kTf: return "tf";
    case RangeScheme::kTfEnhanced: return "tf-enhanced";
    case RangeScheme::kPercentile: return "percentile";
    case RangeScheme::kMse: return "mse";
  }
  return "?";
}

std::unique_ptr<Observer> make_observer(const ObserverOptions& o) {
  if (o.scheme == RangeScheme::kTf) return std::make_unique<TfObserver>();
  OCTET_CHECK(o.num_bins >= 16 && o.num_bins <= 65536, "range observer: num_bins ", o.num_bins,
              " outside [16, 65536]");
  OCTET_CHECK(o.percentile >= 50.0 && o.percentile <= 100.0, "range observer: percentile ",
              o.percentile, " outside [50, 100]");
  OCTET_CHECK(std::isfinite(o.gamma) && o.gamma >= 0.0, "range observer: gamma ", o.gamma,
              " must be finite and >= 0");
  return std::make_unique<HistogramObserver>(o);
}

PerChannelObserver::PerChannelObserver(const ObserverOptions& options, int64_t channels) {
  OCTET_CHECK(channels > 0 && channels <= (int64_t{1} << 24), "per-channel observer: ", channels,
              " channels");
  observers_.reserve(size_t(channels));
  for (int64_t c = 0; c < channels; ++c) observers_.push_back(make_observer(options));
}

void PerChannelObserver::observe(std::span<const float> values, int64_t outer, int64_t channels,
                                 int64_t inner) {
  OCTET_CHECK(channels == this->channels(), "per-channel observer: ", channels,
              " channels given, ", this->channels(), " expected");
  OCTET_CHECK(outer >= 0 && inner >= 0, "per-channel observer: negative layout");
  const uint64_t per = uint64_t(outer) * uint64_t(inner);  // both < 2^63 and product checked below
  OCTET_CHECK(outer == 0 || inner == 0 || per / uint64_t(outer) == uint64_t(inner),
              "per-channel observer: layout too large");
  OCTET_CHECK(per <= values.size() / uint64_t(channels) &&
                  per * uint64_t(channels) == values.size(),
              "per-channel observer: ", values.size(), " values do not match layout (", outer,
              ", ", channels, ", ", inner, ")");
  if (per == 0) return;
  scratch_.resize(per);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* src = values.data() + (o * channels + c) * inner;
      std::copy(src, src + inner, scratch_.data() + o * inner);
    }
    try {
      observers_[size_t(c)]->observe(scratch_);
    } catch (const Error& e) {
      fail("channel ", c, ": ", e.what());
    }
  }
}

std::vector<Range> PerChannelObserver::compute(int bitwidth, bool symmetric) const {
  std::vector<Range> out;
  out.reserve(observers_.size());
  for (const auto& o : observers_) out.push_back(o->compute(bitwidth, symmetric));
  return out;
}

float detail::quant_dequant(float x, Range range, int bitwidth, bool symmetric) {
  check_bitwidth(bitwidth);
  return float(fake_quant(x, make_grid(range.min, range.max, bitwidth, symmetric)));
}

}  // namespace octet::quant
