#include "kernels/binary.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "base/dims.h"
#include "simd/binary.h"

namespace octet::kernels {
namespace {

// Unsigned type at least as wide as int, for wrap-around integer arithmetic.
template <class T>
using Wide = std::make_unsigned_t<std::common_type_t<T, unsigned>>;

template <class T>
constexpr bool kFloat = std::is_floating_point_v<T>;

// double -> integer the way a C cast would, but defined for every input: NaN gives 0,
// out-of-range values saturate.
template <class T>
T saturate_cast(double v) {
  if constexpr (kFloat<T>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

template <class T>
T int_div(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return static_cast<T>(Wide<T>(0) - Wide<T>(a));
  }
  return static_cast<T>(a / b);
}

template <class T>
T int_rem(T a, T b) {  // truncated remainder (sign of a)
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;
  }
  return static_cast<T>(a % b);
}

template <class TA, class TB>
TA int_pow(TA base, TB exp) {
  if constexpr (std::is_signed_v<TB>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if constexpr (std::is_signed_v<TA>) {
        if (base == -1) return (exp % 2 == 0) ? 1 : -1;
      }
      return 0;  // |base| > 1: the exact result truncates to 0 (and 0^-n has no value)
    }
  }
  using W = Wide<TA>;
  using UE = std::make_unsigned_t<TB>;
  W result = 1, b = static_cast<W>(base);
  for (UE e = static_cast<UE>(exp); e != 0; e >>= 1) {
    if (e & 1) result = static_cast<W>(result * b);
    b = static_cast<W>(b * b);
  }
  return static_cast<TA>(result);
}

// One functor per op; each compiles for every type combination used below.
#define OCTET_BINARY_FN(NAME, BODY)                            \
  template <class TA, class TB, class TO>                      \
  struct NAME {                                                \
    TO operator()(TA a, TB b) const { BODY }                   \
  };

OCTET_BINARY_FN(AddF, if constexpr (kFloat<TA>) return a + b;
                else return static_cast<TO>(Wide<TA>(a) + Wide<TA>(b));)
OCTET_BINARY_FN(SubF, if constexpr (kFloat<TA>) return a - b;
                else return static_cast<TO>(Wide<TA>(a) - Wide<TA>(b));)
OCTET_BINARY_FN(MulF, if constexpr (kFloat<TA>) return a * b;
                else return static_cast<TO>(Wide<TA>(a) * Wide<TA>(b));)
OCTET_BINARY_FN(DivF, if constexpr (kFloat<TA>) return a / b;
                else return static_cast<TO>(int_div<TA>(a, static_cast<TA>(b)));)
OCTET_BINARY_FN(PowF, if constexpr (kFloat<TA> || kFloat<TB>) {
  return saturate_cast<TO>(std::pow(static_cast<double>(a), static_cast<double>(b)));
} else { return static_cast<TO>(int_pow(a, b)); })
OCTET_BINARY_FN(MaxF, if constexpr (kFloat<TA>) {
  if (a != a) return a;
  if (b != b) return b;
}
return static_cast<TO>(a < b ? b : a);)
OCTET_BINARY_FN(MinF, if constexpr (kFloat<TA>) {
  if (a != a) return a;
  if (b != b) return b;
}
return static_cast<TO>(b < a ? b : a);)
OCTET_BINARY_FN(FmodF, if constexpr (kFloat<TA>) return std::fmod(a, static_cast<TA>(b));
                else return static_cast<TO>(int_rem<TA>(a, static_cast<TA>(b)));)
OCTET_BINARY_FN(ModF, if constexpr (kFloat<TA>) {
  TA r = std::fmod(a, static_cast<TA>(b));
  if (r != 0 && ((r < 0) != (b < 0))) r += static_cast<TA>(b);
  return r;
} else {
  TA r = int_rem<TA>(a, static_cast<TA>(b));
  if constexpr (std::is_signed_v<TA>) {
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<TA>(Wide<TA>(r) + Wide<TA>(b));
  }
  return static_cast<TO>(r);
})
OCTET_BINARY_FN(PReluF, if constexpr (std::is_signed_v<TA> || kFloat<TA>) {
  if (a < 0) return static_cast<TO>(MulF<TA, TA, TA>()(a, static_cast<TA>(b)));
}
return static_cast<TO>(a);)
OCTET_BINARY_FN(EqualF, return static_cast<TO>(a == b);)
OCTET_BINARY_FN(LessF, return static_cast<TO>(a < b);)
OCTET_BINARY_FN(LessOrEqualF, return static_cast<TO>(a <= b);)
OCTET_BINARY_FN(GreaterF, return static_cast<TO>(a > b);)
OCTET_BINARY_FN(GreaterOrEqualF, return static_cast<TO>(a >= b);)
OCTET_BINARY_FN(AndF, return static_cast<TO>((a != 0) && (b != 0));)
OCTET_BINARY_FN(OrF, return static_cast<TO>((a != 0) || (b != 0));)
OCTET_BINARY_FN(XorF, return static_cast<TO>((a != 0) != (b != 0));)
#undef OCTET_BINARY_FN

// Calls body(functor) for `op`; the type combination decides which ops are compiled:
// <T,T,uint8_t> (T != uint8_t) comparisons; <TA,TB,TA> with TA != TB Pow; <T,T,T> all.
template <class TA, class TB, class TO, class Body>
void with_op(BinaryOp op, Body&& body) {
  constexpr bool kCompareOnly = std::is_same_v<TO, uint8_t> && !std::is_same_v<TA, uint8_t>;
  constexpr bool kPowOnly = !std::is_same_v<TA, TB>;
  if constexpr (kCompareOnly) {
    switch (op) {
      case BinaryOp::kEqual: return body(EqualF<TA, TB, TO>());
      case BinaryOp::kLess: return body(LessF<TA, TB, TO>());
      case BinaryOp::kLessOrEqual: return body(LessOrEqualF<TA, TB, TO>());
      case BinaryOp::kGreater: return body(GreaterF<TA, TB, TO>());
      case BinaryOp::kGreaterOrEqual: return body(GreaterOrEqualF<TA, TB, TO>());
      default: break;
    }
  } else if constexpr (kPowOnly) {
    if (op == BinaryOp::kPow) return body(PowF<TA, TB, TO>());
  } else {
    switch (op) {
      case BinaryOp::kAdd: return body(AddF<TA, TB, TO>());
      case BinaryOp::kSub: return body(SubF<TA, TB, TO>());
      case BinaryOp::kMul: return body(MulF<TA, TB, TO>());
      case BinaryOp::kDiv: return body(DivF<TA, TB, TO>());
      case BinaryOp::kPow: return body(PowF<TA, TB, TO>());
      case BinaryOp::kMax: return body(MaxF<TA, TB, TO>());
      case BinaryOp::kMin: return body(MinF<TA, TB, TO>());
      case BinaryOp::kMod: return body(ModF<TA, TB, TO>());
      case BinaryOp::kFmod: return body(FmodF<TA, TB, TO>());
      case BinaryOp::kPRelu: return body(PReluF<TA, TB, TO>());
      case BinaryOp::kEqual: return body(EqualF<TA, TB, TO>());
      case BinaryOp::kLess: return body(LessF<TA, TB, TO>());
      case BinaryOp::kLessOrEqual: return body(LessOrEqualF<TA, TB, TO>());
      case BinaryOp::kGreater: return body(GreaterF<TA, TB, TO>());
      case BinaryOp::kGreaterOrEqual: return body(GreaterOrEqualF<TA, TB, TO>());
      case BinaryOp::kAnd: return body(AndF<TA, TB, TO>());
      case BinaryOp::kOr: return body(OrF<TA, TB, TO>());
      case BinaryOp::kXor: return body(XorF<TA, TB, TO>());
    }
  }
  throw std::invalid_argument("binary kernel: op not available for these element types");
}

// The f32 ops with a Highway implementation.
bool simd_op(BinaryOp op, simd::BinaryF32* out) {
  switch (op) {
    case BinaryOp::kAdd: *out = simd::BinaryF32::kAdd; return true;
    case BinaryOp::kSub: *out = simd::BinaryF32::kSub; return true;
    case BinaryOp::kMul: *out = simd::BinaryF32::kMul; return true;
    case BinaryOp::kDiv: *out = simd::BinaryF32::kDiv; return true;
    case BinaryOp::kMax: *out = simd::BinaryF32::kMax; return true;
    case BinaryOp::kMin: *out = simd::BinaryF32::kMin; return true;
    case BinaryOp::kPRelu: *out = simd::BinaryF32::kPRelu; return true;
    default: return false;
  }
}

// Pow with a scalar float exponent: cheaper forms for the common exponents.
bool pow_scalar_f32(const float* a, float e, float* out, const BroadcastPlan& p, int threads) {
  if (e != 2.f && e != 1.f && e != 0.5f && e != 3.f) return false;
  parallel_runs<2>(p, threads, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t n) {
    const float* pa = a + off[0];
    float* po = out + o;
    const bool sa = p.inner_stride(0) == 0;
    for (int64_t i = 0; i < n; ++i) {
      const float x = sa ? pa[0] : pa[i];
      po[i] = e == 2.f ? x * x : e == 3.f ? x * x * x : e == 1.f ? x : std::sqrt(x);
    }
  });
  return true;
}

}  // namespace

