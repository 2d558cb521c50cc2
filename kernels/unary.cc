#include "kernels/unary.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "kernels/parallel.h"
#include "simd/unary.h"

namespace octet::kernels {
namespace {

constexpr int64_t kChunk = 16384;

// Runs fn(begin, end) over [0, n) in chunks, in parallel when worth it.
template <class Fn>
void parallel_chunks(int64_t n, int threads, Fn&& fn) {
  if (threads <= 1 || n < 2 * kChunk) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, threads, [&](int64_t c, int) {
    fn(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
}

float erf_ref(float x) { return std::erf(x); }

float gelu_ref(float x) {
  return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
}

float gelu_tanh_ref(float x) {
  const double xd = x;
  return static_cast<float>(
      0.5 * xd * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (xd + 0.044715 * xd * xd * xd))));
}

}  // namespace

float unary_reference_one(const UnaryParams& p, float x) {
  switch (p.op) {
    case UnaryOp::kRelu: return std::max(x, 0.f);
    case UnaryOp::kLeakyRelu: return x < 0 ? p.alpha * x : x;
    case UnaryOp::kThresholdedRelu: return x > p.alpha ? x : 0.f;
    case UnaryOp::kClip: return std::min(std::max(x, p.alpha), p.beta);
    case UnaryOp::kHardSigmoid: return std::min(std::max(p.alpha * x + p.beta, 0.f), 1.f);
    case UnaryOp::kHardSwish: return x * std::min(std::max(x / 6.f + 0.5f, 0.f), 1.f);
    case UnaryOp::kSigmoid: return static_cast<float>(1.0 / (1.0 + std::exp(-double{x})));
    case UnaryOp::kTanh: return std::tanh(x);
    case UnaryOp::kErf: return erf_ref(x);
    case UnaryOp::kExp: return std::exp(x);
    case UnaryOp::kLog: return std::log(x);
    case UnaryOp::kSqrt: return std::sqrt(x);
    case UnaryOp::kNeg: return -x;
    case UnaryOp::kAbs: return std::fabs(x);
    case UnaryOp::kReciprocal: return 1.f / x;
    case UnaryOp::kFloor: return std::floor(x);
    case UnaryOp::kCeil: return std::ceil(x);
    case UnaryOp::kRound: return std::nearbyint(x);  // default rounding: half to even
    case UnaryOp::kSign: return x > 0 ? 1.f : x < 0 ? -1.f : x;
    case UnaryOp::kSoftplus: {
      const double xd = x;
      return static_cast<float>(std::max(xd, 0.0) + std::log1p(std::exp(-std::fabs(xd))));
    }
    case UnaryOp::kSoftsign: return x / (1.f + std::fabs(x));
    case UnaryOp::kMish: {
      const double xd = x;
      return static_cast<float>(xd * std::tanh(std::max(xd, 0.0) + std::log1p(std::exp(-std::fabs(xd)))));
    }
    case UnaryOp::kElu: return x < 0 ? p.alpha * std::expm1(x) : x;
    case UnaryOp::kSelu: return p.beta * (x > 0 ? x : p.alpha * std::expm1(x));
    case UnaryOp::kGelu: return gelu_ref(x);
    case UnaryOp::kGeluTanh: return gelu_tanh_ref(x);
    case UnaryOp::kNot: break;
  }
  throw std::invalid_argument("unary kernel: op not defined for f32");
}

void unary_reference_f32(const UnaryParams& p, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = unary_reference_one(p, x[i]);
}

void unary_optimized_f32(const UnaryParams& p, const float* x, float* y, int64_t n,
                         int threads) {
  if (p.op == UnaryOp::kNot) throw std::invalid_argument("unary kernel: op not defined for f32");
  parallel_chunks(n, threads, [&](int64_t b, int64_t e) {
    simd::unary_f32(p.op, x + b, y + b, static_cast<size_t>(e - b), p.alpha, p.beta);
  });
}

template <typename T>
void unary_int(UnaryOp op, const T* x, T* y, int64_t n, int threads) {
  using W = std::make_unsigned_t<std::common_type_t<T, unsigned>>;
  auto loop = [&](auto f) {
    parallel_chunks(n, threads, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
    });
  };
  switch (op) {
    case UnaryOp::kRelu: return loop([](T v) { return v < T(0) ? T(0) : v; });
    case UnaryOp::kNeg: return loop([](T v) { return static_cast<T>(W(0) - W(v)); });
    case UnaryOp::kAbs:
      return loop([](T v) { return v < T(0) ? static_cast<T>(W(0) - W(v)) : v; });
    case UnaryOp::kSign:
      return loop([](T v) { return static_cast<T>(v > T(0) ? 1 : v < T(0) ? -1 : 0); });
    case UnaryOp::kNot: return loop([](T v) { return static_cast<T>(v == T(0)); });
    default: break;
  }
  throw std::invalid_argument("unary kernel: op not defined for integers");
}

template <typename T>
void clip(const T* x, T* y, int64_t n, T lo, T hi, int threads) {
  parallel_chunks(n, threads, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T v = x[i] < lo ? lo : x[i];
      y[i] = hi < v ? hi : v;
    }
  });
}

#define OCTET_UNARY_INST(T)                                                   \
  template void unary_int<T>(UnaryOp, const T*, T*, int64_t, int);            \
  template void clip<T>(const T*, T*, int64_t, T, T, int);
OCTET_UNARY_INST(int8_t)
OCTET_UNARY_INST(uint8_t)
OCTET_UNARY_INST(int16_t)
OCTET_UNARY_INST(uint16_t)
OCTET_UNARY_INST(int32_t)
OCTET_UNARY_INST(uint32_t)
OCTET_UNARY_INST(int64_t)
OCTET_UNARY_INST(uint64_t)
#undef OCTET_UNARY_INST
template void clip<float>(const float*, float*, int64_t, float, float, int);

}  // namespace octet::kernels
