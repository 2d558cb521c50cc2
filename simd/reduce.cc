#include "simd/reduce.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/reduce.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include <cmath>
#include <limits>

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
constexpr size_t kMaxLanes = 64;  // tail buffers: at least the widest vector of floats

float ReduceSumImpl(const float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    a0 = hn::Add(a0, hn::LoadU(d, x + i));
    a1 = hn::Add(a1, hn::LoadU(d, x + i + N));
  }
  for (; i + N <= n; i += N) a0 = hn::Add(a0, hn::LoadU(d, x + i));
  float s = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
  for (; i < n; ++i) s += x[i];
  return s;
}

float ReduceMaxImpl(const float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  float m = -std::numeric_limits<float>::infinity();
  size_t i = 0;
  if (n >= N) {
    auto a = hn::LoadU(d, x);
    for (i = N; i + N <= n; i += N) a = hn::Max(a, hn::LoadU(d, x + i));
    m = hn::GetLane(hn::MaxOfLanes(d, a));
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

void AddIntoImpl(float* acc, const float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Add(hn::LoadU(d, acc + i), hn::LoadU(d, x + i)), d, acc + i);
  for (; i < n; ++i) acc[i] += x[i];
}

void MaxIntoImpl(float* acc, const float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Max(hn::LoadU(d, acc + i), hn::LoadU(d, x + i)), d, acc + i);
  for (; i < n; ++i) acc[i] = x[i] > acc[i] ? x[i] : acc[i];
}

void ScaleImpl(const float* x, float* y, size_t n, float s) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, s);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vs), d, y + i);
  for (; i < n; ++i) y[i] = x[i] * s;
}

void AddScalarImpl(const float* x, float* y, size_t n, float a) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto va = hn::Set(d, a);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Add(hn::LoadU(d, x + i), va), d, y + i);
  for (; i < n; ++i) y[i] = x[i] + a;
}

float ExpShiftedSumImpl(const float* x, float* y, size_t n, float shift) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, shift);
  auto acc = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), vs));
    hn::StoreU(e, d, y + i);
    acc = hn::Add(acc, e);
  }
  if (i < n) {
    const size_t rest = n - i;
    float buf[kMaxLanes] = {};
    for (size_t k = 0; k < rest; ++k) buf[k] = x[i + k];
    auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, buf), vs));
    e = hn::IfThenElseZero(hn::FirstN(d, rest), e);
    hn::StoreU(e, d, buf);
    for (size_t k = 0; k < rest; ++k) y[i + k] = buf[k];
    acc = hn::Add(acc, e);
  }
  return hn::GetLane(hn::SumOfLanes(d, acc));
}

void ExpSubImpl(const float* x, const float* m, float* y, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N)
    hn::StoreU(hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), hn::LoadU(d, m + i))), d, y + i);
  if (i < n) {
    const size_t rest = n - i;
    float bx[kMaxLanes] = {}, bm[kMaxLanes] = {};
    for (size_t k = 0; k < rest; ++k) bx[k] = x[i + k], bm[k] = m[i + k];
    hn::StoreU(hn::Exp(d, hn::Sub(hn::LoadU(d, bx), hn::LoadU(d, bm))), d, bx);
    for (size_t k = 0; k < rest; ++k) y[i + k] = bx[k];
  }
}

void MulImpl(const float* x, const float* s, float* y, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), hn::LoadU(d, s + i)), d, y + i);
  for (; i < n; ++i) y[i] = x[i] * s[i];
}

float SumSquaredDeviationImpl(const float* x, size_t n, float mean) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vm = hn::Set(d, mean);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    auto t0 = hn::Sub(hn::LoadU(d, x + i), vm);
    auto t1 = hn::Sub(hn::LoadU(d, x + i + N), vm);
    a0 = hn::MulAdd(t0, t0, a0);
    a1 = hn::MulAdd(t1, t1, a1);
  }
  for (; i + N <= n; i += N) {
    auto t = hn::Sub(hn::LoadU(d, x + i), vm);
    a0 = hn::MulAdd(t, t, a0);
  }
  float s = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
  for (; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  return s;
}

void NormalizeAffineImpl(const float* x, float* y, size_t n, float mean, float inv_std,
                         const float* scale, const float* bias) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vm = hn::Set(d, mean);
  const auto vi = hn::Set(d, inv_std);
  size_t i = 0;
  if (bias) {
    for (; i + N <= n; i += N) {
      auto t = hn::Mul(hn::Mul(hn::Sub(hn::LoadU(d, x + i), vm), vi), hn::LoadU(d, scale + i));
      hn::StoreU(hn::Add(t, hn::LoadU(d, bias + i)), d, y + i);
    }
    for (; i < n; ++i) y[i] = (x[i] - mean) * inv_std * scale[i] + bias[i];
  } else {
    for (; i + N <= n; i += N) {
      auto t = hn::Mul(hn::Mul(hn::Sub(hn::LoadU(d, x + i), vm), vi), hn::LoadU(d, scale + i));
      hn::StoreU(t, d, y + i);
    }
    for (; i < n; ++i) y[i] = (x[i] - mean) * inv_std * scale[i];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(ReduceSumImpl);
HWY_EXPORT(ReduceMaxImpl);
HWY_EXPORT(AddIntoImpl);
HWY_EXPORT(MaxIntoImpl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(AddScalarImpl);
HWY_EXPORT(ExpShiftedSumImpl);
HWY_EXPORT(ExpSubImpl);
HWY_EXPORT(MulImpl);
HWY_EXPORT(SumSquaredDeviationImpl);
HWY_EXPORT(NormalizeAffineImpl);

float reduce_sum(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(ReduceSumImpl)(x, n); }
float reduce_max(const float* x, size_t n) { return HWY_DYNAMIC_DISPATCH(ReduceMaxImpl)(x, n); }
void add_into(float* acc, const float* x, size_t n) { HWY_DYNAMIC_DISPATCH(AddIntoImpl)(acc, x, n); }
void max_into(float* acc, const float* x, size_t n) { HWY_DYNAMIC_DISPATCH(MaxIntoImpl)(acc, x, n); }
void scale(const float* x, float* y, size_t n, float s) { HWY_DYNAMIC_DISPATCH(ScaleImpl)(x, y, n, s); }
void add_scalar(const float* x, float* y, size_t n, float a) {
  HWY_DYNAMIC_DISPATCH(AddScalarImpl)(x, y, n, a);
}
float exp_shifted_sum(const float* x, float* y, size_t n, float shift) {
  return HWY_DYNAMIC_DISPATCH(ExpShiftedSumImpl)(x, y, n, shift);
}
void exp_sub(const float* x, const float* m, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(ExpSubImpl)(x, m, y, n);
}
void mul(const float* x, const float* s, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(MulImpl)(x, s, y, n); }
float sum_squared_deviation(const float* x, size_t n, float mean) {
  return HWY_DYNAMIC_DISPATCH(SumSquaredDeviationImpl)(x, n, mean);
}
void normalize_affine(const float* x, float* y, size_t n, float mean, float inv_std,
                      const float* scale, const float* bias) {
  HWY_DYNAMIC_DISPATCH(NormalizeAffineImpl)(x, y, n, mean, inv_std, scale, bias);
}
}  // namespace octet::simd
#endif