template <typename TA, typename TB, typename TO>
void binary_reference(BinaryOp op, const TA* a, const Dims& a_dims, const TB* b,
                      const Dims& b_dims, TO* out, const Dims& out_dims) {
  with_op<TA, TB, TO>(op, [&](auto f) {
    int64_t numel = checked_numel(out_dims);
    if (numel == 0) return;
    std::vector<int64_t> idx(out_dims.size(), 0);
    for (int64_t i = 0; i < numel; ++i) {
      out[i] = f(a[broadcast_offset(a_dims, out_dims, idx.data())],
                 b[broadcast_offset(b_dims, out_dims, idx.data())]);
      next_index(out_dims, idx.data());
    }
  });
}

template <typename TA, typename TB, typename TO>
void binary_optimized(BinaryOp op, const TA* a, const TB* b, TO* out, const BroadcastPlan& p,
                      int threads) {
  if (p.numel <= 0) return;
  const bool sa = p.inner_stride(0) == 0, sb = p.inner_stride(1) == 0;
  if constexpr (std::is_same_v<TA, float> && std::is_same_v<TB, float> &&
                std::is_same_v<TO, float>) {
    simd::BinaryF32 sop;
    if (simd_op(op, &sop)) {
      parallel_runs<2>(p, threads, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t n) {
        simd::binary_f32(sop, a + off[0], sa, b + off[1], sb, out + o, static_cast<size_t>(n));
      });
      return;
    }
    if (op == BinaryOp::kPow && p.numel > 0) {
      bool b_scalar = true;
      for (int64_t s : p.strides[1]) b_scalar = b_scalar && s == 0;
      if (b_scalar && pow_scalar_f32(a, b[0], out, p, threads)) return;
    }
  }
  with_op<TA, TB, TO>(op, [&](auto f) {
    parallel_runs<2>(p, threads, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t n) {
      const TA* pa = a + off[0];
      const TB* pb = b + off[1];
      TO* po = out + o;
      if (!sa && !sb) {
        for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
      } else if (sa && !sb) {
        const TA x = pa[0];
        for (int64_t i = 0; i < n; ++i) po[i] = f(x, pb[i]);
      } else if (!sa && sb) {
        const TB y = pb[0];
        for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], y);
      } else {
        const TO v = f(pa[0], pb[0]);
        for (int64_t i = 0; i < n; ++i) po[i] = v;
      }
    });
  });
}

template <typename T>
void where_reference(const uint8_t* cond, const Dims& c_dims, const T* x, const Dims& x_dims,
                     const T* y, const Dims& y_dims, T* out, const Dims& out_dims) {
  int64_t numel = checked_numel(out_dims);
  if (numel == 0) return;
  std::vector<int64_t> idx(out_dims.size(), 0);
  for (int64_t i = 0; i < numel; ++i) {
    const bool c = cond[broadcast_offset(c_dims, out_dims, idx.data())] != 0;
    out[i] = c ? x[broadcast_offset(x_dims, out_dims, idx.data())]
               : y[broadcast_offset(y_dims, out_dims, idx.data())];
    next_index(out_dims, idx.data());
  }
}

template <typename T>
void where_optimized(const uint8_t* cond, const T* x, const T* y, T* out,
                     const BroadcastPlan& p, int threads) {
  if (p.numel <= 0) return;
  const int64_t sc = p.inner_stride(0), sx = p.inner_stride(1), sy = p.inner_stride(2);
  parallel_runs<3>(p, threads, [&](const std::array<int64_t, 3>& off, int64_t o, int64_t n) {
    const uint8_t* pc = cond + off[0];
    const T* px = x + off[1];
    const T* py = y + off[2];
    T* po = out + o;
    for (int64_t i = 0; i < n; ++i)
      po[i] = pc[i * sc] != 0 ? px[i * sx] : py[i * sy];
  });
}

// ---- explicit instantiations ------------------------------------------------------------
#define OCTET_BINARY_INST(TA, TB, TO)                                                        \
  template void binary_reference<TA, TB, TO>(BinaryOp, const TA*, const Dims&, const TB*,    \
                                             const Dims&, TO*, const Dims&);                 \
  template void binary_optimized<TA, TB, TO>(BinaryOp, const TA*, const TB*, TO*,            \
                                             const BroadcastPlan&, int);
#define OCTET_BINARY_SAME(T) \
  OCTET_BINARY_INST(T, T, T) \
  OCTET_BINARY_INST(T, T, uint8_t)
OCTET_BINARY_INST(uint8_t, uint8_t, uint8_t)
OCTET_BINARY_SAME(float)
OCTET_BINARY_SAME(int8_t)
OCTET_BINARY_SAME(int16_t)
OCTET_BINARY_SAME(uint16_t)
OCTET_BINARY_SAME(int32_t)
OCTET_BINARY_SAME(uint32_t)
OCTET_BINARY_SAME(int64_t)
OCTET_BINARY_SAME(uint64_t)
// Pow with a base type of float, int32 or int64 and any other exponent type.
#define OCTET_POW_INST(TA) \
  OCTET_BINARY_INST(TA, int8_t, TA) OCTET_BINARY_INST(TA, uint8_t, TA) \
  OCTET_BINARY_INST(TA, int16_t, TA) OCTET_BINARY_INST(TA, uint16_t, TA) \
  OCTET_BINARY_INST(TA, uint32_t, TA) OCTET_BINARY_INST(TA, uint64_t, TA)
OCTET_POW_INST(float)
OCTET_POW_INST(int32_t)
OCTET_POW_INST(int64_t)
OCTET_BINARY_INST(float, int32_t, float)
OCTET_BINARY_INST(float, int64_t, float)
OCTET_BINARY_INST(int32_t, float, int32_t)
OCTET_BINARY_INST(int32_t, int64_t, int32_t)
OCTET_BINARY_INST(int64_t, float, int64_t)
OCTET_BINARY_INST(int64_t, int32_t, int64_t)
#undef OCTET_POW_INST
#undef OCTET_BINARY_SAME
#undef OCTET_BINARY_INST

template void where_reference<uint8_t>(const uint8_t*, const Dims&, const uint8_t*, const Dims&,
                                       const uint8_t*, const Dims&, uint8_t*, const Dims&);
template void where_reference<uint16_t>(const uint8_t*, const Dims&, const uint16_t*, const Dims&,
                                        const uint16_t*, const Dims&, uint16_t*, const Dims&);
template void where_reference<uint32_t>(const uint8_t*, const Dims&, const uint32_t*, const Dims&,
                                        const uint32_t*, const Dims&, uint32_t*, const Dims&);
template void where_reference<uint64_t>(const uint8_t*, const Dims&, const uint64_t*, const Dims&,
                                        const uint64_t*, const Dims&, uint64_t*, const Dims&);
template void where_optimized<uint8_t>(const uint8_t*, const uint8_t*, const uint8_t*, uint8_t*,
                                       const BroadcastPlan&, int);
template void where_optimized<uint16_t>(const uint8_t*, const uint16_t*, const uint16_t*,
                                        uint16_t*, const BroadcastPlan&, int);
template void where_optimized<uint32_t>(const uint8_t*, const uint32_t*, const uint32_t*,
                                        uint32_t*, const BroadcastPlan&, int);
template void where_optimized<uint64_t>(const uint8_t*, const uint64_t*, const uint64_t*,
                                        uint64_t*, const BroadcastPlan&, int);

}  // namespace octet::kernels
